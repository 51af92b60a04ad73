/* The hypervisor, through libvirt. Nothing outside vmm/ includes libvirt
 * headers: the rest of hostd sees domains by name (the instance id) and a
 * few states. Every domain is transient: it exists while its QEMU runs, so
 * "no domain" means the VM is off. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

struct vmm;

enum vmm_accel { VMM_ACCEL_TCG, VMM_ACCEL_KVM };

/* What the reconciler needs to know about a VM. */
enum vmm_state {
	VMM_GONE,      /* no domain: never started, stopped, or powered off */
	VMM_PAUSED,    /* started paused (launch not finished) */
	VMM_RUNNING,
	VMM_OFF,       /* guest powered off but QEMU still waits (-no-shutdown) */
	VMM_CRASHED,
	VMM_OTHER,
};

/* Called from libvirt's event thread when a domain starts, stops or shuts
 * down; must not call back into vmm. */
typedef void (*vmm_event_fn)(void *opaque, const char *name);

/* Chooses the accelerator: want is auto|kvm|tcg. auto takes KVM only when
 * /dev/kvm opens read-write and the CPU has vmx or svm (a /dev/kvm without
 * them cannot run ordinary guests). why gets a sentence for the log.
 * -ENODEV when kvm is demanded but unusable. */
int vmm_choose_accel(const char *want, enum vmm_accel *out, char *why, size_t whylen);
/* The same decision from explicit facts (unit tests). */
enum vmm_accel vmm_accel_from(bool kvm_opens, const char *cpuinfo_flags, char *why, size_t whylen);

/* Connects to uri, or to the embedded driver rooted at <state_dir>/libvirt
 * when uri is NULL or empty. Starts libvirt's event loop thread. */
int vmm_open(struct vmm **out, const char *uri, const char *state_dir, vmm_event_fn fn, void *opaque);
void vmm_close(struct vmm *v);
const char *vmm_uri(const struct vmm *v);
/* The embedded driver, whose qemu.conf hostd writes. */
bool vmm_embedded(const struct vmm *v);

/* A guest as the domain XML describes it. */
struct vmm_disk {
	const char *path;            /* qcow2 file */
	const char *target;          /* vda, vdb, ... */
	bool readonly;
	const char *serial;          /* the volume id (guests see it as the disk serial); NULL: none */
	long long iops;              /* iotune total_iops_sec; 0: no limit */
	long long bytes_sec;         /* iotune total_bytes_sec; 0: no limit */
};
/* A NIC on a tap hostd created (managed='no': libvirt opens it, never
 * creates or deletes it). */
struct vmm_nic {
	const char *tap;
	const char *mac;
};
/* One <disk> element (pure: used by the domain XML and for hot-plug). */
void vmm_disk_xml(const struct vmm_disk *d, struct buf *out);
struct vmm_spec {
	const char *name;            /* the instance id */
	const char *uuid;            /* SMBIOS/domain uuid (begins with ec2) */
	const char *instance_type;   /* SMBIOS product name */
	const char *az;
	int vcpus;
	long memory_mib;
	enum vmm_accel accel;
	int tb_cache_mib;            /* TCG only */
	const struct vmm_disk *disks;
	size_t ndisks;
	const char *console_log;     /* serial console appended to this file */
	/* Until VPC networking exists: a user-mode NIC isolated from the host
	 * (restrict=on) whose only way out is 169.254.169.254:80, served per
	 * connection by this program (argv, run by QEMU, no shell). NULL: no NIC. */
	const char *const *imds_argv;
	const char *mac;
	/* VPC ENIs, in device index order; when present the user-mode NIC
	 * above is left out (metadata comes through the VPC router). */
	const struct vmm_nic *nics;
	size_t nnics;
};

/* The domain XML for spec (pure: golden-file tested). */
void vmm_domain_xml(const struct vmm_spec *spec, struct buf *out);

/* The <interface> element of one NIC (hot-plug; pure). */
void vmm_nic_xml(const struct vmm_nic *n, struct buf *out);
/* Hot-plugs / unplugs a NIC of a running domain (live only; unplug asks the
 * guest, as a PCI eject does). -ENOENT when the VM is not running. */
int vmm_attach_nic(struct vmm *v, const char *name, const struct vmm_nic *nic, char *err, size_t errlen);
int vmm_detach_nic(struct vmm *v, const char *name, const struct vmm_nic *nic, char *err, size_t errlen);

/* Creates and starts the domain with its vCPUs paused. -EEXIST when a
 * domain of that name already runs. err receives libvirt's message. */
int vmm_start_paused(struct vmm *v, const struct vmm_spec *spec, char *err, size_t errlen);
int vmm_resume(struct vmm *v, const char *name);
/* Pauses the vCPUs (QEMU drains in-flight I/O first): disks are quiet
 * until vmm_resume. */
int vmm_suspend(struct vmm *v, const char *name);
/* ACPI power button. */
int vmm_shutdown(struct vmm *v, const char *name);
/* ACPI reboot (guest-cooperative); hard reset when hard. */
int vmm_reboot(struct vmm *v, const char *name, bool hard);
/* Pulls the plug; 0 also when the domain was already gone. */
int vmm_destroy(struct vmm *v, const char *name);
int vmm_state(struct vmm *v, const char *name, enum vmm_state *out);
/* Names of all domains libvirt knows (running or not); malloc'd array of
 * malloc'd strings. */
int vmm_list(struct vmm *v, char ***names, size_t *n);
void vmm_list_free(char **names, size_t n);

/* The guest's screen as a JPEG (malloc'd). */
int vmm_screenshot_jpeg(struct vmm *v, const char *name, unsigned char **jpg, size_t *len,
			int *width, int *height);
/* PNG or PPM (P6), as QEMU's screendump writes them, to JPEG; pure, unit
 * tested. */
int vmm_png_to_jpeg(const unsigned char *png, size_t len, int quality, unsigned char **jpg,
		    size_t *jlen, int *width, int *height);
int vmm_ppm_to_jpeg(const unsigned char *ppm, size_t len, int quality, unsigned char **jpg,
		    size_t *jlen, int *width, int *height);

/* Storage on a running domain (EBS). target is the disk's dev (vda, vdf).
 * All return -ENOENT when the domain is not running. */
/* The file the domain's disk `target` currently writes to (the top of its
 * chain, as libvirt reports it). -ENODEV when no such disk. */
int vmm_disk_source(struct vmm *v, const char *name, const char *target, char *out, size_t len);
/* Live external disk-only snapshot of one disk: QEMU switches the disk to
 * new_top, a qcow2 the caller created already (backing: the current top).
 * Other disks are left alone; libvirt keeps no snapshot metadata. */
int vmm_disk_snapshot(struct vmm *v, const char *name, const char *target, const char *new_top);
/* Changes the I/O limits of the disk `target` while the guest runs
 * (iotune total_iops_sec / total_bytes_sec; 0 lifts a limit). */
int vmm_disk_set_iotune(struct vmm *v, const char *name, const char *target, long long iops, long long bytes_sec);
/* Hot-plugs a disk into the running domain. */
int vmm_attach_disk(struct vmm *v, const char *name, const struct vmm_disk *d);
/* Asks the guest to release the disk `target` and waits up to wait_ms for
 * it to go; -ETIMEDOUT when it is still there. */
int vmm_detach_disk(struct vmm *v, const char *name, const char *target, int wait_ms);
/* Grows the disk `target` to bytes while the guest runs (it sees the new
 * size at once). */
int vmm_disk_resize(struct vmm *v, const char *name, const char *target, unsigned long long bytes);
