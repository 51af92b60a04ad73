/* libFuzzer target for hostd/sigv4.c. The input is a request in a simple
 * line format (the seeds are real botocore-signed EC2 requests):
 *
 *   METHOD\n PATH\n QUERY\n (Name: value\n){0,12} \n BODY
 *
 * parse runs on every input, verify whenever parse accepts, with the secret
 * and clock the seeds were signed with so the signature path is reachable. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hostd/sigv4.h"

#define MAX_HEADERS 12
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define NOW 1714558830 /* 20240501T102030Z */

/* Next line of [*p, end) as a C string (the '\n' becomes NUL); NULL at end. */
static char *next_line(char **p, char *end)
{
	char *s = *p, *nl;

	if (s >= end)
		return NULL;
	nl = memchr(s, '\n', (size_t)(end - s));
	if (!nl)
		nl = end; /* end points at the copy's terminating NUL */
	*nl = '\0';
	*p = nl + 1;
	return s;
}

static void check_err(const struct sigv4_error *err)
{
	/* Every failure names an error code with a sane status and a message. */
	if (!err->code || !memchr(err->message, '\0', sizeof(err->message)) ||
	    (err->http_status != 400 && err->http_status != 403 && err->http_status != 500))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sigv4_header headers[MAX_HEADERS];
	struct sigv4_request req = { 0 };
	struct sigv4_auth auth;
	struct sigv4_error err;
	char *copy = malloc(size + 1), *p, *end, *line;
	int rc;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	p = copy;
	end = copy + size;

	req.method = next_line(&p, end);
	req.path = next_line(&p, end);
	req.query = next_line(&p, end);
	if (!req.method || !req.path || !req.query)
		goto out;
	while (req.nheaders < MAX_HEADERS && (line = next_line(&p, end)) && *line) {
		char *colon = strchr(line, ':');

		if (!colon)
			continue;
		*colon++ = '\0';
		if (*colon == ' ')
			colon++;
		headers[req.nheaders].name = line;
		headers[req.nheaders].value = colon;
		req.nheaders++;
	}
	req.headers = headers;
	if (p < end) {
		req.body = (const unsigned char *)p;
		req.body_len = (size_t)(end - p);
	}

	rc = sigv4_parse(&req, &auth, &err);
	if (rc == -ENOENT)
		goto out;
	if (rc) {
		if (rc != -EINVAL)
			__builtin_trap();
		check_err(&err);
		goto out;
	}
	/* What parse accepts is bounded and terminated. */
	if (strlen(auth.signature) != 64 || strlen(auth.amz_date) != 16 || strlen(auth.scope_date) != 8 ||
	    !auth.access_key[0] || !auth.signed_headers[0])
		__builtin_trap();
	rc = sigv4_verify(&req, &auth, SECRET, "us-east-1", "ec2", NOW, &err);
	if (rc && rc != -EACCES && rc != -EIO)
		__builtin_trap();
	if (rc)
		check_err(&err);
out:
	free(copy);
	return 0;
}
