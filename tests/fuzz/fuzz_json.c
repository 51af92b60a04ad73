/* libFuzzer target for lib/json.c and images/qimg.c's check of `qemu-img
 * info` output (the seeds are real qemu-img outputs). Checked on every
 * input: accepted strings are valid UTF-8 without NUL; a parse that is
 * accepted is accepted again with trailing whitespace and refused with a
 * trailing garbage byte; the info check either fills a known driver and a
 * positive size or gives a reason. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "images/qimg.h"
#include "lib/json.h"
#include "lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static void walk(const struct json *j, int depth)
{
	static const char *const keys[] = { "format", "virtual-size", "filename", "format-specific", "data",
					    "extents", "a", "" };
	const char *s = json_str(j);
	int64_t v;
	bool b;

	CHECK(depth <= JSON_MAX_DEPTH + 1);
	if (s)
		CHECK(utf8_valid(s, strlen(s)));
	(void)json_int(j, &v);
	(void)json_bool(j, &b);
	for (size_t i = 0; i < json_len(j); i++)
		walk(json_at(j, i), depth + 1);
	CHECK(json_at(j, json_len(j)) == NULL);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_get(j, keys[i]))
			walk(json_get(j, keys[i]), depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct json *j = NULL;
	struct qimg_info qi;
	char why[256] = "";
	int r = json_parse(text, size, &j);

	if (r == 0) {
		char *more = malloc(size + 2);
		struct json *j2 = NULL;

		walk(j, 0);
		json_free(j);
		memcpy(more, data, size);
		more[size] = ' ';
		CHECK(json_parse(more, size + 1, &j2) == 0);
		json_free(j2);
		j2 = NULL;
		more[size] = 'x';
		/* "1" + "x" style suffixes on a bare literal or number are refused too. */
		CHECK(json_parse(more, size + 1, &j2) != 0);
		free(more);
	}
	r = qimg_info_parse(text, size, "/x", &qi, why, sizeof(why));
	if (r == 0)
		CHECK(qimg_format(qi.driver) && qi.virtual_size > 0);
	else
		CHECK(why[0] != '\0');
	return 0;
}
