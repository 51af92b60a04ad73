#include "hostd/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hostd/api.h"
#include "hostd/config.h"
#include "hostd/hostd.h"
#include "hostd/store.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/util.h"

struct http_server {
	struct MHD_Daemon *d;
	struct hostd *h;
	uint16_t port;
};

/* Per-request state, created from the raw URI (libmicrohttpd unescapes the
 * URL it hands the handler, but SigV4 signs the bytes as sent). */
struct conn {
	char *raw_uri;
	struct buf body;
	bool started;
	bool too_large;
	size_t seen;               /* body bytes received, kept or not */
	struct sigv4_header *hdr;
	size_t nhdr, caphdr;
};

static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *con)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->raw_uri = xstrdup(uri ? uri : "/");
	return c;
}

static void completed(void *cls, struct MHD_Connection *con, void **con_cls, enum MHD_RequestTerminationCode t)
{
	struct conn *c = *con_cls;

	if (!c)
		return;
	free(c->raw_uri);
	buf_free(&c->body);
	free(c->hdr);
	free(c);
	*con_cls = NULL;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
	struct conn *c = cls;

	if (c->nhdr == c->caphdr) {
		c->caphdr = c->caphdr ? c->caphdr * 2 : 16;
		c->hdr = realloc(c->hdr, c->caphdr * sizeof(*c->hdr));
		if (!c->hdr)
			abort();
	}
	c->hdr[c->nhdr].name = k;
	c->hdr[c->nhdr].value = v ? v : "";
	c->nhdr++;
	return MHD_YES;
}

static enum MHD_Result send_reply(struct MHD_Connection *con, int status, char *body, size_t len,
				  const char *request_id)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "text/xml;charset=UTF-8");
	MHD_add_response_header(resp, "Server", "AmazonEC2");
	if (request_id)
		MHD_add_response_header(resp, "x-amzn-RequestId", request_id);
	ret = MHD_queue_response(con, (unsigned int)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *con, const char *url, const char *method,
			      const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct http_server *s = cls;
	struct conn *c = *con_cls;
	struct api_http_in in;
	struct api_http_out out;
	char *q;

	if (!c)
		return MHD_NO;
	if (!c->started) {
		c->started = true;
		return MHD_YES;
	}
	if (*upload_size) {
		/* Past the limit the body is read and dropped, so the client still
		 * gets its 413; a client that keeps going far past it is cut off. */
		if (c->body.len + *upload_size > s->h->cfg->max_body_bytes)
			c->too_large = true;
		if (!c->too_large)
			buf_add(&c->body, upload_data, *upload_size);
		c->seen += *upload_size;
		*upload_size = 0;
		return c->seen > 64 * s->h->cfg->max_body_bytes ? MHD_NO : MHD_YES;
	}

	MHD_get_connection_values(con, MHD_HEADER_KIND, collect_header, c);
	q = strchr(c->raw_uri, '?');
	if (q)
		*q++ = '\0';
	memset(&in, 0, sizeof(in));
	in.method = method;
	in.path = c->raw_uri;
	in.query = q ? q : "";
	in.headers = c->hdr;
	in.nheaders = c->nhdr;
	in.body = (const unsigned char *)(c->body.data ? c->body.data : "");
	in.body_len = c->body.len;
	in.body_too_large = c->too_large;
	pthread_mutex_lock(&s->h->lock);
	api_handle(s->h, &in, &out);
	/* no statement keeps an old snapshot of the state between requests */
	store_reset_all(s->h->store);
	pthread_mutex_unlock(&s->h->lock);
	return send_reply(con, out.status, out.body, out.len, out.request_id);
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128];
	const char *colon, *h = listen;
	size_t hl;
	long port;
	char *end;

	if (listen[0] == '[') {
		const char *rb = strchr(listen, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		h = listen + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - listen);
	}
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port < 0 || port > 65535)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (listen[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -EINVAL;
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -EINVAL;
		*len = sizeof(*a);
	}
	return 0;
}

int http_start(struct http_server **out, struct hostd *h, const char *listen)
{
	struct http_server *s = xcalloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	socklen_t sslen;
	const union MHD_DaemonInfo *info;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_AUTO;
	int r;

	r = parse_listen(listen, &ss, &sslen);
	if (r < 0) {
		log_err("http", "bad listen address '%s' (want ADDR:PORT)", listen);
		free(s);
		return r;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->h = h;
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, s,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_URI_LOG_CALLBACK, uri_logger, s,
				MHD_OPTION_NOTIFY_COMPLETED, completed, s,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)1024,
				MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
				MHD_OPTION_END);
	if (!s->d) {
		log_err("http", "cannot listen on %s", listen);
		free(s);
		return -EADDRINUSE;
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : 0;
	*out = s;
	return 0;
}

uint16_t http_port(struct http_server *s) { return s->port; }

void http_stop(struct http_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->d);
	free(s);
}
