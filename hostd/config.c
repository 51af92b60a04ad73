#include "hostd/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/util.h"
#include "net/cidr.h"

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->region, sizeof(cfg->region), "us-east-1");
	snprintf(cfg->listen, sizeof(cfg->listen), "127.0.0.1:8788");
	cfg->max_body_bytes = 1 << 20;
	/* EC2's published defaults for the non-mutating and mutating buckets. */
	cfg->describe_burst = 100;
	cfg->describe_rate = 20;
	cfg->mutate_burst = 200;
	cfg->mutate_rate = 5;
	cfg->max_instances = 20;
	snprintf(cfg->accel, sizeof(cfg->accel), "auto");
	cfg->tb_cache_mib = 64;
	cfg->flatten_depth = 16;
	cfg->default_vcpu_quota = 64;
	cfg->stop_timeout_s = 120;
	cfg->terminated_visible_s = 3600;
	/* EC2's instance profile credentials last about 6 h and the next set
	 * appears well before (here: an hour before) the old expires. */
	cfg->iam_credential_lifetime_s = 21600;
	/* TEST-NET-2 (RFC 5737): never routed, so nothing can be mistaken for a
	 * real internet address. */
	snprintf(cfg->public_cidr, sizeof(cfg->public_cidr), "198.51.100.0/24");
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; i < cfg->naccounts; i++)
		free(cfg->accounts[i].profiles);
	free(cfg->accounts);
	cfg->accounts = NULL;
	cfg->naccounts = 0;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int set_str(char *dst, size_t len, const char *v)
{
	int n = snprintf(dst, len, "%s", v);

	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

static int set_num(double *dst, const char *v, double min)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *end || !(d >= min) || d > 1e9)
		return -EINVAL;
	*dst = d;
	return 0;
}

static int digits_only(const char *s, size_t n)
{
	if (strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Absolute directories separated by ':', no empty entries. */
static int set_dirs(char *dst, size_t len, const char *v)
{
	for (const char *p = v; *v; p++) {
		if (*p != '/')
			return -EINVAL;
		p = strchr(p, ':');
		if (!p)
			break;
	}
	return set_str(dst, len, v);
}

static int host_key(struct config *cfg, const char *k, const char *v)
{
	double d;
	int r;

	if (!strcmp(k, "region"))
		return set_str(cfg->region, sizeof(cfg->region), v);
	if (!strcmp(k, "availability_zone"))
		return set_str(cfg->availability_zone, sizeof(cfg->availability_zone), v);
	if (!strcmp(k, "listen"))
		return set_str(cfg->listen, sizeof(cfg->listen), v);
	if (!strcmp(k, "max_body_bytes")) {
		r = set_num(&d, v, 1024);
		if (r == 0)
			cfg->max_body_bytes = (size_t)d;
		return r;
	}
	if (!strcmp(k, "max_instances")) {
		r = set_num(&d, v, 0);
		if (r == 0)
			cfg->max_instances = (int)d;
		return r;
	}
	if (!strcmp(k, "libvirt_uri"))
		return set_str(cfg->libvirt_uri, sizeof(cfg->libvirt_uri), v);
	if (!strcmp(k, "public_cidr")) {
		struct cidr c;

		/* room for the router, at most a /16 of addresses to hand out */
		if (cidr_parse(v, &c) < 0 || c.prefix < 16 || c.prefix > 29)
			return -EINVAL;
		return set_str(cfg->public_cidr, sizeof(cfg->public_cidr), v);
	}
	if (!strcmp(k, "public_uplink"))
		return set_str(cfg->public_uplink, sizeof(cfg->public_uplink), v);
	if (!strcmp(k, "public_uplink_netns"))
		return set_str(cfg->public_uplink_netns, sizeof(cfg->public_uplink_netns), v);
	if (!strcmp(k, "accel")) {
		if (strcmp(v, "auto") && strcmp(v, "kvm") && strcmp(v, "tcg"))
			return -EINVAL;
		return set_str(cfg->accel, sizeof(cfg->accel), v);
	}
	if (!strcmp(k, "flatten_depth")) {
		r = set_num(&d, v, 2);
		if (r == 0)
			cfg->flatten_depth = (int)d;
		return r;
	}
	if (!strcmp(k, "tb_cache_mib")) {
		r = set_num(&d, v, 1);
		if (r == 0)
			cfg->tb_cache_mib = (int)d;
		return r;
	}
	if (!strcmp(k, "memory_mib")) {
		r = set_num(&d, v, 1);
		if (r == 0)
			cfg->memory_mib = (long)d;
		return r;
	}
	if (!strcmp(k, "vcpus")) {
		r = set_num(&d, v, 1);
		if (r == 0)
			cfg->vcpus = (int)d;
		return r;
	}
	if (!strcmp(k, "default_vcpu_quota")) {
		r = set_num(&d, v, 1);
		if (r == 0)
			cfg->default_vcpu_quota = (int)d;
		return r;
	}
	if (!strcmp(k, "stop_timeout_s")) {
		r = set_num(&d, v, 0);
		if (r == 0)
			cfg->stop_timeout_s = (int)d;
		return r;
	}
	if (!strcmp(k, "iam_credential_lifetime_s")) {
		r = set_num(&d, v, 10);
		if (r == 0 && d > 43200)
			r = -EINVAL;
		if (r == 0)
			cfg->iam_credential_lifetime_s = (int)d;
		return r;
	}
	if (!strcmp(k, "iam_credential_refresh_s")) {
		r = set_num(&d, v, 1);
		if (r == 0)
			cfg->iam_credential_refresh_s = (int)d;
		return r;
	}
	if (!strcmp(k, "import_dirs"))
		return set_dirs(cfg->import_dirs, sizeof(cfg->import_dirs), v);
	if (!strcmp(k, "terminated_visible_s")) {
		r = set_num(&d, v, 0);
		if (r == 0)
			cfg->terminated_visible_s = (int)d;
		return r;
	}
	return -ENOENT;
}

static int throttle_key(struct config *cfg, const char *k, const char *v)
{
	if (!strcmp(k, "describe_rate"))
		return set_num(&cfg->describe_rate, v, 0.001);
	if (!strcmp(k, "describe_burst"))
		return set_num(&cfg->describe_burst, v, 1);
	if (!strcmp(k, "mutate_rate"))
		return set_num(&cfg->mutate_rate, v, 0.001);
	if (!strcmp(k, "mutate_burst"))
		return set_num(&cfg->mutate_burst, v, 1);
	return -ENOENT;
}

/* IAM's name characters; a leading dot is refused too, as the metadata
 * service cannot serve such a name (a role name is a path component). */
static bool iam_name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || *s == '.')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("+=,.@_-", *s))
			return false;
	return true;
}

/* "NAME:ROLE", or "NAME" for a role of the same name. */
static int add_profile(struct config_account *a, const char *v)
{
	struct config_profile p;
	const char *colon = strchr(v, ':');
	size_t nlen = colon ? (size_t)(colon - v) : strlen(v);

	memset(&p, 0, sizeof(p));
	if (nlen >= sizeof(p.name))
		return -EINVAL;
	memcpy(p.name, v, nlen);
	if (set_str(p.role, sizeof(p.role), colon ? colon + 1 : p.name) < 0)
		return -EINVAL;
	if (!iam_name_ok(p.name, 128) || !iam_name_ok(p.role, 64))
		return -EINVAL;
	for (size_t i = 0; i < a->nprofiles; i++)
		if (!strcmp(a->profiles[i].name, p.name))
			return -EEXIST;
	a->profiles = realloc(a->profiles, (a->nprofiles + 1) * sizeof(p));
	if (!a->profiles)
		abort();
	a->profiles[a->nprofiles++] = p;
	return 0;
}

const struct config_profile *config_profile_find(const struct config *cfg, const char *account, const char *name)
{
	for (size_t i = 0; i < cfg->naccounts; i++) {
		if (strcmp(cfg->accounts[i].id, account))
			continue;
		for (size_t j = 0; j < cfg->accounts[i].nprofiles; j++)
			if (!strcmp(cfg->accounts[i].profiles[j].name, name))
				return &cfg->accounts[i].profiles[j];
	}
	return NULL;
}

static int account_key(struct config_account *a, const char *k, const char *v)
{
	if (!strcmp(k, "instance_profile"))
		return add_profile(a, v);
	if (!strcmp(k, "access_key"))
		return set_str(a->access_key, sizeof(a->access_key), v);
	if (!strcmp(k, "secret_key"))
		return set_str(a->secret_key, sizeof(a->secret_key), v);
	if (!strcmp(k, "vcpu_quota")) {
		double d;
		int r = set_num(&d, v, 0);

		if (r == 0)
			a->vcpu_quota = (int)d;
		return r;
	}
	return -ENOENT;
}

static __attribute__((format(printf, 4, 5))) void fail(char *err, size_t errlen, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "line %d: %s", line, msg);
}

int config_parse(struct config *cfg, const char *text, char *err, size_t errlen)
{
	enum { S_NONE, S_HOST, S_THROTTLE, S_ACCOUNT } sect = S_NONE;
	char *copy = xstrdup(text), *save = copy, *line;
	int lineno = 0, r = 0;

	/* strsep, not strtok: empty lines must count for the line numbers. */
	while ((line = strsep(&save, "\n"))) {
		char *s = trim(line), *eq, *k, *v;

		lineno++;
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');

			if (!end || end[1]) {
				fail(err, errlen, lineno, "bad section header");
				r = -EINVAL;
				goto out;
			}
			*end = '\0';
			s = trim(s + 1);
			if (!strcmp(s, "host")) {
				sect = S_HOST;
			} else if (!strcmp(s, "throttle")) {
				sect = S_THROTTLE;
			} else if (!strncmp(s, "account", 7) && isspace((unsigned char)s[7])) {
				const char *id = trim(s + 7);
				struct config_account *a;

				if (!digits_only(id, 12)) {
					fail(err, errlen, lineno, "account id must be 12 digits");
					r = -EINVAL;
					goto out;
				}
				for (size_t i = 0; i < cfg->naccounts; i++)
					if (!strcmp(cfg->accounts[i].id, id)) {
						fail(err, errlen, lineno, "account %s defined twice", id);
						r = -EINVAL;
						goto out;
					}
				cfg->accounts = realloc(cfg->accounts, (cfg->naccounts + 1) * sizeof(*a));
				if (!cfg->accounts)
					abort();
				a = &cfg->accounts[cfg->naccounts++];
				memset(a, 0, sizeof(*a));
				memcpy(a->id, id, 13);
				sect = S_ACCOUNT;
			} else {
				fail(err, errlen, lineno, "unknown section [%s]", s);
				r = -EINVAL;
				goto out;
			}
			continue;
		}
		eq = strchr(s, '=');
		if (!eq) {
			fail(err, errlen, lineno, "expected key = value");
			r = -EINVAL;
			goto out;
		}
		*eq = '\0';
		k = trim(s);
		v = trim(eq + 1);
		switch (sect) {
		case S_HOST: r = host_key(cfg, k, v); break;
		case S_THROTTLE: r = throttle_key(cfg, k, v); break;
		case S_ACCOUNT: r = account_key(&cfg->accounts[cfg->naccounts - 1], k, v); break;
		default: r = -ENOENT; break;
		}
		if (r == -ENOENT) {
			fail(err, errlen, lineno, "unknown key '%s' here", k);
			r = -EINVAL;
			goto out;
		}
		if (r == -EEXIST) {
			fail(err, errlen, lineno, "%s declared twice", k);
			r = -EINVAL;
			goto out;
		}
		if (r < 0) {
			fail(err, errlen, lineno, "bad value for '%s'", k);
			r = -EINVAL;
			goto out;
		}
	}
	for (size_t i = 0; i < cfg->naccounts; i++) {
		const struct config_account *a = &cfg->accounts[i];

		if (strlen(a->access_key) < 16 || strlen(a->secret_key) < 16) {
			snprintf(err, errlen, "account %s needs access_key and secret_key (16+ chars)", a->id);
			r = -EINVAL;
			goto out;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(cfg->accounts[j].access_key, a->access_key)) {
				snprintf(err, errlen, "access key of account %s is also account %s's", a->id,
					 cfg->accounts[j].id);
				r = -EINVAL;
				goto out;
			}
	}
	if (cfg->iam_credential_refresh_s >= cfg->iam_credential_lifetime_s) {
		snprintf(err, errlen, "iam_credential_refresh_s must be less than iam_credential_lifetime_s");
		r = -EINVAL;
		goto out;
	}
out:
	if (r == 0 && !cfg->availability_zone[0]) {
		if (snprintf(cfg->availability_zone, sizeof(cfg->availability_zone), "%sa",
			     cfg->region) >= (int)sizeof(cfg->availability_zone))
			r = -ENAMETOOLONG;
	}
	free(copy);
	return r;
}

int config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct buf b = BUF_INIT;
	char chunk[4096];
	FILE *f;
	size_t n;
	int r;

	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	buf_add(&b, "", 0);
	r = config_parse(cfg, b.data, err, errlen);
	buf_free(&b);
	return r;
}
