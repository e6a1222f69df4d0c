/* Messages for the SH_E* error codes. */
#include "lib/err.h"

const char *sh_strerror(int err)
{
	switch (err) {
	case SH_OK: return "success";
	case SH_ENOMEM: return "out of memory";
	case SH_EINVAL: return "malformed input";
	case SH_EIO: return "input/output error";
	case SH_ENOENT: return "not found";
	case SH_ERANGE: return "value out of range";
	case SH_EFORMAT: return "unknown format";
	case SH_ESTORE: return "database error";
	case SH_EEXIST: return "already exists";
	case SH_ESPECIAL: return "special-purpose address";
	case SH_ETOOLONG: return "too long";
	case SH_EUNSUP: return "not supported";
	case SH_ECONFLICT: return "conflicts with stored data";
	case SH_ECANCELED: return "canceled";
	}
	return "unknown error";
}
