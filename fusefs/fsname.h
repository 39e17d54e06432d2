/*
 * fsname.h - the bijection between binary key components and file names.
 *
 * A key component is 1..255 arbitrary bytes; a file name is 1..255 bytes
 * without '/' or NUL that is not "." or "..". swapobjfs shows each component
 * as exactly one name and accepts exactly one name per component:
 *
 *   plain     the component itself, when every byte is printable ASCII
 *             other than '/' and '%', or part of a well-formed UTF-8
 *             character that is printable (U+00A0 and up, minus format and
 *             separator characters), and it is not "." or "..".
 *   percent   otherwise each byte that is not plain becomes %XX (two
 *             upper-case hex digits); "." is %2E and ".." is %2E%2E. Used
 *             when that is at most 255 bytes.
 *   base64    "%=" and the component in unpadded base64url (A-Z a-z 0-9 - _),
 *             for components of up to 189 bytes whose percent form is too
 *             long.
 *   digest    "%#" + 16 upper-case hex digits of the store's listing cookie
 *             + 16 of an XXH3 hash of the component: for the rest (190..255
 *             bytes, mostly binary). Such a name cannot be decoded from
 *             itself: the directory is searched at that cookie.
 *
 * A name is accepted only if encoding what it decodes to gives the name back
 * byte for byte, so "%41", "%2e", "%=QQ" and the like are rejected: no name
 * other than a component's own can reach it.
 *
 * Pure functions, no locks, no allocation.
 */
#ifndef SWAPOBJFS_FSNAME_H
#define SWAPOBJFS_FSNAME_H

#include <stddef.h>
#include <stdint.h>

#define FSNAME_MAX 255 /* NAME_MAX */

enum fsname_kind {
	FSNAME_PLAIN = 0,  /* decoded: comp holds the component */
	FSNAME_DIGEST = 1, /* decoded to (cookie, hash): resolve in the directory */
};

struct fsname_decoded {
	enum fsname_kind kind;
	uint32_t len; /* FSNAME_PLAIN: component length */
	uint8_t comp[FSNAME_MAX];
	uint64_t cookie; /* FSNAME_DIGEST */
	uint64_t hash;   /* FSNAME_DIGEST */
};

/*
 * Encode component comp (1..255 bytes) into out (at least FSNAME_MAX + 1
 * bytes, NUL-terminated). cookie is the component's listing cookie
 * (swapobj_dirent.cookie); it is used only for the digest form.
 * Returns the name length, or -1 if len is out of range.
 */
int fsname_encode(char *out, const uint8_t *comp, size_t len, uint64_t cookie);

/*
 * True if comp's name is its digest form (so encoding it needs its cookie,
 * and decoding its name needs the directory).
 */
int fsname_needs_digest(const uint8_t *comp, size_t len);

/*
 * Decode a file name (NUL-terminated). Returns 0 and fills *out, or -1 if
 * the name is not the canonical name of any component (empty, too long,
 * "." or "..", a bad or unneeded escape).
 */
int fsname_decode(struct fsname_decoded *out, const char *name);

/* The hash a digest name carries for comp. */
uint64_t fsname_digest_hash(const uint8_t *comp, size_t len);

#endif
