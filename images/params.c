#include "images/params.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "lib/util.h"

bool ami_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n < 3 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("()[] ./-'@_", c)))
			return false;
	}
	return true;
}

bool device_name_valid(const char *dev)
{
	const char *p = dev;
	size_t letters = 0, digits = 0;

	if (!strncmp(p, "/dev/", 5))
		p += 5;
	if (!strncmp(p, "xvd", 3))
		p += 3;
	else if (!strncmp(p, "sd", 2))
		p += 2;
	else
		return false;
	while (*p >= 'a' && *p <= 'z' && letters < 3)
		p++, letters++;
	if (letters < 1 || letters > 2)
		return false;
	if (*p == '0')
		return false;
	while (*p >= '0' && *p <= '9' && digits < 3)
		p++, digits++;
	return *p == '\0' && digits <= 2;
}

int file_url_path(const char *url, char *out, size_t outlen)
{
	const char *p, *colon = strchr(url, ':');
	size_t k = 0;

	if (!colon || colon == url)
		return -EINVAL;
	if ((size_t)(colon - url) != 4 || strncasecmp(url, "file", 4))
		return strncmp(colon, "://", 3) ? -EINVAL : -EPROTONOSUPPORT;
	if (strncmp(colon, "://", 3))
		return -EINVAL;
	p = colon + 3;
	if (!strncmp(p, "localhost/", 10))
		p += 9;
	if (*p != '/')
		return -EINVAL;
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '%') {
			int hi = hex_digit(p[1]), lo = hi < 0 ? -1 : hex_digit(p[2]);

			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = (unsigned char)(hi << 4 | lo);
			p += 2;
		} else if (c == '?' || c == '#') {
			return -EINVAL; /* a query or fragment has no meaning for a file */
		}
		if (c < 0x20 || c == 0x7f)
			return -EINVAL;
		if (k + 1 >= outlen)
			return -EINVAL;
		out[k++] = (char)c;
	}
	out[k] = '\0';
	/* Decoded bytes must still be UTF-8: the path is echoed in XML. */
	return utf8_valid(out, k) ? 0 : -EINVAL;
}

int file_url_from_path(const char *path, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t k;

	if (outlen < 8)
		return -ENAMETOOLONG;
	memcpy(out, "file://", 7);
	k = 7;
	for (const char *p = path; *p; p++) {
		unsigned char c = (unsigned char)*p;
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			     strchr("/-._~+,=@:", c);

		if (k + (plain ? 1 : 3) >= outlen)
			return -ENAMETOOLONG;
		if (plain) {
			out[k++] = (char)c;
		} else {
			out[k++] = '%';
			out[k++] = hex[c >> 4];
			out[k++] = hex[c & 15];
		}
	}
	out[k] = '\0';
	return 0;
}

bool path_under_dirs(const char *path, const char *dirs)
{
	const char *d = dirs;

	while (*d) {
		const char *end = strchr(d, ':');
		size_t n = end ? (size_t)(end - d) : strlen(d);

		/* "/" as an entry allows everything; otherwise dir + '/' prefixes. */
		while (n > 1 && d[n - 1] == '/')
			n--;
		if (n == 1 && d[0] == '/')
			return path[0] == '/';
		if (n > 0 && !strncmp(path, d, n) && path[n] == '/')
			return true;
		if (!end)
			break;
		d = end + 1;
	}
	return false;
}
