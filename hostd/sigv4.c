#include "hostd/sigv4.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "lib/buf.h"
#include "lib/util.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define TERMINATOR "aws4_request"
#define ECHO_MAX 64

static const char msg_mismatch[] =
	"The request signature we calculated does not match the signature you provided. "
	"Check your AWS Secret Access Key and signing method. "
	"Consult the service documentation for details.";

/* ---- errors ---------------------------------------------------------- */

static int fail(struct sigv4_error *err, int rc, const char *code, int status, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fail(struct sigv4_error *err, int rc, const char *code, int status, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err)
		return rc;
	err->code = code;
	err->http_status = status;
	va_start(ap, fmt);
	n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	/* Echoed fields are capped (echo()), so this only guards future edits:
	 * mark a cut message rather than let it end mid-word silently. */
	if (n < 0)
		err->message[0] = '\0';
	else if ((size_t)n >= sizeof(err->message))
		memcpy(err->message + sizeof(err->message) - 4, "...", 4);
	return rc;
}

#define INCOMPLETE(err, ...) fail((err), -EINVAL, "IncompleteSignature", 400, __VA_ARGS__)
#define MISMATCH(err) fail((err), -EACCES, "SignatureDoesNotMatch", 403, "%s", msg_mismatch)

/* Untrusted text for an error message: capped, printable ASCII only, so the
 * message stays short and is always valid XML text. out: ECHO_MAX + 4. */
static const char *echo(char *out, const char *s, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n && o < ECHO_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (i < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* ---- characters ------------------------------------------------------ */

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* ASCII whitespace as Python's str.split() sees it: botocore trims and
 * collapses header values with it. */
static bool is_pyspace(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static bool is_graph(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit((char)c) ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

/* RFC 7230 token characters, lowercase only (SignedHeaders is canonical). */
static bool is_lower_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || is_digit(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* NUL-terminated a equals s[0..n) ignoring ASCII case. */
static bool name_eq(const char *a, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!a[i] || lower(a[i]) != lower(s[i]))
			return false;
	return a[n] == '\0';
}

/* How many headers are called name (0, 1 or 2 meaning "several");
 * *value gets the first one. */
static int find_header(const struct sigv4_request *req, const char *name, const char **value)
{
	int count = 0;

	*value = NULL;
	for (size_t i = 0; i < req->nheaders && count < 2; i++) {
		const struct sigv4_header *h = &req->headers[i];

		if (!h->name || !name_eq(h->name, name, strlen(name)))
			continue;
		if (!count)
			*value = h->value ? h->value : "";
		count++;
	}
	return count;
}

/* ---- percent-encoding ------------------------------------------------ */

static bool pct_valid(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%')
			continue;
		if (n - i < 3 || hex_digit(s[i + 1]) < 0 || hex_digit(s[i + 2]) < 0)
			return false;
		i += 2;
	}
	return true;
}

/* Next decoded byte of raw[*i..n): %XX, and '+' as space because botocore's
 * AWSRequest form-encodes query parameters on the wire (quote_plus) while
 * signing them with %20. Returns the byte or -1 on a bad escape. */
static int pct_next(const char *raw, size_t n, size_t *i)
{
	unsigned char c = (unsigned char)raw[*i];

	if (c == '%') {
		int hi, lo;

		if (n - *i < 3)
			return -1;
		hi = hex_digit(raw[*i + 1]);
		lo = hex_digit(raw[*i + 2]);
		if (hi < 0 || lo < 0)
			return -1;
		*i += 2;
		return hi << 4 | lo;
	}
	return c == '+' ? ' ' : c;
}

/* Decodes raw[0..n) into out as a C string. -EINVAL on a bad escape or an
 * embedded NUL, -E2BIG when it does not fit (never truncates). */
static int pct_decode(const char *raw, size_t n, char *out, size_t outsz)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = pct_next(raw, n, &i);

		if (c <= 0)
			return -EINVAL;
		if (o + 1 >= outsz)
			return -E2BIG;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* Appends raw[0..n) decoded then re-encoded with the RFC 3986 unreserved
 * set, plus a NUL. */
static int reencode(struct buf *b, const char *raw, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		int c = pct_next(raw, n, &i);

		if (c < 0)
			return -EINVAL;
		if (is_unreserved((unsigned char)c)) {
			buf_addc(b, (char)c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			buf_add(b, e, 3);
		}
	}
	buf_addc(b, '\0');
	return 0;
}

/* ---- dates ----------------------------------------------------------- */

static bool take_digits(const char *s, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static int days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* Validated UTC calendar time to epoch seconds (proleptic Gregorian,
 * Hinnant's days_from_civil; no timegm so no TZ or range surprises). */
static int civil_to_epoch(int y, int mo, int d, int h, int mi, int s, int64_t *out)
{
	int64_t era, yoe, doy, doe, yy = y - (mo <= 2);

	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59)
		return -EINVAL;
	era = (yy >= 0 ? yy : yy - 399) / 400;
	yoe = yy - era * 400;
	doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	*out = ((era * 146097 + doe - 719468) * 24 + h) * 3600 + (int64_t)mi * 60 + s;
	return 0;
}

/* YYYYMMDDTHHMMSSZ, exactly. */
static int amz_date_parse(const char *s, int64_t *t)
{
	int y, mo, d, h, mi, sec;

	if (strnlen(s, 17) != 16 || s[8] != 'T' || s[15] != 'Z' ||
	    !take_digits(s, 4, &y) || !take_digits(s + 4, 2, &mo) || !take_digits(s + 6, 2, &d) ||
	    !take_digits(s + 9, 2, &h) || !take_digits(s + 11, 2, &mi) || !take_digits(s + 13, 2, &sec))
		return -EINVAL;
	return civil_to_epoch(y, mo, d, h, mi, sec, t);
}

/* RFC 1123 Date header ("Sun, 30 Aug 2015 12:36:00 GMT"; botocore writes
 * "-0000" for the zone) to YYYYMMDDTHHMMSSZ. */
static int http_date_to_amz(const char *s, char out[17])
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	static const char wdays[] = "MonTueWedThuFriSatSun";
	static const char *const zones[] = { "GMT", "UTC", "UT", "+0000", "-0000" };
	int y, mo = 0, d, h, mi, sec, n;
	size_t dl, i;
	int64_t t;

	while (is_ows(*s))
		s++;
	if (s[0] && s[1] && s[2] && s[3] == ',') {
		for (i = 0; i < 7; i++)
			if (!strncmp(s, wdays + 3 * i, 3))
				break;
		if (i == 7 || s[4] != ' ')
			return -EINVAL;
		s += 5;
	}
	dl = is_digit(s[0]) && is_digit(s[1]) ? 2 : 1;
	if (!take_digits(s, dl, &d) || s[dl] != ' ')
		return -EINVAL;
	s += dl + 1;
	for (i = 0; i < 12 && !mo; i++)
		if (!strncmp(s, months + 3 * i, 3))
			mo = (int)i + 1;
	if (!mo || s[3] != ' ')
		return -EINVAL;
	s += 4;
	if (!take_digits(s, 4, &y) || s[4] != ' ')
		return -EINVAL;
	s += 5;
	if (!take_digits(s, 2, &h) || s[2] != ':' || !take_digits(s + 3, 2, &mi) || s[5] != ':' ||
	    !take_digits(s + 6, 2, &sec) || s[8] != ' ')
		return -EINVAL;
	s += 9;
	for (i = 0; i < ARRAY_SIZE(zones); i++) {
		size_t zl = strlen(zones[i]);

		if (!strncmp(s, zones[i], zl) && (!s[zl] || is_ows(s[zl])))
			break;
	}
	if (i == ARRAY_SIZE(zones))
		return -EINVAL;
	s += strlen(zones[i]);
	while (is_ows(*s))
		s++;
	if (*s || civil_to_epoch(y, mo, d, h, mi, sec, &t))
		return -EINVAL;
	n = snprintf(out, 17, "%04d%02d%02dT%02d%02d%02dZ", y, mo, d, h, mi, sec);
	return n == 16 ? 0 : -EINVAL;
}

/* ---- fields ---------------------------------------------------------- */

/* keyid/YYYYMMDD/region/service/aws4_request */
static int parse_credential(const char *s, size_t n, struct sigv4_auth *a, struct sigv4_error *err)
{
	const char *part[5];
	size_t len[5], np = 0, start = 0;
	char e[ECHO_MAX + 4];
	int date;

	for (size_t i = 0; i <= n && np <= 5; i++) {
		if (i < n && s[i] != '/')
			continue;
		if (np < 5) {
			part[np] = s + start;
			len[np] = i - start;
		}
		np++;
		start = i + 1;
	}
	if (np != 5)
		return INCOMPLETE(err, "Credential must have exactly 5 slash-delimited elements, "
				  "e.g. keyid/date/region/service/term, got '%s'.", echo(e, s, n));
	for (size_t i = 0; i < n; i++)
		if (!is_graph((unsigned char)s[i]))
			return INCOMPLETE(err, "Credential contains invalid characters.");
	if (!len[0] || len[0] >= sizeof(a->access_key))
		return INCOMPLETE(err, "Credential access key must be 1 to %zu characters.",
				  sizeof(a->access_key) - 1);
	if (len[1] != 8 || !take_digits(part[1], 8, &date))
		return INCOMPLETE(err, "Credential scope date must be YYYYMMDD, got '%s'.",
				  echo(e, part[1], len[1]));
	if (!len[2] || len[2] >= sizeof(a->region))
		return INCOMPLETE(err, "Credential region must be 1 to %zu characters.", sizeof(a->region) - 1);
	if (!len[3] || len[3] >= sizeof(a->service))
		return INCOMPLETE(err, "Credential service must be 1 to %zu characters.", sizeof(a->service) - 1);
	if (len[4] != strlen(TERMINATOR) || memcmp(part[4], TERMINATOR, len[4]))
		return INCOMPLETE(err, "Credential should be scoped with a valid terminator: '" TERMINATOR
				  "', not '%s'.", echo(e, part[4], len[4]));
	memcpy(a->access_key, part[0], len[0]);
	a->access_key[len[0]] = '\0';
	memcpy(a->scope_date, part[1], 8);
	a->scope_date[8] = '\0';
	memcpy(a->region, part[2], len[2]);
	a->region[len[2]] = '\0';
	memcpy(a->service, part[3], len[3]);
	a->service[len[3]] = '\0';
	return 0;
}

/* Lowercase header names, ';'-separated, strictly ascending (which also
 * rules out duplicates), "host" included: what every AWS SDK sends. */
static int check_signed_headers(const char *s, struct sigv4_error *err)
{
	const char *p = s, *prev = NULL;
	size_t prevlen = 0;
	bool host = false;

	for (;;) {
		const char *end = strchrnul(p, ';');
		size_t len = (size_t)(end - p);

		if (!len)
			return INCOMPLETE(err, "SignedHeaders contains an empty header name.");
		for (const char *q = p; q < end; q++)
			if (!is_lower_tchar(*q))
				return INCOMPLETE(err, "SignedHeaders must be lowercase header names separated by ';'.");
		if (prev) {
			int c = memcmp(prev, p, prevlen < len ? prevlen : len);

			if (c > 0 || (c == 0 && prevlen >= len))
				return INCOMPLETE(err, "SignedHeaders must be sorted and without duplicates.");
		}
		if (len == 4 && !memcmp(p, "host", 4))
			host = true;
		prev = p;
		prevlen = len;
		if (!*end)
			break;
		p = end + 1;
	}
	if (!host)
		return INCOMPLETE(err, "SignedHeaders must include 'host'.");
	return 0;
}

static int set_signed_headers(const char *s, size_t n, struct sigv4_auth *a, struct sigv4_error *err)
{
	if (n >= sizeof(a->signed_headers))
		return INCOMPLETE(err, "SignedHeaders is too long.");
	memcpy(a->signed_headers, s, n);
	a->signed_headers[n] = '\0';
	if (strlen(a->signed_headers) != n) /* an embedded NUL */
		return INCOMPLETE(err, "SignedHeaders must be lowercase header names separated by ';'.");
	return check_signed_headers(a->signed_headers, err);
}

static int set_signature(const char *s, size_t n, struct sigv4_auth *a, struct sigv4_error *err)
{
	if (n != 64)
		return INCOMPLETE(err, "Signature must be 64 lowercase hexadecimal characters.");
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return INCOMPLETE(err, "Signature must be 64 lowercase hexadecimal characters.");
	memcpy(a->signature, s, 64);
	a->signature[64] = '\0';
	return 0;
}

static int set_amz_date(const char *s, size_t n, struct sigv4_auth *a, struct sigv4_error *err)
{
	int64_t t;

	if (n == 16) {
		memcpy(a->amz_date, s, 16);
		a->amz_date[16] = '\0';
		if (!amz_date_parse(a->amz_date, &t))
			return 0;
	}
	a->amz_date[0] = '\0';
	return INCOMPLETE(err, "X-Amz-Date must be in the ISO 8601 basic format YYYYMMDDTHHMMSSZ.");
}

static int set_token(const char *s, size_t n, struct sigv4_auth *a, struct sigv4_error *err)
{
	if (n > SIGV4_TOKEN_MAX)
		return INCOMPLETE(err, "X-Amz-Security-Token is too long.");
	for (size_t i = 0; i < n; i++)
		if (!is_graph((unsigned char)s[i]))
			return INCOMPLETE(err, "X-Amz-Security-Token contains invalid characters.");
	memcpy(a->security_token, s, n);
	a->security_token[n] = '\0';
	a->has_security_token = true;
	return 0;
}

/* ---- query-string scan ----------------------------------------------- */

enum qparam { Q_ALGORITHM, Q_CREDENTIAL, Q_DATE, Q_SIGNED_HEADERS, Q_SIGNATURE, Q_EXPIRES, Q_TOKEN, Q_COUNT };

static const char *const qnames[Q_COUNT] = {
	"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders",
	"X-Amz-Signature", "X-Amz-Expires", "X-Amz-Security-Token",
};

struct qscan {
	const char *val[Q_COUNT]; /* raw (still encoded) first value */
	size_t len[Q_COUNT];
	int count[Q_COUNT];       /* 0, 1 or 2 meaning "several" */
	bool malformed;           /* some %-escape is broken */
};

static void scan_query(const char *q, struct qscan *qs)
{
	memset(qs, 0, sizeof(*qs));
	for (const char *p = q;;) {
		const char *end = strchrnul(p, '&');
		const char *eq = memchr(p, '=', (size_t)(end - p));
		char name[32];

		if (!pct_valid(p, (size_t)(end - p)))
			qs->malformed = true;
		if (!pct_decode(p, (size_t)((eq ? eq : end) - p), name, sizeof(name))) {
			for (int i = 0; i < Q_COUNT; i++) {
				if (strcmp(name, qnames[i]) || qs->count[i] == 2)
					continue;
				if (!qs->count[i]) {
					qs->val[i] = eq ? eq + 1 : end;
					qs->len[i] = eq ? (size_t)(end - eq - 1) : 0;
				}
				qs->count[i]++;
			}
		}
		if (!*end)
			break;
		p = end + 1;
	}
}

/* ---- the two forms --------------------------------------------------- */

static int parse_query_form(const struct qscan *qs, struct sigv4_auth *a, struct sigv4_error *err)
{
	static const enum qparam required[] = {
		Q_ALGORITHM, Q_CREDENTIAL, Q_DATE, Q_SIGNED_HEADERS, Q_SIGNATURE, Q_EXPIRES,
	};
	char tmp[512], e[ECHO_MAX + 4];
	int rc;

	for (size_t i = 0; i < ARRAY_SIZE(required); i++)
		if (!qs->count[required[i]])
			return INCOMPLETE(err, "AWS query-string parameters must include '%s'. "
					  "Re-examine the query-string parameters.", qnames[required[i]]);
	for (int i = 0; i < Q_COUNT; i++)
		if (qs->count[i] > 1)
			return INCOMPLETE(err, "AWS query-string parameter '%s' must appear only once.", qnames[i]);

	rc = pct_decode(qs->val[Q_ALGORITHM], qs->len[Q_ALGORITHM], tmp, sizeof(tmp));
	if (rc || strcmp(tmp, ALGORITHM))
		return INCOMPLETE(err, "Unsupported AWS 'algorithm': '%s'.",
				  echo(e, rc ? qs->val[Q_ALGORITHM] : tmp, rc ? qs->len[Q_ALGORITHM] : strlen(tmp)));

	rc = pct_decode(qs->val[Q_CREDENTIAL], qs->len[Q_CREDENTIAL], tmp, sizeof(tmp));
	if (rc)
		return INCOMPLETE(err, "X-Amz-Credential is %s.", rc == -E2BIG ? "too long" : "not valid");
	rc = parse_credential(tmp, strlen(tmp), a, err);
	if (rc)
		return rc;

	rc = pct_decode(qs->val[Q_DATE], qs->len[Q_DATE], tmp, sizeof(tmp));
	rc = set_amz_date(tmp, rc ? 0 : strlen(tmp), a, err);
	if (rc)
		return rc;

	rc = pct_decode(qs->val[Q_SIGNED_HEADERS], qs->len[Q_SIGNED_HEADERS],
			a->signed_headers, sizeof(a->signed_headers));
	if (rc)
		return INCOMPLETE(err, "X-Amz-SignedHeaders is %s.", rc == -E2BIG ? "too long" : "not valid");
	rc = check_signed_headers(a->signed_headers, err);
	if (rc)
		return rc;

	if (pct_decode(qs->val[Q_SIGNATURE], qs->len[Q_SIGNATURE], tmp, sizeof(tmp)))
		return INCOMPLETE(err, "Signature must be 64 lowercase hexadecimal characters.");
	rc = set_signature(tmp, strlen(tmp), a, err);
	if (rc)
		return rc;

	/* 1..604800 written as at most 7 plain digits (leading zeros allowed). */
	rc = pct_decode(qs->val[Q_EXPIRES], qs->len[Q_EXPIRES], tmp, 8);
	a->expires = 0;
	for (size_t i = 0; !rc && tmp[i]; i++)
		a->expires = is_digit(tmp[i]) ? a->expires * 10 + (tmp[i] - '0') : -1;
	if (rc || a->expires < 1 || a->expires > SIGV4_MAX_EXPIRES)
		return INCOMPLETE(err, "X-Amz-Expires must be between 1 and %d seconds.", SIGV4_MAX_EXPIRES);

	if (qs->count[Q_TOKEN]) {
		rc = pct_decode(qs->val[Q_TOKEN], qs->len[Q_TOKEN], a->security_token, sizeof(a->security_token));
		if (rc)
			return INCOMPLETE(err, "X-Amz-Security-Token is %s.", rc == -E2BIG ? "too long" : "not valid");
		rc = set_token(a->security_token, strlen(a->security_token), a, err);
		if (rc)
			return rc;
	}
	a->presigned = true;
	return 0;
}

/* "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." */
static int parse_authorization(const char *v, struct sigv4_auth *a, struct sigv4_error *err)
{
	static const char *const keys[3] = { "Credential", "SignedHeaders", "Signature" };
	const char *val[3] = { NULL, NULL, NULL };
	size_t vlen[3] = { 0, 0, 0 };
	const char *p = v, *alg;
	char e[ECHO_MAX + 4];
	int rc;

	while (is_ows(*p))
		p++;
	alg = p;
	while (*p && !is_ows(*p))
		p++;
	if (p == alg)
		return INCOMPLETE(err, "Authorization header is empty.");
	if ((size_t)(p - alg) != strlen(ALGORITHM) || memcmp(alg, ALGORITHM, strlen(ALGORITHM)))
		return INCOMPLETE(err, "Unsupported AWS 'algorithm': '%s'.", echo(e, alg, (size_t)(p - alg)));
	while (is_ows(*p))
		p++;

	while (*p) {
		const char *end = strchrnul(p, ','), *s = p, *t = end, *eq;
		size_t i;

		while (s < t && is_ows(*s))
			s++;
		while (t > s && is_ows(t[-1]))
			t--;
		if (s == t)
			return INCOMPLETE(err, "Authorization header contains an empty component.");
		eq = memchr(s, '=', (size_t)(t - s));
		if (!eq)
			return INCOMPLETE(err, "Authorization header component '%s' is not of the form key=value.",
					  echo(e, s, (size_t)(t - s)));
		for (i = 0; i < 3; i++)
			if ((size_t)(eq - s) == strlen(keys[i]) && !memcmp(s, keys[i], strlen(keys[i])))
				break;
		if (i == 3)
			return INCOMPLETE(err, "Authorization header contains an unknown parameter '%s'.",
					  echo(e, s, (size_t)(eq - s)));
		if (val[i])
			return INCOMPLETE(err, "Authorization header contains '%s' more than once.", keys[i]);
		val[i] = eq + 1;
		vlen[i] = (size_t)(t - eq - 1);
		if (!*end)
			break;
		p = end + 1;
		if (!*p) /* a trailing comma */
			return INCOMPLETE(err, "Authorization header contains an empty component.");
	}
	for (size_t i = 0; i < 3; i++)
		if (!val[i])
			return INCOMPLETE(err, "Authorization header requires '%s' parameter.", keys[i]);

	rc = parse_credential(val[0], vlen[0], a, err);
	if (!rc)
		rc = set_signed_headers(val[1], vlen[1], a, err);
	if (!rc)
		rc = set_signature(val[2], vlen[2], a, err);
	return rc;
}

static void trim_ows(const char **s, size_t *n)
{
	const char *p = *s, *e = *s + strlen(*s);

	while (p < e && is_ows(*p))
		p++;
	while (e > p && is_ows(e[-1]))
		e--;
	*s = p;
	*n = (size_t)(e - p);
}

static int parse_header_form(const struct sigv4_request *req, const char *authz, const struct qscan *qs,
			     struct sigv4_auth *a, struct sigv4_error *err)
{
	const char *v;
	size_t n;
	int rc, count;

	rc = parse_authorization(authz, a, err);
	if (rc)
		return rc;

	count = find_header(req, "x-amz-date", &v);
	if (count > 1)
		return INCOMPLETE(err, "Request must not contain more than one 'X-Amz-Date' header.");
	if (count == 1) {
		trim_ows(&v, &n);
		rc = set_amz_date(v, n, a, err);
		if (rc)
			return rc;
	} else {
		count = find_header(req, "date", &v);
		if (!count)
			return INCOMPLETE(err, "Authorization header requires existence of either a "
					  "'X-Amz-Date' or a 'Date' header.");
		if (count > 1)
			return INCOMPLETE(err, "Request must not contain more than one 'Date' header.");
		if (http_date_to_amz(v, a->amz_date))
			return INCOMPLETE(err, "Date header must be an RFC 1123 date in GMT.");
	}

	count = find_header(req, "x-amz-security-token", &v);
	if (count + qs->count[Q_TOKEN] > 1)
		return INCOMPLETE(err, "Request must not contain more than one 'X-Amz-Security-Token'.");
	if (count) {
		trim_ows(&v, &n);
		return set_token(v, n, a, err);
	}
	if (qs->count[Q_TOKEN]) {
		rc = pct_decode(qs->val[Q_TOKEN], qs->len[Q_TOKEN], a->security_token, sizeof(a->security_token));
		if (rc)
			return INCOMPLETE(err, "X-Amz-Security-Token is %s.", rc == -E2BIG ? "too long" : "not valid");
		return set_token(a->security_token, strlen(a->security_token), a, err);
	}
	return 0;
}

int sigv4_parse(const struct sigv4_request *req, struct sigv4_auth *auth, struct sigv4_error *err)
{
	struct qscan qs;
	const char *authz;
	int nauth;
	bool presign;

	memset(auth, 0, sizeof(*auth));
	if (err)
		memset(err, 0, sizeof(*err));
	if (!req || (req->nheaders && !req->headers))
		return INCOMPLETE(err, "Request is incomplete.");

	nauth = find_header(req, "authorization", &authz);
	scan_query(req->query ? req->query : "", &qs);
	/* X-Amz-Date, -Expires or -Security-Token alone do not make a signature. */
	presign = qs.count[Q_ALGORITHM] || qs.count[Q_CREDENTIAL] || qs.count[Q_SIGNED_HEADERS] ||
		  qs.count[Q_SIGNATURE];
	if (!nauth && !presign)
		return -ENOENT;
	if (nauth && presign)
		return INCOMPLETE(err, "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
				  "parameter or the Authorization header should be specified.");
	if (qs.malformed)
		return fail(err, -EINVAL, "MalformedQueryString", 400,
			    "The query string contains an invalid percent-encoding.");
	if (nauth > 1)
		return INCOMPLETE(err, "Request must not contain more than one 'Authorization' header.");
	return nauth ? parse_header_form(req, authz, &qs, auth, err) : parse_query_form(&qs, auth, err);
}

/* ---- canonical request ----------------------------------------------- */

/* botocore for non-S3 services: quote(remove_dot_segments(path), safe='/~'),
 * where remove_dot_segments also drops empty segments. The path is the
 * encoded wire form, so '%' is encoded again (AWS's double encoding). */
static void canonical_uri(const char *path, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	struct seg { const char *s; size_t n; } *segs;
	size_t len = strlen(path), cap = 1, nseg = 0;

	if (!len) {
		buf_addc(out, '/');
		return;
	}
	for (size_t i = 0; i < len; i++)
		cap += path[i] == '/';
	segs = xcalloc(cap, sizeof(*segs));
	for (const char *p = path;;) {
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (nseg)
				nseg--;
		} else if (n && !(n == 1 && p[0] == '.')) {
			segs[nseg].s = p;
			segs[nseg++].n = n;
		}
		if (!*end)
			break;
		p = end + 1;
	}
	if (path[0] == '/')
		buf_addc(out, '/');
	for (size_t i = 0; i < nseg; i++) {
		if (i)
			buf_addc(out, '/');
		for (size_t j = 0; j < segs[i].n; j++) {
			unsigned char c = (unsigned char)segs[i].s[j];

			if (is_unreserved(c)) {
				buf_addc(out, (char)c);
			} else {
				char e[3] = { '%', hex[c >> 4], hex[c & 15] };

				buf_add(out, e, 3);
			}
		}
	}
	if (path[len - 1] == '/' && nseg)
		buf_addc(out, '/');
	free(segs);
}

struct qpair { const char *k, *v; };

static int qpair_cmp(const void *x, const void *y)
{
	const struct qpair *a = x, *b = y;
	int c = strcmp(a->k, b->k);

	return c ? c : strcmp(a->v, b->v);
}

/* Every parameter decoded, re-encoded, sorted by name then value; a name
 * without '=' gets an empty value; empty components ("a&&b") are skipped. */
static int canonical_query(const char *q, bool presigned, struct buf *out)
{
	struct buf enc = BUF_INIT;
	size_t *offs, cap = 1, np = 0;
	struct qpair *pairs = NULL;
	int rc = 0;

	for (const char *p = q; *p; p++)
		cap += *p == '&';
	offs = xcalloc(cap, 2 * sizeof(*offs));
	for (const char *p = q;;) {
		const char *end = strchrnul(p, '&');

		if (end > p) {
			const char *eq = memchr(p, '=', (size_t)(end - p));
			size_t koff = enc.len, voff;

			rc = reencode(&enc, p, (size_t)((eq ? eq : end) - p));
			if (rc)
				goto out;
			voff = enc.len;
			rc = reencode(&enc, eq ? eq + 1 : end, eq ? (size_t)(end - eq - 1) : 0);
			if (rc)
				goto out;
			/* The presigned signature cannot sign itself. */
			if (presigned && !strcmp(enc.data + koff, "X-Amz-Signature")) {
				enc.len = koff;
				enc.data[koff] = '\0';
			} else {
				offs[2 * np] = koff;
				offs[2 * np + 1] = voff;
				np++;
			}
		}
		if (!*end)
			break;
		p = end + 1;
	}
	/* Pointers only now: enc.data moves while it grows. */
	pairs = xcalloc(np, sizeof(*pairs));
	for (size_t i = 0; i < np; i++) {
		pairs[i].k = enc.data + offs[2 * i];
		pairs[i].v = enc.data + offs[2 * i + 1];
	}
	if (np)
		qsort(pairs, np, sizeof(*pairs), qpair_cmp);
	for (size_t i = 0; i < np; i++) {
		if (i)
			buf_addc(out, '&');
		buf_adds(out, pairs[i].k);
		buf_addc(out, '=');
		buf_adds(out, pairs[i].v);
	}
out:
	free(pairs);
	free(offs);
	buf_free(&enc);
	return rc;
}

/* Trimall: leading/trailing whitespace dropped, inner runs become one space. */
static void add_trimmed(struct buf *b, const char *v)
{
	bool space = false, started = false;

	for (; *v; v++) {
		if (is_pyspace((unsigned char)*v)) {
			space = started;
			continue;
		}
		if (space)
			buf_addc(b, ' ');
		space = false;
		started = true;
		buf_addc(b, *v);
	}
}

static int canonical_request(const struct sigv4_request *req, const struct sigv4_auth *a,
			     const char *payload, struct buf *cr, struct sigv4_error *err)
{
	buf_adds(cr, req->method);
	buf_addc(cr, '\n');
	canonical_uri(req->path ? req->path : "", cr);
	buf_addc(cr, '\n');
	if (canonical_query(req->query ? req->query : "", a->presigned, cr))
		return fail(err, -EACCES, "MalformedQueryString", 400,
			    "The query string contains an invalid percent-encoding.");
	buf_addc(cr, '\n');
	for (const char *p = a->signed_headers;;) {
		const char *end = strchrnul(p, ';');
		size_t n = (size_t)(end - p);
		bool found = false;

		buf_add(cr, p, n);
		buf_addc(cr, ':');
		for (size_t i = 0; i < req->nheaders; i++) {
			const struct sigv4_header *h = &req->headers[i];

			if (!h->name || !name_eq(h->name, p, n))
				continue;
			if (found)
				buf_addc(cr, ',');
			add_trimmed(cr, h->value ? h->value : "");
			found = true;
		}
		/* Signed but not sent: the client signed a different request. */
		if (!found)
			return MISMATCH(err);
		buf_addc(cr, '\n');
		if (!*end)
			break;
		p = end + 1;
	}
	buf_addc(cr, '\n');
	buf_adds(cr, a->signed_headers);
	buf_addc(cr, '\n');
	buf_adds(cr, payload);
	return 0;
}

/* ---- verification ---------------------------------------------------- */

static int hmac256(const void *key, size_t klen, const void *msg, size_t mlen, unsigned char out[32])
{
	unsigned int olen = 0;

	if (klen > INT_MAX || !HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &olen) || olen != 32)
		return -EIO;
	return 0;
}

#define TERMINATED(arr) (memchr((arr), '\0', sizeof(arr)) != NULL)

static bool auth_terminated(const struct sigv4_auth *a)
{
	return TERMINATED(a->access_key) && TERMINATED(a->scope_date) && TERMINATED(a->region) &&
	       TERMINATED(a->service) && TERMINATED(a->amz_date) && TERMINATED(a->signed_headers) &&
	       TERMINATED(a->signature) && TERMINATED(a->security_token);
}

int sigv4_verify(const struct sigv4_request *req, const struct sigv4_auth *a, const char *secret,
		 const char *expect_region, const char *expect_service, time_t now, struct sigv4_error *err)
{
	struct buf cr = BUF_INIT, sts = BUF_INIT, key = BUF_INIT;
	const unsigned char *body;
	unsigned char k1[32], k2[32], md[32];
	char cr_hex[65], body_hex[65], sig[65], e[ECHO_MAX + 4];
	const char *payload, *sha;
	int64_t t, n = (int64_t)now;
	int rc = -EACCES;

	if (err)
		memset(err, 0, sizeof(*err));
	if (!req || !req->method || (req->nheaders && !req->headers) || !a || !auth_terminated(a) ||
	    !secret || !expect_region || !expect_service) {
		fail(err, rc, "IncompleteSignature", 400, "Request authentication data is incomplete.");
		goto out;
	}
	if (strcmp(a->region, expect_region)) {
		fail(err, rc, "SignatureDoesNotMatch", 403,
		     "Credential should be scoped to a valid region, not '%s'.", echo(e, a->region, strlen(a->region)));
		goto out;
	}
	if (strcmp(a->service, expect_service)) {
		fail(err, rc, "SignatureDoesNotMatch", 403, "Credential should be scoped to correct service: '%s'.",
		     echo(e, expect_service, strlen(expect_service)));
		goto out;
	}
	if (strlen(a->scope_date) != 8 || strncmp(a->scope_date, a->amz_date, 8)) {
		fail(err, rc, "SignatureDoesNotMatch", 403,
		     "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
		     "'%.8s' != '%.8s', from '%.16s'.", a->scope_date, a->amz_date, a->amz_date);
		goto out;
	}
	/* Parse checked these; verify does not rely on its caller having used it. */
	if (amz_date_parse(a->amz_date, &t) || check_signed_headers(a->signed_headers, err) ||
	    (a->presigned && (a->expires < 1 || a->expires > SIGV4_MAX_EXPIRES))) {
		if (!err || !err->code)
			fail(err, rc, "IncompleteSignature", 400, "Request authentication data is incomplete.");
		goto out;
	}
	/* t is a 4-digit-year date, so t +/- SIGV4_MAX_EXPIRES cannot overflow. A
	 * presigned URL lives expires seconds; a header signature 15 minutes. */
	if (n < t - SIGV4_MAX_SKEW || n > t + (a->presigned ? a->expires : SIGV4_MAX_SKEW)) {
		fail(err, rc, "RequestExpired", 400, "Request has expired.");
		goto out;
	}

	/* The payload hash the client signed: x-amz-content-sha256 when sent (as
	 * botocore does). A signature over a claimed hash says nothing about the
	 * body, so the claim must match the body; UNSIGNED-PAYLOAD only goes
	 * with an empty body, since for the Query API the body is the action. */
	body = req->body ? req->body : (const unsigned char *)"";
	SHA256(body, req->body ? req->body_len : 0, md);
	hex_encode(md, sizeof(md), body_hex);
	switch (find_header(req, "x-amz-content-sha256", &sha)) {
	case 0:
		payload = body_hex;
		break;
	case 1:
		if (strcmp(sha, body_hex) && (strcmp(sha, "UNSIGNED-PAYLOAD") || (req->body && req->body_len))) {
			fail(err, rc, "SignatureDoesNotMatch", 403,
			     "The provided 'x-amz-content-sha256' header does not match what was computed.");
			goto out;
		}
		payload = sha;
		break;
	default:
		fail(err, rc, "SignatureDoesNotMatch", 403,
		     "Request must not contain more than one 'x-amz-content-sha256' header.");
		goto out;
	}

	rc = canonical_request(req, a, payload, &cr, err);
	if (rc)
		goto out;
	SHA256((const unsigned char *)cr.data, cr.len, md);
	hex_encode(md, sizeof(md), cr_hex);
	buf_printf(&sts, ALGORITHM "\n%s\n%s/%s/%s/" TERMINATOR "\n%s",
		   a->amz_date, a->scope_date, a->region, a->service, cr_hex);

	buf_adds(&key, "AWS4");
	buf_adds(&key, secret);
	if (hmac256(key.data, key.len, a->scope_date, strlen(a->scope_date), k1) ||
	    hmac256(k1, 32, a->region, strlen(a->region), k2) ||
	    hmac256(k2, 32, a->service, strlen(a->service), k1) ||
	    hmac256(k1, 32, TERMINATOR, strlen(TERMINATOR), k2) ||
	    hmac256(k2, 32, sts.data, sts.len, k1)) {
		rc = fail(err, -EIO, "InternalError", 500, "Signature computation failed.");
		goto out;
	}
	hex_encode(k1, 32, sig);
	rc = -EACCES;
	if (strlen(a->signature) != 64 || !ct_equal(sig, a->signature, 64)) {
		MISMATCH(err);
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	OPENSSL_cleanse(sig, sizeof(sig));
	if (key.data)
		OPENSSL_cleanse(key.data, key.len);
	buf_free(&key);
	buf_free(&sts);
	buf_free(&cr);
	return rc;
}
