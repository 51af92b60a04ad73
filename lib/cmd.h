/* Running helper programs (qemu-img, ...) from an argv array, never through
 * a shell. Output is captured so the caller can log or parse it. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

/* Runs argv[0] (looked up in PATH) with argv, stdin from /dev/null.
 * out and err (either may be NULL: discarded) receive stdout and stderr.
 * Returns the exit status (0..255), or -errno when it could not run or was
 * killed by a signal. */
int cmd_run(const char *const *argv, struct buf *out, struct buf *err);

/* For long-running helpers (image conversion). */
struct cmd_opts {
	/* Gets stdout as it arrives, instead of it going to out. */
	void (*on_stdout)(void *arg, const char *data, size_t n);
	/* Asked about every 100 ms; once it answers true the child gets SIGTERM
	 * (SIGKILL 5 s later) and cmd_run_ex returns -ECANCELED. */
	bool (*cancelled)(void *arg);
	void *arg;
	/* The child gets SIGKILL if the calling thread dies (hostd killed), so
	 * no orphan keeps writing files a restarted hostd cleans up. */
	bool die_with_parent;
	/* When set, the child's stdin is these bytes (ipset/iptables-restore
	 * input) instead of /dev/null. */
	const char *input;
	size_t input_len;
};
int cmd_run_ex(const char *const *argv, const struct cmd_opts *o, struct buf *out, struct buf *err);

/* The last line of err (trimmed), for one-line log and error messages. */
const char *cmd_last_line(struct buf *err);
