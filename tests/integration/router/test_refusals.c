/*
 * test_refusals.c -- what the router refuses, and bad input of every kind:
 * DDL, a multi-row INSERT over several owners, an UPDATE of the key, COPY,
 * several statements in one string, writes to the catalog; NULL arguments
 * everywhere, garbage conninfo, unknown pgmm options, a master that is not
 * in a cluster, a failed connection used anyway, unknown tables, keys of the
 * wrong type (refused before anything is sent), huge statements.  Every
 * case gets a clear error and nothing crashes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgmm_int.h"
#include "rt_common.h"

static int
count_all(const char *where)
{
	char sql[256];
	int i, total = 0;

	snprintf(sql, sizeof sql, "SELECT count(*) FROM t8 WHERE %s", where);
	for (i = 0; i < rt.n; i++)
	{
		char *v = rt_value(i, sql);

		total += v ? atoi(v) : 0;
		free(v);
	}
	return total;
}

START_TEST(test_refused_statements)
{
	PGMMconn *c = rt_connect(NULL);
	PGresult *r;
	const char *hint;

	r = pgmm_exec(c, "CREATE TABLE public.x (a int)");
	rt_fails(r, PGMM_SQLSTATE_REFUSED);
	hint = PQresultErrorField(r, PG_DIAG_MESSAGE_HINT);
	ck_assert_msg(hint && strstr(hint, "pgmm ddl") && strstr(hint, "pgmm_admin_ddl"), "hint: %s", hint ? hint : "");
	ck_assert_ptr_null(pgmm_last_node(c));
	PQclear(r);
	r = pgmm_exec(c, "ALTER TABLE t8 ADD COLUMN z int");
	rt_fails(r, PGMM_SQLSTATE_REFUSED);
	PQclear(r);
	r = pgmm_exec(c, "TRUNCATE t8");
	rt_fails(r, PGMM_SQLSTATE_REFUSED);
	PQclear(r);
	/* Rows of different owners in one INSERT: refused, nothing written. */
	r = pgmm_exec(c, "INSERT INTO t8 (id, v) VALUES (1, 'split'), (2, 'split'), (3, 'split'), (4, 'split')");
	rt_fails(r, PGMM_SQLSTATE_REFUSED);
	ck_assert_ptr_nonnull(strstr(pgmm_result_error_message(r), "different owners"));
	PQclear(r);
	{
		const char *v[4] = {"1", "2", "3", "4"};

		r = pgmm_exec_params(c, "INSERT INTO t8 (id, v) VALUES ($1, 'split'), ($2, 'split'), ($3, 'split'), "
		                     "($4, 'split')", 4, NULL, v, NULL, NULL, 0);
		rt_fails(r, PGMM_SQLSTATE_REFUSED);
		PQclear(r);
	}
	ck_assert_int_eq(count_all("v = 'split'"), 0);
	/* Changing the key. */
	r = pgmm_exec(c, "UPDATE t8 SET id = id + 1 WHERE id = 5");
	rt_fails(r, PGMM_SQLSTATE_REFUSED);
	ck_assert_ptr_nonnull(strstr(pgmm_result_error_message(r), "key column"));
	PQclear(r);
	/* COPY, several statements, the catalog. */
	r = pgmm_exec(c, "COPY t8 FROM STDIN");
	rt_fails(r, PGMM_SQLSTATE_REFUSED);
	PQclear(r);
	r = pgmm_exec(c, "COPY (SELECT 1) TO STDOUT");
	rt_fails(r, PGMM_SQLSTATE_REFUSED);
	PQclear(r);
	r = pgmm_exec(c, "INSERT INTO t8 (id) VALUES (9); DELETE FROM t8");
	rt_fails(r, PGMM_SQLSTATE_REFUSED);
	ck_assert_ptr_nonnull(strstr(pgmm_result_error_message(r), "2 statements"));
	PQclear(r);
	r = pgmm_exec(c, "UPDATE pgmm.shards SET owner = 'm1'");
	rt_fails(r, PGMM_SQLSTATE_REFUSED);
	PQclear(r);
	/* The connection is still fine. */
	rt_run(c, "INSERT INTO t8 (id, v) VALUES (5, 'ok')");
	pgmm_finish(c);
}
END_TEST

START_TEST(test_wrong_key_type)
{
	PGMMconn *c = rt_connect(NULL);
	PGresult *r;
	const char *prim;
	const char *v[2] = {"abc", "wrongtype"};

	r = pgmm_exec(c, "INSERT INTO t8 (id, v) VALUES ('abc', 'wrongtype')");
	rt_fails(r, "22P02");
	prim = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	/* pgmm's own words: decided before sending, not the server's parse error. */
	ck_assert_msg(prim && strncmp(prim, "pgmm: invalid key", 17) == 0, "%s", prim ? prim : "");
	ck_assert_ptr_nonnull(strstr(prim, "\"abc\""));
	PQclear(r);
	r = pgmm_exec_params(c, "INSERT INTO t8 (id, v) VALUES ($1, $2)", 2, NULL, v, NULL, NULL, 0);
	rt_fails(r, "22P02");
	prim = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	ck_assert_msg(prim && strstr(prim, "$1"), "%s", prim ? prim : "");
	PQclear(r);
	v[0] = "99999999999999999999";
	r = pgmm_exec_params(c, "UPDATE t8 SET v = $2 WHERE id = $1", 2, NULL, v, NULL, NULL, 0);
	rt_fails(r, "22003");
	PQclear(r);
	ck_assert_int_eq(count_all("v = 'wrongtype'"), 0);
	/* A binary key of the wrong width. */
	{
		const char *bv[1] = {"abc"};
		int len[1] = {3}, fmt[1] = {1};

		r = pgmm_exec_params(c, "DELETE FROM t8 WHERE id = $1", 1, NULL, bv, len, fmt, 0);
		rt_fails(r, "22P02");
		PQclear(r);
	}
	pgmm_finish(c);
}
END_TEST

START_TEST(test_null_arguments)
{
	PGMMconn *c = rt_connect(NULL), *bad;
	int64_t id;
	PGresult *r;

	/* A NULL handle. */
	ck_assert_int_eq(pgmm_status(NULL), CONNECTION_BAD);
	ck_assert_ptr_nonnull(pgmm_error_message(NULL));
	pgmm_finish(NULL);
	ck_assert_ptr_null(pgmm_exec(NULL, "SELECT 1"));
	ck_assert_ptr_null(pgmm_exec_params(NULL, "SELECT 1", 0, NULL, NULL, NULL, NULL, 0));
	ck_assert_ptr_null(pgmm_prepare(NULL, "a", "SELECT 1", 0, NULL));
	ck_assert_ptr_null(pgmm_exec_prepared(NULL, "a", 0, NULL, NULL, NULL, 0));
	ck_assert_int_eq(pgmm_transaction_status(NULL), PQTRANS_UNKNOWN);
	ck_assert_int_eq(pgmm_next_id(NULL, "t8", &id), -1);
	ck_assert_ptr_null(pgmm_last_node(NULL));
	ck_assert_str_eq(pgmm_cmd_tuples(NULL), "");
	ck_assert_int_eq(pgmm_refresh_map(NULL), -1);
	ck_assert_int_eq(pgmm_map_epoch(NULL), -1);
	ck_assert_int_eq(pgmm_node_count(NULL), 0);
	ck_assert_ptr_null(pgmm_node_name(NULL, 0));
	ck_assert_ptr_null(pgmm_home_node(NULL));
	ck_assert_ptr_null(pgmm_key_owner(NULL, "t8", "1"));
	pgmm_set_map_hook(NULL, NULL, NULL);
	ck_assert_ptr_null(pgmm_result_sqlstate(NULL));
	ck_assert_ptr_null(pgmm_result_cmd_status(NULL));
	ck_assert_ptr_null(pgmm_escape_literal(NULL, "x", 1));
	ck_assert_int_eq(pgmm_server_version(NULL), 0);
	pgmm_reset(NULL);
	bad = pgmm_connect(NULL);
	ck_assert_ptr_nonnull(bad);
	ck_assert_int_eq(pgmm_status(bad), CONNECTION_BAD);
	ck_assert_ptr_nonnull(strstr(pgmm_error_message(bad), "NULL"));
	pgmm_finish(bad);
	bad = pgmm_connect_params(NULL, NULL, 0);
	ck_assert_int_eq(pgmm_status(bad), CONNECTION_BAD);
	pgmm_finish(bad);
	/* NULL arguments on a good handle. */
	ck_assert_ptr_null(pgmm_exec(c, NULL));
	ck_assert_ptr_nonnull(strstr(pgmm_error_message(c), "null pointer"));
	ck_assert_ptr_null(pgmm_exec_params(c, NULL, 0, NULL, NULL, NULL, NULL, 0));
	ck_assert_ptr_null(pgmm_exec_params(c, "SELECT 1", -1, NULL, NULL, NULL, NULL, 0));
	ck_assert_ptr_null(pgmm_prepare(c, "a", NULL, 0, NULL));
	ck_assert_int_eq(pgmm_next_id(c, "t8", NULL), -1);
	ck_assert_ptr_null(pgmm_key_owner(c, NULL, "1"));
	/* NULL values mean SQL NULL, as in libpq: key NULL goes to remainder 0. */
	{
		const char *v[2] = {NULL, "n"};

		r = pgmm_exec_params(c, "SELECT $1::int8, $2::text FROM t8 WHERE id = $1", 2, NULL, v, NULL, NULL, 0);
		rt_ok(r, c);
		PQclear(r);
		r = pgmm_exec_params(c, "SELECT count(*) FROM t8 WHERE id = $1", 1, NULL, NULL, NULL, NULL, 0);
		rt_ok(r, c);
		PQclear(r);
	}
	/* An ID with no table: any owner. */
	ck_assert_int_eq(pgmm_next_id(c, NULL, &id), 0);
	ck_assert_int_gt(id, 0);
	/* Prepared with a NULL name: the unnamed statement. */
	r = pgmm_prepare(c, NULL, "SELECT 42", 0, NULL);
	rt_ok(r, c);
	PQclear(r);
	r = pgmm_exec_prepared(c, NULL, 0, NULL, NULL, NULL, 0);
	rt_ok(r, c);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "42");
	PQclear(r);
	/* Empty and blank statements. */
	r = pgmm_exec(c, "");
	ck_assert_int_eq(PQresultStatus(r), PGRES_EMPTY_QUERY);
	PQclear(r);
	r = pgmm_exec(c, "  ; -- nothing\n");
	ck_assert_int_eq(PQresultStatus(r), PGRES_EMPTY_QUERY);
	PQclear(r);
	pgmm_finish(c);
}
END_TEST

START_TEST(test_bad_conninfo)
{
	PGMMconn *c;
	char *ci;

	c = pgmm_connect("this is not a conninfo");
	ck_assert_int_eq(pgmm_status(c), CONNECTION_BAD);
	ck_assert_ptr_nonnull(strstr(pgmm_error_message(c), "connection string"));
	/* Used anyway: clean errors. */
	ck_assert_ptr_null(pgmm_exec(c, "SELECT 1"));
	ck_assert_ptr_nonnull(strstr(pgmm_error_message(c), "not usable"));
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_UNKNOWN);
	{
		int64_t id;

		ck_assert_int_eq(pgmm_next_id(c, "t8", &id), -1);
	}
	ck_assert_ptr_null(pgmm_prepare(c, "a", "SELECT 1", 0, NULL));
	ck_assert_ptr_null(pgmm_last_node(c));
	ck_assert_ptr_null(pgmm_home_node(c));
	pgmm_finish(c);
	c = pgmm_connect("host=127.0.0.1 port=1 connect_timeout=2");
	ck_assert_int_eq(pgmm_status(c), CONNECTION_BAD);
	ck_assert_ptr_nonnull(strstr(pgmm_error_message(c), "127.0.0.1"));
	pgmm_finish(c);
	c = pgmm_connect("dbname='unterminated");
	ck_assert_int_eq(pgmm_status(c), CONNECTION_BAD);
	pgmm_finish(c);
	/* Unknown and invalid pgmm options. */
	ci = rt_conninfo(0, "pgmm_foo=1");
	c = pgmm_connect(ci);
	free(ci);
	ck_assert_int_eq(pgmm_status(c), CONNECTION_BAD);
	ck_assert_ptr_nonnull(strstr(pgmm_error_message(c), "unknown pgmm option \"pgmm_foo\""));
	pgmm_finish(c);
	ci = rt_conninfo(0, "pgmm_read=sometimes");
	c = pgmm_connect(ci);
	free(ci);
	ck_assert_int_eq(pgmm_status(c), CONNECTION_BAD);
	ck_assert_ptr_nonnull(strstr(pgmm_error_message(c), "pgmm_read"));
	pgmm_finish(c);
	/* A master outside any cluster (database postgres). */
	{
		char pg[1024];

		snprintf(pg, sizeof pg, "%s dbname=postgres", rt.base[0]);
		c = pgmm_connect(pg);
	}
	ck_assert_int_eq(pgmm_status(c), CONNECTION_BAD);
	ck_assert_msg(strstr(pgmm_error_message(c), "not part of a pgmm cluster"), "%s", pgmm_error_message(c));
	pgmm_finish(c);
	/* Keyword/value form with pgmm options, and an expanded dbname. */
	{
		const char *k[] = {"dbname", "pgmm_read", NULL};
		const char *v[] = {rt.conninfo[0], "any", NULL};
		PGresult *r;

		c = pgmm_connect_params(k, v, 1);
		ck_assert_msg(pgmm_status(c) == CONNECTION_OK, "%s", pgmm_error_message(c));
		r = pgmm_exec(c, "SELECT 1");
		rt_ok(r, c);
		PQclear(r);
		pgmm_finish(c);
		v[1] = "never";
		c = pgmm_connect_params(k, v, 1);
		ck_assert_int_eq(pgmm_status(c), CONNECTION_BAD);
		pgmm_finish(c);
	}
	/* Multi-host conninfo (the first host refuses): libpq tries the next,
	 * pgmm passes the lists through untouched. */
	{
		char buf[1024], port[16];
		const char *p = strstr(rt.conninfo[0], "port=");
		PGresult *r;

		ck_assert_ptr_nonnull(p);
		snprintf(port, sizeof port, "%.*s", (int) strspn(p + 5, "0123456789"), p + 5);
		snprintf(buf, sizeof buf, "%s host=127.0.0.1,127.0.0.1 port=1,%s target_session_attrs=read-write "
		         "connect_timeout=2", rt.conninfo[0], port);
		c = pgmm_connect(buf);
		ck_assert_msg(pgmm_status(c) == CONNECTION_OK, "%s: %s", buf, pgmm_error_message(c));
		r = pgmm_exec(c, "INSERT INTO t8 (id, v) VALUES (424242, 'multihost')");
		rt_ok(r, c);
		PQclear(r);
		pgmm_finish(c);
	}
}
END_TEST

/* Issue #7 (bug 4): "not part of a pgmm cluster" is told by SQLSTATE
 * (3F000 / 42P01: the catalog is missing), not by the words "does not
 * exist".  A catalog that exists but is broken (a column missing: 42703,
 * whose message also says "does not exist") is reported as such. */
static void
base_exec(const char *dbname, const char *sql)
{
	char ci[1024];
	PGconn *d;
	PGresult *r;

	snprintf(ci, sizeof ci, "%s dbname=%s", rt.base[0], dbname);
	d = PQconnectdb(ci);
	ck_assert_msg(PQstatus(d) == CONNECTION_OK, "%s", PQerrorMessage(d));
	r = PQexec(d, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(d);
}

START_TEST(test_catalog_missing_by_sqlstate)
{
	char db[64], ci[1024], sql[128];
	PGMMconn *c;

	snprintf(db, sizeof db, "rt_badcat_%d", (int) getpid());
	snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
	base_exec("postgres", sql);
	snprintf(ci, sizeof ci, "%s dbname=%s", rt.base[0], db);
	/* No catalog at all. */
	c = pgmm_connect(ci);
	ck_assert_int_eq(pgmm_status(c), CONNECTION_BAD);
	ck_assert_msg(strstr(pgmm_error_message(c), "not part of a pgmm cluster"), "%s", pgmm_error_message(c));
	ck_assert_ptr_nonnull(pgmm_error_sqlstate(c));
	ck_assert_msg(strcmp(pgmm_error_sqlstate(c), "42P01") == 0 || strcmp(pgmm_error_sqlstate(c), "3F000") == 0,
	              "%s", pgmm_error_sqlstate(c));
	pgmm_finish(c);
	/* A broken catalog: the server's own error, not "not a cluster". */
	base_exec(db, "CREATE SCHEMA pgmm");
	base_exec(db, "CREATE TABLE pgmm.cluster (epoch bigint)");
	c = pgmm_connect(ci);
	ck_assert_int_eq(pgmm_status(c), CONNECTION_BAD);
	ck_assert_msg(strstr(pgmm_error_message(c), "not part of a pgmm cluster") == NULL, "%s", pgmm_error_message(c));
	ck_assert_msg(strstr(pgmm_error_message(c), "reading the pgmm catalog failed"), "%s", pgmm_error_message(c));
	ck_assert_str_eq(pgmm_error_sqlstate(c), "42703");
	pgmm_finish(c);
	snprintf(sql, sizeof sql, "DROP DATABASE %s", db);
	base_exec("postgres", sql);
}
END_TEST

START_TEST(test_unknown_things)
{
	PGMMconn *c = rt_connect(NULL);
	PGresult *r;
	int64_t id;

	r = pgmm_exec(c, "INSERT INTO nosuch (a) VALUES (1)");
	rt_fails(r, "42P01");
	PQclear(r);
	r = pgmm_exec(c, "SELECT * FROM nosuch WHERE id = 1");
	rt_fails(r, "42P01");
	PQclear(r);
	ck_assert_int_eq(pgmm_next_id(c, "nosuch", &id), -1);
	ck_assert_ptr_nonnull(strstr(pgmm_error_message(c), "not a pgmm table"));
	ck_assert_int_eq(pgmm_next_id(c, "tt", &id), -1);		/* text key */
	ck_assert_ptr_nonnull(strstr(pgmm_error_message(c), "integer IDs"));
	ck_assert_ptr_null(pgmm_key_owner(c, "nosuch", "1"));
	ck_assert_ptr_null(pgmm_key_owner(c, "t8", "x"));
	ck_assert_ptr_nonnull(pgmm_key_owner(c, "public.t8", "1"));
	ck_assert_ptr_nonnull(pgmm_key_owner(c, "\"public\".\"t8\"", "1"));
	/* Statements the lexer cannot close: the server's syntax error. */
	r = pgmm_exec(c, "SELECT 'unterminated");
	rt_fails(r, "42601");
	PQclear(r);
	r = pgmm_exec(c, "SELECT /* unterminated");
	ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	/* Unclassified statements run on the home master. */
	r = pgmm_exec(c, "DO $$ BEGIN PERFORM 1; END $$");
	rt_ok(r, c);
	PQclear(r);
	ck_assert_str_eq(pgmm_last_node(c), rt.name[0]);
	/* Fewer parameters than the statement uses: the server says so. */
	{
		const char *v[1] = {"1"};

		r = pgmm_exec_params(c, "INSERT INTO t8 (id, v) VALUES ($1, $2)", 1, NULL, v, NULL, NULL, 0);
		ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
		PQclear(r);
	}
	/* A transaction after all this works. */
	rt_run(c, "BEGIN");
	r = pgmm_exec(c, "INSERT INTO t8 (id, v) VALUES (777, 'in-txn')");
	rt_ok(r, c);
	PQclear(r);
	rt_run(c, "ROLLBACK");
	pgmm_finish(c);
}
END_TEST

START_TEST(test_huge_statements)
{
	PGMMconn *c = rt_connect(NULL);
	size_t big = 6 * 1024 * 1024, k;
	char *sql = malloc(big + 256), *val = malloc(big + 1);
	const char *v[2];
	PGresult *r;
	char *got;

	ck_assert_ptr_nonnull(sql);
	ck_assert_ptr_nonnull(val);
	for (k = 0; k < big; k++)
		val[k] = (char) ('a' + k % 26);
	val[big] = '\0';
	/* A 6 MB literal. */
	snprintf(sql, big + 256, "INSERT INTO t8 (id, v) VALUES (123123, '%s')", val);
	rt_run(c, sql);
	got = rt_row_owner(rt_index(pgmm_last_node(c)), "t8", "id = 123123");
	ck_assert_str_eq(got, pgmm_last_node(c));
	free(got);
	/* The same through a parameter. */
	v[0] = "123124";
	v[1] = val;
	r = pgmm_exec_params(c, "INSERT INTO t8 (id, v) VALUES ($1, $2)", 2, NULL, v, NULL, NULL, 0);
	rt_ok(r, c);
	PQclear(r);
	/* A 6 MB statement of garbage. */
	memset(sql, 'x', big);
	memcpy(sql, "SELEC ", 6);
	sql[big] = '\0';
	r = pgmm_exec(c, sql);
	rt_fails(r, "42601");
	PQclear(r);
	/* A many-row INSERT whose rows share one owner. */
	{
		pgmm_buf b;
		int i;

		pgmm_buf_init(&b);
		pgmm_buf_append(&b, "INSERT INTO t8 (id, v) VALUES ");
		for (i = 0; i < 5000; i++)
		{
			int64_t id;

			ck_assert_int_eq(pgmm_next_id_for(c, "t8", rt.name[1], &id), 0);
			pgmm_buf_printf(&b, "%s(%lld, 'many')", i ? ", " : "", (long long) id);
		}
		ck_assert(pgmm_buf_ok(&b));
		rt_run(c, pgmm_buf_str(&b));
		ck_assert_str_eq(pgmm_last_node(c), rt.name[1]);
		ck_assert_str_eq(pgmm_cmd_tuples(c), "5000");
		pgmm_buf_free(&b);
	}
	free(sql);
	free(val);
	pgmm_finish(c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("router-refusals");
	TCase *tc = tcase_create("refusals");
	int failed;

	rt_setup("rt_refusals");
	rt_ddl("CREATE TABLE public.t8 (id int8 PRIMARY KEY, v text)");
	rt_ddl("CREATE TABLE public.tt (k text PRIMARY KEY)");
	rt_distribute("public.t8", "id", 8, NULL);
	rt_distribute("public.tt", "k", 4, NULL);

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_refused_statements);
	tcase_add_test(tc, test_wrong_key_type);
	tcase_add_test(tc, test_null_arguments);
	tcase_add_test(tc, test_bad_conninfo);
	tcase_add_test(tc, test_catalog_missing_by_sqlstate);
	tcase_add_test(tc, test_unknown_things);
	tcase_add_test(tc, test_huge_statements);
	suite_add_tcase(s, tc);
	failed = rt_main(s);
	rt_teardown();
	return failed ? 1 : 0;
}
