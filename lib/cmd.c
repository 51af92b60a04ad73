/* fork/exec with stdout and stderr captured through pipes and poll(2). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/cmd.h"

extern char **environ;

static void child(const char *const *argv, int infd, int outfd, int errfd, pid_t parent, bool die_with_parent)
{
	int nul = infd >= 0 ? infd : open("/dev/null", O_RDWR | O_CLOEXEC);

	/* The parent may have died before prctl: then nobody would kill us. */
	if (die_with_parent && (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent))
		_exit(127);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(outfd, 1) < 0 || dup2(errfd, 2) < 0)
		_exit(127);
	/* The daemon ignores SIGPIPE and blocks SIGTERM/SIGINT; children get
	 * the defaults back. */
	{
		sigset_t all;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);
	}
	execvp(argv[0], (char *const *)argv);
	_exit(127);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cmd_run(const char *const *argv, struct buf *out, struct buf *err)
{
	return cmd_run_ex(argv, NULL, out, err);
}

int cmd_run_ex(const char *const *argv, const struct cmd_opts *o, struct buf *out, struct buf *err)
{
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, in = -1, status, ret;
	pid_t pid, self = getpid();
	/* When the child was told to stop, and when it gets SIGKILL. */
	int64_t term_at = 0;

	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		ret = -errno;
		goto out;
	}
	/* Input goes through a memfd: no pipe to feed while draining output. */
	if (o && o->input) {
		size_t done = 0;

		in = memfd_create("cmd-input", MFD_CLOEXEC);
		if (in < 0) {
			ret = -errno;
			goto out;
		}
		while (done < o->input_len) {
			ssize_t n = write(in, o->input + done, o->input_len - done);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				ret = n < 0 ? -errno : -EIO;
				goto out;
			}
			done += (size_t)n;
		}
		if (lseek(in, 0, SEEK_SET) < 0) {
			ret = -errno;
			goto out;
		}
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto out;
	}
	if (pid == 0)
		child(argv, in, po[1], pe[1], self, o && o->die_with_parent);
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	{
		struct pollfd fds[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };
		struct buf *sinks[2] = { out, err };
		int open_fds = 2;
		char chunk[4096];

		while (open_fds > 0) {
			int t = o && o->cancelled ? 100 : -1;

			if (o && o->cancelled && !term_at && o->cancelled(o->arg)) {
				kill(pid, SIGTERM);
				term_at = mono_ms();
			}
			if (term_at && mono_ms() - term_at > 5000)
				kill(pid, SIGKILL); /* it ignored SIGTERM; still ours: not yet reaped */
			if (poll(fds, 2, t) < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			for (int i = 0; i < 2; i++) {
				ssize_t n;

				if (fds[i].fd < 0 || !fds[i].revents)
					continue;
				n = read(fds[i].fd, chunk, sizeof(chunk));
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0) {
					fds[i].fd = -1;
					open_fds--;
					continue;
				}
				if (i == 0 && o && o->on_stdout)
					o->on_stdout(o->arg, chunk, (size_t)n);
				else if (sinks[i])
					buf_add(sinks[i], chunk, (size_t)n);
			}
		}
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			ret = -errno;
			goto out;
		}
	}
	if (term_at)
		ret = -ECANCELED;
	else if (WIFEXITED(status))
		ret = WEXITSTATUS(status) == 127 ? -ENOENT : WEXITSTATUS(status);
	else
		ret = -EINTR;
out:
	if (in >= 0)
		close(in);
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	return ret;
}

const char *cmd_last_line(struct buf *err)
{
	char *e;

	if (!err || !err->data)
		return "";
	e = err->data + err->len;
	while (e > err->data && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' '))
		*--e = '\0';
	while (e > err->data && e[-1] != '\n')
		e--;
	return e;
}
