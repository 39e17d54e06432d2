/*
 * fslookup.h - from names to nodes (fslookup.c), for the handlers.
 * Functions return 0 (or what is said) or a negative errno value.
 */
#ifndef SWAPOBJFS_FSLOOKUP_H
#define SWAPOBJFS_FSLOOKUP_H

#include "fsnode.h"

enum fs_probe_kind { FS_PROBE_NONE, FS_PROBE_FILE, FS_PROBE_DIROBJ, FS_PROBE_IMPLICIT };

/* What key names in the store (enum fs_probe_kind, or -errno); *obj is the object opened, if it is one. */
int fs_probe(struct fs *fs, const swapobj_key *key, swapobj_obj **obj);
/* Does prefix key have any child? 1, 0, or -errno. */
int fs_has_children(struct fs *fs, const swapobj_key *key);
/*
 * The component a file name under p stands for, into comp (FSNAME_MAX
 * bytes). *cookie is the listing cookie for a digest name, else 0.
 * for_create: a name that is not any component's canonical name is EINVAL
 * (it would alias another key), and so is a digest name that names
 * nothing; for a lookup both are ENOENT. -ENAMETOOLONG for a name of more
 * than FSNAME_MAX bytes.
 */
int fs_name_to_comp(struct fs *fs, struct fs_node *p, const char *name, bool for_create, uint8_t *comp, size_t *len,
                    uint64_t *cookie);
/* The node of child comp of p, made from the store if the table has none; with a ref. */
int fs_child_get(struct fs *fs, struct fs_node *p, const uint8_t *comp, size_t len, uint64_t cookie,
                 struct fs_node **out);
/*
 * After p lost an entry: if p is an implicit directory that is now empty,
 * make it a directory object so that it does not vanish under the shell
 * that just emptied it.
 */
void fs_keep_parent(struct fs *fs, struct fs_node *p);

/*
 * st_nlink of directory n: 2 + its subdirectories. Counted by listing the
 * first time, then kept up to date by the handlers (fs_node_subdirs_add).
 */
uint32_t fs_dir_nlink(struct fs *fs, struct fs_node *n);

#endif
