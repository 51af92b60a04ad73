/* The instance manager: owns the hypervisor connection and a reconciler
 * thread that drives every instance from the state the API recorded
 * (pending, stopping, shutting-down) to what the VM really is, and notices
 * what guests do on their own (poweroff). The same pass runs at start, so a
 * restarted hostd picks up running guests and the ones that stopped while
 * it was away. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hostd;

/* Chooses the accelerator, connects to libvirt, reconciles once, starts
 * the thread. */
int instmgr_start(struct hostd *h);
void instmgr_stop(struct hostd *h);
/* Wakes the reconciler (after an API mutation). */
void instmgr_kick(struct hostd *h);

/* The capacity budget and what non-stopped instances reserve; account NULL
 * for the whole host. Caller holds h->lock. */
struct capacity {
	long host_vcpus, host_mib;        /* budget */
	long used_vcpus, used_mib;        /* host-wide reservations */
	long quota_vcpus, account_vcpus;  /* the account's quota and use */
};
int instmgr_capacity(struct hostd *h, const char *account, struct capacity *c);

/* Paths under the state directory (absolute when state_dir is). */
int instance_dir(const struct hostd *h, const char *id, char *out, size_t len);
int instance_console_path(const struct hostd *h, const char *id, char *out, size_t len);
int state_path(const struct hostd *h, const char *rel, char *out, size_t len);

/* Hypervisor calls the API makes directly (quick ones). -ENOENT when the
 * VM is not running. */
int instmgr_reboot(struct hostd *h, const char *id);
/* Hot-plug of one ENI into / out of a running instance: the tap, the
 * domain's NIC, the tap onto its bridge (attach) or out (detach). Caller
 * holds h->lock. -ENOENT when the VM is not running. */
int instmgr_nic_attach(struct hostd *h, const char *id, const char *eni_id, char *err, size_t errlen);
int instmgr_nic_detach(struct hostd *h, const char *id, const char *eni_id, char *err, size_t errlen);
int instmgr_screenshot(struct hostd *h, const char *id, unsigned char **jpg, size_t *len, int *w, int *ht);
