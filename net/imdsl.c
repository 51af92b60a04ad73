#include "net/imdsl.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cbormsg.h"
#include "lib/log.h"
#include "lib/util.h"

#define MAX_LISTENERS 256
#define CHILD_FD 3
/* A child that dies younger than this is restarted only after it, so a
 * child that cannot start does not spin; any other death is answered at once. */
#define RESPAWN_MS 500

extern char **environ;

struct listener {
	char key[CBORMSG_ID_MAX];
	int fd;
	bool sent;                 /* the running child has it */
	bool dead;                 /* to be unlistened and closed */
};

struct record {
	char id[CBORMSG_ID_MAX];
	char vpc[CBORMSG_ID_MAX];
	uint32_t ips[CBORMSG_IPS_MAX];
	size_t nips;
	char dir[4096], stats[4096];
	bool sent, gone;
	bool contacted;            /* logged its first contact */
	uint64_t req, nt;          /* cumulative */
	int64_t last;
};

struct imdsl {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t sent;       /* a record reached the child */
	int wake;
	bool quit;
	char bin[4096];
	int bin_fd;                /* O_PATH: exec'd by descriptor */
	pid_t pid;
	int sock;                  /* our end of the child's socketpair, -1 when none */
	int64_t started_ms, respawn_at;
	bool blocked;              /* the last send said EAGAIN: wait for POLLOUT */
	struct listener ls[MAX_LISTENERS];
	size_t n;
	struct record *rs;
	size_t nr, cr;
	uint8_t msg[CBORMSG_MAX];
	struct cbormsg m;
};

struct mk {
	const char *ns;
	int fd, err;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs on its own thread: setns() changes only the calling thread. */
static void *make_socket(void *p)
{
	struct mk *m = p;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(80) };
	char path[300];
	int nsfd, fd, one = 1;

	m->fd = -1;
	snprintf(path, sizeof(path), "/run/netns/%s", m->ns);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) {
		m->err = -errno;
		return NULL;
	}
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		m->err = -errno;
		close(nsfd);
		return NULL;
	}
	close(nsfd);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		m->err = -errno;
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_addr.s_addr = htonl(0xa9fea9feu);
	/* The backlog holds guests' connections while a new child starts. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0) {
		m->err = -errno;
		close(fd);
		return NULL;
	}
	m->fd = fd;
	m->err = 0;
	return NULL;
}

static void wake(struct imdsl *l)
{
	uint64_t one = 1;

	if (write(l->wake, &one, sizeof(one)) < 0)
		log_debug("imds", "wake: %s", strerror(errno));
}

int imdsl_ensure(struct imdsl *l, const char *key, const char *ns)
{
	struct mk m = { ns, -1, 0 };
	pthread_t t;
	int ret = 0;

	if (!l)
		return 0;
	if (strlen(key) >= CBORMSG_ID_MAX)
		return -EINVAL;
	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < l->n; i++)
		if (!l->ls[i].dead && !strcmp(l->ls[i].key, key))
			goto out;
	if (l->n == MAX_LISTENERS) {
		ret = -ENOSPC;
		goto out;
	}
	if (pthread_create(&t, NULL, make_socket, &m) != 0) {
		ret = -EAGAIN;
		goto out;
	}
	pthread_join(t, NULL);
	if (m.err < 0) {
		ret = m.err;
		log_err("imds", "cannot listen on 169.254.169.254:80 in %s: %s", ns, strerror(-ret));
		goto out;
	}
	memset(&l->ls[l->n], 0, sizeof(l->ls[l->n]));
	snprintf(l->ls[l->n].key, sizeof(l->ls[l->n].key), "%s", key);
	l->ls[l->n].fd = m.fd;
	l->n++;
	log_info("imds", "listening on 169.254.169.254:80 in %s", ns);
	wake(l);
out:
	pthread_mutex_unlock(&l->mu);
	return ret;
}

void imdsl_remove(struct imdsl *l, const char *key)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->ls[i].key, key))
			l->ls[i].dead = true;
	wake(l);
	pthread_mutex_unlock(&l->mu);
}

static struct record *find(struct imdsl *l, const char *id)
{
	for (size_t i = 0; i < l->nr; i++)
		if (!strcmp(l->rs[i].id, id))
			return &l->rs[i];
	return NULL;
}

/* A record's counters survive hostd restarts through its stats file. */
static void load_stats(struct record *r)
{
	char line[128];
	FILE *f = fopen(r->stats, "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;

		if (sscanf(line, "requests=%llu", &v) == 1)
			r->req = v;
		else if (sscanf(line, "metadata_no_token=%llu", &v) == 1)
			r->nt = v;
		else if (sscanf(line, "last_contact=%llu", &v) == 1)
			r->last = (int64_t)v;
	}
	fclose(f);
}

int imdsl_push(struct imdsl *l, const struct imdsl_record *in)
{
	struct record *r;

	if (!l)
		return 0;
	if (strlen(in->id) >= CBORMSG_ID_MAX || strlen(in->vpc) >= CBORMSG_ID_MAX || in->nips > CBORMSG_IPS_MAX ||
	    strlen(in->dir) >= sizeof(r->dir) || strlen(in->stats) >= sizeof(r->stats))
		return -EINVAL;
	pthread_mutex_lock(&l->mu);
	r = find(l, in->id);
	if (!r) {
		if (l->nr == l->cr) {
			l->cr = l->cr ? 2 * l->cr : 16;
			l->rs = realloc(l->rs, l->cr * sizeof(*l->rs));
			if (!l->rs)
				abort();
		}
		r = &l->rs[l->nr++];
		memset(r, 0, sizeof(*r));
		snprintf(r->id, sizeof(r->id), "%s", in->id);
		snprintf(r->stats, sizeof(r->stats), "%s", in->stats);
		load_stats(r);
	}
	snprintf(r->vpc, sizeof(r->vpc), "%s", in->vpc);
	snprintf(r->dir, sizeof(r->dir), "%s", in->dir);
	snprintf(r->stats, sizeof(r->stats), "%s", in->stats);
	memcpy(r->ips, in->ips, in->nips * sizeof(*in->ips));
	r->nips = in->nips;
	r->sent = false;
	r->gone = false;
	wake(l);
	/* The caller removes the old tree next, which the child still serves
	 * from: wait (briefly: a restarting child gets everything anyway)
	 * until the new one is with it. */
	{
		struct timespec until;
		char id[CBORMSG_ID_MAX];

		snprintf(id, sizeof(id), "%s", in->id);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += 200 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (l->sock >= 0 && (r = find(l, id)) && !r->sent && !r->gone)
			if (pthread_cond_timedwait(&l->sent, &l->mu, &until) == ETIMEDOUT)
				break;
	}
	pthread_mutex_unlock(&l->mu);
	return 0;
}

void imdsl_forget(struct imdsl *l, const char *id)
{
	struct record *r;

	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	r = find(l, id);
	if (r) {
		r->gone = true;
		r->sent = false;
		wake(l);
	}
	pthread_mutex_unlock(&l->mu);
}

pid_t imdsl_child(struct imdsl *l)
{
	pid_t p;

	if (!l)
		return 0;
	pthread_mutex_lock(&l->mu);
	p = l->pid;
	pthread_mutex_unlock(&l->mu);
	return p;
}

static int share_one(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)f;
	if (flag == FTW_SL)
		return 0;
	if (chown(path, 0, NET_IMDS_GID) < 0 || chmod(path, S_ISDIR(sb->st_mode) ? 0750 : 0640) < 0)
		return -errno;
	return 0;
}

int imdsl_share(const char *dir)
{
	int r = nftw(dir, share_one, 16, FTW_PHYS);

	return r == 0 ? 0 : r < 0 ? r : -EIO;
}

/* ---- the child ---- */

/* With l->mu held. Only async-signal-safe calls after fork: hostd has
 * threads. */
static void spawn(struct imdsl *l)
{
	const char *argv[] = { l->bin, "--fd", "3", NULL };
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_err("imds", "socketpair: %s", strerror(errno));
		l->respawn_at = mono_ms() + RESPAWN_MS;
		return;
	}
	pid = fork();
	if (pid < 0) {
		log_err("imds", "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		l->respawn_at = mono_ms() + RESPAWN_MS;
		return;
	}
	if (pid == 0) {
		sigset_t none;

		/* hostd's threads block SIGTERM/SIGINT for its signal thread. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		/* Its own process group: a ^C to hostd is hostd's to handle. */
		setpgid(0, 0);
		if (sv[1] == CHILD_FD) {
			if (fcntl(CHILD_FD, F_SETFD, 0) < 0)
				_exit(127);
		} else if (dup2(sv[1], CHILD_FD) < 0) {
			_exit(127);
		}
		/* Nothing of hostd's but the control socket and stdio crosses
		 * the exec (closing now would close bin_fd too). */
		close_range(CHILD_FD + 1, ~0U, CLOSE_RANGE_CLOEXEC);
		fexecve(l->bin_fd, (char *const *)argv, environ);
		_exit(127);
	}
	close(sv[1]);
	l->sock = sv[0];
	l->pid = pid;
	l->started_ms = mono_ms();
	l->blocked = false;
	/* A new child knows nothing: everything goes again. */
	for (size_t i = 0; i < l->n; i++)
		l->ls[i].sent = false;
	for (size_t i = 0; i < l->nr; i++)
		l->rs[i].sent = false;
	log_info("imds", "hostd-imds started (pid %d)", (int)pid);
}

/* With l->mu held: the child is gone (or must go); reap it. */
static void lost(struct imdsl *l)
{
	int status = 0;
	pid_t p;

	close(l->sock);
	l->sock = -1;
	if (l->pid <= 0)
		return;
	/* Its end of the socket is closed, so it is exiting; a child that
	 * only closed the socket is stopped here. */
	for (int tries = 0; (p = waitpid(l->pid, &status, WNOHANG)) == 0 && tries < 100; tries++)
		usleep(10000);
	if (p == 0) {
		kill(l->pid, SIGKILL);
		p = waitpid(l->pid, &status, 0);
	}
	if (l->quit)
		log_info("imds", "hostd-imds (pid %d) stopped", (int)l->pid);
	else if (p > 0 && WIFSIGNALED(status))
		log_err("imds", "hostd-imds (pid %d) killed by signal %d (%s)%s: restarting", (int)l->pid, WTERMSIG(status),
			strsignal(WTERMSIG(status)), WTERMSIG(status) == SIGSYS ? ", a call its seccomp filter forbids" : "");
	else if (p > 0)
		log_err("imds", "hostd-imds (pid %d) exited with status %d: restarting", (int)l->pid, WEXITSTATUS(status));
	l->respawn_at = mono_ms() - l->started_ms < RESPAWN_MS ? l->started_ms + RESPAWN_MS : mono_ms();
	l->pid = 0;
}

/* Sends one frame (and fd when >= 0). 0, -EAGAIN, or another -errno. */
static int send_msg(struct imdsl *l, int fd)
{
	struct buf b = BUF_INIT;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int r;

	if ((r = cbormsg_encode(&l->m, &b)) < 0)
		goto out;
	iov.iov_base = b.data;
	iov.iov_len = b.len;
	if (fd >= 0) {
		struct cmsghdr *cm;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	if (sendmsg(l->sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		r = errno == EWOULDBLOCK ? -EAGAIN : -errno;
out:
	buf_free(&b);
	return r;
}

/* With l->mu held: whatever the child does not have yet. */
static void sync_child(struct imdsl *l)
{
	size_t j = 0;
	int r = 0;

	for (size_t i = 0; i < l->n && r != -EAGAIN; i++) {
		struct listener *x = &l->ls[i];

		if (x->sent && !x->dead)
			continue;
		memset(&l->m, 0, sizeof(l->m));
		l->m.type = x->dead ? CBORMSG_UNLISTEN : CBORMSG_LISTEN;
		snprintf(l->m.vpc, sizeof(l->m.vpc), "%s", x->key);
		r = send_msg(l, x->dead ? -1 : x->fd);
		if (r == 0 || r != -EAGAIN)
			x->sent = true;
		if (r < 0 && r != -EAGAIN)
			log_err("imds", "%s: cannot pass the listener: %s", x->key, strerror(-r));
	}
	for (size_t i = 0; i < l->nr && r != -EAGAIN; i++) {
		struct record *x = &l->rs[i];
		int fd;

		if (x->sent)
			continue;
		memset(&l->m, 0, sizeof(l->m));
		snprintf(l->m.id, sizeof(l->m.id), "%s", x->id);
		if (x->gone) {
			l->m.type = CBORMSG_FORGET;
			r = send_msg(l, -1);
		} else {
			l->m.type = CBORMSG_RECORD;
			snprintf(l->m.vpc, sizeof(l->m.vpc), "%s", x->vpc);
			memcpy(l->m.ips, x->ips, sizeof(x->ips));
			l->m.nips = x->nips;
			/* Opened now, after the push: the tree that is current. */
			fd = open(x->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0) {
				log_warn("imds", "%s: %s: %s", x->id, x->dir, strerror(errno));
				x->sent = true;
				continue;
			}
			r = send_msg(l, fd);
			close(fd);
		}
		if (r == 0 || r != -EAGAIN)
			x->sent = true;
		if (r < 0 && r != -EAGAIN)
			log_err("imds", "%s: cannot pass the record: %s", x->id, strerror(-r));
	}
	l->blocked = r == -EAGAIN;
	pthread_cond_broadcast(&l->sent);
	/* What is unlistened or forgotten is dropped once the child knows. */
	for (size_t i = 0; i < l->n; i++) {
		if (l->ls[i].dead && l->ls[i].sent) {
			close(l->ls[i].fd);
			continue;
		}
		l->ls[j++] = l->ls[i];
	}
	l->n = j;
	j = 0;
	for (size_t i = 0; i < l->nr; i++)
		if (!(l->rs[i].gone && l->rs[i].sent))
			l->rs[j++] = l->rs[i];
	l->nr = j;
}

struct stat_out {
	char path[4096], id[CBORMSG_ID_MAX];
	uint64_t req, nt;
	int64_t last;
	bool first;
};

static void write_stats(const struct stat_out *s)
{
	char tmp[4200], text[200];
	int n = snprintf(text, sizeof(text), "requests=%llu\nmetadata_no_token=%llu\nlast_contact=%lld\n",
			 (unsigned long long)s->req, (unsigned long long)s->nt, (long long)s->last);
	int fd;

	if (s->first)
		log_info("imds", "%s: first metadata request", s->id);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", s->path) >= (int)sizeof(tmp))
		return;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, text, (size_t)n) != n) {
		close(fd);
		unlink(tmp);
		return;
	}
	close(fd);
	if (rename(tmp, s->path) < 0)
		unlink(tmp);
}

/* The child's report: added up under the lock, files written without it. */
static bool read_child(struct imdsl *l)
{
	struct stat_out *out = NULL;
	size_t nout = 0;
	ssize_t n = recv(l->sock, l->msg, sizeof(l->msg), MSG_DONTWAIT | MSG_TRUNC);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false;
	if ((size_t)n > sizeof(l->msg) || cbormsg_decode(l->msg, (size_t)n, &l->m) < 0 || l->m.type != CBORMSG_STATS) {
		log_err("imds", "hostd-imds sent a bad message: stopping it");
		return false;
	}
	out = xcalloc(l->m.nstats ? l->m.nstats : 1, sizeof(*out));
	for (size_t i = 0; i < l->m.nstats; i++) {
		const struct cbormsg_stat *s = &l->m.stats[i];
		struct record *r = find(l, s->id);

		if (!r || r->gone)
			continue;
		r->req += s->requests;
		r->nt += s->no_token;
		if (s->last_contact > r->last)
			r->last = s->last_contact;
		snprintf(out[nout].path, sizeof(out[nout].path), "%s", r->stats);
		snprintf(out[nout].id, sizeof(out[nout].id), "%s", r->id);
		out[nout].req = r->req;
		out[nout].nt = r->nt;
		out[nout].last = r->last;
		out[nout].first = !r->contacted;
		r->contacted = true;
		nout++;
	}
	pthread_mutex_unlock(&l->mu);
	for (size_t i = 0; i < nout; i++)
		write_stats(&out[i]);
	free(out);
	pthread_mutex_lock(&l->mu);
	return true;
}

static void *thread_main(void *p)
{
	struct imdsl *l = p;

	pthread_mutex_lock(&l->mu);
	for (;;) {
		struct pollfd fds[2] = { { .fd = l->wake, .events = POLLIN }, { .fd = -1 } };
		int timeout = -1;

		if (l->quit)
			break;
		if (l->sock < 0 && mono_ms() >= l->respawn_at)
			spawn(l);
		if (l->sock >= 0) {
			if (!l->blocked)
				sync_child(l);
			fds[1].fd = l->sock;
			fds[1].events = POLLIN | (l->blocked ? POLLOUT : 0);
		} else {
			int64_t w = l->respawn_at - mono_ms();

			timeout = w < 0 ? 0 : (int)w;
		}
		pthread_mutex_unlock(&l->mu);
		if (poll(fds, 2, timeout) < 0 && errno != EINTR) {
			log_err("imds", "poll: %s", strerror(errno));
			usleep(100000);
		}
		pthread_mutex_lock(&l->mu);
		if (fds[0].revents & POLLIN) {
			uint64_t v;

			if (read(l->wake, &v, sizeof(v)) < 0)
				log_debug("imds", "wake read: %s", strerror(errno));
		}
		if (l->sock < 0 || fds[1].fd < 0)
			continue;
		if (fds[1].revents & POLLOUT)
			l->blocked = false;
		if ((fds[1].revents & POLLIN) && !read_child(l))
			lost(l);
		else if (fds[1].revents & (POLLHUP | POLLERR))
			lost(l);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

int imdsl_start(struct imdsl **out, const char *imds_bin)
{
	struct imdsl *l = xcalloc(1, sizeof(*l));

	l->sock = -1;
	l->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->wake < 0) {
		free(l);
		return -errno;
	}
	snprintf(l->bin, sizeof(l->bin), "%s", imds_bin);
	l->bin_fd = open(imds_bin, O_PATH | O_CLOEXEC);
	if (l->bin_fd < 0) {
		int e = -errno;

		close(l->wake);
		free(l);
		return e;
	}
	pthread_mutex_init(&l->mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&l->sent, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (pthread_create(&l->thread, NULL, thread_main, l) != 0) {
		close(l->bin_fd);
		close(l->wake);
		pthread_cond_destroy(&l->sent);
		pthread_mutex_destroy(&l->mu);
		free(l);
		return -EAGAIN;
	}
	*out = l;
	return 0;
}

void imdsl_stop(struct imdsl *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->quit = true;
	wake(l);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);
	/* The child exits when its control socket closes. */
	if (l->sock >= 0)
		lost(l);
	for (size_t i = 0; i < l->n; i++)
		close(l->ls[i].fd);
	free(l->rs);
	close(l->bin_fd);
	close(l->wake);
	pthread_cond_destroy(&l->sent);
	pthread_mutex_destroy(&l->mu);
	free(l);
}
