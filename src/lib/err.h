/* Error codes shared by every sheriff module: 0 or a negative SH_E* value. */
#ifndef SH_ERR_H
#define SH_ERR_H

#define SH_MUST_CHECK __attribute__((warn_unused_result))

enum sh_err {
	SH_OK = 0,
	SH_ENOMEM = -1,    /* out of memory */
	SH_EINVAL = -2,    /* malformed input */
	SH_EIO = -3,       /* read or write failed */
	SH_ENOENT = -4,    /* no such thing */
	SH_ERANGE = -5,    /* value out of range */
	SH_EFORMAT = -6,   /* unknown or undetectable format */
	SH_ESTORE = -7,    /* database error */
	SH_EEXIST = -8,    /* already there */
	SH_ESPECIAL = -9,  /* special-purpose address space (RFC 6890) */
	SH_ETOOLONG = -10, /* longer than the limit */
	SH_EUNSUP = -11,   /* well-formed but not supported */
	SH_ECONFLICT = -12,/* contradicts what is stored */
	SH_ECANCELED = -13,/* stopped by the caller */
};

/* A static message for an SH_E* code (or "unknown error"). */
const char *sh_strerror(int err);

#endif
