/* hostd/actions.c: the action table is strictly sorted (api_find_action
 * binary-searches it), every action finds itself, unknown names do not,
 * and every parameter pattern is well-formed and unambiguous. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostd/api.h"
#include "hostd/query.h"

static void test_sorted(void **state)
{
	assert_true(api_nactions > 0);
	for (size_t i = 0; i < api_nactions; i++) {
		assert_non_null(api_actions[i].name);
		assert_non_null(api_actions[i].fn);
		assert_non_null(api_actions[i].params);
		if (i && strcmp(api_actions[i - 1].name, api_actions[i].name) >= 0)
			fail_msg("api_actions not strictly sorted at %zu: %s >= %s", i, api_actions[i - 1].name,
				 api_actions[i].name);
	}
}

static void test_finds_itself(void **state)
{
	for (size_t i = 0; i < api_nactions; i++) {
		char copy[128];

		/* By content, not by pointer. */
		snprintf(copy, sizeof(copy), "%s", api_actions[i].name);
		if (api_find_action(copy) != &api_actions[i])
			fail_msg("api_find_action(%s) does not find its row", copy);
	}
}

static void test_unknown(void **state)
{
	static const char *const unknown[] = {
		"", "A", "Zzzz", "\x7f", "\xc3\xa9", "createkeypair", "CREATEKEYPAIR", "CreateKeyPai", "CreateKeyPairs",
		"CreateKeyPair ", " CreateKeyPair", "Describe", "DescribeTag", "DescribeTagsX", "RunInstance",
		"DescribeInstancesX", "describeTags", "AttachVolumes",
	};

	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		if (api_find_action(unknown[i]))
			fail_msg("api_find_action(\"%s\") found something", unknown[i]);

	/* Names just before, just after and between every row. */
	for (size_t i = 0; i < api_nactions; i++) {
		const char *name = api_actions[i].name;
		size_t len = strlen(name);
		char probe[160];

		snprintf(probe, sizeof(probe), "%s\x01", name);
		assert_null(api_find_action(probe));
		snprintf(probe, sizeof(probe), "%s~", name);
		assert_null(api_find_action(probe));
		snprintf(probe, sizeof(probe), "%.*s", (int)(len - 1), name);
		assert_true(api_find_action(probe) == NULL || strcmp(api_find_action(probe)->name, probe) == 0);
		snprintf(probe, sizeof(probe), "%.*s%c", (int)(len - 1), name, name[len - 1] - 1);
		assert_true(api_find_action(probe) == NULL || strcmp(api_find_action(probe)->name, probe) == 0);
		snprintf(probe, sizeof(probe), "%.*s%c", (int)(len - 1), name, name[len - 1] + 1);
		assert_true(api_find_action(probe) == NULL || strcmp(api_find_action(probe)->name, probe) == 0);
	}
}

static void test_mutating_flag(void **state)
{
	/* Reads use the describe bucket; everything else mutates. */
	for (size_t i = 0; i < api_nactions; i++) {
		const char *n = api_actions[i].name;
		bool reads = !strncmp(n, "Describe", 8) || !strncmp(n, "Get", 3) || !strncmp(n, "List", 4);

		if (api_actions[i].mutating == reads)
			fail_msg("%s: mutating = %d", n, api_actions[i].mutating);
	}
}

/* "Word(.Word|.N)*": words are [A-Z][A-Za-z0-9]*, N never first. */
static const char *malformed(const char *pat)
{
	const char *seg = pat;
	bool first = true;

	if (!*pat)
		return "empty";
	for (;;) {
		const char *end = strchr(seg, '.');
		size_t len = end ? (size_t)(end - seg) : strlen(seg);

		if (len == 0)
			return "empty segment";
		if (len == 1 && seg[0] == 'N') {
			if (first)
				return "N first";
		} else {
			if (seg[0] < 'A' || seg[0] > 'Z')
				return "segment must start with an uppercase letter";
			for (size_t k = 1; k < len; k++)
				if (!((seg[k] >= 'A' && seg[k] <= 'Z') || (seg[k] >= 'a' && seg[k] <= 'z') ||
				      (seg[k] >= '0' && seg[k] <= '9')))
					return "bad character";
		}
		if (!end)
			return NULL;
		seg = end + 1;
		first = false;
	}
}

/* pat with every N segment replaced by idx. */
static void instantiate(const char *pat, const char *idx, char *out, size_t outlen)
{
	size_t o = 0;

	for (const char *p = pat; *p && o + 16 < outlen; p++) {
		if (*p == 'N' && p > pat && p[-1] == '.' && (p[1] == '.' || !p[1])) {
			o += (size_t)snprintf(out + o, outlen - o, "%s", idx);
			continue;
		}
		out[o++] = *p;
	}
	out[o] = '\0';
}

static const char *const common[] = {
	"Action", "Version", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
	"X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token", NULL,
};

/* Actions whose EC2 model has no DryRun member (test_model_params.py checks
 * the table against the model). */
static const char *const no_dryrun[] = {
	"AssignPrivateIpAddresses", "ModifySubnetAttribute", "UnassignPrivateIpAddresses",
	"AssociateIamInstanceProfile", "DescribeIamInstanceProfileAssociations", "DisassociateIamInstanceProfile",
	"ReplaceIamInstanceProfileAssociation", NULL,
};

static bool model_has_dryrun(const char *action)
{
	for (size_t i = 0; no_dryrun[i]; i++)
		if (!strcmp(no_dryrun[i], action))
			return false;
	return true;
}

static void test_params(void **state)
{
	for (size_t i = 0; i < api_nactions; i++) {
		const struct api_action *a = &api_actions[i];
		const struct api_param *ps = a->params;
		bool dryrun = false;
		size_t np = 0;

		for (; ps[np].pattern; np++)
			;
		assert_true(np > 0);
		for (size_t k = 0; k < np; k++) {
			const char *pat = ps[k].pattern, *why = malformed(pat);
			char one[300], zero[300], big[300], huge[300], extra[320];
			size_t hits = 0;

			if (why)
				fail_msg("%s: pattern '%s': %s", a->name, pat, why);
			if (ps[k].type != P_STR && ps[k].type != P_INT && ps[k].type != P_BOOL && ps[k].type != P_B64)
				fail_msg("%s: pattern '%s' has type %d", a->name, pat, ps[k].type);
			if (!strcmp(pat, "DryRun")) {
				dryrun = true;
				assert_int_equal(ps[k].type, P_BOOL);
			}
			assert_true(strlen(pat) < 200);
			for (size_t j = 0; common[j]; j++)
				if (!strcmp(common[j], pat))
					fail_msg("%s: '%s' shadows a common parameter", a->name, pat);
			for (size_t j = 0; j < k; j++)
				if (!strcmp(ps[j].pattern, pat))
					fail_msg("%s: '%s' listed twice", a->name, pat);

			/* The concrete names a client sends match exactly one
			 * pattern; index 0, leading zeros, an index past the
			 * limit and a trailing segment match none. */
			instantiate(pat, "1", one, sizeof(one));
			instantiate(pat, "0", zero, sizeof(zero));
			instantiate(pat, "1000000", big, sizeof(big));
			instantiate(pat, "1000001", huge, sizeof(huge));
			snprintf(extra, sizeof(extra), "%s.x", one);
			for (size_t j = 0; j < np; j++) {
				hits += query_pattern_match(ps[j].pattern, one);
				if (strcmp(zero, one) && query_pattern_match(ps[j].pattern, zero))
					fail_msg("%s: '%s' matches '%s'", a->name, ps[j].pattern, zero);
				if (strcmp(huge, one) && query_pattern_match(ps[j].pattern, huge))
					fail_msg("%s: '%s' matches '%s'", a->name, ps[j].pattern, huge);
				if (query_pattern_match(ps[j].pattern, extra))
					fail_msg("%s: '%s' matches '%s'", a->name, ps[j].pattern, extra);
			}
			if (hits != 1)
				fail_msg("%s: '%s' is matched by %zu patterns", a->name, one, hits);
			if (!query_pattern_match(pat, big))
				fail_msg("%s: '%s' does not match '%s'", a->name, pat, big);
			/* A concrete name fits in a query parameter name. */
			assert_true(strlen(big) <= QUERY_MAX_NAME);
		}
		if (dryrun != model_has_dryrun(a->name))
			fail_msg("%s: DryRun %s", a->name, dryrun ? "is not in its model" : "is not accepted");
	}
}

static void test_checker(void **state)
{
	/* The well-formedness check itself must be able to fail. */
	assert_null(malformed("Filter.N.Value.N"));
	assert_null(malformed("NextToken"));
	assert_null(malformed("DryRun"));
	assert_non_null(malformed(""));
	assert_non_null(malformed("N.Name"));
	assert_non_null(malformed("Filter..Name"));
	assert_non_null(malformed("Filter.N."));
	assert_non_null(malformed(".Filter"));
	assert_non_null(malformed("filter.N"));
	assert_non_null(malformed("Filter.N.value"));
	assert_non_null(malformed("Filter-Name"));
	assert_non_null(malformed("Filter.n"));
	{
		char out[64];

		instantiate("TagSpecification.N.Tag.N.Key", "7", out, sizeof(out));
		assert_string_equal(out, "TagSpecification.7.Tag.7.Key");
		instantiate("NextToken", "7", out, sizeof(out));
		assert_string_equal(out, "NextToken");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sorted),
		cmocka_unit_test(test_finds_itself),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_mutating_flag),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_checker),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
