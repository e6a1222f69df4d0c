/* placeholder until implemented */
#include "store/store.h"
