/*
 * check_sqlparse.c -- unit tests for lib/sqlparse.c (no server needed).
 *
 * Every statement is copied into a buffer of exactly its length, without a
 * terminating NUL, so that AddressSanitizer catches any read past the end.
 * Each test asserts every field that matters for routing, not just some.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlparse.h"

/* ------------------------------------------------------------------ helpers */

static pgmm_stmt *
parse_len(const char *sql, size_t len)
{
	pgmm_stmt  *st = NULL;
	char		err[256];
	char	   *copy = malloc(len ? len : 1);
	int			rc;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, sql, len);
	rc = pgmm_sql_parse(copy, len, &st, err, sizeof err);
	free(copy);
	ck_assert_msg(rc == 0, "parse failed for <%s>: %s", sql, err);
	ck_assert_ptr_nonnull(st);
	return st;
}

static pgmm_stmt *
parse(const char *sql)
{
	return parse_len(sql, strlen(sql));
}

/* Expect failure; returns the message. */
static const char *
parse_err(const char *sql)
{
	static char err[256];
	pgmm_stmt  *st = (pgmm_stmt *) 1;
	size_t		len = strlen(sql);
	char	   *copy = malloc(len ? len : 1);
	int			rc;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, sql, len);
	rc = pgmm_sql_parse(copy, len, &st, err, sizeof err);
	free(copy);
	ck_assert_msg(rc == -1, "parse of <%s> should fail", sql);
	ck_assert_ptr_null(st);
	return err;
}

typedef struct expect
{
	pgmm_stmt_kind kind;
	int			nst;
	const char *schema;
	const char *table;
	int			ncols;
	int			nrows;
	int			nvals;
	int			on_conflict;
	int			nsets;
	int			where_present;
	int			nconds;
	int			returning;
	int			locking;
	int			max_param;
} expect;

static void
check_fields(const pgmm_stmt *st, expect e)
{
	ck_assert_int_eq(st->kind, e.kind);
	ck_assert_int_eq(st->nstatements, e.nst);
	ck_assert_pstr_eq(st->schema, e.schema);
	ck_assert_pstr_eq(st->table, e.table);
	ck_assert_int_eq(st->ncols, e.ncols);
	ck_assert_int_eq(st->nrows, e.nrows);
	ck_assert_int_eq(st->nvals, e.nvals);
	ck_assert_int_eq(st->on_conflict, e.on_conflict);
	ck_assert_int_eq(st->nsets, e.nsets);
	ck_assert_int_eq(st->where_present, e.where_present);
	ck_assert_int_eq(st->nconds, e.nconds);
	ck_assert_int_eq(st->returning, e.returning);
	ck_assert_int_eq(st->locking, e.locking);
	ck_assert_int_eq(st->max_param, e.max_param);
	if (e.ncols <= 0)
		ck_assert_ptr_null(st->cols);
	if (e.nsets == 0)
		ck_assert_ptr_null(st->set_cols);
	if (e.nconds == 0)
		ck_assert_ptr_null(st->conds);
	if (e.nrows <= 0 || e.nvals == 0)
		ck_assert_ptr_null(st->vals);
}

#define EXPECT(st, ...) check_fields((st), (expect) {__VA_ARGS__})

static void
check_value(const pgmm_value *v, pgmm_val_kind kind, const char *text, int param, const char *cast)
{
	ck_assert_int_eq(v->kind, kind);
	ck_assert_pstr_eq(v->text, text);
	if (text)
		ck_assert_uint_eq(v->len, strlen(text));
	else
		ck_assert_uint_eq(v->len, 0);
	ck_assert_int_eq(v->param, param);
	ck_assert_pstr_eq(v->cast, cast);
}

#define VAL(st, row, col) (&(st)->vals[(row) * (st)->nvals + (col)])

static void
check_cond(const pgmm_stmt *st, int i, const char *col, pgmm_val_kind kind,
		   const char *text, int param, const char *cast)
{
	ck_assert_int_lt(i, st->nconds);
	ck_assert_str_eq(st->conds[i].column, col);
	check_value(&st->conds[i].value, kind, text, param, cast);
}

/* The value of the only column of a one-row INSERT. */
static pgmm_stmt *
one_value(const char *expr)
{
	char		sql[4096];
	pgmm_stmt  *st;

	snprintf(sql, sizeof sql, "INSERT INTO t VALUES (%s)", expr);
	st = parse(sql);
	ck_assert_msg(st->kind == PGMM_STMT_INSERT && st->nrows == 1 && st->nvals == 1,
				  "<%s> is not a one-value INSERT", sql);
	return st;
}

static void
check_one(const char *expr, pgmm_val_kind kind, const char *text, int param, const char *cast)
{
	pgmm_stmt  *st = one_value(expr);

	check_value(&st->vals[0], kind, text, param, cast);
	pgmm_stmt_free(st);
}

static pgmm_stmt_kind
kind_of(const char *sql)
{
	pgmm_stmt  *st = parse(sql);
	pgmm_stmt_kind k = st->kind;

	pgmm_stmt_free(st);
	return k;
}

/* ------------------------------------------------------- the brief's examples */


START_TEST(first_statement_end_and_2pc_subs)
{
	static const struct { const char *sql; size_t end; pgmm_stmt_kind kind; pgmm_stmt_sub sub; } cases[] = {
		{"COMMIT", 6, PGMM_STMT_COMMIT, PGMM_SUB_NONE},
		{"BEGIN; CREATE TABLE t (a int)", 6, PGMM_STMT_BEGIN, PGMM_SUB_NONE},
		{";; SELECT ';'; COMMIT", 14, PGMM_STMT_SELECT, PGMM_SUB_NONE},
		{"CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1; END; COMMIT", 59, PGMM_STMT_DDL, PGMM_SUB_NONE},
		{"PREPARE TRANSACTION 'x'; SELECT 1", 24, PGMM_STMT_DDL, PGMM_SUB_PREPARE_TRANSACTION},
		{"commit prepared 'x'", 19, PGMM_STMT_DDL, PGMM_SUB_COMMIT_PREPARED},
		{"ROLLBACK PREPARED 'x' ;", 23, PGMM_STMT_DDL, PGMM_SUB_ROLLBACK_PREPARED},
		{"SELECT $$;$$ /* ; */ -- ;\n;", 27, PGMM_STMT_SELECT, PGMM_SUB_NONE},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
	{
		pgmm_stmt *st = parse(cases[i].sql);

		ck_assert_msg(st->first_end == cases[i].end, "<%s>: first_end %zu, expected %zu", cases[i].sql,
					  st->first_end, cases[i].end);
		ck_assert_int_eq(st->kind, cases[i].kind);
		ck_assert_int_eq(st->sub, cases[i].sub);
		pgmm_stmt_free(st);
	}
}
END_TEST

START_TEST(insert_columns_rows_returning)
{
	pgmm_stmt  *st = parse("INSERT INTO expedientes (id, estado, titulo) VALUES (1, 2, 'a'), ($1, $2, $3) RETURNING id");

	EXPECT(st, .kind = PGMM_STMT_INSERT, .nst = 1, .table = "expedientes", .ncols = 3,
		   .nrows = 2, .nvals = 3, .returning = 1, .max_param = 3);
	ck_assert_str_eq(st->cols[0], "id");
	ck_assert_str_eq(st->cols[1], "estado");
	ck_assert_str_eq(st->cols[2], "titulo");
	check_value(VAL(st, 0, 0), PGMM_VAL_NUMBER, "1", 0, NULL);
	check_value(VAL(st, 0, 1), PGMM_VAL_NUMBER, "2", 0, NULL);
	check_value(VAL(st, 0, 2), PGMM_VAL_STRING, "a", 0, NULL);
	check_value(VAL(st, 1, 0), PGMM_VAL_PARAM, NULL, 1, NULL);
	check_value(VAL(st, 1, 1), PGMM_VAL_PARAM, NULL, 2, NULL);
	check_value(VAL(st, 1, 2), PGMM_VAL_PARAM, NULL, 3, NULL);
	pgmm_stmt_free(st);
}
END_TEST

START_TEST(insert_quoted_names_all_constant_forms)
{
	pgmm_stmt  *st = parse("insert into \"My Schema\".\"Tbl\" values (DEFAULT, E'it\\'s', $$x$$, -5, "
						   "'2024-01-01'::date, CAST('7' AS int8), int8 '9')");

	EXPECT(st, .kind = PGMM_STMT_INSERT, .nst = 1, .schema = "My Schema", .table = "Tbl",
		   .ncols = -1, .nrows = 1, .nvals = 7);
	check_value(VAL(st, 0, 0), PGMM_VAL_DEFAULT, NULL, 0, NULL);
	check_value(VAL(st, 0, 1), PGMM_VAL_STRING, "it's", 0, NULL);
	check_value(VAL(st, 0, 2), PGMM_VAL_STRING, "x", 0, NULL);
	check_value(VAL(st, 0, 3), PGMM_VAL_NUMBER, "-5", 0, NULL);
	check_value(VAL(st, 0, 4), PGMM_VAL_STRING, "2024-01-01", 0, "date");
	check_value(VAL(st, 0, 5), PGMM_VAL_STRING, "7", 0, "int8");
	check_value(VAL(st, 0, 6), PGMM_VAL_STRING, "9", 0, "int8");
	pgmm_stmt_free(st);
}
END_TEST

START_TEST(update_sets_and_conds)
{
	pgmm_stmt  *st = parse("UPDATE public.expedientes SET titulo = 'x', estado = estado + 1 "
						   "WHERE id = 42 AND estado <> 3");

	EXPECT(st, .kind = PGMM_STMT_UPDATE, .nst = 1, .schema = "public", .table = "expedientes",
		   .nsets = 2, .where_present = 1, .nconds = 1);
	ck_assert_str_eq(st->set_cols[0], "titulo");
	ck_assert_str_eq(st->set_cols[1], "estado");
	check_cond(st, 0, "id", PGMM_VAL_NUMBER, "42", 0, NULL);
	pgmm_stmt_free(st);
}
END_TEST

START_TEST(update_row_set_qualified_cond)
{
	pgmm_stmt  *st = parse("UPDATE t SET (a, b) = (1, 2) WHERE t.id = $1");

	EXPECT(st, .kind = PGMM_STMT_UPDATE, .nst = 1, .table = "t", .nsets = 2,
		   .where_present = 1, .nconds = 1, .max_param = 1);
	ck_assert_str_eq(st->set_cols[0], "a");
	ck_assert_str_eq(st->set_cols[1], "b");
	check_cond(st, 0, "id", PGMM_VAL_PARAM, NULL, 1, NULL);
	pgmm_stmt_free(st);
}
END_TEST

START_TEST(delete_only_value_on_left)
{
	pgmm_stmt  *st = parse("DELETE FROM ONLY t WHERE 7 = id");

	EXPECT(st, .kind = PGMM_STMT_DELETE, .nst = 1, .table = "t", .where_present = 1, .nconds = 1);
	check_cond(st, 0, "id", PGMM_VAL_NUMBER, "7", 0, NULL);
	pgmm_stmt_free(st);
}
END_TEST

START_TEST(delete_top_level_or_gives_nothing)
{
	pgmm_stmt  *st = parse("DELETE FROM t WHERE id = 1 OR id = 2");

	EXPECT(st, .kind = PGMM_STMT_DELETE, .nst = 1, .table = "t", .where_present = 1);
	pgmm_stmt_free(st);
	st = parse("DELETE FROM t WHERE id = 1 AND x = 2 OR y = 3");
	EXPECT(st, .kind = PGMM_STMT_DELETE, .nst = 1, .table = "t", .where_present = 1);
	pgmm_stmt_free(st);
}
END_TEST

START_TEST(delete_parenthesised_term_is_unwrapped)
{
	pgmm_stmt  *st = parse("DELETE FROM t WHERE (id = 1)");

	EXPECT(st, .kind = PGMM_STMT_DELETE, .nst = 1, .table = "t", .where_present = 1, .nconds = 1);
	check_cond(st, 0, "id", PGMM_VAL_NUMBER, "1", 0, NULL);
	pgmm_stmt_free(st);

	st = parse("DELETE FROM t WHERE ((id = 1 AND (k = 'a' AND ((m = $2)))))");
	EXPECT(st, .kind = PGMM_STMT_DELETE, .nst = 1, .table = "t", .where_present = 1,
		   .nconds = 3, .max_param = 2);
	check_cond(st, 0, "id", PGMM_VAL_NUMBER, "1", 0, NULL);
	check_cond(st, 1, "k", PGMM_VAL_STRING, "a", 0, NULL);
	check_cond(st, 2, "m", PGMM_VAL_PARAM, NULL, 2, NULL);
	pgmm_stmt_free(st);

	/* an OR inside a group only spoils that group */
	st = parse("DELETE FROM t WHERE (a = 1 OR b = 2) AND id = 5");
	EXPECT(st, .kind = PGMM_STMT_DELETE, .nst = 1, .table = "t", .where_present = 1, .nconds = 1);
	check_cond(st, 0, "id", PGMM_VAL_NUMBER, "5", 0, NULL);
	pgmm_stmt_free(st);
}
END_TEST

START_TEST(in_list_is_not_a_cond)
{
	pgmm_stmt  *st = parse("UPDATE t SET x = 1 WHERE id IN (1,2)");

	EXPECT(st, .kind = PGMM_STMT_UPDATE, .nst = 1, .table = "t", .nsets = 1, .where_present = 1);
	ck_assert_str_eq(st->set_cols[0], "x");
	pgmm_stmt_free(st);
}
END_TEST

START_TEST(select_for_update_then_join)
{
	pgmm_stmt  *st = parse("SELECT * FROM expedientes WHERE id = $1 FOR UPDATE; SELECT a FROM t1 JOIN t2 ON t1.x = t2.x");

	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 2, .table = "expedientes", .where_present = 1,
		   .nconds = 1, .locking = 1, .max_param = 1);
	check_cond(st, 0, "id", PGMM_VAL_PARAM, NULL, 1, NULL);
	pgmm_stmt_free(st);

	st = parse("SELECT a FROM t1 JOIN t2 ON t1.x = t2.x WHERE t1.id = 1");
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 1);
	pgmm_stmt_free(st);
}
END_TEST

START_TEST(with_insert_select_default_values)
{
	pgmm_stmt  *st = parse("WITH x AS (SELECT 1) INSERT INTO t VALUES (1)");

	EXPECT(st, .kind = PGMM_STMT_OTHER, .nst = 1);
	pgmm_stmt_free(st);

	st = parse("INSERT INTO t (a, b) SELECT a, b FROM u WHERE id = $4");
	EXPECT(st, .kind = PGMM_STMT_INSERT, .nst = 1, .table = "t", .ncols = 2, .nrows = -1,
		   .max_param = 4);
	ck_assert_str_eq(st->cols[0], "a");
	ck_assert_str_eq(st->cols[1], "b");
	pgmm_stmt_free(st);

	st = parse("INSERT INTO t DEFAULT VALUES RETURNING id");
	EXPECT(st, .kind = PGMM_STMT_INSERT, .nst = 1, .table = "t", .ncols = -1, .nrows = 0,
		   .returning = 1);
	pgmm_stmt_free(st);
}
END_TEST

/* ------------------------------------------------------------ statement kinds */

START_TEST(kinds_transaction)
{
	ck_assert_int_eq(kind_of("begin"), PGMM_STMT_BEGIN);
	ck_assert_int_eq(kind_of("BEGIN ISOLATION LEVEL SERIALIZABLE"), PGMM_STMT_BEGIN);
	ck_assert_int_eq(kind_of("begin work"), PGMM_STMT_BEGIN);
	ck_assert_int_eq(kind_of("start transaction read only"), PGMM_STMT_BEGIN);
	ck_assert_int_eq(kind_of("commit"), PGMM_STMT_COMMIT);
	ck_assert_int_eq(kind_of("COMMIT WORK"), PGMM_STMT_COMMIT);
	ck_assert_int_eq(kind_of("commit and no chain"), PGMM_STMT_COMMIT);
	ck_assert_int_eq(kind_of("commit and chain"), PGMM_STMT_COMMIT);
	ck_assert_int_eq(kind_of("end"), PGMM_STMT_COMMIT);
	ck_assert_int_eq(kind_of("end transaction"), PGMM_STMT_COMMIT);
	ck_assert_int_eq(kind_of("rollback"), PGMM_STMT_ROLLBACK);
	ck_assert_int_eq(kind_of("abort"), PGMM_STMT_ROLLBACK);
	ck_assert_int_eq(kind_of("rollback and chain"), PGMM_STMT_ROLLBACK);
	ck_assert_int_eq(kind_of("rollback to savepoint s"), PGMM_STMT_TXN_OTHER);
	ck_assert_int_eq(kind_of("ROLLBACK TRANSACTION TO s"), PGMM_STMT_TXN_OTHER);
	ck_assert_int_eq(kind_of("savepoint s"), PGMM_STMT_TXN_OTHER);
	ck_assert_int_eq(kind_of("release s"), PGMM_STMT_TXN_OTHER);
	ck_assert_int_eq(kind_of("release savepoint s"), PGMM_STMT_TXN_OTHER);
	ck_assert_int_eq(kind_of("set transaction isolation level serializable"), PGMM_STMT_TXN_OTHER);
	ck_assert_int_eq(kind_of("set constraints all deferred"), PGMM_STMT_TXN_OTHER);
	ck_assert_int_eq(kind_of("lock table t in exclusive mode"), PGMM_STMT_TXN_OTHER);
}
END_TEST

/* Issue #7: AND CHAIN is a COMMIT/ROLLBACK that opens a new transaction
 * (it was "other", and ROLLBACK AND CHAIN looked like ROLLBACK TO). */
static void
expect_detail(const char *sql, pgmm_stmt_kind kind, pgmm_stmt_sub sub, int chain, const char *setting,
			  int to_default, const char *tag)
{
	pgmm_stmt  *st = parse(sql);

	ck_assert_msg(st->kind == kind, "%s: kind %d, expected %d", sql, st->kind, kind);
	ck_assert_msg(st->sub == sub, "%s: sub %d, expected %d", sql, st->sub, sub);
	ck_assert_msg(st->chain == chain, "%s: chain %d", sql, st->chain);
	ck_assert_msg(st->to_default == to_default, "%s: to_default %d", sql, st->to_default);
	if (setting)
		ck_assert_msg(st->setting && strcmp(st->setting, setting) == 0, "%s: setting %s, expected %s", sql,
					  st->setting ? st->setting : "(null)", setting);
	else
		ck_assert_msg(st->setting == NULL, "%s: setting %s, expected none", sql, st->setting);
	ck_assert_ptr_nonnull(st->tag);
	ck_assert_msg(strcmp(st->tag, tag) == 0, "%s: tag %s, expected %s", sql, st->tag, tag);
	pgmm_stmt_free(st);
}

START_TEST(details_chain)
{
	expect_detail("commit and chain", PGMM_STMT_COMMIT, PGMM_SUB_NONE, 1, NULL, 0, "COMMIT");
	expect_detail("COMMIT WORK AND CHAIN", PGMM_STMT_COMMIT, PGMM_SUB_NONE, 1, NULL, 0, "COMMIT");
	expect_detail("end transaction and chain", PGMM_STMT_COMMIT, PGMM_SUB_NONE, 1, NULL, 0, "COMMIT");
	expect_detail("commit and no chain", PGMM_STMT_COMMIT, PGMM_SUB_NONE, 0, NULL, 0, "COMMIT");
	expect_detail("rollback and chain", PGMM_STMT_ROLLBACK, PGMM_SUB_NONE, 1, NULL, 0, "ROLLBACK");
	expect_detail("ABORT TRANSACTION AND CHAIN", PGMM_STMT_ROLLBACK, PGMM_SUB_NONE, 1, NULL, 0, "ROLLBACK");
	expect_detail("rollback", PGMM_STMT_ROLLBACK, PGMM_SUB_NONE, 0, NULL, 0, "ROLLBACK");
	expect_detail("rollback to savepoint s", PGMM_STMT_TXN_OTHER, PGMM_SUB_ROLLBACK_TO, 0, NULL, 0, "ROLLBACK");
	expect_detail("savepoint s", PGMM_STMT_TXN_OTHER, PGMM_SUB_SAVEPOINT, 0, NULL, 0, "SAVEPOINT");
	expect_detail("release s", PGMM_STMT_TXN_OTHER, PGMM_SUB_RELEASE, 0, NULL, 0, "RELEASE");
	expect_detail("lock t", PGMM_STMT_TXN_OTHER, PGMM_SUB_LOCK, 0, NULL, 0, "LOCK TABLE");
	expect_detail("set transaction read only", PGMM_STMT_TXN_OTHER, PGMM_SUB_SET_TRANSACTION, 0, NULL, 0, "SET");
	expect_detail("begin", PGMM_STMT_BEGIN, PGMM_SUB_NONE, 0, NULL, 0, "BEGIN");
	expect_detail("start transaction", PGMM_STMT_BEGIN, PGMM_SUB_NONE, 0, NULL, 0, "START TRANSACTION");
}
END_TEST

/* Issue #7: the setting's name is read by the lexer, quoted or not. */
START_TEST(details_session)
{
	expect_detail("SET \"search_path\" = a, b", PGMM_STMT_SESSION, PGMM_SUB_SET, 0, "search_path", 0, "SET");
	expect_detail("set /* c */ \"Search_Path\" to a", PGMM_STMT_SESSION, PGMM_SUB_SET, 0, "search_path", 0, "SET");
	expect_detail("SET search_path TO DEFAULT", PGMM_STMT_SESSION, PGMM_SUB_SET, 0, "search_path", 1, "SET");
	expect_detail("set session work_mem = default", PGMM_STMT_SESSION, PGMM_SUB_SET, 0, "work_mem", 1, "SET");
	expect_detail("set work_mem = 'default'", PGMM_STMT_SESSION, PGMM_SUB_SET, 0, "work_mem", 0, "SET");
	expect_detail("SET myapp.\"Tenant\" = 3", PGMM_STMT_SESSION, PGMM_SUB_SET, 0, "myapp.tenant", 0, "SET");
	expect_detail("set local statement_timeout = 5", PGMM_STMT_SESSION, PGMM_SUB_SET_LOCAL, 0, "statement_timeout",
				  0, "SET");
	expect_detail("set time zone 'UTC'", PGMM_STMT_SESSION, PGMM_SUB_SET, 0, "timezone", 0, "SET");
	expect_detail("set time zone local", PGMM_STMT_SESSION, PGMM_SUB_SET, 0, "timezone", 1, "SET");
	expect_detail("set names 'UTF8'", PGMM_STMT_SESSION, PGMM_SUB_SET, 0, "client_encoding", 0, "SET");
	expect_detail("set schema 'x'", PGMM_STMT_SESSION, PGMM_SUB_SET, 0, "search_path", 0, "SET");
	expect_detail("set session authorization u", PGMM_STMT_SESSION, PGMM_SUB_SET, 0, "session_authorization", 0,
				  "SET");
	expect_detail("set role none", PGMM_STMT_SESSION, PGMM_SUB_SET, 0, "role", 1, "SET");
	expect_detail("reset \"search_path\"", PGMM_STMT_SESSION, PGMM_SUB_RESET, 0, "search_path", 0, "RESET");
	expect_detail("reset time zone", PGMM_STMT_SESSION, PGMM_SUB_RESET, 0, "timezone", 0, "RESET");
	expect_detail("reset all", PGMM_STMT_SESSION, PGMM_SUB_RESET_ALL, 0, NULL, 0, "RESET");
	expect_detail("discard all", PGMM_STMT_SESSION, PGMM_SUB_DISCARD_ALL, 0, NULL, 0, "DISCARD ALL");
	expect_detail("discard plans", PGMM_STMT_SESSION, PGMM_SUB_DISCARD, 0, NULL, 0, "DISCARD");
	expect_detail("deallocate prepare all", PGMM_STMT_SESSION, PGMM_SUB_DEALLOCATE_ALL, 0, NULL, 0,
				  "DEALLOCATE ALL");
	expect_detail("deallocate p", PGMM_STMT_SESSION, PGMM_SUB_DEALLOCATE, 0, NULL, 0, "DEALLOCATE");
	expect_detail("prepare p as select 1", PGMM_STMT_SESSION, PGMM_SUB_PREPARE, 0, NULL, 0, "PREPARE");
	expect_detail("copy t from stdin", PGMM_STMT_OTHER, PGMM_SUB_COPY, 0, NULL, 0, "COPY");
	expect_detail("insert into t values (1)", PGMM_STMT_INSERT, PGMM_SUB_NONE, 0, NULL, 0, "");
	expect_detail("set \"\" = 1", PGMM_STMT_SESSION, PGMM_SUB_SET, 0, NULL, 0, "SET");
}
END_TEST

START_TEST(kinds_session_ddl_other)
{
	ck_assert_int_eq(kind_of("set search_path = x"), PGMM_STMT_SESSION);
	ck_assert_int_eq(kind_of("SET LOCAL statement_timeout = 5"), PGMM_STMT_SESSION);
	ck_assert_int_eq(kind_of("reset all"), PGMM_STMT_SESSION);
	ck_assert_int_eq(kind_of("discard all"), PGMM_STMT_SESSION);
	ck_assert_int_eq(kind_of("prepare p (int) as select $1"), PGMM_STMT_SESSION);
	ck_assert_int_eq(kind_of("deallocate all"), PGMM_STMT_SESSION);

	ck_assert_int_eq(kind_of("create table t (a int)"), PGMM_STMT_DDL);
	ck_assert_int_eq(kind_of("alter table t add b int"), PGMM_STMT_DDL);
	ck_assert_int_eq(kind_of("drop table t"), PGMM_STMT_DDL);
	ck_assert_int_eq(kind_of("truncate t"), PGMM_STMT_DDL);
	ck_assert_int_eq(kind_of("grant select on t to u"), PGMM_STMT_DDL);
	ck_assert_int_eq(kind_of("revoke select on t from u"), PGMM_STMT_DDL);
	ck_assert_int_eq(kind_of("comment on table t is 'x'"), PGMM_STMT_DDL);
	ck_assert_int_eq(kind_of("security label on table t is 'x'"), PGMM_STMT_DDL);
	ck_assert_int_eq(kind_of("reindex table t"), PGMM_STMT_DDL);
	ck_assert_int_eq(kind_of("cluster t"), PGMM_STMT_DDL);
	ck_assert_int_eq(kind_of("vacuum full t"), PGMM_STMT_DDL);
	ck_assert_int_eq(kind_of("analyze t"), PGMM_STMT_DDL);
	ck_assert_int_eq(kind_of("analyse t"), PGMM_STMT_DDL);
	ck_assert_int_eq(kind_of("refresh materialized view v"), PGMM_STMT_DDL);
	ck_assert_int_eq(kind_of("import foreign schema s from server f into x"), PGMM_STMT_DDL);
	ck_assert_int_eq(kind_of("prepare transaction 'x'"), PGMM_STMT_DDL);
	ck_assert_int_eq(kind_of("commit prepared 'x'"), PGMM_STMT_DDL);
	ck_assert_int_eq(kind_of("rollback prepared 'x'"), PGMM_STMT_DDL);
	ck_assert_int_eq(kind_of("select * into t2 from t"), PGMM_STMT_DDL);

	ck_assert_int_eq(kind_of("copy t from stdin"), PGMM_STMT_OTHER);
	ck_assert_int_eq(kind_of("call p(1)"), PGMM_STMT_OTHER);
	ck_assert_int_eq(kind_of("do $$ begin null; end $$"), PGMM_STMT_OTHER);
	ck_assert_int_eq(kind_of("listen x"), PGMM_STMT_OTHER);
	ck_assert_int_eq(kind_of("notify x"), PGMM_STMT_OTHER);
	ck_assert_int_eq(kind_of("merge into t using u on t.id = u.id when matched then delete"), PGMM_STMT_OTHER);
	ck_assert_int_eq(kind_of("explain analyze delete from t"), PGMM_STMT_OTHER);
	ck_assert_int_eq(kind_of("explain (costs off, analyze) delete from t"), PGMM_STMT_OTHER);
	ck_assert_int_eq(kind_of("execute p(1)"), PGMM_STMT_OTHER);
	ck_assert_int_eq(kind_of("with x as (delete from t returning *) select * from x"), PGMM_STMT_OTHER);
	ck_assert_int_eq(kind_of("garbage in"), PGMM_STMT_OTHER);
	ck_assert_int_eq(kind_of("\"select\" 1"), PGMM_STMT_OTHER);
	ck_assert_int_eq(kind_of("42"), PGMM_STMT_OTHER);
}
END_TEST

START_TEST(kinds_select_family)
{
	pgmm_stmt  *st;

	ck_assert_int_eq(kind_of("values (1), (2)"), PGMM_STMT_SELECT);
	ck_assert_int_eq(kind_of("show search_path"), PGMM_STMT_SELECT);
	ck_assert_int_eq(kind_of("explain select 1"), PGMM_STMT_SELECT);
	ck_assert_int_eq(kind_of("explain (costs off) delete from t"), PGMM_STMT_SELECT);
	ck_assert_int_eq(kind_of("(select 1) union (select 2)"), PGMM_STMT_SELECT);

	st = parse("table s.t order by 1 for share");
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 1, .schema = "s", .table = "t", .locking = 1);
	pgmm_stmt_free(st);
	st = parse("TABLE t UNION TABLE u");
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 1);
	pgmm_stmt_free(st);
	st = parse("select 1");
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 1);
	pgmm_stmt_free(st);
}
END_TEST

START_TEST(statement_counting)
{
	pgmm_stmt  *st;

	st = parse("select 1; select 2");
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 2);
	pgmm_stmt_free(st);
	st = parse("select 1;;; -- done\n /* really */ ;\n");
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 1);
	pgmm_stmt_free(st);
	st = parse(" ; ; -- nothing\n");
	EXPECT(st, .kind = PGMM_STMT_EMPTY, .nst = 0);
	pgmm_stmt_free(st);
	st = parse("");
	EXPECT(st, .kind = PGMM_STMT_EMPTY, .nst = 0);
	pgmm_stmt_free(st);
	st = parse("/* a /* nested */ comment */");
	EXPECT(st, .kind = PGMM_STMT_EMPTY, .nst = 0);
	pgmm_stmt_free(st);
	/* the first non-empty statement is described */
	st = parse(";; begin; insert into t values (1); commit;");
	EXPECT(st, .kind = PGMM_STMT_BEGIN, .nst = 3);
	pgmm_stmt_free(st);
	/* semicolons inside quotes, comments and parentheses do not split */
	st = parse("select ';', \";\", $$;$$ /* ; */ -- ;\n; select 2");
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 2);
	pgmm_stmt_free(st);
	st = parse("create rule r as on insert to t do also (insert into u values (1); insert into v values (2)); select 1");
	EXPECT(st, .kind = PGMM_STMT_DDL, .nst = 2);
	pgmm_stmt_free(st);
	/* BEGIN ATOMIC bodies keep their semicolons, as psql and the server do */
	st = parse("CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC "
			   "SELECT 1; SELECT CASE WHEN true THEN 2 END; END; select 3");
	EXPECT(st, .kind = PGMM_STMT_DDL, .nst = 2);
	pgmm_stmt_free(st);
	st = parse("create procedure p() begin atomic insert into t values (1); end; commit");
	EXPECT(st, .kind = PGMM_STMT_DDL, .nst = 2);
	pgmm_stmt_free(st);
	/* ... but an ordinary BEGIN is its own statement */
	st = parse("begin; select 1; end;");
	EXPECT(st, .kind = PGMM_STMT_BEGIN, .nst = 3);
	pgmm_stmt_free(st);
}
END_TEST

/* ------------------------------------------------------------------- strings */

START_TEST(strings_plain_and_escape)
{
	check_one("'it''s'", PGMM_VAL_STRING, "it's", 0, NULL);
	check_one("''", PGMM_VAL_STRING, "", 0, NULL);
	/* standard_conforming_strings: backslashes are plain characters */
	check_one("'a\\b\\'", PGMM_VAL_STRING, "a\\b\\", 0, NULL);
	check_one("E'\\n\\x41\\101\\u0041'", PGMM_VAL_STRING, "\nAAA", 0, NULL);
	check_one("e'\\b\\f\\r\\t\\\\\\'\\q'", PGMM_VAL_STRING, "\b\f\r\t\\'q", 0, NULL);
	check_one("E'a''b'", PGMM_VAL_STRING, "a'b", 0, NULL);
	check_one("E'\\xZ'", PGMM_VAL_STRING, "xZ", 0, NULL);
	check_one("E'\\x4142'", PGMM_VAL_STRING, "A42", 0, NULL);
	check_one("E'\\1011'", PGMM_VAL_STRING, "A1", 0, NULL);
	check_one("E'\\u00e9\\U0001F600'", PGMM_VAL_STRING, "\xc3\xa9\xf0\x9f\x98\x80", 0, NULL);
	check_one("E'\\uD83D\\uDE00'", PGMM_VAL_STRING, "\xf0\x9f\x98\x80", 0, NULL);
	check_one("E'\\xc3\\xa9'", PGMM_VAL_STRING, "\xc3\xa9", 0, NULL);
	check_one("N'ab '", PGMM_VAL_STRING, "ab ", 0, "bpchar");
	/* refused by the server, or version dependent: EXPR */
	check_one("E'\\v'", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("E'\\0'", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("E'\\xff'", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("E'\\u12'", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("E'\\u0000'", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("E'\\uD83D'", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("E'\\uDE00'", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("E'\\U00110000'", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("N'x'::text", PGMM_VAL_EXPR, NULL, 0, NULL);
}
END_TEST

START_TEST(strings_unicode_escapes)
{
	check_one("U&'d\\0061t\\+000061'", PGMM_VAL_STRING, "data", 0, NULL);
	check_one("u&'d!0061t!+000061' UESCAPE '!'", PGMM_VAL_STRING, "data", 0, NULL);
	check_one("U&'a!!b' /* c */ uescape\n'!'", PGMM_VAL_STRING, "a!b", 0, NULL);
	check_one("U&'\\\\'", PGMM_VAL_STRING, "\\", 0, NULL);
	check_one("U&'\\D83D\\DE00'", PGMM_VAL_STRING, "\xf0\x9f\x98\x80", 0, NULL);
	check_one("U&'\\+01F600'", PGMM_VAL_STRING, "\xf0\x9f\x98\x80", 0, NULL);
	check_one("U&'it''s'", PGMM_VAL_STRING, "it's", 0, NULL);
	check_one("U&'a'\n'\\0062'", PGMM_VAL_STRING, "ab", 0, NULL);
	check_one("U&'\\0061'::text", PGMM_VAL_STRING, "a", 0, "text");
	check_one("U&'\\0000'", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("U&'\\D83D'", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("U&'\\DE00'", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("U&'\\12'", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("U&'\\x'", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("U&'x' UESCAPE 'a'", PGMM_VAL_EXPR, NULL, 0, NULL);		/* hex digit */
	check_one("U&'x' UESCAPE '+'", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("U&'x' UESCAPE ' '", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("U&'x' UESCAPE '!!'", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("U&'x' UESCAPE E'!'", PGMM_VAL_EXPR, NULL, 0, NULL);
}
END_TEST

START_TEST(strings_dollar_quoted)
{
	check_one("$$x$$", PGMM_VAL_STRING, "x", 0, NULL);
	check_one("$$$$", PGMM_VAL_STRING, "", 0, NULL);
	check_one("$tag$ a $other$ b $other$ 'c' \\ $tag$", PGMM_VAL_STRING,
			  " a $other$ b $other$ 'c' \\ ", 0, NULL);
	check_one("$a$x$ba$y$a$", PGMM_VAL_STRING, "x$ba$y", 0, NULL);
	check_one("$_1$ -- not a comment $_1$", PGMM_VAL_STRING, " -- not a comment ", 0, NULL);
	check_one("$q$a$q$::text", PGMM_VAL_STRING, "a", 0, "text");
}
END_TEST

START_TEST(strings_continuation)
{
	check_one("'a'\n'b'", PGMM_VAL_STRING, "ab", 0, NULL);
	check_one("'a'  \r\n  'b'\n'c'", PGMM_VAL_STRING, "abc", 0, NULL);
	check_one("'a' -- comment\n -- another\n 'b'", PGMM_VAL_STRING, "ab", 0, NULL);
	check_one("E'\\x41'\n'\\x42'", PGMM_VAL_STRING, "AB", 0, NULL);
	check_one("B'10'\n'01'", PGMM_VAL_STRING, "1001", 0, "bit");
	/* no newline, or a C-style comment: two constants, a syntax error */
	check_one("'a' 'b'", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("'a' /* c */\n'b'", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("'a'\n/* c */ 'b'", PGMM_VAL_EXPR, NULL, 0, NULL);
}
END_TEST

START_TEST(strings_bits)
{
	check_one("B'1010'", PGMM_VAL_STRING, "1010", 0, "bit");
	check_one("X'1F'", PGMM_VAL_STRING, "00011111", 0, "bit");
	check_one("x'a0'", PGMM_VAL_STRING, "10100000", 0, "bit");
	check_one("B'102'", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("X'1G'", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("B'1'::int", PGMM_VAL_EXPR, NULL, 0, NULL);
}
END_TEST

/* --------------------------------------------------------------- identifiers */

START_TEST(identifiers_folding_quoting)
{
	pgmm_stmt  *st = parse("INSERT INTO MySchema.MyTable (ID, \"Quoted \"\"x\"\"\", U&\"d\\0061t\", "
						   "U&\"d!0061t2\" UESCAPE '!', \"select\", \xc3\x80" "Bc) VALUES (1, 2, 3, 4, 5, 6)");

	EXPECT(st, .kind = PGMM_STMT_INSERT, .nst = 1, .schema = "myschema", .table = "mytable",
		   .ncols = 6, .nrows = 1, .nvals = 6);
	ck_assert_str_eq(st->cols[0], "id");
	ck_assert_str_eq(st->cols[1], "Quoted \"x\"");
	ck_assert_str_eq(st->cols[2], "dat");
	ck_assert_str_eq(st->cols[3], "dat2");
	ck_assert_str_eq(st->cols[4], "select");
	/* only ASCII letters are folded */
	ck_assert_str_eq(st->cols[5], "\xc3\x80" "bc");
	pgmm_stmt_free(st);

	/* identifiers are cut to 63 bytes, never inside a character */
	st = parse("INSERT INTO aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
			   "(\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\xc3\xa9xyz\") VALUES (1)");
	EXPECT(st, .kind = PGMM_STMT_INSERT, .nst = 1,
		   .table = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		   .ncols = 1, .nrows = 1, .nvals = 1);
	ck_assert_str_eq(st->cols[0], "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	pgmm_stmt_free(st);

	/* empty and badly escaped quoted identifiers are not names */
	st = parse("INSERT INTO \"\" VALUES (1)");
	EXPECT(st, .kind = PGMM_STMT_OTHER, .nst = 1);
	pgmm_stmt_free(st);
	st = parse("INSERT INTO U&\"\\zz\" VALUES (1)");
	EXPECT(st, .kind = PGMM_STMT_OTHER, .nst = 1);
	pgmm_stmt_free(st);
	/* identifiers may contain $ but not start a dollar quote */
	st = parse("INSERT INTO a$b$ (c$$d) VALUES ($$x$$)");
	EXPECT(st, .kind = PGMM_STMT_INSERT, .nst = 1, .table = "a$b$", .ncols = 1, .nrows = 1, .nvals = 1);
	ck_assert_str_eq(st->cols[0], "c$$d");
	check_value(VAL(st, 0, 0), PGMM_VAL_STRING, "x", 0, NULL);
	pgmm_stmt_free(st);
}
END_TEST

/* ------------------------------------------------------------ comments, ops */

START_TEST(comments_and_operators)
{
	pgmm_stmt  *st = parse("/* lead /* nested */ still comment */ DELETE -- x\n FROM t WHERE id=/* c */5 "
						   "AND a=-7 AND b=+7 AND c=>7 AND d = - 7 AND e = - -7 AND f=--7\n1");

	EXPECT(st, .kind = PGMM_STMT_DELETE, .nst = 1, .table = "t", .where_present = 1, .nconds = 4);
	check_cond(st, 0, "id", PGMM_VAL_NUMBER, "5", 0, NULL);
	check_cond(st, 1, "a", PGMM_VAL_NUMBER, "-7", 0, NULL);
	check_cond(st, 2, "d", PGMM_VAL_NUMBER, "-7", 0, NULL);
	/* "=--7" is "=" and a comment: the value is the 1 on the next line */
	check_cond(st, 3, "f", PGMM_VAL_NUMBER, "1", 0, NULL);
	pgmm_stmt_free(st);

	/* a comment right after a long run of operator characters is still a
	 * comment, whatever the run's length (the server strips the +s) */
	for (int plus = 55; plus < 75; plus++)
	{
		char		sql[256];
		int			n = sprintf(sql, "SELECT 1 <");

		memset(sql + n, '+', (size_t) plus);
		n += plus;
		strcpy(sql + n, "/* ' ; */ 2; select 3");
		st = parse(sql);
		EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 2);
		pgmm_stmt_free(st);
		strcpy(sql + n, "-- ' ;\n 2; select 3");
		st = parse(sql);
		EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 2);
		pgmm_stmt_free(st);
	}
}
END_TEST

/* ------------------------------------------------------------------- numbers */

START_TEST(numbers)
{
	check_one("42", PGMM_VAL_NUMBER, "42", 0, NULL);
	check_one("-42", PGMM_VAL_NUMBER, "-42", 0, NULL);
	check_one("1.5e-3", PGMM_VAL_NUMBER, "1.5e-3", 0, NULL);
	check_one("1.5E+3", PGMM_VAL_NUMBER, "1.5E+3", 0, NULL);
	check_one(".5", PGMM_VAL_NUMBER, ".5", 0, NULL);
	check_one("5.", PGMM_VAL_NUMBER, "5.", 0, NULL);
	check_one("99999999999999999999999", PGMM_VAL_NUMBER, "99999999999999999999999", 0, NULL);
	check_one("1_000_000", PGMM_VAL_NUMBER, "1000000", 0, NULL);
	check_one("1_000.000_1", PGMM_VAL_NUMBER, "1000.0001", 0, NULL);
	check_one("0x1F", PGMM_VAL_NUMBER, "31", 0, NULL);
	check_one("0X_1f", PGMM_VAL_NUMBER, "31", 0, NULL);
	check_one("-0x1F", PGMM_VAL_NUMBER, "-31", 0, NULL);
	check_one("0o17", PGMM_VAL_NUMBER, "15", 0, NULL);
	check_one("0b1_01", PGMM_VAL_NUMBER, "5", 0, NULL);
	check_one("0xFFFFFFFFFFFFFFFF", PGMM_VAL_NUMBER, "18446744073709551615", 0, NULL);
	check_one("0x10000000000000000", PGMM_VAL_EXPR, NULL, 0, NULL);
	/* errors for the server: trailing junk, bad prefixes, doubled underscores */
	check_one("12abc", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("1e", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("1e+", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("0x", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("0xg", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("1__0", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("1_", PGMM_VAL_EXPR, NULL, 0, NULL);
	/* only a single unary minus is folded */
	check_one("- -5", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("+5", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("-(5)", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("-'5'", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("-$1", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("5 + 1", PGMM_VAL_EXPR, NULL, 0, NULL);
}
END_TEST

START_TEST(numbers_range_syntax)
{
	/* 1..10 lexes as 1 .. 10 (a plpgsql construct): never the number 1. */
	check_one("1..10", PGMM_VAL_EXPR, NULL, 0, NULL);
}
END_TEST

/* ------------------------------------------------------------------ casts */

START_TEST(casts)
{
	check_one("'5'::int4", PGMM_VAL_STRING, "5", 0, "int4");
	check_one("$1::bigint", PGMM_VAL_PARAM, NULL, 1, "bigint");
	check_one("$1 :: BIGINT", PGMM_VAL_PARAM, NULL, 1, "bigint");
	check_one("CAST($1 AS integer)", PGMM_VAL_PARAM, NULL, 1, "integer");
	check_one("cast( 'x' as text )", PGMM_VAL_STRING, "x", 0, "text");
	check_one("(5)::int", PGMM_VAL_NUMBER, "5", 0, "int");
	check_one("((('x')))", PGMM_VAL_STRING, "x", 0, NULL);
	check_one("(($2))::int8", PGMM_VAL_PARAM, NULL, 2, "int8");
	check_one("-5::int8", PGMM_VAL_NUMBER, "-5", 0, "int8");
	check_one("NULL::int", PGMM_VAL_NULL, NULL, 0, "int");
	check_one("NULL", PGMM_VAL_NULL, NULL, 0, NULL);
	check_one("TRUE", PGMM_VAL_BOOL, "true", 0, NULL);
	check_one("false::bool", PGMM_VAL_BOOL, "false", 0, "bool");
	check_one("'x'::varchar(10)", PGMM_VAL_STRING, "x", 0, "varchar(10)");
	check_one("'1'::numeric( 10 , 2 )", PGMM_VAL_STRING, "1", 0, "numeric(10,2)");
	check_one("'x'::Character  Varying(10)", PGMM_VAL_STRING, "x", 0, "character varying(10)");
	check_one("'x'::national char varying", PGMM_VAL_STRING, "x", 0, "national char varying");
	check_one("'1'::double precision", PGMM_VAL_STRING, "1", 0, "double precision");
	check_one("'1'::timestamp(3) with time zone", PGMM_VAL_STRING, "1", 0, "timestamp(3) with time zone");
	check_one("'1'::time without time zone", PGMM_VAL_STRING, "1", 0, "time without time zone");
	check_one("'{1}'::int[]", PGMM_VAL_STRING, "{1}", 0, "int[]");
	check_one("'{1}'::int[3][4]", PGMM_VAL_STRING, "{1}", 0, "int[]");
	check_one("'{1}'::int array[3]", PGMM_VAL_STRING, "{1}", 0, "int[]");
	check_one("'x'::pg_catalog.text", PGMM_VAL_STRING, "x", 0, "pg_catalog.text");
	check_one("'x'::\"MyType\"", PGMM_VAL_STRING, "x", 0, "\"MyType\"");
	check_one("'x'::\"char\"", PGMM_VAL_STRING, "x", 0, "\"char\"");
	check_one("'x'::s.\"a\"\"b\"", PGMM_VAL_STRING, "x", 0, "s.\"a\"\"b\"");
	check_one("'1'::bit varying(3)", PGMM_VAL_STRING, "1", 0, "bit varying(3)");
	/* type-name prefixes */
	check_one("int8 '9'", PGMM_VAL_STRING, "9", 0, "int8");
	check_one("DATE '2024-01-01'", PGMM_VAL_STRING, "2024-01-01", 0, "date");
	check_one("interval '1 day'", PGMM_VAL_STRING, "1 day", 0, "interval");
	check_one("double precision '1.5'", PGMM_VAL_STRING, "1.5", 0, "double precision");
	check_one("timestamp with time zone E'2024'", PGMM_VAL_STRING, "2024", 0, "timestamp with time zone");
	check_one("pg_catalog.int8 $$7$$", PGMM_VAL_STRING, "7", 0, "pg_catalog.int8");
	check_one("varchar(3) 'abc'", PGMM_VAL_STRING, "abc", 0, "varchar(3)");
	/* more than one cast, or anything else around the constant: EXPR */
	check_one("'5'::text::int8", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("('5'::text)::int8", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("CAST(CAST(1 AS int) AS int)", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("CAST(1 AS int)::int", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("int8 '9'::text", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("interval '1' day", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("'x' COLLATE \"C\"", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("not 'true'", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("'x'::varchar(n + 1)", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("now()", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("lower('X')", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("ROW(1)", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("(SELECT 1)", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("x", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("DEFAULT::int", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("(DEFAULT)", PGMM_VAL_EXPR, NULL, 0, NULL);
}
END_TEST

/* ---------------------------------------------------------------- parameters */

START_TEST(parameters)
{
	pgmm_stmt  *st = parse("select $1, $22, '$99', $$ $55 $$, \"$66\", E'$77' /* $88 */ -- $99\n; select $3");

	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 2, .max_param = 22);
	pgmm_stmt_free(st);
	st = parse("select $65535");
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 1, .max_param = 65535);
	pgmm_stmt_free(st);
	/* out of range or with trailing junk: not parameters the router may count */
	st = parse("select $0, $65536, $99999999999999999999, $1abc");
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 1, .max_param = 0);
	pgmm_stmt_free(st);
	check_one("$0", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("$65536", PGMM_VAL_EXPR, NULL, 0, NULL);
	check_one("$7", PGMM_VAL_PARAM, NULL, 7, NULL);
	/* a lone $ is not a parameter */
	st = parse("select $ 1");
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 1, .max_param = 0);
	pgmm_stmt_free(st);
}
END_TEST

/* --------------------------------------------------------------------- INSERT */

START_TEST(insert_variants)
{
	pgmm_stmt  *st;

	st = parse("insert into t as x (a) values (1) on conflict (a) do update set b = excluded.b, "
			   "(c, d) = (1, 2) where x.a = 1 returning *");
	EXPECT(st, .kind = PGMM_STMT_INSERT, .nst = 1, .table = "t", .ncols = 1, .nrows = 1,
		   .nvals = 1, .on_conflict = 1, .nsets = 3, .returning = 1);
	ck_assert_str_eq(st->set_cols[0], "b");
	ck_assert_str_eq(st->set_cols[1], "c");
	ck_assert_str_eq(st->set_cols[2], "d");
	pgmm_stmt_free(st);

	st = parse("insert into t values (1) on conflict on constraint k do nothing");
	EXPECT(st, .kind = PGMM_STMT_INSERT, .nst = 1, .table = "t", .ncols = -1, .nrows = 1,
		   .nvals = 1, .on_conflict = 1);
	pgmm_stmt_free(st);

	st = parse("insert into t (a) overriding system value values (1)");
	EXPECT(st, .kind = PGMM_STMT_INSERT, .nst = 1, .table = "t", .ncols = 1, .nrows = 1, .nvals = 1);
	pgmm_stmt_free(st);

	st = parse("insert into t (a) select 1 on conflict do nothing returning a");
	EXPECT(st, .kind = PGMM_STMT_INSERT, .nst = 1, .table = "t", .ncols = 1, .nrows = -1,
		   .on_conflict = 1, .returning = 1);
	pgmm_stmt_free(st);

	st = parse("insert into t (select 1)");
	EXPECT(st, .kind = PGMM_STMT_INSERT, .nst = 1, .table = "t", .ncols = -1, .nrows = -1);
	pgmm_stmt_free(st);

	/* a VALUES list followed by anything but ON CONFLICT / RETURNING is a query */
	st = parse("insert into t values (1), (2) union select 3");
	EXPECT(st, .kind = PGMM_STMT_INSERT, .nst = 1, .table = "t", .ncols = -1, .nrows = -1);
	pgmm_stmt_free(st);
	st = parse("insert into t values (1) limit 1");
	EXPECT(st, .kind = PGMM_STMT_INSERT, .nst = 1, .table = "t", .ncols = -1, .nrows = -1);
	pgmm_stmt_free(st);

	/* value expressions that are not constants */
	st = parse("insert into t (a, b, c) values (now(), a + 1, (select 1))");
	EXPECT(st, .kind = PGMM_STMT_INSERT, .nst = 1, .table = "t", .ncols = 3, .nrows = 1, .nvals = 3);
	check_value(VAL(st, 0, 0), PGMM_VAL_EXPR, NULL, 0, NULL);
	check_value(VAL(st, 0, 1), PGMM_VAL_EXPR, NULL, 0, NULL);
	check_value(VAL(st, 0, 2), PGMM_VAL_EXPR, NULL, 0, NULL);
	pgmm_stmt_free(st);
}
END_TEST

START_TEST(insert_refused_shapes)
{
	static const char *const sqls[] = {
		"insert into t values (1), (2, 3)",				/* ragged rows */
		"insert into t (a, b) values (1)",				/* fewer values than columns */
		"insert into t (a) values (1, 2)",				/* more values than columns */
		"insert into t (a[1]) values (1)",				/* subscripted column */
		"insert into t (a.b) values (1)",				/* field of a column */
		"insert into t (a) overriding user value values (1)",	/* values replaced */
		"insert into a.b.c values (1)",					/* catalog-qualified */
		"insert into t (a) default values",
		"insert into t values ()",
		"insert into t values (1,)",
		"insert into t values (1),",
		"insert into t",
		"insert t values (1)",
		"insert into t (a,) values (1)",
		"insert into select values (1)",
		"insert into t values 1",
		"insert into t (a values (1)",
	};
	size_t		k;

	for (k = 0; k < sizeof sqls / sizeof sqls[0]; k++)
	{
		pgmm_stmt  *st = parse(sqls[k]);

		ck_assert_msg(st->kind == PGMM_STMT_OTHER, "<%s> gave kind %d", sqls[k], st->kind);
		EXPECT(st, .kind = PGMM_STMT_OTHER, .nst = 1);
		pgmm_stmt_free(st);
	}
}
END_TEST

/* -------------------------------------------------------------- UPDATE/DELETE */

START_TEST(update_variants)
{
	pgmm_stmt  *st;

	st = parse("update only t * as x set a = 1 where x.id = 2 and t.id = 3 returning a");
	EXPECT(st, .kind = PGMM_STMT_UPDATE, .nst = 1, .table = "t", .nsets = 1, .where_present = 1,
		   .nconds = 1, .returning = 1);
	check_cond(st, 0, "id", PGMM_VAL_NUMBER, "2", 0, NULL);
	pgmm_stmt_free(st);

	st = parse("update t set set = 1 where id = 1");
	EXPECT(st, .kind = PGMM_STMT_UPDATE, .nst = 1, .table = "t", .nsets = 1, .where_present = 1, .nconds = 1);
	ck_assert_str_eq(st->set_cols[0], "set");
	pgmm_stmt_free(st);

	st = parse("update t x set a[1] = 2, b.c = 3, d = DEFAULT where id = 1");
	EXPECT(st, .kind = PGMM_STMT_UPDATE, .nst = 1, .table = "t", .nsets = 3, .where_present = 1, .nconds = 1);
	ck_assert_str_eq(st->set_cols[0], "a");
	ck_assert_str_eq(st->set_cols[1], "b");
	ck_assert_str_eq(st->set_cols[2], "d");
	pgmm_stmt_free(st);

	/* with FROM, only conditions qualified by the target are trusted */
	st = parse("update t set a = b is distinct from c from u where t.id = 5 and id = 6 and u.id = 7");
	EXPECT(st, .kind = PGMM_STMT_UPDATE, .nst = 1, .table = "t", .nsets = 1, .where_present = 1, .nconds = 1);
	check_cond(st, 0, "id", PGMM_VAL_NUMBER, "5", 0, NULL);
	pgmm_stmt_free(st);

	st = parse("update t set a = 1 where current of c");
	EXPECT(st, .kind = PGMM_STMT_UPDATE, .nst = 1, .table = "t", .nsets = 1, .where_present = 1);
	pgmm_stmt_free(st);

	st = parse("update t set a = 1");
	EXPECT(st, .kind = PGMM_STMT_UPDATE, .nst = 1, .table = "t", .nsets = 1);
	pgmm_stmt_free(st);

	ck_assert_int_eq(kind_of("update t set a = 1,"), PGMM_STMT_OTHER);
	ck_assert_int_eq(kind_of("update t set where id = 1"), PGMM_STMT_OTHER);
	ck_assert_int_eq(kind_of("update t set a where id = 1"), PGMM_STMT_OTHER);
	ck_assert_int_eq(kind_of("update t set (a, b = (1, 2)"), PGMM_STMT_OTHER);
	ck_assert_int_eq(kind_of("update a.b.c set x = 1"), PGMM_STMT_OTHER);
	ck_assert_int_eq(kind_of("update t"), PGMM_STMT_OTHER);
}
END_TEST

START_TEST(delete_variants)
{
	pgmm_stmt  *st;

	st = parse("delete from t using u where t.id = 1 and id = 2 and u.id = 3 returning *");
	EXPECT(st, .kind = PGMM_STMT_DELETE, .nst = 1, .table = "t", .where_present = 1, .nconds = 1,
		   .returning = 1);
	check_cond(st, 0, "id", PGMM_VAL_NUMBER, "1", 0, NULL);
	pgmm_stmt_free(st);

	st = parse("delete from public.t where public.t.z = 2 and t.y = 1 and other.t.x = 3 and u.w = 4");
	EXPECT(st, .kind = PGMM_STMT_DELETE, .nst = 1, .schema = "public", .table = "t",
		   .where_present = 1, .nconds = 2);
	check_cond(st, 0, "z", PGMM_VAL_NUMBER, "2", 0, NULL);
	check_cond(st, 1, "y", PGMM_VAL_NUMBER, "1", 0, NULL);
	pgmm_stmt_free(st);

	/* with an alias, the table name no longer qualifies */
	st = parse("delete from t x where x.id = 1 and t.id = 2 and id = 3");
	EXPECT(st, .kind = PGMM_STMT_DELETE, .nst = 1, .table = "t", .where_present = 1, .nconds = 2);
	check_cond(st, 0, "id", PGMM_VAL_NUMBER, "1", 0, NULL);
	check_cond(st, 1, "id", PGMM_VAL_NUMBER, "3", 0, NULL);
	pgmm_stmt_free(st);

	st = parse("delete from t");
	EXPECT(st, .kind = PGMM_STMT_DELETE, .nst = 1, .table = "t");
	pgmm_stmt_free(st);

	ck_assert_int_eq(kind_of("delete t where id = 1"), PGMM_STMT_OTHER);
	ck_assert_int_eq(kind_of("delete from t, u where id = 1"), PGMM_STMT_OTHER);
	ck_assert_int_eq(kind_of("delete from t where id = 1 garbage"), PGMM_STMT_DELETE);
}
END_TEST

/* --------------------------------------------------------------------- WHERE */

START_TEST(where_only_safe_terms)
{
	pgmm_stmt  *st;

	/* BETWEEN's AND does not split a term ... */
	st = parse("delete from t where x between 1 and 2 and id = 5");
	EXPECT(st, .kind = PGMM_STMT_DELETE, .nst = 1, .table = "t", .where_present = 1, .nconds = 1);
	check_cond(st, 0, "id", PGMM_VAL_NUMBER, "5", 0, NULL);
	pgmm_stmt_free(st);
	/* ... so here id = true is not a term of its own */
	st = parse("delete from t where x between symmetric 1 and id = true");
	EXPECT(st, .kind = PGMM_STMT_DELETE, .nst = 1, .table = "t", .where_present = 1);
	pgmm_stmt_free(st);
	/* CASE ... END hides its ORs and ANDs */
	st = parse("delete from t where case when a or b and c then true end and id = 5");
	EXPECT(st, .kind = PGMM_STMT_DELETE, .nst = 1, .table = "t", .where_present = 1, .nconds = 1);
	pgmm_stmt_free(st);
	/* NOT binds to its term only */
	st = parse("delete from t where not id = 5 and k = 1");
	EXPECT(st, .kind = PGMM_STMT_DELETE, .nst = 1, .table = "t", .where_present = 1, .nconds = 1);
	check_cond(st, 0, "k", PGMM_VAL_NUMBER, "1", 0, NULL);
	pgmm_stmt_free(st);
	/* (id = 5) IS FALSE and friends: anything more than col = value is nothing */
	static const char *const none[] = {
		"delete from t where id = 5 is false",
		"delete from t where id = 5 + 1",
		"delete from t where id = any($1)",
		"delete from t where id = 'a' collate \"C\"",
		"delete from t where id <> 5",
		"delete from t where id >= 5",
		"delete from t where id => 5",
		"delete from t where id = id",
		"delete from t where 5 = 5",
		"delete from t where id::int = 5",
		"delete from t where (id) = 5",
		"delete from t where (id, k) = (1, 2)",
		"delete from t where user = 'x'",
		"delete from t where current_date = '2020-01-01'",
		"delete from t where id = (select 1)",
		"delete from t where id = now()",
		"delete from t where id = ",
		"delete from t where = 5",
		"delete from t where id = 1 = 2",
		"delete from t where u.id = 5",
		"delete from t where a.b.c.d = 5",
		"delete from t where id = 5 or false",
		"delete from t where id = $1 or $1 is null",
	};
	size_t		k;

	for (k = 0; k < sizeof none / sizeof none[0]; k++)
	{
		st = parse(none[k]);
		ck_assert_msg(st->nconds == 0, "<%s> gave %d conds", none[k], st->nconds);
		EXPECT(st, .kind = PGMM_STMT_DELETE, .nst = 1, .table = "t", .where_present = 1,
			   .max_param = strstr(none[k], "$1") ? 1 : 0);
		pgmm_stmt_free(st);
	}

	/* casts and quoted columns */
	st = parse("delete from t where \"Id\" = $1::int8 and ID = CAST('7' AS text) and x = NULL");
	EXPECT(st, .kind = PGMM_STMT_DELETE, .nst = 1, .table = "t", .where_present = 1, .nconds = 3,
		   .max_param = 1);
	check_cond(st, 0, "Id", PGMM_VAL_PARAM, NULL, 1, "int8");
	check_cond(st, 1, "id", PGMM_VAL_STRING, "7", 0, "text");
	check_cond(st, 2, "x", PGMM_VAL_NULL, NULL, 0, NULL);
	pgmm_stmt_free(st);
}
END_TEST

START_TEST(select_single_table)
{
	pgmm_stmt  *st;

	st = parse("select * from s.t as a where a.id = 1 and k = 'x' order by 1 limit 5");
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 1, .schema = "s", .table = "t",
		   .where_present = 1, .nconds = 2);
	check_cond(st, 0, "id", PGMM_VAL_NUMBER, "1", 0, NULL);
	check_cond(st, 1, "k", PGMM_VAL_STRING, "x", 0, NULL);
	pgmm_stmt_free(st);

	st = parse("select a is distinct from b, extract(year from d) from only t * where id = $2 group by 1");
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 1, .table = "t", .where_present = 1, .nconds = 1,
		   .max_param = 2);
	pgmm_stmt_free(st);

	st = parse("SELECT 1 FROM t WHERE id = 1 FOR NO KEY UPDATE OF t SKIP LOCKED");
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 1, .table = "t", .where_present = 1, .nconds = 1,
		   .locking = 1);
	pgmm_stmt_free(st);

	st = parse("select * from t where x in (select y from u for key share)");
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 1, .table = "t", .where_present = 1, .locking = 1);
	pgmm_stmt_free(st);

	st = parse("select * from t");
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 1, .table = "t");
	pgmm_stmt_free(st);

	/* FOR inside SUBSTRING is not a row lock */
	st = parse("select substring(v from 1 for 2), substring(v for key) from t where id = 1 limit 1");
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 1, .table = "t", .where_present = 1, .nconds = 1);
	pgmm_stmt_free(st);
	st = parse("select * from t for share");
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 1, .table = "t", .locking = 1);
	pgmm_stmt_free(st);
	st = parse("select * from t join u on true for key share of t");
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 1, .locking = 1);
	pgmm_stmt_free(st);
	st = parse("values (1) for update");
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 1, .locking = 1);
	pgmm_stmt_free(st);

	/* not a single plain table: no table, no conditions */
	static const char *const multi[] = {
		"select * from t, u where id = 1",
		"select * from t join u using (id) where id = 1",
		"select * from t natural join u where id = 1",
		"select * from t left join u on true where id = 1",
		"select * from t as a (x, y) where x = 1",
		"select * from t tablesample bernoulli (1) where id = 1",
		"select * from f(1) where id = 1",
		"select * from (select 1) s where id = 1",
		"select * from lateral f() where id = 1",
		"select * from a.b.c where id = 1",
		"select * from t where id = 1 union select * from t where id = 1",
		"select * from t where id = 1 except select * from u",
		"select 1 where 1 = 1",
	};
	size_t		k;

	for (k = 0; k < sizeof multi / sizeof multi[0]; k++)
	{
		st = parse(multi[k]);
		ck_assert_msg(st->table == NULL && st->nconds == 0, "<%s> has a table", multi[k]);
		EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 1);
		pgmm_stmt_free(st);
	}
}
END_TEST

/* ------------------------------------------------------------------- errors */

START_TEST(errors_unterminated)
{
	ck_assert_str_eq(parse_err("SELECT * FROM t WHERE x = 'abc"), "unterminated quoted string at offset 26");
	ck_assert_str_eq(parse_err("select E'abc\\'"), "unterminated quoted string at offset 7");
	ck_assert_str_eq(parse_err("select 'a'\n'b"), "unterminated quoted string at offset 7");
	ck_assert_str_eq(parse_err("select u&'abc"), "unterminated quoted string at offset 7");
	ck_assert_str_eq(parse_err("select n'abc"), "unterminated quoted string at offset 7");
	ck_assert_str_eq(parse_err("select b'01"), "unterminated bit string literal at offset 7");
	ck_assert_str_eq(parse_err("select x'01"), "unterminated hexadecimal string literal at offset 7");
	ck_assert_str_eq(parse_err("select /* /* */ "), "unterminated /* comment at offset 7");
	ck_assert_str_eq(parse_err("select 1 /*"), "unterminated /* comment at offset 9");
	ck_assert_str_eq(parse_err("select \"ab"), "unterminated quoted identifier at offset 7");
	ck_assert_str_eq(parse_err("select \"a\"\""), "unterminated quoted identifier at offset 7");
	ck_assert_str_eq(parse_err("select u&\"ab"), "unterminated quoted identifier at offset 7");
	ck_assert_str_eq(parse_err("select $q$ abc $q"), "unterminated dollar-quoted string at offset 7");
	ck_assert_str_eq(parse_err("select $$"), "unterminated dollar-quoted string at offset 7");
	ck_assert_str_eq(parse_err("select 1; select 'x"), "unterminated quoted string at offset 17");
	ck_assert_str_eq(parse_err("select U&'x' UESCAPE '!"), "unterminated quoted string at offset 21");
}
END_TEST

START_TEST(errors_bad_arguments)
{
	pgmm_stmt  *st = (pgmm_stmt *) 1;
	char		err[128];

	ck_assert_int_eq(pgmm_sql_parse(NULL, 5, &st, err, sizeof err), -1);
	ck_assert_ptr_null(st);
	ck_assert_str_eq(err, "pgmm_sql_parse: sql is NULL");
	ck_assert_int_eq(pgmm_sql_parse(NULL, 0, &st, err, sizeof err), -1);
	ck_assert_int_eq(pgmm_sql_parse("select 1", 8, NULL, err, sizeof err), -1);
	ck_assert_str_eq(err, "pgmm_sql_parse: out is NULL");
	/* no error buffer, or a tiny one */
	ck_assert_int_eq(pgmm_sql_parse("select 'x", 9, &st, NULL, 0), -1);
	ck_assert_int_eq(pgmm_sql_parse("select 'x", 9, &st, err, 1), -1);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(pgmm_sql_parse("select 'x", 9, &st, err, 12), -1);
	ck_assert_str_eq(err, "unterminate");
	ck_assert_int_eq(pgmm_sql_parse("select 1", 8, &st, NULL, 0), 0);
	pgmm_stmt_free(st);
	pgmm_stmt_free(NULL);
}
END_TEST

/* --------------------------------------------------------------- robustness */

/* Every field consistent, every string terminated where it says. */
static void
check_invariants(const pgmm_stmt *st)
{
	int			i;

	ck_assert_int_ge(st->kind, PGMM_STMT_EMPTY);
	ck_assert_int_le(st->kind, PGMM_STMT_OTHER);
	ck_assert_int_ge(st->nstatements, 0);
	ck_assert_int_ge(st->max_param, 0);
	ck_assert_int_le(st->max_param, 65535);
	if (st->kind == PGMM_STMT_EMPTY)
		ck_assert_int_eq(st->nstatements, 0);
	if (st->kind == PGMM_STMT_INSERT)
	{
		ck_assert_ptr_nonnull(st->table);
		ck_assert_int_ge(st->ncols, -1);
		ck_assert_int_ge(st->nrows, -1);
		if (st->ncols >= 0 && st->nrows > 0)
			ck_assert_int_eq(st->ncols, st->nvals);
	}
	else
		ck_assert_int_eq(st->ncols, 0);
	for (i = 0; i < st->ncols; i++)
		ck_assert_uint_gt(strlen(st->cols[i]), 0);
	if (st->nrows > 0)
	{
		ck_assert_int_gt(st->nvals, 0);
		for (i = 0; i < st->nrows * st->nvals; i++)
		{
			const pgmm_value *v = &st->vals[i];

			if (v->text)
				ck_assert_uint_eq(strlen(v->text), v->len);
			if (v->cast)
				(void) strlen(v->cast);
		}
	}
	for (i = 0; i < st->nsets; i++)
		(void) strlen(st->set_cols[i]);
	for (i = 0; i < st->nconds; i++)
	{
		ck_assert_uint_gt(strlen(st->conds[i].column), 0);
		ck_assert_int_ne(st->conds[i].value.kind, PGMM_VAL_EXPR);
		ck_assert_int_ne(st->conds[i].value.kind, PGMM_VAL_DEFAULT);
		if (st->conds[i].value.text)
			ck_assert_uint_eq(strlen(st->conds[i].value.text), st->conds[i].value.len);
	}
	if (st->nconds)
		ck_assert_int_eq(st->where_present, 1);
}

START_TEST(deep_nesting)
{
	size_t		depth = 100000;
	size_t		cap = 2 * depth + 64;
	char	   *sql = malloc(cap);
	pgmm_stmt  *st;
	size_t		n;

	ck_assert_ptr_nonnull(sql);
	n = (size_t) sprintf(sql, "INSERT INTO t VALUES (");
	memset(sql + n, '(', depth);
	n += depth;
	sql[n++] = '7';
	memset(sql + n, ')', depth);
	n += depth;
	sql[n++] = ')';
	st = parse_len(sql, n);
	EXPECT(st, .kind = PGMM_STMT_INSERT, .nst = 1, .table = "t", .ncols = -1, .nrows = 1, .nvals = 1);
	check_value(&st->vals[0], PGMM_VAL_NUMBER, "7", 0, NULL);
	pgmm_stmt_free(st);

	n = (size_t) sprintf(sql, "DELETE FROM t WHERE ");
	memset(sql + n, '(', depth);
	n += depth;
	n += (size_t) sprintf(sql + n, "id=1");
	memset(sql + n, ')', depth);
	n += depth;
	st = parse_len(sql, n);
	EXPECT(st, .kind = PGMM_STMT_DELETE, .nst = 1, .table = "t", .where_present = 1, .nconds = 1);
	pgmm_stmt_free(st);

	/* unbalanced: opened only, closed only */
	n = (size_t) sprintf(sql, "SELECT ");
	memset(sql + n, '(', depth);
	n += depth;
	st = parse_len(sql, n);
	check_invariants(st);
	pgmm_stmt_free(st);
	n = (size_t) sprintf(sql, "SELECT ");
	memset(sql + n, ')', depth);
	n += depth;
	st = parse_len(sql, n);
	check_invariants(st);
	pgmm_stmt_free(st);

	/* deeply nested AND groups stop being unwrapped, without harm */
	n = (size_t) sprintf(sql, "DELETE FROM t WHERE ");
	for (size_t k = 0; k < 1000; k++)
		n += (size_t) sprintf(sql + n, "(a = 1 AND ");
	n += (size_t) sprintf(sql + n, "id = 2");
	memset(sql + n, ')', 1000);
	n += 1000;
	st = parse_len(sql, n);
	check_invariants(st);
	ck_assert_int_eq(st->nconds, 17);
	pgmm_stmt_free(st);

	/* nested comments */
	n = 0;
	for (size_t k = 0; k < depth / 2; k++)
		n += (size_t) sprintf(sql + n, "/*");
	for (size_t k = 0; k < depth / 2; k++)
		n += (size_t) sprintf(sql + n, "*/");
	st = parse_len(sql, n);
	EXPECT(st, .kind = PGMM_STMT_EMPTY, .nst = 0);
	pgmm_stmt_free(st);
	free(sql);
}
END_TEST

START_TEST(large_statements)
{
	size_t		rows = 60000;
	size_t		cap = rows * 40 + 100;
	char	   *sql = malloc(cap);
	pgmm_stmt  *st;
	size_t		n,
				k;

	ck_assert_ptr_nonnull(sql);
	n = (size_t) sprintf(sql, "INSERT INTO t (id, v) VALUES ");
	for (k = 0; k < rows; k++)
		n += (size_t) sprintf(sql + n, "%s(%zu, 'v%zu')", k ? "," : "", k, k);
	ck_assert_uint_gt(n, 1000000);
	st = parse_len(sql, n);
	EXPECT(st, .kind = PGMM_STMT_INSERT, .nst = 1, .table = "t", .ncols = 2, .nrows = (int) rows,
		   .nvals = 2);
	check_value(VAL(st, 59999, 0), PGMM_VAL_NUMBER, "59999", 0, NULL);
	check_value(VAL(st, 59999, 1), PGMM_VAL_STRING, "v59999", 0, NULL);
	check_invariants(st);
	pgmm_stmt_free(st);

	/* a 1 MB string constant, a 1 MB comment, a 1 MB operator run */
	n = (size_t) sprintf(sql, "INSERT INTO t VALUES ('");
	memset(sql + n, 'x', 1 << 20);
	n += 1 << 20;
	n += (size_t) sprintf(sql + n, "')");
	st = parse_len(sql, n);
	ck_assert_int_eq(st->vals[0].kind, PGMM_VAL_STRING);
	ck_assert_uint_eq(st->vals[0].len, 1 << 20);
	pgmm_stmt_free(st);

	n = (size_t) sprintf(sql, "SELECT 1 --");
	memset(sql + n, '-', 1 << 20);
	n += 1 << 20;
	st = parse_len(sql, n);
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 1);
	pgmm_stmt_free(st);

	n = (size_t) sprintf(sql, "SELECT 1 <");
	memset(sql + n, '+', 1 << 20);
	n += 1 << 20;
	st = parse_len(sql, n);
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 1);
	pgmm_stmt_free(st);

	/* many statements */
	n = 0;
	for (k = 0; k < 100000; k++)
		n += (size_t) sprintf(sql + n, "select $%zu;", k % 100 + 1);
	st = parse_len(sql, n);
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 100000, .max_param = 100);
	pgmm_stmt_free(st);

	/* dollar quotes full of near-misses */
	n = (size_t) sprintf(sql, "SELECT $abcdefgh$");
	for (k = 0; k < 100000; k++)
		n += (size_t) sprintf(sql + n, "$abcdefg");
	n += (size_t) sprintf(sql + n, "$abcdefgh$");
	st = parse_len(sql, n);
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 1);
	pgmm_stmt_free(st);
	free(sql);
}
END_TEST

START_TEST(nul_and_invalid_bytes)
{
	static const char with_nul[] = "select 1; \0 select 'unterminated";
	pgmm_stmt  *st;

	/* the text ends at a NUL, as it does for libpq and the server */
	st = parse_len(with_nul, sizeof with_nul - 1);
	EXPECT(st, .kind = PGMM_STMT_SELECT, .nst = 1);
	pgmm_stmt_free(st);
	st = parse_len("\0select 1", 9);
	EXPECT(st, .kind = PGMM_STMT_EMPTY, .nst = 0);
	pgmm_stmt_free(st);

	/* invalid UTF-8 is the server's business: bytes >= 0x80 are letters */
	st = parse("INSERT INTO t\xff\xfe (\xc3, \xe2\x82) VALUES ('\xff\x80', \xe2)");
	EXPECT(st, .kind = PGMM_STMT_INSERT, .nst = 1, .table = "t\xff\xfe", .ncols = 2, .nrows = 1, .nvals = 2);
	ck_assert_str_eq(st->cols[0], "\xc3");
	ck_assert_str_eq(st->cols[1], "\xe2\x82");
	check_value(VAL(st, 0, 0), PGMM_VAL_STRING, "\xff\x80", 0, NULL);
	check_value(VAL(st, 0, 1), PGMM_VAL_EXPR, NULL, 0, NULL);
	pgmm_stmt_free(st);

	ck_assert_int_eq(kind_of("\x01\x02\x7f \\ ? ` # ~"), PGMM_STMT_OTHER);
}
END_TEST

START_TEST(random_bytes)
{
	static const char alphabet[] = "'\"$eEuUbBxXnN&;()[],.:-+*/=<>!01239 \n\t\\_aAsSiIvV";
	uint64_t	seed = 0x9E3779B97F4A7C15ULL;
	char		buf[300];
	int			iter;

	for (iter = 0; iter < 20000; iter++)
	{
		size_t		len,
					k;
		pgmm_stmt  *st = NULL;
		char		err[128];
		char	   *copy;
		int			rc;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		len = (size_t) (seed >> 33) % sizeof buf;
		for (k = 0; k < len; k++)
		{
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			buf[k] = (iter & 1) ? (char) (seed >> 56)
				: alphabet[(seed >> 33) % (sizeof alphabet - 1)];
		}
		copy = malloc(len ? len : 1);
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, buf, len);
		rc = pgmm_sql_parse(copy, len, &st, err, sizeof err);
		free(copy);
		if (rc == 0)
		{
			check_invariants(st);
			pgmm_stmt_free(st);
		}
		else
		{
			ck_assert_ptr_null(st);
			ck_assert_uint_gt(strlen(err), 0);
		}
	}
}
END_TEST

START_TEST(out_of_memory)
{
	static const char *const sqls[] = {
		"INSERT INTO t (id, v) VALUES (1, 'a')",
		"select 1",
		"",
	};
	char	   *big;
	size_t		n = 0,
				k;
	int			fail;

	/* a statement big enough to outgrow every piece of stack scratch space */
	big = malloc(200000);
	ck_assert_ptr_nonnull(big);
	n = (size_t) sprintf(big, "INSERT INTO t (a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r) VALUES ");
	for (k = 0; k < 400; k++)
		n += (size_t) sprintf(big + n, "%s(1,'x',3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18)", k ? "," : "");
	n += (size_t) sprintf(big + n, " ON CONFLICT (a) DO UPDATE SET a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9,j=10,"
						  "k=11,l=12,m=13,n=14,o=15,p=16,q=17,r=18 RETURNING a");
	big[n] = '\0';

	for (k = 0; k < 4; k++)
	{
		const char *sql = k < 3 ? sqls[k] : big;
		size_t		len = strlen(sql);
		int			done = 0;

		for (fail = 1; fail < 100 && !done; fail++)
		{
			pgmm_stmt  *st = NULL;
			char		err[128];
			int			prc;

			pgmm_sqlparse_fail_alloc(fail);
			prc = pgmm_sql_parse(sql, len, &st, err, sizeof err);

			if (prc != 0)
				ck_assert_int_eq(prc, PGMM_PARSE_ENOMEM);
			if (prc == 0)
			{
				check_invariants(st);
				pgmm_stmt_free(st);
				done = 1;
			}
			else
			{
				ck_assert_ptr_null(st);
				ck_assert_str_eq(err, "out of memory");
			}
		}
		pgmm_sqlparse_fail_alloc(0);
		ck_assert_msg(done, "statement %zu never parsed", k);
		/* small statements need exactly one allocation: the result */
		if (k < 3)
			ck_assert_int_eq(fail, 3);
	}
	/* a big WHERE, to run out of memory while collecting conditions */
	n = (size_t) sprintf(big, "DELETE FROM t WHERE ");
	for (k = 0; k < 300; k++)
		n += (size_t) sprintf(big + n, "%sc%zu = 'value %zu'", k ? " AND " : "", k, k);
	for (fail = 1; fail < 100; fail++)
	{
		pgmm_stmt  *st = NULL;
		char		err[128];
		int			prc;

		pgmm_sqlparse_fail_alloc(fail);
		prc = pgmm_sql_parse(big, n, &st, err, sizeof err);

		if (prc != 0)
			ck_assert_int_eq(prc, PGMM_PARSE_ENOMEM);
		if (prc == 0)
		{
			ck_assert_int_eq(st->nconds, 300);
			pgmm_stmt_free(st);
			break;
		}
		ck_assert_str_eq(err, "out of memory");
	}
	pgmm_sqlparse_fail_alloc(0);
	ck_assert_int_lt(fail, 100);
	free(big);
}
END_TEST

/* ------------------------------------------------------------------- runner */

static Suite *
sqlparse_suite(void)
{
	Suite	   *s = suite_create("sqlparse");
	TCase	   *tc;

	tc = tcase_create("brief_examples");
	tcase_add_test(tc, insert_columns_rows_returning);
	tcase_add_test(tc, insert_quoted_names_all_constant_forms);
	tcase_add_test(tc, update_sets_and_conds);
	tcase_add_test(tc, update_row_set_qualified_cond);
	tcase_add_test(tc, delete_only_value_on_left);
	tcase_add_test(tc, delete_top_level_or_gives_nothing);
	tcase_add_test(tc, delete_parenthesised_term_is_unwrapped);
	tcase_add_test(tc, in_list_is_not_a_cond);
	tcase_add_test(tc, select_for_update_then_join);
	tcase_add_test(tc, with_insert_select_default_values);
	suite_add_tcase(s, tc);

	tc = tcase_create("statement_kinds");
	tcase_add_test(tc, kinds_transaction);
	tcase_add_test(tc, kinds_session_ddl_other);
	tcase_add_test(tc, details_chain);
	tcase_add_test(tc, details_session);
	tcase_add_test(tc, kinds_select_family);
	tcase_add_test(tc, statement_counting);
	suite_add_tcase(s, tc);

	tc = tcase_create("lexer_strings");
	tcase_add_test(tc, strings_plain_and_escape);
	tcase_add_test(tc, strings_unicode_escapes);
	tcase_add_test(tc, strings_dollar_quoted);
	tcase_add_test(tc, strings_continuation);
	tcase_add_test(tc, strings_bits);
	suite_add_tcase(s, tc);

	tc = tcase_create("lexer_identifiers_comments");
	tcase_add_test(tc, identifiers_folding_quoting);
	tcase_add_test(tc, comments_and_operators);
	suite_add_tcase(s, tc);

	tc = tcase_create("constants_casts_params");
	tcase_add_test(tc, numbers);
	tcase_add_test(tc, numbers_range_syntax);
	tcase_add_test(tc, casts);
	tcase_add_test(tc, parameters);
	suite_add_tcase(s, tc);

	tc = tcase_create("recogniser");
	tcase_add_test(tc, insert_variants);
	tcase_add_test(tc, insert_refused_shapes);
	tcase_add_test(tc, update_variants);
	tcase_add_test(tc, delete_variants);
	tcase_add_test(tc, where_only_safe_terms);
	tcase_add_test(tc, select_single_table);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, errors_unterminated);
	tcase_add_test(tc, errors_bad_arguments);
	suite_add_tcase(s, tc);

	tc = tcase_create("robustness");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, deep_nesting);
	tcase_add_test(tc, large_statements);
	tcase_add_test(tc, nul_and_invalid_bytes);
	tcase_add_test(tc, random_bytes);
	tcase_add_test(tc, out_of_memory);
	tcase_add_test(tc, first_statement_end_and_2pc_subs);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner    *sr = srunner_create(sqlparse_suite());
	int			failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
