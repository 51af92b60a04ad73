#include "metadata/imdsd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "lib/buf.h"
#include "lib/cbormsg.h"
#include "lib/log.h"
#include "lib/util.h"
#include "metadata/imds.h"
#include "metadata/sandbox.h"

/* epoll data: the kind in the top bits, the slot below. */
#define K_CTL 1ull
#define K_LSN 2ull
#define K_CONN 3ull
#define EV(kind, i) ((kind) << 32 | (uint64_t)(i))
#define MAX_FDS_PER_MSG 4

struct rec {
	bool used;
	char id[CBORMSG_ID_MAX];
	char vpc[CBORMSG_ID_MAX];
	uint32_t ips[CBORMSG_IPS_MAX];
	size_t nips;
	int dirfd;
	/* options and token.key, loaded when the tree arrives: a tree is never
	 * changed in place (hostd swaps in a new one and re-sends it). */
	struct imds_config cfg;
	bool cfg_ok;
	int nconns;
	uint64_t req, nt;            /* since the last STATS */
	int64_t last;
	bool dirty;
};

struct lsn {
	bool used;
	char vpc[CBORMSG_ID_MAX];
	int fd;
};

struct conn {
	bool used;
	int fd;
	int rec;                     /* slot in d->recs */
	char vpc[CBORMSG_ID_MAX];
	uint32_t peer;
	char *in;
	size_t inlen;
	struct buf out;
	size_t outoff;
	bool closing;                /* close once out is written */
	bool want_out;               /* registered for EPOLLOUT instead of EPOLLIN */
	int64_t deadline;
};

struct imdsd {
	int ep, ctl;
	struct rec recs[IMDSD_MAX_RECORDS];
	struct lsn lsns[IMDSD_MAX_LISTENERS];
	struct conn conns[IMDSD_MAX_CONNS];
	size_t nconns;
	bool stats_dirty;
	uint8_t msg[CBORMSG_MAX];
	struct cbormsg m;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int find_rec(struct imdsd *d, const char *vpc, uint32_t ip)
{
	for (int i = 0; i < IMDSD_MAX_RECORDS; i++) {
		struct rec *r = &d->recs[i];

		if (!r->used || strcmp(r->vpc, vpc))
			continue;
		for (size_t j = 0; j < r->nips; j++)
			if (r->ips[j] == ip)
				return i;
	}
	return -1;
}

/* ---- connections ---- */

static void conn_close(struct imdsd *d, int i)
{
	struct conn *c = &d->conns[i];

	if (!c->used)
		return;
	close(c->fd);
	if (c->rec >= 0)
		d->recs[c->rec].nconns--;
	free(c->in);
	buf_free(&c->out);
	memset(c, 0, sizeof(*c));
	d->nconns--;
}

static void conn_interest(struct imdsd *d, int i, bool out)
{
	struct conn *c = &d->conns[i];
	struct epoll_event ev = { .events = out ? EPOLLOUT : EPOLLIN, .data.u64 = EV(K_CONN, i) };

	if (c->want_out == out)
		return;
	c->want_out = out;
	if (epoll_ctl(d->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		c->closing = true;
}

/* Writes what is pending; closes the connection when it is done. */
static void conn_flush(struct imdsd *d, int i)
{
	struct conn *c = &d->conns[i];

	while (c->outoff < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->outoff, c->out.len - c->outoff, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_interest(d, i, true);
			return;
		}
		if (n <= 0) {
			conn_close(d, i);
			return;
		}
		c->outoff += (size_t)n;
	}
	buf_reset(&c->out);
	c->outoff = 0;
	if (c->closing) {
		conn_close(d, i);
		return;
	}
	conn_interest(d, i, false);
}

/* Answers every complete request in c->in. */
static void conn_serve(struct imdsd *d, int i)
{
	struct conn *c = &d->conns[i];

	while (c->inlen > 0 && !c->closing) {
		struct rec *r = &d->recs[c->rec];
		int hops = 0;
		bool no_token = false, close_after = false;
		struct imds_ctx ctx;
		ssize_t n;

		/* A tree replaced while it was being sent may have failed to load;
		 * its successor is on the way, but try again meanwhile. */
		if (!r->cfg_ok)
			r->cfg_ok = imds_config_load(r->dirfd, &r->cfg) == 0;
		ctx = (struct imds_ctx){ .dirfd = r->dirfd, .cfg = r->cfg_ok ? &r->cfg : NULL, .now = now_ms() / 1000,
					 .token_hops = &hops, .no_token = &no_token };
		n = imds_handle(&ctx, c->in, c->inlen, &c->out, &close_after);

		if (n <= 0)
			break;
		/* A new token leaves with IP TTL = the hop limit, and the TTL
		 * stays for the rest of the connection (hostd-imds-pipe's
		 * token_ttl explains why); bytes still queued before it only
		 * get the stricter TTL. */
		if (hops > 0 && setsockopt(c->fd, IPPROTO_IP, IP_TTL, &hops, sizeof(hops)) < 0)
			close_after = true;
		r->req++;
		if (no_token)
			r->nt++;
		r->last = now_ms() / 1000;
		r->dirty = true;
		d->stats_dirty = true;
		memmove(c->in, c->in + n, c->inlen - (size_t)n);
		c->inlen -= (size_t)n;
		c->deadline = mono_ms() + IMDSD_IDLE_MS;
		if (close_after)
			c->closing = true;
	}
	/* Cannot happen (imds_handle answers any full buffer); be sure. */
	if (c->inlen == IMDS_REQUEST_MAX)
		c->closing = true;
	conn_flush(d, i);
}

static void conn_read(struct imdsd *d, int i)
{
	struct conn *c = &d->conns[i];
	ssize_t n = recv(c->fd, c->in + c->inlen, IMDS_REQUEST_MAX - c->inlen, 0);

	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		conn_close(d, i);
		return;
	}
	c->inlen += (size_t)n;
	conn_serve(d, i);
}

static void accept_on(struct imdsd *d, int li)
{
	struct lsn *l = &d->lsns[li];

	/* A bounded batch per wake-up, so one busy VPC cannot hold the loop. */
	for (int k = 0; k < 64; k++) {
		struct sockaddr_in peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(l->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC), ri, slot = -1;
		struct epoll_event ev;
		struct conn *c;

		if (fd < 0)
			return;
		ri = peer.sin_family == AF_INET ? find_rec(d, l->vpc, ntohl(peer.sin_addr.s_addr)) : -1;
		if (ri < 0 || d->recs[ri].nconns >= IMDSD_MAX_CONNS_PER_INSTANCE || d->nconns >= IMDSD_MAX_CONNS) {
			close(fd);
			continue;
		}
		for (int j = 0; j < IMDSD_MAX_CONNS; j++)
			if (!d->conns[j].used) {
				slot = j;
				break;
			}
		if (slot < 0) {
			close(fd);
			continue;
		}
		c = &d->conns[slot];
		memset(c, 0, sizeof(*c));
		c->used = true;
		c->fd = fd;
		c->rec = ri;
		c->peer = ntohl(peer.sin_addr.s_addr);
		memcpy(c->vpc, l->vpc, sizeof(c->vpc));
		c->in = xmalloc(IMDS_REQUEST_MAX);
		c->deadline = mono_ms() + IMDSD_IDLE_MS;
		ev.events = EPOLLIN;
		ev.data.u64 = EV(K_CONN, slot);
		d->nconns++;
		d->recs[ri].nconns++;
		if (epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			conn_close(d, slot);
	}
}

/* After a record changed or went: every connection is attributed again,
 * and one whose source is nobody's now is closed. */
static void reattribute(struct imdsd *d)
{
	for (int i = 0; i < IMDSD_MAX_CONNS; i++) {
		struct conn *c = &d->conns[i];
		int ri;

		if (!c->used)
			continue;
		ri = find_rec(d, c->vpc, c->peer);
		if (ri != c->rec) {
			d->recs[c->rec].nconns--;
			c->rec = -1;
			if (ri < 0) {
				conn_close(d, i);
				continue;
			}
			c->rec = ri;
			d->recs[ri].nconns++;
		}
	}
}

static void sweep_idle(struct imdsd *d)
{
	int64_t now = mono_ms();

	for (int i = 0; i < IMDSD_MAX_CONNS; i++)
		if (d->conns[i].used && now >= d->conns[i].deadline)
			conn_close(d, i);
}

/* ---- the parent ---- */

static void rec_clear(struct rec *r)
{
	if (r->dirfd > 0)
		close(r->dirfd);
	OPENSSL_cleanse(&r->cfg, sizeof(r->cfg));
	memset(r, 0, sizeof(*r));
}

static int on_listen(struct imdsd *d, const struct cbormsg *m, int fd)
{
	int acc = 0, slot = -1;
	socklen_t len = sizeof(acc);
	struct epoll_event ev = { .events = EPOLLIN };

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0 || !acc)
		return -ENOTSOCK;
	for (int i = 0; i < IMDSD_MAX_LISTENERS; i++) {
		struct lsn *l = &d->lsns[i];

		if (l->used && !strcmp(l->vpc, m->vpc)) {
			/* a new socket for the VPC replaces the old one */
			epoll_ctl(d->ep, EPOLL_CTL_DEL, l->fd, NULL);
			close(l->fd);
			l->used = false;
		}
		if (!l->used && slot < 0)
			slot = i;
	}
	if (slot < 0)
		return -ENOSPC;
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	ev.data.u64 = EV(K_LSN, slot);
	if (epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	d->lsns[slot].used = true;
	d->lsns[slot].fd = fd;
	memcpy(d->lsns[slot].vpc, m->vpc, sizeof(m->vpc));
	return 0;
}

static void on_unlisten(struct imdsd *d, const struct cbormsg *m)
{
	for (int i = 0; i < IMDSD_MAX_LISTENERS; i++) {
		struct lsn *l = &d->lsns[i];

		if (l->used && !strcmp(l->vpc, m->vpc)) {
			epoll_ctl(d->ep, EPOLL_CTL_DEL, l->fd, NULL);
			close(l->fd);
			memset(l, 0, sizeof(*l));
		}
	}
}

static int on_record(struct imdsd *d, const struct cbormsg *m, int fd)
{
	struct stat st;
	int slot = -1, lr;
	struct rec *r;

	if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode))
		return -ENOTDIR;
	for (int i = 0; i < IMDSD_MAX_RECORDS; i++) {
		if (d->recs[i].used && !strcmp(d->recs[i].id, m->id)) {
			slot = i;
			break;
		}
		if (!d->recs[i].used && slot < 0)
			slot = i;
	}
	if (slot < 0)
		return -ENOSPC;
	r = &d->recs[slot];
	if (!r->used) {
		memset(r, 0, sizeof(*r));
		r->used = true;
		memcpy(r->id, m->id, sizeof(r->id));
	} else {
		close(r->dirfd);
	}
	r->dirfd = fd;
	memcpy(r->vpc, m->vpc, sizeof(r->vpc));
	memcpy(r->ips, m->ips, sizeof(r->ips));
	r->nips = m->nips;
	lr = imds_config_load(fd, &r->cfg);
	r->cfg_ok = lr == 0;
	if (lr < 0)
		log_warn("imds", "%s: cannot load options/token.key: %s", r->id, strerror(-lr));
	reattribute(d);
	return 0;
}

static void send_stats(struct imdsd *d);

static void on_forget(struct imdsd *d, const struct cbormsg *m)
{
	char id[CBORMSG_ID_MAX];

	memcpy(id, m->id, sizeof(id));  /* send_stats reuses d->m */
	for (int i = 0; i < IMDSD_MAX_RECORDS; i++) {
		struct rec *r = &d->recs[i];

		if (!r->used || strcmp(r->id, id))
			continue;
		/* its connections go first, while the record still counts them */
		r->used = false;
		reattribute(d);
		/* what it served since the last report is still reported */
		r->used = true;
		send_stats(d);
		rec_clear(r);
		break;
	}
}

/* One message; false when the parent is gone. */
static bool ctl_read(struct imdsd *d)
{
	char cbuf[CMSG_SPACE(sizeof(int) * MAX_FDS_PER_MSG)];
	struct iovec iov = { d->msg, sizeof(d->msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	int fds[MAX_FDS_PER_MSG], nfds = 0, want, r = -EBADMSG;
	ssize_t n = recvmsg(d->ctl, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t k = 0; k < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
			if (nfds < MAX_FDS_PER_MSG)
				fds[nfds++] = fd;
			else
				close(fd);
		}
	}
	if (!(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) && cbormsg_decode(d->msg, (size_t)n, &d->m) == 0) {
		want = cbormsg_nfds(d->m.type);
		if (want == nfds) {
			r = 0;
			switch (d->m.type) {
			case CBORMSG_LISTEN:
				r = on_listen(d, &d->m, fds[0]);
				break;
			case CBORMSG_UNLISTEN:
				on_unlisten(d, &d->m);
				break;
			case CBORMSG_RECORD:
				r = on_record(d, &d->m, fds[0]);
				break;
			case CBORMSG_FORGET:
				on_forget(d, &d->m);
				break;
			default:
				r = -EBADMSG;  /* STATS goes the other way */
				break;
			}
			if (r == 0)
				nfds = 0;  /* kept */
		}
	}
	if (r < 0)
		log_warn("imds", "message from hostd refused: %s", strerror(-r));
	for (int k = 0; k < nfds; k++)
		close(fds[k]);
	return true;
}

/* The deltas since the last report; kept when the parent is not reading. */
static void send_stats(struct imdsd *d)
{
	struct cbormsg *m = &d->m;
	struct buf b = BUF_INIT;
	int i = 0;

	while (i < IMDSD_MAX_RECORDS) {
		int first = i;

		memset(m, 0, sizeof(*m));
		m->type = CBORMSG_STATS;
		for (; i < IMDSD_MAX_RECORDS && m->nstats < CBORMSG_STATS_MAX; i++) {
			struct rec *r = &d->recs[i];
			struct cbormsg_stat *s = &m->stats[m->nstats];

			if (!r->used || !r->dirty)
				continue;
			memcpy(s->id, r->id, sizeof(s->id));
			s->requests = r->req;
			s->no_token = r->nt;
			s->last_contact = r->last;
			m->nstats++;
		}
		if (m->nstats == 0)
			break;
		buf_reset(&b);
		if (cbormsg_encode(m, &b) < 0 || send(d->ctl, b.data, b.len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			break;
		for (int j = first; j < i; j++) {
			struct rec *r = &d->recs[j];

			if (r->used && r->dirty) {
				r->req = r->nt = 0;
				r->dirty = false;
			}
		}
	}
	buf_free(&b);
	d->stats_dirty = false;
	for (int j = 0; j < IMDSD_MAX_RECORDS; j++)
		if (d->recs[j].used && d->recs[j].dirty)
			d->stats_dirty = true;
}

/* Whatever OpenSSL does on first use (it may read its configuration), it
 * does now, before the filter forbids it. */
static void warm_up(void)
{
	struct imds_config cfg = { .instance_id = "i-0", .hop_limit = 1 };
	char tok[IMDS_TOKEN_LEN + 1];

	if (imds_token_mint(&cfg, 1, 1, tok) == 0)
		(void)imds_token_check(&cfg, tok, strlen(tok), 1);
}

int imdsd_run(int ctl, const char *selftest)
{
	struct imdsd *d = xcalloc(1, sizeof(*d));
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV(K_CTL, 0) };
	int64_t next_tick;
	int ret = 0;

	d->ctl = ctl;
	signal(SIGPIPE, SIG_IGN);
	d->ep = epoll_create1(EPOLL_CLOEXEC);
	if (d->ep < 0 || epoll_ctl(d->ep, EPOLL_CTL_ADD, ctl, &ev) < 0) {
		ret = -errno;
		goto out;
	}
	warm_up();
	if ((ret = sandbox_enter()) < 0) {
		log_err("imds", "cannot enter the sandbox: %s: serving nothing", strerror(-ret));
		goto out;
	}
	if (selftest && sandbox_selftest(selftest) != 0) {
		log_err("imds", "seccomp selftest %s was not stopped: serving nothing", selftest);
		ret = -EPERM;
		goto out;
	}
	next_tick = mono_ms() + 1000;
	for (;;) {
		struct epoll_event evs[64];
		int64_t wait = next_tick - mono_ms();
		int n = epoll_wait(d->ep, evs, 64, wait < 0 ? 0 : (int)wait);

		if (n < 0 && errno != EINTR) {
			ret = -errno;
			goto out;
		}
		for (int k = 0; k < n; k++) {
			uint64_t kind = evs[k].data.u64 >> 32;
			int i = (int)(evs[k].data.u64 & 0xffffffffu);

			if (kind == K_CTL) {
				if (!ctl_read(d))
					goto out;
			} else if (kind == K_LSN) {
				if (d->lsns[i].used)
					accept_on(d, i);
			} else if (kind == K_CONN && d->conns[i].used) {
				if (d->conns[i].want_out)
					conn_flush(d, i);
				else if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
					conn_read(d, i);
			}
		}
		if (mono_ms() >= next_tick) {
			sweep_idle(d);
			if (d->stats_dirty)
				send_stats(d);
			next_tick = mono_ms() + 1000;
		}
	}
out:
	for (int i = 0; i < IMDSD_MAX_CONNS; i++)
		conn_close(d, i);
	for (int i = 0; i < IMDSD_MAX_RECORDS; i++)
		if (d->recs[i].used)
			rec_clear(&d->recs[i]);
	for (int i = 0; i < IMDSD_MAX_LISTENERS; i++)
		if (d->lsns[i].used)
			close(d->lsns[i].fd);
	if (d->ep >= 0)
		close(d->ep);
	free(d);
	return ret;
}
