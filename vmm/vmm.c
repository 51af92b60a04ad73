/* libvirt connection, accelerator choice, lifecycle and events. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "lib/log.h"
#include "lib/util.h"
#include "vmm/vmm.h"

struct vmm {
	virConnectPtr conn;
	char uri[4200];
	int cb_id;
	vmm_event_fn fn;
	void *opaque;
};

static pthread_once_t event_once = PTHREAD_ONCE_INIT;
static int event_ok;

/* libvirt dispatches domain events (and the embedded driver's timers) from
 * the default event loop, which some thread must run for the process'
 * lifetime. */
static void *event_loop(void *arg)
{
	(void)arg;
	for (;;)
		if (virEventRunDefaultImpl() < 0)
			log_err("vmm", "event loop: %s", virGetLastErrorMessage());
	return NULL;
}

static void event_init(void)
{
	pthread_t t;

	if (virEventRegisterDefaultImpl() < 0)
		return;
	if (pthread_create(&t, NULL, event_loop, NULL) != 0)
		return;
	pthread_detach(t);
	event_ok = 1;
}

/* libvirt prints every error to stderr by default; hostd logs the ones it
 * cares about where it decides. */
static void quiet(void *opaque, virErrorPtr err)
{
	(void)opaque;
	(void)err;
}

enum vmm_accel vmm_accel_from(bool kvm_opens, const char *flags, char *why, size_t whylen)
{
	bool hw = false;

	if (flags) {
		/* Whole words only: "vmx" but not "vmx_foo" lookalikes. */
		for (const char *p = flags; *p;) {
			size_t n;

			while (*p == ' ' || *p == '\t')
				p++;
			n = strcspn(p, " \t\n");
			if ((n == 3 && (!strncmp(p, "vmx", 3) || !strncmp(p, "svm", 3))))
				hw = true;
			p += n;
			if (*p == '\n')
				break;
		}
	}
	if (kvm_opens && hw) {
		snprintf(why, whylen, "KVM: /dev/kvm opens and the CPU has hardware virtualisation");
		return VMM_ACCEL_KVM;
	}
	if (!kvm_opens)
		snprintf(why, whylen, "TCG: /dev/kvm is missing or cannot be opened");
	else
		snprintf(why, whylen, "TCG: /dev/kvm opens but the CPU has no vmx/svm, so it cannot run ordinary guests");
	return VMM_ACCEL_TCG;
}

int vmm_choose_accel(const char *want, enum vmm_accel *out, char *why, size_t whylen)
{
	char line[8192], *flags = NULL;
	bool opens = false;
	FILE *f;
	int fd;

	if (!strcmp(want, "tcg")) {
		snprintf(why, whylen, "TCG: configured (accel = tcg)");
		*out = VMM_ACCEL_TCG;
		return 0;
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		opens = true;
		close(fd);
	}
	f = fopen("/proc/cpuinfo", "re");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "flags", 5)) {
				flags = strchr(line, ':');
				break;
			}
		fclose(f);
	}
	*out = vmm_accel_from(opens, flags ? flags + 1 : NULL, why, whylen);
	if (!strcmp(want, "kvm") && *out != VMM_ACCEL_KVM)
		return -ENODEV;
	return 0;
}

static void lifecycle_cb(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct vmm *v = opaque;

	(void)conn;
	(void)detail;
	if (event == VIR_DOMAIN_EVENT_STOPPED || event == VIR_DOMAIN_EVENT_SHUTDOWN ||
	    event == VIR_DOMAIN_EVENT_STARTED || event == VIR_DOMAIN_EVENT_CRASHED ||
	    event == VIR_DOMAIN_EVENT_SUSPENDED || event == VIR_DOMAIN_EVENT_RESUMED)
		v->fn(v->opaque, virDomainGetName(dom));
}

/* The embedded driver reads <root>/etc/qemu.conf. stdio_handler "file":
 * no virtlogd runs. QEMU as root: the caps cache is then checked against
 * root's access to /dev/kvm, the same access it was probed with;
 * otherwise a /dev/kvm that only root can open invalidates the cache on
 * every domain start, re-probing QEMU for seconds each time. */
static int write_embed_conf(const char *root)
{
	static const char conf[] = "# written by hostd\n"
				   "stdio_handler = \"file\"\n"
				   "user = \"root\"\n"
				   "group = \"root\"\n"
				   "remember_owner = 0\n"
				   /* QEMU's own seccomp filter (spawn=deny) would kill
				    * a guest whose metadata NIC starts the per-connection
				    * responder; VPC networking will replace that NIC. */
				   "seccomp_sandbox = 0\n"
				   /* No per-VM cgroups: hostd sets no cgroup tunables
				    * (EBS limits are QEMU's own throttling), and a guest
				    * in libvirt's cgroups booted 1.5-2 s slower under TCG
				    * here (the cpu controller; bench/README.md). */
				   "cgroup_controllers = [ ]\n";
	char dir[4200], path[4300], tmp[4400];
	int fd, ret = 0;

	if (snprintf(dir, sizeof(dir), "%s/etc", root) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	if (mkdir(root, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/qemu.conf", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, conf, sizeof(conf) - 1) != (ssize_t)(sizeof(conf) - 1) || fsync(fd) < 0)
		ret = -EIO;
	close(fd);
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp);
	return ret;
}

int vmm_open(struct vmm **out, const char *uri, const char *state_dir, vmm_event_fn fn, void *opaque)
{
	struct vmm *v = xcalloc(1, sizeof(*v));
	int r;

	v->cb_id = -1;
	v->fn = fn;
	v->opaque = opaque;
	virSetErrorFunc(NULL, quiet);
	/* libvirt's own log (errors it handles itself included) goes to a
	 * file in the state directory, not hostd's stderr, unless asked. */
	if (!getenv("LIBVIRT_LOG_OUTPUTS")) {
		char lo[4200];

		if (snprintf(lo, sizeof(lo), "3:file:%s/libvirt.log", state_dir) < (int)sizeof(lo))
			setenv("LIBVIRT_LOG_OUTPUTS", lo, 1);
	}
	pthread_once(&event_once, event_init);
	if (!event_ok) {
		log_err("vmm", "cannot start libvirt's event loop");
		r = -EIO;
		goto fail;
	}
	if (uri && *uri) {
		snprintf(v->uri, sizeof(v->uri), "%s", uri);
	} else {
		char root[4096];

		if (snprintf(root, sizeof(root), "%s/libvirt", state_dir) >= (int)sizeof(root) ||
		    snprintf(v->uri, sizeof(v->uri), "qemu:///embed?root=%s", root) >= (int)sizeof(v->uri)) {
			r = -ENAMETOOLONG;
			goto fail;
		}
		r = write_embed_conf(root);
		if (r < 0) {
			log_err("vmm", "%s/etc/qemu.conf: %s", root, strerror(-r));
			goto fail;
		}
	}
	v->conn = virConnectOpen(v->uri);
	if (!v->conn) {
		log_err("vmm", "cannot connect to %s: %s", v->uri, virGetLastErrorMessage());
		r = -EIO;
		goto fail;
	}
	if (fn) {
		v->cb_id = virConnectDomainEventRegisterAny(v->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
							    VIR_DOMAIN_EVENT_CALLBACK(lifecycle_cb), v, NULL);
		if (v->cb_id < 0) {
			log_err("vmm", "cannot register for domain events: %s", virGetLastErrorMessage());
			r = -EIO;
			goto fail;
		}
	}
	log_info("vmm", "connected to %s", v->uri);
	*out = v;
	return 0;
fail:
	vmm_close(v);
	return r;
}

void vmm_close(struct vmm *v)
{
	if (!v)
		return;
	if (v->conn) {
		if (v->cb_id >= 0)
			virConnectDomainEventDeregisterAny(v->conn, v->cb_id);
		virConnectClose(v->conn);
	}
	free(v);
}

const char *vmm_uri(const struct vmm *v) { return v->uri; }

bool vmm_embedded(const struct vmm *v) { return !strncmp(v->uri, "qemu:///embed", 13); }

static virDomainPtr lookup(struct vmm *v, const char *name)
{
	return virDomainLookupByName(v->conn, name);
}

static bool no_domain(void)
{
	virErrorPtr e = virGetLastError();

	return e && e->code == VIR_ERR_NO_DOMAIN;
}

int vmm_start_paused(struct vmm *v, const struct vmm_spec *spec, char *err, size_t errlen)
{
	struct buf xml = BUF_INIT;
	virDomainPtr dom;
	int ret = 0;

	dom = lookup(v, spec->name);
	if (dom) {
		virDomainFree(dom);
		snprintf(err, errlen, "domain %s exists", spec->name);
		return -EEXIST;
	}
	vmm_domain_xml(spec, &xml);
	dom = virDomainCreateXML(v->conn, xml.data, VIR_DOMAIN_START_PAUSED);
	if (!dom) {
		snprintf(err, errlen, "%s", virGetLastErrorMessage());
		ret = -EIO;
		goto out;
	}
	virDomainFree(dom);
out:
	buf_free(&xml);
	return ret;
}

static int nic_op(struct vmm *v, const char *name, const struct vmm_nic *nic, bool attach, char *err, size_t errlen)
{
	struct buf xml = BUF_INIT;
	virDomainPtr dom = lookup(v, name);
	int ret = 0, r;

	if (!dom)
		return no_domain() ? -ENOENT : -EIO;
	vmm_nic_xml(nic, &xml);
	r = attach ? virDomainAttachDeviceFlags(dom, xml.data, VIR_DOMAIN_AFFECT_LIVE)
		   : virDomainDetachDeviceFlags(dom, xml.data, VIR_DOMAIN_AFFECT_LIVE);
	if (r < 0) {
		snprintf(err, errlen, "%s", virGetLastErrorMessage());
		ret = virDomainIsActive(dom) == 0 ? -ENOENT : -EIO;
	}
	virDomainFree(dom);
	buf_free(&xml);
	return ret;
}

int vmm_attach_nic(struct vmm *v, const char *name, const struct vmm_nic *nic, char *err, size_t errlen)
{
	return nic_op(v, name, nic, true, err, errlen);
}

int vmm_detach_nic(struct vmm *v, const char *name, const struct vmm_nic *nic, char *err, size_t errlen)
{
	return nic_op(v, name, nic, false, err, errlen);
}

/* Runs op on the named domain; -ENOENT when there is none. */
static int with_domain(struct vmm *v, const char *name, int (*op)(virDomainPtr, unsigned int), unsigned int flags,
		       const char *what)
{
	virDomainPtr dom = lookup(v, name);
	int ret = 0;

	if (!dom)
		return no_domain() ? -ENOENT : -EIO;
	if (op(dom, flags) < 0) {
		if (virDomainIsActive(dom) == 0) {
			ret = -ENOENT;
		} else {
			log_err("vmm", "%s %s: %s", what, name, virGetLastErrorMessage());
			ret = -EIO;
		}
	}
	virDomainFree(dom);
	return ret;
}

static int op_resume(virDomainPtr d, unsigned int f) { (void)f; return virDomainResume(d); }
static int op_suspend(virDomainPtr d, unsigned int f) { (void)f; return virDomainSuspend(d); }
static int op_shutdown(virDomainPtr d, unsigned int f) { return virDomainShutdownFlags(d, f); }
static int op_reboot(virDomainPtr d, unsigned int f) { return virDomainReboot(d, f); }
static int op_reset(virDomainPtr d, unsigned int f) { return virDomainReset(d, f); }
static int op_destroy(virDomainPtr d, unsigned int f) { return virDomainDestroyFlags(d, f); }

int vmm_resume(struct vmm *v, const char *name) { return with_domain(v, name, op_resume, 0, "resume"); }
int vmm_suspend(struct vmm *v, const char *name) { return with_domain(v, name, op_suspend, 0, "suspend"); }

int vmm_shutdown(struct vmm *v, const char *name)
{
	return with_domain(v, name, op_shutdown, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN, "shutdown");
}

int vmm_reboot(struct vmm *v, const char *name, bool hard)
{
	if (hard)
		return with_domain(v, name, op_reset, 0, "reset");
	return with_domain(v, name, op_reboot, VIR_DOMAIN_REBOOT_ACPI_POWER_BTN, "reboot");
}

int vmm_destroy(struct vmm *v, const char *name)
{
	int r = with_domain(v, name, op_destroy, 0, "destroy");

	return r == -ENOENT ? 0 : r;
}

int vmm_state(struct vmm *v, const char *name, enum vmm_state *out)
{
	virDomainPtr dom = lookup(v, name);
	int st, reason, ret = 0;

	if (!dom) {
		if (!no_domain())
			return -EIO;
		*out = VMM_GONE;
		return 0;
	}
	if (virDomainGetState(dom, &st, &reason, 0) < 0) {
		ret = no_domain() ? 0 : -EIO;
		*out = VMM_GONE;
		goto out;
	}
	switch (st) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
		*out = VMM_RUNNING;
		break;
	case VIR_DOMAIN_PAUSED:
		/* A guest that powered off while nobody held the connection
		 * waits in QEMU's -no-shutdown state, reported as paused. */
		if (reason == VIR_DOMAIN_PAUSED_SHUTTING_DOWN)
			*out = VMM_OFF;
		else if (reason == VIR_DOMAIN_PAUSED_CRASHED)
			*out = VMM_CRASHED;
		else
			*out = VMM_PAUSED;
		break;
	case VIR_DOMAIN_SHUTDOWN:
		*out = VMM_OFF;
		break;
	case VIR_DOMAIN_SHUTOFF:
		*out = VMM_GONE;
		break;
	case VIR_DOMAIN_CRASHED:
		*out = VMM_CRASHED;
		break;
	default:
		*out = VMM_OTHER;
	}
out:
	virDomainFree(dom);
	return ret;
}

int vmm_list(struct vmm *v, char ***names, size_t *n)
{
	virDomainPtr *doms = NULL;
	int cnt = virConnectListAllDomains(v->conn, &doms, 0);

	if (cnt < 0)
		return -EIO;
	*names = xcalloc((size_t)cnt + 1, sizeof(char *));
	for (int i = 0; i < cnt; i++) {
		(*names)[i] = xstrdup(virDomainGetName(doms[i]));
		virDomainFree(doms[i]);
	}
	free(doms);
	*n = (size_t)cnt;
	return 0;
}

void vmm_list_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int vmm_screenshot_jpeg(struct vmm *v, const char *name, unsigned char **jpg, size_t *len, int *width,
			int *height)
{
	virDomainPtr dom = lookup(v, name);
	virStreamPtr st = NULL;
	struct buf img = BUF_INIT;
	char *mime = NULL;
	int ret = 0;

	if (!dom)
		return no_domain() ? -ENOENT : -EIO;
	st = virStreamNew(v->conn, 0);
	if (!st) {
		ret = -EIO;
		goto out;
	}
	mime = virDomainScreenshot(dom, st, 0, 0);
	if (!mime) {
		log_err("vmm", "screenshot %s: %s", name, virGetLastErrorMessage());
		ret = virDomainIsActive(dom) == 1 ? -EIO : -ENOENT;
		goto out;
	}
	for (;;) {
		char chunk[65536];
		int n = virStreamRecv(st, chunk, sizeof(chunk));

		if (n < 0) {
			log_err("vmm", "screenshot %s: %s", name, virGetLastErrorMessage());
			virStreamAbort(st);
			ret = -EIO;
			goto out;
		}
		if (n == 0)
			break;
		buf_add(&img, chunk, (size_t)n);
		if (img.len > (64u << 20)) { /* no sane screen is this big */
			virStreamAbort(st);
			ret = -EFBIG;
			goto out;
		}
	}
	virStreamFinish(st);
	if (!strcmp(mime, "image/png"))
		ret = vmm_png_to_jpeg((const unsigned char *)img.data, img.len, 85, jpg, len, width, height);
	else if (!strcmp(mime, "image/x-portable-pixmap"))
		ret = vmm_ppm_to_jpeg((const unsigned char *)img.data, img.len, 85, jpg, len, width, height);
	else
		ret = -EPROTO;
	if (ret < 0)
		log_err("vmm", "screenshot %s: cannot convert %s: %s", name, mime, strerror(-ret));
out:
	free(mime);
	buf_free(&img);
	if (st)
		virStreamFree(st);
	virDomainFree(dom);
	return ret;
}

/* The <disk> elements of a domain's live XML: for each, its target dev
 * and source file. A small scanner over libvirt's own formatting. */
struct xdisk {
	char target[32];
	char source[4096];
};

static void xml_attr(const char *from, const char *end, const char *pat, char *out, size_t len)
{
	const char *p = strstr(from, pat), *q;

	out[0] = '\0';
	if (!p || p >= end)
		return;
	p += strlen(pat);
	q = strchr(p, '\'');
	if (!q || q > end || (size_t)(q - p) >= len)
		return;
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = '\0';
}

static int domain_disks(virDomainPtr dom, struct xdisk **out, size_t *n)
{
	char *xml = virDomainGetXMLDesc(dom, 0);
	const char *p;
	struct xdisk *d = NULL;
	size_t cnt = 0;

	if (!xml)
		return -EIO;
	for (p = xml; (p = strstr(p, "<disk ")); ) {
		const char *end = strstr(p, "</disk>");

		if (!end)
			break;
		d = realloc(d, (cnt + 1) * sizeof(*d));
		if (!d)
			abort();
		xml_attr(p, end, "<source file='", d[cnt].source, sizeof(d[cnt].source));
		xml_attr(p, end, "<target dev='", d[cnt].target, sizeof(d[cnt].target));
		cnt++;
		p = end;
	}
	free(xml);
	*out = d;
	*n = cnt;
	return 0;
}

int vmm_disk_source(struct vmm *v, const char *name, const char *target, char *out, size_t len)
{
	virDomainPtr dom = lookup(v, name);
	struct xdisk *d = NULL;
	size_t n = 0;
	int ret = -ENODEV;

	if (!dom)
		return no_domain() ? -ENOENT : -EIO;
	if (domain_disks(dom, &d, &n) < 0) {
		ret = virDomainIsActive(dom) == 0 ? -ENOENT : -EIO;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (!strcmp(d[i].target, target)) {
			ret = snprintf(out, len, "%s", d[i].source) >= (int)len ? -ENAMETOOLONG : 0;
			break;
		}
out:
	free(d);
	virDomainFree(dom);
	return ret;
}

static void xesc(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '&': buf_adds(b, "&amp;"); break;
		case '\'': buf_adds(b, "&apos;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		default: buf_add(b, s, 1); break;
		}
	}
}

int vmm_disk_snapshot(struct vmm *v, const char *name, const char *target, const char *new_top)
{
	virDomainPtr dom = lookup(v, name);
	virDomainSnapshotPtr snap = NULL;
	struct xdisk *d = NULL;
	struct buf x = BUF_INIT;
	size_t n = 0;
	bool found = false;
	int ret = 0;

	if (!dom)
		return no_domain() ? -ENOENT : -EIO;
	if (domain_disks(dom, &d, &n) < 0) {
		ret = virDomainIsActive(dom) == 0 ? -ENOENT : -EIO;
		goto out;
	}
	/* A name of ours: libvirt's generated one (the time) leaks with
	 * NO_METADATA here. */
	buf_adds(&x, "<domainsnapshot><name>hostd-");
	xesc(&x, target);
	buf_adds(&x, "</name><disks>");
	for (size_t i = 0; i < n; i++) {
		if (!d[i].target[0])
			continue;
		buf_adds(&x, "<disk name='");
		xesc(&x, d[i].target);
		if (!strcmp(d[i].target, target)) {
			found = true;
			buf_adds(&x, "' snapshot='external' type='file'><driver type='qcow2'/><source file='");
			xesc(&x, new_top);
			buf_adds(&x, "'/></disk>");
		} else {
			buf_adds(&x, "' snapshot='no'/>");
		}
	}
	buf_adds(&x, "</disks></domainsnapshot>");
	if (!found) {
		ret = -ENODEV;
		goto out;
	}
	snap = virDomainSnapshotCreateXML(dom, x.data,
					  VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY | VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA |
						  VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT | VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC);
	if (!snap) {
		if (virDomainIsActive(dom) == 0) {
			ret = -ENOENT;
		} else {
			log_err("vmm", "%s: disk snapshot of %s: %s", name, target, virGetLastErrorMessage());
			ret = -EIO;
		}
	}
out:
	if (snap)
		virDomainSnapshotFree(snap);
	buf_free(&x);
	free(d);
	virDomainFree(dom);
	return ret;
}

int vmm_disk_resize(struct vmm *v, const char *name, const char *target, unsigned long long bytes)
{
	virDomainPtr dom = lookup(v, name);
	int ret = 0;

	if (!dom)
		return no_domain() ? -ENOENT : -EIO;
	if (virDomainBlockResize(dom, target, bytes, VIR_DOMAIN_BLOCK_RESIZE_BYTES) < 0) {
		if (virDomainIsActive(dom) == 0) {
			ret = -ENOENT;
		} else {
			log_err("vmm", "%s: resize %s: %s", name, target, virGetLastErrorMessage());
			ret = -EIO;
		}
	}
	virDomainFree(dom);
	return ret;
}

int vmm_disk_set_iotune(struct vmm *v, const char *name, const char *target, long long iops, long long bytes_sec)
{
	virDomainPtr dom = lookup(v, name);
	virTypedParameterPtr p = NULL;
	int n = 0, max = 0, ret = 0;

	if (!dom)
		return no_domain() ? -ENOENT : -EIO;
	/* Both given: libvirt keeps any limit a call leaves out; 0 lifts one. */
	if (virTypedParamsAddULLong(&p, &n, &max, VIR_DOMAIN_BLOCK_IOTUNE_TOTAL_IOPS_SEC,
				    (unsigned long long)(iops > 0 ? iops : 0)) < 0 ||
	    virTypedParamsAddULLong(&p, &n, &max, VIR_DOMAIN_BLOCK_IOTUNE_TOTAL_BYTES_SEC,
				    (unsigned long long)(bytes_sec > 0 ? bytes_sec : 0)) < 0) {
		ret = -ENOMEM;
		goto out;
	}
	if (virDomainSetBlockIoTune(dom, target, p, n, VIR_DOMAIN_AFFECT_LIVE) < 0) {
		if (virDomainIsActive(dom) == 0) {
			ret = -ENOENT;
		} else {
			log_err("vmm", "%s: iotune %s: %s", name, target, virGetLastErrorMessage());
			ret = -EIO;
		}
	}
out:
	virTypedParamsFree(p, n);
	virDomainFree(dom);
	return ret;
}

int vmm_attach_disk(struct vmm *v, const char *name, const struct vmm_disk *d)
{
	virDomainPtr dom = lookup(v, name);
	struct buf x = BUF_INIT;
	int ret = 0;

	if (!dom)
		return no_domain() ? -ENOENT : -EIO;
	vmm_disk_xml(d, &x);
	if (virDomainAttachDeviceFlags(dom, x.data, VIR_DOMAIN_AFFECT_LIVE) < 0) {
		if (virDomainIsActive(dom) == 0) {
			ret = -ENOENT;
		} else {
			log_err("vmm", "%s: attach %s: %s", name, d->target, virGetLastErrorMessage());
			ret = -EIO;
		}
	}
	buf_free(&x);
	virDomainFree(dom);
	return ret;
}

int vmm_detach_disk(struct vmm *v, const char *name, const char *target, int wait_ms)
{
	virDomainPtr dom = lookup(v, name);
	struct xdisk *d = NULL;
	struct buf x = BUF_INIT;
	size_t n = 0;
	int ret = -ENODEV;

	if (!dom)
		return no_domain() ? -ENOENT : -EIO;
	if (domain_disks(dom, &d, &n) < 0) {
		ret = virDomainIsActive(dom) == 0 ? -ENOENT : -EIO;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(d[i].target, target))
			continue;
		buf_adds(&x, "<disk type='file' device='disk'><source file='");
		xesc(&x, d[i].source);
		buf_adds(&x, "'/><target dev='");
		xesc(&x, target);
		buf_adds(&x, "' bus='virtio'/></disk>");
		ret = 0;
	}
	if (ret < 0)
		goto out;
	if (virDomainDetachDeviceFlags(dom, x.data, VIR_DOMAIN_AFFECT_LIVE) < 0) {
		ret = virDomainIsActive(dom) == 0 ? -ENOENT : -EIO;
		if (ret == -EIO)
			log_err("vmm", "%s: detach %s: %s", name, target, virGetLastErrorMessage());
		goto out;
	}
	/* The guest releases the device in its own time. */
	for (int waited = 0;; waited += 100) {
		char src[8];
		int r = vmm_disk_source(v, name, target, src, sizeof(src));

		if (r == -ENODEV || r == -ENOENT)
			break;
		if (waited >= wait_ms) {
			ret = -ETIMEDOUT;
			break;
		}
		usleep(100 * 1000);
	}
out:
	buf_free(&x);
	free(d);
	virDomainFree(dom);
	return ret;
}
