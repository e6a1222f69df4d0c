/* placeholder until implemented */
#include "feeds/feed.h"
