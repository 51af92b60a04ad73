/* images/registry.c without the worker: images_for_launch (what
 * RunInstances reads) against a real store, and ClientToken task ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostd/hostd.h"
#include "hostd/store.h"
#include "images/registry.h"
#include "lib/ids.h"

struct fixture {
	char dir[64];
	struct hostd h;
};

static void exec_ok(struct store *s, const char *sql)
{
	if (store_exec(s, sql) < 0)
		fail_msg("sql failed: %s", sql);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	unsigned char hdr[32] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };
	char path[128], db[96];
	int fd;

	snprintf(f->dir, sizeof(f->dir), "/tmp/hostd-test-registry-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(db, sizeof(db), "%s/state.db", f->dir);
	assert_int_equal(store_open(&f->h.store, db), 0);
	f->h.state_dir = f->dir;
	snprintf(path, sizeof(path), "%s/snapshots", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	/* A qcow2 header of 1.5 GiB. */
	hdr[28] = 0x60;
	snprintf(path, sizeof(path), "%s/snapshots/snap-11111111111111111.qcow2", f->dir);
	fd = open(path, O_WRONLY | O_CREAT, 0444);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, hdr, sizeof(hdr)), sizeof(hdr));
	close(fd);
	exec_ok(f->h.store,
		"INSERT INTO accounts VALUES ('111111111111', 0), ('222222222222', 0);"
		"INSERT INTO snapshots(id, account_id, volume_id, size_gib, file, state, created_ms) VALUES "
		"('snap-11111111111111111', '111111111111', 'vol-ffffffff', 2, "
		"'snapshots/snap-11111111111111111.qcow2', 'completed', 0),"
		"('snap-22222222222222222', '111111111111', 'vol-ffffffff', 2, "
		"'snapshots/snap-22222222222222222.qcow2', 'pending', 0);"
		"INSERT INTO images(id, account_id, name, state, root_device_name, root_snapshot_id, root_size_gib, "
		"root_volume_type, root_delete_on_termination, imds_support, created_ms) VALUES "
		"('ami-aaaaaaaaaaaaaaaaa', '111111111111', 'ok', 'available', '/dev/xvda', 'snap-11111111111111111', 8, "
		"'gp2', 0, 'v2.0', 0),"
		"('ami-bbbbbbbbbbbbbbbbb', '111111111111', 'gone', 'deregistered', '/dev/xvda', "
		"'snap-11111111111111111', 2, 'gp3', 1, NULL, 0),"
		"('ami-ccccccccccccccccc', '111111111111', 'import-ami-ccccccccccccccccc', 'pending', '/dev/sda1', NULL, 0, "
		"'gp3', 1, NULL, 0),"
		"('ami-ddddddddddddddddd', '111111111111', 'creating', 'pending', '/dev/xvda', 'snap-22222222222222222', 2, "
		"'gp3', 1, NULL, 0),"
		"('ami-eeeeeeeeeeeeeeeee', '111111111111', 'failed', 'failed', '/dev/xvda', NULL, 2, 'gp3', 1, NULL, 0),"
		"('ami-fffffffffffffffff', '111111111111', 'snap pending', 'available', '/dev/xvda', "
		"'snap-22222222222222222', 2, 'gp3', 1, NULL, 0);"
		"INSERT INTO import_tasks(id, account_id, source, format, status, image_id, snapshot_id, created_ms) VALUES "
		"('import-ami-ccccccccccccccccc', '111111111111', '/x', '', 'active', 'ami-ccccccccccccccccc', "
		"'snap-33333333333333333', 0);");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	store_close(f->h.store);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void test_for_launch(void **state)
{
	struct fixture *f = *state;
	struct image_launch l;
	char want[160];

	assert_int_equal(images_for_launch(&f->h, "111111111111", "ami-aaaaaaaaaaaaaaaaa", &l), 0);
	assert_string_equal(l.id, "ami-aaaaaaaaaaaaaaaaa");
	assert_string_equal(l.snapshot_id, "snap-11111111111111111");
	assert_string_equal(l.root_device_name, "/dev/xvda");
	assert_true(l.base_file[0] == '/');
	snprintf(want, sizeof(want), "/snapshots/snap-11111111111111111.qcow2");
	assert_non_null(strstr(l.base_file, want));
	assert_int_equal(access(l.base_file, R_OK), 0);
	assert_true(l.root_size_gib == 8 && l.snapshot_size_gib == 2);
	assert_true(l.base_virtual_bytes == 0x60000000LL);
	assert_string_equal(l.root_volume_type, "gp2");
	assert_false(l.root_delete_on_termination);
	assert_string_equal(l.imds_support, "v2.0");

	/* Another account's, deregistered, failed, unknown, or an import's
	 * AMI still being built: not found. */
	assert_int_equal(images_for_launch(&f->h, "222222222222", "ami-aaaaaaaaaaaaaaaaa", &l), -ENOENT);
	assert_int_equal(images_for_launch(&f->h, "111111111111", "ami-bbbbbbbbbbbbbbbbb", &l), -ENOENT);
	assert_int_equal(images_for_launch(&f->h, "111111111111", "ami-eeeeeeeeeeeeeeeee", &l), -ENOENT);
	assert_int_equal(images_for_launch(&f->h, "111111111111", "ami-00000000000000000", &l), -ENOENT);
	assert_int_equal(images_for_launch(&f->h, "111111111111", "ami-ccccccccccccccccc", &l), -ENOENT);
	/* Pending, or its snapshot not completed: not yet. */
	assert_int_equal(images_for_launch(&f->h, "111111111111", "ami-ddddddddddddddddd", &l), -EAGAIN);
	assert_int_equal(images_for_launch(&f->h, "111111111111", "ami-fffffffffffffffff", &l), -EAGAIN);

	/* The import finished: its AMI shows. */
	exec_ok(f->h.store, "UPDATE import_tasks SET status = 'completed';"
			    "UPDATE images SET state = 'available', root_snapshot_id = 'snap-11111111111111111', "
			    "root_size_gib = 2 WHERE id = 'ami-ccccccccccccccccc';");
	assert_int_equal(images_for_launch(&f->h, "111111111111", "ami-ccccccccccccccccc", &l), 0);
	assert_string_equal(l.root_device_name, "/dev/sda1");
	assert_string_equal(l.imds_support, "");

	/* A missing base file is an I/O error, not a launchable AMI. */
	snprintf(want, sizeof(want), "%s/snapshots/snap-11111111111111111.qcow2", f->dir);
	assert_int_equal(unlink(want), 0);
	assert_int_equal(images_for_launch(&f->h, "111111111111", "ami-aaaaaaaaaaaaaaaaa", &l), -EIO);
}

static void test_token_ids(void **state)
{
	char a[ID_MAX], b[ID_MAX], c[ID_MAX];

	assert_int_equal(images_token_task_id("111111111111", "tok", a), 0);
	assert_int_equal(images_token_task_id("111111111111", "tok", b), 0);
	assert_int_equal(images_token_task_id("222222222222", "tok", c), 0);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_true(id_valid("import-ami", a) && id_valid("import-ami", c));
	/* The separator keeps (account, token) pairs apart. */
	assert_int_equal(images_token_task_id("11111111111", "1tok", b), 0);
	assert_string_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_for_launch, setup, teardown),
		cmocka_unit_test(test_token_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
