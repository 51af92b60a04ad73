/* The instance reconciler. The API records what the user asked for as EC2
 * states (pending, stopping, shutting-down); one thread compares each such
 * instance with its VM and moves it on. It never holds h->lock while
 * talking to libvirt or running qemu-img, and it writes every transition
 * as a compare-and-set on the state it read, so an API call that raced it
 * (a terminate during a launch) wins and the next pass acts on it. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hostd/config.h"
#include "hostd/hostd.h"
#include "hostd/act_iam.h"
#include "hostd/imdstree.h"
#include "hostd/instances.h"
#include "hostd/netsync.h"
#include "hostd/publicips.h"
#include "hostd/store.h"
#include "hostd/vpcs.h"
#include "lib/cmd.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/util.h"
#include "net/imdsl.h"
#include "net/vpcnet.h"
#include "storage/storage.h"
#include "storage/voltype.h"
#include "vmm/vmm.h"

/* Re-press the power button this often while stopping: a guest that was
 * still booting may have missed the first press. */
#define REPRESS_MS 5000

struct instmgr {
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool kicked, quit;
	enum vmm_accel accel;
	int64_t last_press_ms;
	char imds_pipe[4096];      /* the per-connection metadata responder, "" if missing */
	bool first_pass;           /* the next pass realises every VPC, not just checks */
};

#define MAX_ENIS 8

/* Taps into their VPC namespaces and subnet bridges (idempotent). */
static int plug_enis(struct hostd *h, const char *id, char *err, size_t errlen)
{
	struct eni_wire w[MAX_ENIS];
	size_t n = 0;
	int r;

	pthread_mutex_lock(&h->lock);
	r = eni_wires(h, id, w, MAX_ENIS, &n, false);
	pthread_mutex_unlock(&h->lock);
	for (size_t i = 0; r == 0 && i < n; i++)
		if ((r = net_tap_plug(w[i].tap, w[i].ns, w[i].bridge)) < 0)
			snprintf(err, errlen, "cannot plug %s into %s/%s", w[i].tap, w[i].ns, w[i].bridge);
	return r;
}

/* The instance's taps go (its VM is gone). */
static void unplug_enis(struct hostd *h, const char *id)
{
	struct eni_wire w[MAX_ENIS];
	size_t n = 0;

	pthread_mutex_lock(&h->lock);
	if (eni_wires(h, id, w, MAX_ENIS, &n, false) < 0)
		n = 0;
	pthread_mutex_unlock(&h->lock);
	for (size_t i = 0; i < n; i++)
		net_tap_delete(w[i].tap, w[i].ns);
}

struct work {
	char id[ID_MAX];
	char state[16];
	char type[32];
	char uuid[40];
	char az[72];
	char behavior[12];
	int vcpus;
	long mib;
	bool force;
	int64_t deadline;
	/* root volume */
	char vol_id[ID_MAX];
	char vol_state[16];
	char vol_file[4096];
	char base_file[4096];
	int64_t vol_gib;
};

int state_path(const struct hostd *h, const char *rel, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%s", h->state_dir, rel);

	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

int instance_dir(const struct hostd *h, const char *id, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/instances/%s", h->state_dir, id);

	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

int instance_console_path(const struct hostd *h, const char *id, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/instances/%s/console.log", h->state_dir, id);

	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

static void copy_col(sqlite3_stmt *st, int col, char *dst, size_t len)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, len, "%s", t ? (const char *)t : "");
}

/* Snapshot of every instance the reconciler may have to move. */
static int load_work(struct hostd *h, struct work **out, size_t *n)
{
	sqlite3_stmt *st;
	struct work *w = NULL;
	size_t cnt = 0, cap = 0;
	int rc;

	st = store_stmt(h->store,
			"SELECT i.id, i.state, i.instance_type, i.uuid, i.az, i.shutdown_behavior, i.vcpus, "
			"i.memory_mib, i.stop_force, COALESCE(i.stop_deadline_ms, 0), COALESCE(v.id, ''), "
			"COALESCE(v.state, ''), COALESCE(v.file, ''), COALESCE(s.file, ''), COALESCE(v.size_gib, 0) "
			"FROM instances i LEFT JOIN volumes v ON v.instance_id = i.id AND v.device = i.root_device_name "
			"AND v.state != 'deleted' LEFT JOIN snapshots s ON s.id = v.snapshot_id "
			"WHERE i.state IN ('pending', 'running', 'stopping', 'shutting-down') ORDER BY i.launch_ms, i.id");
	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct work *x;

		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			w = realloc(w, cap * sizeof(*w));
			if (!w)
				abort();
		}
		x = &w[cnt++];
		memset(x, 0, sizeof(*x));
		copy_col(st, 0, x->id, sizeof(x->id));
		copy_col(st, 1, x->state, sizeof(x->state));
		copy_col(st, 2, x->type, sizeof(x->type));
		copy_col(st, 3, x->uuid, sizeof(x->uuid));
		copy_col(st, 4, x->az, sizeof(x->az));
		copy_col(st, 5, x->behavior, sizeof(x->behavior));
		x->vcpus = sqlite3_column_int(st, 6);
		x->mib = sqlite3_column_int64(st, 7);
		x->force = sqlite3_column_int(st, 8) != 0;
		x->deadline = sqlite3_column_int64(st, 9);
		copy_col(st, 10, x->vol_id, sizeof(x->vol_id));
		copy_col(st, 11, x->vol_state, sizeof(x->vol_state));
		if (sqlite3_column_bytes(st, 12) > 0)
			state_path(h, (const char *)sqlite3_column_text(st, 12), x->vol_file, sizeof(x->vol_file));
		if (sqlite3_column_bytes(st, 13) > 0)
			state_path(h, (const char *)sqlite3_column_text(st, 13), x->base_file, sizeof(x->base_file));
		x->vol_gib = sqlite3_column_int64(st, 14);
	}
	if (rc != SQLITE_DONE) {
		free(w);
		return -EIO;
	}
	*out = w;
	*n = cnt;
	return 0;
}

/* Compare-and-set of the EC2 state; reason fields are replaced, the
 * transition reason only when given. Caller holds h->lock. */
static int cas_state(struct hostd *h, const char *id, const char *from, const char *to, const char *code,
		     const char *msg)
{
	sqlite3_stmt *st = store_stmt(h->store,
				      "UPDATE instances SET state = ?3, "
				      /* stopped and terminated keep the reason that got them there */
				      "state_reason_code = CASE WHEN ?4 IS NULL AND ?3 IN ('stopped', 'terminated') "
				      "THEN state_reason_code ELSE ?4 END, "
				      "state_reason_msg = CASE WHEN ?4 IS NULL AND ?3 IN ('stopped', 'terminated') "
				      "THEN state_reason_msg ELSE ?5 END, "
				      "stop_deadline_ms = NULL, stop_force = 0, "
				      "terminated_ms = CASE WHEN ?3 = 'terminated' THEN ?6 ELSE terminated_ms END "
				      "WHERE id = ?1 AND state = ?2");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, msg, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now_ms());
	if (sqlite3_step(st) != SQLITE_DONE)
		return -EIO;
	if (sqlite3_changes(store_db(h->store)) != 1)
		return -ESTALE;
	log_info("instance", "%s: %s -> %s", id, from, to);
	/* A stopped instance loses its automatic public IP (EC2); the NAT
	 * follows. Terminate releases the ENIs and syncs the VPC itself. */
	if (!strcmp(to, "stopped") || !strcmp(to, "terminated")) {
		if (pubip_release(h, id) < 0)
			return -EIO;
		if (!strcmp(to, "stopped"))
			netsync_instance(h, id);
	}
	return 0;
}

static void transition(struct hostd *h, const struct work *w, const char *to, const char *code, const char *msg)
{
	pthread_mutex_lock(&h->lock);
	cas_state(h, w->id, w->state, to, code, msg);
	pthread_mutex_unlock(&h->lock);
}

/* A new root volume: a qcow2 overlay on the AMI's read-only base file.
 * -u: the backing file is not opened, so creation costs the same whatever
 * the image's size or chain depth. */
static int create_overlay(const struct work *w, char *err, size_t errlen)
{
	struct buf e = BUF_INIT;
	char size[32];
	const char *argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", w->base_file, "-F", "qcow2",
			       w->vol_file, size, NULL };
	int r;

	snprintf(size, sizeof(size), "%lldG", (long long)w->vol_gib);
	if (!w->base_file[0] || access(w->base_file, R_OK) < 0) {
		snprintf(err, errlen, "AMI base file %s is missing", w->base_file[0] ? w->base_file : "(none)");
		return -ENOENT;
	}
	unlink(w->vol_file); /* a partial file from an interrupted launch */
	r = cmd_run(argv, NULL, &e);
	if (r != 0)
		snprintf(err, errlen, "qemu-img create: %s", r < 0 ? strerror(-r) : cmd_last_line(&e));
	buf_free(&e);
	return r == 0 ? 0 : -EIO;
}

static int mkdir_p2(const char *parent, const char *child)
{
	if (mkdir(parent, 0711) < 0 && errno != EEXIST)
		return -errno;
	if (mkdir(child, 0711) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The root disk and every attached data volume (EBS), with the I/O limits
 * of each volume's type. */
#define MAX_DISKS 16
struct disks {
	struct vmm_disk d[MAX_DISKS];
	char file[MAX_DISKS][4200];
	char target[MAX_DISKS][8];
	char serial[MAX_DISKS][ID_MAX];
};

static size_t load_disks(struct hostd *h, const struct work *w, struct disks *dk)
{
	sqlite3_stmt *st;
	size_t n = 1;

	memset(dk, 0, sizeof(*dk));
	dk->d[0].path = w->vol_file;
	dk->d[0].target = "vda";
	snprintf(dk->serial[0], sizeof(dk->serial[0]), "%s", w->vol_id);
	dk->d[0].serial = dk->serial[0];
	pthread_mutex_lock(&h->lock);
	st = store_stmt(h->store, "SELECT v.id, v.file, v.device, v.volume_type, v.size_gib, COALESCE(v.iops, 0), "
				  "COALESCE(v.throughput, 0), v.device = i.root_device_name FROM volumes v JOIN instances i "
				  "ON i.id = v.instance_id WHERE v.instance_id = ?1 AND v.state != 'deleted' ORDER BY v.device");
	if (st)
		sqlite3_bind_text(st, 1, w->id, -1, SQLITE_STATIC);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		struct voltype_iotune io;
		const char *dev = (const char *)sqlite3_column_text(st, 2);
		bool root = sqlite3_column_int(st, 7) != 0;
		size_t k = root ? 0 : n;

		voltype_iotune((const char *)sqlite3_column_text(st, 3), sqlite3_column_int64(st, 4),
			       sqlite3_column_int64(st, 5), sqlite3_column_int64(st, 6), &io);
		dk->d[k].iops = io.iops;
		dk->d[k].bytes_sec = io.bytes_sec;
		if (root || !dev || n == MAX_DISKS)
			continue;
		state_path(h, (const char *)sqlite3_column_text(st, 1), dk->file[k], sizeof(dk->file[k]));
		snprintf(dk->target[k], sizeof(dk->target[k]), "%s", storage_disk_target(dev));
		snprintf(dk->serial[k], sizeof(dk->serial[k]), "%s", (const char *)sqlite3_column_text(st, 0));
		dk->d[k].path = dk->file[k];
		dk->d[k].target = dk->target[k];
		dk->d[k].serial = dk->serial[k];
		n++;
	}
	if (st)
		sqlite3_reset(st);
	pthread_mutex_unlock(&h->lock);
	return n;
}

/* What a launch needs only once the guest runs, done on its own thread
 * while libvirt starts QEMU: the metadata tree (the guest reads it
 * seconds after boot) and the VPC refreshes API handlers deferred (the
 * DHCP host entry, the rules for the new tap; joined before resume). */
struct prep {
	struct hostd *h;
	const char *id;
	int imds, net;
};

static void *prep_main(void *p)
{
	struct prep *pr = p;
	struct eni_wire w[MAX_ENIS];
	size_t n = 0;

	pthread_mutex_lock(&pr->h->lock);
	pr->imds = imdstree_write(pr->h, pr->id);
	pr->net = eni_wires(pr->h, pr->id, w, MAX_ENIS, &n, false);
	for (size_t i = 0; pr->net == 0 && i < n; i++)
		if (i == 0 || strcmp(w[i].vpc, w[i - 1].vpc))
			pr->net = vpc_refresh_due(pr->h, w[i].vpc);
	pthread_mutex_unlock(&pr->h->lock);
	return NULL;
}

/* pending: make the root volume if this is the first boot, start the VM
 * paused, finish wiring, resume. */
static void launch(struct hostd *h, struct work *w)
{
	struct instmgr *m = h->instmgr;
	char dir[4200], parent[4200], console[4300], err[4800] = "";
	struct disks dk;
	struct vmm_spec spec = {
		.name = w->id, .uuid = w->uuid, .instance_type = w->type, .az = w->az,
		.vcpus = w->vcpus, .memory_mib = w->mib, .accel = m->accel,
		.tb_cache_mib = h->cfg->tb_cache_mib, .disks = dk.d, .ndisks = 1, .console_log = console,
	};
	bool first = !strcmp(w->vol_state, "creating");
	char imds_dir[4300], mac[20];
	const char *imds_argv[] = { NULL, "--dir", NULL, NULL };
	struct eni_wire enis[MAX_ENIS];
	struct vmm_nic nics[MAX_ENIS];
	size_t nenis = 0;
	struct prep pr = { .h = h, .id = w->id };
	pthread_t prep_thread;
	bool prep_started = false;
	int64_t t[6];
	int r;

	t[0] = now_ms();
	if (!w->vol_id[0]) {
		snprintf(err, sizeof(err), "no root volume");
		goto fail;
	}
	{
		/* Data volumes mapped at launch are made by storage/ after the
		 * RunInstances commit: wait for their files (the next pass). */
		sqlite3_stmt *st;
		bool wait = false;

		pthread_mutex_lock(&h->lock);
		st = store_stmt(h->store, "SELECT 1 FROM volumes WHERE instance_id = ?1 AND id != ?2 AND "
					  "state = 'creating'");
		if (st) {
			sqlite3_bind_text(st, 1, w->id, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, w->vol_id, -1, SQLITE_STATIC);
			wait = sqlite3_step(st) == SQLITE_ROW;
			sqlite3_reset(st);
		}
		pthread_mutex_unlock(&h->lock);
		if (wait)
			return;
	}
	state_path(h, "instances", parent, sizeof(parent));
	instance_dir(h, w->id, dir, sizeof(dir));
	instance_console_path(h, w->id, console, sizeof(console));
	if (mkdir_p2(parent, dir) < 0) {
		snprintf(err, sizeof(err), "mkdir %s: %s", dir, strerror(errno));
		goto fail;
	}
	snprintf(imds_dir, sizeof(imds_dir), "%s/imds", dir);
	t[1] = now_ms();
	/* VPC ENIs: the VPC's namespace, bridge and dnsmasq are made sure of,
	 * then a tap per ENI for QEMU to open (owned by the QEMU user when
	 * libvirtd runs QEMU unprivileged). */
	pthread_mutex_lock(&h->lock);
	r = eni_wires(h, w->id, enis, MAX_ENIS, &nenis, true);
	pthread_mutex_unlock(&h->lock);
	if (r < 0) {
		snprintf(err, sizeof(err), "cannot set up the instance's VPC network");
		goto fail;
	}
	for (size_t i = 0; i < nenis; i++) {
		net_tap_delete(enis[i].tap, enis[i].ns);
		if (net_tap_create(enis[i].tap, vmm_embedded(h->vmm) ? NULL : "libvirt-qemu") < 0) {
			snprintf(err, sizeof(err), "cannot create tap %s", enis[i].tap);
			goto fail;
		}
		nics[i].tap = enis[i].tap;
		nics[i].mac = enis[i].mac;
	}
	spec.nics = nics;
	spec.nnics = nenis;
	if (m->imds_pipe[0] && !nenis) {
		imds_argv[0] = m->imds_pipe;
		imds_argv[2] = imds_dir;
		spec.imds_argv = imds_argv;
		/* locally administered, stable per instance */
		snprintf(mac, sizeof(mac), "0e:%.2s:%.2s:%.2s:%.2s:%.2s", w->id + 2, w->id + 4, w->id + 6, w->id + 8,
			 w->id + 10);
		spec.mac = mac;
	}
	t[2] = now_ms();
	if (first) {
		if (create_overlay(w, err, sizeof(err)) < 0)
			goto fail;
		pthread_mutex_lock(&h->lock);
		{
			/* the root, and data volumes mapped at launch */
			sqlite3_stmt *st = store_stmt(h->store, "UPDATE volumes SET state = 'in-use', "
								"attach_state = 'attached' WHERE id = ?1 OR "
								"(instance_id = ?2 AND state = 'available')");

			if (st) {
				sqlite3_bind_text(st, 1, w->vol_id, -1, SQLITE_STATIC);
				sqlite3_bind_text(st, 2, w->id, -1, SQLITE_STATIC);
				sqlite3_step(st);
			}
		}
		pthread_mutex_unlock(&h->lock);
	}
	spec.ndisks = load_disks(h, w, &dk);
	t[3] = now_ms();
	if (pthread_create(&prep_thread, NULL, prep_main, &pr) != 0) {
		snprintf(err, sizeof(err), "cannot start a thread");
		goto fail;
	}
	prep_started = true;
	r = vmm_start_paused(h->vmm, &spec, err, sizeof(err));
	if (r < 0 && r != -EEXIST)
		goto fail;
	t[4] = now_ms();
	pthread_join(prep_thread, NULL);
	prep_started = false;
	if (pr.imds < 0) {
		snprintf(err, sizeof(err), "cannot write the metadata for %s", dir);
		goto fail;
	}
	/* No resume without the guest's rules in place: one more try, whole. */
	if (pr.net < 0) {
		pthread_mutex_lock(&h->lock);
		r = eni_wires(h, w->id, enis, MAX_ENIS, &nenis, false);
		for (size_t i = 0; r == 0 && i < nenis; i++)
			r = vpc_realize(h, enis[i].vpc);
		pthread_mutex_unlock(&h->lock);
		if (r < 0) {
			snprintf(err, sizeof(err), "cannot set up the instance's VPC network");
			goto fail;
		}
	}
	/* Wiring while the vCPUs wait: the taps move into the VPC namespace
	 * onto their subnet bridges (firewall rules join here later). */
	if (plug_enis(h, w->id, err, sizeof(err)) < 0)
		goto fail;
	if (vmm_resume(h->vmm, w->id) < 0) {
		snprintf(err, sizeof(err), "resume failed");
		goto fail;
	}
	t[5] = now_ms();
	/* Where launch time goes (bench/launch reads this line). */
	log_info("instance", "%s: started in %lld ms: taps %lld, disk %lld, libvirt %lld (metadata and network "
		 "alongside), wiring %lld", w->id, (long long)(t[5] - t[0]), (long long)(t[2] - t[1]),
		 (long long)(t[3] - t[2]), (long long)(t[4] - t[3]), (long long)(t[5] - t[4]));
	transition(h, w, "running", NULL, NULL);
	return;
fail:
	if (prep_started)
		pthread_join(prep_thread, NULL);
	log_err("instance", "%s: launch failed: %s", w->id, err);
	vmm_destroy(h->vmm, w->id);
	unplug_enis(h, w->id);
	/* A first launch that fails ends the instance, as EC2 does; a start
	 * from stopped goes back to stopped. */
	if (first)
		transition(h, w, "shutting-down", "Server.InternalError", "Server.InternalError: Internal error on launch");
	else
		transition(h, w, "stopped", "Server.InternalError", "Server.InternalError: Internal error on launch");
}

/* Volumes of a terminated instance: DeleteOnTermination ones go, the rest
 * become available. Caller holds h->lock. */
static void release_volumes(struct hostd *h, const char *id)
{
	sqlite3_stmt *st = store_stmt(h->store, "SELECT file FROM volumes WHERE instance_id = ?1 AND "
						"delete_on_termination = 1 AND state != 'deleted'");
	char path[4200];

	if (!st)
		return;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (state_path(h, (const char *)sqlite3_column_text(st, 0), path, sizeof(path)) == 0 &&
		    unlink(path) < 0 && errno != ENOENT)
			log_err("instance", "%s: unlink %s: %s", id, path, strerror(errno));
	}
	st = store_stmt(h->store, "UPDATE volumes SET state = 'deleted', attach_state = 'detached' "
				  "WHERE instance_id = ?1 AND delete_on_termination = 1");
	if (st) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_step(st);
	}
	st = store_stmt(h->store, "UPDATE volumes SET state = 'available', instance_id = NULL, device = NULL, "
				  "attach_state = NULL, attach_ms = NULL WHERE instance_id = ?1 AND state != 'deleted'");
	if (st) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_step(st);
	}
}

static void set_deadline(struct hostd *h, const struct work *w, int64_t deadline)
{
	sqlite3_stmt *st;

	pthread_mutex_lock(&h->lock);
	st = store_stmt(h->store, "UPDATE instances SET stop_deadline_ms = ?2 WHERE id = ?1 AND state = 'stopping'");
	if (st) {
		sqlite3_bind_text(st, 1, w->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, deadline);
		sqlite3_step(st);
	}
	pthread_mutex_unlock(&h->lock);
}

static void guest_powered_off(struct hostd *h, struct work *w)
{
	static const char code[] = "Client.InstanceInitiatedShutdown";
	static const char msg[] = "Client.InstanceInitiatedShutdown: Instance initiated shutdown";

	log_info("instance", "%s: the guest powered off (shutdown behaviour %s)", w->id, w->behavior);
	if (!strcmp(w->behavior, "terminate"))
		transition(h, w, "shutting-down", code, msg);
	else
		transition(h, w, "stopping", code, msg);
	instmgr_kick(h);
}

static void reconcile_one(struct hostd *h, struct work *w)
{
	struct instmgr *m = h->instmgr;
	enum vmm_state vs;
	int64_t now = now_ms();

	if (vmm_state(h->vmm, w->id, &vs) < 0) {
		log_err("instance", "%s: cannot read the VM's state", w->id);
		return;
	}
	if (!strcmp(w->state, "pending")) {
		switch (vs) {
		case VMM_GONE: launch(h, w); break;
		case VMM_PAUSED: {
			char err[256];

			if (plug_enis(h, w->id, err, sizeof(err)) == 0 && vmm_resume(h->vmm, w->id) == 0)
				transition(h, w, "running", NULL, NULL);
			break;
		}
		case VMM_RUNNING: transition(h, w, "running", NULL, NULL); break;
		default: vmm_destroy(h->vmm, w->id); instmgr_kick(h); break;
		}
	} else if (!strcmp(w->state, "running")) {
		switch (vs) {
		case VMM_RUNNING: break;
		case VMM_PAUSED:
			/* not while CreateSnapshots holds it still */
			if (!storage_vm_held(h, w->id))
				vmm_resume(h->vmm, w->id);
			break;
		case VMM_OFF:
		case VMM_CRASHED:
			vmm_destroy(h->vmm, w->id);
			/* fall through */
		case VMM_GONE: guest_powered_off(h, w); break;
		default: break;
		}
	} else if (!strcmp(w->state, "stopping")) {
		if (vs == VMM_GONE) {
			unplug_enis(h, w->id);
			transition(h, w, "stopped", NULL, NULL);
		} else if (w->force || vs == VMM_OFF || vs == VMM_CRASHED || vs == VMM_PAUSED ||
			   (w->deadline && now >= w->deadline)) {
			if (w->deadline && now >= w->deadline)
				log_info("instance", "%s: no ACPI shutdown within %d s, forcing", w->id,
					 h->cfg->stop_timeout_s);
			if (vmm_destroy(h->vmm, w->id) == 0) {
				unplug_enis(h, w->id);
				transition(h, w, "stopped", NULL, NULL);
			}
		} else if (!w->deadline) {
			vmm_shutdown(h->vmm, w->id);
			m->last_press_ms = now;
			set_deadline(h, w, now + (int64_t)h->cfg->stop_timeout_s * 1000);
		} else if (now - m->last_press_ms >= REPRESS_MS) {
			vmm_shutdown(h->vmm, w->id);
			m->last_press_ms = now;
		}
	} else if (!strcmp(w->state, "shutting-down")) {
		struct eni_wire enis[MAX_ENIS];
		size_t nenis = 0;

		if (vmm_destroy(h->vmm, w->id) < 0)
			return;
		unplug_enis(h, w->id);
		pthread_mutex_lock(&h->lock);
		if (eni_wires(h, w->id, enis, MAX_ENIS, &nenis, false) < 0)
			nenis = 0;
		if (store_begin(h->store) == 0) {
			if (cas_state(h, w->id, "shutting-down", "terminated", NULL, NULL) == 0) {
				release_volumes(h, w->id);
				enis_release(h, w->id);
				(void)vpcs_imds_push(h, w->id); /* forgotten by the metadata service */
			}
			/* keep the reason the API or the guest gave */
			store_commit(h->store);
		}
		for (size_t i = 0; i < nenis; i++)
			if (i == 0 || strcmp(enis[i].vpc, enis[i - 1].vpc))
				vpc_refresh_hosts(h, enis[i].vpc, true);
		pthread_mutex_unlock(&h->lock);
	}
}

/* Terminated instances stay listed for a while, as on EC2. */
static void purge(struct hostd *h)
{
	sqlite3_stmt *st;
	int64_t cutoff = now_ms() - (int64_t)h->cfg->terminated_visible_s * 1000;
	char **ids = NULL;
	size_t n = 0;

	pthread_mutex_lock(&h->lock);
	st = store_stmt(h->store, "SELECT id FROM instances WHERE state = 'terminated' AND terminated_ms <= ?1");
	if (st) {
		sqlite3_bind_int64(st, 1, cutoff);
		while (sqlite3_step(st) == SQLITE_ROW) {
			ids = realloc(ids, (n + 1) * sizeof(*ids));
			if (!ids)
				abort();
			ids[n++] = xstrdup((const char *)sqlite3_column_text(st, 0));
		}
	}
	if (n && store_begin(h->store) == 0) {
		for (size_t i = 0; i < n; i++) {
			static const char *const sql[] = {
				"DELETE FROM tags WHERE resource_id = ?1",
				"DELETE FROM volumes WHERE instance_id = ?1 AND state = 'deleted'",
				"DELETE FROM instances WHERE id = ?1",
			};

			for (size_t j = 0; j < ARRAY_SIZE(sql); j++) {
				st = store_stmt(h->store, sql[j]);
				if (st) {
					sqlite3_bind_text(st, 1, ids[i], -1, SQLITE_STATIC);
					sqlite3_step(st);
				}
			}
		}
		store_exec(h->store, "DELETE FROM reservations WHERE id NOT IN (SELECT reservation_id FROM instances)");
		store_commit(h->store);
	}
	pthread_mutex_unlock(&h->lock);
	for (size_t i = 0; i < n; i++) {
		char dir[4200], f[4400];

		if (instance_dir(h, ids[i], dir, sizeof(dir)) == 0) {
			snprintf(f, sizeof(f), "%s/console.log", dir);
			unlink(f);
			rmdir(dir);
		}
		log_info("instance", "%s: purged", ids[i]);
		free(ids[i]);
	}
	free(ids);
}

static void pass(struct hostd *h)
{
	struct work *w = NULL;
	size_t n = 0;

	pthread_mutex_lock(&h->lock);
	/* VPC namespaces and dnsmasq: everything at start, then repairs. */
	vpcs_reconcile(h, h->instmgr->first_pass);
	netsync_retry(h);
	/* instance profile states and credential rotation (their trees) */
	iam_tick(h);
	h->instmgr->first_pass = false;
	if (load_work(h, &w, &n) < 0)
		log_err("instance", "cannot read instances");
	pthread_mutex_unlock(&h->lock);
	for (size_t i = 0; i < n; i++)
		reconcile_one(h, &w[i]);
	free(w);
	purge(h);
	pthread_mutex_lock(&h->lock);
	/* Refreshes asked for that no launch of this pass did (last, so a
	 * launch can do its own alongside QEMU's start). */
	vpc_refresh_due(h, NULL);
	store_reset_all(h->store);
	pthread_mutex_unlock(&h->lock);
}

static void *thread_main(void *arg)
{
	struct hostd *h = arg;
	struct instmgr *m = h->instmgr;

	for (;;) {
		struct timespec ts;

		pthread_mutex_lock(&m->mu);
		if (m->quit) {
			pthread_mutex_unlock(&m->mu);
			break;
		}
		if (!m->kicked) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&m->cv, &m->mu, &ts);
		}
		m->kicked = false;
		if (m->quit) {
			pthread_mutex_unlock(&m->mu);
			break;
		}
		pthread_mutex_unlock(&m->mu);
		pass(h);
	}
	return NULL;
}

void instmgr_kick(struct hostd *h)
{
	struct instmgr *m = h->instmgr;

	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->kicked = true;
	pthread_cond_signal(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

/* From libvirt's event thread: a domain started, stopped or shut down. */
static void on_event(void *opaque, const char *name)
{
	struct hostd *h = opaque;

	log_debug("instance", "%s: domain event", name);
	instmgr_kick(h);
}

static const char *const state_dirs[] = { "instances", "volumes", "snapshots", "images" };

int instmgr_start(struct hostd *h)
{
	struct instmgr *m = xcalloc(1, sizeof(*m));
	pthread_condattr_t ca;
	char why[200];
	int r;

	pthread_mutex_init(&m->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);
	h->instmgr = m;
	for (size_t i = 0; i < ARRAY_SIZE(state_dirs); i++) {
		char path[4200];

		if (state_path(h, state_dirs[i], path, sizeof(path)) < 0 || (mkdir(path, 0711) < 0 && errno != EEXIST)) {
			log_err("instance", "cannot create %s/%s: %s", h->state_dir, state_dirs[i], strerror(errno));
			return -EIO;
		}
	}
	r = vmm_choose_accel(h->cfg->accel, &m->accel, why, sizeof(why));
	if (r < 0) {
		log_err("instance", "accel = %s but %s", h->cfg->accel, why);
		return r;
	}
	log_info("instance", "accelerator %s", why);
	{
		char exe[4000];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		char *slash;

		if (n > 0) {
			exe[n] = '\0';
			slash = strrchr(exe, '/');
			if (slash) {
				*slash = '\0';
				snprintf(m->imds_pipe, sizeof(m->imds_pipe), "%s/hostd-imds-pipe", exe);
			}
		}
		if (access(m->imds_pipe, X_OK) < 0) {
			log_err("instance", "%s is missing: guests get no network and no metadata service",
				m->imds_pipe);
			m->imds_pipe[0] = '\0';
		}
	}
	m->first_pass = true;
	{
		/* The VPCs' metadata service: hostd-imds beside hostd. */
		char exe[4000], bin[4100] = "hostd-imds";
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		char *slash;

		if (n > 0) {
			exe[n] = '\0';
			if ((slash = strrchr(exe, '/')))
				*slash = '\0';
			snprintf(bin, sizeof(bin), "%s/hostd-imds", exe);
		}
		if (access(bin, X_OK) < 0 || imdsl_start(&h->imdsl, bin) < 0) {
			log_err("instance", "cannot start %s: guests in VPCs get no metadata", bin);
		} else {
			pthread_mutex_lock(&h->lock);
			(void)vpcs_imds_push_all(h);
			pthread_mutex_unlock(&h->lock);
		}
	}
	r = vmm_open(&h->vmm, h->cfg->libvirt_uri, h->state_dir, on_event, h);
	if (r < 0)
		return r;
	/* The metadata NIC needs QEMU to spawn its responder, which libvirtd's
	 * default seccomp sandbox forbids; only the embedded driver's
	 * qemu.conf is ours to relax. */
	if (m->imds_pipe[0] && !vmm_embedded(h->vmm)) {
		log_info("instance", "%s: guests get no metadata NIC (the daemon's QEMU sandbox forbids its responder)",
			 vmm_uri(h->vmm));
		m->imds_pipe[0] = '\0';
	}
	/* Reconcile before serving: a restarted hostd answers with the truth. */
	pass(h);
	if (pthread_create(&m->thread, NULL, thread_main, h) != 0)
		return -EAGAIN;
	m->thread_started = true;
	return 0;
}

void instmgr_stop(struct hostd *h)
{
	struct instmgr *m = h->instmgr;

	if (!m)
		return;
	if (m->thread_started) {
		pthread_mutex_lock(&m->mu);
		m->quit = true;
		pthread_cond_signal(&m->cv);
		pthread_mutex_unlock(&m->mu);
		pthread_join(m->thread, NULL);
	}
	imdsl_stop(h->imdsl);
	h->imdsl = NULL;
	/* Guests keep running: they outlive hostd by design. */
	vmm_close(h->vmm);
	h->vmm = NULL;
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	free(m);
	h->instmgr = NULL;
}

static long host_mib(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);

	if (pages <= 0 || psz <= 0)
		return 0;
	return (long)((int64_t)pages * psz / (1024 * 1024));
}

int instmgr_capacity(struct hostd *h, const char *account, struct capacity *c)
{
	const struct config *cfg = h->cfg;
	sqlite3_stmt *st;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	memset(c, 0, sizeof(*c));
	c->host_vcpus = cfg->vcpus > 0 ? cfg->vcpus : 16 * (ncpu > 0 ? ncpu : 1);
	c->host_mib = cfg->memory_mib > 0 ? cfg->memory_mib : host_mib() - 1024;
	c->quota_vcpus = cfg->default_vcpu_quota;
	for (size_t i = 0; i < cfg->naccounts; i++)
		if (account && !strcmp(cfg->accounts[i].id, account) && cfg->accounts[i].vcpu_quota > 0)
			c->quota_vcpus = cfg->accounts[i].vcpu_quota;
	st = store_stmt(h->store, "SELECT COALESCE(SUM(vcpus), 0), COALESCE(SUM(memory_mib), 0), "
				  "COALESCE(SUM(CASE WHEN account_id = ?1 THEN vcpus ELSE 0 END), 0) FROM instances "
				  "WHERE state IN ('pending', 'running', 'stopping', 'shutting-down')");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, account ? account : "", -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return -EIO;
	c->used_vcpus = sqlite3_column_int64(st, 0);
	c->used_mib = sqlite3_column_int64(st, 1);
	c->account_vcpus = sqlite3_column_int64(st, 2);
	return 0;
}

int instmgr_reboot(struct hostd *h, const char *id)
{
	return h->vmm ? vmm_reboot(h->vmm, id, false) : -ENOENT;
}

int instmgr_screenshot(struct hostd *h, const char *id, unsigned char **jpg, size_t *len, int *w, int *ht)
{
	return h->vmm ? vmm_screenshot_jpeg(h->vmm, id, jpg, len, w, ht) : -ENOENT;
}

static int find_wire(struct hostd *h, const char *id, const char *eni_id, struct eni_wire *out)
{
	struct eni_wire w[MAX_ENIS];
	size_t n = 0;
	int r = eni_wires(h, id, w, MAX_ENIS, &n, true);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(w[i].id, eni_id)) {
			*out = w[i];
			return 0;
		}
	return -ENOENT;
}

int instmgr_nic_attach(struct hostd *h, const char *id, const char *eni_id, char *err, size_t errlen)
{
	struct eni_wire w;
	struct vmm_nic nic;
	enum vmm_state vs;
	int r;

	if (!h->vmm || vmm_state(h->vmm, id, &vs) < 0 || vs == VMM_GONE)
		return -ENOENT;
	if ((r = find_wire(h, id, eni_id, &w)) < 0) {
		snprintf(err, errlen, "no such ENI on %s", id);
		return r;
	}
	nic.tap = w.tap;
	nic.mac = w.mac;
	net_tap_delete(w.tap, w.ns);
	if ((r = net_tap_create(w.tap, vmm_embedded(h->vmm) ? NULL : "libvirt-qemu")) < 0) {
		snprintf(err, errlen, "cannot create tap %s", w.tap);
		return r;
	}
	if ((r = vmm_attach_nic(h->vmm, id, &nic, err, errlen)) < 0) {
		net_tap_delete(w.tap, w.ns);
		return r;
	}
	if ((r = net_tap_plug(w.tap, w.ns, w.bridge)) < 0) {
		snprintf(err, errlen, "cannot plug %s into %s", w.tap, w.bridge);
		vmm_detach_nic(h->vmm, id, &nic, err, errlen);
		net_tap_delete(w.tap, w.ns);
		return r;
	}
	log_info("instance", "%s: %s hot-plugged on %s", id, eni_id, w.tap);
	return 0;
}

int instmgr_nic_detach(struct hostd *h, const char *id, const char *eni_id, char *err, size_t errlen)
{
	struct eni_wire w;
	struct vmm_nic nic;
	int r;

	if ((r = find_wire(h, id, eni_id, &w)) < 0) {
		snprintf(err, errlen, "no such ENI on %s", id);
		return r;
	}
	nic.tap = w.tap;
	nic.mac = w.mac;
	r = h->vmm ? vmm_detach_nic(h->vmm, id, &nic, err, errlen) : -ENOENT;
	/* The guest may take its time to let go; the tap goes now either way. */
	net_tap_delete(w.tap, w.ns);
	if (r == 0)
		log_info("instance", "%s: %s unplugged", id, eni_id);
	return r == -ENOENT ? 0 : r;
}
