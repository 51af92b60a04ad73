/* Pure checks of ImportImage and RegisterImage parameter values. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* EC2's AMI name rule: 3-128 characters, each a letter, digit, space or
 * one of ( ) [ ] . / - ' @ _ */
bool ami_name_valid(const char *name);

/* A block device name as EC2 accepts for Linux AMIs: /dev/sdX, /dev/xvdX
 * (one or two letters) with an optional partition number 1-99; the /dev/
 * prefix may be left out. */
bool device_name_valid(const char *dev);

/* The absolute local path in a file:// URL (file:///p or
 * file://localhost/p), percent-decoded into out. -EPROTONOSUPPORT for any
 * other scheme (s3://, https://), -EINVAL for a malformed URL, an encoded
 * NUL or control character, a relative path, or one that does not fit. */
int file_url_path(const char *url, char *out, size_t outlen);
/* The file:// URL of an absolute path, reserved bytes percent-encoded;
 * -ENAMETOOLONG when it does not fit. */
int file_url_from_path(const char *path, char *out, size_t outlen);

/* true when path (canonical, absolute) lies inside one of the
 * colon-separated canonical directories in dirs. */
bool path_under_dirs(const char *path, const char *dirs);
