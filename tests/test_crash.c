/*
 * test_crash.c - simulated power cuts.
 *
 * The power-cut backend (io_fault.h) is interposed under the store. At the
 * N-th write, discard or sync it "cuts the power": that and every later I/O
 * fail, and the image is rebuilt as: the durable image, plus each write or
 * discard since the last sync either dropped, applied whole, or torn (a
 * random subset of its 512-byte sectors), in issue order. The log's
 * write-out is a batch of writes in flight together, which the backend
 * issues in a random order: a cut inside one leaves a random subset of it. Every other cut
 * point runs the store with SWAPOBJ_OPEN_DISCARD, so that freed segments are
 * discarded, and a discard the cut left pending may or may not have
 * happened. The store is then reopened from that image and checked:
 *   - open succeeds;
 *   - every page holds its content as of the last acknowledged sync, or a
 *     version written (or a punch issued) after it: never anything else;
 *   - pages with no write since the last sync are exactly as synced.
 * The workload overwrites a small store many times, so the cleaner relocates
 * data while the power is cut.
 *
 * Alongside, a small file-system-like namespace under "fs" (files, directory
 * objects, renames with and without a replaced target, deletes, aux data) is
 * checked against a model of names: after the cut every name holds the
 * object it held at the last acknowledged sync or one it held since (so a
 * rename target is never empty when its old and new states both had an
 * object), each object's aux and page are as synced or a later version, and
 * no object alive at the sync is lost unless it was deleted or replaced
 * since.
 *
 * SWAPOBJ_SEED moves the seeds; SWAPOBJ_LONG=1 multiplies the cut points by
 * 100 (CI runs 1,000; SWAPOBJ_CRASH_POINTS=N runs N). A failure prints the
 * seed, the cut point and whether discard was on.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io_fault.h"
#include "log.h"
#include "swapobj.h"
#include "testutil.h"
#include "util.h"

#define PG 4096u
#define NOBJ 4
#define NPAGES 96

/* ------------------------------------------------------------------ */
/* Workload with a model of what may survive                           */
/* ------------------------------------------------------------------ */

static struct tu_pstate pages[NOBJ][NPAGES];

static void ns_ack_sync(void);
static void ack_sync(void)
{
	for (int o = 0; o < NOBJ; o++)
		tu_pstate_ack(pages[o], NPAGES);
	ns_ack_sync();
}
static uint32_t next_ver = 1;
static int objs_synced; /* the objects' creation was acknowledged by a sync */

/* ---- the "fs" namespace model ---- */

/* Name slots: 0-2 and 5-7 hold files, 3 and 4 directory objects; 5, 6 lie under 3 and 7 under 4. */
#define NSLOTS 8
#define MAXIDENT 512
#define MAXHIST 64
static const char *const slot_path[NSLOTS] = {"a", "b", "c", "D", "E", "D/x", "D/y", "E/x"};
static const int slot_dir[NSLOTS] = {0, 0, 0, 1, 1, 0, 0, 0};

struct nslot {
	uint32_t cur, synced;   /* object ident at the name now / at the last acknowledged sync (0: none) */
	uint32_t hist[MAXHIST]; /* idents the name held since that sync (0: none) */
	unsigned nhist;
};

struct ident {
	uint8_t isdir, alive, synced_alive, removed; /* removed: deleted or replaced since the sync */
	struct tu_pstate aux, page;                  /* aux version and page 0 version, as for pages */
	swapobj_obj *h;
};

static struct nslot slots[NSLOTS];
static struct ident idents[MAXIDENT];
static uint32_t next_ident;
static uint64_t ns_done[6]; /* completed namespace operations by kind, over the whole sweep */

static void ns_hist(int s, uint32_t id)
{
	ck_assert_uint_lt(slots[s].nhist, MAXHIST);
	slots[s].hist[slots[s].nhist++] = id;
}

static void ns_ack_sync(void)
{
	for (int s = 0; s < NSLOTS; s++) {
		slots[s].synced = slots[s].cur;
		slots[s].nhist = 0;
	}
	for (uint32_t i = 1; i < next_ident; i++) {
		struct ident *d = &idents[i];
		d->synced_alive = d->alive;
		d->removed = 0;
		tu_pstate_ack(&d->aux, 1);
		tu_pstate_ack(&d->page, 1);
	}
}

static swapobj_key fs_key(int s)
{
	swapobj_key k;
	char buf[8];
	swapobj_key_init(&k);
	swapobj_key_push(&k, "fs", 2);
	snprintf(buf, sizeof(buf), "%s", slot_path[s]);
	for (char *c = strtok(buf, "/"); c; c = strtok(NULL, "/"))
		swapobj_key_push(&k, c, strlen(c));
	return k;
}

static int aux_of(char *buf, uint32_t id, uint32_t ver)
{
	return snprintf(buf, 32, "u=%u v=%u", id, ver);
}

static int slot_has_children(int s)
{
	for (int c = 5; c < NSLOTS; c++)
		if (slots[c].cur && ((s == 3 && c < 7) || (s == 4 && c == 7)))
			return 1;
	return 0;
}

/* A random slot of the kind wanted whose cur satisfies want_full (1: has an object, 0: empty). */
static int pick_slot(struct tu_rng *r, int dir, int want_full)
{
	int c[NSLOTS], n = 0;
	for (int s = 0; s < NSLOTS; s++)
		if (slot_dir[s] == dir && (slots[s].cur != 0) == want_full)
			c[n++] = s;
	return n ? c[tu_rng_below(r, (uint64_t)n)] : -1;
}

static void ns_close_all(void)
{
	for (uint32_t i = 1; i < next_ident; i++)
		if (idents[i].h) {
			swapobj_obj_close(idents[i].h);
			idents[i].h = NULL;
		}
}

/*
 * One namespace operation. The model records each state the operation may
 * leave behind before issuing it (it may land even if the call fails at the
 * cut). Returns 0, or -1 if the call failed: the power is out.
 */
static int ns_op(swapobj_store *st, struct tu_rng *r)
{
	uint64_t kind = tu_rng_below(r, 100);
	char aux[32];
	int err = 0;
	if (kind < 25) { /* create a file, or a directory object */
		int dir = tu_rng_below(r, 4) == 0, s = pick_slot(r, dir, 0);
		if (s < 0 || next_ident == MAXIDENT)
			return 0;
		uint32_t id = next_ident++;
		struct ident *d = &idents[id];
		struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
		swapobj_key k = fs_key(s);
		memset(d, 0, sizeof(*d));
		d->isdir = (uint8_t)dir;
		tu_pstate_write(&d->aux, 1, 1); /* the create writes aux version 1 */
		ns_hist(s, id);
		oo.flags = SWAPOBJ_O_CREATE | SWAPOBJ_O_EXCL | (dir ? SWAPOBJ_O_DIR : 0);
		oo.aux = aux;
		oo.aux_len = (size_t)aux_of(aux, id, 1);
		if ((err = swapobj_obj_open(&d->h, st, &k, &oo)) == 0) {
			d->alive = 1;
			slots[s].cur = id;
		}
	} else if (kind < 40) { /* write page 0 of a file */
		int s = pick_slot(r, 0, 1);
		uint8_t buf[PG];
		if (s < 0)
			return 0;
		struct ident *d = &idents[slots[s].cur];
		uint32_t v = next_ver++;
		tu_vpage_fill(buf, 1000 + slots[s].cur, 0, v);
		err = (int)swapobj_obj_write(d->h, buf, PG, 0);
		tu_pstate_write(&d->page, v, err == PG);
		if (err == PG)
			err = 0;
	} else if (kind < 55) { /* set aux */
		int s = (int)tu_rng_below(r, NSLOTS);
		if (!slots[s].cur)
			return 0;
		uint32_t id = slots[s].cur;
		struct ident *d = &idents[id];
		uint32_t v = d->aux.maxver > d->aux.cur ? d->aux.maxver + 1 : d->aux.cur + 1;
		err = swapobj_obj_set_aux(d->h, aux, (size_t)aux_of(aux, id, v));
		tu_pstate_write(&d->aux, v, err == 0);
	} else if (kind < 70) { /* rename a file to another file name, replacing what is there */
		int from = pick_slot(r, 0, 1), to = (int)tu_rng_below(r, NSLOTS);
		if (from < 0 || slot_dir[to] || to == from)
			return 0;
		uint32_t id = slots[from].cur, victim = slots[to].cur;
		swapobj_key kf = fs_key(from), kt = fs_key(to);
		ns_hist(from, 0);
		ns_hist(to, id);
		if (victim)
			idents[victim].removed = 1;
		if ((err = swapobj_rename(st, &kf, &kt, 0)) == 0) {
			slots[from].cur = 0;
			slots[to].cur = id;
			if (victim)
				idents[victim].alive = 0;
		}
	} else if (kind < 82) { /* delete a file, or an empty directory object */
		int s = (int)tu_rng_below(r, NSLOTS);
		if (!slots[s].cur || (slot_dir[s] && slot_has_children(s)))
			return 0;
		struct ident *d = &idents[slots[s].cur];
		ns_hist(s, 0);
		d->removed = 1;
		if ((err = swapobj_obj_delete(d->h)) == 0) {
			d->alive = 0;
			slots[s].cur = 0;
		}
	} else { /* rename a directory object without children to the other directory name */
		int from = tu_rng_below(r, 2) ? 3 : 4, to = 7 - from;
		uint32_t id = slots[from].cur, victim = slots[to].cur;
		if (!id || slot_has_children(from) || slot_has_children(to))
			return 0; /* would be refused: ENOTSUP, or EISDIR / ENOTEMPTY at the target */
		swapobj_key kf = fs_key(from), kt = fs_key(to);
		ns_hist(from, 0);
		ns_hist(to, id);
		if (victim)
			idents[victim].removed = 1;
		if ((err = swapobj_rename(st, &kf, &kt, 0)) == 0) {
			slots[from].cur = 0;
			slots[to].cur = id;
			if (victim)
				idents[victim].alive = 0;
		}
	}
	if (err < 0 && !iofault_power_is_cut())
		ck_abort_msg("namespace operation %llu failed without a power cut: %s", (unsigned long long)kind,
		             swapobj_errmsg());
	if (err == 0)
		ns_done[kind < 25 ? 0 : kind < 40 ? 1 : kind < 55 ? 2 : kind < 70 ? 3 : kind < 82 ? 4 : 5]++;
	return err < 0 ? -1 : 0;
}

static void ns_verify(swapobj_store *st, const char *ctx)
{
	uint8_t found[MAXIDENT] = {0};
	for (int s = 0; s < NSLOTS; s++) {
		swapobj_key k = fs_key(s);
		struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
		swapobj_obj *h;
		uint32_t id = 0, v = 0;
		char aux[64] = {0};
		oo.data_version = SWAPOBJ_VERSION_ANY;
		int err = swapobj_obj_open(&h, st, &k, &oo);
		ck_assert_msg(err == 0 || err == SWAPOBJ_ENOENT || err == SWAPOBJ_EISDIR, "%s: open fs/%s: %s", ctx,
		              slot_path[s], swapobj_errmsg());
		if (err == 0) {
			struct swapobj_obj_stat os;
			int n = swapobj_obj_get_aux(h, aux, sizeof(aux) - 1);
			ck_assert_msg(n > 0 && sscanf(aux, "u=%u v=%u", &id, &v) == 2 && id > 0 && id < next_ident,
			              "%s: fs/%s has aux '%s'", ctx, slot_path[s], aux);
			ck_assert_int_eq(swapobj_obj_stat(&os, sizeof(os), h), 0);
			struct ident *d = &idents[id];
			ck_assert_msg(!found[id], "%s: object %u found twice", ctx, id);
			found[id] = 1;
			ck_assert_msg(!!(os.flags & SWAPOBJ_O_DIR) == d->isdir, "%s: fs/%s type", ctx, slot_path[s]);
			ck_assert_msg(tu_pstate_allows(&d->aux, v),
			              "%s: object %u has aux version %u; synced %u, since up to %u", ctx, id, v,
			              d->aux.synced, d->aux.maxver);
			if (!d->isdir) {
				uint8_t got[PG];
				int64_t pv = 0; /* a short read: the page was never written */
				int64_t rn = swapobj_obj_read(h, got, PG, 0, 0);
				ck_assert_msg(rn >= 0, "%s: read fs/%s: %s", ctx, slot_path[s], swapobj_errmsg());
				if (rn == PG) {
					pv = tu_vpage_version(got, 1000 + id, 0);
					ck_assert_msg(pv > 0, "%s: fs/%s page holds garbage", ctx, slot_path[s]);
				}
				ck_assert_msg(tu_pstate_allows(&d->page, (uint32_t)pv),
				              "%s: object %u page version %u; synced %u, since up to %u", ctx, id,
				              (uint32_t)pv, d->page.synced, d->page.maxver);
			}
			swapobj_obj_close(h);
		}
		int ok = id == slots[s].synced;
		for (unsigned i = 0; i < slots[s].nhist && !ok; i++)
			ok = slots[s].hist[i] == id;
		ck_assert_msg(ok, "%s: fs/%s holds object %u; it held %u at the sync, and %u states since", ctx,
		              slot_path[s], id, slots[s].synced, slots[s].nhist);
	}
	for (uint32_t i = 1; i < next_ident; i++)
		ck_assert_msg(found[i] || !idents[i].synced_alive || idents[i].removed,
		              "%s: object %u, alive at the sync and not removed since, is lost", ctx, i);
}

/* Modifying device calls (writes, discards, syncs) of the run so far. */
static uint64_t dev_ops(void)
{
	struct iofault_counts c;
	iofault_get_counts(&c);
	return c.ops;
}

/* Run the workload until the power is cut (or nops done). Returns ops issued to the device. */
static uint64_t workload(uint64_t seed, uint64_t nops, unsigned flags)
{
	struct tu_rng r;
	swapobj_store *st;
	swapobj_obj *h[NOBJ];
	struct swapobj_obj_opts oo = SWAPOBJ_OBJ_OPTS_INIT;
	uint8_t buf[4 * PG];
	struct swapobj_open_opts op = SWAPOBJ_OPEN_OPTS_INIT;
	op.checkpoint_bytes = UINT64_MAX; /* checkpoints only where the workload asks: deterministic I/O */
	op.flags = flags;
	tu_rng_init(&r, seed);
	memset(pages, 0, sizeof(pages));
	memset(slots, 0, sizeof(slots));
	memset(idents, 0, sizeof(idents));
	next_ident = 1;
	objs_synced = 0;
	if (swapobj_store_open(&st, tu_paths, 1, &op) != 0)
		return dev_ops();
	oo.flags = SWAPOBJ_O_CREATE;
	for (int o = 0; o < NOBJ; o++) {
		swapobj_key k;
		swapobj_key_anon(&k, 1, (uint64_t)o);
		if (swapobj_obj_open(&h[o], st, &k, &oo) != 0) {
			for (int j = 0; j < o; j++)
				swapobj_obj_close(h[j]);
			swapobj_store_close(st);
			return dev_ops();
		}
	}
	if (swapobj_store_sync(st) == 0) {
		ack_sync(); /* the objects exist durably from here on */
		objs_synced = 1;
	}
	for (uint64_t i = 0; i < nops && !iofault_power_is_cut(); i++) {
		int o = (int)tu_rng_below(&r, NOBJ);
		uint64_t kind = tu_rng_below(&r, 100);
		if (kind < 62) {
			uint64_t pg = tu_rng_below(&r, NPAGES - 4), n = 1 + tu_rng_below(&r, 4);
			uint32_t v0 = next_ver;
			for (uint64_t j = 0; j < n; j++)
				tu_vpage_fill(buf + j * PG, (uint64_t)o, pg + j, next_ver++);
			int64_t w = swapobj_obj_write(h[o], buf, n * PG, pg * PG);
			/* Issued pages may land even if the call failed at the cut. */
			for (uint64_t j = 0; j < n; j++)
				tu_pstate_write(&pages[o][pg + j], v0 + (uint32_t)j, w == (int64_t)(n * PG));
			if (w != (int64_t)(n * PG))
				break;
		} else if (kind < 70) {
			uint64_t pg = tu_rng_below(&r, NPAGES - 8), n = 1 + tu_rng_below(&r, 8);
			int err = swapobj_obj_punch(h[o], pg * PG, n * PG);
			for (uint64_t j = 0; j < n; j++)
				tu_pstate_punch(&pages[o][pg + j], err == 0);
			if (err != 0)
				break;
		} else if (kind < 82) {
			if (swapobj_store_sync(st) != 0)
				break;
			ack_sync();
		} else if (kind < 86) {
			/* A checkpoint syncs the log first: what it covers is acknowledged. */
			int err = swapobj_store_checkpoint(st);
			if (err == 0)
				ack_sync();
			else if (err != SWAPOBJ_ENOSPC)
				break;
		} else if (kind < 89) {
			if (swapobj_store_clean(st, 1) < 0)
				break;
		} else {
			if (ns_op(st, &r) < 0)
				break;
		}
	}
	ns_close_all();
	for (int o = 0; o < NOBJ; o++)
		swapobj_obj_close(h[o]);
	if (swapobj_store_close(st) == 0 && !iofault_power_is_cut())
		ack_sync();
	return dev_ops();
}

static uint64_t from_ckpt; /* reopens that started from a checkpoint */

static void verify(const char *ctx)
{
	swapobj_store *st;
	uint8_t got[PG];
	int err = swapobj_store_open(&st, tu_paths, 1, NULL);
	ck_assert_msg(err == 0, "%s: reopen failed: %s", ctx, swapobj_errmsg());
	struct swapobj_store_stat ss;
	swapobj_store_stat(&ss, sizeof(ss), st);
	from_ckpt += ss.from_checkpoint;
	for (int o = 0; o < NOBJ; o++) {
		swapobj_key k;
		swapobj_obj *h;
		swapobj_key_anon(&k, 1, (uint64_t)o);
		err = swapobj_obj_open(&h, st, &k, NULL);
		if (err == SWAPOBJ_ENOENT && !objs_synced)
			continue; /* created but never synced: may be gone */
		ck_assert_msg(err == 0, "%s: object %d lost: %s", ctx, o, swapobj_errmsg());
		for (int p = 0; p < NPAGES; p++) {
			struct tu_pstate *ps = &pages[o][p];
			int64_t n = swapobj_obj_read(h, got, PG, (uint64_t)p * PG, 0);
			ck_assert_msg(n >= 0, "%s: object %d page %d: read error %s", ctx, o, p, swapobj_errmsg());
			if (n < (int64_t)PG)
				memset(got + n, 0, PG - (size_t)n);
			int64_t vv = tu_vpage_version(got, (uint64_t)o, (uint64_t)p);
			ck_assert_msg(vv >= 0, "%s: object %d page %d holds garbage", ctx, o, p);
			uint32_t v = (uint32_t)vv;
			ck_assert_msg(tu_pstate_allows(ps, v),
			              "%s: object %d page %d is version %u; synced %u, written since "
			              "up to %u, dirty %d, punched %d (reopened from %s, %llu log bytes replayed)",
			              ctx, o, p, v, ps->synced, ps->maxver, ps->dirty, ps->zeroed,
			              ss.from_checkpoint ? "a checkpoint" : "the log",
			              (unsigned long long)ss.replay_bytes);
		}
		swapobj_obj_close(h);
	}
	ns_verify(st, ctx);
	ck_assert_int_eq(swapobj_store_close(st), 0);
}

/*
 * The sweep on a store of store_mib 1 MiB segments (less one for the
 * superblocks): lanes says how many HOT lanes such a store has (checked),
 * div divides the number of cut points.
 */
static void sweep(uint64_t store_mib, uint32_t lanes, uint64_t div, uint64_t nops)
{
	tu_format(store_mib << 20, 1 << 20);
	size_t len;
	uint8_t *base = tu_read_file(tu_img, &len);
	iofault_install();

	/* SWAPOBJ_CRASH_POINTS overrides the count (the CI's release stage runs fewer; ASan runs all). */
	const char *cp = getenv("SWAPOBJ_CRASH_POINTS");
	uint64_t seed0 = tu_seed(1234), npoints = cp && atoll(cp) > 0 ? (uint64_t)atoll(cp) : tu_scale(1000, 100);
	npoints = (npoints + div - 1) / div;
	ck_assert_uint_eq(log_hot_lanes(store_mib - 1), lanes);
	/* Runs without discard, and with: freed segments are discarded, and a cut may catch a discard. */
	static const unsigned run_flags[2] = {0, SWAPOBJ_OPEN_DISCARD};
	uint64_t total[2], discards[2] = {0, 0};
	/* Calibrate: how many device operations does an uncut run issue? */
	for (int f = 0; f < 2; f++) {
		struct iofault_counts c;
		iofault_power_start(tu_img, base, len, 0);
		total[f] = workload(seed0, nops, run_flags[f]);
		ck_assert_uint_gt(total[f], 50);
		iofault_get_counts(&c);
		discards[f] = c.discards;
	}
	ck_assert_msg(discards[0] == 0 && discards[1] > 0,
	              "the uncut runs made %llu discards without SWAPOBJ_OPEN_DISCARD and %llu with it",
	              (unsigned long long)discards[0], (unsigned long long)discards[1]);
	uint64_t discard_runs = 0, discarded_before_cut = 0, batch_cuts = 0;
	struct tu_rng r;
	tu_rng_init(&r, seed0 ^ 0xc0ffee);
	for (uint64_t i = 0; i < npoints; i++) {
		uint64_t seed = seed0 + i % 7; /* a few workloads, many cut points each */
		int f = (int)(i / 4 % 2);      /* blocks of four: each flag gets the double verify below */
		uint64_t cut = 1 + tu_rng_below(&r, total[f] + total[f] / 4);
		struct iofault_counts c;
		char ctx[96];
		snprintf(ctx, sizeof(ctx), "seed %llu cut %llu%s", (unsigned long long)seed, (unsigned long long)cut,
		         f ? " with discard" : "");
		iofault_order_seed(seed * 0x9e3779b97f4a7c15ull ^ cut); /* the order of each batch's writes */
		iofault_power_start(tu_img, base, len, cut);
		workload(seed, nops, run_flags[f]);
		iofault_get_counts(&c);
		discard_runs += f;
		discarded_before_cut += c.discards;
		batch_cuts += c.batch_cuts;
		iofault_power_restore(tu_img, IOFAULT_CUT_TORN, tu_rng_draw, &r);
		iofault_uninstall();
		verify(ctx);
		/*
		 * Every 4th cut: verify again after a second reopen. The first
		 * reopen's syncs must not turn a torn write into "durable damage".
		 */
		if (i % 4 == 0)
			verify(ctx);
		iofault_install();
	}
	iofault_uninstall();
	iofault_free();
	fprintf(stderr,
	        "crash sweep: %llu cut points over %llu device operations per run (%llu with discard); %llu of "
	        "them with discard, which made %llu discards before their cuts; %llu cuts inside a batch of writes "
	        "(a random subset of it issued); %llu reopens from a checkpoint; "
	        "namespace operations done: %llu creates, %llu writes, %llu aux updates, %llu file renames, %llu "
	        "deletes, %llu directory renames\n",
	        (unsigned long long)npoints, (unsigned long long)total[0], (unsigned long long)total[1],
	        (unsigned long long)discard_runs, (unsigned long long)discarded_before_cut,
	        (unsigned long long)batch_cuts, (unsigned long long)from_ckpt, (unsigned long long)ns_done[0],
	        (unsigned long long)ns_done[1], (unsigned long long)ns_done[2], (unsigned long long)ns_done[3],
	        (unsigned long long)ns_done[4], (unsigned long long)ns_done[5]);
	ck_assert_uint_gt(from_ckpt, npoints / 4); /* the sweep must exercise checkpoint recovery */
	if (discard_runs >= 4)
		ck_assert_uint_gt(discarded_before_cut, 0); /* and cuts after discards */
	if (npoints >= 100)
		ck_assert_uint_gt(batch_cuts, 0); /* and cuts in the middle of a write-out batch */
	free(base);
}

START_TEST(test_crash__power_cut_sweep_keeps_synced_data_and_no_garbage)
{
	sweep(12, 1, 1, 400); /* 11 segments of 1 MiB: the workload fills it and the cleaner runs */
}
END_TEST

/* A store large enough for two HOT lanes: records of different objects go to two open segments. */
START_TEST(test_crash__power_cut_sweep_with_two_hot_lanes)
{
	sweep(LOG_LANES_MIN_SEGS + 1, 2, 4, 700);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("crash");
	const struct tu_case_opts opts_crash = {
	    .setup = tu_store_setup, .teardown = tu_store_teardown, .tags = "long", .timeout = 1800};
	tu_add(s, test_crash__power_cut_sweep_keeps_synced_data_and_no_garbage, &opts_crash);
	tu_add(s, test_crash__power_cut_sweep_with_two_hot_lanes, &opts_crash);
	return tu_run(s, argc, argv);
}
