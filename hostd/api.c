#include "hostd/api.h"

#include <errno.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "hostd/accounts.h"
#include "hostd/config.h"
#include "hostd/hostd.h"
#include "hostd/sigv4.h"
#include "hostd/throttle.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/util.h"

int api_err(struct api_req *r, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	r->status = status;
	r->code = code;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int api_err_missing(struct api_req *r, const char *param)
{
	return api_err(r, 400, "MissingParameter", "The request must contain the parameter %s", param);
}

int api_err_value(struct api_req *r, const char *param, const char *value, const char *why)
{
	/* Long or hostile values are cut in the message, never in the check. */
	return api_err(r, 400, "InvalidParameterValue", "Value (%.100s) for parameter %s is invalid. %s",
		       value, param, why);
}

int api_err_internal(struct api_req *r)
{
	return api_err(r, 500, "InternalError", "An internal error has occurred");
}

const char *api_str(struct api_req *r, const char *name)
{
	return query_get(r->q, name);
}

int api_need_str(struct api_req *r, const char *name, const char **out)
{
	const char *v = query_get(r->q, name);

	if (!v || !*v)
		return api_err_missing(r, name);
	*out = v;
	return 0;
}

int api_int(struct api_req *r, const char *name, int64_t def, int64_t min, int64_t max, int64_t *out)
{
	const char *v = query_get(r->q, name);
	int64_t n;

	if (!v) {
		*out = def;
		return 0;
	}
	if (parse_int64(v, &n) < 0)
		return api_err_value(r, name, v, "Expected: 'Integer'.");
	if (n < min || n > max)
		return api_err(r, 400, "InvalidParameterValue",
			       "Value ( %lld ) for parameter %s is invalid. Parameter must be between %lld and %lld.",
			       (long long)n, name, (long long)min, (long long)max);
	*out = n;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "true"))
		*out = true;
	else if (!strcasecmp(v, "false"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

int api_bool(struct api_req *r, const char *name, bool def, bool *out)
{
	const char *v = query_get(r->q, name);

	if (!v) {
		*out = def;
		return 0;
	}
	if (parse_bool(v, out) < 0)
		return api_err_value(r, name, v, "Expected: 'Boolean'.");
	return 0;
}

static int list_values(struct api_req *r, const char *prefix, bool allow_empty, const char ***vals, size_t *n)
{
	unsigned *idx = NULL;
	const char **out = NULL;
	size_t cnt = 0, k = 0;
	int ret = 0;

	if (query_indices(r->q, prefix, &idx, &cnt) < 0)
		return api_err_internal(r);
	if (cnt)
		out = xcalloc(cnt, sizeof(*out));
	for (size_t i = 0; i < cnt; i++) {
		char name[QUERY_MAX_NAME + 16];
		const char *v;

		snprintf(name, sizeof(name), "%s.%u", prefix, idx[i]);
		v = query_get(r->q, name);
		if (!v)
			continue; /* "Prefix.N.Sub": not this list's shape; the pattern check reports it */
		if (!*v && !allow_empty) {
			ret = api_err_value(r, name, v, "Value must not be empty.");
			goto out;
		}
		out[k++] = v;
	}
out:
	free(idx);
	if (ret < 0) {
		free(out);
		return ret;
	}
	*vals = out;
	*n = k;
	return 0;
}

int api_list(struct api_req *r, const char *prefix, const char ***vals, size_t *n)
{
	return list_values(r, prefix, false, vals, n);
}

int api_filters(struct api_req *r, const char *const *allowed, bool allow_tags, struct filter_set *fs)
{
	return api_filters_at(r, "Filter", allowed, allow_tags, fs);
}

int api_filters_at(struct api_req *r, const char *prefix_name, const char *const *allowed, bool allow_tags,
		   struct filter_set *fs)
{
	unsigned *idx = NULL;
	size_t cnt = 0;
	int ret = 0;

	memset(fs, 0, sizeof(*fs));
	if (query_indices(r->q, prefix_name, &idx, &cnt) < 0)
		return api_err_internal(r);
	if (cnt)
		fs->f = xcalloc(cnt, sizeof(*fs->f));
	for (size_t i = 0; i < cnt; i++) {
		struct filter *f = &fs->f[fs->n];
		char key[64], prefix[64];
		const char *name, **vals = NULL;
		size_t nv = 0;

		snprintf(key, sizeof(key), "%s.%u.Name", prefix_name, idx[i]);
		snprintf(prefix, sizeof(prefix), "%s.%u.Value", prefix_name, idx[i]);
		name = query_get(r->q, key);
		if (!name || !*name) {
			ret = api_err_missing(r, key);
			goto out;
		}
		if (!filter_name_allowed(name, allowed, allow_tags)) {
			ret = api_err(r, 400, "InvalidParameterValue", "The filter '%.128s' is invalid", name);
			goto out;
		}
		/* An empty filter value is meaningful: it matches empty tag values. */
		ret = list_values(r, prefix, true, &vals, &nv);
		if (ret < 0)
			goto out;
		if (nv == 0) {
			free(vals);
			ret = api_err(r, 400, "InvalidParameterValue",
				      "The filter '%.128s' requires at least one value (%s.1)", name, prefix);
			goto out;
		}
		f->name = xstrdup(name);
		f->values = xcalloc(nv, sizeof(char *));
		for (size_t v = 0; v < nv; v++)
			f->values[v] = xstrdup(vals[v]);
		f->nvalues = nv;
		fs->n++;
		free(vals);
	}
out:
	free(idx);
	if (ret < 0)
		filter_set_free(fs);
	return ret;
}

/* NextToken = base64(mac[12] || key), the MAC binding it to this hostd run,
 * account and action. */
#define TOKEN_MAC 12

static void token_mac(struct api_req *r, const char *key, size_t klen, unsigned char mac[32])
{
	struct buf m = BUF_INIT;
	unsigned int mlen = 32;

	buf_adds(&m, r->account_id);
	buf_addc(&m, '\n');
	buf_adds(&m, r->action);
	buf_addc(&m, '\n');
	buf_add(&m, key, klen);
	HMAC(EVP_sha256(), r->h->token_key, sizeof(r->h->token_key), (unsigned char *)m.data, m.len, mac,
	     &mlen);
	buf_free(&m);
}

int api_page(struct api_req *r, int64_t min, int64_t max, int64_t *limit, char **from)
{
	const char *tok = query_get(r->q, "NextToken");
	unsigned char *raw = NULL, mac[32];
	size_t rawlen = 0;

	*from = NULL;
	if (api_int(r, "MaxResults", 0, min, max, limit) < 0)
		return -1;
	if (!tok)
		return 0;
	if (base64_decode(tok, strlen(tok), &raw, &rawlen) < 0 || rawlen <= TOKEN_MAC)
		goto bad;
	token_mac(r, (const char *)raw + TOKEN_MAC, rawlen - TOKEN_MAC, mac);
	if (!ct_equal(mac, raw, TOKEN_MAC))
		goto bad;
	*from = xstrndup((const char *)raw + TOKEN_MAC, rawlen - TOKEN_MAC);
	free(raw);
	return 0;
bad:
	free(raw);
	return api_err(r, 400, "InvalidPaginationToken", "The specified pagination token is not valid or is expired.");
}

void api_next_token(struct api_req *r, const char *key)
{
	size_t klen = strlen(key);
	unsigned char *raw = xmalloc(TOKEN_MAC + klen), mac[32];
	char *b64;

	token_mac(r, key, klen, mac);
	memcpy(raw, mac, TOKEN_MAC);
	memcpy(raw + TOKEN_MAC, key, klen);
	b64 = base64_encode(raw, TOKEN_MAC + klen);
	xml_text(&r->x, "nextToken", b64);
	free(b64);
	free(raw);
}

const struct api_action *api_find_action(const char *name)
{
	size_t lo = 0, hi = api_nactions;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(api_actions[mid].name, name);

		if (c == 0)
			return &api_actions[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Parameters every request may carry besides its action's own. */
static const char *const common_params[] = {
	"Action", "Version", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
	"X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token", NULL,
};

static int check_params(struct api_req *r, const struct api_action *a)
{
	for (size_t i = 0; i < r->q->n; i++) {
		const struct qparam *p = &r->q->p[i];
		const struct api_param *spec = NULL;
		bool common = false;

		for (size_t c = 0; common_params[c]; c++)
			if (!strcmp(common_params[c], p->name))
				common = true;
		if (common)
			continue;
		for (size_t k = 0; a->params && a->params[k].pattern; k++)
			if (query_pattern_match(a->params[k].pattern, p->name)) {
				spec = &a->params[k];
				break;
			}
		if (!spec)
			return api_err(r, 400, "UnknownParameter", "The parameter %.128s is not recognized",
				       p->name);
		if (spec->type == P_INT) {
			int64_t v;

			if (parse_int64(p->value, &v) < 0 || v < INT32_MIN || v > INT32_MAX)
				return api_err_value(r, p->name, p->value, "Expected: 'Integer'.");
		} else if (spec->type == P_BOOL) {
			bool b;

			if (parse_bool(p->value, &b) < 0)
				return api_err_value(r, p->name, p->value, "Expected: 'Boolean'.");
		}
	}
	return 0;
}

static void write_error(struct api_req *r, struct api_http_out *out)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>");
	xml_escape(&b, r->code, strlen(r->code));
	buf_adds(&b, "</Code><Message>");
	xml_escape(&b, r->msg, strlen(r->msg));
	buf_adds(&b, "</Message></Error></Errors><RequestID>");
	buf_adds(&b, r->request_id);
	buf_adds(&b, "</RequestID></Response>");
	out->status = r->status;
	out->len = b.len;
	out->body = buf_steal(&b);
}

static bool is_form(const struct api_http_in *in)
{
	for (size_t i = 0; i < in->nheaders; i++)
		if (!strcasecmp(in->headers[i].name, "Content-Type"))
			return !strncasecmp(in->headers[i].value, "application/x-www-form-urlencoded", 33);
	/* No Content-Type on a body: treat it as a form, as curl -d does. */
	return true;
}

/* SigV4 and the credential behind it. */
static int authenticate(struct api_req *r, const struct api_http_in *in)
{
	struct sigv4_request sreq = {
		.method = in->method, .path = in->path, .query = in->query,
		.headers = in->headers, .nheaders = in->nheaders,
		.body = in->body, .body_len = in->body_len,
	};
	struct sigv4_auth auth;
	struct sigv4_error err = { 0 };
	struct credential cred;
	int ret;

	ret = sigv4_parse(&sreq, &auth, &err);
	if (ret == -ENOENT)
		return api_err(r, 401, "AuthFailure", "AWS was not able to validate the provided access credentials");
	if (ret < 0)
		return api_err(r, err.http_status, err.code, "%s", err.message);
	ret = accounts_lookup(r->h->store, auth.access_key, &cred);
	if (ret == -ENOENT)
		return api_err(r, 401, "AuthFailure", "AWS was not able to validate the provided access credentials");
	if (ret < 0)
		return api_err_internal(r);
	if (cred.session_token[0]) {
		if (!auth.has_security_token || strlen(auth.security_token) != strlen(cred.session_token) ||
		    !ct_equal(auth.security_token, cred.session_token, strlen(cred.session_token)))
			return api_err(r, 401, "AuthFailure", "The security token included in the request is invalid.");
		/* EC2 answers an expired session (an instance profile's old
		 * credentials) with RequestExpired, a code the SDKs take as a
		 * cue to fetch new credentials. */
		if (cred.expires_ms && cred.expires_ms <= now_ms())
			return api_err(r, 400, "RequestExpired", "Request has expired.");
	} else if (auth.has_security_token) {
		return api_err(r, 401, "AuthFailure", "The security token included in the request is invalid.");
	}
	ret = sigv4_verify(&sreq, &auth, cred.secret_key, r->h->cfg->region, "ec2", time(NULL), &err);
	if (ret < 0)
		return api_err(r, err.http_status, err.code, "%s", err.message);
	memcpy(r->account_id, cred.account_id, sizeof(r->account_id));
	return 0;
}

static int dispatch(struct api_req *r, const struct api_http_in *in, struct query *q)
{
	char perr[256];
	const struct api_action *a;
	const char *version;
	bool dry = false;
	int ret;

	if (strcmp(in->method, "POST") && strcmp(in->method, "GET"))
		return api_err(r, 405, "UnsupportedOperation", "The HTTP method %.16s is not supported.", in->method);
	if (in->body_too_large)
		return api_err(r, 413, "RequestEntityTooLarge", "The request body exceeds %zu bytes.",
			       r->h->cfg->max_body_bytes);
	ret = query_parse(q, in->query, strlen(in->query), perr, sizeof(perr));
	if (ret == 0 && in->body_len) {
		if (!is_form(in))
			return api_err(r, 400, "MalformedQueryString",
				       "The request body must be application/x-www-form-urlencoded.");
		ret = query_parse(q, (const char *)in->body, in->body_len, perr, sizeof(perr));
	}
	if (ret == 0)
		ret = query_finish(q, perr, sizeof(perr));
	if (ret == -EEXIST)
		return api_err(r, 400, "InvalidParameterCombination", "%s", perr);
	if (ret < 0)
		return api_err(r, 400, "MalformedQueryString", "%s", perr);
	r->q = q;

	ret = authenticate(r, in);
	if (ret < 0)
		return ret;

	r->action = query_get(q, "Action");
	if (!r->action || !*r->action)
		return api_err(r, 400, "MissingAction", "The request must contain the parameter Action.");
	a = api_find_action(r->action);
	if (!a)
		return api_err(r, 400, "InvalidAction", "The action %.64s is not valid for this web service.",
			       r->action);
	r->action = a->name;
	version = query_get(q, "Version");
	if (!version || !*version)
		return api_err_missing(r, "Version");

	if (!throttle_take(r->h->throttle, r->account_id, a->mutating ? THROTTLE_MUTATE : THROTTLE_DESCRIBE,
			   now_ms()))
		return api_err(r, 503, "RequestLimitExceeded", "Request limit exceeded.");

	ret = check_params(r, a);
	if (ret < 0)
		return ret;
	ret = api_bool(r, "DryRun", false, &dry);
	if (ret < 0)
		return ret;
	if (dry)
		return api_err(r, 412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.");

	xml_begin_doc(&r->x, a->name, "Response", EC2_XMLNS);
	xml_text(&r->x, "requestId", r->request_id);
	ret = a->fn(r);
	if (ret < 0 && !r->code)
		return api_err_internal(r);
	return ret;
}

void api_handle(struct hostd *h, const struct api_http_in *in, struct api_http_out *out)
{
	struct query q = { 0 };
	struct api_req r;
	int64_t t0 = now_ms();
	int ret;

	memset(&r, 0, sizeof(r));
	memset(out, 0, sizeof(*out));
	r.h = h;
	xml_init(&r.x);
	if (uuid_v4(r.request_id) < 0)
		snprintf(r.request_id, sizeof(r.request_id), "00000000-0000-4000-8000-000000000000");
	memcpy(out->request_id, r.request_id, sizeof(out->request_id));

	ret = dispatch(&r, in, &q);
	if (ret == 0) {
		/* Close the handler's elements and the root "<Action>Response". */
		if (xml_finish(&r.x) < 0)
			log_err("api", "%s: handler closed more elements than it opened", r.action);
		out->status = 200;
		out->len = r.x.out.len;
		out->body = buf_steal(&r.x.out);
		log_debug("api", "%s %s 200 %lldms", r.account_id, r.action, (long long)(now_ms() - t0));
	} else {
		write_error(&r, out);
		log_info("api", "%s %s %d %s: %s", r.account_id[0] ? r.account_id : "-",
			 r.action ? r.action : "-", r.status, r.code, r.msg);
	}
	xml_free(&r.x);
	query_free(&q);
}
