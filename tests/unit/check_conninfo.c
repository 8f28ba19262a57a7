/*
 * Unit tests (no server) for conninfo handling and the string buffer:
 * pgmm options are split off, secrets never survive stripping, merges carry
 * only the keys asked for, garbage fails with libpq's own words.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgmm_int.h"

static char *
split_ok(const char *ci, pgmm_options *o)
{
	pgmm_buf err;
	char *lp = NULL;

	pgmm_buf_init(&err);
	ck_assert_msg(pgmm_conninfo_split(ci, &lp, o, &err) == 0, "split failed: %s", pgmm_buf_str(&err));
	pgmm_buf_free(&err);
	return lp;
}

static char *
split_err(const char *ci)
{
	pgmm_buf err;
	pgmm_options o;
	char *lp = (char *) 1;

	pgmm_buf_init(&err);
	ck_assert_int_eq(pgmm_conninfo_split(ci, &lp, &o, &err), -1);
	ck_assert_ptr_null(lp);
	return pgmm_buf_take(&err);
}

START_TEST(test_split_defaults)
{
	pgmm_options o;
	char *lp = split_ok("host=127.0.0.1 port=5432 dbname=x", &o);

	ck_assert_str_eq(lp, "host='127.0.0.1' port='5432' dbname='x'");
	ck_assert_int_eq(o.read_policy, PGMM_READ_LOCAL);
	ck_assert_int_eq(o.retries, 1);
	ck_assert_int_eq(o.id_block, 100);
	ck_assert_int_eq(o.plan_cache, 1024);
	ck_assert_int_eq(o.freeze_wait, 5000);
	free(lp);
	lp = split_ok("host=x pgmm_freeze_wait=0", &o);
	ck_assert_int_eq(o.freeze_wait, 0);
	free(lp);
}
END_TEST

/* The option table: every default is a valid value, every bad value and
 * unknown name is refused with a message naming it, and every option is
 * documented in docs/router.md's option table with its default. */
START_TEST(test_option_table)
{
	const pgmm_option_def *d;
	int n = 0;

	for (d = pgmm_option_defs; d->name; d++, n++)
	{
		pgmm_options o;
		char ci[256], *msg, *lp;

		ck_assert_int_eq(strncmp(d->name, "pgmm_", 5), 0);
		ck_assert_ptr_nonnull(d->def);
		ck_assert_ptr_nonnull(d->meaning);
		snprintf(ci, sizeof ci, "host=x %s=%s", d->name, d->def);
		lp = split_ok(ci, &o);
		free(lp);
		snprintf(ci, sizeof ci, "host=x %s=bogus", d->name);
		msg = split_err(ci);
		ck_assert_msg(strstr(msg, d->name) != NULL, "%s", msg);
		free(msg);
		if (d->type == PGMM_OPT_INT)
		{
			snprintf(ci, sizeof ci, "host=x %s=%ld", d->name, d->max + 1);
			msg = split_err(ci);
			free(msg);
			snprintf(ci, sizeof ci, "host=x %s=%ld", d->name, d->min - 1);
			msg = split_err(ci);
			free(msg);
		}
	}
	ck_assert_int_eq(n, 9);
	{
		char *msg = split_err("host=x pgmm_nope=1");

		for (d = pgmm_option_defs; d->name; d++)
			ck_assert_msg(strstr(msg, d->name) != NULL, "%s lacks %s", msg, d->name);
		free(msg);
	}
}
END_TEST

/* pgmm_timeout: default 10000, 0 (no bound) .. 3600000 ms; anything else
 * is refused naming the option. */
START_TEST(test_option_timeout)
{
	pgmm_options o;
	char *lp, *msg;
	static const char *const bad[] = {"-1", "3600001", "abc", "", "2s", "10.5", "99999999999999999999", NULL};
	int k;

	lp = split_ok("host=x", &o);
	ck_assert_int_eq(o.timeout, 10000);
	free(lp);
	lp = split_ok("host=x pgmm_timeout=0", &o);
	ck_assert_int_eq(o.timeout, 0);
	ck_assert_ptr_null(strstr(lp, "pgmm_timeout"));
	free(lp);
	lp = split_ok("postgresql://x/db?pgmm_timeout=2000", &o);
	ck_assert_int_eq(o.timeout, 2000);
	ck_assert_ptr_null(strstr(lp, "pgmm_timeout"));
	free(lp);
	lp = split_ok("host=x pgmm_timeout=3600000", &o);
	ck_assert_int_eq(o.timeout, 3600000);
	free(lp);
	for (k = 0; bad[k]; k++)
	{
		char ci[128];

		snprintf(ci, sizeof ci, "host=x pgmm_timeout='%s'", bad[k]);
		msg = split_err(ci);
		ck_assert_msg(strstr(msg, "pgmm_timeout") != NULL, "%s: %s", bad[k], msg);
		free(msg);
	}
}
END_TEST

START_TEST(test_option_table_documented)
{
	char path[1024], line[4096];
	const pgmm_option_def *d;
	FILE *f;
	int *seen;

	snprintf(path, sizeof path, "%s/../../docs/router.md",
	         getenv("PGMM_TESTDATA_DIR") ? getenv("PGMM_TESTDATA_DIR") : PGMM_TESTDATA_DIR);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	seen = calloc(64, sizeof *seen);
	ck_assert_ptr_nonnull(seen);
	while (fgets(line, sizeof line, f))
	{
		int k = 0;

		for (d = pgmm_option_defs; d->name; d++, k++)
		{
			char start[128], def[128];

			snprintf(start, sizeof start, "| `%s=", d->name);
			snprintf(def, sizeof def, "| `%s` |", d->def);
			if (strncmp(line, start, strlen(start)) == 0)
			{
				ck_assert_msg(strstr(line, def) != NULL, "docs/router.md: %s should say default %s", d->name, d->def);
				seen[k]++;
			}
		}
	}
	fclose(f);
	{
		int k = 0;

		for (d = pgmm_option_defs; d->name; d++, k++)
			ck_assert_msg(seen[k] == 1, "docs/router.md's option table has %d rows for %s", seen[k], d->name);
	}
	free(seen);
}
END_TEST

START_TEST(test_split_options)
{
	pgmm_options o;
	char *lp = split_ok("pgmm_read=owner host=h pgmm_retries=3 pgmm_id_block = 500 dbname='a b' pgmm_plan_cache=0", &o);

	ck_assert_str_eq(lp, "host='h' dbname='a b'");
	ck_assert_int_eq(o.read_policy, PGMM_READ_OWNER);
	ck_assert_int_eq(o.retries, 3);
	ck_assert_int_eq(o.id_block, 500);
	ck_assert_int_eq(o.plan_cache, 0);
	free(lp);
	lp = split_ok("postgresql://u@h:5/db?pgmm_read=any&sslmode=disable&pgmm_retries=0", &o);
	ck_assert_str_eq(lp, "postgresql://u@h:5/db?sslmode=disable");
	ck_assert_int_eq(o.read_policy, PGMM_READ_ANY);
	ck_assert_int_eq(o.retries, 0);
	free(lp);
}
END_TEST

START_TEST(test_split_quoting)
{
	pgmm_options o;
	char *lp = split_ok("password='it\\'s \\\\ x' host=h", &o);

	ck_assert_str_eq(lp, "password='it\\'s \\\\ x' host='h'");
	free(lp);
}
END_TEST

START_TEST(test_split_errors)
{
	char *e;

	e = split_err(NULL);
	ck_assert_ptr_nonnull(strstr(e, "NULL"));
	free(e);
	e = split_err("pgmm_read=sideways");
	ck_assert_ptr_nonnull(strstr(e, "expected local, any or owner"));
	free(e);
	e = split_err("pgmm_nonsense=1");
	ck_assert_ptr_nonnull(strstr(e, "unknown pgmm option"));
	free(e);
	e = split_err("pgmm_retries=99");
	ck_assert_ptr_nonnull(strstr(e, "from 0 to 10"));
	free(e);
	e = split_err("pgmm_id_block=abc");
	ck_assert_ptr_nonnull(strstr(e, "pgmm_id_block"));
	free(e);
	e = split_err("host=h dbname");
	ck_assert_ptr_nonnull(strstr(e, "missing \"=\""));
	free(e);
	e = split_err("host='unterminated");
	ck_assert_ptr_nonnull(strstr(e, "unterminated"));
	free(e);
	e = split_err("this is not a conninfo");
	ck_assert_ptr_nonnull(strstr(e, "invalid connection string"));
	free(e);
	e = split_err("hots=localhost");   /* libpq's own check of keywords */
	ck_assert_ptr_nonnull(strstr(e, "hots"));
	free(e);
	e = split_err("postgresql://h/db?pgmm_read");
	ck_assert_ptr_nonnull(strstr(e, "no value"));
	free(e);
}
END_TEST

START_TEST(test_strip_secrets)
{
	pgmm_buf err;
	char *s;

	pgmm_buf_init(&err);
	s = pgmm_conninfo_strip_secrets("host=a,b port=1,2 password=secret sslpassword=x user=u "
	                                "target_session_attrs=read-write pgmm_read=any", &err);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_null(strstr(s, "secret"));
	ck_assert_ptr_null(strstr(s, "sslpassword"));
	ck_assert_ptr_null(strstr(s, "pgmm_"));
	ck_assert_ptr_nonnull(strstr(s, "host='a,b'"));
	ck_assert_ptr_nonnull(strstr(s, "target_session_attrs='read-write'"));
	free(s);
	s = pgmm_conninfo_strip_secrets("postgresql://u:pw@h/db", &err);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_null(strstr(s, "pw"));
	free(s);
	ck_assert_ptr_null(pgmm_conninfo_strip_secrets("garbage garbage", &err));
	pgmm_buf_free(&err);
}
END_TEST

START_TEST(test_merge)
{
	static const char *const keys[] = {"user", "password", NULL};
	pgmm_buf err;
	char *s;

	pgmm_buf_init(&err);
	s = pgmm_conninfo_merge("host=b port=2 dbname=d", "host=a port=1 user=u password=p dbname=e", keys, &err);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(strstr(s, "host='b'"));
	ck_assert_ptr_nonnull(strstr(s, "port='2'"));
	ck_assert_ptr_nonnull(strstr(s, "dbname='d'"));
	ck_assert_ptr_nonnull(strstr(s, "user='u'"));
	ck_assert_ptr_nonnull(strstr(s, "password='p'"));
	free(s);
	/* The base's own user wins. */
	s = pgmm_conninfo_merge("host=b user=mine", "user=u", keys, &err);
	ck_assert_ptr_nonnull(strstr(s, "user='mine'"));
	free(s);
	pgmm_buf_free(&err);
}
END_TEST

START_TEST(test_describe)
{
	char *d = pgmm_conninfo_describe("host=h port=5 dbname=x password=p user=u");

	ck_assert_str_eq(d, "dbname=x host=h port=5");
	free(d);
	d = pgmm_conninfo_describe("not valid");
	ck_assert_str_eq(d, "(unparseable conninfo)");
	free(d);
}
END_TEST

START_TEST(test_buf)
{
	pgmm_buf b;
	char *s;
	int i;

	pgmm_buf_init(&b);
	ck_assert_str_eq(pgmm_buf_str(&b), "");
	for (i = 0; i < 1000; i++)
		pgmm_buf_printf(&b, "%d,", i);
	ck_assert(pgmm_buf_ok(&b));
	ck_assert_int_eq(strncmp(pgmm_buf_str(&b), "0,1,2,", 6), 0);
	pgmm_buf_reset(&b);
	pgmm_buf_literal(&b, "it's");
	pgmm_buf_append(&b, " ");
	pgmm_buf_ident(&b, "a\"b");
	ck_assert_str_eq(pgmm_buf_str(&b), "'it''s' \"a\"\"b\"");
	pgmm_buf_reset(&b);
	pgmm_buf_append_pqmsg(&b, "ERROR:  boom\n\n");
	ck_assert_str_eq(pgmm_buf_str(&b), "ERROR:  boom");
	s = pgmm_buf_take(&b);
	ck_assert_str_eq(s, "ERROR:  boom");
	free(s);
	ck_assert_str_eq(pgmm_buf_str(&b), "");
	pgmm_buf_free(&b);
}
END_TEST

static Suite *
conninfo_suite(void)
{
	Suite *s = suite_create("conninfo");
	TCase *tc = tcase_create("split");

	tcase_add_test(tc, test_split_defaults);
	tcase_add_test(tc, test_split_options);
	tcase_add_test(tc, test_option_table);
	tcase_add_test(tc, test_option_timeout);
	tcase_add_test(tc, test_option_table_documented);
	tcase_add_test(tc, test_split_quoting);
	tcase_add_test(tc, test_split_errors);
	suite_add_tcase(s, tc);
	tc = tcase_create("rewrite");
	tcase_add_test(tc, test_strip_secrets);
	tcase_add_test(tc, test_merge);
	tcase_add_test(tc, test_describe);
	suite_add_tcase(s, tc);
	tc = tcase_create("buf");
	tcase_add_test(tc, test_buf);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(conninfo_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
