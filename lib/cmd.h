/* Running helper programs (qemu-img, ...) from an argv array, never through
 * a shell. Output is captured so the caller can log or parse it. */
#pragma once
#include "lib/buf.h"

/* Runs argv[0] (looked up in PATH) with argv, stdin from /dev/null.
 * out and err (either may be NULL: discarded) receive stdout and stderr.
 * Returns the exit status (0..255), or -errno when it could not run or was
 * killed by a signal. */
int cmd_run(const char *const *argv, struct buf *out, struct buf *err);

/* The last line of err (trimmed), for one-line log and error messages. */
const char *cmd_last_line(struct buf *err);
