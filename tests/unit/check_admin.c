/*
 * Unit tests (no server) for the admin side: the server-side SQL built from
 * the files lib/sql/NAME.sql carries the constants the C side uses, the statement
 * builders produce the SQL each master runs, and status renders text and
 * JSON from a hand-built report.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_int.h"

/* ------------------------------------------------------------ ddl body */

static void
ddl_body_is(const char *sql, int want_ok, const char *want_in_err)
{
	pgmm_buf err;
	int rc;

	pgmm_buf_init(&err);
	rc = admin_ddl_check_body(sql, &err);
	ck_assert_msg((rc == 0) == want_ok, "<%s>: rc %d (%s)", sql ? sql : "(null)", rc,
				  err.data ? err.data : "");
	if (want_in_err)
		ck_assert_msg(err.data && strstr(err.data, want_in_err), "<%s>: error <%s> lacks <%s>",
					  sql ? sql : "(null)", err.data ? err.data : "", want_in_err);
	pgmm_buf_free(&err);
}

START_TEST(test_ddl_check_body)
{
	/* allowed */
	ddl_body_is("CREATE TABLE t (a int)", 1, NULL);
	ddl_body_is("CREATE TABLE t (a int); CREATE INDEX ON t (a);", 1, NULL);
	ddl_body_is("ALTER TABLE t ADD COLUMN b text DEFAULT 'COMMIT; BEGIN'", 1, NULL);
	ddl_body_is("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END; DROP TABLE x", 1, NULL);
	ddl_body_is("COMMENT ON TABLE t IS $$ROLLBACK;$$; -- COMMIT\n/* BEGIN; */ LOCK TABLE t", 1, NULL);
	ddl_body_is("SET LOCAL statement_timeout = 0; CREATE TABLE t (a int)", 1, NULL);
	/* refused, wherever they are */
	ddl_body_is(NULL, 0, "no SQL statement");
	ddl_body_is(" ;; ", 0, "no SQL statement");
	ddl_body_is("BEGIN; CREATE TABLE t (a int); COMMIT", 0, "statement 1 of the body (BEGIN) starts");
	ddl_body_is("CREATE TABLE t (a int); COMMIT", 0, "statement 2 of the body (COMMIT) ends");
	ddl_body_is("COMMIT", 0, "(COMMIT) ends");
	ddl_body_is("create table t (a int);;  end;", 0, "statement 2 of the body (end)");
	ddl_body_is("CREATE TABLE t (a int); ROLLBACK", 0, "(ROLLBACK) ends");
	ddl_body_is("CREATE TABLE t (a int); ABORT", 0, "(ABORT) ends");
	ddl_body_is("START TRANSACTION", 0, "starts a transaction");
	ddl_body_is("CREATE TABLE t (a int); PREPARE TRANSACTION 'x'", 0, "prepares the transaction");
	ddl_body_is("COMMIT PREPARED 'x'", 0, "decides a prepared transaction");
	ddl_body_is("ROLLBACK PREPARED 'x'", 0, "decides a prepared transaction");
	ddl_body_is("SAVEPOINT s; CREATE TABLE t (a int)", 0, "savepoint");
	ddl_body_is("CREATE TABLE t (a int); RELEASE s", 0, "savepoint");
	ddl_body_is("CREATE TABLE t (a int); ROLLBACK TO SAVEPOINT s", 0, "savepoint");
	ddl_body_is("COMMIT AND CHAIN", 0, "ends the transaction");
	ddl_body_is("CREATE TABLE t (a text DEFAULT 'x", 0, "cannot read the body");
	ddl_body_is("CREATE TABLE t (a int); /* unterminated", 0, "unterminated /* comment");
	ddl_body_is("CREATE TABLE t (a int)/* c */;COMMIT/* d */", 0, "nothing was run");
}
END_TEST

/* ------------------------------------------------------------ verify */

START_TEST(test_verify_builders)
{
	pgmm_buf b;
	const char *keys[2] = {"id", "a\"b"};

	pgmm_buf_init(&b);
	admin_build_verify_checksum(&b, "public.\"select\"");
	/* the row is the alias's whole-row value, never a column's */
	ck_assert_ptr_nonnull(strstr(pgmm_buf_str(&b), "md5(ROW(r.*)::text)"));
	ck_assert_ptr_nonnull(strstr(pgmm_buf_str(&b), "FROM public.\"select\" AS r GROUP BY 1"));
	ck_assert_ptr_nonnull(strstr(pgmm_buf_str(&b), "format('%I.%I', n.nspname, c.relname)"));
	ck_assert_ptr_null(strstr(pgmm_buf_str(&b), "x::text"));
	pgmm_buf_reset(&b);
	admin_build_verify_rows(&b, "s.\"t_s1\"", keys, 1);
	ck_assert_str_eq(pgmm_buf_str(&b), "SELECT ((r.\"id\")::text COLLATE \"C\") AS k, pg_catalog.md5(ROW(r.*)::text) AS h "
					 "FROM ONLY s.\"t_s1\" AS r ORDER BY 1, 2");
	pgmm_buf_reset(&b);
	admin_build_verify_rows(&b, "t", keys, 2);
	ck_assert_ptr_nonnull(strstr(pgmm_buf_str(&b), "SELECT (ROW(r.\"id\", r.\"a\"\"b\")::text COLLATE \"C\") AS k"));
	pgmm_buf_reset(&b);
	admin_build_verify_rows(&b, "t", NULL, 0);
	ck_assert_ptr_nonnull(strstr(pgmm_buf_str(&b), "SELECT (ROW(r.*)::text COLLATE \"C\") AS k"));
	pgmm_buf_free(&b);
}
END_TEST

START_TEST(test_equalize_builders)
{
	pgmm_buf b;
	const char *keys[2] = {"id", "a\"b"}, *types[2] = {"integer", "character varying(20)"};
	const char *cols[2] = {"id", "select"};
	const char *vals[3] = {"plain", "q\"uo\\te", ""};

	pgmm_buf_init(&b);
	/* the stream: verify's key text and row hash, then each key column */
	admin_build_equalize_rows(&b, "s.\"t_s1\"", keys, 2);
	ck_assert_str_eq(pgmm_buf_str(&b), "SELECT (ROW(r.\"id\", r.\"a\"\"b\")::text COLLATE \"C\") AS k, "
					 "pg_catalog.md5(ROW(r.*)::text) AS h, (r.\"id\")::text, (r.\"a\"\"b\")::text "
					 "FROM ONLY s.\"t_s1\" AS r ORDER BY 1, 2");
	pgmm_buf_reset(&b);
	admin_build_equalize_rows(&b, "t", NULL, 0);
	ck_assert_str_eq(pgmm_buf_str(&b), "SELECT (ROW(r.*)::text COLLATE \"C\") AS k, "
					 "pg_catalog.md5(ROW(r.*)::text) AS h FROM ONLY t AS r ORDER BY 1, 2");
	/* rows by key: one text[] per key column, cast to the column's type (index usable) */
	pgmm_buf_reset(&b);
	admin_build_equalize_fetch(&b, "s.t", keys, types, 2);
	ck_assert_str_eq(pgmm_buf_str(&b), "SELECT ROW(r.*)::text, (ROW(r.\"id\", r.\"a\"\"b\")::text COLLATE \"C\") FROM ONLY s.t AS r JOIN "
					 "ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[])) AS u(k0, k1) ON r.\"id\" = u.k0::integer "
					 "AND r.\"a\"\"b\" = u.k1::character varying(20)");
	pgmm_buf_reset(&b);
	admin_build_equalize_fetch(&b, "s.t", NULL, NULL, 0);
	ck_assert_str_eq(pgmm_buf_str(&b), "SELECT ROW(r.*)::text, (ROW(r.*)::text COLLATE \"C\") FROM ONLY s.t AS r WHERE ROW(r.*)::text = ANY ($1::text[])");
	pgmm_buf_reset(&b);
	admin_build_equalize_delete(&b, "s.t", keys, types, 1);
	ck_assert_str_eq(pgmm_buf_str(&b), "DELETE FROM ONLY s.t AS r USING ROWS FROM (pg_catalog.unnest($1::text[])) AS u(k0) "
					 "WHERE r.\"id\" = u.k0::integer");
	pgmm_buf_reset(&b);
	admin_build_equalize_delete(&b, "s.t", NULL, NULL, 0);
	ck_assert_str_eq(pgmm_buf_str(&b), "DELETE FROM ONLY s.t AS r WHERE ROW(r.*)::text = ANY ($1::text[])");
	pgmm_buf_reset(&b);
	admin_build_equalize_insert(&b, "s.\"T\"", cols, 2);
	ck_assert_str_eq(pgmm_buf_str(&b), "INSERT INTO s.\"T\" (\"id\", \"select\") OVERRIDING SYSTEM VALUE "
					 "SELECT (s.v).\"id\", (s.v).\"select\" FROM (SELECT u.t::s.\"T\" AS v "
					 "FROM pg_catalog.unnest($1::text[]) AS u(t)) AS s");
	/* array literals: every element quoted, " and \ escaped */
	pgmm_buf_reset(&b);
	admin_build_text_array(&b, vals, 3);
	ck_assert_str_eq(pgmm_buf_str(&b), "{\"plain\",\"q\\\"uo\\\\te\",\"\"}");
	pgmm_buf_reset(&b);
	admin_build_text_array(&b, vals, 0);
	ck_assert_str_eq(pgmm_buf_str(&b), "{}");
	pgmm_buf_free(&b);
}
END_TEST

START_TEST(test_verify_diff)
{
	const char *ka[] = {"1", "2", "3", "5", "7"}, *ha[] = {"a", "b", "c", "e", "g"};
	const char *kb[] = {"1", "2", "4", "5", "7", "8"}, *hb[] = {"a", "B", "d", "e", "g", "h"};
	const char *first[3];
	int nfirst = -1, n;

	n = admin_verify_diff(ka, ha, 5, kb, hb, 6, 3, first, &nfirst);
	/* 2 changed, 3 only on a, 4 and 8 only on b */
	ck_assert_int_eq(n, 4);
	ck_assert_int_eq(nfirst, 3);
	ck_assert_str_eq(first[0], "2");
	ck_assert_str_eq(first[1], "3");
	ck_assert_str_eq(first[2], "4");
	n = admin_verify_diff(ka, ha, 5, ka, ha, 5, 3, first, &nfirst);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(nfirst, 0);
	n = admin_verify_diff(ka, ha, 5, NULL, NULL, 0, 3, first, &nfirst);
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(nfirst, 3);
	n = admin_verify_diff(NULL, NULL, 0, NULL, NULL, 0, 3, first, &nfirst);
	ck_assert_int_eq(n, 0);
	{
		/* duplicate keys (a table without a key: the row is the key) count once; NULL keys */
		const char *kc[] = {NULL, "x", "x"}, *hc[] = {"n", "p", "q"};
		const char *kd[] = {NULL, "x"}, *hd[] = {"m", "p"};

		n = admin_verify_diff(kc, hc, 3, kd, hd, 2, 3, first, &nfirst);
		ck_assert_int_eq(n, 2);
		ck_assert_ptr_null(first[0]);
		ck_assert_str_eq(first[1], "x");
	}
}
END_TEST

START_TEST(test_build_drop_tables)
{
	admin_stmts s;
	const char *sch[2] = {"public", "we\"ird"}, *nam[2] = {"t1", "it's"};

	admin_stmts_init(&s);
	admin_build_drop_tables(&s, sch, nam, 2, 1);
	ck_assert(admin_stmts_ok(&s));
	ck_assert_int_eq(s.n, 4);
	ck_assert_str_eq(s.sql[0], "DROP TABLE \"public\".\"t1\", \"we\"\"ird\".\"it's\"");
	ck_assert_str_eq(s.sql[1], "DELETE FROM pgmm.tables WHERE (schema_name, table_name) IN "
					 "(('public', 't1'), ('we\"ird', 'it''s'))");
	ck_assert_ptr_nonnull(strstr(s.sql[2], "DELETE FROM pgmm.shards"));
	ck_assert_ptr_nonnull(strstr(s.sql[3], "DELETE FROM pgmm.colocations"));
	admin_stmts_free(&s);
	admin_stmts_init(&s);
	admin_build_drop_tables(&s, sch, nam, 1, 0);
	ck_assert_int_eq(s.n, 3);
	ck_assert_str_eq(s.sql[0], "DELETE FROM pgmm.tables WHERE (schema_name, table_name) IN (('public', 't1'))");
	admin_stmts_free(&s);
	admin_stmts_init(&s);
	admin_build_drop_tables(&s, sch, nam, 0, 1);
	ck_assert_int_eq(s.n, 0);
	admin_stmts_free(&s);
}
END_TEST

/* ------------------------------------------------------------ catalog SQL */

static void
assert_sql_has(const char *what)
{
	ck_assert_msg(strstr(pgmm_catalog_sql, what) != NULL, "the catalog SQL lacks <%s>", what);
}

START_TEST(test_catalog_sql_placeholders_substituted)
{
	char num[96];

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

/* ------------------------------------------------------------ builders */

START_TEST(test_build_subscription)
{
	pgmm_buf b;

	pgmm_buf_init(&b);
	admin_build_subscription(&b, "m2", "m1", "host=h port=5 dbname=it's", "0123456789abcdef0123456789abcdef",
	                         150004);
	ck_assert_str_eq(pgmm_buf_str(&b),
	                 "CREATE SUBSCRIPTION pgmm_m2__m1 CONNECTION 'host=h port=5 dbname=it''s' PUBLICATION "
	                 PGMM_PUBLICATION " WITH (copy_data = false, slot_name = 'pgmm_01234567_m2__m1')");
	pgmm_buf_reset(&b);
	admin_build_subscription(&b, "a", "b", "host=x", "ffffffff00", 170000);
	ck_assert_str_eq(pgmm_buf_str(&b),
	                 "CREATE SUBSCRIPTION pgmm_a__b CONNECTION 'host=x' PUBLICATION " PGMM_PUBLICATION
	                 " WITH (copy_data = false, slot_name = 'pgmm_ffffffff_a__b', origin = none)");
	pgmm_buf_reset(&b);
	admin_build_sub_name(&b, "m1", "m3");
	ck_assert_str_eq(pgmm_buf_str(&b), "pgmm_m1__m3");
	/* rejoin: the same, the publisher's rows copied first (only the option
	 * changes, not a look-alike in the conninfo) */
	pgmm_buf_reset(&b);
	admin_build_rejoin_subscription(&b, "a", "b", "host=x application_name='copy_data = false'", "ffffffff00",
	                                170000, 1);
	ck_assert_str_eq(pgmm_buf_str(&b),
	                 "CREATE SUBSCRIPTION pgmm_a__b CONNECTION 'host=x application_name=''copy_data = false''' "
	                 "PUBLICATION "
	                 PGMM_PUBLICATION " WITH (copy_data = true, slot_name = 'pgmm_ffffffff_a__b', origin = none)");
	pgmm_buf_reset(&b);
	admin_build_rejoin_subscription(&b, "a", "b", "host=x", "ffffffff00", 150000, 0);
	ck_assert_str_eq(pgmm_buf_str(&b), "CREATE SUBSCRIPTION pgmm_a__b CONNECTION 'host=x' PUBLICATION "
	                 PGMM_PUBLICATION " WITH (copy_data = false, slot_name = 'pgmm_ffffffff_a__b')");
	pgmm_buf_free(&b);
}
END_TEST

/* failover: a dead master's shards of one group spread over the
 * survivors, the least loaded first, ties in catalog order. */
START_TEST(test_failover_assign)
{
	int count[3] = {2, 2, 2}, out[6];
	int uneven[2] = {5, 1}, out2[4];
	int one[1] = {0}, out3[3];

	admin_failover_assign(count, 3, 6, out);
	ck_assert_int_eq(out[0], 0);
	ck_assert_int_eq(out[1], 1);
	ck_assert_int_eq(out[2], 2);
	ck_assert_int_eq(out[3], 0);
	ck_assert_int_eq(out[4], 1);
	ck_assert_int_eq(out[5], 2);
	ck_assert_int_eq(count[0], 4);
	ck_assert_int_eq(count[2], 4);
	/* the lighter survivor first, until the group is even */
	admin_failover_assign(uneven, 2, 4, out2);
	ck_assert_int_eq(out2[0], 1);
	ck_assert_int_eq(out2[1], 1);
	ck_assert_int_eq(out2[2], 1);
	ck_assert_int_eq(out2[3], 1);
	ck_assert_int_eq(uneven[0], 5);
	ck_assert_int_eq(uneven[1], 5);
	/* one target (--to): everything to it */
	admin_failover_assign(one, 1, 3, out3);
	ck_assert_int_eq(out3[0] + out3[1] + out3[2], 0);
	ck_assert_int_eq(one[0], 3);
}
END_TEST

START_TEST(test_build_install)
{
	pgmm_node nodes[3];
	admin_stmts s;
	char *names[3] = {"m1", "m2", "m3"};
	char *cis[3] = {"host=a", "host=b user=o'neil", "host=c"};
	int i;

	memset(nodes, 0, sizeof nodes);
	for (i = 0; i < 3; i++)
	{
		nodes[i].name = names[i];
		nodes[i].conninfo = cis[i];
		nodes[i].slot = i + 1;
	}
	admin_stmts_init(&s);
	admin_build_install(&s, nodes, 3, 1, "c0ffee", 10);
	ck_assert(admin_stmts_ok(&s));
	ck_assert_int_eq(s.n, 8);
	ck_assert_str_eq(s.sql[0], "INSERT INTO pgmm.cluster (cluster_id, epoch, stride, next_slot, catalog_version) "
	                 "VALUES ('c0ffee', 1, 10, 4, 2)");
	ck_assert_str_eq(s.sql[2], "INSERT INTO pgmm.nodes (name, conninfo, slot) VALUES ('m2', 'host=b user=o''neil', 2)");
	ck_assert_str_eq(s.sql[4], "INSERT INTO pgmm.local (node) VALUES ('m2')");
	ck_assert_str_eq(s.sql[5], "CREATE SEQUENCE pgmm.id_seq AS bigint START 2 INCREMENT 10 MINVALUE 1");
	ck_assert_str_eq(s.sql[6], "CREATE PUBLICATION " PGMM_PUBLICATION " WITH (publish = 'insert, update, delete')");
	ck_assert_str_eq(s.sql[7], "SELECT pgmm.sync_local()");
	admin_stmts_free(&s);
}
END_TEST

/* Which managed tables a ddl body freezes, and the reason stored. */
START_TEST(test_ddl_mentions_and_reason)
{
	pgmm_buf b;
	char longbody[600];

	ck_assert_int_eq(admin_ddl_mentions("ALTER TABLE expedientes DROP COLUMN x", "expedientes"), 1);
	ck_assert_int_eq(admin_ddl_mentions("alter table public.\"Expedientes\" add y int", "expedientes"), 1);
	ck_assert_int_eq(admin_ddl_mentions("ALTER TABLE EXPEDIENTES ADD y int", "expedientes"), 1);
	ck_assert_int_eq(admin_ddl_mentions("ALTER TABLE expedientes2 ADD y int", "expedientes"), 0);
	ck_assert_int_eq(admin_ddl_mentions("ALTER TABLE old_expedientes ADD y int", "expedientes"), 0);
	ck_assert_int_eq(admin_ddl_mentions("CREATE TABLE t(a int)", "expedientes"), 0);
	ck_assert_int_eq(admin_ddl_mentions("ALTER TABLE t ADD c int", "t"), 1);
	ck_assert_int_eq(admin_ddl_mentions("ALTER TABLE t", ""), 0);
	pgmm_buf_init(&b);
	admin_ddl_reason(&b, "  ALTER TABLE t\n\tDROP   COLUMN x ");
	ck_assert_str_eq(pgmm_buf_str(&b), "pgmm ddl: ALTER TABLE t DROP COLUMN x");
	pgmm_buf_reset(&b);
	memset(longbody, 'a', sizeof longbody - 1);
	longbody[sizeof longbody - 1] = '\0';
	admin_ddl_reason(&b, longbody);
	ck_assert_uint_eq(b.len, strlen("pgmm ddl: ") + 200 + 3);
	pgmm_buf_free(&b);
}
END_TEST

START_TEST(test_build_reference)
{
	pgmm_buf b;

	pgmm_buf_init(&b);
	admin_build_reference(&b, "public", "es'tados", "m1");
	ck_assert_str_eq(pgmm_buf_str(&b), "INSERT INTO pgmm.tables (schema_name, table_name, kind, frozen, owner) "
	                 "VALUES ('public', 'es''tados', 'reference', true, 'm1')");
	pgmm_buf_free(&b);
	/* The unfreeze every addition ends with, and the frame's statements. */
	ck_assert_str_eq(admin_sql_unfreeze, "UPDATE pgmm.tables SET frozen = false, frozen_reason = NULL WHERE frozen");
	ck_assert_str_eq(admin_sql_bump_epoch, "UPDATE pgmm.cluster SET epoch = epoch + 1");
	ck_assert_str_eq(admin_sql_lock_epoch, "SELECT epoch FROM pgmm.cluster FOR UPDATE");
}
END_TEST

static const char *const owners3[] = {"m1", "m2", "m3"};

static void
dist_input(admin_dist_input *in, const char *table, int shards)
{
	static const char *const fk_in[] = {"public.documentos", "documentos_fk", "FOREIGN KEY (e) REFERENCES x(id)"};
	static const char *const fk_own[] = {"x_estado_fkey", "FOREIGN KEY (estado) REFERENCES estados(id)"};
	static const char *const seqs[] = {"public.x_id_seq", "id"};
	static const char *const idx[] = {"public.x_pkey", "16400"};

	memset(in, 0, sizeof *in);
	in->schema = "public";
	in->table = table;
	in->qualified = "public.x";
	in->column = "id";
	in->old_name = "pgmm_old_0000beef";
	in->keytype = PGMM_KEY_INT4;
	in->key_position = 1;
	in->shards = shards;
	in->replident = 'd';
	in->colocation = 2;
	in->new_colocation = 1;
	in->owner_names = owners3;
	in->nowners = 3;
	in->fk_in = fk_in;
	in->nfk_in = 1;
	in->fk_own = fk_own;
	in->nfk_own = 1;
	in->seqs = seqs;
	in->nseqs = 1;
	in->idx = idx;
	in->nidx = 1;
}

START_TEST(test_build_distribute)
{
	admin_dist_input in;
	admin_stmts before, after;
	pgmm_buf err;

	dist_input(&in, "x", 4);
	admin_stmts_init(&before);
	admin_stmts_init(&after);
	pgmm_buf_init(&err);
	ck_assert_int_eq(admin_build_distribute(&in, &before, &after, &err), 0);
	ck_assert_int_eq(before.n, 9);
	ck_assert_str_eq(before.sql[0], "ALTER TABLE public.documentos DROP CONSTRAINT documentos_fk");
	ck_assert_str_eq(before.sql[1], "ALTER INDEX public.x_pkey RENAME TO pgmm_old_idx_16400");
	ck_assert_str_eq(before.sql[2], "ALTER TABLE public.x RENAME TO \"pgmm_old_0000beef\"");
	ck_assert_str_eq(before.sql[3], "CREATE TABLE public.x (LIKE \"public\".\"pgmm_old_0000beef\" INCLUDING ALL) "
	                 "PARTITION BY HASH (\"id\")");
	ck_assert_str_eq(before.sql[4], "ALTER TABLE public.x ALTER COLUMN \"id\" DROP IDENTITY IF EXISTS");
	ck_assert_str_eq(before.sql[5], "CREATE TABLE \"public\".\"x" PGMM_SHARD_SUFFIX "0\" PARTITION OF public.x "
	                 "FOR VALUES WITH (MODULUS 4, REMAINDER 0)");
	ck_assert_str_eq(before.sql[8], "CREATE TABLE \"public\".\"x" PGMM_SHARD_SUFFIX "3\" PARTITION OF public.x "
	                 "FOR VALUES WITH (MODULUS 4, REMAINDER 3)");
	ck_assert_int_eq(after.n, 1 + 1 + 1 + 1 + 1 + 4 + 1);
	ck_assert_str_eq(after.sql[0], "ALTER SEQUENCE public.x_id_seq OWNED BY public.x.id");
	ck_assert_str_eq(after.sql[1], "DROP TABLE \"public\".\"pgmm_old_0000beef\"");
	ck_assert_str_eq(after.sql[2], "ALTER TABLE public.x ADD CONSTRAINT x_estado_fkey FOREIGN KEY (estado) REFERENCES estados(id)");
	ck_assert_str_eq(after.sql[3], "ALTER TABLE public.documentos ADD CONSTRAINT documentos_fk FOREIGN KEY (e) REFERENCES x(id)");
	ck_assert_str_eq(after.sql[4], "INSERT INTO pgmm.colocations (id, key_type, shards) VALUES (2, 'int4', 4)");
	/* Round robin, starting where group 1 stopped: m2, m3, m1, m2. */
	ck_assert_str_eq(after.sql[5], "INSERT INTO pgmm.shards (colocation, remainder, owner) VALUES (2, 0, 'm2')");
	ck_assert_str_eq(after.sql[6], "INSERT INTO pgmm.shards (colocation, remainder, owner) VALUES (2, 1, 'm3')");
	ck_assert_str_eq(after.sql[7], "INSERT INTO pgmm.shards (colocation, remainder, owner) VALUES (2, 2, 'm1')");
	ck_assert_str_eq(after.sql[8], "INSERT INTO pgmm.shards (colocation, remainder, owner) VALUES (2, 3, 'm2')");
	ck_assert_str_eq(after.sql[9], "INSERT INTO pgmm.tables (schema_name, table_name, kind, frozen, key_column, "
	                 "key_type, key_position, colocation) VALUES ('public', 'x', 'distributed', true, 'id', 'int4', 1, 2)");
	admin_stmts_free(&before);
	admin_stmts_free(&after);

	/* Colocated with an existing group, REPLICA IDENTITY FULL kept. */
	dist_input(&in, "x", 2);
	in.new_colocation = 0;
	in.replident = 'f';
	in.nfk_in = in.nfk_own = in.nseqs = in.nidx = 0;
	admin_stmts_init(&before);
	admin_stmts_init(&after);
	ck_assert_int_eq(admin_build_distribute(&in, &before, &after, &err), 0);
	ck_assert_int_eq(before.n, 3 + 2 * 2 + 1);
	ck_assert_str_eq(before.sql[4], "ALTER TABLE \"public\".\"x" PGMM_SHARD_SUFFIX "0\" REPLICA IDENTITY FULL");
	ck_assert_str_eq(before.sql[7], "ALTER TABLE public.x REPLICA IDENTITY FULL");
	ck_assert_int_eq(after.n, 2);
	ck_assert_ptr_null(strstr(after.sql[1], "colocations"));
	admin_stmts_free(&before);
	admin_stmts_free(&after);
	pgmm_buf_free(&err);
}
END_TEST

START_TEST(test_build_distribute_refusals)
{
	admin_dist_input in;
	admin_stmts before, after;
	pgmm_buf err;
	char longname[64];

	/* 59 bytes + "_s15" = 63: fits; 60 + "_s15" = 64: refused. */
	memset(longname, 'a', sizeof longname);
	longname[59] = '\0';
	dist_input(&in, longname, 16);
	admin_stmts_init(&before);
	admin_stmts_init(&after);
	pgmm_buf_init(&err);
	ck_assert_int_eq(admin_build_distribute(&in, &before, &after, &err), 0);
	admin_stmts_free(&before);
	admin_stmts_free(&after);
	longname[59] = 'a';
	longname[60] = '\0';
	ck_assert_int_eq(admin_build_distribute(&in, &before, &after, &err), -1);
	ck_assert_ptr_nonnull(strstr(pgmm_buf_str(&err), "too long for shard names"));
	ck_assert_int_eq(before.n + after.n, 0);
	pgmm_buf_reset(&err);
	dist_input(&in, "x", 0);
	ck_assert_int_eq(admin_build_distribute(&in, &before, &after, &err), -1);
	dist_input(&in, "x", 4);
	in.nowners = 0;
	ck_assert_int_eq(admin_build_distribute(&in, &before, &after, &err), -1);
	admin_stmts_free(&before);
	admin_stmts_free(&after);
	pgmm_buf_free(&err);
}
END_TEST

START_TEST(test_id_seq_floor)
{
	/* Slot 2, stride 10: 2, 12, 22, ...; the largest <= maxkey. */
	ck_assert_int_eq(admin_id_seq_floor(25, 2, 10), 22);
	ck_assert_int_eq(admin_id_seq_floor(22, 2, 10), 22);
	ck_assert_int_eq(admin_id_seq_floor(21, 2, 10), 12);
	ck_assert_int_eq(admin_id_seq_floor(2, 2, 10), 2);
	ck_assert_int_eq(admin_id_seq_floor(1, 2, 10), 0);
	ck_assert_int_eq(admin_id_seq_floor(1000000000000LL, 3, 10), 999999999993LL);
	ck_assert_int_eq(admin_id_seq_floor(50, 2, 0), 0);
}
END_TEST

START_TEST(test_stmts_list)
{
	admin_stmts s;
	int i;

	admin_stmts_init(&s);
	for (i = 0; i < 100; i++)
		admin_stmts_addf(&s, "SELECT %d", i);
	admin_stmts_add(&s, NULL);
	ck_assert(admin_stmts_ok(&s));
	ck_assert_int_eq(s.n, 101);
	ck_assert_str_eq(s.sql[99], "SELECT 99");
	ck_assert_str_eq(s.sql[100], "");
	admin_stmts_free(&s);
	ck_assert_int_eq(s.n, 0);
}
END_TEST

/* ------------------------------------------------------------ status rendering */

/* A small JSON reader: validates the text and finds values by path. */
typedef struct jp
{
	const char *p;
	int ok;
} jp;

static void jp_ws(jp *j) { while (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r') j->p++; }
static void jp_value(jp *j, pgmm_buf *str);

static void
jp_string(jp *j, pgmm_buf *out)
{
	if (*j->p != '"')
	{
		j->ok = 0;
		return;
	}
	j->p++;
	while (j->ok && *j->p != '"')
	{
		unsigned char c = (unsigned char) *j->p;

		if (c == '\0' || c < 0x20)
		{
			j->ok = 0;
			return;
		}
		if (c == '\\')
		{
			j->p++;
			if (*j->p == 'u')
			{
				unsigned v = 0;
				int k;

				for (k = 1; k <= 4; k++)
				{
					char h = j->p[k];

					if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F')))
					{
						j->ok = 0;
						return;
					}
					v = v * 16 + (unsigned) (h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
				}
				if (out && v < 0x80)
				{
					char ch = (char) v;

					pgmm_buf_append_len(out, &ch, 1);
				}
				j->p += 5;
				continue;
			}
			if (!strchr("\"\\/bfnrt", *j->p))
			{
				j->ok = 0;
				return;
			}
			if (out)
				pgmm_buf_append_len(out, j->p, 1);
			j->p++;
			continue;
		}
		if (out)
			pgmm_buf_append_len(out, j->p, 1);
		j->p++;
	}
	j->p++;
}

static void
jp_value(jp *j, pgmm_buf *str)
{
	jp_ws(j);
	if (*j->p == '{' || *j->p == '[')
	{
		char close = *j->p == '{' ? '}' : ']';
		int obj = close == '}';

		j->p++;
		jp_ws(j);
		if (*j->p == close)
		{
			j->p++;
			return;
		}
		while (j->ok)
		{
			jp_ws(j);
			if (obj)
			{
				jp_string(j, NULL);
				jp_ws(j);
				if (*j->p != ':')
				{
					j->ok = 0;
					return;
				}
				j->p++;
			}
			jp_value(j, NULL);
			jp_ws(j);
			if (*j->p == ',')
				j->p++;
			else if (*j->p == close)
			{
				j->p++;
				return;
			}
			else
				j->ok = 0;
		}
	}
	else if (*j->p == '"')
		jp_string(j, str);
	else if (strncmp(j->p, "true", 4) == 0 || strncmp(j->p, "null", 4) == 0)
		j->p += 4;
	else if (strncmp(j->p, "false", 5) == 0)
		j->p += 5;
	else
	{
		char *end;

		strtod(j->p, &end);
		if (end == j->p)
			j->ok = 0;
		j->p = end;
	}
}

static int
json_valid(const char *s)
{
	jp j = {s, 1};

	jp_value(&j, NULL);
	jp_ws(&j);
	return j.ok && *j.p == '\0';
}

/* The decoded value of the first string "key": "..." after `after`. */
static char *
json_string_after(const char *s, const char *after, const char *key)
{
	const char *p = strstr(s, after);
	pgmm_buf k, out;
	jp j;

	if (p == NULL)
		return NULL;
	pgmm_buf_init(&k);
	pgmm_buf_printf(&k, "\"%s\": ", key);
	p = strstr(p, pgmm_buf_str(&k));
	if (p == NULL)
	{
		pgmm_buf_free(&k);
		return NULL;
	}
	j.p = p + k.len;
	j.ok = 1;
	pgmm_buf_free(&k);
	pgmm_buf_init(&out);
	jp_string(&j, &out);
	if (!j.ok)
	{
		pgmm_buf_free(&out);
		return NULL;
	}
	return pgmm_buf_take(&out);
}

static const char hostile[] = "m\"2\\x\n\t\x01'; DROP";

static void
hand_report(admin_report *r)
{
	memset(r, 0, sizeof *r);
	r->nmasters = 2;
	r->masters = calloc(2, sizeof *r->masters);
	r->masters[0].name = strdup("m1");
	r->masters[0].slot = 1;
	r->masters[0].up = 1;
	r->masters[0].home = 1;
	r->masters[0].epoch = strdup("7");
	r->masters[0].version = strdup("15.18");
	r->masters[0].address = strdup("host=127.0.0.1 port=5501 dbname=pgmm");
	r->masters[1].name = strdup(hostile);
	r->masters[1].slot = 2;
	r->masters[1].up = 0;
	r->masters[1].epoch = strdup("7; x");     /* never printed as a number */
	r->masters[1].address = strdup("host=10.0.0.2");
	r->masters[1].error = strdup("master m2 (host=10.0.0.2) is unreachable: connection refused\n");
	r->ntables = 2;
	r->tables = calloc(2, sizeof *r->tables);
	r->tables[0].schema = strdup("public");
	r->tables[0].table = strdup("estados");
	r->tables[0].kind = strdup("reference");
	r->tables[0].owner = strdup("m1");
	r->tables[1].schema = strdup("public");
	r->tables[1].table = strdup("expedientes");
	r->tables[1].kind = strdup("distributed");
	r->tables[1].key = strdup("id");
	r->tables[1].key_type = strdup("int4");
	r->tables[1].colocation = 1;
	r->tables[1].shards = 16;
	r->tables[1].frozen = 1;
	r->nshards = 2;
	r->shards = calloc(2, sizeof *r->shards);
	r->shards[0].colocation = 1;
	r->shards[0].owner = strdup("m1");
	r->shards[0].count = 8;
	r->shards[1].colocation = 1;
	r->shards[1].owner = strdup(hostile);
	r->shards[1].count = 8;
	r->nsubs = 1;
	r->subs = calloc(1, sizeof *r->subs);
	r->subs[0].name = strdup("pgmm_m1__m2");
	r->subs[0].slot = strdup("pgmm_abcdef01_m1__m2");
	r->subs[0].subscriber = 1;
	r->subs[0].publisher = 0;
	r->subs[0].enabled = 1;
	r->subs[0].worker = 1;
	r->subs[0].apply_errors = 3;
	r->subs[0].lag_bytes = 4096;
	r->subs[0].lag_seconds = 1.5;
	r->subs[0].sample_seconds = 2.5;
	r->subs[0].new_errors = 2;
	r->subs[0].flushed = 0;
	r->subs[0].last_error_age = 0.5;
	r->subs[0].stats_reset = strdup("");
	r->nprepared = 2;
	r->prepared = calloc(2, sizeof *r->prepared);
	r->prepared[0].master = 0;
	r->prepared[0].gid = strdup("pgmm:c:8:0123456789abcdef:0/2:m2");
	r->prepared[0].kind = 'c';
	r->prepared[0].label = 8;
	r->prepared[0].decider = strdup("m2");
	r->prepared[0].age_seconds = 12.3;
	r->prepared[0].locks = strdup("pgmm.cluster, public.expedientes");
	r->prepared[1].master = 0;
	r->prepared[1].gid = strdup("pgmm:b:0:fedcba9876543210:1/3:m1");
	r->prepared[1].kind = 'b';
	r->prepared[1].decider = strdup("m1");
	r->prepared[1].age_seconds = 2;
	r->prepared[1].locks = strdup("");
}

START_TEST(test_status_json)
{
	admin_report r;
	pgmm_buf out;
	char *v;

	hand_report(&r);
	pgmm_buf_init(&out);
	admin_report_json(&r, &out);
	ck_assert(pgmm_buf_ok(&out));
	ck_assert_msg(json_valid(pgmm_buf_str(&out)), "invalid JSON: %s", pgmm_buf_str(&out));
	/* Hostile names come back exactly as they were. */
	v = json_string_after(pgmm_buf_str(&out), "}, {\"name\": ", "name");
	ck_assert_str_eq(v, hostile);
	free(v);
	ck_assert_ptr_nonnull(strstr(pgmm_buf_str(&out), "\"error\": null, "));
	v = json_string_after(pgmm_buf_str(&out), "}, {\"name\": ", "error");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "master m2 (host=10.0.0.2) is unreachable: connection refused\n");
	free(v);
	v = json_string_after(pgmm_buf_str(&out), "\"subscriptions\": [", "subscriber");
	ck_assert_str_eq(v, hostile);
	free(v);
	v = json_string_after(pgmm_buf_str(&out), "\"subscriptions\": [", "state");
	ck_assert_str_eq(v, "STALLED");
	free(v);
	ck_assert_ptr_nonnull(strstr(pgmm_buf_str(&out), "\"epoch\": 7, "));
	ck_assert_ptr_nonnull(strstr(pgmm_buf_str(&out), "\"epoch\": null, "));
	ck_assert_ptr_nonnull(strstr(pgmm_buf_str(&out), "\"frozen\": true}"));
	/* Every prepared transaction: master, kind, gid, age, locks. */
	v = json_string_after(pgmm_buf_str(&out), "\"prepared_transactions\": [", "gid");
	ck_assert_str_eq(v, "pgmm:c:8:0123456789abcdef:0/2:m2");
	free(v);
	v = json_string_after(pgmm_buf_str(&out), "\"prepared_transactions\": [", "kind");
	ck_assert_str_eq(v, "catalog change");
	free(v);
	v = json_string_after(pgmm_buf_str(&out), "\"gid\": \"pgmm:b:", "decider");
	ck_assert_str_eq(v, "m1");
	free(v);
	ck_assert_ptr_nonnull(strstr(pgmm_buf_str(&out), "\"age_seconds\": 12.3, \"locks\": [\"pgmm.cluster\", \"public.expedientes\"]}"));
	ck_assert_ptr_nonnull(strstr(pgmm_buf_str(&out), "\"kind\": \"broadcast\""));
	ck_assert_ptr_nonnull(strstr(pgmm_buf_str(&out), "\"locks\": []}"));
	/* The per-master list the old format had. */
	v = json_string_after(pgmm_buf_str(&out), "\"masters\": [", "prepared");
	ck_assert_str_eq(v, "pgmm:c:8:0123456789abcdef:0/2:m2 pgmm:b:0:fedcba9876543210:1/3:m1");
	free(v);
	pgmm_buf_free(&out);
	admin_report_free(&r);
	ck_assert_int_eq(r.nmasters, 0);
}
END_TEST

START_TEST(test_status_text)
{
	admin_report r;
	pgmm_buf out;
	const char *s;

	hand_report(&r);
	pgmm_buf_init(&out);
	admin_report_text(&r, &out);
	s = pgmm_buf_str(&out);
	ck_assert_ptr_nonnull(strstr(s, "masters: 2 (1 up)\n"));
	ck_assert_ptr_nonnull(strstr(s, "  m1           up    1     7       15.18     host=127.0.0.1 port=5501 dbname=pgmm  (this)\n"));
	ck_assert_ptr_nonnull(strstr(s, " DOWN "));
	ck_assert_ptr_nonnull(strstr(s, "      master m2 (host=10.0.0.2) is unreachable: connection refused\n"));
	ck_assert_ptr_nonnull(strstr(s, "unfinished two-phase transactions: pgmm:c:8:0123456789abcdef:0/2:m2 "
	                             "pgmm:b:0:fedcba9876543210:1/3:m1 (run `pgmm recover`)"));
	ck_assert_ptr_nonnull(strstr(s, "  public.estados  reference, owner m1\n"));
	ck_assert_ptr_nonnull(strstr(s, "  public.expedientes  distributed by id (int4), 16 shards, colocation 1  FROZEN"));
	ck_assert_ptr_nonnull(strstr(s, "shards per owner:\n  colocation 1: m1=8 "));
	ck_assert_ptr_nonnull(strstr(s, "subscriptions: 1 of 2 expected\n"));
	ck_assert_ptr_nonnull(strstr(s, "STALLED"));
	ck_assert_ptr_nonnull(strstr(s, "3 apply errors, 0 sync errors since the cluster started"));
	ck_assert_ptr_nonnull(strstr(s, "apply worker FAILING NOW: 2 error(s) in the last 2.5 s, last one 0.5 s ago "
	                             "(the message is in "));
	ck_assert_ptr_nonnull(strstr(s, "prepared transactions: 2 "));
	ck_assert_ptr_nonnull(strstr(s, "  m1           catalog change     12.3 s  pgmm:c:8:0123456789abcdef:0/2:m2"));
	ck_assert_ptr_nonnull(strstr(s, "pgmm.cluster, public.expedientes\n"));
	ck_assert_ptr_nonnull(strstr(s, "  m1           broadcast           2.0 s  pgmm:b:0:fedcba9876543210:1/3:m1"));
	pgmm_buf_free(&out);
	admin_report_free(&r);

	/* A failed master: apart from the usable ones, its fence state said;
	 * the subscriptions expected count only the usable masters. */
	{
		admin_master_report m[3];

		memset(&r, 0, sizeof r);
		memset(m, 0, sizeof m);
		m[0].name = "m1";
		m[0].up = 1;
		m[0].home = 1;
		m[1].name = "m2";
		m[1].up = 1;
		m[2].name = "m3";
		m[2].slot = 3;
		m[2].failed = 1;
		m[2].failed_epoch = 8;
		m[2].fence = ADMIN_FENCE_DONE;
		m[2].epoch = "9";
		r.masters = m;
		r.nmasters = 3;
		pgmm_buf_init(&out);
		admin_report_text(&r, &out);
		s = pgmm_buf_str(&out);
		ck_assert_ptr_nonnull(strstr(s, "masters: 2 (2 up), 1 failed\n"));
		ck_assert_ptr_nonnull(strstr(s, "failed masters: 1 "));
		ck_assert_ptr_nonnull(strstr(s, "  m3           FENCED  (failed at epoch 8; slot 3; "));
		ck_assert_ptr_nonnull(strstr(s, "subscriptions: 0 of 2 expected\n"));
		ck_assert_ptr_null(strstr(s, "  m3           up"));
		pgmm_buf_reset(&out);
		m[2].fence = ADMIN_FENCE_UNREACHABLE;
		admin_report_text(&r, &out);
		ck_assert_ptr_nonnull(strstr(pgmm_buf_str(&out), "  m3           FAILED, not fenced: unreachable  ("));
		pgmm_buf_reset(&out);
		m[2].fence = ADMIN_FENCE_FAILED;
		admin_report_json(&r, &out);
		s = pgmm_buf_str(&out);
		ck_assert(json_valid(s));
		ck_assert_ptr_nonnull(strstr(s, "\"state\": \"failed\", \"failed_epoch\": 8, \"fenced\": false, "
		                             "\"fence\": \"STALE, not fenced: may accept writes\""));
		ck_assert_ptr_nonnull(strstr(s, "\"state\": \"active\""));
		pgmm_buf_free(&out);
	}

	/* Empty report: renders, no prepared section rows. */
	memset(&r, 0, sizeof r);
	pgmm_buf_init(&out);
	admin_report_text(&r, &out);
	ck_assert_ptr_nonnull(strstr(pgmm_buf_str(&out), "prepared transactions: 0\n"));
	pgmm_buf_reset(&out);
	admin_report_json(&r, &out);
	ck_assert(json_valid(pgmm_buf_str(&out)));
	pgmm_buf_free(&out);
}
END_TEST

START_TEST(test_sub_state)
{
	admin_sub_report s;

	memset(&s, 0, sizeof s);
	ck_assert_str_eq(admin_sub_state(&s), "disabled");
	s.enabled = 1;
	ck_assert_str_eq(admin_sub_state(&s), "down");
	s.worker = 1;
	ck_assert_str_eq(admin_sub_state(&s), "streaming");
	s.not_ready = 2;
	ck_assert_str_eq(admin_sub_state(&s), "syncing");
	s.not_ready = 0;
	/* one sample only: a cumulative error count never makes STALLED */
	s.apply_errors = 1;
	s.lag_bytes = 10;
	s.new_errors = -1;
	s.flushed = -1;
	ck_assert_str_eq(admin_sub_state(&s), "streaming");
	s.sample_seconds = 2.5;
	/* repaired, under load: old errors, a lag, progress: not STALLED */
	s.new_errors = 0;
	s.flushed = 4096;
	ck_assert_str_eq(admin_sub_state(&s), "streaming");
	/* no lag: not STALLED either */
	s.lag_bytes = 0;
	s.flushed = 0;
	ck_assert_str_eq(admin_sub_state(&s), "streaming");
	/* a lag and no progress after errors: STALLED */
	s.lag_bytes = 10;
	ck_assert_str_eq(admin_sub_state(&s), "STALLED");
	/* errors now: STALLED whatever the progress, even with the worker between restarts */
	s.flushed = 100;
	s.new_errors = 1;
	ck_assert_str_eq(admin_sub_state(&s), "STALLED");
	s.worker = 0;
	ck_assert_str_eq(admin_sub_state(&s), "STALLED");
	/* no errors at all, no progress (idle): never STALLED */
	s.apply_errors = 0;
	s.new_errors = 0;
	s.flushed = 0;
	s.worker = 1;
	ck_assert_str_eq(admin_sub_state(&s), "streaming");
}
END_TEST

START_TEST(test_json_reader_rejects)
{
	ck_assert(!json_valid("{\"a\": }"));
	ck_assert(!json_valid("{\"a\": \"x\ny\"}"));
	ck_assert(!json_valid("[1, 2"));
	ck_assert(json_valid("{\"a\": [1, -2.5e3, true, null, \"\\u0001\\\"\"]}"));
}
END_TEST

/* durability: what `pgmm durability` accepts, and what it refuses. */
START_TEST(test_durability_parse)
{
	static const struct { const char *in; int nm; int ok, mode, n; } cases[] = {
		{"off", 3, 1, ADMIN_DURABILITY_OFF, 0},
		{"  OFF ", 3, 1, ADMIN_DURABILITY_OFF, 0},
		{"all", 3, 1, ADMIN_DURABILITY_ALL, 0},
		{"any 1", 3, 1, ADMIN_DURABILITY_ANY, 1},
		{"ANY   2", 3, 1, ADMIN_DURABILITY_ANY, 2},
		{"any 3", 3, 0, 0, 0},		/* N >= masters */
		{"any 2", 2, 0, 0, 0},
		{"any 0", 3, 0, 0, 0},
		{"any -1", 3, 0, 0, 0},
		{"any", 3, 0, 0, 0},
		{"any x", 3, 0, 0, 0},
		{"any 1 2", 3, 0, 0, 0},
		{"any 1x", 3, 0, 0, 0},
		{"any1", 3, 0, 0, 0},
		{"offx", 3, 0, 0, 0},
		{"off 1", 3, 0, 0, 0},
		{"all please", 3, 0, 0, 0},
		{"", 3, 0, 0, 0},
		{"some", 3, 0, 0, 0},
		{"all", 1, 0, 0, 0},		/* nobody to wait for */
		{"any 99999999999999999999", 3, 0, 0, 0},
	};
	size_t k;

	for (k = 0; k < sizeof cases / sizeof cases[0]; k++)
	{
		admin_durability d;
		pgmm_buf err;
		int rc;

		pgmm_buf_init(&err);
		rc = admin_durability_parse(cases[k].in, cases[k].nm, &d, &err);
		ck_assert_msg((rc == 0) == cases[k].ok, "\"%s\" (%d masters): rc %d, %s", cases[k].in, cases[k].nm, rc,
		              pgmm_buf_str(&err));
		if (cases[k].ok)
		{
			ck_assert_int_eq(d.mode, cases[k].mode);
			ck_assert_int_eq(d.n, cases[k].n);
			ck_assert_int_eq((int) err.len, 0);
		}
		else
			ck_assert_msg(err.len > 0, "\"%s\": refused without a message", cases[k].in);
		pgmm_buf_free(&err);
	}
	{
		admin_durability d;
		pgmm_buf err;

		pgmm_buf_init(&err);
		ck_assert_int_eq(admin_durability_parse(NULL, 3, &d, &err), -1);
		pgmm_buf_reset(&err);
		ck_assert_int_eq(admin_durability_parse("any 3", 3, &d, &err), -1);
		ck_assert_ptr_nonnull(strstr(pgmm_buf_str(&err), "less than the number of masters (3)"));
		pgmm_buf_free(&err);
	}
}
END_TEST

START_TEST(test_standby_names)
{
	const char *two[] = {"pgmm_m1__m2", "pgmm_m1__m3"};
	const char *odd[] = {"a\"b"};
	admin_durability d;
	pgmm_buf b;

	pgmm_buf_init(&b);
	d.mode = ADMIN_DURABILITY_OFF, d.n = 0;
	admin_build_standby_names(&b, &d, two, 2);
	ck_assert_str_eq(pgmm_buf_str(&b), "");
	admin_durability_text(&d, &b);
	ck_assert_str_eq(pgmm_buf_str(&b), "off");
	pgmm_buf_reset(&b);
	d.mode = ADMIN_DURABILITY_ANY, d.n = 1;
	admin_build_standby_names(&b, &d, two, 2);
	ck_assert_str_eq(pgmm_buf_str(&b), "ANY 1 (\"pgmm_m1__m2\", \"pgmm_m1__m3\")");
	pgmm_buf_reset(&b);
	admin_durability_text(&d, &b);
	ck_assert_str_eq(pgmm_buf_str(&b), "any 1");
	pgmm_buf_reset(&b);
	/* a subscriber lost to a failover: ANY 2 of one is capped, never blocks */
	d.n = 2;
	admin_build_standby_names(&b, &d, two, 1);
	ck_assert_str_eq(pgmm_buf_str(&b), "ANY 1 (\"pgmm_m1__m2\")");
	pgmm_buf_reset(&b);
	admin_build_standby_names(&b, &d, two, 0);
	ck_assert_str_eq(pgmm_buf_str(&b), "");
	d.mode = ADMIN_DURABILITY_ALL, d.n = 0;
	admin_build_standby_names(&b, &d, two, 2);
	ck_assert_str_eq(pgmm_buf_str(&b), "FIRST 2 (\"pgmm_m1__m2\", \"pgmm_m1__m3\")");
	pgmm_buf_reset(&b);
	admin_durability_text(&d, &b);
	ck_assert_str_eq(pgmm_buf_str(&b), "all");
	pgmm_buf_reset(&b);
	admin_build_standby_names(&b, &d, odd, 1);
	ck_assert_str_eq(pgmm_buf_str(&b), "FIRST 1 (\"a\"\"b\")");
	pgmm_buf_free(&b);
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
	tc = tcase_create("builders");
	tcase_add_test(tc, test_build_subscription);
	tcase_add_test(tc, test_build_install);
	tcase_add_test(tc, test_failover_assign);
	tcase_add_test(tc, test_build_reference);
	tcase_add_test(tc, test_ddl_mentions_and_reason);
	tcase_add_test(tc, test_build_distribute);
	tcase_add_test(tc, test_build_distribute_refusals);
	tcase_add_test(tc, test_id_seq_floor);
	tcase_add_test(tc, test_stmts_list);
	tcase_add_test(tc, test_ddl_check_body);
	tcase_add_test(tc, test_verify_builders);
	tcase_add_test(tc, test_equalize_builders);
	tcase_add_test(tc, test_verify_diff);
	tcase_add_test(tc, test_build_drop_tables);
	tcase_add_test(tc, test_durability_parse);
	tcase_add_test(tc, test_standby_names);
	suite_add_tcase(s, tc);
	tc = tcase_create("status");
	tcase_add_test(tc, test_status_json);
	tcase_add_test(tc, test_status_text);
	tcase_add_test(tc, test_sub_state);
	tcase_add_test(tc, test_json_reader_rejects);
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
