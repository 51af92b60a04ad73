/* The confinement of hostd-imds, the process guests talk to: started as
 * root by hostd, it becomes IMDSD_UID/IMDSD_GID with no supplementary
 * groups and no way back (PR_SET_NO_NEW_PRIVS), then installs a libseccomp
 * allow-list whose default action kills the process. The list holds what
 * the event loop needs and nothing else: no socket(), connect(), exec,
 * fork, ptrace, and openat only without write, create or truncate flags,
 * so even a compromised server cannot write a file. */
#pragma once

/* Same ids as net/imdsl.h's NET_IMDS_UID/GID: hostd makes every imds/ tree
 * readable by this group. */
#define IMDSD_UID 64911
#define IMDSD_GID 64911

/* Drops privileges and installs the filter. 0, or -errno: the caller must
 * not serve anything then. */
int sandbox_enter(void);

/* For tests (hostd-imds --seccomp-selftest WHAT): after sandbox_enter,
 * attempts WHAT (openat-write, openat-create, socket, execve, ptrace; or
 * "allowed": an openat O_RDONLY that must work). Returns only when the
 * attempt did not kill the process: 0 for "allowed" when it worked, else
 * -1 (the filter let a forbidden call through) or -EINVAL (unknown WHAT). */
int sandbox_selftest(const char *what);
