/* placeholder until implemented */
#include "lib/netmap.h"
