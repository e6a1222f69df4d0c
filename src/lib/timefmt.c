/* placeholder until implemented */
#include "lib/timefmt.h"
