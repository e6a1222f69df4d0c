/* placeholder until implemented */
#include "lib/lpm.h"
