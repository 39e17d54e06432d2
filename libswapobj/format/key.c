/*
 * key.c - public key builders. A key is plain caller-owned data; these only
 * append components with bounds checks.
 */
#include "util.h"

void swapobj_key_init(swapobj_key *key)
{
	if (!key)
		return;
	key->ncomp = 0;
	key->nbytes = 0;
}

int swapobj_key_push(swapobj_key *key, const void *data, size_t len)
{
	if (!key || (!data && len))
		return so_err(SWAPOBJ_EINVAL, "NULL key or component");
	if (len == 0)
		return so_err(SWAPOBJ_EINVAL, "empty key component");
	if (len > SWAPOBJ_COMPONENT_MAX)
		return so_err(SWAPOBJ_ENAMETOOLONG, "key component of %zu bytes (max %u)", len, SWAPOBJ_COMPONENT_MAX);
	if (key->ncomp >= SWAPOBJ_KEY_MAX_COMPONENTS)
		return so_err(SWAPOBJ_ENAMETOOLONG, "key already has %u components", key->ncomp);
	if (key->nbytes > SWAPOBJ_KEY_MAX_BYTES || len > SWAPOBJ_KEY_MAX_BYTES - key->nbytes)
		return so_err(SWAPOBJ_ENAMETOOLONG, "key longer than %u bytes", SWAPOBJ_KEY_MAX_BYTES);
	key->off[key->ncomp] = (uint16_t)key->nbytes;
	key->len[key->ncomp] = (uint8_t)len;
	memcpy(key->buf + key->nbytes, data, len);
	key->nbytes += (uint32_t)len;
	key->ncomp++;
	return 0;
}

int swapobj_key_push_u64(swapobj_key *key, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
	return swapobj_key_push(key, b, 8);
}

int swapobj_key_anon(swapobj_key *key, uint64_t owner, uint64_t anon_vma)
{
	int err;
	swapobj_key_init(key);
	if ((err = swapobj_key_push(key, "anon", 4)) < 0 || (err = swapobj_key_push_u64(key, owner)) < 0 ||
	    (err = swapobj_key_push_u64(key, anon_vma)) < 0)
		return err;
	return 0;
}

int swapobj_key_shmem(swapobj_key *key, uint64_t dev, uint64_t ino, uint64_t gen)
{
	int err;
	swapobj_key_init(key);
	if ((err = swapobj_key_push(key, "shmem", 5)) < 0 || (err = swapobj_key_push_u64(key, dev)) < 0 ||
	    (err = swapobj_key_push_u64(key, ino)) < 0 || (err = swapobj_key_push_u64(key, gen)) < 0)
		return err;
	return 0;
}

int swapobj_key_fscache(swapobj_key *key, const void *volume, size_t volume_len, const void *cookie, size_t cookie_len)
{
	int err;
	swapobj_key_init(key);
	if ((err = swapobj_key_push(key, "fscache", 7)) < 0 || (err = swapobj_key_push(key, volume, volume_len)) < 0 ||
	    (err = swapobj_key_push(key, cookie, cookie_len)) < 0)
		return err;
	return 0;
}

int swapobj_key_prefix(swapobj_key *out, const swapobj_key *key, uint32_t ncomp)
{
	if (!out || !key || ncomp > key->ncomp || key->ncomp > SWAPOBJ_KEY_MAX_COMPONENTS)
		return so_err(SWAPOBJ_EINVAL, "bad prefix length");
	swapobj_key_init(out);
	for (uint32_t i = 0; i < ncomp; i++) {
		int err = swapobj_key_push(out, key->buf + key->off[i], key->len[i]);
		if (err < 0)
			return err;
	}
	return 0;
}
