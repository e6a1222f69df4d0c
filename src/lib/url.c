/* placeholder until implemented */
#include "lib/url.h"
