#include "metadata/imds.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lib/util.h"

#define TOKEN_VERSION 1
#define TOKEN_RAW (1 + 8 + 32)     /* version, expiry (big-endian), HMAC-SHA256 */
#define FILE_MAX (1 << 20)         /* one leaf or .listing; EC2's user-data is 16 KiB */
#define OPTIONS_MAX 4096
#define DEPTH_MAX 16
#define HEADERS_MAX 100

/* What EC2 lists at "/" (the user guide's list, plus the builds seen on
 * current instances); every one maps to the same tree. */
static const char *const versions[] = {
	"1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15",
	"2008-02-01", "2008-09-01", "2009-04-04", "2011-01-01", "2011-05-01", "2012-01-12",
	"2014-02-25", "2014-11-05", "2015-10-20", "2016-04-19", "2016-06-30", "2016-09-02",
	"2018-03-28", "2018-08-17", "2018-09-24", "2019-10-01", "2020-10-27", "2021-01-03",
	"2021-03-23", "2021-07-15", "2022-07-09", "2022-09-24", "latest",
};

/* EC2's error pages: the 404 one differs from the others in its XML
 * declaration and indentation. */
static const char page_404[] =
	"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n"
	"<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n"
	"\t\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n"
	"<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n"
	" <head>\n"
	"  <title>404 - Not Found</title>\n"
	" </head>\n"
	" <body>\n"
	"  <h1>404 - Not Found</h1>\n"
	" </body>\n"
	"</html>";
static const char page_fmt[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\" "
	"\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n"
	"<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n"
	"   <head>\n"
	"      <title>%d - %s</title>\n"
	"   </head>\n"
	"   <body>\n"
	"      <h1>%d - %s</h1>\n"
	"   </body>\n"
	"</html>";

struct req {
	const char *method, *target;
	size_t mlen, tlen;
	bool http10;
	const char *token, *ttl;       /* first of each header; counts below */
	size_t token_len, ttl_len;
	int ntoken, nttl;
	bool xff, conn_close, conn_keep, has_clen;
	size_t clen;
};

struct reply {
	int status;
	const char *ctype;      /* NULL: an error page (text/html) */
	const char *allow;      /* 405 */
	int64_t ttl;            /* X-Aws-Ec2-Metadata-Token-Ttl-Seconds, 0: none */
	int64_t mtime;          /* Last-Modified, 0: none */
	struct buf body;
};

struct path {
	const char *c[DEPTH_MAX];
	int n;
	char dec[IMDS_HEAD_MAX];   /* the decoded components, NUL-separated */
};

/* ---- characters ------------------------------------------------------ */

/* s[0..n) (no NUL in it: callers check the characters first) is lit,
 * ignoring ASCII case; the C locale is never changed here. */
static bool eq_nocase(const char *s, size_t n, const char *lit)
{
	return n == strlen(lit) && !strncasecmp(s, lit, n);
}

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Characters of a metadata path component: letters, digits and those EC2
 * allows in tag keys and MAC addresses. No '/', so one component can never
 * name more than one directory entry. */
static bool is_namechar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("-._:+=,@", c));
}

/* A name that can be requested and so may be listed: never ".", "..", a
 * dotfile (.listing, hostd's temp files) or anything needing escapes. */
static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAME_MAX || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_namechar(s[i]))
			return false;
	return true;
}

static bool is_version(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(versions); i++)
		if (!strcmp(s, versions[i]))
			return true;
	return false;
}

/* ---- files beneath the instance directory ---------------------------- */

/* Opens name in at without following a symlink; only a directory, or a
 * regular file when want_file, is opened. -ENOENT for anything else. */
static int open_entry(int at, const char *name, bool want_file, struct stat *st)
{
	int fd, flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

	if (fstatat(at, name, st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -errno;
	if (S_ISDIR(st->st_mode))
		flags |= O_DIRECTORY;
	else if (!S_ISREG(st->st_mode) || !want_file)
		return -ENOENT;
	fd = openat(at, name, flags);
	if (fd < 0)
		return errno == ENOENT || errno == ELOOP || errno == ENOTDIR ? -ENOENT : -errno;
	/* It may have been replaced since fstatat: trust only the open file. */
	if (fstat(fd, st) < 0 || (!S_ISDIR(st->st_mode) && !S_ISREG(st->st_mode))) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

/* Appends the whole file to b; -EFBIG past max bytes. */
static int read_fd(int fd, struct buf *b, size_t max)
{
	size_t start = b->len;

	for (;;) {
		ssize_t n;

		buf_reserve(b, 4096);
		n = read(fd, b->data + b->len, b->cap - b->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		b->len += (size_t)n;
		b->data[b->len] = '\0';
		if (b->len - start > max)
			return -EFBIG;
	}
	return 0;
}

/* The regular file name in at, read into b. */
static int read_at(int at, const char *name, struct buf *b, size_t max)
{
	struct stat st;
	int fd = open_entry(at, name, true, &st), rc;

	if (fd < 0)
		return fd;
	rc = S_ISREG(st.st_mode) ? read_fd(fd, b, max) : -ENOENT;
	close(fd);
	return rc;
}

/* ---- config ---------------------------------------------------------- */

static bool field_is(const char *s, size_t n, const char *lit)
{
	return n == strlen(lit) && !memcmp(s, lit, n);
}

static int parse_options(const char *s, size_t n, struct imds_config *cfg)
{
	bool have_id = false;
	size_t i = 0;

	cfg->hop_limit = 1;
	while (i < n) {
		const char *line = s + i, *nl = memchr(line, '\n', n - i), *eq, *val;
		size_t len = nl ? (size_t)(nl - line) : n - i, klen, vlen;

		i += len + 1;
		if (len && line[len - 1] == '\r')
			len--;
		if (len == 0 || line[0] == '#')
			continue;
		eq = memchr(line, '=', len);
		if (!eq)
			return -EINVAL;
		klen = (size_t)(eq - line);
		val = eq + 1;
		vlen = len - klen - 1;
		if (field_is(line, klen, "instance_id")) {
			if (vlen == 0 || vlen >= IMDS_ID_MAX)
				return -EINVAL;
			for (size_t k = 0; k < vlen; k++)
				if (!((val[k] >= 'a' && val[k] <= 'z') || (val[k] >= '0' && val[k] <= '9') ||
				      (val[k] >= 'A' && val[k] <= 'Z') || val[k] == '-'))
					return -EINVAL;
			memcpy(cfg->instance_id, val, vlen);
			cfg->instance_id[vlen] = '\0';
			have_id = true;
		} else if (field_is(line, klen, "http_tokens")) {
			/* Anything but the two known values fails closed. */
			if (!field_is(val, vlen, "optional") && !field_is(val, vlen, "required"))
				return -EINVAL;
			cfg->tokens_required = field_is(val, vlen, "required");
		} else if (field_is(line, klen, "http_endpoint")) {
			if (!field_is(val, vlen, "enabled") && !field_is(val, vlen, "disabled"))
				return -EINVAL;
			cfg->endpoint_disabled = field_is(val, vlen, "disabled");
		} else if (field_is(line, klen, "hop_limit")) {
			int h = 0;

			if (vlen == 0 || vlen > 2)
				return -EINVAL;
			for (size_t k = 0; k < vlen; k++) {
				if (val[k] < '0' || val[k] > '9')
					return -EINVAL;
				h = h * 10 + (val[k] - '0');
			}
			if (h < 1 || h > 64)
				return -EINVAL;
			cfg->hop_limit = h;
		}
		/* keys added later: not this module's business. */
	}
	return have_id ? 0 : -EINVAL;
}

int imds_config_load(int dirfd, struct imds_config *cfg)
{
	struct buf b = BUF_INIT;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	rc = read_at(dirfd, "options", &b, OPTIONS_MAX);
	if (rc == -EFBIG)
		rc = -EINVAL;
	if (rc < 0)
		goto out;
	rc = parse_options(b.data, b.len, cfg);
	if (rc < 0)
		goto out;
	buf_reset(&b);
	rc = read_at(dirfd, "token.key", &b, IMDS_KEY_LEN);
	if (rc == -EFBIG || (rc == 0 && b.len != IMDS_KEY_LEN))
		rc = -EINVAL;
	if (rc < 0)
		goto out;
	memcpy(cfg->key, b.data, IMDS_KEY_LEN);
out:
	if (b.data)
		OPENSSL_cleanse(b.data, b.cap);
	buf_free(&b);
	if (rc < 0)
		OPENSSL_cleanse(cfg, sizeof(*cfg));
	return rc;
}

/* ---- tokens ---------------------------------------------------------- */

/* The token string for raw[0..9) (version, expiry) under cfg. */
static int token_encode(const struct imds_config *cfg, unsigned char raw[TOKEN_RAW], char out[IMDS_TOKEN_LEN + 1])
{
	unsigned char msg[6 + 9 + IMDS_ID_MAX];
	size_t idlen = strnlen(cfg->instance_id, IMDS_ID_MAX - 1);
	unsigned int maclen = 0;
	char *b64;

	/* Fixed-length fields first, so the instance id needs no delimiter. */
	memcpy(msg, "imdsv2", 6);
	memcpy(msg + 6, raw, 9);
	memcpy(msg + 15, cfg->instance_id, idlen);
	if (!HMAC(EVP_sha256(), cfg->key, IMDS_KEY_LEN, msg, 15 + idlen, raw + 9, &maclen) || maclen != 32)
		return -EIO;
	b64 = base64_encode(raw, TOKEN_RAW);
	/* base64url without padding: the token travels in a header. */
	for (size_t i = 0; i < IMDS_TOKEN_LEN; i++)
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	out[IMDS_TOKEN_LEN] = '\0';
	free(b64);
	return 0;
}

static int token_at(const struct imds_config *cfg, uint64_t expiry, char out[IMDS_TOKEN_LEN + 1])
{
	unsigned char raw[TOKEN_RAW];

	raw[0] = TOKEN_VERSION;
	for (int i = 0; i < 8; i++)
		raw[1 + i] = (unsigned char)(expiry >> (56 - 8 * i));
	return token_encode(cfg, raw, out);
}

int imds_token_mint(const struct imds_config *cfg, int64_t now, int ttl, char out[IMDS_TOKEN_LEN + 1])
{
	if (!cfg || ttl < 1 || ttl > IMDS_TTL_MAX || now < 0)
		return -EINVAL;
	return token_at(cfg, (uint64_t)now + (uint64_t)ttl, out);
}

int64_t imds_token_check(const struct imds_config *cfg, const char *tok, size_t len, int64_t now)
{
	char std[IMDS_TOKEN_LEN + 1], want[IMDS_TOKEN_LEN + 1];
	unsigned char *raw = NULL;
	uint64_t expiry = 0;
	size_t rawlen = 0;
	int64_t rc = -EACCES;

	if (!cfg || !tok || len != IMDS_TOKEN_LEN)
		return -EACCES;
	for (size_t i = 0; i < len; i++) {
		char c = tok[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return -EACCES;
		std[i] = c == '-' ? '+' : c == '_' ? '/' : c;
	}
	std[len] = '\0';
	if (base64_decode(std, len, &raw, &rawlen) < 0)
		return -EACCES;
	if (rawlen != TOKEN_RAW || raw[0] != TOKEN_VERSION)
		goto out;
	for (int i = 0; i < 8; i++)
		expiry = expiry << 8 | raw[1 + i];
	/* The expiry is no secret: checking it before the MAC leaks nothing. */
	if (expiry > INT64_MAX || (int64_t)expiry <= now)
		goto out;
	/* Re-mint and compare whole strings: this also refuses the variants of
	 * the last character whose low bits base64 decoding ignores. */
	if (token_at(cfg, expiry, want) < 0 || !ct_equal(want, tok, IMDS_TOKEN_LEN))
		goto out;
	rc = (int64_t)expiry - now;
out:
	free(raw);
	return rc;
}

/* ---- request parsing ------------------------------------------------- */

/* The end of the head (just past its empty line) in in[start..len), 0 when
 * not there yet. Bare LF line ends are accepted as RFC 9112 allows. */
static size_t head_end(const char *in, size_t len, size_t start)
{
	size_t lim = len < IMDS_HEAD_MAX ? len : IMDS_HEAD_MAX;

	for (size_t i = start; i < lim; i++) {
		if (in[i] != '\n')
			continue;
		if (i + 1 < lim && in[i + 1] == '\n')
			return i + 2;
		if (i + 2 < lim && in[i + 1] == '\r' && in[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* One line of [*p, end): its length without CR LF; *p moves past it. */
static size_t next_line(const char **p, const char *end, const char **line)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n;

	*line = *p;
	if (!nl)
		nl = end;
	n = (size_t)(nl - *p);
	*p = nl < end ? nl + 1 : end;
	if (n && (*line)[n - 1] == '\r')
		n--;
	return n;
}

/* "METHOD SP target SP HTTP/1.x". */
static int parse_request_line(const char *s, size_t n, struct req *rq)
{
	const char *sp1 = memchr(s, ' ', n), *sp2;

	if (!sp1 || sp1 == s)
		return -EINVAL;
	rq->method = s;
	rq->mlen = (size_t)(sp1 - s);
	for (size_t i = 0; i < rq->mlen; i++)
		if (!is_tchar(s[i]))
			return -EINVAL;
	rq->target = sp1 + 1;
	sp2 = memchr(rq->target, ' ', n - rq->mlen - 1);
	if (!sp2 || sp2 == rq->target)
		return -EINVAL;
	rq->tlen = (size_t)(sp2 - rq->target);
	for (size_t i = 0; i < rq->tlen; i++)
		if ((unsigned char)rq->target[i] <= 0x20 || (unsigned char)rq->target[i] >= 0x7f)
			return -EINVAL;
	if (rq->target[0] != '/' && !(rq->tlen >= 7 && eq_nocase(rq->target, 7, "http://")))
		return -EINVAL;
	n -= (size_t)(sp2 + 1 - s);
	if (n != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) || (sp2[8] != '0' && sp2[8] != '1'))
		return -EINVAL;
	rq->http10 = sp2[8] == '0';
	return 0;
}

static int parse_length(const char *v, size_t n, size_t *out)
{
	size_t x = 0;

	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
		if (x > IMDS_BODY_MAX)
			return -EFBIG;
		x = x * 10 + (size_t)(v[i] - '0');
	}
	if (x > IMDS_BODY_MAX)
		return -EFBIG;
	*out = x;
	return 0;
}

/* Connection: comma-separated options, any case. */
static void parse_connection(const char *v, size_t n, struct req *rq)
{
	size_t i = 0;

	while (i < n) {
		size_t s, e;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (eq_nocase(v + s, e - s, "close"))
			rq->conn_close = true;
		else if (eq_nocase(v + s, e - s, "keep-alive"))
			rq->conn_keep = true;
	}
}

static int parse_header(const char *s, size_t n, struct req *rq)
{
	const char *colon = memchr(s, ':', n), *v;
	size_t nlen, vlen;

	/* No name, or whitespace before the colon (RFC 9112 5.1): refused. */
	if (!colon || colon == s)
		return -EINVAL;
	nlen = (size_t)(colon - s);
	for (size_t i = 0; i < nlen; i++)
		if (!is_tchar(s[i]))
			return -EINVAL;
	v = colon + 1;
	vlen = n - nlen - 1;
	for (size_t i = 0; i < vlen; i++) {
		unsigned char c = (unsigned char)v[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return -EINVAL;
	}
	while (vlen && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;

	if (eq_nocase(s, nlen, "x-aws-ec2-metadata-token")) {
		if (!rq->ntoken++)
			rq->token = v, rq->token_len = vlen;
	} else if (eq_nocase(s, nlen, "x-aws-ec2-metadata-token-ttl-seconds")) {
		if (!rq->nttl++)
			rq->ttl = v, rq->ttl_len = vlen;
	} else if (eq_nocase(s, nlen, "x-forwarded-for")) {
		rq->xff = true;
	} else if (eq_nocase(s, nlen, "connection")) {
		parse_connection(v, vlen, rq);
	} else if (eq_nocase(s, nlen, "content-length")) {
		size_t len;
		int rc = parse_length(v, vlen, &len);

		if (rc < 0 || (rq->has_clen && len != rq->clen))
			return -EINVAL;
		rq->has_clen = true;
		rq->clen = len;
	} else if (eq_nocase(s, nlen, "transfer-encoding")) {
		/* No client sends a chunked body here; refusing it keeps framing
		 * (and request smuggling) out of the picture. */
		return -EINVAL;
	}
	return 0;
}

/* Parses the request at the start of in. Returns 0 and its total length in
 * *used, -EAGAIN when incomplete, -EINVAL when malformed or too large. */
static int parse_request(const char *in, size_t len, struct req *rq, size_t *used)
{
	const char *p, *end, *line;
	size_t start = 0, hend, n;
	int nheaders = 0;

	memset(rq, 0, sizeof(*rq));
	/* Empty lines before a request line are ignored (RFC 9112 2.2). */
	while (start < len && start < IMDS_HEAD_MAX && (in[start] == '\r' || in[start] == '\n'))
		start++;
	hend = head_end(in, len, start);
	if (!hend) {
		/* Refuse a bad request line without waiting for the rest. */
		const char *nl = memchr(in + start, '\n', len - start);

		if (nl) {
			p = in + start;
			n = next_line(&p, nl + 1, &line);
			if (parse_request_line(line, n, rq) < 0)
				return -EINVAL;
		}
		return len >= IMDS_HEAD_MAX ? -EINVAL : -EAGAIN;
	}
	p = in + start;
	end = in + hend;
	n = next_line(&p, end, &line);
	if (parse_request_line(line, n, rq) < 0)
		return -EINVAL;
	while ((n = next_line(&p, end, &line)) > 0) {
		/* obs-fold (a continuation line) is refused, as RFC 9112 permits. */
		if (line[0] == ' ' || line[0] == '\t' || ++nheaders > HEADERS_MAX)
			return -EINVAL;
		if (parse_header(line, n, rq) < 0)
			return -EINVAL;
	}
	if (p != end)
		return -EINVAL;
	if (len - hend < rq->clen)
		return -EAGAIN;
	*used = hend + rq->clen;
	return 0;
}

/* The path of the request target as decoded components: percent-escapes
 * are decoded first and then every byte is checked, so no encoding can
 * smuggle a '/', a NUL or a dot-segment. -ENOENT for anything else. */
static int parse_path(const char *t, size_t n, struct path *p)
{
	size_t i = 0, o = 0;

	p->n = 0;
	if (n >= 7 && eq_nocase(t, 7, "http://")) {
		/* absolute-form: skip the authority */
		const char *slash = memchr(t + 7, '/', n - 7);

		if (!slash)
			return 0;
		i = (size_t)(slash - t);
	}
	for (size_t k = i; k < n; k++)
		if (t[k] == '?' || t[k] == '#')
			n = k;
	if (i >= n || t[i] != '/')
		return -ENOENT;
	i++;
	while (i < n) {
		size_t s = o;

		if (p->n == DEPTH_MAX)
			return -ENOENT;
		while (i < n && t[i] != '/') {
			int c = (unsigned char)t[i];

			if (c == '%') {
				int hi = i + 2 < n ? hex_digit(t[i + 1]) : -1;
				int lo = i + 2 < n ? hex_digit(t[i + 2]) : -1;

				if (hi < 0 || lo < 0)
					return -ENOENT;
				c = hi << 4 | lo;
				i += 2;
			}
			if (!is_namechar((char)c) || o - s >= NAME_MAX)
				return -ENOENT;
			p->dec[o++] = (char)c;
			i++;
		}
		/* "//" and dot-segments name nothing; neither do dotfiles. */
		if (o == s || p->dec[s] == '.')
			return -ENOENT;
		p->dec[o++] = '\0';
		p->c[p->n++] = p->dec + s;
		if (i < n)
			i++; /* the '/'; a trailing one changes nothing, as on EC2 */
	}
	return 0;
}

/* ---- replies --------------------------------------------------------- */

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	default: return "Internal Server Error";
	}
}

static void fail(struct reply *rp, int status)
{
	rp->status = status;
	rp->ctype = NULL;
	rp->ttl = 0;
	rp->mtime = 0;
	buf_reset(&rp->body);
	if (status == 404)
		buf_adds(&rp->body, page_404);
	else
		buf_printf(&rp->body, page_fmt, status, reason(status), status, reason(status));
}

/* RFC 9110 IMF-fixdate, independent of the locale. */
static void http_date(int64_t t, char out[32])
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t s = (time_t)t;
	struct tm tm;
	int n = -1;

	if (t >= 0 && gmtime_r(&s, &tm))
		n = snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
			     months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n != 29)
		snprintf(out, 32, "Thu, 01 Jan 1970 00:00:00 GMT");
}

static void emit(const struct imds_ctx *ctx, const struct reply *rp, bool head, bool keep, struct buf *out)
{
	char date[32];

	buf_printf(out, "HTTP/1.1 %d %s\r\n", rp->status, reason(rp->status));
	if (rp->ttl > 0)
		buf_printf(out, "X-Aws-Ec2-Metadata-Token-Ttl-Seconds: %lld\r\n", (long long)rp->ttl);
	if (rp->allow)
		buf_printf(out, "Allow: %s\r\n", rp->allow);
	buf_printf(out, "Content-Type: %s\r\n", rp->ctype ? rp->ctype : "text/html");
	if (rp->status == 200)
		buf_adds(out, "Accept-Ranges: none\r\n");
	if (rp->mtime > 0) {
		http_date(rp->mtime, date);
		buf_printf(out, "Last-Modified: %s\r\n", date);
	}
	http_date(ctx->now, date);
	buf_printf(out, "Content-Length: %zu\r\nDate: %s\r\nServer: EC2ws\r\nConnection: %s\r\n\r\n",
		   rp->body.len, date, keep ? "keep-alive" : "close");
	if (!head)
		buf_add(out, rp->body.data, rp->body.len);
}

/* ---- serving --------------------------------------------------------- */

struct entry {
	char *name;
	bool dir;
};

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/* EC2's listing: one name per line, directories with a '/', sorted, no
 * final newline. A .listing file replaces it verbatim (public-keys/ lists
 * "0=name", which is no directory entry). */
static int list_dir(int fd, struct buf *b)
{
	struct entry *ents = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = NULL;
	int dfd, rc;

	rc = read_at(fd, ".listing", b, FILE_MAX);
	if (rc != -ENOENT)
		return rc;
	dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		rc = -errno;
		close(dfd);
		return rc;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		struct stat st;

		if (!name_ok(de->d_name) || fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		/* Symlinks and special files are never served, so never listed. */
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			ents = realloc(ents, cap * sizeof(*ents));
			if (!ents)
				abort();
		}
		ents[n].name = xstrdup(de->d_name);
		ents[n++].dir = S_ISDIR(st.st_mode);
	}
	closedir(d);
	if (n)
		qsort(ents, n, sizeof(*ents), entry_cmp);
	for (size_t i = 0; i < n; i++) {
		buf_printf(b, "%s%s%s", i ? "\n" : "", ents[i].name, ents[i].dir ? "/" : "");
		free(ents[i].name);
	}
	free(ents);
	return 0;
}

/* /<version>/: what the instance has, without slashes as EC2 lists it. */
static void list_top(int dirfd, struct buf *b)
{
	static const struct { const char *name; bool dir; } tops[] = {
		{ "dynamic", true }, { "meta-data", true }, { "user-data", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(tops); i++) {
		struct stat st;

		if (fstatat(dirfd, tops[i].name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (tops[i].dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)))
			continue;
		buf_printf(b, "%s%s", b->len ? "\n" : "", tops[i].name);
	}
}

/* Walks c[0..n) beneath dirfd one component at a time (c[0] must be a
 * directory unless it is the only one and a file is wanted) and serves
 * what it finds. */
static void serve_walk(int dirfd, const char *const *c, int n, bool top_is_file, struct reply *rp)
{
	struct stat st;
	int fd = -1, rc = 0;

	for (int i = 0; i < n; i++) {
		int next;

		/* parse_path already refused these; the walk does not rely on it. */
		if (!name_ok(c[i])) {
			rc = -ENOENT;
			goto out;
		}
		next = open_entry(fd >= 0 ? fd : dirfd, c[i], i == n - 1 && (i > 0 || top_is_file), &st);

		if (fd >= 0)
			close(fd);
		fd = next;
		if (fd < 0) {
			rc = fd;
			goto out;
		}
		if (i == 0 && (bool)S_ISDIR(st.st_mode) == top_is_file) {
			rc = -ENOENT;
			goto out;
		}
	}
	rc = S_ISDIR(st.st_mode) ? list_dir(fd, &rp->body) : read_fd(fd, &rp->body, FILE_MAX);
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		fail(rp, rc == -ENOENT ? 404 : 500);
		return;
	}
	rp->status = 200;
	rp->ctype = top_is_file ? "application/octet-stream" : "text/plain";
	rp->mtime = (int64_t)st.st_mtime;
}

static void serve(const struct imds_ctx *ctx, const struct path *p, struct reply *rp)
{
	rp->status = 200;
	rp->ctype = "text/plain";
	if (p->n == 0) {
		for (size_t i = 0; i < ARRAY_SIZE(versions); i++)
			buf_printf(&rp->body, "%s%s", i ? "\n" : "", versions[i]);
	} else if (!is_version(p->c[0])) {
		fail(rp, 404);
	} else if (p->n == 1) {
		list_top(ctx->dirfd, &rp->body);
	} else if (!strcmp(p->c[1], "user-data")) {
		if (p->n == 2)
			serve_walk(ctx->dirfd, p->c + 1, 1, true, rp);
		else
			fail(rp, 404);
	} else if (!strcmp(p->c[1], "meta-data") || !strcmp(p->c[1], "dynamic")) {
		serve_walk(ctx->dirfd, p->c + 1, p->n - 1, false, rp);
	} else {
		fail(rp, 404);
	}
}

/* PUT /latest/api/token */
static void put_token(const struct imds_ctx *ctx, const struct req *rq, struct reply *rp)
{
	char tok[IMDS_TOKEN_LEN + 1], num[16];
	int64_t ttl;

	/* A proxy forwarding the PUT is how an SSRF would reach here. */
	if (rq->xff) {
		fail(rp, 403);
		return;
	}
	if (rq->nttl != 1 || rq->ttl_len == 0 || rq->ttl_len >= sizeof(num)) {
		fail(rp, 400);
		return;
	}
	memcpy(num, rq->ttl, rq->ttl_len);
	num[rq->ttl_len] = '\0';
	if (parse_int64(num, &ttl) < 0 || ttl < 1 || ttl > IMDS_TTL_MAX) {
		fail(rp, 400);
		return;
	}
	if (imds_token_mint(ctx->cfg, ctx->now, (int)ttl, tok) < 0) {
		fail(rp, 500);
		return;
	}
	rp->status = 200;
	rp->ctype = "text/plain";
	rp->ttl = ttl;
	buf_add(&rp->body, tok, IMDS_TOKEN_LEN);
	if (ctx->token_hops)
		*ctx->token_hops = ctx->cfg->hop_limit;
}

/* Methods are case-sensitive: "get" is no GET. */
static bool method_is(const struct req *rq, const char *m)
{
	return rq->method && field_is(rq->method, rq->mlen, m);
}

static void route(const struct imds_ctx *ctx, const struct req *rq, struct reply *rp)
{
	const struct imds_config *cfg = ctx->cfg;
	bool get = method_is(rq, "GET") || method_is(rq, "HEAD"), put = method_is(rq, "PUT"), token_path;
	struct path p;
	int64_t left = 0;

	if (!cfg) {
		fail(rp, 500);
		return;
	}
	/* EC2's user guide: 403 when the service is turned off. */
	if (cfg->endpoint_disabled) {
		fail(rp, 403);
		return;
	}
	if (!get && !put) {
		rp->allow = "GET, HEAD, PUT";
		fail(rp, 405);
		return;
	}
	if (parse_path(rq->target, rq->tlen, &p) < 0)
		p.n = -1;
	token_path = p.n == 3 && is_version(p.c[0]) && !strcmp(p.c[1], "api") && !strcmp(p.c[2], "token");
	if (put) {
		if (!token_path) {
			rp->allow = "GET, HEAD";
			fail(rp, 405);
		} else if (strcmp(p.c[0], "latest")) {
			fail(rp, 403); /* the user guide: PUT to a dated version's token path */
		} else {
			put_token(ctx, rq, rp);
		}
		return;
	}
	if (token_path) {
		rp->allow = "PUT";
		fail(rp, 405);
		return;
	}
	if (rq->ntoken) {
		/* A token, even where none is required, must be valid. */
		left = rq->ntoken == 1 ? imds_token_check(cfg, rq->token, rq->token_len, ctx->now) : -EACCES;
		if (left < 0) {
			fail(rp, 401);
			return;
		}
	} else if (cfg->tokens_required) {
		fail(rp, 401);
		return;
	}
	if (p.n < 0)
		fail(rp, 404);
	else
		serve(ctx, &p, rp);
	if (rp->status == 200)
		rp->ttl = left;
	if (rp->status == 200 && !rq->ntoken && ctx->no_token)
		*ctx->no_token = true;
}

ssize_t imds_handle(const struct imds_ctx *ctx, const char *in, size_t len, struct buf *out, bool *close)
{
	struct reply rp = { 0 };
	struct req rq;
	size_t used = 0;
	bool keep;
	int rc;

	if (!ctx || !out || !close || (!in && len))
		return -EINVAL;
	if (len == 0)
		return 0;
	rc = parse_request(in, len, &rq, &used);
	if (rc == -EAGAIN)
		return 0;
	if (rc < 0) {
		/* Framing is lost: answer, then drop the connection. */
		fail(&rp, 400);
		used = len;
		keep = false;
		rq.method = NULL;
	} else {
		route(ctx, &rq, &rp);
		keep = !ctx->last && (rq.http10 ? rq.conn_keep && !rq.conn_close : !rq.conn_close);
	}
	emit(ctx, &rp, method_is(&rq, "HEAD"), keep, out);
	buf_free(&rp.body);
	*close = !keep;
	return (ssize_t)used;
}
