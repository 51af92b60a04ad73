/* The AMI registry's background side: the ImportImage worker (validate,
 * convert, register), crash recovery, cancellation, and what RunInstances
 * reads about an AMI.
 *
 * An import task moves active -> completed, active -> deleted (a failure:
 * "ClientError: ..." in its statusMessage) or active -> deleting -> deleted
 * (CancelImportTask). ImportImage already stored the AMI row, hidden
 * (IMAGES_VISIBLE_SQL) and pending, holding what only the request knew
 * (BootMode); the worker makes it available, or deletes it.
 *
 * Files: the conversion writes <state>/snapshots/<snap>.qcow2.tmp, which
 * is fsync'd, made read-only and renamed to <snap>.qcow2 before the
 * snapshot row is committed. At start every *.tmp there is removed, as is
 * any snap-*.qcow2 without a row, and interrupted tasks start over. */
#include "images/registry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hostd/config.h"
#include "hostd/hostd.h"
#include "hostd/store.h"
#include "hostd/tags.h"
#include "images/params.h"
#include "images/qimg.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/util.h"

#define GIB (1024LL * 1024 * 1024)

struct images {
	struct hostd *h;
	pthread_t thread;
	pthread_cond_t cond;       /* waited on with h->lock */
	atomic_bool stop;          /* images_stop() was called */
	atomic_bool cancel;        /* the running conversion must end */
	char current[ID_MAX];      /* the task being worked on; under h->lock */
	char state[PATH_MAX];      /* the state directory, absolute */
	char snapdir[PATH_MAX + 16];
};

struct task {
	char id[ID_MAX];
	char account[13];
	char snap[ID_MAX];
	char image[ID_MAX];
	char source[PATH_MAX];
	char format[16];           /* as given; "" to detect */
	char final[PATH_MAX + 128], tmp[PATH_MAX + 128], head[PATH_MAX + 128];
};

static const char *col(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s ? s : "";
}

static int copy(char *dst, size_t len, const char *src)
{
	int n = snprintf(dst, len, "%s", src);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int images_state_path(const struct hostd *h, const char *rel, char *out, size_t len)
{
	char abs[PATH_MAX];
	const char *base = h->images ? h->images->state : h->state_dir;
	int n;

	if (base[0] != '/') {
		if (!realpath(base, abs))
			return -errno;
		base = abs;
	}
	n = snprintf(out, len, "%s/%s", base, rel);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int images_token_task_id(const char *account_id, const char *token, char out[ID_MAX])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1];
	struct buf b = BUF_INIT;

	buf_printf(&b, "%s\n%s", account_id, token);
	SHA256((const unsigned char *)b.data, b.len, md);
	buf_free(&b);
	hex_encode(md, sizeof(md), hex);
	snprintf(out, ID_MAX, "import-ami-%.17s", hex);
	return 0;
}

static void task_paths(const struct images *im, struct task *t)
{
	snprintf(t->final, sizeof(t->final), "%s/%s.qcow2", im->snapdir, t->snap);
	snprintf(t->tmp, sizeof(t->tmp), "%s/%s.qcow2.tmp", im->snapdir, t->snap);
	snprintf(t->head, sizeof(t->head), "%s/%s.head.tmp", im->snapdir, t->snap);
}

static void unlink_quiet(const char *path)
{
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("images", "unlink %s: %s", path, strerror(errno));
}

/* The AMI an unfinished import was building goes away with it. Inside the
 * caller's transaction. */
static int drop_hidden_image(struct store *s, const char *account, const char *image_id)
{
	sqlite3_stmt *st;

	if (!image_id[0])
		return 0;
	st = store_stmt(s, "DELETE FROM images WHERE id = ? AND account_id = ? AND state = 'pending'");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, image_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, account, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return -EIO;
	return tags_delete_all(s, account, image_id);
}

/* Ends a task as deleted if it is in state `from`; message NULL keeps the
 * one it has (a cancel reason). Caller holds h->lock. */
static int end_task(struct store *s, const struct task *t, const char *from, const char *message)
{
	sqlite3_stmt *st;

	if (store_begin(s) < 0)
		return -EIO;
	st = store_stmt(s, "UPDATE import_tasks SET status = 'deleted', progress = 0, "
			   "status_message = COALESCE(?3, status_message) WHERE id = ?1 AND status = ?2");
	if (!st)
		goto fail;
	sqlite3_bind_text(st, 1, t->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	if (message)
		sqlite3_bind_text(st, 3, message, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	if (sqlite3_changes(store_db(s)) && drop_hidden_image(s, t->account, t->image) < 0)
		goto fail;
	return store_commit(s);
fail:
	store_rollback(s);
	return -EIO;
}

static void set_progress(struct images *im, const struct task *t, const char *message, int pct)
{
	sqlite3_stmt *st;

	pthread_mutex_lock(&im->h->lock);
	st = store_stmt(im->h->store, "UPDATE import_tasks SET status_message = COALESCE(?2, status_message), "
				      "progress = ?3 WHERE id = ?1 AND status = 'active'");
	if (st) {
		sqlite3_bind_text(st, 1, t->id, -1, SQLITE_STATIC);
		if (message)
			sqlite3_bind_text(st, 2, message, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, pct);
		if (sqlite3_step(st) != SQLITE_DONE)
			log_warn("images", "%s: progress not recorded", t->id);
	}
	pthread_mutex_unlock(&im->h->lock);
}

static __attribute__((format(printf, 3, 4))) void fail_task(struct images *im, const struct task *t,
							     const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("images", "%s: %s", t->id, msg);
	unlink_quiet(t->tmp);
	unlink_quiet(t->head);
	pthread_mutex_lock(&im->h->lock);
	if (end_task(im->h->store, t, "active", msg) < 0)
		log_err("images", "%s: could not record the failure", t->id);
	pthread_mutex_unlock(&im->h->lock);
}

/* [host] import_dirs with each directory resolved (symlinks, ".."), so
 * prefixes compare real paths; directories that do not exist drop out. */
static void canon_dirs(const char *dirs, char *out, size_t len)
{
	char *copy_ = xstrdup(dirs), *save = NULL, *d, real[PATH_MAX];
	size_t k = 0;

	out[0] = '\0';
	for (d = strtok_r(copy_, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		size_t n;

		if (!realpath(d, real))
			continue;
		n = strlen(real);
		if (k + n + 2 > len)
			break;
		if (k)
			out[k++] = ':';
		memcpy(out + k, real, n + 1);
		k += n;
	}
	free(copy_);
}

static void upper(const char *s, char *out, size_t len)
{
	size_t i = 0;

	for (; s[i] && i + 1 < len; i++)
		out[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
	out[i] = '\0';
}

/* Checks the source file; on success real holds its canonical path and
 * qi what qemu-img saw. On failure the task has been ended. */
static int validate(struct images *im, const struct task *t, char *real, struct qimg_info *qi)
{
	const char *dirs = im->h->cfg->import_dirs;
	char canon[4096] = "", why[512], fmt_up[16], det_up[16];
	unsigned char head[QIMG_HEAD_BYTES];
	const char *driver;
	struct stat sb;
	int fd;

	if (dirs[0])
		canon_dirs(dirs, canon, sizeof(canon));
	if (!realpath(t->source, real)) {
		int e = errno;

		/* Outside the import directories nothing is revealed, not even
		 * whether the file exists. */
		if (dirs[0] && !path_under_dirs(t->source, canon))
			goto denied;
		fail_task(im, t, "ClientError: Disk validation failed [%s: %s]",
			  e == ENOENT ? "File not found" : strerror(e), t->source);
		return -1;
	}
	if (dirs[0] && !path_under_dirs(real, canon))
		goto denied;
	if (stat(real, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		fail_task(im, t, "ClientError: Disk validation failed [Not a regular file: %s]", t->source);
		return -1;
	}
	fd = open(real, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail_task(im, t, "ClientError: Disk validation failed [%s: %s]", strerror(errno), t->source);
		return -1;
	}
	close(fd);
	pthread_mutex_lock(&im->h->lock);
	{
		sqlite3_stmt *st = store_stmt(im->h->store, "UPDATE import_tasks SET size_bytes = ? WHERE id = ?");

		if (st) {
			sqlite3_bind_int64(st, 1, (sqlite3_int64)sb.st_size);
			sqlite3_bind_text(st, 2, t->id, -1, SQLITE_STATIC);
			(void)sqlite3_step(st);
		}
	}
	pthread_mutex_unlock(&im->h->lock);

	if (qimg_info(real, qi, why, sizeof(why)) < 0) {
		fail_task(im, t, "ClientError: Disk validation failed [%s]", why);
		return -1;
	}
	driver = t->format[0] ? qimg_driver(t->format) : NULL;
	if (driver && strcmp(driver, qi->driver)) {
		upper(t->format, fmt_up, sizeof(fmt_up));
		upper(qimg_format(qi->driver), det_up, sizeof(det_up));
		fail_task(im, t, "ClientError: Disk validation failed [The file is a %s image, not %s as specified]",
			  det_up, fmt_up);
		return -1;
	}
	if (qimg_head(real, qi->driver, t->head, head, sizeof(head)) < 0) {
		fail_task(im, t, "ClientError: Disk validation failed [The disk image could not be read]");
		return -1;
	}
	if (!disk_has_partition_table(head, sizeof(head))) {
		fail_task(im, t, "ClientError: No valid partitions. Not a valid volume.");
		return -1;
	}
	return 0;
denied:
	fail_task(im, t, "ClientError: Disk validation failed [Access denied: %s is not in an import directory "
		  "of this host (import_dirs)]", t->source);
	return -1;
}

struct conv_state {
	struct images *im;
	const struct task *t;
};

static void on_progress(void *arg, int pct)
{
	struct conv_state *c = arg;

	set_progress(c->im, c->t, NULL, 10 + pct * 80 / 100);
}

static bool on_cancelled(void *arg)
{
	const struct conv_state *c = arg;

	return atomic_load(&c->im->cancel) || atomic_load(&c->im->stop);
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

/* Records the snapshot, makes the AMI available and completes the task,
 * in one transaction. Caller holds h->lock. -ESTALE: the task was
 * cancelled meanwhile. */
static int complete(struct images *im, const struct task *t, int64_t size_gib)
{
	struct store *s = im->h->store;
	char desc[128], rel[ID_MAX + 32];
	sqlite3_stmt *st;
	int64_t now = now_ms();

	snprintf(desc, sizeof(desc), "Created by AWS-VM-Import-Export service for %s", t->id);
	snprintf(rel, sizeof(rel), IMAGES_SNAPSHOT_DIR "/%s.qcow2", t->snap);
	if (store_begin(s) < 0)
		return -EIO;
	st = store_stmt(s, "UPDATE import_tasks SET status = 'completed', status_message = '', progress = 100 "
			   "WHERE id = ? AND status = 'active'");
	if (!st)
		goto fail;
	sqlite3_bind_text(st, 1, t->id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	if (sqlite3_changes(store_db(s)) == 0) {
		store_rollback(s);
		return -ESTALE;
	}
	st = store_stmt(s, "INSERT INTO snapshots(id, account_id, volume_id, size_gib, file, state, progress, "
			   "description, encrypted, created_ms) VALUES (?, ?, 'vol-ffffffff', ?, ?, 'completed', 100, "
			   "?, 0, ?)");
	if (!st)
		goto fail;
	sqlite3_bind_text(st, 1, t->snap, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, t->account, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, size_gib);
	sqlite3_bind_text(st, 4, rel, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, desc, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	st = store_stmt(s, "UPDATE images SET state = 'available', root_snapshot_id = ?, root_size_gib = ?, "
			   "created_ms = ? WHERE id = ? AND state = 'pending'");
	if (!st)
		goto fail;
	sqlite3_bind_text(st, 1, t->snap, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, size_gib);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_text(st, 4, t->image, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(store_db(s)) != 1)
		goto fail;
	return store_commit(s);
fail:
	store_rollback(s);
	return -EIO;
}

/* After a conversion was stopped: a cancelled task ends, one interrupted
 * by shutdown waits for the next start. */
static void after_cancel(struct images *im, const struct task *t)
{
	struct store *s = im->h->store;
	sqlite3_stmt *st;

	unlink_quiet(t->tmp);
	unlink_quiet(t->head);
	pthread_mutex_lock(&im->h->lock);
	if (end_task(s, t, "deleting", NULL) < 0)
		log_err("images", "%s: could not record the cancellation", t->id);
	st = store_stmt(s, "UPDATE import_tasks SET status_message = 'pending', progress = 2 "
			   "WHERE id = ? AND status = 'active'");
	if (st) {
		sqlite3_bind_text(st, 1, t->id, -1, SQLITE_STATIC);
		(void)sqlite3_step(st);
	}
	pthread_mutex_unlock(&im->h->lock);
}

static void run_task(struct images *im, struct task *t)
{
	struct conv_state cs = { im, t };
	struct qimg_convert_cb cb = { on_progress, on_cancelled, &cs };
	struct qimg_info qi;
	char real[PATH_MAX], why[512];
	int64_t vsize = 0;
	int r;

	task_paths(im, t);
	log_info("images", "%s: importing %s", t->id, t->source);
	set_progress(im, t, "validating", 5);
	if (validate(im, t, real, &qi) < 0)
		return;
	pthread_mutex_lock(&im->h->lock);
	{
		sqlite3_stmt *st = store_stmt(im->h->store, "UPDATE import_tasks SET format = ? WHERE id = ?");

		if (st) {
			sqlite3_bind_text(st, 1, qimg_format(qi.driver), -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, t->id, -1, SQLITE_STATIC);
			(void)sqlite3_step(st);
		}
	}
	pthread_mutex_unlock(&im->h->lock);

	set_progress(im, t, "converting", 10);
	unlink_quiet(t->tmp);
	r = qimg_convert(real, qi.driver, t->tmp, &cb, why, sizeof(why));
	if (r == -ECANCELED) {
		after_cancel(im, t);
		return;
	}
	if (r < 0) {
		fail_task(im, t, "%s: Disk conversion failed [%s]",
			  strstr(why, "No space left") ? "ServerError" : "ClientError", why);
		return;
	}
	set_progress(im, t, "preparing ami", 95);
	/* The AMI's disk is a read-only base file for every instance's
	 * overlay: durable before it is named, never written again. */
	if ((r = fsync_path(t->tmp, O_RDONLY)) < 0 || (r = qcow2_virtual_size(t->tmp, &vsize)) < 0 ||
	    (chmod(t->tmp, 0444) < 0 && (r = -errno)) || (rename(t->tmp, t->final) < 0 && (r = -errno)) ||
	    (r = fsync_path(im->snapdir, O_RDONLY | O_DIRECTORY)) < 0) {
		fail_task(im, t, "ServerError: the converted image could not be stored (%s)", strerror(-r));
		unlink_quiet(t->final);
		return;
	}
	pthread_mutex_lock(&im->h->lock);
	r = complete(im, t, (vsize + GIB - 1) / GIB);
	pthread_mutex_unlock(&im->h->lock);
	if (r == -ESTALE) {
		unlink_quiet(t->final);
		after_cancel(im, t);
		return;
	}
	if (r < 0) {
		unlink_quiet(t->final);
		fail_task(im, t, "ServerError: the image could not be registered");
		return;
	}
	log_info("images", "%s: completed: %s from %s (%lld bytes)", t->id, t->image, t->snap, (long long)vsize);
}

/* The oldest active task. Caller holds h->lock. 1 found, 0 none, -EIO. */
static int next_task(struct images *im, struct task *t)
{
	sqlite3_stmt *st = store_stmt(im->h->store,
		"SELECT id, account_id, COALESCE(snapshot_id, ''), COALESCE(image_id, ''), source, format "
		"FROM import_tasks WHERE status = 'active' ORDER BY created_ms, id LIMIT 1");
	int rc;

	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return -EIO;
	memset(t, 0, sizeof(*t));
	if (copy(t->id, sizeof(t->id), col(st, 0)) < 0 || copy(t->account, sizeof(t->account), col(st, 1)) < 0 ||
	    copy(t->snap, sizeof(t->snap), col(st, 2)) < 0 || copy(t->image, sizeof(t->image), col(st, 3)) < 0 ||
	    copy(t->source, sizeof(t->source), col(st, 4)) < 0 || copy(t->format, sizeof(t->format), col(st, 5)) < 0)
		return -EIO;
	return 1;
}

static void *worker(void *arg)
{
	struct images *im = arg;
	struct hostd *h = im->h;

	pthread_mutex_lock(&h->lock);
	while (!atomic_load(&im->stop)) {
		struct task t;
		struct timespec ts;
		int r = next_task(im, &t);

		if (r > 0 && (!t.snap[0] || !t.image[0])) {
			pthread_mutex_unlock(&h->lock);
			task_paths(im, &t);
			fail_task(im, &t, "ServerError: the task is incomplete");
			pthread_mutex_lock(&h->lock);
			continue;
		}
		if (r > 0) {
			snprintf(im->current, sizeof(im->current), "%s", t.id);
			atomic_store(&im->cancel, false);
			pthread_mutex_unlock(&h->lock);
			run_task(im, &t);
			pthread_mutex_lock(&h->lock);
			im->current[0] = '\0';
			/* A cancel that came as the task ended (it failed or
			 * completed first) leaves it deleting: finish it. */
			if (end_task(h->store, &t, "deleting", NULL) < 0)
				log_err("images", "%s: could not end the cancelled task", t.id);
			continue;
		}
		/* Woken by images_wake(); the timeout only guards against a lost
		 * wake-up or a store error. */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += r < 0 ? 5 : 30;
		pthread_cond_timedwait(&im->cond, &h->lock, &ts);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* Start-up, before the API serves: interrupted tasks start over, cancelled
 * ones end, and files no row owns go. Caller holds h->lock. */
static int recover(struct images *im)
{
	struct store *s = im->h->store;
	struct task *tasks = NULL;
	size_t n = 0;
	sqlite3_stmt *st;
	DIR *d;
	struct dirent *e;
	int rc;

	st = store_stmt(s, "SELECT id, account_id, COALESCE(snapshot_id, ''), COALESCE(image_id, ''), status "
			   "FROM import_tasks WHERE status IN ('active', 'deleting')");
	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct task *t;

		tasks = realloc(tasks, (n + 1) * sizeof(*tasks));
		if (!tasks)
			abort();
		t = &tasks[n++];
		memset(t, 0, sizeof(*t));
		snprintf(t->id, sizeof(t->id), "%s", col(st, 0));
		snprintf(t->account, sizeof(t->account), "%s", col(st, 1));
		snprintf(t->snap, sizeof(t->snap), "%s", col(st, 2));
		snprintf(t->image, sizeof(t->image), "%s", col(st, 3));
		/* Reuses `format` for the status: only this function reads it. */
		snprintf(t->format, sizeof(t->format), "%s", col(st, 4));
	}
	if (rc != SQLITE_DONE) {
		free(tasks);
		return -EIO;
	}
	for (size_t i = 0; i < n; i++) {
		struct task *t = &tasks[i];

		if (!strcmp(t->format, "deleting")) {
			log_info("images", "%s: cancelled before the restart", t->id);
			if (end_task(s, t, "deleting", NULL) < 0) {
				free(tasks);
				return -EIO;
			}
			continue;
		}
		log_info("images", "%s: interrupted by a restart; starting it over", t->id);
		st = store_stmt(s, "UPDATE import_tasks SET status_message = 'pending', progress = 2 WHERE id = ?");
		if (!st) {
			free(tasks);
			return -EIO;
		}
		sqlite3_bind_text(st, 1, t->id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			free(tasks);
			return -EIO;
		}
	}
	free(tasks);

	d = opendir(im->snapdir);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char path[PATH_MAX + 300], id[ID_MAX];
		bool orphan = false;

		if (len > 4 && !strcmp(e->d_name + len - 4, ".tmp")) {
			orphan = true;
		} else if (len > 6 && len - 6 < sizeof(id) && !strcmp(e->d_name + len - 6, ".qcow2")) {
			memcpy(id, e->d_name, len - 6);
			id[len - 6] = '\0';
			if (id_valid("snap", id)) {
				/* A deleted snapshot's file may live on as a layer
				 * volumes are backed by (storage/). */
				st = store_stmt(s, "SELECT 1 FROM snapshots WHERE id = ?1 UNION ALL SELECT 1 FROM layers "
						   "WHERE file = '" IMAGES_SNAPSHOT_DIR "/' || ?1 || '.qcow2'");
				if (!st)
					continue;
				sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
				orphan = sqlite3_step(st) == SQLITE_DONE;
			}
		}
		if (!orphan)
			continue;
		snprintf(path, sizeof(path), "%s/%s", im->snapdir, e->d_name);
		log_info("images", "removing %s (no snapshot owns it)", path);
		unlink_quiet(path);
	}
	closedir(d);
	return 0;
}

int images_start(struct hostd *h)
{
	struct images *im = xcalloc(1, sizeof(*im));
	pthread_condattr_t ca;
	int r;

	im->h = h;
	if (!realpath(h->state_dir, im->state)) {
		r = -errno;
		log_err("images", "realpath %s: %s", h->state_dir, strerror(-r));
		goto fail;
	}
	snprintf(im->snapdir, sizeof(im->snapdir), "%s/" IMAGES_SNAPSHOT_DIR, im->state);
	if (mkdir(im->snapdir, 0755) < 0 && errno != EEXIST) {
		r = -errno;
		log_err("images", "mkdir %s: %s", im->snapdir, strerror(-r));
		goto fail;
	}
	pthread_mutex_lock(&h->lock);
	r = recover(im);
	pthread_mutex_unlock(&h->lock);
	if (r < 0) {
		log_err("images", "recovering import tasks: %s", strerror(-r));
		goto fail;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&im->cond, &ca);
	pthread_condattr_destroy(&ca);
	r = -pthread_create(&im->thread, NULL, worker, im);
	if (r < 0) {
		pthread_cond_destroy(&im->cond);
		goto fail;
	}
	h->images = im;
	return 0;
fail:
	free(im);
	return r;
}

void images_stop(struct hostd *h)
{
	struct images *im = h->images;

	if (!im)
		return;
	atomic_store(&im->stop, true);
	atomic_store(&im->cancel, true);
	pthread_mutex_lock(&h->lock);
	pthread_cond_signal(&im->cond);
	pthread_mutex_unlock(&h->lock);
	pthread_join(im->thread, NULL);
	pthread_cond_destroy(&im->cond);
	h->images = NULL;
	free(im);
}

void images_wake(struct hostd *h)
{
	if (h->images)
		pthread_cond_signal(&h->images->cond);
}

int images_cancel(struct hostd *h, const char *account_id, const char *task_id, const char *reason,
		  char *state, size_t statelen)
{
	struct store *s = h->store;
	struct task t;
	sqlite3_stmt *st;
	int rc;

	st = store_stmt(s, "SELECT status, COALESCE(image_id, '') FROM import_tasks WHERE id = ? AND account_id = ?");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, task_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return -EIO;
	snprintf(state, statelen, "%s", col(st, 0));
	if (strcmp(state, "active"))
		return -EALREADY;
	memset(&t, 0, sizeof(t));
	snprintf(t.id, sizeof(t.id), "%s", task_id);
	snprintf(t.account, sizeof(t.account), "%s", account_id);
	snprintf(t.image, sizeof(t.image), "%s", col(st, 1));

	/* A queued task ends here; the one the worker is on is marked, and
	 * ends once its qemu-img is gone and its files removed. */
	if (!h->images || strcmp(h->images->current, task_id))
		return end_task(s, &t, "active", reason);
	st = store_stmt(s, "UPDATE import_tasks SET status = 'deleting', status_message = ? WHERE id = ?");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, task_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return -EIO;
	atomic_store(&h->images->cancel, true);
	return 0;
}

int images_for_launch(struct hostd *h, const char *account_id, const char *image_id, struct image_launch *out)
{
	sqlite3_stmt *st = store_stmt(h->store,
		"SELECT images.state, COALESCE(images.root_snapshot_id, ''), images.root_device_name, "
		"COALESCE(s.file, ''), images.root_size_gib, images.root_volume_type, "
		"images.root_delete_on_termination, COALESCE(images.imds_support, ''), COALESCE(s.state, ''), "
		"COALESCE(s.size_gib, 0) "
		"FROM images LEFT JOIN snapshots s ON s.id = images.root_snapshot_id "
		"WHERE images.id = ?1 AND images.account_id = ?2 AND " IMAGES_VISIBLE_SQL);
	const char *state;
	int rc, r;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, image_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return -EIO;
	memset(out, 0, sizeof(*out));
	state = col(st, 0);
	if (!strcmp(state, "deregistered") || !strcmp(state, "failed"))
		return -ENOENT;
	if (strcmp(state, "available") || strcmp(col(st, 8), "completed"))
		return -EAGAIN;
	snprintf(out->id, sizeof(out->id), "%s", image_id);
	snprintf(out->snapshot_id, sizeof(out->snapshot_id), "%s", col(st, 1));
	snprintf(out->root_device_name, sizeof(out->root_device_name), "%s", col(st, 2));
	if (images_state_path(h, col(st, 3), out->base_file, sizeof(out->base_file)) < 0)
		return -EIO;
	out->root_size_gib = sqlite3_column_int64(st, 4);
	snprintf(out->root_volume_type, sizeof(out->root_volume_type), "%s", col(st, 5));
	out->root_delete_on_termination = sqlite3_column_int(st, 6) != 0;
	snprintf(out->imds_support, sizeof(out->imds_support), "%s", col(st, 7));
	out->snapshot_size_gib = sqlite3_column_int64(st, 9);
	/* A header read, not qemu-img: the caller holds the API lock. */
	r = qcow2_virtual_size(out->base_file, &out->base_virtual_bytes);
	if (r < 0) {
		log_err("images", "%s: base file %s: %s", image_id, out->base_file, strerror(-r));
		return -EIO;
	}
	return 0;
}
