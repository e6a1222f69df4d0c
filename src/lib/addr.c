/* placeholder until implemented */
#include "lib/addr.h"
