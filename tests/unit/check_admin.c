/*
 * Unit tests (no server) for the admin side: the server-side SQL built from
 * lib/sql/*.sql carries the constants the C side uses, the statement
 * builders produce the SQL each master runs, and status renders text and
 * JSON from a hand-built report.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgmm_int.h"
#include "pghash.h"

/* ------------------------------------------------------------ catalog SQL */

static void
assert_sql_has(const char *what)
{
	ck_assert_msg(strstr(pgmm_catalog_sql, what) != NULL, "the catalog SQL lacks <%s>", what);
}

START_TEST(test_catalog_sql_placeholders_substituted)
{
	char num[32];

	ck_assert_ptr_null(strstr(pgmm_catalog_sql, "@PGMM_"));
	ck_assert_ptr_null(strchr(pgmm_catalog_sql, '@'));
	/* The hash constants of pghash.h, in decimal. */
	snprintf(num, sizeof num, "hashint8extended(v, %" PRIu64 ")", (uint64_t) PGMM_HASH_PARTITION_SEED);
	assert_sql_has(num);
	snprintf(num, sizeof num, "+ %" PRIu64 ")", (uint64_t) PGMM_HASH_PARTITION_ADD);
	assert_sql_has(num);
	/* SQLSTATEs of pgmm.h. */
	assert_sql_has("ERRCODE = '" PGMM_SQLSTATE_NOT_OWNER "'");
	assert_sql_has("ERRCODE = '" PGMM_SQLSTATE_NO_SHARD "'");
	assert_sql_has("ERRCODE = '" PGMM_SQLSTATE_REFUSED "'");
	/* The PM001 DETAIL the router parses. */
	assert_sql_has("DETAIL = pg_catalog.format('" PGMM_PM001_DETAIL_OWNER "%s " PGMM_PM001_DETAIL_EPOCH "%s'");
	/* Publication and shard names. */
	assert_sql_has("p.pubname OPERATOR(pg_catalog.=) '" PGMM_PUBLICATION "'");
	assert_sql_has("ALTER PUBLICATION " PGMM_PUBLICATION " ADD TABLE");
	assert_sql_has("'" PGMM_SHARD_SUFFIX "' OPERATOR(pg_catalog.||) sh.remainder");
}
END_TEST

START_TEST(test_catalog_sql_is_every_file)
{
	/* One object of each file, in the order Makefile.am gives. */
	const char *objs[] = {
		"CREATE TABLE pgmm.cluster", "CREATE TABLE pgmm.tables", "CREATE FUNCTION pgmm.int_remainder",
		"CREATE FUNCTION pgmm.next_id", "CREATE FUNCTION pgmm.guard()", "CREATE FUNCTION pgmm._guard(",
		"CREATE FUNCTION pgmm.raise(", "CREATE FUNCTION pgmm._publish(", "CREATE FUNCTION pgmm.sync_local()",
	};
	const char *prev = pgmm_catalog_sql;
	size_t i;

	for (i = 0; i < sizeof objs / sizeof objs[0]; i++)
	{
		const char *p = strstr(pgmm_catalog_sql, objs[i]);

		ck_assert_msg(p != NULL, "missing: %s", objs[i]);
		ck_assert_msg(p >= prev, "out of order: %s", objs[i]);
		prev = p;
	}
	/* Comment-only lines are left out; dollar quotes survive intact. */
	ck_assert_ptr_null(strstr(pgmm_catalog_sql, "\n--"));
	ck_assert_ptr_nonnull(strstr(pgmm_catalog_sql, "'\\x00'::pg_catalog.bytea"));
	ck_assert_int_eq(pgmm_catalog_sql[strlen(pgmm_catalog_sql) - 1], '\n');
}
END_TEST

/* ------------------------------------------------------------ error context */

static char *
strip(const char *ctx, int want_rc)
{
	char *out = (char *) 1;

	ck_assert_int_eq(pgmm_context_strip(ctx, &out), want_rc);
	if (want_rc == 0)
		ck_assert_ptr_null(out);
	return out;
}

START_TEST(test_context_strip)
{
	char *s;

	/* pgmm.raise and the guard: the whole context goes. */
	s = strip("PL/pgSQL function pgmm.raise(text,text,text,text) line 4 at RAISE", 1);
	ck_assert_str_eq(s, "");
	free(s);
	s = strip("PL/pgSQL function pgmm.guard() line 6 at RAISE", 1);
	ck_assert_str_eq(s, "");
	free(s);
	/* Translated (Spanish) frame of the guard. */
	s = strip("función PL/pgSQL pgmm.guard() en la línea 6 en RAISE", 1);
	ck_assert_str_eq(s, "");
	free(s);
	/* An application function that fired the guard keeps its lines. */
	s = strip("PL/pgSQL function pgmm.guard() line 6 at RAISE\n"
	          "SQL statement \"INSERT INTO t VALUES (1)\"\n"
	          "PL/pgSQL function app.load() line 3 at SQL statement", 1);
	ck_assert_str_eq(s, "SQL statement \"INSERT INTO t VALUES (1)\"\n"
	                 "PL/pgSQL function app.load() line 3 at SQL statement");
	free(s);
	s = strip("PL/pgSQL function pgmm.next_id(integer,integer[]) line 7 at RAISE\n"
	          "PL/pgSQL function pgmm.sync_local() line 9 at PERFORM", 1);
	ck_assert_str_eq(s, "");
	free(s);
	/* Not pgmm's: untouched. */
	strip(NULL, 0);
	strip("", 0);
	strip("PL/pgSQL function app.raise(text) line 4 at RAISE", 0);
	strip("PL/pgSQL function mypgmm.raise(text) line 4 at RAISE", 0);
	strip("PL/pgSQL function pgmm.raiser(text) line 4 at RAISE", 0);
	strip("SQL function \"pgmm.raise(\" statement 1", 0);
}
END_TEST

START_TEST(test_errmsg_replace_context)
{
	const char *ctx = "PL/pgSQL function pgmm.raise(text,text,text,text) line 4 at RAISE";
	const char *msg = "ERROR:  pgmm: DDL is refused\nDETAIL:  d\nHINT:  use pgmm ddl\n"
	                  "CONTEXT:  PL/pgSQL function pgmm.raise(text,text,text,text) line 4 at RAISE\n";
	const char *vmsg = "ERROR:  PM004: x\nCONTEXT:  PL/pgSQL function pgmm.guard() line 6 at RAISE\n"
	                   "SQL statement \"INSERT\"\nLOCATION:  exec_stmt_raise, pl_exec.c:3908\n";
	char *m;

	m = pgmm_errmsg_replace_context(msg, ctx, "");
	ck_assert_str_eq(m, "ERROR:  pgmm: DDL is refused\nDETAIL:  d\nHINT:  use pgmm ddl\n");
	free(m);
	m = pgmm_errmsg_replace_context(msg, ctx, NULL);
	ck_assert_str_eq(m, "ERROR:  pgmm: DDL is refused\nDETAIL:  d\nHINT:  use pgmm ddl\n");
	free(m);
	m = pgmm_errmsg_replace_context(vmsg, "PL/pgSQL function pgmm.guard() line 6 at RAISE\nSQL statement \"INSERT\"",
	                                "SQL statement \"INSERT\"");
	ck_assert_str_eq(m, "ERROR:  PM004: x\nCONTEXT:  SQL statement \"INSERT\"\nLOCATION:  exec_stmt_raise, pl_exec.c:3908\n");
	free(m);
	ck_assert_ptr_null(pgmm_errmsg_replace_context("ERROR:  x\n", ctx, ""));
	ck_assert_ptr_null(pgmm_errmsg_replace_context(NULL, ctx, ""));
	ck_assert_ptr_null(pgmm_errmsg_replace_context(msg, NULL, ""));
}
END_TEST

static Suite *
admin_suite(void)
{
	Suite *s = suite_create("admin");
	TCase *tc = tcase_create("catalog_sql");

	tcase_add_test(tc, test_catalog_sql_placeholders_substituted);
	tcase_add_test(tc, test_catalog_sql_is_every_file);
	suite_add_tcase(s, tc);
	tc = tcase_create("error_context");
	tcase_add_test(tc, test_context_strip);
	tcase_add_test(tc, test_errmsg_replace_context);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(admin_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
