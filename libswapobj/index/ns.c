/*
 * ns.c - the namespace tree: nodes, sibling AVL trees, detach and reap.
 *
 * Owns every struct ns_node: their allocation, their links and the counters
 * in struct ns.
 *
 * Invariants (ns_check verifies 1-5 on the live tree):
 *  1. A live non-root node has an object or children, never neither, and
 *     both only if its object is a directory object (`dir` set; `dir` is
 *     never set on a node without an object): removal prunes ancestors that
 *     become empty, and insertion creates a chain of prefixes only together
 *     with the leaf ending it, and below a node only if it takes children.
 *  2. The children of a node form an AVL tree over left/right, ordered by
 *     ns_name_cmp, with no two equal names; `height` is exact and sibling
 *     heights differ by at most 1; `nchildren` is the tree's size.
 *  3. n->parent is the node whose children tree holds n. It is NULL for the
 *     root and for the root of a detached subtree, and nowhere else.
 *  4. `dead` is set exactly on roots of detached subtrees; their descendants
 *     are dead by ancestry (ns_node_dead walks up), so detaching is O(1) in
 *     the subtree's size.
 *  5. nobjects/nnodes count the live tree plus every detached subtree not
 *     yet reaped.
 *  6. Inside a detached subtree the sibling trees stay valid binary trees
 *     but ns_reap unbalances them (and leaves heights stale): nothing
 *     searches or rebalances them any more, and ns_remove only empties a
 *     dead leaf, so leaves there may hold no object.
 *
 * The AVL trees hold at most 2^32-1 nodes (nchildren is 32-bit), so their
 * height is at most 46 and the rebalancing paths fit in NS_AVL_PATH entries;
 * insertion and removal are iterative.
 *
 * Locking: none; see ns.h.
 */
#include "ns.h"

#include <assert.h>
#include <string.h>

#include "util.h"

/* Seed of the sibling-order hash. Listing cookies depend on it: never change it. */
#define NS_HASH_SEED 0x6e737377u /* "nssw" */

/* An AVL tree of n nodes has height < 1.4405 log2(n + 2); 46 for n < 2^32. */
#define NS_AVL_PATH 64

_Static_assert(offsetof(struct ns_node, name) <= 56, "ns_node header grew past 56 bytes");

int ns_insert(struct ns *ns, const swapobj_key *key, void *obj, struct ns_node **out)
{
	return ns_insert_obj(ns, key, obj, false, out);
}

static uint64_t ns_hash_mask = UINT64_MAX;
static long ns_alloc_allowance = -1;

void ns_test_hash_mask(uint64_t mask)
{
	ns_hash_mask = mask;
}

void ns_test_fail_alloc(long after)
{
	ns_alloc_allowance = after;
}

uint64_t ns_hash_name(const uint8_t *name, unsigned len)
{
	return so_hash64(name, len, NS_HASH_SEED) & ns_hash_mask;
}

int ns_name_cmp(uint64_t ha, const uint8_t *a, unsigned alen, uint64_t hb, const uint8_t *b, unsigned blen)
{
	if (ha != hb)
		return ha < hb ? -1 : 1;
	int c = memcmp(a, b, SO_MIN(alen, blen));
	if (c)
		return c < 0 ? -1 : 1;
	return alen < blen ? -1 : alen > blen;
}

static inline int node_cmp(uint64_t h, const uint8_t *name, unsigned len, const struct ns_node *n)
{
	return ns_name_cmp(h, name, len, n->hash, n->name, n->name_len);
}

/* ---- nodes -------------------------------------------------------------- */

static struct ns_node *node_new(const uint8_t *name, unsigned len, uint64_t hash)
{
	if (ns_alloc_allowance >= 0) {
		if (ns_alloc_allowance == 0)
			return NULL;
		ns_alloc_allowance--;
	}
	size_t size = SO_MAX(sizeof(struct ns_node), offsetof(struct ns_node, name) + len);
	struct ns_node *n = so_alloc(SO_MEM_INDEX, size);
	if (!n)
		return NULL;
	memset(n, 0, offsetof(struct ns_node, name));
	n->hash = hash;
	n->name_len = (uint8_t)len;
	n->height = 1;
	if (len)
		memcpy(n->name, name, len);
	return n;
}

/* Free one node of a tree being torn down, handing its object to cb. */
static void node_release(struct ns *ns, struct ns_node *n, void (*cb)(void *ctx, void *obj), void *ctx)
{
	if (n->obj) {
		if (cb)
			cb(ctx, n->obj);
		ns->nobjects--;
	}
	ns->nnodes--;
	so_free(SO_MEM_INDEX, n);
}

/* ---- sibling AVL trees -------------------------------------------------- */

static inline unsigned avl_h(const struct ns_node *n)
{
	return n ? n->height : 0;
}

static inline void avl_fix_height(struct ns_node *n)
{
	n->height = (uint8_t)(1 + SO_MAX(avl_h(n->left), avl_h(n->right)));
}

static struct ns_node *avl_rot_right(struct ns_node *n)
{
	struct ns_node *l = n->left;
	n->left = l->right;
	l->right = n;
	avl_fix_height(n);
	avl_fix_height(l);
	return l;
}

static struct ns_node *avl_rot_left(struct ns_node *n)
{
	struct ns_node *r = n->right;
	n->right = r->left;
	r->left = n;
	avl_fix_height(n);
	avl_fix_height(r);
	return r;
}

/* Restore the AVL property at n, whose subtrees are AVL trees differing in height by at most 2. */
static struct ns_node *avl_balance(struct ns_node *n)
{
	int diff = (int)avl_h(n->left) - (int)avl_h(n->right);
	if (diff > 1) {
		if (avl_h(n->left->left) < avl_h(n->left->right))
			n->left = avl_rot_left(n->left);
		return avl_rot_right(n);
	}
	if (diff < -1) {
		if (avl_h(n->right->right) < avl_h(n->right->left))
			n->right = avl_rot_right(n->right);
		return avl_rot_left(n);
	}
	avl_fix_height(n);
	return n;
}

/* Rebalance bottom-up along a path of links (path[0] is the tree's root link). */
static void avl_rebalance(struct ns_node **path[], int depth)
{
	while (depth-- > 0)
		*path[depth] = avl_balance(*path[depth]);
}

static struct ns_node *avl_find(struct ns_node *t, uint64_t h, const uint8_t *name, unsigned len)
{
	while (t) {
		int c = node_cmp(h, name, len, t);
		if (c == 0)
			return t;
		t = c < 0 ? t->left : t->right;
	}
	return NULL;
}

/* Link n (not in any tree, name not present) into the tree at *rootp. */
static void avl_insert(struct ns_node **rootp, struct ns_node *n)
{
	struct ns_node **path[NS_AVL_PATH];
	struct ns_node **link = rootp;
	int depth = 0;

	while (*link) {
		int c = node_cmp(n->hash, n->name, n->name_len, *link);
		assert(c != 0 && depth < NS_AVL_PATH);
		path[depth++] = link;
		link = c < 0 ? &(*link)->left : &(*link)->right;
	}
	n->left = n->right = NULL;
	n->height = 1;
	*link = n;
	avl_rebalance(path, depth);
}

/* Unlink n, which is in the tree at *rootp. */
static void avl_remove(struct ns_node **rootp, struct ns_node *n)
{
	struct ns_node **path[NS_AVL_PATH];
	struct ns_node **link = rootp;
	int depth = 0;

	for (;;) {
		assert(*link && depth < NS_AVL_PATH);
		path[depth] = link;
		if (*link == n)
			break;
		int c = node_cmp(n->hash, n->name, n->name_len, *link);
		link = c < 0 ? &(*link)->left : &(*link)->right;
		depth++;
	}

	if (!n->left || !n->right) {
		*path[depth] = n->left ? n->left : n->right;
		avl_rebalance(path, depth);
	} else {
		/* Replace n by its successor s, the leftmost node of its right subtree. */
		int d = depth, k = depth + 1;
		struct ns_node *s = n->right;
		path[k] = &n->right;
		while (s->left) {
			assert(k + 1 < NS_AVL_PATH);
			path[++k] = &s->left;
			s = s->left;
		}
		*path[k] = s->right; /* unlink s (may set n->right) */
		s->left = n->left;
		s->right = n->right;
		s->height = n->height;
		*path[d] = s;
		path[d + 1] = &s->right; /* was &n->right */
		avl_rebalance(path, k);
	}
	n->left = n->right = NULL;
	n->height = 1;
}

/* ---- keys --------------------------------------------------------------- */

/* The first ncomp components of key are well-formed. */
static bool key_valid(const swapobj_key *key, unsigned ncomp)
{
	if (!key || ncomp > SWAPOBJ_KEY_MAX_COMPONENTS || ncomp > key->ncomp || key->nbytes > SWAPOBJ_KEY_MAX_BYTES)
		return false;
	for (unsigned i = 0; i < ncomp; i++)
		if (key->len[i] == 0 || (uint32_t)key->off[i] + key->len[i] > key->nbytes)
			return false;
	return true;
}

static inline const uint8_t *key_comp(const swapobj_key *key, unsigned i)
{
	return key->buf + key->off[i];
}

/* ---- namespace ---------------------------------------------------------- */

int ns_init(struct ns *ns)
{
	if (!ns)
		return so_err(SWAPOBJ_EINVAL, "ns_init: NULL namespace");
	ns->nobjects = 0;
	ns->nnodes = 0;
	ns->root = node_new(NULL, 0, 0);
	if (!ns->root)
		return so_err(SWAPOBJ_ENOMEM, "namespace: cannot allocate the root node");
	ns->nnodes = 1;
	return 0;
}

struct ns_node *ns_lookup(const struct ns *ns, const swapobj_key *key, unsigned ncomp)
{
	if (!ns || !ns->root || !key_valid(key, ncomp))
		return NULL;
	struct ns_node *n = ns->root;
	for (unsigned i = 0; i < ncomp && n; i++) {
		const uint8_t *name = key_comp(key, i);
		unsigned len = key->len[i];
		n = avl_find(n->children, ns_hash_name(name, len), name, len);
	}
	return n;
}

/* Free n and each ancestor left with neither children nor object, stopping below the root. */
static void prune_from(struct ns *ns, struct ns_node *n)
{
	while (n != ns->root && !n->children && !n->obj) {
		struct ns_node *p = n->parent;
		avl_remove(&p->children, n);
		p->nchildren--;
		ns->nnodes--;
		so_free(SO_MEM_INDEX, n);
		n = p;
	}
}

int ns_insert_obj(struct ns *ns, const swapobj_key *key, void *obj, bool isdir, struct ns_node **out)
{
	struct ns_node *made[SWAPOBJ_KEY_MAX_COMPONENTS];
	unsigned nmade = 0, i;
	int err = 0;

	if (!ns || !ns->root || !obj)
		return so_err(SWAPOBJ_EINVAL, "ns_insert: NULL namespace or object");
	if (!key || key->ncomp == 0)
		return so_err(SWAPOBJ_EINVAL, "ns_insert: key has no components");
	if (!key_valid(key, key->ncomp))
		return so_err(SWAPOBJ_EINVAL, "ns_insert: malformed key (%u components, %u bytes)", key->ncomp,
		              key->nbytes);

	uint64_t hash = 0; /* of component i once the loop stops */
	struct ns_node *dir = ns->root;
	for (i = 0; i < key->ncomp; i++) {
		if (!ns_node_takes_children(dir))
			return so_err(SWAPOBJ_ENOTDIR, "namespace: the first %u components of the key name an object",
			              i);
		hash = ns_hash_name(key_comp(key, i), key->len[i]);
		struct ns_node *c = avl_find(dir->children, hash, key_comp(key, i), key->len[i]);
		if (!c)
			break;
		dir = c;
	}

	if (i == key->ncomp) {
		if (dir->obj)
			return so_err(SWAPOBJ_EEXIST, "namespace: key already names an object");
		if (dir->children && !isdir)
			return so_err(SWAPOBJ_EISDIR, "namespace: key is a prefix of %u other keys", dir->nchildren);
		/* A directory object attaches to an existing prefix; an empty node would break invariant 1. */
		assert(dir->children);
		dir->obj = obj;
		dir->dir = isdir;
		ns->nobjects++;
		if (out)
			*out = dir;
		return 0;
	}
	if (dir->nchildren == UINT32_MAX)
		return so_err(SWAPOBJ_ENOMEM, "namespace: prefix has too many children");

	/* Allocate the whole missing chain first so that failure changes nothing. */
	for (unsigned k = i; k < key->ncomp; k++) {
		uint64_t h = k == i ? hash : ns_hash_name(key_comp(key, k), key->len[k]);
		struct ns_node *n = node_new(key_comp(key, k), key->len[k], h);
		if (!n) {
			err = so_err(SWAPOBJ_ENOMEM, "namespace: cannot allocate a node for component %u", k);
			goto done;
		}
		made[nmade++] = n;
	}

	for (unsigned k = 1; k < nmade; k++) {
		made[k]->parent = made[k - 1];
		made[k - 1]->children = made[k];
		made[k - 1]->nchildren = 1;
	}
	made[0]->parent = dir;
	avl_insert(&dir->children, made[0]);
	dir->nchildren++;
	made[nmade - 1]->obj = obj;
	made[nmade - 1]->dir = isdir;
	ns->nnodes += nmade;
	ns->nobjects++;
	if (out)
		*out = made[nmade - 1];
	nmade = 0;
done:
	for (unsigned k = 0; k < nmade; k++)
		so_free(SO_MEM_INDEX, made[k]);
	return err;
}

void *ns_replace(struct ns *ns, struct ns_node *n, void *obj, bool dir)
{
	(void)ns;
	assert(n && n->obj && obj && (dir || !n->children));
	void *old = n->obj;
	n->obj = obj;
	n->dir = dir;
	return old;
}

void ns_remove(struct ns *ns, struct ns_node *leaf)
{
	assert(ns && leaf && leaf->obj && (leaf->dir || !leaf->children) && leaf != ns->root);
	leaf->obj = NULL;
	leaf->dir = 0;
	ns->nobjects--;
	/*
	 * Inside a detached subtree the sibling trees may already be unbalanced
	 * by ns_reap (and their roots are held by the caller): leave the empty
	 * node there for ns_reap to free, without a callback. A directory
	 * object's node with children stays as a plain prefix (prune_from keeps
	 * nodes that have children).
	 */
	if (ns_node_dead(leaf))
		return;
	prune_from(ns, leaf);
}

struct ns_node *ns_detach(struct ns *ns, const swapobj_key *key, unsigned ncomp)
{
	if (ncomp == 0)
		return NULL;
	struct ns_node *n = ns_lookup(ns, key, ncomp);
	if (!n)
		return NULL;
	struct ns_node *p = n->parent;
	avl_remove(&p->children, n);
	p->nchildren--;
	n->parent = NULL;
	n->dead = 1;
	prune_from(ns, p);
	return n;
}

/*
 * Tear-down order: at the current prefix d, rotate the smallest child c to
 * the top of d's children tree (so c->left is NULL); if c has children,
 * descend into it, else free it and make c->right the tree. A prefix whose
 * children are all gone is freed and its parent becomes current again; it was
 * the top of its parent's tree with no left link, so the parent's tree
 * becomes its right link. All the state lives in the tree itself, so the
 * next call can start again from the subtree root. Each right rotation at
 * the top shortens the tree's left spine, which is never longer than the
 * original AVL height, so the rotations per freed node are bounded too.
 */
size_t ns_reap(struct ns *ns, struct ns_node **subtree, size_t budget, void (*cb)(void *ctx, void *obj), void *ctx)
{
	size_t freed = 0;
	if (!ns || !subtree || !*subtree)
		return 0;
	struct ns_node *top = *subtree, *d = top;

	while (freed < budget) {
		struct ns_node *c = d->children;
		if (c) {
			while (c->left) {
				struct ns_node *l = c->left;
				c->left = l->right;
				l->right = c;
				c = l;
			}
			d->children = c;
			if (c->children) {
				d = c;
				continue;
			}
			d->children = c->right;
			d->nchildren--;
			node_release(ns, c, cb, ctx);
			freed++;
			continue;
		}
		struct ns_node *p = d == top ? NULL : d->parent;
		if (p) {
			assert(p->children == d && !d->left);
			p->children = d->right;
			p->nchildren--;
		}
		node_release(ns, d, cb, ctx);
		freed++;
		if (!p) {
			*subtree = NULL;
			break;
		}
		d = p;
	}
	return freed;
}

void ns_destroy(struct ns *ns, void (*cb)(void *ctx, void *obj), void *ctx)
{
	if (!ns || !ns->root)
		return;
	struct ns_node *root = ns->root;
	ns_reap(ns, &root, SIZE_MAX, cb, ctx);
	ns->root = NULL;
}

bool ns_node_dead(const struct ns_node *n)
{
	for (; n; n = n->parent)
		if (n->dead)
			return true;
	return false;
}

void ns_key_of(const struct ns_node *n, swapobj_key *out)
{
	const struct ns_node *chain[SWAPOBJ_KEY_MAX_COMPONENTS];
	unsigned depth = 0;

	for (; n && n->name_len; n = n->parent) {
		assert(depth < SWAPOBJ_KEY_MAX_COMPONENTS);
		chain[depth++] = n;
	}
	out->ncomp = depth;
	out->nbytes = 0;
	for (unsigned i = 0; i < depth; i++) {
		const struct ns_node *c = chain[depth - 1 - i];
		out->off[i] = (uint16_t)out->nbytes;
		out->len[i] = c->name_len;
		memcpy(out->buf + out->nbytes, c->name, c->name_len);
		out->nbytes += c->name_len;
	}
}

int ns_next_child(const struct ns_node *dir, bool started, uint64_t after_hash, const uint8_t *after_name,
                  unsigned after_len, struct ns_node **out)
{
	struct ns_node *t = dir ? dir->children : NULL, *best = NULL;

	if (!started) {
		while (t && t->left)
			t = t->left;
		best = t;
	} else {
		while (t) {
			if (node_cmp(after_hash, after_name, after_len, t) < 0) {
				best = t;
				t = t->left;
			} else {
				t = t->right;
			}
		}
	}
	if (!best)
		return 0;
	*out = best;
	return 1;
}

/* ---- invariant check ---------------------------------------------------- */

struct check_state {
	uint64_t nodes, objects;
	int err;
};

static int check_dir(struct check_state *st, const struct ns_node *dir, unsigned depth);

/* Check the sibling tree t (children of dir); returns its height, sets *count. */
static unsigned check_avl(struct check_state *st, const struct ns_node *dir, const struct ns_node *t,
                          const struct ns_node *lo, const struct ns_node *hi, uint64_t *count, unsigned depth)
{
	if (!t || st->err)
		return 0;
	uint64_t nl = 0, nr = 0;
	unsigned hl = check_avl(st, dir, t->left, lo, t, &nl, depth);
	unsigned hr = check_avl(st, dir, t->right, t, hi, &nr, depth);
	*count = nl + nr + 1;
	if (st->err)
		return 0;
	if (t->parent != dir) {
		st->err = so_err(SWAPOBJ_ECORRUPT, "ns_check: node at depth %u has a wrong parent link", depth);
	} else if ((lo && ns_name_cmp(lo->hash, lo->name, lo->name_len, t->hash, t->name, t->name_len) >= 0) ||
	           (hi && ns_name_cmp(t->hash, t->name, t->name_len, hi->hash, hi->name, hi->name_len) >= 0)) {
		st->err = so_err(SWAPOBJ_ECORRUPT, "ns_check: siblings out of order at depth %u", depth);
	} else if (t->height != 1 + SO_MAX(hl, hr) || (hl > hr ? hl - hr : hr - hl) > 1) {
		st->err = so_err(SWAPOBJ_ECORRUPT, "ns_check: AVL height or balance wrong at depth %u", depth);
	} else if (t->hash != ns_hash_name(t->name, t->name_len) || t->name_len == 0 || t->dead) {
		st->err = so_err(SWAPOBJ_ECORRUPT, "ns_check: bad name, hash or dead flag at depth %u", depth);
	} else if (!t->obj && !t->children) {
		st->err = so_err(SWAPOBJ_ECORRUPT, "ns_check: node at depth %u is empty", depth);
	} else if (t->obj && t->children && !t->dir) {
		st->err = so_err(SWAPOBJ_ECORRUPT,
		                 "ns_check: node at depth %u is both a non-directory object and a prefix", depth);
	} else if (t->dir && !t->obj) {
		st->err =
		    so_err(SWAPOBJ_ECORRUPT, "ns_check: node at depth %u is marked dir but holds no object", depth);
	} else {
		check_dir(st, t, depth + 1);
	}
	return t->height;
}

static int check_dir(struct check_state *st, const struct ns_node *dir, unsigned depth)
{
	uint64_t count = 0;
	st->nodes++;
	if (dir->obj)
		st->objects++;
	if (depth > SWAPOBJ_KEY_MAX_COMPONENTS)
		return st->err = so_err(SWAPOBJ_ECORRUPT, "ns_check: tree deeper than %u", SWAPOBJ_KEY_MAX_COMPONENTS);
	check_avl(st, dir, dir->children, NULL, NULL, &count, depth);
	if (!st->err && count != dir->nchildren)
		st->err = so_err(SWAPOBJ_ECORRUPT, "ns_check: nchildren %u but %llu children at depth %u",
		                 dir->nchildren, (unsigned long long)count, depth);
	return st->err;
}

int ns_check(const struct ns *ns)
{
	struct check_state st = {0, 0, 0};
	if (!ns || !ns->root)
		return so_err(SWAPOBJ_ECORRUPT, "ns_check: no root");
	if (ns->root->parent || ns->root->obj || ns->root->name_len || ns->root->dead || ns->root->dir)
		return so_err(SWAPOBJ_ECORRUPT, "ns_check: bad root node");
	if (check_dir(&st, ns->root, 0))
		return st.err;
	if (st.nodes != ns->nnodes || st.objects != ns->nobjects)
		return so_err(SWAPOBJ_ECORRUPT, "ns_check: counters say %llu nodes/%llu objects, tree has %llu/%llu",
		              (unsigned long long)ns->nnodes, (unsigned long long)ns->nobjects,
		              (unsigned long long)st.nodes, (unsigned long long)st.objects);
	return 0;
}
