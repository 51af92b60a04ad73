/* hostd's INI configuration: [host], [throttle] and [account NNNNNNNNNNNN]
 * sections. Unknown sections or keys are errors, so a typo never silently
 * falls back to a default. */
#pragma once
#include <stddef.h>

/* An IAM instance profile the account may launch with (hostd has no IAM
 * API: profiles are declared here) and the role its credentials stand for. */
struct config_profile {
	char name[129];              /* IAM's [A-Za-z0-9+=,.@_-], 1-128 */
	char role[65];               /* the same characters, 1-64 */
};

struct config_account {
	char id[13];
	char access_key[129];
	char secret_key[129];
	int vcpu_quota;              /* 0: the host's default_vcpu_quota */
	struct config_profile *profiles;
	size_t nprofiles;
};

struct config {
	char region[64];
	char availability_zone[72];
	char listen[128];            /* ADDR:PORT */
	size_t max_body_bytes;       /* request bodies larger than this are refused */
	/* Per-account token buckets (EC2 throttles describe and mutating calls
	 * separately): burst is the bucket size, rate the refill per second. */
	double describe_rate, describe_burst;
	double mutate_rate, mutate_burst;
	int max_instances;           /* DescribeAccountAttributes max-instances */
	/* Virtualisation. */
	char libvirt_uri[512];       /* "" = qemu:///embed?root=<state>/libvirt */
	char accel[8];               /* auto | kvm | tcg */
	int tb_cache_mib;            /* TCG translation cache per guest */
	/* Capacity: the budget instances may reserve; never overcommitted. */
	long memory_mib;             /* 0 = host RAM minus 1 GiB */
	int vcpus;                   /* 0 = 16 per host CPU */
	int default_vcpu_quota;      /* per account, like EC2's running On-Demand quota */
	int stop_timeout_s;          /* ACPI shutdown grace before a forced stop */
	int terminated_visible_s;    /* how long terminated instances stay listed */
	/* Storage: a volume or snapshot layer deeper than this is flattened in
	 * the background (reads slow down past about 16). */
	int flatten_depth;
	/* ImportImage: colon-separated absolute directories; only regular files
	 * whose real path lies under one may be imported. "" = any file hostd
	 * can read (a single-user homelab's trust decision). */
	char import_dirs[4096];
	/* Public and Elastic IPs come from this pool; its first address is the
	 * public router (net/publicnet.h). */
	char public_cidr[20];
	/* Outbound traffic from public addresses to a real network: the host
	 * interface it leaves through, masqueraded. "" (the default): none. */
	char public_uplink[16];
	/* The namespace that plays the host for the uplink (tests); "": the
	 * host's own. */
	char public_uplink_netns[64];
	/* Instance profile credentials: how long each set lives, and how long
	 * before its expiry the next set is minted (0: a sixth of the
	 * lifetime), while the old one stays valid until it expires. */
	int iam_credential_lifetime_s;
	int iam_credential_refresh_s;
	struct config_account *accounts;
	size_t naccounts;
};

/* Fills cfg with defaults. */
void config_defaults(struct config *cfg);
/* Reads path over the defaults. Returns 0 or -errno; err gets a message
 * with the line number on parse errors. */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen);
/* Same, from a string (tests, fuzzing). */
int config_parse(struct config *cfg, const char *text, char *err, size_t errlen);
void config_free(struct config *cfg);
/* The account's profile called name, or NULL. */
const struct config_profile *config_profile_find(const struct config *cfg, const char *account,
						 const char *name);
