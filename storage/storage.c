/* EBS volumes and snapshots on qcow2 backing chains: the journal, the
 * file operations and the garbage collector (see storage.h). */
#include "storage/storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hostd/config.h"
#include "hostd/hostd.h"
#include "hostd/store.h"
#include "lib/buf.h"
#include "lib/cmd.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/util.h"
#include "images/qimg.h"
#include "storage/voltype.h"
#include "vmm/vmm.h"

#define PATHLEN 4200
#define GC_PERIOD_MS 5000

struct storage {
	pthread_mutex_t mu;        /* serialises ops and collection */
	pthread_mutex_t kmu;
	pthread_cond_t kcv;
	pthread_t thread;
	bool thread_started, kicked, quit;
	char held[ID_MAX];         /* instance paused by storage_run_group (kmu) */
	/* Test hook: HOSTD_CRASH_AT=<point> makes hostd SIGKILL itself there. */
	char crash_at[64];
};

struct op {
	int64_t id;
	char kind[16];
	char vol[ID_MAX], snap[ID_MAX];
	char file[PATHLEN], backing[PATHLEN], drop[PATHLEN];
	bool has_backing, has_drop;
	int64_t size;
};

static void crash_point(struct hostd *h, const char *name)
{
	if (h->storage && h->storage->crash_at[0] && !strcmp(h->storage->crash_at, name)) {
		log_warn("storage", "crash point %s: SIGKILL", name);
		raise(SIGKILL);
	}
}

void storage_crash_point(struct hostd *h, const char *name) { crash_point(h, name); }

static int abs_path(const struct hostd *h, const char *rel, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%s", h->state_dir, rel);

	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int fsync_parent(const char *path)
{
	char dir[PATHLEN];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	return fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

static void unlink_quiet(const char *path)
{
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("storage", "unlink %s: %s", path, strerror(errno));
}

const char *storage_disk_target(const char *dev)
{
	static const char names[26][4] = { "vda", "vdb", "vdc", "vdd", "vde", "vdf", "vdg", "vdh", "vdi",
					   "vdj", "vdk", "vdl", "vdm", "vdn", "vdo", "vdp", "vdq", "vdr",
					   "vds", "vdt", "vdu", "vdv", "vdw", "vdx", "vdy", "vdz" };
	const char *l;

	if (!strncmp(dev, "/dev/sd", 7))
		l = dev + 7;
	else if (!strncmp(dev, "/dev/xvd", 8))
		l = dev + 8;
	else
		return "";
	if (l[0] < 'b' || l[0] > 'z' || l[1])
		return "";
	return names[l[0] - 'a'];
}

int storage_new_layer(const char *prefix, char *rel, size_t len)
{
	char id[ID_MAX];
	int r = id_new(prefix, id);

	if (r < 0)
		return r;
	return snprintf(rel, len, STORAGE_LAYER_DIR "/%s.qcow2", id) >= (int)len ? -ENAMETOOLONG : 0;
}

int qcow2_backing(const char *path, char *out, size_t len)
{
	unsigned char hdr[20];
	uint64_t off = 0;
	uint32_t sz = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;
	ssize_t n;

	out[0] = '\0';
	if (fd < 0)
		return -errno;
	n = pread(fd, hdr, sizeof(hdr), 0);
	if (n != (ssize_t)sizeof(hdr) || memcmp(hdr, "QFI\xfb", 4)) {
		ret = n < 0 ? -errno : -EINVAL;
		goto out;
	}
	for (int i = 8; i < 16; i++)
		off = off << 8 | hdr[i];
	for (int i = 16; i < 20; i++)
		sz = sz << 8 | hdr[i];
	if (off == 0 || sz == 0)
		goto out;
	if (sz >= len) {
		ret = -ENAMETOOLONG;
		goto out;
	}
	n = pread(fd, out, sz, (off_t)off);
	if (n != (ssize_t)sz) {
		ret = n < 0 ? -errno : -EINVAL;
		out[0] = '\0';
		goto out;
	}
	out[sz] = '\0';
out:
	close(fd);
	return ret;
}

static int run(const char *const *argv, const char *what)
{
	struct buf e = BUF_INIT;
	struct cmd_opts o = { .die_with_parent = true };
	int r = cmd_run_ex(argv, &o, NULL, &e);

	if (r != 0)
		log_err("storage", "%s: %s", what, r < 0 ? strerror(-r) : cmd_last_line(&e));
	buf_free(&e);
	return r == 0 ? 0 : -EIO;
}

int storage_check(struct hostd *h, const char *rel)
{
	char file[PATHLEN];
	const char *argv[] = { "qemu-img", "check", "-q", "-U", "-f", "qcow2", file, NULL };
	struct buf e = BUF_INIT;
	int r;

	if ((r = abs_path(h, rel, file, sizeof(file))) < 0)
		return r;
	/* 0 clean, 3 leaks only; 1 (cannot open: a layer is missing or
	 * unreadable) and 2 (corruption) impair the volume. */
	r = cmd_run(argv, NULL, &e);
	if (r == 1 || r == 2) {
		log_warn("storage", "check %s: %s", rel, cmd_last_line(&e));
		r = -EIO;
	} else if (r == 3) {
		r = 0;
	} else if (r > 0) {
		r = -EINVAL;
	}
	buf_free(&e);
	return r;
}

/* Makes file (absolute) as a new qcow2 of size bytes on backing (absolute,
 * or NULL): tmp, fsync, rename, fsync the directory. The backing file is
 * not opened (-u), so this costs the same at any size or depth. */
static int make_overlay(struct hostd *h, const char *file, const char *backing, int64_t size)
{
	char tmp[PATHLEN + 8], sz[32];
	const char *with[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", backing, "-F", "qcow2",
			       tmp, sz, NULL };
	const char *plain[] = { "qemu-img", "create", "-q", "-f", "qcow2", tmp, sz, NULL };
	int r;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", file) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	snprintf(sz, sizeof(sz), "%lld", (long long)size);
	unlink(tmp);
	r = run(backing ? with : plain, "qemu-img create");
	if (r < 0)
		goto fail;
	crash_point(h, "overlay-tmp");
	if ((r = fsync_path(tmp, O_RDONLY)) < 0 || (rename(tmp, file) < 0 && (r = -errno)) ||
	    (r = fsync_parent(file)) < 0)
		goto fail;
	crash_point(h, "overlay-renamed");
	return 0;
fail:
	unlink(tmp);
	return r;
}

static void col(sqlite3_stmt *st, int i, char *dst, size_t len, bool *has)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	if (has)
		*has = t != NULL;
	snprintf(dst, len, "%s", t ? (const char *)t : "");
}

static int load_op(struct hostd *h, int64_t id, struct op *o)
{
	sqlite3_stmt *st = store_stmt(h->store, "SELECT kind, vol, snap, file, backing, drop_file, "
						"COALESCE(size_bytes, 0) FROM storage_ops WHERE id = ?1");
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return -EIO;
	memset(o, 0, sizeof(*o));
	o->id = id;
	col(st, 0, o->kind, sizeof(o->kind), NULL);
	col(st, 1, o->vol, sizeof(o->vol), NULL);
	col(st, 2, o->snap, sizeof(o->snap), NULL);
	col(st, 3, o->file, sizeof(o->file), NULL);
	col(st, 4, o->backing, sizeof(o->backing), &o->has_backing);
	col(st, 5, o->drop, sizeof(o->drop), &o->has_drop);
	o->size = sqlite3_column_int64(st, 6);
	return 0;
}

int storage_intent(struct hostd *h, const struct storage_op *op, int64_t *id)
{
	sqlite3_stmt *st = store_stmt(h->store, "INSERT INTO storage_ops(kind, vol, snap, file, backing, size_bytes, "
						"created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, op->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, op->vol, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, op->snap, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, op->file, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, op->backing, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, op->size_bytes);
	sqlite3_bind_int64(st, 7, now_ms());
	if (sqlite3_step(st) != SQLITE_DONE)
		return -EIO;
	*id = sqlite3_last_insert_rowid(store_db(h->store));
	return 0;
}

/* Executes a list of statements with ?1..?4 bound to a..d in one
 * transaction. Caller holds h->lock. */
static int txn(struct hostd *h, const char *const *sql, size_t n, const char *a, const char *b, const char *c,
	       const char *d, int64_t i5)
{
	struct store *s = h->store;

	if (store_begin(s) < 0)
		return -EIO;
	for (size_t k = 0; k < n; k++) {
		sqlite3_stmt *st = store_stmt(s, sql[k]);

		if (!st)
			goto fail;
		sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, c, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, d, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, i5);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto fail;
	}
	if (store_commit(s) < 0)
		goto fail;
	return 0;
fail:
	store_rollback(s);
	return -EIO;
}

/* Where a volume lives right now: the instance whose running VM has it
 * attached, and the disk's target. Caller holds h->lock. */
static bool volume_live(struct hostd *h, const char *vol, char *inst, size_t ilen, char *target, size_t tlen)
{
	sqlite3_stmt *st = store_stmt(h->store, "SELECT v.instance_id, v.device, i.root_device_name FROM volumes v "
						"JOIN instances i ON i.id = v.instance_id WHERE v.id = ?1 AND "
						"i.state IN ('pending', 'running', 'stopping', 'shutting-down')");
	const char *dev, *root;

	if (!st)
		return false;
	sqlite3_bind_text(st, 1, vol, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return false;
	snprintf(inst, ilen, "%s", (const char *)sqlite3_column_text(st, 0));
	dev = (const char *)sqlite3_column_text(st, 1);
	root = (const char *)sqlite3_column_text(st, 2);
	if (dev && root && !strcmp(dev, root))
		snprintf(target, tlen, "vda");
	else
		snprintf(target, tlen, "%s", dev ? storage_disk_target(dev) : "");
	sqlite3_reset(st);
	return true;
}

/* snap-create: freeze the volume's top (o->backing) as the snapshot and
 * make o->file its new top. */
static int do_snap_create(struct hostd *h, struct op *o)
{
	char file[PATHLEN], top[PATHLEN], inst[ID_MAX] = "", target[16] = "", cur[PATHLEN];
	bool live;
	int r;

	if ((r = abs_path(h, o->file, file, sizeof(file))) < 0)
		return r;
	pthread_mutex_lock(&h->lock);
	live = h->vmm && volume_live(h, o->vol, inst, sizeof(inst), target, sizeof(target));
	/* The top to freeze is the volume's top when the op runs (ops run one
	 * at a time), recorded before the overlay is made on it. */
	if (access(file, F_OK) < 0) {
		static const char *const sql[] = {
			"UPDATE storage_ops SET backing = (SELECT file FROM volumes WHERE id = ?1) WHERE id = ?2 AND "
			"EXISTS (SELECT 1 FROM volumes WHERE id = ?1)",
			"UPDATE snapshots SET file = (SELECT backing FROM storage_ops WHERE id = ?2) WHERE id = "
			"(SELECT snap FROM storage_ops WHERE id = ?2)",
		};
		char ids[32];

		snprintf(ids, sizeof(ids), "%lld", (long long)o->id);
		r = txn(h, sql, ARRAY_SIZE(sql), o->vol, ids, NULL, NULL, 0);
		if (r == 0)
			r = load_op(h, o->id, o);
	}
	pthread_mutex_unlock(&h->lock);
	if (r < 0)
		return r;
	if ((r = abs_path(h, o->backing, top, sizeof(top))) < 0)
		return r;
	{
		int64_t vsize;

		/* the new top has the frozen one's size, whatever size_gib says */
		if (qcow2_virtual_size(top, &vsize) == 0)
			o->size = vsize;
	}
	if (live) {
		r = vmm_disk_source(h->vmm, inst, target, cur, sizeof(cur));
		if (r == -ENOENT)
			live = false; /* the VM is gone: the files are ours alone */
		else if (r < 0)
			return r;
		else if (!strcmp(cur, file))
			return 0; /* done before a crash */
	}
	if (access(file, F_OK) < 0 && (r = make_overlay(h, file, top, o->size)) < 0)
		return r;
	if (live) {
		crash_point(h, "snap-before-live");
		r = vmm_disk_snapshot(h->vmm, inst, target, file);
		if (r == -ENOENT)
			r = 0;
		if (r < 0)
			return r;
	}
	return 0;
}

static int do_vol_create(struct hostd *h, const struct op *o)
{
	char file[PATHLEN], back[PATHLEN];
	int r;

	if ((r = abs_path(h, o->file, file, sizeof(file))) < 0)
		return r;
	if (access(file, F_OK) == 0)
		return 0;
	if (o->has_backing && (r = abs_path(h, o->backing, back, sizeof(back))) < 0)
		return r;
	return make_overlay(h, file, o->has_backing ? back : NULL, o->size);
}

/* rebase: o->file gets o->backing (or none) as its backing file, keeping
 * what it reads; qemu-img rebase copies in what differs first and rewrites
 * the header last, so a kill leaves the old backing with the same data. */
static int do_rebase(struct hostd *h, const struct op *o)
{
	char file[PATHLEN], back[PATHLEN] = "", cur[PATHLEN];
	const char *argv[] = { "qemu-img", "rebase", "-q", "-f", "qcow2", "-F", "qcow2", "-b", back, file, NULL };
	const char *argv_none[] = { "qemu-img", "rebase", "-q", "-f", "qcow2", "-b", "", file, NULL };
	int r;

	if ((r = abs_path(h, o->file, file, sizeof(file))) < 0)
		return r;
	if (o->has_backing && (r = abs_path(h, o->backing, back, sizeof(back))) < 0)
		return r;
	r = qcow2_backing(file, cur, sizeof(cur));
	if (r < 0)
		return r;
	if (!strcmp(cur, back))
		return 0;
	crash_point(h, "rebase-before");
	r = run(o->has_backing ? argv : argv_none, "qemu-img rebase");
	if (r < 0)
		return r;
	crash_point(h, "rebase-after");
	return fsync_path(file, O_RDONLY);
}

static int do_resize(struct hostd *h, const struct op *o)
{
	char file[PATHLEN], inst[ID_MAX] = "", target[16] = "", sz[32];
	const char *argv[] = { "qemu-img", "resize", "-q", "-f", "qcow2", file, sz, NULL };
	int64_t cur = 0;
	bool live;
	int r;

	pthread_mutex_lock(&h->lock);
	live = h->vmm && volume_live(h, o->vol, inst, sizeof(inst), target, sizeof(target));
	{
		/* the volume's top now (a snapshot may have moved it since) */
		sqlite3_stmt *st = store_stmt(h->store, "SELECT file FROM volumes WHERE id = ?1");

		r = -ENOENT;
		if (st && (sqlite3_bind_text(st, 1, o->vol, -1, SQLITE_STATIC), sqlite3_step(st)) == SQLITE_ROW)
			r = abs_path(h, (const char *)sqlite3_column_text(st, 0), file, sizeof(file));
	}
	pthread_mutex_unlock(&h->lock);
	if (r < 0)
		return r;
	if (live) {
		r = vmm_disk_resize(h->vmm, inst, target, (unsigned long long)o->size);
		if (r != -ENOENT)
			return r;
	}
	{
		unsigned char hdr[32];
		int fd = open(file, O_RDONLY | O_CLOEXEC);
		ssize_t n;

		if (fd < 0)
			return -errno;
		n = pread(fd, hdr, sizeof(hdr), 0);
		close(fd);
		if (n == (ssize_t)sizeof(hdr))
			for (int i = 24; i < 32; i++)
				cur = cur << 8 | hdr[i];
	}
	if (cur >= o->size)
		return 0;
	snprintf(sz, sizeof(sz), "%lld", (long long)o->size);
	return run(argv, "qemu-img resize");
}

/* The transaction that records an op's result and ends it. */
static int finish(struct hostd *h, const struct op *o)
{
	char id[32];
	int r = -EINVAL;

	snprintf(id, sizeof(id), "%lld", (long long)o->id);
	pthread_mutex_lock(&h->lock);
	if (!strcmp(o->kind, "vol-create")) {
		static const char *const sql[] = {
			"INSERT OR REPLACE INTO layers(file, backing, created_ms) VALUES (?2, ?3, ?5)",
			"UPDATE volumes SET state = 'available' WHERE id = ?1 AND state = 'creating'",
			"DELETE FROM storage_ops WHERE id = ?4",
		};
		r = txn(h, sql, ARRAY_SIZE(sql), o->vol, o->file, o->has_backing ? o->backing : NULL, id, now_ms());
	} else if (!strcmp(o->kind, "snap-create")) {
		static const char *const sql[] = {
			"INSERT OR REPLACE INTO layers(file, backing, created_ms) VALUES (?2, ?3, ?5)",
			"UPDATE volumes SET file = ?2 WHERE id = ?1 AND file = ?3",
			("UPDATE snapshots SET file = ?3, state = 'completed', progress = 100 WHERE id = "
			 "(SELECT snap FROM storage_ops WHERE id = ?4)"),
			"DELETE FROM storage_ops WHERE id = ?4",
		};
		r = txn(h, sql, ARRAY_SIZE(sql), o->vol, o->file, o->backing, id, now_ms());
	} else if (!strcmp(o->kind, "rebase")) {
		static const char *const sql[] = {
			"UPDATE layers SET backing = ?2 WHERE file = ?1",
			"DELETE FROM layers WHERE file = ?3",
			"DELETE FROM storage_ops WHERE id = ?4",
		};
		r = txn(h, sql, ARRAY_SIZE(sql), o->file, o->has_backing ? o->backing : NULL,
			o->has_drop ? o->drop : NULL, id, 0);
	} else if (!strcmp(o->kind, "resize")) {
		static const char *const sql[] = {
			"UPDATE volumes SET size_gib = ?5 / 1073741824 WHERE id = ?1",
			("UPDATE volume_mods SET state = 'completed', progress = 100, end_ms = "
			 "CAST(strftime('%s','now') AS INTEGER) * 1000 WHERE volume_id = ?1 AND state != 'completed'"),
			"DELETE FROM storage_ops WHERE id = ?4",
		};
		r = txn(h, sql, ARRAY_SIZE(sql), o->vol, NULL, NULL, id, o->size);
	}
	pthread_mutex_unlock(&h->lock);
	if (r == 0 && o->has_drop) {
		char drop[PATHLEN];

		crash_point(h, "merge-before-unlink");
		if (abs_path(h, o->drop, drop, sizeof(drop)) == 0) {
			unlink_quiet(drop);
			fsync_parent(drop);
		}
	}
	return r;
}

/* An op that cannot succeed (its file could not be made): the rows it
 * was for end in 'error', the op is dropped. */
static void fail_op(struct hostd *h, const struct op *o)
{
	static const char *const sql[] = {
		"UPDATE volumes SET state = 'error' WHERE id = ?1 AND state = 'creating'",
		"UPDATE snapshots SET state = 'error' WHERE id = ?2 AND state = 'pending'",
		("UPDATE volume_mods SET state = 'failed', status_message = 'resize failed' WHERE volume_id = ?1 "
		 "AND state = 'modifying' AND ?3 = 'resize'"),
		"DELETE FROM storage_ops WHERE id = ?4",
	};
	char id[32], file[PATHLEN + 8];

	snprintf(id, sizeof(id), "%lld", (long long)o->id);
	log_err("storage", "op %s %s%s%s failed", o->kind, o->vol, o->snap[0] ? " " : "", o->snap);
	pthread_mutex_lock(&h->lock);
	txn(h, sql, ARRAY_SIZE(sql), o->vol, o->snap, o->kind, id, 0);
	pthread_mutex_unlock(&h->lock);
	/* A file this op made and no row names is an orphan the next
	 * collection removes. */
	if (!strcmp(o->kind, "vol-create") && abs_path(h, o->file, file, PATHLEN) == 0)
		unlink_quiet(file);
}

static int exec_op(struct hostd *h, struct op *o)
{
	int r;

	if (!strcmp(o->kind, "vol-create"))
		r = do_vol_create(h, o);
	else if (!strcmp(o->kind, "snap-create"))
		r = do_snap_create(h, o);
	else if (!strcmp(o->kind, "rebase"))
		r = do_rebase(h, o);
	else if (!strcmp(o->kind, "resize"))
		r = do_resize(h, o);
	else
		r = -EINVAL;
	crash_point(h, "before-finish");
	if (r == 0)
		r = finish(h, o);
	return r;
}

int storage_run(struct hostd *h, int64_t id)
{
	struct storage *s = h->storage;
	struct op o;
	int r;

	r = load_op(h, id, &o);
	/* Not h->lock while files are made (the worker takes s->mu first). */
	pthread_mutex_unlock(&h->lock);
	pthread_mutex_lock(&s->mu);
	if (r == 0) {
		crash_point(h, "intent");
		r = exec_op(h, &o);
		if (r < 0 && strcmp(o.kind, "rebase"))
			fail_op(h, &o);
	}
	pthread_mutex_unlock(&s->mu);
	if (r == 0)
		storage_kick(h);
	pthread_mutex_lock(&h->lock);
	return r;
}

bool storage_vm_held(struct hostd *h, const char *inst)
{
	struct storage *s = h->storage;
	bool held;

	if (!s)
		return false;
	pthread_mutex_lock(&s->kmu);
	held = !strcmp(s->held, inst);
	pthread_mutex_unlock(&s->kmu);
	if (held)
		return true;
	/* A hostd killed while it held the VM left its snapshots journaled:
	 * the VM stays paused until they are redone, so they still show one
	 * instant. */
	pthread_mutex_lock(&h->lock);
	{
		sqlite3_stmt *st = store_stmt(h->store, "SELECT 1 FROM storage_ops o JOIN volumes v ON v.id = o.vol "
							"WHERE o.kind = 'snap-create' AND v.instance_id = ?1 LIMIT 1");

		if (st) {
			sqlite3_bind_text(st, 1, inst, -1, SQLITE_STATIC);
			held = sqlite3_step(st) == SQLITE_ROW;
			sqlite3_reset(st);
		}
	}
	pthread_mutex_unlock(&h->lock);
	return held;
}

static void set_held(struct storage *s, const char *inst)
{
	pthread_mutex_lock(&s->kmu);
	snprintf(s->held, sizeof(s->held), "%s", inst);
	pthread_mutex_unlock(&s->kmu);
}

int storage_run_group(struct hostd *h, const int64_t *ids, size_t n, const char *inst)
{
	struct storage *s = h->storage;
	struct op *ops = xcalloc(n ? n : 1, sizeof(*ops));
	enum vmm_state vs;
	bool paused = false;
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++)
		r = load_op(h, ids[i], &ops[i]);
	pthread_mutex_unlock(&h->lock);
	pthread_mutex_lock(&s->mu);
	if (r == 0 && h->vmm && vmm_state(h->vmm, inst, &vs) == 0 && vs == VMM_RUNNING) {
		/* Held first, so the reconciler leaves the pause alone. A hostd
		 * killed meanwhile leaves the ops journaled (redone at start) and
		 * the VM paused, which the reconciler resumes. */
		set_held(s, inst);
		if (vmm_suspend(h->vmm, inst) == 0)
			paused = true;
		else
			set_held(s, "");
	}
	for (size_t i = 0; i < n; i++) {
		int e;

		if (r < 0 && !ops[i].id)
			break;
		crash_point(h, "intent");
		e = exec_op(h, &ops[i]);
		if (e < 0) {
			fail_op(h, &ops[i]);
			if (r == 0)
				r = e;
		}
	}
	if (paused) {
		crash_point(h, "group-before-resume");
		if (vmm_resume(h->vmm, inst) < 0)
			log_err("storage", "%s: could not resume after the snapshots", inst);
		set_held(s, "");
	}
	pthread_mutex_unlock(&s->mu);
	free(ops);
	storage_kick(h);
	pthread_mutex_lock(&h->lock);
	return r;
}

/* ---- the layer graph and its collection ---- */

struct layer {
	char *file, *backing;
	int refs;        /* volume and snapshot rows naming it */
	int children;
	int live;        /* in the chain of a volume whose VM may run */
	int parent;      /* index, -1 */
	int child;       /* one child's index (when children == 1) */
};

struct graph {
	struct layer *l;
	size_t n;
};

static void graph_free(struct graph *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->l[i].file);
		free(g->l[i].backing);
	}
	free(g->l);
	g->l = NULL;
	g->n = 0;
}

static int find(const struct graph *g, const char *file)
{
	for (size_t i = 0; i < g->n; i++)
		if (!strcmp(g->l[i].file, file))
			return (int)i;
	return -1;
}

/* Every volume and snapshot file gets a layer row (root volumes made at
 * launch and imported AMI snapshots are recorded lazily). Caller holds
 * h->lock. */
static int sync_layers(struct hostd *h)
{
	return store_exec(h->store,
			  "INSERT OR IGNORE INTO layers(file, backing, created_ms) "
			  "SELECT s.file, NULL, s.created_ms FROM snapshots s WHERE s.file != '' AND s.state = 'completed' "
			  "AND s.volume_id = 'vol-ffffffff';"
			  "INSERT OR IGNORE INTO layers(file, backing, created_ms) "
			  "SELECT v.file, s.file, v.created_ms FROM volumes v LEFT JOIN snapshots s ON s.id = v.snapshot_id "
			  "WHERE v.state != 'deleted' AND v.file != '';");
}

int storage_track(struct hostd *h) { return sync_layers(h); }

/* Caller holds h->lock. */
static int load_graph(struct hostd *h, struct graph *g)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	memset(g, 0, sizeof(*g));
	if (sync_layers(h) < 0)
		return -EIO;
	st = store_stmt(h->store, "SELECT file, backing FROM layers ORDER BY file");
	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *b = sqlite3_column_text(st, 1);

		if (g->n == cap) {
			cap = cap ? 2 * cap : 32;
			g->l = realloc(g->l, cap * sizeof(*g->l));
			if (!g->l)
				abort();
		}
		memset(&g->l[g->n], 0, sizeof(g->l[0]));
		g->l[g->n].file = xstrdup((const char *)sqlite3_column_text(st, 0));
		g->l[g->n].backing = b ? xstrdup((const char *)b) : NULL;
		g->l[g->n].parent = g->l[g->n].child = -1;
		g->n++;
	}
	if (rc != SQLITE_DONE)
		return -EIO;
	for (size_t i = 0; i < g->n; i++) {
		struct layer *l = &g->l[i];

		if (l->backing && (l->parent = find(g, l->backing)) >= 0) {
			g->l[l->parent].children++;
			g->l[l->parent].child = (int)i;
		}
	}
	st = store_stmt(h->store, "SELECT file FROM volumes WHERE state != 'deleted' UNION ALL "
				  "SELECT file FROM snapshots WHERE file != '' UNION ALL "
				  "SELECT file FROM storage_ops WHERE file IS NOT NULL UNION ALL "
				  "SELECT backing FROM storage_ops WHERE backing IS NOT NULL");
	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int i = find(g, (const char *)sqlite3_column_text(st, 0));

		if (i >= 0)
			g->l[i].refs++;
	}
	if (rc != SQLITE_DONE)
		return -EIO;
	/* Chains of volumes whose VM may be running are left alone: QEMU has
	 * them open (a live merge would need block-stream). */
	st = store_stmt(h->store, "SELECT v.file FROM volumes v JOIN instances i ON i.id = v.instance_id "
				  "WHERE v.state != 'deleted' AND i.state IN ('pending', 'running', 'stopping', "
				  "'shutting-down')");
	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int i = find(g, (const char *)sqlite3_column_text(st, 0));

		for (int guard = 0; i >= 0 && guard < 4096; guard++) {
			g->l[i].live = 1;
			i = g->l[i].parent;
		}
	}
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static int depth_of(const struct graph *g, int i)
{
	int d = 0;

	for (; i >= 0 && d < 100000; i = g->l[i].parent)
		d++;
	return d;
}

int storage_depth(struct hostd *h, const char *file)
{
	sqlite3_stmt *st = store_stmt(h->store, "WITH RECURSIVE c(f, d) AS (SELECT ?1, 1 UNION ALL "
						"SELECT l.backing, c.d + 1 FROM layers l JOIN c ON l.file = c.f "
						"WHERE l.backing IS NOT NULL AND c.d < 100000) SELECT MAX(d) FROM c");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, file, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return -EIO;
	return sqlite3_column_int(st, 0);
}

/* Journals a rebase (and the layer it drops) and runs it. Caller holds
 * s->mu but not h->lock. */
static int rebase_layer(struct hostd *h, const char *file, const char *backing, const char *drop)
{
	sqlite3_stmt *st;
	struct op o;
	int64_t id;
	int r = -EIO;

	pthread_mutex_lock(&h->lock);
	st = store_stmt(h->store, "INSERT INTO storage_ops(kind, file, backing, drop_file, created_ms) "
				  "VALUES ('rebase', ?1, ?2, ?3, ?4)");
	if (st) {
		sqlite3_bind_text(st, 1, file, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, backing, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, drop, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, now_ms());
		if (sqlite3_step(st) == SQLITE_DONE) {
			id = sqlite3_last_insert_rowid(store_db(h->store));
			r = load_op(h, id, &o);
		}
	}
	pthread_mutex_unlock(&h->lock);
	if (r < 0)
		return r;
	r = exec_op(h, &o);
	if (r < 0) {
		/* Undo the intent: nothing was changed that reads differently. */
		char ids[32];
		static const char *const sql[] = { "DELETE FROM storage_ops WHERE id = ?1" };

		snprintf(ids, sizeof(ids), "%lld", (long long)id);
		pthread_mutex_lock(&h->lock);
		txn(h, sql, 1, ids, NULL, NULL, NULL, 0);
		pthread_mutex_unlock(&h->lock);
		log_warn("storage", "rebase of %s deferred", file);
	}
	return r;
}

/* One pass: delete unreferenced leaves, merge unreferenced layers with one
 * child into it, flatten chains deeper than flatten_depth. Returns how many
 * changes it made (the caller repeats until none), or -errno. Caller holds
 * s->mu. */
static int collect_once(struct hostd *h)
{
	struct graph g;
	int r, changes = 0, maxd = h->cfg ? h->cfg->flatten_depth : 16;
	int64_t pending = 0;

	pthread_mutex_lock(&h->lock);
	{
		sqlite3_stmt *st = store_stmt(h->store, "SELECT COUNT(*) FROM storage_ops");

		if (st && sqlite3_step(st) == SQLITE_ROW)
			pending = sqlite3_column_int64(st, 0);
	}
	r = pending ? 0 : load_graph(h, &g);
	pthread_mutex_unlock(&h->lock);
	if (pending)
		return 0;
	if (r < 0)
		return r;
	for (size_t i = 0; i < g.n; i++) {
		struct layer *l = &g.l[i];
		char path[PATHLEN];

		if (l->refs || l->children)
			continue;
		/* An unreferenced leaf: its row goes first, then the file. */
		pthread_mutex_lock(&h->lock);
		{
			static const char *const sql[] = { "DELETE FROM layers WHERE file = ?1" };

			r = txn(h, sql, 1, l->file, NULL, NULL, NULL, 0);
		}
		pthread_mutex_unlock(&h->lock);
		if (r < 0)
			goto out;
		crash_point(h, "gc-before-unlink");
		if (abs_path(h, l->file, path, sizeof(path)) == 0) {
			unlink_quiet(path);
			fsync_parent(path);
		}
		log_info("storage", "collected %s", l->file);
		changes++;
	}
	if (changes)
		goto out;
	for (size_t i = 0; i < g.n; i++) {
		struct layer *l = &g.l[i];
		struct layer *c;
		char path[PATHLEN];

		if (l->refs || l->children != 1 || l->child < 0)
			continue;
		c = &g.l[l->child];
		if (c->live || abs_path(h, c->file, path, sizeof(path)) < 0 || access(path, F_OK) < 0)
			continue;
		log_info("storage", "merging %s into %s", l->file, c->file);
		if (rebase_layer(h, c->file, l->backing, l->file) == 0) {
			changes++;
			goto out;
		}
	}
	for (size_t i = 0; i < g.n; i++) {
		struct layer *l = &g.l[i];
		char path[PATHLEN];
		int root = (int)i, d;

		if (l->live || l->children || !l->refs || (d = depth_of(&g, (int)i)) <= maxd)
			continue;
		while (g.l[root].parent >= 0)
			root = g.l[root].parent;
		if (abs_path(h, l->file, path, sizeof(path)) < 0 || access(path, F_OK) < 0)
			continue;
		log_info("storage", "flattening %s (depth %d) onto %s", l->file, d, g.l[root].file);
		if (rebase_layer(h, l->file, g.l[root].file, NULL) == 0) {
			changes++;
			goto out;
		}
	}
out:
	graph_free(&g);
	return r < 0 ? r : changes;
}

static void collect(struct hostd *h)
{
	for (int i = 0; i < 10000; i++)
		if (collect_once(h) <= 0)
			break;
	pthread_mutex_lock(&h->lock);
	store_reset_all(h->store);
	pthread_mutex_unlock(&h->lock);
}

/* Files under layers/ and volumes/ that no row names (a create killed
 * before its result was recorded, a collection killed after its row went)
 * are removed. Caller holds s->mu; no op is pending. */
static void remove_orphans(struct hostd *h)
{
	static const char *const dirs[] = { STORAGE_LAYER_DIR, "volumes" };

	for (size_t k = 0; k < ARRAY_SIZE(dirs); k++) {
		char dir[PATHLEN];
		DIR *d;
		struct dirent *e;

		if (abs_path(h, dirs[k], dir, sizeof(dir)) < 0 || !(d = opendir(dir)))
			continue;
		while ((e = readdir(d))) {
			char rel[PATHLEN], path[PATHLEN + 300];
			sqlite3_stmt *st;
			bool orphan;

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			if (snprintf(rel, sizeof(rel), "%s/%s", dirs[k], e->d_name) >= (int)sizeof(rel))
				continue;
			pthread_mutex_lock(&h->lock);
			st = store_stmt(h->store, "SELECT 1 FROM layers WHERE file = ?1 UNION ALL "
						  "SELECT 1 FROM volumes WHERE file = ?1 AND state != 'deleted' UNION ALL "
						  "SELECT 1 FROM storage_ops WHERE file = ?1 OR file || '.tmp' = ?1");
			orphan = st && (sqlite3_bind_text(st, 1, rel, -1, SQLITE_STATIC), sqlite3_step(st)) == SQLITE_DONE;
			pthread_mutex_unlock(&h->lock);
			if (orphan) {
				log_info("storage", "removing %s (nothing names it)", rel);
				unlink_quiet(path);
			}
		}
		closedir(d);
	}
}

/* AttachVolume records 'attaching' before it hot-plugs: a hostd killed
 * in between left the row so. It is carried through: a running VM gets
 * the disk now unless it has it already (a stopped one at its next start);
 * a disk that cannot be plugged rolls the row back. Root volumes and
 * instances still pending are the launch's. */
static void finish_attachments(struct hostd *h)
{
	struct att {
		char vol[ID_MAX], inst[ID_MAX], dev[32], file[PATHLEN], type[16];
		int64_t gib, iops, tp;
	} *a = NULL;
	size_t n = 0;
	sqlite3_stmt *st;

	pthread_mutex_lock(&h->lock);
	st = store_stmt(h->store, "SELECT v.id, v.instance_id, v.device, v.file, v.volume_type, v.size_gib, "
				  "COALESCE(v.iops, 0), COALESCE(v.throughput, 0) FROM volumes v JOIN instances i ON "
				  "i.id = v.instance_id WHERE v.attach_state = 'attaching' AND v.state != 'deleted' AND "
				  "v.device != i.root_device_name AND i.state IN ('running', 'stopping', 'stopped')");
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		a = realloc(a, (n + 1) * sizeof(*a));
		if (!a)
			abort();
		memset(&a[n], 0, sizeof(a[n]));
		snprintf(a[n].vol, sizeof(a[n].vol), "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(a[n].inst, sizeof(a[n].inst), "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(a[n].dev, sizeof(a[n].dev), "%s", (const char *)sqlite3_column_text(st, 2));
		snprintf(a[n].type, sizeof(a[n].type), "%s", (const char *)sqlite3_column_text(st, 4));
		if (abs_path(h, (const char *)sqlite3_column_text(st, 3), a[n].file, sizeof(a[n].file)) < 0)
			continue;
		a[n].gib = sqlite3_column_int64(st, 5);
		a[n].iops = sqlite3_column_int64(st, 6);
		a[n].tp = sqlite3_column_int64(st, 7);
		n++;
	}
	if (st)
		sqlite3_reset(st);
	pthread_mutex_unlock(&h->lock);
	for (size_t i = 0; i < n; i++) {
		const char *target = storage_disk_target(a[i].dev);
		char cur[PATHLEN];
		enum vmm_state vs;
		bool ok = true;

		if (h->vmm && target[0] && vmm_state(h->vmm, a[i].inst, &vs) == 0 &&
		    (vs == VMM_RUNNING || vs == VMM_PAUSED) &&
		    vmm_disk_source(h->vmm, a[i].inst, target, cur, sizeof(cur)) == -ENODEV) {
			struct voltype_iotune io;
			struct vmm_disk d = { .path = a[i].file, .target = target, .serial = a[i].vol };

			voltype_iotune(a[i].type, a[i].gib, a[i].iops, a[i].tp, &io);
			d.iops = io.iops;
			d.bytes_sec = io.bytes_sec;
			ok = vmm_attach_disk(h->vmm, a[i].inst, &d) == 0;
		}
		log_info("storage", "%s: attachment to %s %s", a[i].vol, a[i].inst, ok ? "completed" : "rolled back");
		pthread_mutex_lock(&h->lock);
		{
			static const char *const done[] = {
				"UPDATE volumes SET attach_state = 'attached' WHERE id = ?1 AND attach_state = 'attaching'",
			};
			static const char *const undo[] = {
				("UPDATE volumes SET instance_id = NULL, device = NULL, attach_state = NULL, attach_ms = NULL, "
				 "state = 'available' WHERE id = ?1 AND attach_state = 'attaching'"),
			};

			txn(h, ok ? done : undo, 1, a[i].vol, NULL, NULL, NULL, 0);
		}
		pthread_mutex_unlock(&h->lock);
	}
	free(a);
}

/* Redoes every journaled op (each step is idempotent). */
static int recover(struct hostd *h)
{
	int64_t *ids = NULL;
	char **paused = NULL;
	size_t n = 0, npaused = 0;
	sqlite3_stmt *st;
	int r = 0;

	pthread_mutex_lock(&h->lock);
	st = store_stmt(h->store, "SELECT id FROM storage_ops ORDER BY id");
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		ids = realloc(ids, (n + 1) * sizeof(*ids));
		if (!ids)
			abort();
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	/* Snapshots of a running VM's volumes are redone with it paused, so
	 * the ones of a CreateSnapshots still show one instant. */
	st = store_stmt(h->store, "SELECT DISTINCT v.instance_id FROM storage_ops o JOIN volumes v ON v.id = o.vol "
				  "WHERE o.kind = 'snap-create' AND v.instance_id IS NOT NULL");
	while (h->vmm && st && sqlite3_step(st) == SQLITE_ROW) {
		const char *inst = (const char *)sqlite3_column_text(st, 0);
		enum vmm_state vs;

		if (vmm_state(h->vmm, inst, &vs) == 0 && vs == VMM_RUNNING && vmm_suspend(h->vmm, inst) == 0) {
			paused = realloc(paused, (npaused + 1) * sizeof(*paused));
			if (!paused)
				abort();
			paused[npaused++] = xstrdup(inst);
		}
	}
	pthread_mutex_unlock(&h->lock);
	for (size_t i = 0; i < n; i++) {
		struct op o;
		char tmp[PATHLEN + 8];

		pthread_mutex_lock(&h->lock);
		r = load_op(h, ids[i], &o);
		pthread_mutex_unlock(&h->lock);
		if (r < 0)
			break;
		log_info("storage", "redoing journaled %s %s%s", o.kind, o.vol[0] ? o.vol : o.file,
			 o.snap[0] ? o.snap : "");
		if (abs_path(h, o.file, tmp, PATHLEN) == 0) {
			strcat(tmp, ".tmp");
			unlink(tmp);
		}
		r = exec_op(h, &o);
		if (r < 0) {
			if (!strcmp(o.kind, "rebase")) {
				char id[32];
				static const char *const sql[] = { "DELETE FROM storage_ops WHERE id = ?1" };

				snprintf(id, sizeof(id), "%lld", (long long)o.id);
				pthread_mutex_lock(&h->lock);
				txn(h, sql, 1, id, NULL, NULL, NULL, 0);
				pthread_mutex_unlock(&h->lock);
			} else {
				fail_op(h, &o);
			}
			r = 0;
		}
	}
	for (size_t i = 0; i < npaused; i++) {
		if (vmm_resume(h->vmm, paused[i]) < 0)
			log_err("storage", "%s: could not resume after the journaled snapshots", paused[i]);
		free(paused[i]);
	}
	free(paused);
	free(ids);
	return r;
}

void storage_collect(struct hostd *h)
{
	struct storage *s = h->storage;

	if (!s)
		return;
	pthread_mutex_unlock(&h->lock);
	pthread_mutex_lock(&s->mu);
	collect(h);
	pthread_mutex_unlock(&s->mu);
	pthread_mutex_lock(&h->lock);
}

void storage_kick(struct hostd *h)
{
	struct storage *s = h->storage;

	if (!s)
		return;
	pthread_mutex_lock(&s->kmu);
	s->kicked = true;
	pthread_cond_signal(&s->kcv);
	pthread_mutex_unlock(&s->kmu);
}

static void *worker(void *arg)
{
	struct hostd *h = arg;
	struct storage *s = h->storage;

	for (;;) {
		struct timespec ts;

		pthread_mutex_lock(&s->kmu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += GC_PERIOD_MS / 1000;
		while (!s->kicked && !s->quit)
			if (pthread_cond_timedwait(&s->kcv, &s->kmu, &ts) != 0)
				break;
		s->kicked = false;
		if (s->quit) {
			pthread_mutex_unlock(&s->kmu);
			break;
		}
		pthread_mutex_unlock(&s->kmu);
		pthread_mutex_lock(&s->mu);
		collect(h);
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

int storage_start(struct hostd *h)
{
	struct storage *s = xcalloc(1, sizeof(*s));
	const char *crash = getenv("HOSTD_CRASH_AT");
	char dir[PATHLEN];
	int r;

	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->kmu, NULL);
	pthread_cond_init(&s->kcv, NULL);
	if (crash)
		snprintf(s->crash_at, sizeof(s->crash_at), "%s", crash);
	h->storage = s;
	for (size_t i = 0; i < 2; i++) {
		if ((r = abs_path(h, i ? "volumes" : STORAGE_LAYER_DIR, dir, sizeof(dir))) < 0)
			return r;
		if (mkdir(dir, 0711) < 0 && errno != EEXIST) {
			r = -errno;
			log_err("storage", "mkdir %s: %s", dir, strerror(-r));
			return r;
		}
	}
	pthread_mutex_lock(&s->mu);
	r = recover(h);
	if (r == 0) {
		finish_attachments(h);
		remove_orphans(h);
		collect(h);
	}
	pthread_mutex_unlock(&s->mu);
	if (r < 0)
		return r;
	if (pthread_create(&s->thread, NULL, worker, h) != 0)
		return -EAGAIN;
	s->thread_started = true;
	return 0;
}

void storage_stop(struct hostd *h)
{
	struct storage *s = h->storage;

	if (!s)
		return;
	if (s->thread_started) {
		pthread_mutex_lock(&s->kmu);
		s->quit = true;
		pthread_cond_signal(&s->kcv);
		pthread_mutex_unlock(&s->kmu);
		pthread_join(s->thread, NULL);
	}
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->kmu);
	pthread_cond_destroy(&s->kcv);
	free(s);
	h->storage = NULL;
}
