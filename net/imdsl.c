#include "net/imdsl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <grp.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

#define MAX_LISTENERS 256

extern char **environ;

struct listener {
	char key[64];
	int fd;
	bool dead;
};

struct imdsl {
	pthread_t thread;
	pthread_mutex_t mu;
	int wake;
	bool quit;
	char pipe_bin[4096];
	int pipe_fd;               /* O_PATH of pipe_bin: exec'd by fd, so its directory's mode does not matter */
	imdsl_lookup_fn fn;
	void *arg;
	struct listener ls[MAX_LISTENERS];
	size_t n;
};

struct mk {
	const char *ns;
	int fd, err;
};

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
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
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
	snprintf(l->ls[l->n].key, sizeof(l->ls[l->n].key), "%s", key);
	l->ls[l->n].fd = m.fd;
	l->ls[l->n].dead = false;
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

/* Closes dead listeners; only the accept thread does, so poll never sees
 * a descriptor that was closed under it. */
static void sweep(struct imdsl *l)
{
	size_t j = 0;

	for (size_t i = 0; i < l->n; i++) {
		if (l->ls[i].dead) {
			close(l->ls[i].fd);
			continue;
		}
		l->ls[j++] = l->ls[i];
	}
	l->n = j;
}

/* Double fork: the responder is reparented away, so nobody has to reap
 * it; only async-signal-safe calls after fork. */
static void serve(struct imdsl *l, int conn, const char *dir)
{
	/* The tree is entered as root (its parents may be private) and then
	 * named relatively. */
	const char *argv[] = { l->pipe_bin, "--dir", ".", NULL };
	pid_t pid = fork();

	if (pid < 0) {
		log_err("imds", "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		if (fork() != 0)
			_exit(0);
		{
			sigset_t none;

			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			signal(SIGPIPE, SIG_DFL);
		}
		/* Not root: the responder's own uid/gid, which can read the
		 * instance's imds/ tree and nothing else of hostd's; the
		 * connection becomes stdin and stdout; no way back through
		 * setuid binaries. */
		if (chdir(dir) < 0 || setgroups(0, NULL) < 0 || setresgid(NET_IMDS_GID, NET_IMDS_GID, NET_IMDS_GID) < 0 ||
		    setresuid(NET_IMDS_UID, NET_IMDS_UID, NET_IMDS_UID) < 0)
			_exit(126);
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		if (dup2(conn, 0) < 0 || dup2(conn, 1) < 0)
			_exit(127);
		{
			int fl = fcntl(conn, F_GETFL);

			if (fl >= 0)
				fcntl(0, F_SETFL, fl & ~O_NONBLOCK);
		}
		fexecve(l->pipe_fd, (char *const *)argv, environ);
		_exit(127);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
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

static void accept_one(struct imdsl *l, int lfd, const char *key)
{
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	char ip[INET_ADDRSTRLEN], dir[4200];
	int c = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);

	if (c < 0)
		return;
	inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
	if (l->fn(l->arg, key, ip, dir, sizeof(dir)) == 0)
		serve(l, c, dir);
	else
		log_info("imds", "%s: connection from %s, which is no instance's address: refused", key, ip);
	close(c);
}

static void *thread_main(void *p)
{
	struct imdsl *l = p;

	for (;;) {
		struct pollfd fds[MAX_LISTENERS + 1];
		char keys[MAX_LISTENERS][64];
		size_t n;

		pthread_mutex_lock(&l->mu);
		if (l->quit) {
			pthread_mutex_unlock(&l->mu);
			break;
		}
		sweep(l);
		n = l->n;
		for (size_t i = 0; i < n; i++) {
			fds[i].fd = l->ls[i].fd;
			fds[i].events = POLLIN;
			fds[i].revents = 0;
			memcpy(keys[i], l->ls[i].key, sizeof(keys[i]));
		}
		pthread_mutex_unlock(&l->mu);
		fds[n].fd = l->wake;
		fds[n].events = POLLIN;
		fds[n].revents = 0;
		if (poll(fds, n + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[n].revents) {
			uint64_t v;

			if (read(l->wake, &v, sizeof(v)) < 0)
				log_debug("imds", "wake read: %s", strerror(errno));
		}
		for (size_t i = 0; i < n; i++)
			if (fds[i].revents & POLLIN)
				accept_one(l, fds[i].fd, keys[i]);
	}
	return NULL;
}

int imdsl_start(struct imdsl **out, const char *pipe_bin, imdsl_lookup_fn fn, void *arg)
{
	struct imdsl *l = xcalloc(1, sizeof(*l));

	l->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->wake < 0) {
		free(l);
		return -errno;
	}
	snprintf(l->pipe_bin, sizeof(l->pipe_bin), "%s", pipe_bin);
	l->pipe_fd = open(pipe_bin, O_PATH | O_CLOEXEC);
	if (l->pipe_fd < 0) {
		int e = -errno;

		close(l->wake);
		free(l);
		return e;
	}
	l->fn = fn;
	l->arg = arg;
	pthread_mutex_init(&l->mu, NULL);
	if (pthread_create(&l->thread, NULL, thread_main, l) != 0) {
		close(l->pipe_fd);
		close(l->wake);
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
	for (size_t i = 0; i < l->n; i++)
		close(l->ls[i].fd);
	close(l->pipe_fd);
	close(l->wake);
	pthread_mutex_destroy(&l->mu);
	free(l);
}
