#include "images/qimg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cmd.h"
#include "lib/json.h"
#include "lib/util.h"

static const struct {
	const char *format, *driver;
} formats[] = {
	{ "qcow2", "qcow2" }, { "raw", "raw" }, { "vmdk", "vmdk" }, { "vhd", "vpc" }, { "vhdx", "vhdx" },
};

const char *qimg_driver(const char *format)
{
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++)
		if (!strcmp(formats[i].format, format))
			return formats[i].driver;
	return NULL;
}

const char *qimg_format(const char *driver)
{
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++)
		if (!strcmp(formats[i].driver, driver))
			return formats[i].format;
	return NULL;
}

static __attribute__((format(printf, 3, 4))) int why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int qimg_info_parse(const char *json, size_t n, const char *path, struct qimg_info *out, char *why,
		    size_t whylen)
{
	const struct json *fs, *data;
	struct json *j = NULL;
	const char *driver;
	int ret = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (json_parse(json, n, &j) < 0 || json_type(j) != JSON_OBJECT) {
		why_set(why, whylen, "Unreadable image information");
		goto out;
	}
	driver = json_str(json_get(j, "format"));
	if (!driver || !qimg_format(driver)) {
		why_set(why, whylen, "Unsupported file format (%.32s); supported: qcow2, raw, vmdk, vhd, vhdx",
			driver ? driver : "unknown");
		goto out;
	}
	snprintf(out->driver, sizeof(out->driver), "%s", driver);
	if (!json_int(json_get(j, "virtual-size"), &out->virtual_size) || out->virtual_size <= 0) {
		why_set(why, whylen, "The disk image is empty");
		goto out;
	}
	if (json_get(j, "backing-filename") || json_get(j, "full-backing-filename")) {
		why_set(why, whylen, "Disk images with a backing file are not supported");
		goto out;
	}
	fs = json_get(j, "format-specific");
	data = json_get(fs, "data");
	if (!strcmp(driver, "qcow2") && json_get(data, "data-file")) {
		why_set(why, whylen, "qcow2 images with an external data file are not supported");
		goto out;
	}
	if (!strcmp(driver, "vmdk")) {
		const struct json *ext = json_get(data, "extents");

		/* Descriptor VMDKs name their extents' files: any file on the
		 * host. Only single-file VMDKs (the file itself) are imported. */
		if (json_type(ext) != JSON_ARRAY || json_len(ext) == 0) {
			why_set(why, whylen, "VMDK without extents");
			goto out;
		}
		for (size_t i = 0; i < json_len(ext); i++) {
			const char *f = json_str(json_get(json_at(ext, i), "filename"));

			if (!f || strcmp(f, path)) {
				why_set(why, whylen, "Multi-file VMDK images are not supported; use a monolithicSparse or "
						     "streamOptimized VMDK");
				goto out;
			}
		}
	}
	ret = 0;
out:
	json_free(j);
	return ret;
}

int qimg_info(const char *path, struct qimg_info *out, char *why, size_t whylen)
{
	const char *argv[] = { "qemu-img", "info", "--output=json", path, NULL };
	struct buf o = BUF_INIT, e = BUF_INIT;
	int r = cmd_run(argv, &o, &e);

	if (r != 0) {
		snprintf(why, whylen, "%s", r < 0 ? strerror(-r) : cmd_last_line(&e));
		r = -EIO;
		goto out;
	}
	r = qimg_info_parse(o.data ? o.data : "", o.len, path, out, why, whylen);
out:
	buf_free(&o);
	buf_free(&e);
	return r;
}

int qimg_head(const char *path, const char *driver, const char *tmp_path, unsigned char *buf, size_t n)
{
	char bs[32], ifa[4200], ofa[4200];
	const char *argv[] = { "qemu-img", "dd", "-f", driver, "-O", "raw", bs, "count=1", ifa, ofa, NULL };
	int fd = -1, r;
	ssize_t got;

	memset(buf, 0, n);
	if (snprintf(bs, sizeof(bs), "bs=%zu", n) >= (int)sizeof(bs) ||
	    snprintf(ifa, sizeof(ifa), "if=%s", path) >= (int)sizeof(ifa) ||
	    snprintf(ofa, sizeof(ofa), "of=%s", tmp_path) >= (int)sizeof(ofa))
		return -ENAMETOOLONG;
	r = cmd_run(argv, NULL, NULL);
	if (r != 0) {
		r = r < 0 ? r : -EIO;
		goto out;
	}
	fd = open(tmp_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	got = pread(fd, buf, n, 0);
	r = got < 0 ? -errno : 0;
out:
	if (fd >= 0)
		close(fd);
	unlink(tmp_path);
	return r;
}

bool disk_has_partition_table(const unsigned char *buf, size_t n)
{
	if (n >= 512 && buf[510] == 0x55 && buf[511] == 0xaa)
		return true;
	if (n >= 520 && !memcmp(buf + 512, "EFI PART", 8))
		return true;
	return n >= 4104 && !memcmp(buf + 4096, "EFI PART", 8);
}

void qimg_progress_init(struct qimg_progress *p)
{
	memset(p, 0, sizeof(*p));
	p->pct = -1;
}

/* One record's text between '(' and ')': "12.34/100%". */
static int record_pct(const char *s, size_t n)
{
	int v = 0;
	size_t i = 0;

	if (n == 0 || s[0] < '0' || s[0] > '9')
		return -1;
	while (i < n && s[i] >= '0' && s[i] <= '9' && v <= 100)
		v = v * 10 + (s[i++] - '0');
	if (v > 100)
		return -1;
	while (i < n && (s[i] == '.' || (s[i] >= '0' && s[i] <= '9')))
		i++;
	return i + 5 == n && !memcmp(s + i, "/100%", 5) ? v : -1;
}

bool qimg_progress_feed(struct qimg_progress *p, const char *data, size_t n)
{
	int old = p->pct;

	for (size_t i = 0; i < n; i++) {
		char c = data[i];

		if (c == '(') {
			p->n = 0;
			p->rec[p->n++] = c;
		} else if (p->n > 0 && c == ')') {
			int v = record_pct(p->rec + 1, p->n - 1);

			if (v >= 0)
				p->pct = v;
			p->n = 0;
		} else if (p->n > 0) {
			/* Anything too long is not a progress record. */
			if (p->n == sizeof(p->rec))
				p->n = 0;
			else
				p->rec[p->n++] = c;
		}
	}
	return p->pct != old;
}

struct conv {
	const struct qimg_convert_cb *cb;
	struct qimg_progress prog;
};

static void conv_out(void *arg, const char *data, size_t n)
{
	struct conv *c = arg;

	if (qimg_progress_feed(&c->prog, data, n) && c->cb && c->cb->progress)
		c->cb->progress(c->cb->arg, c->prog.pct);
}

static bool conv_cancelled(void *arg)
{
	const struct conv *c = arg;

	return c->cb && c->cb->cancelled && c->cb->cancelled(c->cb->arg);
}

int qimg_convert(const char *src, const char *driver, const char *dst, const struct qimg_convert_cb *cb,
		 char *why, size_t whylen)
{
	/* The source's format is given, never probed again: the checks made on
	 * what qemu-img info saw apply to what convert reads. */
	const char *argv[] = { "qemu-img", "convert", "-p", "-f", driver, "-O", "qcow2", "-o", "compat=1.1",
			       src, dst, NULL };
	struct conv c = { .cb = cb };
	struct cmd_opts o = { .on_stdout = conv_out, .cancelled = conv_cancelled, .arg = &c,
			      .die_with_parent = true };
	struct buf e = BUF_INIT;
	int r;

	qimg_progress_init(&c.prog);
	r = cmd_run_ex(argv, &o, NULL, &e);
	if (r == -ECANCELED)
		goto out;
	if (r != 0) {
		snprintf(why, whylen, "%s", r < 0 ? strerror(-r) : cmd_last_line(&e));
		r = -EIO;
	}
out:
	buf_free(&e);
	return r;
}

int qcow2_header_size(const unsigned char *hdr, size_t n, int64_t *out)
{
	uint64_t v = 0;

	if (n < 32 || memcmp(hdr, "QFI\xfb", 4))
		return -EINVAL;
	for (int i = 24; i < 32; i++)
		v = v << 8 | hdr[i];
	if (v == 0 || v > INT64_MAX)
		return -EINVAL;
	*out = (int64_t)v;
	return 0;
}

int qcow2_virtual_size(const char *path, int64_t *out)
{
	unsigned char hdr[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, hdr, sizeof(hdr), 0);
	close(fd);
	if (n < 0)
		return -errno;
	return qcow2_header_size(hdr, (size_t)n, out);
}
