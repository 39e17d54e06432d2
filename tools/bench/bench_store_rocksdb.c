/*
 * bench_store_rocksdb.c - RocksDB through its C API, no WAL, as a
 * swapobj-bench store; built only when RocksDB is found.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <rocksdb/c.h>

#include "bench.h"
#include "bench_store.h"

struct rocks_store {
	struct store base;
	char *path;
	rocksdb_t *db;
	rocksdb_options_t *opt;
	rocksdb_cache_t *cache;
	rocksdb_writeoptions_t *wo;
	rocksdb_readoptions_t *ro;
	rocksdb_flushoptions_t *fo;
	double open_ns;
	_Atomic uint64_t user_bytes;
};

static int rocks_open_db(struct rocks_store *s)
{
	char *err = NULL;
	rocksdb_block_based_table_options_t *bbo = rocksdb_block_based_options_create();
	s->cache = rocksdb_cache_create_lru(64u << 20);
	rocksdb_block_based_options_set_block_size(bbo, 16 << 10);
	rocksdb_block_based_options_set_block_cache(bbo, s->cache);
	rocksdb_block_based_options_set_filter_policy(bbo, rocksdb_filterpolicy_create_bloom(10));
	rocksdb_options_set_block_based_table_factory(s->opt, bbo);
	rocksdb_block_based_options_destroy(bbo);
	uint64_t t0 = bench_now_ns();
	s->db = rocksdb_open(s->opt, s->path, &err);
	s->open_ns = (double)(bench_now_ns() - t0);
	if (err) {
		bench_err("rocksdb_open %s: %s", s->path, err);
		free(err);
		return -1;
	}
	return 0;
}

static void rocks_close_db(struct rocks_store *s)
{
	if (s->db)
		rocksdb_close(s->db);
	s->db = NULL;
	if (s->cache)
		rocksdb_cache_destroy(s->cache);
	s->cache = NULL;
}

static void rocks_close(struct store *base)
{
	struct rocks_store *s = (struct rocks_store *)base;
	if (!s)
		return;
	rocks_close_db(s);
	if (s->opt)
		rocksdb_options_destroy(s->opt);
	if (s->wo)
		rocksdb_writeoptions_destroy(s->wo);
	if (s->ro)
		rocksdb_readoptions_destroy(s->ro);
	if (s->fo)
		rocksdb_flushoptions_destroy(s->fo);
	free(s->path);
	free(s);
}

static int rocks_create(struct store **out, const struct store_params *p)
{
	struct rocks_store *s = calloc(1, sizeof(*s));
	if (!s)
		return bench_err("out of memory");
	s->base.sys = SYS_ROCKSDB;
	s->path = path_join(p->dir, "rocksdb");
	s->opt = rocksdb_options_create();
	rocksdb_options_set_create_if_missing(s->opt, 1);
	rocksdb_options_set_write_buffer_size(s->opt, 64u << 20);
	rocksdb_options_set_max_write_buffer_number(s->opt, 3);
	rocksdb_options_set_max_background_jobs(s->opt, 2);
	rocksdb_options_set_compression(s->opt, rocksdb_lz4_compression);
	s->wo = rocksdb_writeoptions_create();
	rocksdb_writeoptions_disable_WAL(s->wo, 1);
	rocksdb_writeoptions_set_sync(s->wo, 0);
	s->ro = rocksdb_readoptions_create();
	s->fo = rocksdb_flushoptions_create();
	rocksdb_flushoptions_set_wait(s->fo, 1);
	if (!s->path || rocks_open_db(s) < 0) {
		rocks_close(&s->base);
		return -1;
	}
	*out = &s->base;
	return 0;
}

static int rocks_write(struct store *base, unsigned tid, uint32_t obj, uint64_t pg, const uint8_t *buf, uint32_t n)
{
	struct rocks_store *s = (struct rocks_store *)base;
	char *err = NULL;
	uint8_t k[16];
	if (n == 1) {
		key16(k, obj, pg);
		rocksdb_put(s->db, s->wo, (const char *)k, 16, (const char *)buf, BPG, &err);
	} else {
		rocksdb_writebatch_t *b = rocksdb_writebatch_create();
		for (uint32_t i = 0; i < n; i++) {
			key16(k, obj, pg + i);
			rocksdb_writebatch_put(b, (const char *)k, 16, (const char *)buf + (size_t)i * BPG, BPG);
		}
		rocksdb_write(s->db, s->wo, b, &err);
		rocksdb_writebatch_destroy(b);
	}
	if (err) {
		bench_err("rocksdb put: %s", err);
		free(err);
		return -1;
	}
	s->user_bytes += (uint64_t)n * BPG;
	return 0;
}

static int rocks_read(struct store *base, unsigned tid, uint32_t obj, uint64_t pg, uint8_t *buf, uint32_t n)
{
	struct rocks_store *s = (struct rocks_store *)base;
	for (uint32_t i = 0; i < n; i++) {
		char *err = NULL;
		uint8_t k[16];
		size_t vl = 0;
		key16(k, obj, pg + i);
		rocksdb_pinnableslice_t *ps = rocksdb_get_pinned(s->db, s->ro, (const char *)k, 16, &err);
		if (err) {
			bench_err("rocksdb get: %s", err);
			free(err);
			return -1;
		}
		const char *v = ps ? rocksdb_pinnableslice_value(ps, &vl) : NULL;
		if (!v || vl != BPG) {
			if (ps)
				rocksdb_pinnableslice_destroy(ps);
			return bench_err("rocksdb: object %u page %" PRIu64 " %s", obj, pg + i,
			                 v ? "has the wrong length" : "not found");
		}
		memcpy(buf + (size_t)i * BPG, v, BPG);
		rocksdb_pinnableslice_destroy(ps);
	}
	return 0;
}

static int rocks_sync(struct store *base)
{
	struct rocks_store *s = (struct rocks_store *)base;
	char *err = NULL;
	rocksdb_flush(s->db, s->fo, &err);
	if (err) {
		bench_err("rocksdb flush: %s", err);
		free(err);
		return -1;
	}
	return 0;
}

static int rocks_reopen(struct store *base)
{
	struct rocks_store *s = (struct rocks_store *)base;
	if (rocks_sync(base) < 0)
		return -1;
	rocks_close_db(s);
	bench_drop_caches();
	return rocks_open_db(s);
}

static void rocks_stats(struct store *base, struct store_stats *o)
{
	struct rocks_store *s = (struct rocks_store *)base;
	memset(o, 0, sizeof(*o));
	o->dev_bytes = -1;
	o->user_bytes = (double)s->user_bytes;
	o->disk_bytes = (double)bench_du(s->path);
	o->pages = -1;
	o->index_bytes = -1;
	o->capacity_bytes = -1;
	o->open_ns = s->open_ns;
	char *v = rocksdb_property_value(s->db, "rocksdb.estimate-table-readers-mem");
	if (v) {
		o->index_bytes = strtod(v, NULL);
		free(v);
	}
	v = rocksdb_property_value(s->db, "rocksdb.estimate-num-keys");
	if (v) {
		o->pages = strtod(v, NULL);
		free(v);
	}
}

static int rocks_make_tiny(struct store *base, uint32_t first, uint32_t n)
{
	struct rocks_store *s = (struct rocks_store *)base;
	for (uint32_t i = first; i < first + n; i++) {
		char *err = NULL;
		uint8_t k[16];
		uint64_t w = bench_mix64(i) | 1;
		key16(k, TINY_BASE + i, 0);
		rocksdb_put(s->db, s->wo, (const char *)k, 16, (const char *)&w, 8, &err);
		if (err) {
			bench_err("rocksdb put: %s", err);
			free(err);
			return -1;
		}
	}
	return 0;
}

static int rocks_exists(struct store *base, uint32_t obj)
{
	struct rocks_store *s = (struct rocks_store *)base;
	char *err = NULL;
	uint8_t k[16];
	size_t vl = 0;
	key16(k, TINY_BASE + obj, 0);
	char *v = rocksdb_get(s->db, s->ro, (const char *)k, 16, &vl, &err);
	if (err) {
		bench_err("rocksdb get: %s", err);
		free(err);
		return -1;
	}
	uint64_t w = bench_mix64(obj) | 1;
	int r = !v ? 0 : (vl == 8 && memcmp(v, &w, 8) == 0) ? 1 : bench_err("rocksdb tiny %u reads back wrong", obj);
	free(v);
	return r;
}

static int rocks_drop_range(struct store *base, uint32_t first, uint32_t n)
{
	struct rocks_store *s = (struct rocks_store *)base;
	char *err = NULL;
	uint8_t a[16], b[16];
	key16(a, TINY_BASE + first, 0);
	key16(b, TINY_BASE + first + n, 0);
	rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
	rocksdb_writebatch_delete_range(wb, (const char *)a, 16, (const char *)b, 16);
	rocksdb_write(s->db, s->wo, wb, &err);
	rocksdb_writebatch_destroy(wb);
	if (err) {
		bench_err("rocksdb delete_range: %s", err);
		free(err);
		return -1;
	}
	return 0;
}

const struct store_ops bench_store_rocksdb = {
    .sys = SYS_ROCKSDB,
    .create = rocks_create,
    .write = rocks_write,
    .read = rocks_read,
    .sync = rocks_sync,
    .reopen = rocks_reopen,
    .stats = rocks_stats,
    .close = rocks_close,
    .drop_range = rocks_drop_range,
    .make_tiny = rocks_make_tiny,
    .exists = rocks_exists,
    .config = "RocksDB " SWAPOBJ_ROCKSDB_VERSION " (Debian) through its C API: key = object u64 BE + page u64 "
              "BE, value = the 4096-byte page; WAL off (disableWAL=1, sync=0); create_if_missing, "
              "write_buffer_size 64 MiB, max_write_buffer_number 3, max_background_jobs 2, LZ4 compression "
              "(all levels), other options default (level compaction); block-based table, 16 KiB blocks, "
              "64 MiB LRU block cache, bloom filter 10 bits/key; reads rocksdb_get_pinned + copy; sync = "
              "rocksdb_flush(wait=1), the only durability point without a WAL; prefix drop = one "
              "DeleteRange; index RAM = rocksdb.estimate-table-readers-mem",
};
