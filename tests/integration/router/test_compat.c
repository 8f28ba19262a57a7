/*
 * test_compat.c -- examples/libpq_compat.c, a libpq program built with
 * -include pgmm_compat.h (tests/integration/router/compat_example), runs
 * against the cluster: it exits 0, and its rows are on their owners.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "rt_common.h"

#ifndef PGMM_BUILDDIR
#define PGMM_BUILDDIR "."
#endif

START_TEST(test_compat_example)
{
	char cmd[2048], sql[256], *v;
	int rc, i, total = 0;
	long long k;

	/* pgmm_read=owner: read-your-writes, which the program expects. */
	snprintf(cmd, sizeof cmd, "'%s/tests/integration/router/compat_example' '%s pgmm_read=owner' 500 30",
	         PGMM_BUILDDIR, rt.conninfo[0]);
	rc = system(cmd);
	ck_assert_msg(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "%s exited with %d", cmd, rc);
	/* Each row on its owner, and nowhere written by another master. */
	for (k = 500; k < 530; k++)
	{
		char cond[64], *owner;
		int found = 0;

		snprintf(cond, sizeof cond, "id = %lld", k);
		for (i = 0; i < rt.n && !found; i++)
		{
			owner = rt_row_owner(i, "items", cond);
			if (owner && strcmp(owner, rt.name[i]) == 0)
				found = 1;
			free(owner);
		}
		ck_assert_msg(found, "row %lld is on no owner", k);
	}
	/* Every master ends with all 30 rows, renamed by the broadcast. */
	for (i = 0; i < rt.n; i++)
		ck_assert(rt_wait_value(i, "SELECT count(*) FROM items WHERE name = 'gadget'", "30", 30000));
	snprintf(sql, sizeof sql, "SELECT sum(qty) FROM items");
	v = rt_value(0, sql);
	total = v ? atoi(v) : -1;
	free(v);
	ck_assert_int_eq(total, 30 * 31 / 2 + 1);
}
END_TEST

/* The compat header refuses, at compile time, what pgmm cannot do. */
START_TEST(test_compat_refuses_async)
{
	char cmd[2048];
	int rc;
	FILE *f = fopen("/tmp/pgmm_compat_async.c", "w");

	ck_assert_ptr_nonnull(f);
	fputs("#include <libpq-fe.h>\nint main(void) { PGconn *c = PQconnectdb(\"\"); PQsendQuery(c, \"SELECT 1\");"
	      " PQfinish(c); return 0; }\n", f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "${CC:-cc} -c -o /tmp/pgmm_compat_async.o -I'%s/include' $(pkg-config --cflags libpq) "
	         "-include '%s/include/pgmm_compat.h' /tmp/pgmm_compat_async.c 2>/tmp/pgmm_compat_async.err",
	         PGMM_SRCDIR, PGMM_SRCDIR);
	rc = system(cmd);
	ck_assert_msg(rc != 0, "PQsendQuery compiled through pgmm_compat.h");
	f = fopen("/tmp/pgmm_compat_async.err", "r");
	ck_assert_ptr_nonnull(f);
	{
		char buf[8192];
		size_t n = fread(buf, 1, sizeof buf - 1, f);

		buf[n] = '\0';
		ck_assert_msg(strstr(buf, "PQsendQuery") && strstr(buf, "not supported"), "compiler said: %s", buf);
	}
	fclose(f);
	remove("/tmp/pgmm_compat_async.c");
	remove("/tmp/pgmm_compat_async.err");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("router-compat");
	TCase *tc = tcase_create("compat");
	int failed;

	rt_setup("rt_compat");
	rt_ddl("CREATE TABLE public.items (id bigint PRIMARY KEY, name text, qty int)");
	rt_distribute("public.items", "id", 8, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_compat_example);
	tcase_add_test(tc, test_compat_refuses_async);
	suite_add_tcase(s, tc);
	failed = rt_main(s);
	rt_teardown();
	return failed ? 1 : 0;
}
