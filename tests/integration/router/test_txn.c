/*
 * test_txn.c -- transactions through the router: BEGIN deferred until the
 * first statement that needs a master, binding, PM002 for another owner,
 * COMMIT / ROLLBACK / empty transactions, savepoints, SET LOCAL, isolation
 * levels kept, refusals aborting the transaction, pgmm_next_id choosing IDs
 * of the bound master, and pgmm_transaction_status at every step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_common.h"

/* A key of public.t8 owned by master `want` (or not owned by it when
 * negate), searching from start. */
static long long
key_of(PGMMconn *c, const char *want, int negate, long long start)
{
	long long k;

	for (k = start; k < start + 100000; k++)
	{
		char buf[32];
		const char *o;

		snprintf(buf, sizeof buf, "%lld", k);
		o = pgmm_key_owner(c, "t8", buf);
		ck_assert_msg(o != NULL, "%s", pgmm_error_message(c));
		if ((strcmp(o, want) == 0) != negate)
			return k;
	}
	ck_abort_msg("no key found");
	return -1;
}

static const char *
owner_of(PGMMconn *c, long long k)
{
	char buf[32];

	snprintf(buf, sizeof buf, "%lld", k);
	return pgmm_key_owner(c, "t8", buf);
}

static void
insert(PGMMconn *c, long long k)
{
	char sql[128];

	snprintf(sql, sizeof sql, "INSERT INTO t8 (id, v) VALUES (%lld, 'txn')", k);
	rt_run(c, sql);
}

static int
row_count_on(const char *node, long long k)
{
	char sql[128], *v;
	int n;

	snprintf(sql, sizeof sql, "SELECT count(*) FROM t8 WHERE id = %lld", k);
	v = rt_value(rt_index(node), sql);
	n = v ? atoi(v) : -1;
	free(v);
	return n;
}

START_TEST(test_bind_and_commit)
{
	PGMMconn *c = rt_connect(NULL);
	long long k = key_of(c, rt.name[1], 0, 1000);
	char owner[64], sql[128];
	PGresult *r;

	snprintf(owner, sizeof owner, "%s", owner_of(c, k));
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_IDLE);
	r = pgmm_exec(c, "BEGIN");
	rt_ok(r, c);
	ck_assert_str_eq(pgmm_result_cmd_status(r), "BEGIN");
	PQclear(r);
	ck_assert_ptr_null(pgmm_last_node(c));			/* deferred */
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_INTRANS);
	insert(c, k);
	ck_assert_str_eq(pgmm_last_node(c), owner);
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_INTRANS);
	/* The colocated child goes to the same master. */
	snprintf(sql, sizeof sql, "INSERT INTO docs (exp_id, id, t) VALUES (%lld, 1, 'doc')", k);
	rt_run(c, sql);
	ck_assert_str_eq(pgmm_last_node(c), owner);
	/* Not visible on the owner before COMMIT. */
	ck_assert_int_eq(row_count_on(owner, k), 0);
	r = pgmm_exec(c, "COMMIT");
	rt_ok(r, c);
	ck_assert_str_eq(pgmm_result_cmd_status(r), "COMMIT");
	PQclear(r);
	ck_assert_str_eq(pgmm_last_node(c), owner);
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_IDLE);
	ck_assert_int_eq(row_count_on(owner, k), 1);
	pgmm_finish(c);
}
END_TEST

START_TEST(test_cross_owner)
{
	PGMMconn *c = rt_connect(NULL);
	long long a = key_of(c, rt.name[0], 0, 2000), b = key_of(c, rt.name[0], 1, 2000);
	char oa[64], ob[64];
	const char *msg;
	PGresult *r;

	snprintf(oa, sizeof oa, "%s", owner_of(c, a));
	snprintf(ob, sizeof ob, "%s", owner_of(c, b));
	rt_run(c, "BEGIN");
	insert(c, a);
	{
		char sql[128];

		snprintf(sql, sizeof sql, "INSERT INTO t8 (id, v) VALUES (%lld, 'other')", b);
		r = pgmm_exec(c, sql);
	}
	rt_fails(r, PGMM_SQLSTATE_CROSS_OWNER);
	msg = pgmm_result_error_message(r);
	ck_assert_msg(strstr(msg, oa) && strstr(msg, ob), "PM002 must name both masters: %s", msg);
	ck_assert_ptr_nonnull(strstr(pgmm_error_message(c), "bound to master"));
	ck_assert_ptr_nonnull(PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL));
	PQclear(r);
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_INERROR);
	/* Anything but ROLLBACK is refused now (by the server, 25P02). */
	r = pgmm_exec(c, "SELECT 1");
	rt_fails(r, "25P02");
	PQclear(r);
	r = pgmm_exec(c, "COMMIT");			/* PostgreSQL's answer: ROLLBACK */
	rt_ok(r, c);
	ck_assert_str_eq(pgmm_result_cmd_status(r), "ROLLBACK");
	PQclear(r);
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_IDLE);
	ck_assert_int_eq(row_count_on(oa, a), 0);
	ck_assert_int_eq(row_count_on(ob, b), 0);
	pgmm_finish(c);
}
END_TEST

START_TEST(test_rollback_and_empty)
{
	PGMMconn *c = rt_connect(NULL);
	long long k = key_of(c, rt.name[2 % rt.n], 0, 3000);
	PGresult *r;

	rt_run(c, "BEGIN");
	insert(c, k);
	rt_run(c, "ROLLBACK");
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_IDLE);
	ck_assert_int_eq(row_count_on(owner_of(c, k), k), 0);
	/* Empty transactions: succeed, no master involved. */
	rt_run(c, "BEGIN");
	r = pgmm_exec(c, "COMMIT");
	rt_ok(r, c);
	ck_assert_str_eq(pgmm_result_cmd_status(r), "COMMIT");
	PQclear(r);
	ck_assert_ptr_null(pgmm_last_node(c));
	rt_run(c, "START TRANSACTION");
	rt_run(c, "ABORT");
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_IDLE);
	/* COMMIT outside a transaction: accepted, as PostgreSQL does. */
	rt_run(c, "COMMIT");
	pgmm_finish(c);
}
END_TEST

/* Issue #7 (bug 2): COMMIT / ROLLBACK AND CHAIN end the transaction and
 * open the next one at once, on the same master when one was bound. */
START_TEST(test_and_chain)
{
	PGMMconn *c = rt_connect(NULL);
	const char *home = pgmm_home_node(c);
	long long a, a2, b, d;
	char oa[64], sql[160];
	PGresult *r;

	a = key_of(c, home, 1, 12000);				/* not home's */
	snprintf(oa, sizeof oa, "%s", owner_of(c, a));
	a2 = key_of(c, oa, 0, a + 1);				/* same owner */
	b = key_of(c, oa, 1, 12000);				/* another owner */
	d = key_of(c, oa, 0, a2 + 1);

	/* Unbound: the chained transaction is still unbound, so a write for a
	 * master other than home binds it there. */
	rt_run(c, "BEGIN");
	r = pgmm_exec(c, "COMMIT AND CHAIN");
	rt_ok(r, c);
	ck_assert_str_eq(pgmm_result_cmd_status(r), "COMMIT");
	PQclear(r);
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_INTRANS);
	insert(c, a);
	ck_assert_str_eq(pgmm_last_node(c), oa);

	/* Bound: COMMIT AND CHAIN commits and stays on the same master. */
	r = pgmm_exec(c, "COMMIT AND CHAIN");
	rt_ok(r, c);
	ck_assert_str_eq(pgmm_result_cmd_status(r), "COMMIT");
	PQclear(r);
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_INTRANS);
	ck_assert_int_eq(row_count_on(oa, a), 1);		/* committed */
	insert(c, a2);									/* the new transaction */
	ck_assert_str_eq(pgmm_last_node(c), oa);
	snprintf(sql, sizeof sql, "INSERT INTO t8 (id, v) VALUES (%lld, 'other')", b);
	r = pgmm_exec(c, sql);
	rt_fails(r, PGMM_SQLSTATE_CROSS_OWNER);
	PQclear(r);

	/* ROLLBACK AND CHAIN: a2 is gone, a new transaction on the same master. */
	r = pgmm_exec(c, "ROLLBACK AND CHAIN");
	rt_ok(r, c);
	ck_assert_str_eq(pgmm_result_cmd_status(r), "ROLLBACK");
	PQclear(r);
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_INTRANS);
	insert(c, d);
	ck_assert_str_eq(pgmm_last_node(c), oa);
	r = pgmm_exec(c, sql);
	rt_fails(r, PGMM_SQLSTATE_CROSS_OWNER);
	PQclear(r);
	rt_run(c, "ROLLBACK");
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_IDLE);
	ck_assert_int_eq(row_count_on(oa, a2), 0);
	ck_assert_int_eq(row_count_on(oa, d), 0);

	/* Unbound and failed: COMMIT AND CHAIN answers ROLLBACK and opens a
	 * fresh transaction (as the server does). */
	rt_run(c, "BEGIN");
	r = pgmm_exec(c, "CREATE TABLE nope (a int)");
	rt_fails(r, PGMM_SQLSTATE_REFUSED);
	PQclear(r);
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_INERROR);
	r = pgmm_exec(c, "COMMIT AND CHAIN");
	rt_ok(r, c);
	ck_assert_str_eq(pgmm_result_cmd_status(r), "ROLLBACK");
	PQclear(r);
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_INTRANS);
	insert(c, d);
	ck_assert_str_eq(pgmm_last_node(c), oa);
	rt_run(c, "COMMIT");
	ck_assert_int_eq(row_count_on(oa, d), 1);

	/* Outside a transaction: the server's error. */
	r = pgmm_exec(c, "COMMIT AND CHAIN");
	rt_fails(r, "25P01");
	PQclear(r);
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_IDLE);
	pgmm_finish(c);
}
END_TEST

START_TEST(test_isolation_kept)
{
	PGMMconn *c = rt_connect(NULL);
	long long k = key_of(c, rt.name[1], 0, 4000);
	char sql[256];
	PGresult *r;

	rt_run(c, "BEGIN ISOLATION LEVEL REPEATABLE READ");
	snprintf(sql, sizeof sql, "SELECT current_setting('transaction_isolation'), count(*) FROM t8 WHERE id = %lld", k);
	r = pgmm_exec(c, sql);
	rt_ok(r, c);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "repeatable read");
	PQclear(r);
	/* A keyed read binds to the key's owner (not home), so the write works. */
	ck_assert_str_eq(pgmm_last_node(c), owner_of(c, k));
	insert(c, k);
	rt_run(c, "COMMIT");
	/* SET TRANSACTION before the first statement is kept too. */
	rt_run(c, "BEGIN");
	rt_run(c, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");
	r = pgmm_exec(c, sql);
	rt_ok(r, c);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "serializable");
	PQclear(r);
	rt_run(c, "COMMIT");
	pgmm_finish(c);
}
END_TEST

START_TEST(test_savepoints)
{
	PGMMconn *c = rt_connect(NULL);
	long long k1 = key_of(c, rt.name[0], 0, 5000);
	long long k2 = key_of(c, rt.name[0], 0, k1 + 1);
	const char *owner = rt.name[0];
	PGresult *r;
	char sql[128];

	rt_run(c, "BEGIN");
	rt_run(c, "SAVEPOINT a");			/* queued until the binding */
	insert(c, k1);
	rt_run(c, "SAVEPOINT b");
	snprintf(sql, sizeof sql, "INSERT INTO t8 (id, v) VALUES (%lld, 'dup')", k1);
	r = pgmm_exec(c, sql);
	rt_fails(r, "23505");
	PQclear(r);
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_INERROR);
	rt_run(c, "ROLLBACK TO SAVEPOINT b");
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_INTRANS);
	insert(c, k2);
	rt_run(c, "RELEASE a");
	rt_run(c, "COMMIT");
	ck_assert_int_eq(row_count_on(owner, k1), 1);
	ck_assert_int_eq(row_count_on(owner, k2), 1);
	pgmm_finish(c);
}
END_TEST

START_TEST(test_refusals_abort)
{
	PGMMconn *c = rt_connect(NULL);
	long long k = key_of(c, rt.name[1], 0, 6000);
	PGresult *r;

	/* Bound: the refusal aborts the server's transaction. */
	rt_run(c, "BEGIN");
	insert(c, k);
	r = pgmm_exec(c, "CREATE TABLE public.nope (a int)");
	rt_fails(r, PGMM_SQLSTATE_REFUSED);
	PQclear(r);
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_INERROR);
	rt_run(c, "ROLLBACK");
	ck_assert_int_eq(row_count_on(rt.name[1], k), 0);
	/* Unbound: pgmm keeps the transaction failed itself. */
	rt_run(c, "BEGIN");
	r = pgmm_exec(c, "DROP TABLE t8");
	rt_fails(r, PGMM_SQLSTATE_REFUSED);
	PQclear(r);
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_INERROR);
	r = pgmm_exec(c, "SELECT 1");
	rt_fails(r, "25P02");
	PQclear(r);
	r = pgmm_exec(c, "COMMIT");
	rt_ok(r, c);
	ck_assert_str_eq(pgmm_result_cmd_status(r), "ROLLBACK");
	PQclear(r);
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_IDLE);
	/* A keyless UPDATE cannot run in a transaction over several owners. */
	rt_run(c, "BEGIN");
	r = pgmm_exec(c, "UPDATE t8 SET v = 'all'");
	rt_fails(r, PGMM_SQLSTATE_CROSS_OWNER);
	PQclear(r);
	rt_run(c, "ROLLBACK");
	pgmm_finish(c);
}
END_TEST

START_TEST(test_next_id_bound)
{
	PGMMconn *c = rt_connect("pgmm_id_block=20");
	int64_t id, first;
	char sql[160], bound[64];
	int i;

	ck_assert_int_eq(pgmm_next_id(c, "t8", &first), 0);
	rt_run(c, "BEGIN");
	snprintf(sql, sizeof sql, "INSERT INTO t8 (id, v) VALUES (%lld, 'ids')", (long long) first);
	rt_run(c, sql);
	snprintf(bound, sizeof bound, "%s", pgmm_last_node(c));
	for (i = 0; i < 30; i++)
	{
		ck_assert_int_eq(pgmm_next_id(c, "t8", &id), 0);
		ck_assert_str_eq(owner_of(c, id), bound);
		snprintf(sql, sizeof sql, "INSERT INTO t8 (id, v) VALUES (%lld, 'ids')", (long long) id);
		rt_run(c, sql);
		snprintf(sql, sizeof sql, "INSERT INTO docs (exp_id, id, t) VALUES (%lld, %d, 'd')", (long long) id, i);
		rt_run(c, sql);
		ck_assert_str_eq(pgmm_last_node(c), bound);
	}
	rt_run(c, "COMMIT");
	/* For a named master, outside a transaction. */
	for (i = 0; i < rt.n; i++)
	{
		ck_assert_int_eq(pgmm_next_id_for(c, "t8", rt.name[i], &id), 0);
		ck_assert_str_eq(owner_of(c, id), rt.name[i]);
	}
	ck_assert_int_eq(pgmm_next_id_for(c, "t8", "nosuch", &id), -1);
	pgmm_finish(c);
}
END_TEST

START_TEST(test_set_local_and_fallback)
{
	PGMMconn *c = rt_connect(NULL);
	long long k = key_of(c, rt.name[2 % rt.n], 0, 7000);
	char sql[200];
	PGresult *r;

	rt_run(c, "BEGIN");
	rt_run(c, "SET LOCAL statement_timeout = '4321ms'");	/* queued */
	snprintf(sql, sizeof sql, "UPDATE t8 SET v = current_setting('statement_timeout') WHERE id = %lld", k);
	rt_run(c, sql);
	snprintf(sql, sizeof sql, "SELECT current_setting('statement_timeout') FROM t8 WHERE id = %lld", k);
	r = pgmm_exec(c, sql);
	rt_ok(r, c);
	PQclear(r);
	r = pgmm_exec(c, "SELECT current_setting('statement_timeout')");
	rt_ok(r, c);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "4321ms");	/* on the bound master */
	ck_assert_str_eq(pgmm_last_node(c), owner_of(c, k));
	PQclear(r);
	rt_run(c, "COMMIT");
	/* A statement pgmm cannot classify runs on the bound master. */
	rt_run(c, "BEGIN");
	insert(c, k + 100000);
	r = pgmm_exec(c, "WITH x AS (SELECT 1 AS a) SELECT a FROM x");
	rt_ok(r, c);
	PQclear(r);
	ck_assert_str_eq(pgmm_last_node(c), owner_of(c, k + 100000));
	rt_run(c, "ROLLBACK");
	/* Unbound, it binds to the home master. */
	rt_run(c, "BEGIN");
	r = pgmm_exec(c, "WITH x AS (SELECT 1 AS a) SELECT a FROM x");
	rt_ok(r, c);
	PQclear(r);
	ck_assert_str_eq(pgmm_last_node(c), rt.name[0]);
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_INTRANS);
	rt_run(c, "COMMIT");
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_IDLE);
	pgmm_finish(c);
}
END_TEST

START_TEST(test_reference_in_txn)
{
	PGMMconn *c = rt_connect(NULL);
	const char *ref_owner = rt.name[1];
	long long same = key_of(c, ref_owner, 0, 8000), other = key_of(c, ref_owner, 1, 8000);
	char sql[128];
	PGresult *r;

	rt_run(c, "BEGIN");
	rt_run(c, "INSERT INTO estados (id, nombre) VALUES (77, 'Sonora')");
	ck_assert_str_eq(pgmm_last_node(c), ref_owner);
	insert(c, same);
	snprintf(sql, sizeof sql, "INSERT INTO t8 (id, v) VALUES (%lld, 'x')", other);
	r = pgmm_exec(c, sql);
	rt_fails(r, PGMM_SQLSTATE_CROSS_OWNER);
	PQclear(r);
	rt_run(c, "ROLLBACK");
	/* Reading a reference table does not bind to its owner (every master
	 * has it): the transaction stays free for the first write. */
	rt_run(c, "BEGIN");
	rt_run(c, "SELECT * FROM estados");
	ck_assert_str_eq(pgmm_last_node(c), rt.name[0]);
	insert(c, key_of(c, rt.name[0], 0, 9000));
	rt_run(c, "ROLLBACK");
	pgmm_finish(c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("router-txn");
	TCase *tc = tcase_create("txn");
	int failed;

	rt_setup("rt_txn");
	rt_ddl("CREATE TABLE public.estados (id int PRIMARY KEY, nombre text NOT NULL)");
	rt_ddl("CREATE TABLE public.t8 (id int8 PRIMARY KEY, v text)");
	rt_ddl("CREATE TABLE public.docs (exp_id int8 NOT NULL, id int NOT NULL, t text, PRIMARY KEY (exp_id, id))");
	rt_reference("public.estados", rt.name[1]);
	rt_distribute("public.t8", "id", 8, NULL);
	rt_distribute("public.docs", "exp_id", 0, "public.t8");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_bind_and_commit);
	tcase_add_test(tc, test_cross_owner);
	tcase_add_test(tc, test_rollback_and_empty);
	tcase_add_test(tc, test_and_chain);
	tcase_add_test(tc, test_isolation_kept);
	tcase_add_test(tc, test_savepoints);
	tcase_add_test(tc, test_refusals_abort);
	tcase_add_test(tc, test_next_id_bound);
	tcase_add_test(tc, test_set_local_and_fallback);
	tcase_add_test(tc, test_reference_in_txn);
	suite_add_tcase(s, tc);
	failed = rt_main(s);
	rt_teardown();
	return failed ? 1 : 0;
}
