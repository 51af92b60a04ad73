#include "metadata/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

#include "lib/log.h"
#include "lib/util.h"

/* Unconditionally allowed: the event loop (epoll, accept, socket I/O, the
 * control socket's recvmsg/sendmsg), the handler's reads beneath the trees
 * (fstatat, getdents64 for listings), malloc, time, exit. */
static const int allowed[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(close),
	SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
	SCMP_SYS(accept4), SCMP_SYS(accept), SCMP_SYS(shutdown), SCMP_SYS(getsockopt),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(getdents64), SCMP_SYS(lseek),
	SCMP_SYS(fcntl),
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(futex),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(restart_syscall), SCMP_SYS(exit), SCMP_SYS(exit_group),
};

/* SCMP_A1(SCMP_CMP_EQ, v) leaves datum_b out, which clang's
 * -Wmissing-field-initializers refuses. */
static struct scmp_arg_cmp eq(unsigned arg, uint64_t v)
{
	return (struct scmp_arg_cmp){ .arg = arg, .op = SCMP_CMP_EQ, .datum_a = v, .datum_b = 0 };
}

static int install(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r = 0;

	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(allowed) && r == 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	/* Reading only: no write access mode, no create, truncate or append
	 * (O_TMPFILE needs a write mode, so it is covered). */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND, 0));
	/* Memory for malloc, never executable. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* The one socket option: a new token's IP TTL (the hop limit). */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setsockopt), 2, eq(1, IPPROTO_IP), eq(2, IP_TTL));
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}

int sandbox_enter(void)
{
	gid_t g[1];
	int r;

	if (setgroups(0, NULL) < 0 || setresgid(IMDSD_GID, IMDSD_GID, IMDSD_GID) < 0 ||
	    setresuid(IMDSD_UID, IMDSD_UID, IMDSD_UID) < 0)
		return -errno;
	/* Trust the result, not the calls: no id of root left anywhere. */
	if (getuid() != IMDSD_UID || geteuid() != IMDSD_UID || getgid() != IMDSD_GID || getegid() != IMDSD_GID ||
	    getgroups(1, g) != 0 || setuid(0) == 0)
		return -EPERM;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if ((r = install()) < 0) {
		log_err("imds", "cannot install the seccomp filter: %s", strerror(-r));
		return r;
	}
	return 0;
}

int sandbox_selftest(const char *what)
{
	long r;

	if (!strcmp(what, "allowed")) {
		r = openat(AT_FDCWD, "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r < 0)
			return -1;
		close((int)r);
		return 0;
	}
	/* Raw syscalls: libc must not turn them into something else. */
	if (!strcmp(what, "openat-write"))
		r = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_WRONLY | O_CLOEXEC);
	else if (!strcmp(what, "openat-create"))
		r = syscall(SYS_openat, AT_FDCWD, "/tmp/hostd-imds-selftest", O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
	else if (!strcmp(what, "socket"))
		r = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	else if (!strcmp(what, "execve"))
		r = syscall(SYS_execve, "/bin/true", (char *[]){ "true", NULL }, (char *[]){ NULL });
	else if (!strcmp(what, "ptrace"))
		r = syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
	else
		return -EINVAL;
	(void)r;
	return -1;
}
