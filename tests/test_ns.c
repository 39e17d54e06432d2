/*
 * test_ns.c - the namespace tree (ns) and the object-id map (oidmap).
 *
 * Keys are built here by hand (tk_*) so that the suite depends only on the
 * util layer and the two modules under test.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns.h"
#include "oidmap.h"
#include "testutil.h"
#include "util.h"

/* ---- helpers ------------------------------------------------------------ */

/*
 * Check's ck_assert_* record a checkpoint (a write to the parent process) on
 * every success, which dominates loops of a million steps. These only call
 * into Check on failure.
 */
#define CHECK(expr)                                                                                                    \
	do {                                                                                                           \
		if (SO_UNLIKELY(!(expr)))                                                                              \
			ck_abort_msg("Assertion '%s' failed", #expr);                                                  \
	} while (0)
#define CHECK_MSG(expr, ...)                                                                                           \
	do {                                                                                                           \
		if (SO_UNLIKELY(!(expr)))                                                                              \
			ck_abort_msg(__VA_ARGS__);                                                                     \
	} while (0)
#define CHECK_PTR_EQ(a, b)                                                                                             \
	do {                                                                                                           \
		const void *pa_ = (a), *pb_ = (b);                                                                     \
		if (SO_UNLIKELY(pa_ != pb_))                                                                           \
			ck_abort_msg("Assertion '%s == %s' failed: %p != %p", #a, #b, pa_, pb_);                       \
	} while (0)
#define CHECK_EQ(a, b)                                                                                                 \
	do {                                                                                                           \
		unsigned long long ca_ = (unsigned long long)(a), cb_ = (unsigned long long)(b);                       \
		if (SO_UNLIKELY(ca_ != cb_))                                                                           \
			ck_abort_msg("Assertion '%s == %s' failed: %lld != %lld", #a, #b, (long long)ca_,              \
			             (long long)cb_);                                                                  \
	} while (0)

static void tk_init(swapobj_key *k)
{
	k->ncomp = 0;
	k->nbytes = 0;
}

static void tk_push(swapobj_key *k, const void *data, size_t len)
{
	CHECK(len >= 1 && len <= SWAPOBJ_COMPONENT_MAX);
	CHECK(k->ncomp < SWAPOBJ_KEY_MAX_COMPONENTS && k->nbytes + len <= SWAPOBJ_KEY_MAX_BYTES);
	k->off[k->ncomp] = (uint16_t)k->nbytes;
	k->len[k->ncomp] = (uint8_t)len;
	memcpy(k->buf + k->nbytes, data, len);
	k->nbytes += (uint32_t)len;
	k->ncomp++;
}

static void tk_push_str(swapobj_key *k, const char *s)
{
	tk_push(k, s, strlen(s));
}

static void tk_push_u64(swapobj_key *k, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
	tk_push(k, b, 8);
}

static void tk_anon(swapobj_key *k, uint64_t owner, uint64_t vma)
{
	tk_init(k);
	tk_push_str(k, "anon");
	tk_push_u64(k, owner);
	tk_push_u64(k, vma);
}

static void tk_shmem(swapobj_key *k, uint64_t dev, uint64_t ino, uint64_t gen)
{
	tk_init(k);
	tk_push_str(k, "shmem");
	tk_push_u64(k, dev);
	tk_push_u64(k, ino);
	tk_push_u64(k, gen);
}

static void tk_fscache(swapobj_key *k, const void *vol, size_t vlen, const void *cookie, size_t clen)
{
	tk_init(k);
	tk_push_str(k, "fscache");
	tk_push(k, vol, vlen);
	tk_push(k, cookie, clen);
}

/* Key from a path of one-character components: "abc" = ["a","b","c"]. */
static void tk_chars(swapobj_key *k, const char *path)
{
	tk_init(k);
	for (const char *p = path; *p; p++)
		tk_push(k, p, 1);
}

static bool key_eq(const swapobj_key *a, const swapobj_key *b)
{
	if (a->ncomp != b->ncomp)
		return false;
	for (unsigned i = 0; i < a->ncomp; i++)
		if (a->len[i] != b->len[i] || memcmp(a->buf + a->off[i], b->buf + b->off[i], a->len[i]) != 0)
			return false;
	return true;
}

static void *tok(uint64_t i)
{
	return (void *)(uintptr_t)(i + 1);
}

struct reap_count {
	uint64_t objects;
	uint64_t token_sum;
};

static void count_cb(void *ctx, void *obj)
{
	struct reap_count *rc = ctx;
	rc->objects++;
	rc->token_sum += (uint64_t)(uintptr_t)obj;
}

static size_t reap_all(struct ns *ns, struct ns_node **sub, size_t budget, struct reap_count *rc)
{
	size_t total = 0, n;
	while (*sub) {
		n = ns_reap(ns, sub, budget, count_cb, rc);
		ck_assert_uint_le(n, budget);
		if (*sub)
			CHECK_EQ(n, budget);
		total += n;
	}
	return total;
}

/* Independent statement of the sibling order, for checking listings. */
static int ref_cmp(uint64_t ha, const uint8_t *a, unsigned al, uint64_t hb, const uint8_t *b, unsigned bl)
{
	if (ha != hb)
		return ha < hb ? -1 : 1;
	for (unsigned i = 0; i < al && i < bl; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return al == bl ? 0 : (al < bl ? -1 : 1);
}

/* ---- ns: basics --------------------------------------------------------- */

START_TEST(test_ns__init_creates_an_empty_root)
{
	struct ns ns;
	uint64_t base = so_mem_used(SO_MEM_INDEX);
	CHECK_EQ(ns_init(&ns), 0);
	ck_assert_ptr_nonnull(ns.root);
	CHECK_EQ(ns.nobjects, 0);
	CHECK_EQ(ns.nnodes, 1);
	ck_assert_uint_gt(so_mem_used(SO_MEM_INDEX), base);
	CHECK_EQ(ns_check(&ns), 0);
	ns_destroy(&ns, NULL, NULL);
	ck_assert_ptr_null(ns.root);
	CHECK_EQ(so_mem_used(SO_MEM_INDEX), base);
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

START_TEST(test_ns__node_header_fits_in_56_bytes)
{
	ck_assert_uint_le(offsetof(struct ns_node, name), 56);
	printf("ns_node: %zu bytes before the name (sizeof %zu)\n", offsetof(struct ns_node, name),
	       sizeof(struct ns_node));
}
END_TEST

START_TEST(test_ns__insert_and_lookup_the_three_key_shapes)
{
	struct ns ns;
	swapobj_key a, s, f;
	struct ns_node *la, *ls, *lf;
	CHECK_EQ(ns_init(&ns), 0);
	tk_anon(&a, 42, 7);
	tk_shmem(&s, 0x803, 123456, 2);
	tk_fscache(&f, "nfs-srv", 7, "\x01\x02\x03\x04", 4);
	CHECK_EQ(ns_insert(&ns, &a, tok(1), &la), 0);
	CHECK_EQ(ns_insert(&ns, &s, tok(2), &ls), 0);
	CHECK_EQ(ns_insert(&ns, &f, tok(3), &lf), 0);
	CHECK_EQ(ns.nobjects, 3);
	CHECK_EQ(ns.nnodes, 1 + 3 + 4 + 3);

	CHECK_PTR_EQ(ns_lookup(&ns, &a, 3), la);
	CHECK_PTR_EQ(ns_lookup(&ns, &s, 4), ls);
	CHECK_PTR_EQ(ns_lookup(&ns, &f, 3), lf);
	CHECK_PTR_EQ(la->obj, tok(1));
	CHECK_PTR_EQ(ls->obj, tok(2));
	CHECK_PTR_EQ(lf->obj, tok(3));
	CHECK(ns_node_is_object(la) && !ns_node_is_prefix(la));

	/* Prefixes are prefix nodes; the root is ncomp 0. */
	CHECK_PTR_EQ(ns_lookup(&ns, &a, 0), ns.root);
	struct ns_node *p = ns_lookup(&ns, &s, 2);
	ck_assert_ptr_nonnull(p);
	CHECK(ns_node_is_prefix(p) && !ns_node_is_object(p));
	CHECK_PTR_EQ(ls->parent->parent, p);

	/* A key that differs in its last component is absent. */
	swapobj_key b;
	tk_anon(&b, 42, 8);
	ck_assert_ptr_null(ns_lookup(&ns, &b, 3));
	CHECK_PTR_EQ(ns_lookup(&ns, &b, 2), la->parent);
	CHECK_EQ(ns_check(&ns), 0);
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

START_TEST(test_ns__lookup_beyond_the_key_or_of_malformed_keys_is_null)
{
	struct ns ns;
	swapobj_key k;
	CHECK_EQ(ns_init(&ns), 0);
	tk_anon(&k, 1, 2);
	CHECK_EQ(ns_insert(&ns, &k, tok(0), NULL), 0);
	ck_assert_ptr_null(ns_lookup(&ns, &k, 4));
	ck_assert_ptr_null(ns_lookup(&ns, NULL, 0));
	swapobj_key bad = k;
	bad.len[1] = 0;
	ck_assert_ptr_null(ns_lookup(&ns, &bad, 3));
	ck_assert_ptr_nonnull(ns_lookup(&ns, &bad, 1)); /* only the components used are checked */
	bad = k;
	bad.off[2] = (uint16_t)(bad.nbytes - 4);
	ck_assert_ptr_null(ns_lookup(&ns, &bad, 3));
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

START_TEST(test_ns__binary_components_are_distinct_names)
{
	static const struct {
		const char *b;
		unsigned len;
	} names[] = {
	    {"a", 1}, {"a\0", 2}, {"a\0b", 3}, {"a\0\0", 3},    {"\0", 1},    {"\0\0", 2},
	    {"/", 1}, {"a/b", 3}, {"\xff", 1}, {"\xff\xff", 2}, {"a\xff", 2}, {"A", 1},
	};
	struct ns ns;
	swapobj_key k;
	struct ns_node *leaf[SO_ARRAY_SIZE(names)];
	CHECK_EQ(ns_init(&ns), 0);
	for (unsigned i = 0; i < SO_ARRAY_SIZE(names); i++) {
		tk_init(&k);
		tk_push(&k, "\xff\0/", 3);
		tk_push(&k, names[i].b, names[i].len);
		CHECK_EQ(ns_insert(&ns, &k, tok(i), &leaf[i]), 0);
	}
	for (unsigned i = 0; i < SO_ARRAY_SIZE(names); i++) {
		tk_init(&k);
		tk_push(&k, "\xff\0/", 3);
		tk_push(&k, names[i].b, names[i].len);
		CHECK_PTR_EQ(ns_lookup(&ns, &k, 2), leaf[i]);
		CHECK_PTR_EQ(leaf[i]->obj, tok(i));
		CHECK_EQ(leaf[i]->name_len, names[i].len);
		CHECK(memcmp(leaf[i]->name, names[i].b, names[i].len) == 0);
	}
	CHECK_EQ(leaf[0]->parent->nchildren, SO_ARRAY_SIZE(names));

	/* "x/y" as one component and ["x", "y"] are different keys. */
	swapobj_key one, two;
	tk_init(&one);
	tk_push_str(&one, "x/y");
	tk_init(&two);
	tk_push_str(&two, "x");
	tk_push_str(&two, "y");
	CHECK_EQ(ns_insert(&ns, &one, tok(100), NULL), 0);
	CHECK_EQ(ns_insert(&ns, &two, tok(101), NULL), 0);
	CHECK_PTR_EQ(ns_lookup(&ns, &one, 1)->obj, tok(100));
	CHECK_PTR_EQ(ns_lookup(&ns, &two, 2)->obj, tok(101));
	CHECK_EQ(ns_check(&ns), 0);
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

START_TEST(test_ns__max_size_keys_are_accepted)
{
	struct ns ns;
	swapobj_key k;
	uint8_t comp[SWAPOBJ_COMPONENT_MAX];
	struct ns_node *leaf;
	CHECK_EQ(ns_init(&ns), 0);
	memset(comp, 0xab, sizeof(comp));
	tk_init(&k);
	tk_push(&k, comp, 255);
	for (int i = 0; i < 3; i++)
		tk_push(&k, comp, 250);
	for (int i = 4; i < SWAPOBJ_KEY_MAX_COMPONENTS; i++)
		tk_push(&k, comp, i < 15 ? 1 : 8);
	CHECK_EQ(k.nbytes, SWAPOBJ_KEY_MAX_BYTES);
	CHECK_EQ(ns_insert(&ns, &k, tok(0), &leaf), 0);
	CHECK_PTR_EQ(ns_lookup(&ns, &k, SWAPOBJ_KEY_MAX_COMPONENTS), leaf);
	swapobj_key back;
	ns_key_of(leaf, &back);
	CHECK(key_eq(&back, &k));
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

/* ---- ns: conflicts ------------------------------------------------------ */

START_TEST(test_ns__insert_existing_key_is_eexist)
{
	struct ns ns;
	swapobj_key k;
	struct ns_node *leaf;
	CHECK_EQ(ns_init(&ns), 0);
	tk_anon(&k, 1, 1);
	CHECK_EQ(ns_insert(&ns, &k, tok(1), &leaf), 0);
	uint64_t mem = so_mem_used(SO_MEM_INDEX);
	CHECK_EQ(ns_insert(&ns, &k, tok(2), NULL), SWAPOBJ_EEXIST);
	CHECK_PTR_EQ(leaf->obj, tok(1));
	CHECK_EQ(ns.nobjects, 1);
	CHECK_EQ(so_mem_used(SO_MEM_INDEX), mem);
	ck_assert_str_ne(swapobj_errmsg(), "");
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

START_TEST(test_ns__insert_under_object_is_enotdir)
{
	struct ns ns;
	swapobj_key obj, under;
	CHECK_EQ(ns_init(&ns), 0);
	tk_chars(&obj, "ab");
	CHECK_EQ(ns_insert(&ns, &obj, tok(1), NULL), 0);
	uint64_t nodes = ns.nnodes, mem = so_mem_used(SO_MEM_INDEX);
	tk_chars(&under, "abc");
	CHECK_EQ(ns_insert(&ns, &under, tok(2), NULL), SWAPOBJ_ENOTDIR);
	tk_chars(&under, "abcd");
	CHECK_EQ(ns_insert(&ns, &under, tok(2), NULL), SWAPOBJ_ENOTDIR);
	CHECK_EQ(ns.nnodes, nodes);
	CHECK_EQ(so_mem_used(SO_MEM_INDEX), mem);
	CHECK_EQ(ns_check(&ns), 0);
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

START_TEST(test_ns__insert_at_a_prefix_is_eisdir)
{
	struct ns ns;
	swapobj_key deep, pre;
	CHECK_EQ(ns_init(&ns), 0);
	tk_chars(&deep, "abc");
	CHECK_EQ(ns_insert(&ns, &deep, tok(1), NULL), 0);
	tk_chars(&pre, "ab");
	CHECK_EQ(ns_insert(&ns, &pre, tok(2), NULL), SWAPOBJ_EISDIR);
	tk_chars(&pre, "a");
	CHECK_EQ(ns_insert(&ns, &pre, tok(2), NULL), SWAPOBJ_EISDIR);
	ck_assert_ptr_null(ns_lookup(&ns, &pre, 1)->obj);
	CHECK_EQ(ns.nobjects, 1);
	CHECK_EQ(ns_check(&ns), 0);
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

START_TEST(test_ns__insert_of_malformed_key_is_einval)
{
	struct ns ns;
	swapobj_key k;
	CHECK_EQ(ns_init(&ns), 0);
	tk_init(&k);
	CHECK_EQ(ns_insert(&ns, &k, tok(0), NULL), SWAPOBJ_EINVAL); /* no components */
	tk_chars(&k, "ab");
	CHECK_EQ(ns_insert(&ns, &k, NULL, NULL), SWAPOBJ_EINVAL); /* NULL object */
	CHECK_EQ(ns_insert(&ns, NULL, tok(0), NULL), SWAPOBJ_EINVAL);
	k.len[1] = 0;
	CHECK_EQ(ns_insert(&ns, &k, tok(0), NULL), SWAPOBJ_EINVAL); /* empty component */
	tk_chars(&k, "ab");
	k.off[1] = 2;
	CHECK_EQ(ns_insert(&ns, &k, tok(0), NULL), SWAPOBJ_EINVAL); /* outside nbytes */
	tk_chars(&k, "ab");
	k.ncomp = SWAPOBJ_KEY_MAX_COMPONENTS + 1;
	CHECK_EQ(ns_insert(&ns, &k, tok(0), NULL), SWAPOBJ_EINVAL);
	tk_chars(&k, "ab");
	k.nbytes = SWAPOBJ_KEY_MAX_BYTES + 1;
	CHECK_EQ(ns_insert(&ns, &k, tok(0), NULL), SWAPOBJ_EINVAL);
	CHECK_EQ(ns.nnodes, 1);
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

START_TEST(test_ns__failed_allocation_adds_nothing)
{
	struct ns ns;
	swapobj_key k, other;
	CHECK_EQ(ns_init(&ns), 0);
	tk_chars(&other, "xy");
	CHECK_EQ(ns_insert(&ns, &other, tok(0), NULL), 0);
	uint64_t mem = so_mem_used(SO_MEM_INDEX), nodes = ns.nnodes;
	tk_chars(&k, "abcd");
	for (long after = 0; after < 4; after++) {
		ns_test_fail_alloc(after);
		CHECK_EQ(ns_insert(&ns, &k, tok(1), NULL), SWAPOBJ_ENOMEM);
		ns_test_fail_alloc(-1);
		ck_assert_ptr_null(ns_lookup(&ns, &k, 1));
		CHECK_EQ(ns.nnodes, nodes);
		CHECK_EQ(ns.nobjects, 1);
		CHECK_EQ(so_mem_used(SO_MEM_INDEX), mem);
		CHECK_EQ(ns_check(&ns), 0);
	}
	/* Under an existing prefix: only the missing levels are allocated. */
	tk_chars(&k, "xz");
	ns_test_fail_alloc(0);
	CHECK_EQ(ns_insert(&ns, &k, tok(1), NULL), SWAPOBJ_ENOMEM);
	ns_test_fail_alloc(-1);
	CHECK_EQ(ns_lookup(&ns, &k, 1)->nchildren, 1);
	CHECK_EQ(ns_insert(&ns, &k, tok(1), NULL), 0);
	CHECK_EQ(ns_check(&ns), 0);
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

/*
 * A model over every key of 1..3 one-letter components from {a, b, c}:
 * random inserts, removes and detaches must give the results the model
 * predicts and keep the invariants.
 */
#define MODEL_KEYS 39
static void model_key(unsigned idx, char out[4])
{
	/* 0..2 depth 1, 3..11 depth 2, 12..38 depth 3 */
	unsigned depth = idx < 3 ? 1 : idx < 12 ? 2 : 3, base = idx < 3 ? 0 : idx < 12 ? 3 : 12, v = idx - base;
	for (int i = (int)depth - 1; i >= 0; i--) {
		out[i] = (char)('a' + v % 3);
		v /= 3;
	}
	out[depth] = 0;
}

static bool is_proper_prefix(const char *p, const char *k)
{
	size_t pl = strlen(p);
	return pl < strlen(k) && strncmp(p, k, pl) == 0;
}

START_TEST(test_ns__random_operations_match_a_model)
{
	uint64_t seed = tu_seed(0x5eed0001);
	struct tu_rng rng;
	struct ns ns;
	struct ns_node *node[MODEL_KEYS] = {0};
	char name[MODEL_KEYS][4];
	swapobj_key k;
	uint64_t base = so_mem_used(SO_MEM_INDEX);

	tu_rng_init(&rng, seed);
	for (unsigned i = 0; i < MODEL_KEYS; i++)
		model_key(i, name[i]);
	CHECK_EQ(ns_init(&ns), 0);
	uint64_t after_init = so_mem_used(SO_MEM_INDEX);

	for (int step = 0; step < 20000; step++) {
		unsigned i = (unsigned)tu_rng_below(&rng, MODEL_KEYS);
		uint64_t op = tu_rng_below(&rng, 10);
		tk_chars(&k, name[i]);
		if (op < 6) {
			int want = 0;
			if (node[i])
				want = SWAPOBJ_EEXIST;
			for (unsigned j = 0; j < MODEL_KEYS && !want; j++)
				if (node[j] && is_proper_prefix(name[j], name[i]))
					want = SWAPOBJ_ENOTDIR;
			for (unsigned j = 0; j < MODEL_KEYS && !want; j++)
				if (node[j] && is_proper_prefix(name[i], name[j]))
					want = SWAPOBJ_EISDIR;
			struct ns_node *leaf = NULL;
			int got = ns_insert(&ns, &k, tok(i), &leaf);
			CHECK_MSG(got == want, "seed %llu step %d insert %s: got %d want %d", (unsigned long long)seed,
			          step, name[i], got, want);
			if (got == 0)
				node[i] = leaf;
		} else if (op < 8) {
			if (node[i]) {
				ns_remove(&ns, node[i]);
				node[i] = NULL;
			}
		} else {
			unsigned nc = 1 + (unsigned)tu_rng_below(&rng, k.ncomp);
			char pre[4];
			memcpy(pre, name[i], nc);
			pre[nc] = 0;
			uint64_t want = 0;
			for (unsigned j = 0; j < MODEL_KEYS; j++)
				if (node[j] && strncmp(name[j], pre, nc) == 0)
					want++;
			struct ns_node *sub = ns_detach(&ns, &k, nc);
			CHECK_MSG((sub != NULL) == (want > 0), "seed %llu step %d detach %s", (unsigned long long)seed,
			          step, pre);
			for (unsigned j = 0; j < MODEL_KEYS; j++) {
				if (node[j] && strncmp(name[j], pre, nc) == 0) {
					CHECK(ns_node_dead(node[j]));
					node[j] = NULL;
				} else if (node[j]) {
					CHECK(!ns_node_dead(node[j]));
				}
			}
			struct reap_count rc = {0, 0};
			reap_all(&ns, &sub, 1 + tu_rng_below(&rng, 4), &rc);
			CHECK_EQ(rc.objects, want);
		}
		if (step % 64 == 0) {
			int err = ns_check(&ns);
			CHECK_MSG(err == 0, "seed %llu step %d: %s", (unsigned long long)seed, step, swapobj_errmsg());
		}
		uint64_t n = 0;
		for (unsigned j = 0; j < MODEL_KEYS; j++)
			n += node[j] != NULL;
		CHECK_EQ(ns.nobjects, n);
	}
	for (unsigned j = 0; j < MODEL_KEYS; j++)
		if (node[j])
			ns_remove(&ns, node[j]);
	CHECK_EQ(ns.nnodes, 1);
	CHECK_EQ(so_mem_used(SO_MEM_INDEX), after_init);
	ns_destroy(&ns, NULL, NULL);
	CHECK_EQ(so_mem_used(SO_MEM_INDEX), base);
}
END_TEST

/* ---- ns: remove --------------------------------------------------------- */

START_TEST(test_ns__remove_prunes_empty_ancestors)
{
	struct ns ns;
	swapobj_key k;
	struct ns_node *leaf;
	CHECK_EQ(ns_init(&ns), 0);
	uint64_t mem = so_mem_used(SO_MEM_INDEX);
	tk_shmem(&k, 1, 2, 3);
	CHECK_EQ(ns_insert(&ns, &k, tok(0), &leaf), 0);
	ns_remove(&ns, leaf);
	ck_assert_ptr_null(ns_lookup(&ns, &k, 1));
	ck_assert_ptr_null(ns.root->children);
	CHECK_EQ(ns.root->nchildren, 0);
	CHECK_EQ(ns.nnodes, 1);
	CHECK_EQ(ns.nobjects, 0);
	CHECK_EQ(so_mem_used(SO_MEM_INDEX), mem);
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

START_TEST(test_ns__remove_keeps_ancestors_that_still_have_children)
{
	struct ns ns;
	swapobj_key k1, k2, k3;
	struct ns_node *l1, *l2;
	CHECK_EQ(ns_init(&ns), 0);
	tk_shmem(&k1, 1, 2, 3);
	tk_shmem(&k2, 1, 2, 4); /* sibling of k1 */
	tk_shmem(&k3, 1, 9, 1); /* cousin */
	CHECK_EQ(ns_insert(&ns, &k1, tok(1), &l1), 0);
	CHECK_EQ(ns_insert(&ns, &k2, tok(2), &l2), 0);
	CHECK_EQ(ns_insert(&ns, &k3, tok(3), NULL), 0);
	struct ns_node *p = l1->parent;
	ns_remove(&ns, l1);
	CHECK_PTR_EQ(ns_lookup(&ns, &k2, 3), p); /* shared parent stays */
	CHECK_EQ(p->nchildren, 1);
	ns_remove(&ns, l2);
	ck_assert_ptr_null(ns_lookup(&ns, &k2, 3));    /* now pruned ... */
	ck_assert_ptr_nonnull(ns_lookup(&ns, &k2, 2)); /* ... but not the cousin's ancestors */
	ck_assert_ptr_nonnull(ns_lookup(&ns, &k3, 4));
	CHECK_EQ(ns.nobjects, 1);
	CHECK_EQ(ns.nnodes, 5);
	CHECK_EQ(ns_check(&ns), 0);
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

/* ---- ns: directory objects --------------------------------------------- */

START_TEST(test_ns__directory_object_attaches_to_an_existing_prefix)
{
	struct ns ns;
	swapobj_key deep, pre;
	struct ns_node *leaf, *d;
	CHECK_EQ(ns_init(&ns), 0);
	tk_chars(&deep, "abc");
	CHECK_EQ(ns_insert(&ns, &deep, tok(1), &leaf), 0);
	uint64_t nodes = ns.nnodes, mem = so_mem_used(SO_MEM_INDEX);
	tk_chars(&pre, "ab");
	CHECK_EQ(ns_insert_obj(&ns, &pre, tok(2), true, &d), 0);
	CHECK_PTR_EQ(d, leaf->parent);
	CHECK_PTR_EQ(d->obj, tok(2));
	CHECK(ns_node_is_dir(d) && ns_node_is_prefix(d) && ns_node_takes_children(d));
	CHECK_EQ(ns.nnodes, nodes); /* nothing allocated */
	CHECK_EQ(so_mem_used(SO_MEM_INDEX), mem);
	CHECK_EQ(ns.nobjects, 2);
	CHECK_EQ(ns_check(&ns), 0);
	/* A second object there, of either kind, is EEXIST; a file at a prefix stays EISDIR. */
	CHECK_EQ(ns_insert_obj(&ns, &pre, tok(3), true, NULL), SWAPOBJ_EEXIST);
	tk_chars(&pre, "a");
	CHECK_EQ(ns_insert_obj(&ns, &pre, tok(3), false, NULL), SWAPOBJ_EISDIR);
	CHECK_EQ(ns.nobjects, 2);
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

START_TEST(test_ns__keys_go_under_a_directory_object_but_not_under_a_file)
{
	struct ns ns;
	swapobj_key k;
	struct ns_node *d, *f;
	CHECK_EQ(ns_init(&ns), 0);
	tk_chars(&k, "ab");
	CHECK_EQ(ns_insert_obj(&ns, &k, tok(1), true, &d), 0);
	CHECK(ns_node_is_dir(d) && !ns_node_is_prefix(d));
	tk_chars(&k, "abc");
	CHECK_EQ(ns_insert_obj(&ns, &k, tok(2), false, &f), 0);
	tk_chars(&k, "abde");
	CHECK_EQ(ns_insert_obj(&ns, &k, tok(3), true, NULL), 0);
	tk_chars(&k, "abcd");
	CHECK_EQ(ns_insert_obj(&ns, &k, tok(4), true, NULL), SWAPOBJ_ENOTDIR);
	CHECK(!ns_node_takes_children(f));
	CHECK_EQ(ns.nobjects, 3);
	CHECK_EQ(ns_check(&ns), 0);
	struct reap_count rc = {0, 0};
	ns_destroy(&ns, count_cb, &rc);
	CHECK_EQ(rc.objects, 3);
	CHECK_EQ(rc.token_sum, 2 + 3 + 4);
}
END_TEST

START_TEST(test_ns__removing_a_directory_object_with_children_leaves_a_prefix)
{
	struct ns ns;
	swapobj_key k, c;
	struct ns_node *d, *leaf;
	CHECK_EQ(ns_init(&ns), 0);
	uint64_t mem = so_mem_used(SO_MEM_INDEX);
	tk_chars(&k, "ab");
	CHECK_EQ(ns_insert_obj(&ns, &k, tok(1), true, &d), 0);
	tk_chars(&c, "abc");
	CHECK_EQ(ns_insert(&ns, &c, tok(2), &leaf), 0);
	ns_remove(&ns, d);
	CHECK_PTR_EQ(ns_lookup(&ns, &k, 2), d); /* still there, as a plain prefix */
	ck_assert_ptr_null(d->obj);
	CHECK(!d->dir && ns_node_is_prefix(d));
	CHECK_EQ(ns.nobjects, 1);
	CHECK_EQ(ns_check(&ns), 0);
	ns_remove(&ns, leaf); /* now the whole chain goes */
	ck_assert_ptr_null(ns_lookup(&ns, &k, 1));
	CHECK_EQ(ns.nnodes, 1);
	CHECK_EQ(so_mem_used(SO_MEM_INDEX), mem);
	/* An empty directory object is removed like any leaf. */
	CHECK_EQ(ns_insert_obj(&ns, &k, tok(3), true, &d), 0);
	ns_remove(&ns, d);
	CHECK_EQ(ns.nnodes, 1);
	CHECK_EQ(ns_check(&ns), 0);
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

START_TEST(test_ns__replace_swaps_the_object_in_place)
{
	struct ns ns;
	swapobj_key k;
	struct ns_node *n;
	CHECK_EQ(ns_init(&ns), 0);
	tk_chars(&k, "xy");
	CHECK_EQ(ns_insert(&ns, &k, tok(1), &n), 0);
	uint64_t mem = so_mem_used(SO_MEM_INDEX), nodes = ns.nnodes;
	CHECK_PTR_EQ(ns_replace(&ns, n, tok(2), true), tok(1));
	CHECK_PTR_EQ(ns_lookup(&ns, &k, 2)->obj, tok(2));
	CHECK(ns_node_is_dir(n));
	CHECK_PTR_EQ(ns_replace(&ns, n, tok(3), false), tok(2));
	CHECK(!ns_node_is_dir(n));
	CHECK_EQ(ns.nobjects, 1);
	CHECK_EQ(ns.nnodes, nodes);
	CHECK_EQ(so_mem_used(SO_MEM_INDEX), mem);
	CHECK_EQ(ns_check(&ns), 0);
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

START_TEST(test_ns__check_rejects_a_file_with_children_and_a_stray_dir_flag)
{
	struct ns ns;
	swapobj_key k;
	struct ns_node *d;
	CHECK_EQ(ns_init(&ns), 0);
	tk_chars(&k, "ab");
	CHECK_EQ(ns_insert_obj(&ns, &k, tok(1), true, &d), 0);
	tk_chars(&k, "abc");
	CHECK_EQ(ns_insert(&ns, &k, tok(2), NULL), 0);
	CHECK_EQ(ns_check(&ns), 0);
	d->dir = 0; /* a file with children */
	CHECK_EQ(ns_check(&ns), SWAPOBJ_ECORRUPT);
	d->dir = 1;
	d->parent->dir = 1; /* "a": a prefix without an object marked dir */
	CHECK_EQ(ns_check(&ns), SWAPOBJ_ECORRUPT);
	d->parent->dir = 0;
	CHECK_EQ(ns_check(&ns), 0);
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

START_TEST(test_ns__detach_and_reap_hand_over_directory_objects_too)
{
	struct ns ns;
	swapobj_key k;
	CHECK_EQ(ns_init(&ns), 0);
	tk_chars(&k, "v");
	CHECK_EQ(ns_insert_obj(&ns, &k, tok(1), true, NULL), 0);
	tk_chars(&k, "vs");
	CHECK_EQ(ns_insert_obj(&ns, &k, tok(2), true, NULL), 0);
	tk_chars(&k, "vsz");
	CHECK_EQ(ns_insert(&ns, &k, tok(3), NULL), 0);
	tk_chars(&k, "va");
	CHECK_EQ(ns_insert(&ns, &k, tok(4), NULL), 0);
	tk_chars(&k, "v");
	struct ns_node *sub = ns_detach(&ns, &k, 1);
	ck_assert_ptr_nonnull(sub);
	CHECK(ns_node_dead(sub));
	struct reap_count rc = {0, 0};
	CHECK_EQ(reap_all(&ns, &sub, 1, &rc), 4);
	CHECK_EQ(rc.objects, 4);
	CHECK_EQ(rc.token_sum, 2 + 3 + 4 + 5);
	CHECK_EQ(ns.nobjects, 0);
	CHECK_EQ(ns.nnodes, 1);
	CHECK_EQ(ns_check(&ns), 0);
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

/* ---- ns: detach and reap ------------------------------------------------ */

START_TEST(test_ns__detach_of_missing_prefix_returns_null)
{
	struct ns ns;
	swapobj_key k, other;
	CHECK_EQ(ns_init(&ns), 0);
	tk_anon(&k, 1, 1);
	CHECK_EQ(ns_insert(&ns, &k, tok(0), NULL), 0);
	ck_assert_ptr_null(ns_detach(&ns, &k, 0)); /* never the root */
	ck_assert_ptr_null(ns_detach(&ns, &k, 4));
	tk_anon(&other, 2, 1);
	ck_assert_ptr_null(ns_detach(&ns, &other, 2));
	ck_assert_ptr_null(ns_detach(&ns, &other, 3));
	CHECK_EQ(ns.nobjects, 1);
	CHECK_EQ(ns_check(&ns), 0);
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

START_TEST(test_ns__detach_hides_the_subtree_and_marks_it_dead)
{
	struct ns ns;
	swapobj_key k;
	struct ns_node *in[10], *out;
	CHECK_EQ(ns_init(&ns), 0);
	for (int i = 0; i < 10; i++) {
		tk_anon(&k, 1, (uint64_t)i);
		CHECK_EQ(ns_insert(&ns, &k, tok((uint64_t)i), &in[i]), 0);
	}
	tk_anon(&k, 2, 0);
	CHECK_EQ(ns_insert(&ns, &k, tok(99), &out), 0);

	tk_anon(&k, 1, 0);
	struct ns_node *sub = ns_detach(&ns, &k, 2);
	ck_assert_ptr_nonnull(sub);
	CHECK(sub->dead);
	ck_assert_ptr_null(sub->parent);
	ck_assert_ptr_null(ns_lookup(&ns, &k, 2));
	ck_assert_ptr_null(ns_lookup(&ns, &k, 3));
	for (int i = 0; i < 10; i++)
		CHECK(ns_node_dead(in[i]));
	CHECK(!ns_node_dead(out));
	CHECK(!ns_node_dead(ns.root));
	CHECK_EQ(ns.nobjects, 11); /* lazily adjusted */

	/* The key is free again at once; the new object is a new node. */
	struct ns_node *again;
	CHECK_EQ(ns_insert(&ns, &k, tok(50), &again), 0);
	CHECK(!ns_node_dead(again));
	ck_assert_ptr_ne(again, in[0]);

	struct reap_count rc = {0, 0};
	CHECK_EQ(reap_all(&ns, &sub, 3, &rc), 11);
	CHECK_EQ(rc.objects, 10);
	CHECK_EQ(rc.token_sum, 55);
	CHECK_EQ(ns.nobjects, 2);
	CHECK_EQ(ns_check(&ns), 0);
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

START_TEST(test_ns__detach_prunes_ancestors_left_empty)
{
	struct ns ns;
	swapobj_key k;
	CHECK_EQ(ns_init(&ns), 0);
	uint64_t mem = so_mem_used(SO_MEM_INDEX);
	for (int i = 0; i < 3; i++) {
		tk_anon(&k, 5, (uint64_t)i);
		CHECK_EQ(ns_insert(&ns, &k, tok(0), NULL), 0);
	}
	struct ns_node *sub = ns_detach(&ns, &k, 2);
	ck_assert_ptr_nonnull(sub);
	ck_assert_ptr_null(ns_lookup(&ns, &k, 1)); /* "anon" had nothing else */
	ck_assert_ptr_null(ns.root->children);
	CHECK_EQ(ns.nnodes, 5); /* root + owner + 3 leaves, until reaped */
	struct reap_count rc = {0, 0};
	CHECK_EQ(reap_all(&ns, &sub, 100, &rc), 4);
	CHECK_EQ(ns.nnodes, 1);
	CHECK_EQ(ns.nobjects, 0);
	CHECK_EQ(so_mem_used(SO_MEM_INDEX), mem);
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

START_TEST(test_ns__detach_of_a_single_object_reaps_it)
{
	struct ns ns;
	swapobj_key k;
	struct ns_node *leaf;
	CHECK_EQ(ns_init(&ns), 0);
	tk_fscache(&k, "v", 1, "c", 1);
	CHECK_EQ(ns_insert(&ns, &k, tok(6), &leaf), 0);
	struct ns_node *sub = ns_detach(&ns, &k, 3);
	CHECK_PTR_EQ(sub, leaf);
	CHECK(ns_node_dead(leaf));
	CHECK_EQ(ns.nnodes, 2); /* root + the leaf; "fscache" and "v" were pruned */
	struct reap_count rc = {0, 0};
	CHECK_EQ(ns_reap(&ns, &sub, 0, count_cb, &rc), 0);
	CHECK_PTR_EQ(sub, leaf);
	CHECK_EQ(ns_reap(&ns, &sub, 10, count_cb, &rc), 1);
	ck_assert_ptr_null(sub);
	CHECK_EQ(rc.objects, 1);
	CHECK_EQ(rc.token_sum, 7);
	CHECK_EQ(ns_reap(&ns, &sub, 10, count_cb, &rc), 0);
	CHECK_EQ(ns.nnodes, 1);
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

static void mark_cb(void *ctx, void *obj)
{
	uint8_t *handed_out = ctx;
	uint64_t i = (uint64_t)(uintptr_t)obj - 1;
	CHECK_EQ(handed_out[i], 0);
	handed_out[i] = 1;
}

START_TEST(test_ns__remove_inside_a_detached_subtree_leaves_the_node_to_reap)
{
	enum { N = 40 };
	struct ns ns;
	swapobj_key k;
	struct ns_node *leaf[N];
	uint8_t handed_out[N] = {0}, removed[N] = {0};
	CHECK_EQ(ns_init(&ns), 0);
	uint64_t mem = so_mem_used(SO_MEM_INDEX);
	for (uint64_t i = 0; i < N; i++) {
		tk_anon(&k, i % 4, i);
		CHECK_EQ(ns_insert(&ns, &k, tok(i), &leaf[i]), 0);
	}
	struct ns_node *sub = ns_detach(&ns, &k, 1);
	ck_assert_ptr_nonnull(sub);
	/* Part-reap first, so that some sibling trees are already reshaped. */
	CHECK_EQ(ns_reap(&ns, &sub, 5, mark_cb, handed_out), 5);
	uint64_t objects = ns.nobjects;
	for (uint64_t i = 0; i < N; i += 3) {
		if (handed_out[i])
			continue;
		CHECK(ns_node_dead(leaf[i]));
		ns_remove(&ns, leaf[i]);
		removed[i] = 1;
		CHECK_EQ(ns.nobjects, --objects);
	}
	size_t freed = 5, n;
	while ((n = ns_reap(&ns, &sub, 3, mark_cb, handed_out)) > 0)
		freed += n;
	ck_assert_ptr_null(sub);
	CHECK_EQ(freed, N + 4 + 1); /* emptied leaves are freed too */
	for (unsigned i = 0; i < N; i++)
		CHECK_EQ(handed_out[i] + removed[i], 1);
	CHECK_EQ(ns.nobjects, 0);
	CHECK_EQ(ns.nnodes, 1);
	CHECK_EQ(so_mem_used(SO_MEM_INDEX), mem);

	/* A detached single object removed before reaping: reaped without a callback. */
	tk_anon(&k, 1, 1);
	struct ns_node *only;
	CHECK_EQ(ns_insert(&ns, &k, tok(0), &only), 0);
	sub = ns_detach(&ns, &k, 3);
	CHECK_PTR_EQ(sub, only);
	ns_remove(&ns, only);
	CHECK_EQ(ns.nobjects, 0);
	struct reap_count rc = {0, 0};
	CHECK_EQ(ns_reap(&ns, &sub, 10, count_cb, &rc), 1);
	CHECK_EQ(rc.objects, 0);
	CHECK_EQ(so_mem_used(SO_MEM_INDEX), mem);
	CHECK_EQ(ns_check(&ns), 0);
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

START_TEST(test_ns__reap_frees_exactly_its_budget_per_call)
{
	struct ns ns;
	swapobj_key k;
	CHECK_EQ(ns_init(&ns), 0);
	for (uint64_t o = 0; o < 20; o++)
		for (uint64_t v = 0; v < 50; v++) {
			tk_anon(&k, o, v);
			CHECK_EQ(ns_insert(&ns, &k, tok(o * 50 + v), NULL), 0);
		}
	struct ns_node *sub = ns_detach(&ns, &k, 1);
	struct reap_count rc = {0, 0};
	size_t calls = 0, total = 0;
	while (sub) {
		size_t n = ns_reap(&ns, &sub, 7, count_cb, &rc);
		CHECK(n == 7 || (!sub && n <= 7));
		total += n;
		calls++;
	}
	CHECK_EQ(total, 1000 + 20 + 1);
	CHECK_EQ(calls, (1021 + 6) / 7);
	CHECK_EQ(rc.objects, 1000);
	CHECK_EQ(rc.token_sum, 1000 * 1001 / 2);
	CHECK_EQ(ns.nnodes, 1);
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

static void build_million(struct ns *ns, uint64_t first_token)
{
	swapobj_key k;
	for (uint64_t o = 0; o < 1000; o++) {
		tk_anon(&k, o, 0);
		for (uint64_t v = 0; v < 1000; v++) {
			/* Rewrite only the last component: the key layout stays the same. */
			for (int i = 0; i < 8; i++)
				k.buf[k.off[2] + i] = (uint8_t)(v >> (56 - 8 * i));
			CHECK_EQ(ns_insert(ns, &k, tok(first_token + o * 1000 + v), NULL), 0);
		}
	}
}

START_TEST(test_ns__detach_of_a_million_objects_is_constant_time)
{
	uint64_t best = UINT64_MAX, reap_ns = 0;
	for (int rep = 0; rep < 3 && best >= 1000000; rep++) {
		struct ns ns;
		swapobj_key anon, other;
		struct ns_node *keep;
		uint64_t base = so_mem_used(SO_MEM_INDEX);
		CHECK_EQ(ns_init(&ns), 0);
		tk_shmem(&other, 1, 1, 1);
		CHECK_EQ(ns_insert(&ns, &other, tok(UINT32_MAX), &keep), 0);
		uint64_t baseline = so_mem_used(SO_MEM_INDEX);
		build_million(&ns, 0);
		CHECK_EQ(ns.nobjects, 1000001);

		tk_anon(&anon, 7, 7);
		struct ns_node *probe = ns_lookup(&ns, &anon, 3);
		uint64_t t0 = so_now_ns();
		struct ns_node *sub = ns_detach(&ns, &anon, 1);
		uint64_t t = so_now_ns() - t0;
		best = SO_MIN(best, t);
		ck_assert_ptr_nonnull(sub);
		CHECK(ns_node_dead(probe));
		CHECK(!ns_node_dead(keep));
		ck_assert_ptr_null(ns_lookup(&ns, &anon, 1));

		struct reap_count rc = {0, 0};
		t0 = so_now_ns();
		size_t freed = reap_all(&ns, &sub, 4096, &rc);
		reap_ns = so_now_ns() - t0;
		CHECK_EQ(freed, 1000000 + 1000 + 1);
		CHECK_EQ(rc.objects, 1000000);
		CHECK_EQ(rc.token_sum, 1000000ull * 1000001 / 2);
		CHECK_EQ(ns.nobjects, 1);
		CHECK_EQ(ns.nnodes, 1 + 4);
		CHECK_EQ(so_mem_used(SO_MEM_INDEX), baseline);
		CHECK_EQ(ns_check(&ns), 0);
		ns_destroy(&ns, NULL, NULL);
		CHECK_EQ(so_mem_used(SO_MEM_INDEX), base);
	}
	printf("detach of 10^6 objects: %llu ns; reaping them in 4096-node steps: %.1f ms\n", (unsigned long long)best,
	       reap_ns / 1e6);
	ck_assert_uint_lt(best, 1000000);
}
END_TEST

START_TEST(test_ns__destroy_hands_every_object_to_the_callback)
{
	struct ns ns;
	swapobj_key k;
	uint64_t base = so_mem_used(SO_MEM_INDEX), sum = 0;
	CHECK_EQ(ns_init(&ns), 0);
	for (uint64_t i = 0; i < 300; i++) {
		if (i % 3 == 0)
			tk_anon(&k, i % 7, i);
		else if (i % 3 == 1)
			tk_shmem(&k, i % 5, i, 0);
		else
			tk_fscache(&k, "vol", 3, &i, sizeof(i));
		CHECK_EQ(ns_insert(&ns, &k, tok(i), NULL), 0);
		sum += i + 1;
	}
	struct reap_count rc = {0, 0};
	ns_destroy(&ns, count_cb, &rc);
	CHECK_EQ(rc.objects, 300);
	CHECK_EQ(rc.token_sum, sum);
	CHECK_EQ(ns.nobjects, 0);
	CHECK_EQ(ns.nnodes, 0);
	CHECK_EQ(so_mem_used(SO_MEM_INDEX), base);
}
END_TEST

/* ---- ns: keys of nodes -------------------------------------------------- */

START_TEST(test_ns__key_of_round_trips)
{
	struct ns ns;
	swapobj_key keys[4], back;
	struct ns_node *leaf[4];
	CHECK_EQ(ns_init(&ns), 0);
	tk_anon(&keys[0], UINT64_MAX, 0);
	tk_shmem(&keys[1], 0, 0, 0);
	tk_fscache(&keys[2], "\0\xff/", 3, "cookie\0", 7);
	tk_chars(&keys[3], "zyxwvutsrqponmlk"); /* 16 components */
	for (int i = 0; i < 4; i++)
		CHECK_EQ(ns_insert(&ns, &keys[i], tok((uint64_t)i), &leaf[i]), 0);
	for (int i = 0; i < 4; i++) {
		memset(&back, 0x5a, sizeof(back));
		ns_key_of(leaf[i], &back);
		CHECK(key_eq(&back, &keys[i]));
		CHECK_EQ(back.nbytes, keys[i].nbytes);
		CHECK_PTR_EQ(ns_lookup(&ns, &back, back.ncomp), leaf[i]);
	}
	/* A prefix node gives the prefix; the root gives the empty key. */
	swapobj_key pre = keys[1];
	pre.ncomp = 2;
	ns_key_of(leaf[1]->parent->parent, &back);
	CHECK(key_eq(&back, &pre));
	ns_key_of(ns.root, &back);
	CHECK_EQ(back.ncomp, 0);
	CHECK_EQ(back.nbytes, 0);

	/* Inside a detached subtree the key starts at the detached root. */
	struct ns_node *sub = ns_detach(&ns, &keys[1], 2);
	ns_key_of(leaf[1], &back);
	CHECK_EQ(back.ncomp, 3);
	CHECK_EQ(back.len[0], 8);
	struct reap_count rc = {0, 0};
	reap_all(&ns, &sub, 10, &rc);
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

/* ---- ns: listing -------------------------------------------------------- */

struct cursor {
	bool started;
	uint64_t hash;
	unsigned len;
	uint8_t name[SWAPOBJ_COMPONENT_MAX];
};

static int cursor_next(const struct ns_node *dir, struct cursor *c, struct ns_node **out)
{
	int r = ns_next_child(dir, c->started, c->hash, c->name, c->len, out);
	if (r == 1) {
		c->started = true;
		c->hash = (*out)->hash;
		c->len = (*out)->name_len;
		memcpy(c->name, (*out)->name, c->len);
	}
	return r;
}

START_TEST(test_ns__listing_returns_every_child_once_in_order)
{
	struct ns ns;
	swapobj_key k;
	enum { N = 3000 };
	static uint8_t seen[N];
	CHECK_EQ(ns_init(&ns), 0);
	for (uint64_t i = 0; i < N; i++) {
		tk_anon(&k, 1, i);
		CHECK_EQ(ns_insert(&ns, &k, tok(i), NULL), 0);
	}
	struct ns_node *dir = ns_lookup(&ns, &k, 2), *e, *prev = NULL;
	struct cursor c = {0};
	unsigned n = 0;
	memset(seen, 0, sizeof(seen));
	while (cursor_next(dir, &c, &e)) {
		uint64_t i = (uint64_t)(uintptr_t)e->obj - 1;
		ck_assert_uint_lt(i, N);
		CHECK_EQ(seen[i], 0);
		seen[i] = 1;
		if (prev)
			ck_assert_int_lt(ref_cmp(prev->hash, prev->name, prev->name_len, e->hash, e->name, e->name_len),
			                 0);
		prev = e;
		n++;
	}
	CHECK_EQ(n, N);
	CHECK_EQ(cursor_next(dir, &c, &e), 0); /* stays at the end */

	/* An empty prefix (a leaf) lists nothing. */
	struct cursor c2 = {0};
	CHECK_EQ(cursor_next(prev, &c2, &e), 0);
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

START_TEST(test_ns__listing_survives_inserts_and_removes_between_calls)
{
	enum { STABLE = 400, VOLATILE = 2000 };
	uint64_t seed = tu_seed(0x5eed0002);
	struct tu_rng rng;
	struct ns ns;
	swapobj_key k;
	static struct ns_node *vol[VOLATILE];
	static unsigned stable_seen[STABLE];
	tu_rng_init(&rng, seed);

	for (int round = 0; round < 5; round++) {
		CHECK_EQ(ns_init(&ns), 0);
		memset(vol, 0, sizeof(vol));
		memset(stable_seen, 0, sizeof(stable_seen));
		for (uint64_t i = 0; i < STABLE; i++) {
			tk_shmem(&k, 9, i, 0);
			CHECK_EQ(ns_insert(&ns, &k, tok(i), NULL), 0);
		}
		for (uint64_t i = 0; i < VOLATILE; i += 2) {
			tk_shmem(&k, 9, STABLE + i, 0);
			CHECK_EQ(ns_insert(&ns, &k, tok(STABLE + i), &vol[i]), 0);
			vol[i] = vol[i]->parent; /* the child of the listed prefix */
		}
		struct ns_node *dir = ns_lookup(&ns, &k, 2), *e;
		struct cursor c = {0};
		struct cursor last = {0};
		while (cursor_next(dir, &c, &e)) {
			if (last.started)
				CHECK_MSG(ref_cmp(last.hash, last.name, last.len, c.hash, c.name, c.len) < 0,
				          "seed %llu: listing went backwards", (unsigned long long)seed);
			last = c;
			uint64_t id = (uint64_t)(uintptr_t)e->children->obj - 1;
			if (id < STABLE)
				stable_seen[id]++;
			/* Churn: add and drop volatile children, sometimes the one just returned. */
			for (int m = 0; m < 3; m++) {
				uint64_t v = tu_rng_below(&rng, VOLATILE);
				if (m == 0 && id >= STABLE)
					v = id - STABLE;
				if (vol[v]) {
					ns_remove(&ns, vol[v]->children);
					vol[v] = NULL;
				} else {
					struct ns_node *leaf;
					tk_shmem(&k, 9, STABLE + v, 0);
					CHECK_EQ(ns_insert(&ns, &k, tok(STABLE + v), &leaf), 0);
					vol[v] = leaf->parent;
				}
			}
		}
		for (unsigned i = 0; i < STABLE; i++)
			CHECK_MSG(stable_seen[i] == 1, "seed %llu round %d: stable child %u listed %u times",
			          (unsigned long long)seed, round, i, stable_seen[i]);
		CHECK_EQ(ns_check(&ns), 0);
		ns_destroy(&ns, NULL, NULL);
	}
}
END_TEST

START_TEST(test_ns__siblings_are_ordered_by_hash_first)
{
	/* The order compares hashes before any byte of the names. */
	ck_assert_int_lt(ns_name_cmp(1, (const uint8_t *)"z", 1, 2, (const uint8_t *)"a", 1), 0);
	ck_assert_int_gt(ns_name_cmp(UINT64_MAX, (const uint8_t *)"a", 1, 0, (const uint8_t *)"zz", 2), 0);
	CHECK_EQ(ns_name_cmp(5, (const uint8_t *)"ab", 2, 5, (const uint8_t *)"ab", 2), 0);
	CHECK_EQ(ns_hash_name((const uint8_t *)"anon", 4), ns_hash_name((const uint8_t *)"anon", 4));
	ck_assert_uint_ne(ns_hash_name((const uint8_t *)"anon", 4), ns_hash_name((const uint8_t *)"anoN", 4));

	/* Listing order: non-decreasing hash, and the listing is what the cookie orders. */
	struct ns ns;
	swapobj_key k;
	CHECK_EQ(ns_init(&ns), 0);
	for (uint64_t i = 0; i < 500; i++) {
		tk_anon(&k, i, 0);
		CHECK_EQ(ns_insert(&ns, &k, tok(i), NULL), 0);
	}
	struct ns_node *dir = ns_lookup(&ns, &k, 1), *e;
	struct cursor c = {0};
	uint64_t prev = 0;
	unsigned n = 0;
	while (cursor_next(dir, &c, &e)) {
		CHECK_EQ(e->hash, ns_hash_name(e->name, e->name_len));
		CHECK(n == 0 || e->hash > prev);
		prev = e->hash;
		n++;
	}
	CHECK_EQ(n, 500);
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

START_TEST(test_ns__equal_hashes_are_ordered_by_name_then_length)
{
	static const struct {
		const char *b;
		unsigned len;
	} want[] = {
	    /* expected order when every hash is equal: bytes, then shorter first */
	    {"\0", 1}, {"\0\0", 2}, {"a", 1}, {"a\0", 2}, {"a\0\0", 3}, {"a\0b", 3}, {"ab", 2}, {"b", 1}, {"\xff", 1},
	};
	static const unsigned insert_order[] = {7, 2, 8, 0, 5, 3, 6, 1, 4};
	struct ns ns;
	swapobj_key k;
	ns_test_hash_mask(0);
	CHECK_EQ(ns_init(&ns), 0);
	for (unsigned j = 0; j < SO_ARRAY_SIZE(insert_order); j++) {
		unsigned i = insert_order[j];
		tk_init(&k);
		tk_push_str(&k, "p");
		tk_push(&k, want[i].b, want[i].len);
		CHECK_EQ(ns_insert(&ns, &k, tok(i), NULL), 0);
	}
	struct ns_node *dir = ns_lookup(&ns, &k, 1), *e;
	struct cursor c = {0};
	unsigned n = 0;
	while (cursor_next(dir, &c, &e)) {
		CHECK_EQ(e->hash, 0);
		ck_assert_uint_lt(n, SO_ARRAY_SIZE(want));
		CHECK_EQ(e->name_len, want[n].len);
		CHECK(memcmp(e->name, want[n].b, want[n].len) == 0);
		n++;
	}
	CHECK_EQ(n, SO_ARRAY_SIZE(want));

	/* Many colliding names: the tree still finds, orders and balances them. */
	for (uint64_t i = 0; i < 5000; i++) {
		tk_init(&k);
		tk_push_str(&k, "q");
		tk_push_u64(&k, i * 0x9e3779b97f4a7c15ull);
		CHECK_EQ(ns_insert(&ns, &k, tok(i), NULL), 0);
	}
	for (uint64_t i = 0; i < 5000; i++) {
		tk_init(&k);
		tk_push_str(&k, "q");
		tk_push_u64(&k, i * 0x9e3779b97f4a7c15ull);
		CHECK_PTR_EQ(ns_lookup(&ns, &k, 2)->obj, tok(i));
	}
	CHECK_EQ(ns_check(&ns), 0);
	ns_destroy(&ns, NULL, NULL);
	ns_test_hash_mask(UINT64_MAX);
}
END_TEST

/* An upper bound on the height of an AVL tree of n nodes: 1.4405 * log2(n + 2), log2 rounded up. */
static unsigned avl_max_height(uint64_t n)
{
	unsigned lg = 0;
	for (uint64_t x = n + 2; x > 1; x >>= 1)
		lg++;
	return (unsigned)(1.4405 * (lg + 1));
}

START_TEST(test_ns__sibling_trees_stay_balanced)
{
	enum { N = 100000 };
	uint64_t seed = tu_seed(0x5eed0003);
	struct tu_rng rng;
	struct ns ns;
	swapobj_key k;
	static struct ns_node *leaf[N];
	tu_rng_init(&rng, seed);
	CHECK_EQ(ns_init(&ns), 0);
	for (uint64_t i = 0; i < N; i++) {
		tk_anon(&k, 3, i);
		CHECK_EQ(ns_insert(&ns, &k, tok(i), &leaf[i]), 0);
	}
	struct ns_node *dir = leaf[0]->parent;
	CHECK_EQ(ns_check(&ns), 0);
	ck_assert_uint_le(dir->children->height, avl_max_height(N));
	unsigned left = N;
	for (uint64_t i = 0; i < N; i++)
		if (tu_rng_below(&rng, 4) != 0) {
			ns_remove(&ns, leaf[i]);
			left--;
		}
	CHECK_EQ(dir->nchildren, left);
	CHECK_MSG(ns_check(&ns) == 0, "seed %llu: %s", (unsigned long long)seed, swapobj_errmsg());
	ck_assert_uint_le(dir->children->height, avl_max_height(left));
	ns_destroy(&ns, NULL, NULL);
}
END_TEST

START_TEST(test_ns__memory_per_object_for_a_million_anon_keys)
{
	struct ns ns;
	uint64_t base = so_mem_used(SO_MEM_INDEX);
	CHECK_EQ(ns_init(&ns), 0);
	uint64_t t0 = so_now_ns();
	build_million(&ns, 0);
	uint64_t t = so_now_ns() - t0;
	double per = (double)(so_mem_used(SO_MEM_INDEX) - base) / 1e6;
	printf("namespace: %.1f bytes of index memory per object (10^6 anon keys, 1000 owners), %.0f ns per insert\n",
	       per, t / 1e6);
	ck_assert_double_le(per, 96.0);
	ns_destroy(&ns, NULL, NULL);
	CHECK_EQ(so_mem_used(SO_MEM_INDEX), base);
}
END_TEST

/* ---- oidmap ------------------------------------------------------------- */

/*
 * A map loaded from another map's iteration order (slot order: sorted by
 * that map's hash), growing as it goes, as a checkpoint is read back:
 * probes stay short. Were both maps to hash alike, the first keys would all
 * land in the first slots of the small table and the probes would grow
 * with the map (tens of thousands of slots at this size: quadratic).
 */
START_TEST(test_oidmap__loading_one_map_from_another_keeps_probes_short)
{
	struct oidmap a, b;
	const uint64_t n = 200000;
	CHECK_EQ(oidmap_init(&a), 0);
	CHECK_EQ(oidmap_init(&b), 0);
	for (uint64_t oid = 1; oid <= n; oid++)
		CHECK_EQ(oidmap_put(&a, oid, tok(oid)), 0);
	uint64_t pos = 0, oid;
	void *val;
	while (oidmap_next(&a, &pos, &oid, &val))
		CHECK_EQ(oidmap_put(&b, oid, val), 0);
	CHECK_EQ(oidmap_count(&b), n);
	printf("oidmap: longest probe %llu (map of %llu), %llu (loaded from its slot order)\n",
	       (unsigned long long)oidmap_longest_probe(&a), (unsigned long long)n,
	       (unsigned long long)oidmap_longest_probe(&b));
	ck_assert_uint_le(oidmap_longest_probe(&a), 64);
	ck_assert_uint_le(oidmap_longest_probe(&b), 64);
	for (oid = 1; oid <= n; oid += 997)
		CHECK_PTR_EQ(oidmap_get(&b, oid), tok(oid));
	oidmap_destroy(&a);
	oidmap_destroy(&b);
}
END_TEST

START_TEST(test_oidmap__reserved_oids_and_null_values_are_einval)
{
	struct oidmap m;
	CHECK_EQ(oidmap_init(&m), 0);
	CHECK_EQ(oidmap_put(&m, 0, tok(0)), SWAPOBJ_EINVAL);
	CHECK_EQ(oidmap_put(&m, UINT64_MAX, tok(0)), SWAPOBJ_EINVAL);
	CHECK_EQ(oidmap_put(&m, 5, NULL), SWAPOBJ_EINVAL);
	CHECK_EQ(oidmap_count(&m), 0);
	CHECK_EQ(oidmap_put(&m, 1, tok(1)), 0);
	CHECK_EQ(oidmap_put(&m, UINT64_MAX - 1, tok(2)), 0);
	ck_assert_ptr_null(oidmap_get(&m, 0));
	ck_assert_ptr_null(oidmap_get(&m, UINT64_MAX));
	ck_assert_ptr_null(oidmap_del(&m, 0));
	ck_assert_ptr_null(oidmap_del(&m, UINT64_MAX));
	CHECK_PTR_EQ(oidmap_get(&m, 1), tok(1));
	CHECK_PTR_EQ(oidmap_get(&m, UINT64_MAX - 1), tok(2));
	oidmap_destroy(&m);
}
END_TEST

START_TEST(test_oidmap__put_replaces_an_existing_value)
{
	struct oidmap m;
	CHECK_EQ(oidmap_init(&m), 0);
	ck_assert_ptr_null(oidmap_get(&m, 7));
	ck_assert_ptr_null(oidmap_del(&m, 7));
	CHECK_EQ(oidmap_put(&m, 7, tok(1)), 0);
	CHECK_EQ(oidmap_put(&m, 7, tok(2)), 0);
	CHECK_EQ(oidmap_count(&m), 1);
	CHECK_PTR_EQ(oidmap_get(&m, 7), tok(2));
	CHECK_PTR_EQ(oidmap_del(&m, 7), tok(2));
	ck_assert_ptr_null(oidmap_del(&m, 7));
	CHECK_EQ(oidmap_count(&m), 0);
	oidmap_destroy(&m);
}
END_TEST

START_TEST(test_oidmap__random_operations_match_a_model)
{
	enum { U = 6000 };
	uint64_t seed = tu_seed(0x5eed0004);
	struct tu_rng rng;
	struct oidmap m;
	static uint64_t oid[U];
	static void *model[U];
	uint64_t count = 0, base = so_mem_used(SO_MEM_INDEX);
	tu_rng_init(&rng, seed);
	for (unsigned i = 0; i < U; i++) {
		/* Mostly dense small oids (as allocated), some arbitrary 64-bit ones. */
		do
			oid[i] = i % 3 ? i + 1 : tu_rng_next(&rng);
		while (oid[i] == 0 || oid[i] == UINT64_MAX || (i % 3 == 0 && oid[i] <= U));
		model[i] = NULL;
	}
	oid[0] = UINT64_MAX - 1;
	CHECK_EQ(oidmap_init(&m), 0);
	uint64_t steps = tu_scale(300000, 10);
	for (uint64_t s = 0; s < steps; s++) {
		/* Phases of growth and shrinkage: put-heavy, then del-heavy. */
		unsigned put_pct = (s / 20000) % 2 ? 25 : 75;
		unsigned i = (unsigned)tu_rng_below(&rng, U);
		unsigned r = (unsigned)tu_rng_below(&rng, 100);
		if (r < put_pct) {
			void *v = tok(tu_rng_next(&rng) >> 8);
			CHECK_EQ(oidmap_put(&m, oid[i], v), 0);
			count += model[i] == NULL;
			model[i] = v;
		} else if (r < put_pct + 15) {
			CHECK_MSG(oidmap_get(&m, oid[i]) == model[i], "seed %llu step %llu: get %llu",
			          (unsigned long long)seed, (unsigned long long)s, (unsigned long long)oid[i]);
		} else {
			void *got = oidmap_del(&m, oid[i]);
			CHECK_MSG(got == model[i], "seed %llu step %llu: del %llu", (unsigned long long)seed,
			          (unsigned long long)s, (unsigned long long)oid[i]);
			count -= model[i] != NULL;
			model[i] = NULL;
		}
		CHECK_MSG(oidmap_count(&m) == count, "seed %llu step %llu: count", (unsigned long long)seed,
		          (unsigned long long)s);
		if (s % 25000 == 0 || s + 1 == steps) {
			for (unsigned j = 0; j < U; j++)
				CHECK_MSG(oidmap_get(&m, oid[j]) == model[j], "seed %llu step %llu: oid %llu",
				          (unsigned long long)seed, (unsigned long long)s, (unsigned long long)oid[j]);
			uint64_t pos = 0, o, n = 0;
			void *v;
			while (oidmap_next(&m, &pos, &o, &v))
				n++;
			CHECK_EQ(n, count);
		}
	}
	oidmap_destroy(&m);
	CHECK_EQ(so_mem_used(SO_MEM_INDEX), base);
}
END_TEST

START_TEST(test_oidmap__iteration_visits_every_entry_once)
{
	enum { N = 5000 };
	struct oidmap m;
	static uint8_t seen[N + 1];
	CHECK_EQ(oidmap_init(&m), 0);
	for (uint64_t i = 1; i <= N; i++)
		CHECK_EQ(oidmap_put(&m, i, tok(i)), 0);
	uint64_t deleted = 0;
	for (uint64_t i = 2; i <= N; i += 3, deleted++)
		CHECK_PTR_EQ(oidmap_del(&m, i), tok(i));
	uint64_t pos = 0, o, n = 0;
	void *v;
	memset(seen, 0, sizeof(seen));
	while (oidmap_next(&m, &pos, &o, &v)) {
		CHECK(o >= 1 && o <= N && o % 3 != 2);
		CHECK_PTR_EQ(v, tok(o));
		CHECK_EQ(seen[o], 0);
		seen[o] = 1;
		n++;
	}
	CHECK_EQ(n, oidmap_count(&m));
	CHECK_EQ(n, N - deleted);
	CHECK_EQ(oidmap_next(&m, &pos, &o, &v), 0);
	oidmap_destroy(&m);

	/* An empty map iterates nothing. */
	CHECK_EQ(oidmap_init(&m), 0);
	pos = 0;
	CHECK_EQ(oidmap_next(&m, &pos, &o, &v), 0);
	oidmap_destroy(&m);
}
END_TEST

START_TEST(test_oidmap__grows_and_shrinks_with_its_contents)
{
	struct oidmap m;
	uint64_t base = so_mem_used(SO_MEM_INDEX);
	CHECK_EQ(oidmap_init(&m), 0);
	CHECK_EQ(so_mem_used(SO_MEM_INDEX), base); /* nothing until the first put */
	for (uint64_t i = 1; i <= 100000; i++) {
		CHECK_EQ(oidmap_put(&m, i, tok(i)), 0);
		ck_assert_uint_le(m.count * 8, m.cap * 7);
	}
	uint64_t big = m.cap, big_mem = so_mem_used(SO_MEM_INDEX) - base;
	ck_assert_uint_ge(big, 100000);
	for (uint64_t i = 11; i <= 100000; i++)
		CHECK_PTR_EQ(oidmap_del(&m, i), tok(i));
	CHECK_EQ(oidmap_count(&m), 10);
	ck_assert_uint_le(m.cap, 64);
	ck_assert_uint_lt(so_mem_used(SO_MEM_INDEX) - base, big_mem / 100);
	for (uint64_t i = 1; i <= 10; i++)
		CHECK_PTR_EQ(oidmap_get(&m, i), tok(i));
	oidmap_destroy(&m);
	CHECK_EQ(so_mem_used(SO_MEM_INDEX), base);
}
END_TEST

START_TEST(test_oidmap__churn_reuses_freed_slots_without_growing)
{
	enum { N = 10000 };
	uint64_t seed = tu_seed(0x5eed0005);
	struct tu_rng rng;
	struct oidmap m;
	static uint64_t live[N];
	uint64_t next_oid = 1;
	tu_rng_init(&rng, seed);
	CHECK_EQ(oidmap_init(&m), 0);
	for (unsigned i = 0; i < N; i++) {
		live[i] = next_oid++;
		CHECK_EQ(oidmap_put(&m, live[i], tok(live[i])), 0);
	}
	uint64_t cap = m.cap, mem = so_mem_used(SO_MEM_INDEX);
	for (unsigned r = 0; r < 30 * N; r++) {
		unsigned i = (unsigned)tu_rng_below(&rng, N);
		CHECK_PTR_EQ(oidmap_del(&m, live[i]), tok(live[i]));
		live[i] = next_oid++;
		CHECK_EQ(oidmap_put(&m, live[i], tok(live[i])), 0);
	}
	CHECK_EQ(m.cap, cap);
	CHECK_EQ(so_mem_used(SO_MEM_INDEX), mem);
	for (unsigned i = 0; i < N; i++)
		CHECK_MSG(oidmap_get(&m, live[i]) == tok(live[i]), "seed %llu", (unsigned long long)seed);
	/* Oids deleted during the churn are all gone. */
	for (uint64_t o = 1; o < next_oid; o += 97) {
		bool is_live = false;
		for (unsigned i = 0; i < N && !is_live; i++)
			is_live = live[i] == o;
		CHECK(is_live == (oidmap_get(&m, o) != NULL));
	}
	oidmap_destroy(&m);
}
END_TEST

START_TEST(test_oidmap__failed_growth_leaves_the_map_unchanged)
{
	struct oidmap m;
	CHECK_EQ(oidmap_init(&m), 0);
	CHECK_EQ(oidmap_put(&m, 1, tok(1)), 0);
	oidmap_test_fail_alloc(0);
	uint64_t i = 2;
	int err;
	while ((err = oidmap_put(&m, i, tok(i))) == 0)
		i++;
	CHECK_EQ(err, SWAPOBJ_ENOMEM);
	CHECK_EQ(oidmap_count(&m), i - 1);
	ck_assert_ptr_null(oidmap_get(&m, i));
	for (uint64_t j = 1; j < i; j++)
		CHECK_PTR_EQ(oidmap_get(&m, j), tok(j));
	/* Replacing needs no room and still works; so do deletes (the table stays large). */
	CHECK_EQ(oidmap_put(&m, 1, tok(100)), 0);
	CHECK_PTR_EQ(oidmap_get(&m, 1), tok(100));
	for (uint64_t j = 2; j < i; j++)
		CHECK_PTR_EQ(oidmap_del(&m, j), tok(j));
	CHECK_EQ(oidmap_count(&m), 1);
	oidmap_test_fail_alloc(-1);
	CHECK_EQ(oidmap_put(&m, i, tok(i)), 0);
	CHECK_PTR_EQ(oidmap_get(&m, i), tok(i));
	oidmap_destroy(&m);
}
END_TEST

START_TEST(test_oidmap__memory_per_entry_stays_under_28_bytes)
{
	enum { N = 1000000 };
	struct oidmap m;
	uint64_t base = so_mem_used(SO_MEM_INDEX), worst = 0;
	double sum = 0;
	unsigned samples = 0;
	CHECK_EQ(oidmap_init(&m), 0);
	uint64_t t0 = so_now_ns();
	for (uint64_t i = 1; i <= N; i++) {
		CHECK_EQ(oidmap_put(&m, i, tok(i)), 0);
		if (i >= 10000 && i % 1000 == 0) {
			uint64_t per = (so_mem_used(SO_MEM_INDEX) - base) * 100 / i;
			worst = SO_MAX(worst, per);
			sum += (double)per / 100;
			samples++;
		}
	}
	uint64_t t_put = so_now_ns() - t0;
	double at_n = (double)(so_mem_used(SO_MEM_INDEX) - base) / N;
	t0 = so_now_ns();
	for (uint64_t i = 1; i <= N; i++)
		CHECK_PTR_EQ(oidmap_get(&m, i), tok(i));
	uint64_t t_get = so_now_ns() - t0;
	printf("oidmap: %.1f bytes per entry at 10^6 entries; %.1f on average and %.2f at worst over 10^4..10^6; "
	       "%.0f ns per put, %.0f ns per get\n",
	       at_n, sum / samples, worst / 100.0, (double)t_put / N, (double)t_get / N);
	ck_assert_double_le(at_n, 28.0);
	ck_assert_double_le(sum / samples, 25.0);
	oidmap_destroy(&m);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

int main(int argc, char **argv)
{
	Suite *s = suite_create("ns");
	const struct tu_case_opts opts_ns = {.tags = "ns", .timeout = 120};
	const struct tu_case_opts opts_ns_detach = {.tags = "ns_detach", .timeout = 120};
	const struct tu_case_opts opts_ns_list = {.tags = "ns_list", .timeout = 120};
	const struct tu_case_opts opts_oidmap = {.tags = "oidmap", .timeout = 120};
	tu_add(s, test_ns__init_creates_an_empty_root, &opts_ns);
	tu_add(s, test_ns__node_header_fits_in_56_bytes, &opts_ns);
	tu_add(s, test_ns__insert_and_lookup_the_three_key_shapes, &opts_ns);
	tu_add(s, test_ns__lookup_beyond_the_key_or_of_malformed_keys_is_null, &opts_ns);
	tu_add(s, test_ns__binary_components_are_distinct_names, &opts_ns);
	tu_add(s, test_ns__max_size_keys_are_accepted, &opts_ns);
	tu_add(s, test_ns__insert_existing_key_is_eexist, &opts_ns);
	tu_add(s, test_ns__insert_under_object_is_enotdir, &opts_ns);
	tu_add(s, test_ns__insert_at_a_prefix_is_eisdir, &opts_ns);
	tu_add(s, test_ns__insert_of_malformed_key_is_einval, &opts_ns);
	tu_add(s, test_ns__failed_allocation_adds_nothing, &opts_ns);
	tu_add(s, test_ns__random_operations_match_a_model, &opts_ns);
	tu_add(s, test_ns__remove_prunes_empty_ancestors, &opts_ns);
	tu_add(s, test_ns__remove_keeps_ancestors_that_still_have_children, &opts_ns);
	tu_add(s, test_ns__directory_object_attaches_to_an_existing_prefix, &opts_ns);
	tu_add(s, test_ns__keys_go_under_a_directory_object_but_not_under_a_file, &opts_ns);
	tu_add(s, test_ns__removing_a_directory_object_with_children_leaves_a_prefix, &opts_ns);
	tu_add(s, test_ns__replace_swaps_the_object_in_place, &opts_ns);
	tu_add(s, test_ns__check_rejects_a_file_with_children_and_a_stray_dir_flag, &opts_ns);
	tu_add(s, test_ns__detach_and_reap_hand_over_directory_objects_too, &opts_ns);
	tu_add(s, test_ns__key_of_round_trips, &opts_ns);
	tu_add(s, test_ns__sibling_trees_stay_balanced, &opts_ns);
	tu_add(s, test_ns__memory_per_object_for_a_million_anon_keys, &opts_ns);
	tu_add(s, test_ns__detach_of_missing_prefix_returns_null, &opts_ns_detach);
	tu_add(s, test_ns__detach_hides_the_subtree_and_marks_it_dead, &opts_ns_detach);
	tu_add(s, test_ns__detach_prunes_ancestors_left_empty, &opts_ns_detach);
	tu_add(s, test_ns__detach_of_a_single_object_reaps_it, &opts_ns_detach);
	tu_add(s, test_ns__remove_inside_a_detached_subtree_leaves_the_node_to_reap, &opts_ns_detach);
	tu_add(s, test_ns__reap_frees_exactly_its_budget_per_call, &opts_ns_detach);
	tu_add(s, test_ns__detach_of_a_million_objects_is_constant_time, &opts_ns_detach);
	tu_add(s, test_ns__destroy_hands_every_object_to_the_callback, &opts_ns_detach);
	tu_add(s, test_ns__listing_returns_every_child_once_in_order, &opts_ns_list);
	tu_add(s, test_ns__listing_survives_inserts_and_removes_between_calls, &opts_ns_list);
	tu_add(s, test_ns__siblings_are_ordered_by_hash_first, &opts_ns_list);
	tu_add(s, test_ns__equal_hashes_are_ordered_by_name_then_length, &opts_ns_list);
	tu_add(s, test_oidmap__loading_one_map_from_another_keeps_probes_short, &opts_oidmap);
	tu_add(s, test_oidmap__reserved_oids_and_null_values_are_einval, &opts_oidmap);
	tu_add(s, test_oidmap__put_replaces_an_existing_value, &opts_oidmap);
	tu_add(s, test_oidmap__random_operations_match_a_model, &opts_oidmap);
	tu_add(s, test_oidmap__iteration_visits_every_entry_once, &opts_oidmap);
	tu_add(s, test_oidmap__grows_and_shrinks_with_its_contents, &opts_oidmap);
	tu_add(s, test_oidmap__churn_reuses_freed_slots_without_growing, &opts_oidmap);
	tu_add(s, test_oidmap__failed_growth_leaves_the_map_unchanged, &opts_oidmap);
	tu_add(s, test_oidmap__memory_per_entry_stays_under_28_bytes, &opts_oidmap);
	return tu_run(s, argc, argv);
}
