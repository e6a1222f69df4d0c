/* placeholder until implemented */
#include "netmap/asmap.h"
