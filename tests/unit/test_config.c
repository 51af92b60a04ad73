/* hostd/config.c: defaults, every key, accounts, and errors that name the
 * offending line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostd/config.h"

#define AK1 "AKIAEXAMPLE00000001"
#define SK1 "secretsecretsecret01"
#define AK2 "AKIAEXAMPLE00000002"
#define SK2 "secretsecretsecret02"

static int parse(struct config *cfg, const char *text, char *err, size_t errlen)
{
	config_defaults(cfg);
	err[0] = '\0';
	return config_parse(cfg, text, err, errlen);
}

/* Expects text to fail with -EINVAL and err to contain each of the
 * NULL-terminated fragments. */
static void expect_error(const char *text, ...)
{
	struct config cfg;
	char err[512];
	const char *frag;
	va_list ap;
	int r = parse(&cfg, text, err, sizeof(err));

	if (r != -EINVAL)
		fail_msg("accepted (%d): %s", r, text);
	va_start(ap, text);
	while ((frag = va_arg(ap, const char *)))
		if (!strstr(err, frag)) {
			va_end(ap);
			fail_msg("error '%s' lacks '%s' for: %s", err, frag, text);
		}
	va_end(ap);
	config_free(&cfg);
}

static void expect_ok(struct config *cfg, const char *text)
{
	char err[512];
	int r = parse(cfg, text, err, sizeof(err));

	if (r != 0)
		fail_msg("refused (%d, %s): %s", r, err, text);
}

static void test_defaults(void **state)
{
	struct config cfg;
	char err[64];

	memset(&cfg, 0x5a, sizeof(cfg));
	config_defaults(&cfg);
	assert_string_equal(cfg.region, "us-east-1");
	assert_string_equal(cfg.listen, "127.0.0.1:8788");
	assert_int_equal(cfg.max_body_bytes, 1 << 20);
	assert_true(cfg.describe_burst == 100 && cfg.describe_rate == 20);
	assert_true(cfg.mutate_burst == 200 && cfg.mutate_rate == 5);
	assert_int_equal(cfg.max_instances, 20);
	assert_int_equal(cfg.naccounts, 0);
	assert_null(cfg.accounts);

	/* An empty file keeps the defaults and derives the zone from the region. */
	assert_int_equal(config_parse(&cfg, "", err, sizeof(err)), 0);
	assert_string_equal(cfg.availability_zone, "us-east-1a");
	assert_string_equal(cfg.region, "us-east-1");
	config_free(&cfg);

	expect_ok(&cfg, "# only a comment\n; and another\n\n   \n\t\n");
	assert_string_equal(cfg.availability_zone, "us-east-1a");
	config_free(&cfg);
}

static void test_every_key(void **state)
{
	struct config cfg;

	expect_ok(&cfg,
		  "[host]\n"
		  "region = eu-west-3\n"
		  "availability_zone = eu-west-3c\n"
		  "listen = 0.0.0.0:9000\n"
		  "max_body_bytes = 65536\n"
		  "max_instances = 7\n"
		  "[throttle]\n"
		  "describe_rate = 2.5\n"
		  "describe_burst = 10\n"
		  "mutate_rate = 0.5\n"
		  "mutate_burst = 3\n"
		  "[account 123456789012]\n"
		  "access_key = " AK1 "\n"
		  "secret_key = " SK1 "\n");
	assert_string_equal(cfg.region, "eu-west-3");
	assert_string_equal(cfg.availability_zone, "eu-west-3c");
	assert_string_equal(cfg.listen, "0.0.0.0:9000");
	assert_int_equal(cfg.max_body_bytes, 65536);
	assert_int_equal(cfg.max_instances, 7);
	assert_true(cfg.describe_rate == 2.5);
	assert_true(cfg.describe_burst == 10);
	assert_true(cfg.mutate_rate == 0.5);
	assert_true(cfg.mutate_burst == 3);
	assert_int_equal(cfg.naccounts, 1);
	assert_string_equal(cfg.accounts[0].id, "123456789012");
	assert_string_equal(cfg.accounts[0].access_key, AK1);
	assert_string_equal(cfg.accounts[0].secret_key, SK1);
	config_free(&cfg);
	assert_null(cfg.accounts);
	assert_int_equal(cfg.naccounts, 0);

	/* The zone follows the region when not given; keys in any order. */
	expect_ok(&cfg, "[host]\nlisten=127.0.0.1:1\nregion=ap-south-2\n");
	assert_string_equal(cfg.availability_zone, "ap-south-2a");
	assert_string_equal(cfg.listen, "127.0.0.1:1");
	config_free(&cfg);

	/* Sections may repeat; later values win; whitespace and CRLF are fine. */
	expect_ok(&cfg, "  [ host ]  \r\n\tregion\t=\tus-west-2  \r\n[throttle]\r\nmutate_burst=9\r\n"
			"[host]\r\nregion = us-west-1\r\n");
	assert_string_equal(cfg.region, "us-west-1");
	assert_string_equal(cfg.availability_zone, "us-west-1a");
	assert_true(cfg.mutate_burst == 9);
	config_free(&cfg);

	/* A value keeps everything after the first '='. */
	expect_ok(&cfg, "[host]\nlisten = a=b = c\n");
	assert_string_equal(cfg.listen, "a=b = c");
	config_free(&cfg);

	/* Boundaries of the numeric ranges. */
	expect_ok(&cfg, "[host]\nmax_body_bytes=1024\nmax_instances=0\n[throttle]\ndescribe_rate=0.001\n"
			"describe_burst=1\nmutate_rate=1e9\nmutate_burst=1000000000\n");
	assert_int_equal(cfg.max_body_bytes, 1024);
	assert_int_equal(cfg.max_instances, 0);
	assert_true(cfg.describe_rate == 0.001);
	assert_true(cfg.mutate_rate == 1e9);
	config_free(&cfg);

	/* Strings up to their buffer size; region of 63 characters still
	 * leaves room for the derived zone. */
	{
		char text[256], region[64];

		memset(region, 'r', 63);
		region[63] = '\0';
		snprintf(text, sizeof(text), "[host]\nregion=%s\n", region);
		expect_ok(&cfg, text);
		assert_string_equal(cfg.region, region);
		assert_int_equal(strlen(cfg.availability_zone), 64);
		config_free(&cfg);
	}
}

static void test_bad_values(void **state)
{
	static const char *const bad[] = {
		"[host]\nmax_body_bytes = 1023\n", "[host]\nmax_body_bytes = abc\n",
		"[host]\nmax_body_bytes =\n", "[host]\nmax_body_bytes = 12abc\n",
		"[host]\nmax_body_bytes = 1e10\n", "[host]\nmax_body_bytes = nan\n",
		"[host]\nmax_body_bytes = inf\n", "[host]\nmax_body_bytes = -4096\n",
		"[host]\nmax_instances = -1\n", "[host]\nmax_instances = 20 instances\n",
		"[throttle]\ndescribe_rate = 0\n", "[throttle]\ndescribe_rate = -1\n",
		"[throttle]\ndescribe_burst = 0.5\n", "[throttle]\nmutate_rate = 0.0001\n",
		"[throttle]\nmutate_burst = 0\n", "[throttle]\nmutate_burst = 1000000001\n",
		"[throttle]\nmutate_rate = NaN\n", "[throttle]\nmutate_rate = 1e999\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_error(bad[i], "line 2", "bad value", NULL);

	/* Too long for their buffers. */
	{
		char text[512], v[300];

		memset(v, 'x', sizeof(v) - 1);
		v[sizeof(v) - 1] = '\0';
		snprintf(text, sizeof(text), "[host]\nregion = %.64s\n", v);
		expect_error(text, "line 2", "region", NULL);
		snprintf(text, sizeof(text), "[host]\nlisten = %.128s\n", v);
		expect_error(text, "line 2", "listen", NULL);
		snprintf(text, sizeof(text), "[host]\navailability_zone = %.72s\n", v);
		expect_error(text, "line 2", "availability_zone", NULL);
		snprintf(text, sizeof(text), "[account 123456789012]\naccess_key = %.129s\nsecret_key=" SK1 "\n", v);
		expect_error(text, "line 2", "access_key", NULL);
	}
}

static void test_line_numbers(void **state)
{
	expect_error("bogus = 1\n", "line 1:", "bogus", NULL);
	expect_error("[host]\nregion = x\nbogus = 1\n", "line 3:", "bogus", NULL);
	expect_error("[host]\nregion = x\ndescribe_rate = 1\n", "line 3:", "describe_rate", NULL);
	expect_error("[throttle]\nregion = x\n", "line 2:", "region", NULL);
	expect_error("[account 123456789012]\nregion = x\n", "line 2:", "region", NULL);
	expect_error("[hosts]\n", "line 1:", "hosts", NULL);
	expect_error("[host]\n[Host]\n", "line 2:", "Host", NULL);
	expect_error("[host]\nregion = x\n[host\n", "line 3:", "section", NULL);
	expect_error("[host] # c\n", "line 1:", "section", NULL);
	expect_error("[host]\njust a line\n", "line 2:", "key = value", NULL);
	expect_error("[host]\nmax_instances = many\n", "line 2:", "max_instances", NULL);
	/* Blank lines, comments and CRLF all count as lines. */
	expect_error("[host]\n\n# comment\n\n; other\nbogus = 1\n", "line 6:", "bogus", NULL);
	expect_error("\n\n\n[nope]\n", "line 4:", NULL);
	expect_error("[host]\r\n\r\nbogus = 1\r\n", "line 3:", NULL);
	expect_error("[host]\n   \n\t\nregion = a\n\n\nmax_body_bytes = 1\n", "line 7:", NULL);
	/* The last line needs no newline. */
	expect_error("[host]\nregion = a\nbogus", "line 3:", NULL);
	/* Line numbers past 9. */
	expect_error("[host]\n\n\n\n\n\n\n\n\n\n\nbogus=1\n", "line 12:", NULL);
}

static void test_accounts(void **state)
{
	struct config cfg;

	expect_ok(&cfg, "[account 123456789012]\naccess_key=" AK1 "\nsecret_key=" SK1 "\n"
			"[account   000000000001  ]\nsecret_key = " SK2 "\naccess_key = " AK2 "\n");
	assert_int_equal(cfg.naccounts, 2);
	assert_string_equal(cfg.accounts[0].id, "123456789012");
	assert_string_equal(cfg.accounts[1].id, "000000000001");
	assert_string_equal(cfg.accounts[1].access_key, AK2);
	assert_string_equal(cfg.accounts[1].secret_key, SK2);
	config_free(&cfg);

	/* Exactly 16-character keys are enough; 128 is the most. */
	{
		char text[512], k[129];

		memset(k, 'k', 128);
		k[128] = '\0';
		snprintf(text, sizeof(text), "[account\t123456789012]\naccess_key=0123456789abcdef\nsecret_key=%s\n", k);
		expect_ok(&cfg, text);
		assert_string_equal(cfg.accounts[0].secret_key, k);
		config_free(&cfg);
	}

	/* The same secret in two accounts is allowed (only access keys identify). */
	expect_ok(&cfg, "[account 111111111111]\naccess_key=" AK1 "\nsecret_key=" SK1 "\n"
			"[account 222222222222]\naccess_key=" AK2 "\nsecret_key=" SK1 "\n");
	config_free(&cfg);

	expect_error("[account 12345678901]\n", "line 1:", "12 digits", NULL);
	expect_error("[account 1234567890123]\n", "line 1:", "12 digits", NULL);
	expect_error("[account 12345678901a]\n", "line 1:", "12 digits", NULL);
	expect_error("[account 1234 5678 9012]\n", "line 1:", "12 digits", NULL);
	expect_error("[account -12345678901]\n", "line 1:", "12 digits", NULL);
	expect_error("[account ]\n", "line 1:", NULL);
	expect_error("[account]\n", "line 1:", "account", NULL);
	expect_error("[account123456789012]\n", "line 1:", NULL);
	expect_error("[account 123456789012]\naccess_key=" AK1 "\nsecret_key=" SK1 "\n"
		     "[account 123456789012]\n", "line 4:", "123456789012", "twice", NULL);
	/* Keys: missing, short (15 characters). */
	expect_error("[account 123456789012]\naccess_key=" AK1 "\n", "123456789012", NULL);
	expect_error("[account 123456789012]\nsecret_key=" SK1 "\n", "123456789012", NULL);
	expect_error("[account 123456789012]\n", "123456789012", NULL);
	expect_error("[account 123456789012]\naccess_key=0123456789abcde\nsecret_key=" SK1 "\n",
		     "123456789012", NULL);
	expect_error("[account 123456789012]\naccess_key=" AK1 "\nsecret_key=0123456789abcde\n",
		     "123456789012", NULL);
	/* The same access key in two accounts. */
	expect_error("[account 111111111111]\naccess_key=" AK1 "\nsecret_key=" SK1 "\n"
		     "[account 222222222222]\naccess_key=" AK1 "\nsecret_key=" SK2 "\n",
		     "111111111111", "222222222222", NULL);
	/* An unknown key in an account section. */
	expect_error("[account 123456789012]\naccess_key=" AK1 "\nsession_token=x\n", "line 3:",
		     "session_token", NULL);
}

static void test_instance_profiles(void **state)
{
	struct config cfg;
	char text[1024], name[200];

	expect_ok(&cfg, "[host]\niam_credential_lifetime_s = 30\niam_credential_refresh_s = 20\n"
			"[account 111111111111]\naccess_key=" AK1 "\nsecret_key=" SK1 "\n"
			"instance_profile = web:web-role\ninstance_profile = a+=,.@_-Z9\n"
			"[account 222222222222]\naccess_key=" AK2 "\nsecret_key=" SK2 "\ninstance_profile = web\n");
	assert_int_equal(cfg.iam_credential_lifetime_s, 30);
	assert_int_equal(cfg.iam_credential_refresh_s, 20);
	assert_int_equal(cfg.accounts[0].nprofiles, 2);
	assert_string_equal(config_profile_find(&cfg, "111111111111", "web")->role, "web-role");
	assert_string_equal(config_profile_find(&cfg, "111111111111", "a+=,.@_-Z9")->role, "a+=,.@_-Z9");
	/* Each account its own profiles: the same name may mean another role. */
	assert_string_equal(config_profile_find(&cfg, "222222222222", "web")->role, "web");
	assert_null(config_profile_find(&cfg, "222222222222", "a+=,.@_-Z9"));
	assert_null(config_profile_find(&cfg, "333333333333", "web"));
	config_free(&cfg);

	/* Defaults: 6 h, refresh left to the daemon (a sixth). */
	expect_ok(&cfg, "");
	assert_int_equal(cfg.iam_credential_lifetime_s, 21600);
	assert_int_equal(cfg.iam_credential_refresh_s, 0);
	config_free(&cfg);

	/* 128-character names and 64-character roles are the longest. */
	memset(name, 'n', 128);
	name[128] = '\0';
	snprintf(text, sizeof(text), "[account 111111111111]\naccess_key=" AK1 "\nsecret_key=" SK1
		 "\ninstance_profile = %s:%.64s\n", name, name);
	expect_ok(&cfg, text);
	config_free(&cfg);
	snprintf(text, sizeof(text), "[account 111111111111]\naccess_key=" AK1 "\nsecret_key=" SK1
		 "\ninstance_profile = %sn\n", name);
	expect_error(text, "line 4:", "instance_profile", NULL);
	snprintf(text, sizeof(text), "[account 111111111111]\naccess_key=" AK1 "\nsecret_key=" SK1
		 "\ninstance_profile = x:%.65sn\n", name);
	expect_error(text, "line 4:", "instance_profile", NULL);

	expect_error("[account 111111111111]\ninstance_profile = a/b\n", "line 2:", "instance_profile", NULL);
	expect_error("[account 111111111111]\ninstance_profile = .x\n", "line 2:", NULL);
	expect_error("[account 111111111111]\ninstance_profile = x:.y\n", "line 2:", NULL);
	expect_error("[account 111111111111]\ninstance_profile = x:\n", "line 2:", NULL);
	expect_error("[account 111111111111]\ninstance_profile = :role\n", "line 2:", NULL);
	expect_error("[account 111111111111]\ninstance_profile = x:y:z\n", "line 2:", NULL);
	expect_error("[account 111111111111]\ninstance_profile = x y\n", "line 2:", NULL);
	expect_error("[account 111111111111]\ninstance_profile = p\ninstance_profile = p:q\n", "line 3:",
		     "twice", NULL);
	expect_error("[host]\ninstance_profile = p\n", "line 2:", "unknown key", NULL);
	expect_error("[host]\niam_credential_lifetime_s = 9\n", "line 2:", NULL);
	expect_error("[host]\niam_credential_lifetime_s = 43201\n", "line 2:", NULL);
	expect_error("[host]\niam_credential_refresh_s = 0\n", "line 2:", NULL);
	expect_error("[host]\niam_credential_lifetime_s = 60\niam_credential_refresh_s = 60\n",
		     "iam_credential_refresh_s", NULL);
}

static void test_import_dirs(void **state)
{
	struct config cfg;

	config_defaults(&cfg);
	assert_string_equal(cfg.import_dirs, "");
	expect_ok(&cfg, "[host]\nimport_dirs = /srv/images\n");
	assert_string_equal(cfg.import_dirs, "/srv/images");
	config_free(&cfg);
	expect_ok(&cfg, "[host]\nimport_dirs = /srv/images:/home/me/vm disks/:/\n");
	assert_string_equal(cfg.import_dirs, "/srv/images:/home/me/vm disks/:/");
	config_free(&cfg);
	/* Empty keeps the default: any file. */
	expect_ok(&cfg, "[host]\nimport_dirs =\n");
	assert_string_equal(cfg.import_dirs, "");
	config_free(&cfg);

	/* Every entry absolute, none empty. */
	expect_error("[host]\nimport_dirs = srv/images\n", "line 2", "import_dirs", NULL);
	expect_error("[host]\nimport_dirs = /srv:images\n", "line 2", "import_dirs", NULL);
	expect_error("[host]\nimport_dirs = /srv::/tmp\n", "line 2", "import_dirs", NULL);
	expect_error("[host]\nimport_dirs = /srv:\n", "line 2", "import_dirs", NULL);
	expect_error("[host]\nimport_dirs = :/srv\n", "line 2", "import_dirs", NULL);
	{
		char text[8192], v[4200];

		memset(v, 'd', sizeof(v) - 1);
		v[0] = '/';
		v[sizeof(v) - 1] = '\0';
		snprintf(text, sizeof(text), "[host]\nimport_dirs = %s\n", v);
		expect_error(text, "line 2", "import_dirs", NULL);
	}
}

static void test_errors_leave_defaults_usable(void **state)
{
	struct config cfg;
	char err[8];

	/* A tiny err buffer is truncated, not overrun. */
	memset(err, 'X', sizeof(err));
	config_defaults(&cfg);
	assert_int_equal(config_parse(&cfg, "[account 123456789012]\n[nope]\n", err, sizeof(err)), -EINVAL);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	/* Accounts parsed before the error are still freed by config_free. */
	config_free(&cfg);
	assert_null(cfg.accounts);
}

static void test_load(void **state)
{
	char path[] = "/tmp/hostd-test-config-XXXXXX", err[512];
	struct config cfg;
	FILE *f;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	/* Bigger than one read chunk, so the reader's loop is exercised. */
	for (int i = 0; i < 400; i++)
		fprintf(f, "# padding comment line number %d .............................\n", i);
	fprintf(f, "[host]\nregion = sa-east-1\n[account 123456789012]\naccess_key=%s\nsecret_key=%s\n", AK1, SK1);
	fclose(f);
	config_defaults(&cfg);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), 0);
	assert_string_equal(cfg.region, "sa-east-1");
	assert_string_equal(cfg.availability_zone, "sa-east-1a");
	assert_int_equal(cfg.naccounts, 1);
	config_free(&cfg);

	f = fopen(path, "a");
	fprintf(f, "oops\n");
	fclose(f);
	config_defaults(&cfg);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "line 406:"));
	config_free(&cfg);
	unlink(path);

	config_defaults(&cfg);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_line_numbers),
		cmocka_unit_test(test_accounts),
		cmocka_unit_test(test_instance_profiles),
		cmocka_unit_test(test_import_dirs),
		cmocka_unit_test(test_errors_leave_defaults_usable),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
