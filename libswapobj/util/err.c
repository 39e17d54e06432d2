/*
 * err.c - error code descriptions and errno mapping (public).
 * The table is the one place codes map to errno classes.
 */
#include <errno.h>

#include "util.h"

static const struct {
	int code;
	int errnum;
	const char *text;
} err_table[] = {
    {SWAPOBJ_OK, 0, "success"},
    {SWAPOBJ_EINVAL, EINVAL, "invalid argument"},
    {SWAPOBJ_ENOMEM, ENOMEM, "out of memory"},
    {SWAPOBJ_EIO, EIO, "I/O error"},
    {SWAPOBJ_ENOSPC, ENOSPC, "no space left in store"},
    {SWAPOBJ_ENOENT, ENOENT, "no such object or prefix"},
    {SWAPOBJ_EEXIST, EEXIST, "object exists"},
    {SWAPOBJ_ESTALE, ESTALE, "stale handle: object deleted, invalidated or replaced"},
    {SWAPOBJ_ECORRUPT, EBADMSG, "corrupt data on device"},
    {SWAPOBJ_EROFS, EROFS, "store is read-only"},
    {SWAPOBJ_EBUSY, EBUSY, "store busy"},
    {SWAPOBJ_ENOTDIR, ENOTDIR, "a prefix of the key is an object"},
    {SWAPOBJ_EISDIR, EISDIR, "key is a prefix of other keys"},
    {SWAPOBJ_EFORMAT, EUCLEAN, "not a swapobj store or unsupported format"},
    {SWAPOBJ_EFBIG, EFBIG, "offset or size too large"},
    {SWAPOBJ_ENAMETOOLONG, ENAMETOOLONG, "key too long"},
    {SWAPOBJ_ENOTEMPTY, ENOTEMPTY, "directory object has children"},
    {SWAPOBJ_ENOTSUP, EOPNOTSUPP, "operation not supported on this object"},
    {SWAPOBJ_ECACHEFULL, ENOBUFS, "cache full: CACHE writes refused below the stop level"},
};

const char *swapobj_strerror(int err)
{
	for (unsigned i = 0; i < SO_ARRAY_SIZE(err_table); i++)
		if (err_table[i].code == err)
			return err_table[i].text;
	return err > 0 ? "not an error (positive value)" : "unknown error";
}

int swapobj_errno(int err)
{
	for (unsigned i = 0; i < SO_ARRAY_SIZE(err_table); i++)
		if (err_table[i].code == err)
			return err_table[i].errnum;
	return EIO;
}

const char *swapobj_version(void)
{
	return SWAPOBJ_VERSION_STRING;
}
