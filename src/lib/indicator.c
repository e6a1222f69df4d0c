/* placeholder until implemented */
#include "lib/indicator.h"
