/*
 * ns.h - the namespace: a tree of binary key components.
 *
 * Every key (swapobj_key: 1..16 components) names a node reached from the
 * root by following its components. A node that holds an object is a leaf
 * ("file"); a node with children is a prefix ("directory"). A node holds an
 * object and has children only if that object is a directory object (the
 * node's `dir` flag, given at insertion): a "file" never has children. The
 * root is the empty prefix and never holds an object.
 *
 * The children of a node are kept in an intrusive AVL tree ordered by
 * (ns_hash_name(component), component bytes, component length). That order
 * does not depend on which other children exist, so a listing cursor is just
 * the (hash, name) of the last entry it returned, and stays meaningful while
 * children come and go.
 *
 * Invalidating a prefix must not cost time in the number of objects under it:
 * ns_detach() cuts the subtree loose in O(log siblings) and ns_reap() frees
 * it later in bounded steps.
 *
 * Locking: none inside. The caller serialises every call on one struct ns
 * (and on any subtree detached from it) with its own lock: readers
 * (ns_lookup, ns_next_child, ns_key_of, ns_node_dead) may share it, every
 * other call needs it exclusively. The test hooks at the end are process-wide
 * and for tests only.
 *
 * Memory: one so_alloc(SO_MEM_INDEX) per node (struct + name bytes).
 */
#ifndef SO_NS_H
#define SO_NS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swapobj.h"

/*
 * One namespace node. 56 bytes before the name: 64 bytes for the 8-byte
 * last component of an anon or shmem key. Fields are readable by callers
 * holding the lock; only ns.c writes them.
 */
struct ns_node {
	struct ns_node *parent;   /* namespace parent; NULL for the root and for a detached subtree's root */
	struct ns_node *left;     /* sibling AVL: smaller children of the same parent */
	struct ns_node *right;    /* sibling AVL: larger children of the same parent */
	struct ns_node *children; /* root of this node's children AVL; NULL if none */
	void *obj;                /* the object (leaf) or NULL (prefix, root) */
	uint64_t hash;            /* ns_hash_name(name, name_len); also the listing cookie */
	uint32_t nchildren;       /* nodes in the children AVL */
	uint8_t name_len;         /* 1..255; 0 only for the root */
	uint8_t height;           /* AVL height of the sibling subtree rooted here (1 = no links) */
	uint8_t dead;             /* set on the root of a detached subtree (see ns_node_dead) */
	uint8_t dir;              /* obj is a directory object: the node may also have children */
	uint8_t name[];           /* the component, binary, not NUL-terminated */
};

struct ns {
	struct ns_node *root; /* the empty prefix; never NULL between ns_init and ns_destroy */
	uint64_t nobjects;    /* objects in the tree, plus those of detached subtrees not yet reaped */
	uint64_t nnodes;      /* nodes (root included), plus those of detached subtrees not yet reaped */
};

/** True if n holds an object. */
static inline bool ns_node_is_object(const struct ns_node *n)
{
	return n->obj != NULL;
}

/** True if n has children (is a non-empty prefix). */
static inline bool ns_node_is_prefix(const struct ns_node *n)
{
	return n->children != NULL;
}

/** True if n holds a directory object. */
static inline bool ns_node_is_dir(const struct ns_node *n)
{
	return n->obj != NULL && n->dir;
}

/** True if keys may lie under n: it has no object or a directory object. */
static inline bool ns_node_takes_children(const struct ns_node *n)
{
	return n->obj == NULL || n->dir;
}

/**
 * Initialise an empty namespace (allocates the root).
 * Errors: SWAPOBJ_ENOMEM (ns is then left with root NULL), SWAPOBJ_EINVAL (ns NULL).
 */
int ns_init(struct ns *ns);

/**
 * Free every node reachable from the root, calling cb(ctx, obj) (cb may be
 * NULL) for each object first; the node is still allocated during the call,
 * and must not be touched through the ns API from inside it. Subtrees
 * detached with ns_detach() and not yet fully reaped are not reachable: reap
 * them (before or after) with ns_reap(). ns->root is NULL afterwards; calling
 * again is a no-op.
 */
void ns_destroy(struct ns *ns, void (*cb)(void *ctx, void *obj), void *ctx);

/**
 * The node named by the first ncomp components of key (ncomp 0 = the root),
 * or NULL if it does not exist, ncomp > key->ncomp or the components used are
 * malformed. The node may be a leaf or a prefix. The pointer stays valid
 * until the node is freed by ns_remove, ns_reap (after ns_detach of an
 * ancestor) or ns_destroy; an insertion or removal elsewhere does not move it.
 */
struct ns_node *ns_lookup(const struct ns *ns, const swapobj_key *key, unsigned ncomp);

/**
 * Insert obj (non-NULL) at key (all its components), creating the prefix
 * nodes on the way as needed. *out (out may be NULL) is set to the new leaf,
 * valid as for ns_lookup. Same as ns_insert_obj(ns, key, obj, false, out).
 * Errors (nothing is changed on any error):
 *  SWAPOBJ_EINVAL   key has 0 components or is malformed (component of length
 *                   0, component outside key->nbytes, more than 16
 *                   components or 1024 bytes), obj or ns NULL;
 *  SWAPOBJ_EEXIST   the key already names an object;
 *  SWAPOBJ_ENOTDIR  a proper prefix of the key names a non-directory object;
 *  SWAPOBJ_EISDIR   the key names a prefix of other keys;
 *  SWAPOBJ_ENOMEM   allocation failed (or a prefix has 2^32-1 children).
 * A message is set with so_err() on every error.
 */
int ns_insert(struct ns *ns, const swapobj_key *key, void *obj, struct ns_node **out);

/**
 * ns_insert, with dir telling whether obj is a directory object. A
 * directory object may also be inserted at a key that is already a prefix
 * of other keys: it is attached to that node (no EISDIR).
 */
int ns_insert_obj(struct ns *ns, const swapobj_key *key, void *obj, bool dir, struct ns_node **out);

/**
 * Put obj (non-NULL; a directory object if dir) in place of the object held
 * by n, and return the object it held. n must hold an object, and if it has
 * children obj must be a directory object. Allocates nothing, cannot fail;
 * ns->nobjects does not change.
 */
void *ns_replace(struct ns *ns, struct ns_node *n, void *obj, bool dir);

/**
 * Remove the object from its leaf (the object itself stays the caller's).
 * A live leaf without children is unlinked and freed, then every ancestor
 * left without children, up to but never including the root; the pointers
 * to those nodes are invalid afterwards. A directory object's node that has
 * children stays, as a plain prefix. A leaf inside a detached subtree (not
 * yet reaped) is only emptied: it stays allocated until ns_reap frees it,
 * which then makes no callback for it. Either way ns->nobjects drops by one
 * at once and the caller must not use the leaf pointer again.
 * O(log siblings * depth).
 */
void ns_remove(struct ns *ns, struct ns_node *leaf);

/**
 * Detach the subtree named by the first ncomp (1..key->ncomp) components of
 * key, without visiting it: unlink its root from its parent (O(log siblings)),
 * mark the root dead, prune ancestors left empty (never the root).
 * ns->nobjects and ns->nnodes still count the subtree: ns_reap subtracts
 * what it frees. Returns the detached root, which the caller then owns and
 * must pass to ns_reap until it reports everything freed; NULL if no such
 * node (or ncomp out of range, key malformed). The subtree may be a single
 * leaf. Every node in it stays allocated until ns_reap frees it, so pointers
 * held to them remain valid until then (ns_node_dead tells they are gone
 * from the namespace).
 */
struct ns_node *ns_detach(struct ns *ns, const swapobj_key *key, unsigned ncomp);

/**
 * Free up to budget nodes of the detached subtree *subtree, children before
 * parents, calling cb(ctx, obj) (cb may be NULL) for each object just before
 * its node is freed. Sets *subtree to NULL once the subtree root itself is
 * freed. Returns the number of nodes freed (0 if *subtree is NULL or budget
 * is 0). The work per call is O(budget * (key depth + AVL height)) and uses
 * no recursion; the remaining subtree is left in a consistent state between
 * calls (its sibling trees are no longer balanced, which no longer matters),
 * so the caller may drop its lock between calls. Decrements ns->nobjects and
 * ns->nnodes for what it frees; ns must be the namespace the subtree was
 * detached from.
 */
size_t ns_reap(struct ns *ns, struct ns_node **subtree, size_t budget, void (*cb)(void *ctx, void *obj), void *ctx);

/**
 * True if n or an ancestor is the root of a detached subtree, i.e. n is no
 * longer in the namespace (but not yet freed). O(depth).
 */
bool ns_node_dead(const struct ns_node *n);

/**
 * Rebuild n's key into out by walking up to the root (the root gives a key
 * of 0 components). For a node inside a detached subtree the key starts at
 * the detached root's component: the components above it are gone. Only the
 * used parts of out (ncomp, nbytes, off, len and the first nbytes of buf)
 * are written.
 */
void ns_key_of(const struct ns_node *n, swapobj_key *out);

/**
 * The smallest child of dir strictly after the position (after_hash,
 * after_name, after_len) in (hash, name, length) order, or dir's first child
 * if !started (the position is then ignored; after_name may be NULL).
 * Returns 1 and sets *out (valid as for ns_lookup), or 0 when there is none.
 * The position need not name an existing child, so a cursor keeps working
 * across insertions and removals: every child present from one call to the
 * next is returned exactly once over a listing, in increasing order.
 * O(log nchildren).
 */
int ns_next_child(const struct ns_node *dir, bool started, uint64_t after_hash, const uint8_t *after_name,
                  unsigned after_len, struct ns_node **out);

/** The hash that orders siblings: XXH3-64 of the component with a fixed seed (stable across versions). */
uint64_t ns_hash_name(const uint8_t *name, unsigned len);

/**
 * The sibling order: negative, 0 or positive as (ha, a, alen) sorts before,
 * equal to or after (hb, b, blen). Hash first, then bytes (memcmp), then the
 * shorter name first.
 */
int ns_name_cmp(uint64_t ha, const uint8_t *a, unsigned alen, uint64_t hb, const uint8_t *b, unsigned blen);

/**
 * Check every invariant of the live tree (O(nodes)): sibling order and AVL
 * balance and heights, child counts, parent links, no empty non-root node,
 * no node both a non-directory object and a prefix, the dir flag only on
 * nodes holding an object, nobjects/nnodes (which must not include
 * unreaped detached subtrees for this check to pass). Returns 0, or
 * SWAPOBJ_ECORRUPT with a message naming the first violation. For tests and
 * debug builds.
 */
int ns_check(const struct ns *ns);

/*
 * Test hooks: process-wide, not thread-safe, for unit tests only.
 * ns_test_hash_mask: ns_hash_name() returns the hash ANDed with mask
 * (UINT64_MAX = normal; 0 makes every name collide). Change it only while no
 * struct ns holds nodes other than its root.
 * ns_test_fail_alloc: the next `after` node allocations succeed and later
 * ones fail, until called with -1.
 */
void ns_test_hash_mask(uint64_t mask);
void ns_test_fail_alloc(long after);

#endif
