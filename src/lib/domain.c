/* placeholder until implemented */
#include "lib/domain.h"
