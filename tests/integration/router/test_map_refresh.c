/*
 * test_map_refresh.c -- a catalog change made by another client (a table
 * distributed through a second admin handle) is picked up by a connection
 * whose map predates it: the first write that the stale map sends to the
 * wrong master is refused there with PM001 before it changes anything, the
 * router reloads the map (epoch) and retries on the owner; the caller never
 * sees the PM001.  Inside a transaction the PM001 reaches the caller and the
 * refresh happens after it.  pgmm_refresh_map and the map hook.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_common.h"

static int hook_calls;
static long long hook_old, hook_new;

static void
on_map(void *arg, int64_t old_epoch, int64_t new_epoch)
{
	(void) arg;
	hook_calls++;
	hook_old = old_epoch;
	hook_new = new_epoch;
}

/* Keys of public.<table> by owner, from a connection with a fresh map. */
static long long
key_not_home(const char *table, long long start)
{
	PGMMconn *f = rt_connect(NULL);
	long long k;

	for (k = start;; k++)
	{
		char buf[32];
		const char *o;

		snprintf(buf, sizeof buf, "%lld", k);
		o = pgmm_key_owner(f, table, buf);
		ck_assert_msg(o != NULL, "%s", pgmm_error_message(f));
		if (strcmp(o, rt.name[0]) != 0)
			break;
	}
	pgmm_finish(f);
	return k;
}

START_TEST(test_refresh_after_distribute)
{
	PGMMconn *c = rt_connect(NULL);
	int64_t e0 = pgmm_map_epoch(c);
	PGMMadmin *a;
	PGresult *r;
	long long k;
	int i, away = 0;

	pgmm_set_map_hook(c, on_map, NULL);
	ck_assert_int_gt(e0, 0);
	ck_assert_int_eq(pgmm_refresh_map(c), 0);		/* nothing changed */
	/* Another client creates and distributes a table. */
	a = pgmm_admin_connect(rt.conninfo[rt.n - 1]);
	ck_assert_msg(pgmm_admin_ok(a), "%s", pgmm_admin_error(a));
	ck_assert_msg(pgmm_admin_ddl(a, "CREATE TABLE public.newt (id int8 PRIMARY KEY, v text)") == 0, "%s",
	              pgmm_admin_error(a));
	ck_assert_msg(pgmm_admin_distribute(a, "public.newt", "id", 8, NULL) == 0, "%s", pgmm_admin_error(a));
	pgmm_admin_finish(a);
	ck_assert_int_eq(pgmm_map_epoch(c), e0);		/* c does not know yet */
	/* Writes for every owner: none fails, each lands on its owner. */
	for (i = 0; i < 24; i++)
	{
		char sql[128], cond[64], *owner;

		k = 5000 + i;
		snprintf(sql, sizeof sql, "INSERT INTO newt (id, v) VALUES (%lld, 'fresh')", k);
		r = pgmm_exec(c, sql);
		rt_ok(r, c);
		PQclear(r);
		snprintf(cond, sizeof cond, "id = %lld", k);
		owner = rt_row_owner(rt_index(pgmm_last_node(c)), "newt", cond);
		ck_assert_ptr_nonnull(owner);
		ck_assert_str_eq(owner, pgmm_last_node(c));
		away += strcmp(owner, rt.name[0]) != 0;
		free(owner);
	}
	ck_assert_int_gt(away, 0);
	ck_assert_int_gt(pgmm_map_epoch(c), e0);
	ck_assert_int_ge(hook_calls, 1);
	ck_assert_int_eq(hook_old, e0);
	ck_assert_int_eq(hook_new, pgmm_map_epoch(c));
	pgmm_finish(c);
}
END_TEST

/* A keyless UPDATE on a table the stale map does not know: the home master
 * refuses the rows it does not own, the map is reloaded, the statement is
 * broadcast. */
START_TEST(test_refresh_broadcast)
{
	PGMMconn *stale = rt_connect(NULL), *fresh;
	PGMMadmin *a;
	PGresult *r;
	int i;

	a = pgmm_admin_connect(rt.conninfo[1]);
	ck_assert(pgmm_admin_ok(a));
	ck_assert_msg(pgmm_admin_ddl(a, "CREATE TABLE public.newb (id int8 PRIMARY KEY, v text)") == 0, "%s",
	              pgmm_admin_error(a));
	ck_assert_msg(pgmm_admin_distribute(a, "public.newb", "id", 6, NULL) == 0, "%s", pgmm_admin_error(a));
	pgmm_admin_finish(a);
	fresh = rt_connect(NULL);
	for (i = 0; i < 30; i++)
	{
		char sql[128];

		snprintf(sql, sizeof sql, "INSERT INTO newb (id, v) VALUES (%d, 'b')", 100 + i);
		rt_run(fresh, sql);
	}
	pgmm_finish(fresh);
	/* The home master must have the replicated rows for the UPDATE to see them. */
	ck_assert(rt_wait_value(0, "SELECT count(*) FROM newb", "30", 30000));
	r = pgmm_exec(stale, "UPDATE newb SET v = 'all'");
	rt_ok(r, stale);
	ck_assert_str_eq(pgmm_result_cmd_tuples(r), "30");
	PQclear(r);
	for (i = 0; i < rt.n; i++)
		ck_assert(rt_wait_value(i, "SELECT count(*) FROM newb WHERE v = 'all'", "30", 30000));
	pgmm_finish(stale);
}
END_TEST

/* In a transaction the stale map's PM001 reaches the caller (the
 * transaction is aborted by the server); after ROLLBACK the map is
 * refreshed and the same write goes to its owner. */
START_TEST(test_refresh_in_transaction)
{
	PGMMconn *c = rt_connect(NULL);
	PGMMadmin *a;
	PGresult *r;
	long long k;
	char sql[128];

	a = pgmm_admin_connect(rt.conninfo[0]);
	ck_assert(pgmm_admin_ok(a));
	ck_assert(pgmm_admin_ddl(a, "CREATE TABLE public.newx (id int8 PRIMARY KEY, v text)") == 0);
	ck_assert_msg(pgmm_admin_distribute(a, "public.newx", "id", 4, NULL) == 0, "%s", pgmm_admin_error(a));
	pgmm_admin_finish(a);
	k = key_not_home("newx", 1);
	snprintf(sql, sizeof sql, "INSERT INTO newx (id, v) VALUES (%lld, 'txn')", k);
	rt_run(c, "BEGIN");
	r = pgmm_exec(c, sql);
	rt_fails(r, PGMM_SQLSTATE_NOT_OWNER);
	PQclear(r);
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_INERROR);
	rt_run(c, "ROLLBACK");
	rt_run(c, sql);
	ck_assert_str_ne(pgmm_last_node(c), rt.name[0]);
	pgmm_finish(c);
}
END_TEST

/* A new reference table is found, and pgmm_refresh_map reports changes. */
START_TEST(test_refresh_explicit)
{
	PGMMconn *c = rt_connect(NULL);
	PGMMadmin *a;
	int64_t e0 = pgmm_map_epoch(c);

	a = pgmm_admin_connect(rt.conninfo[0]);
	ck_assert(pgmm_admin_ok(a));
	ck_assert(pgmm_admin_ddl(a, "CREATE TABLE public.newr (id int PRIMARY KEY, v text)") == 0);
	ck_assert_msg(pgmm_admin_reference(a, "public.newr", rt.name[rt.n - 1]) == 0, "%s", pgmm_admin_error(a));
	pgmm_admin_finish(a);
	ck_assert_int_eq(pgmm_refresh_map(c), 1);
	ck_assert_int_gt(pgmm_map_epoch(c), e0);
	ck_assert_int_eq(pgmm_refresh_map(c), 0);
	rt_run(c, "INSERT INTO newr VALUES (1, 'r')");
	ck_assert_str_eq(pgmm_last_node(c), rt.name[rt.n - 1]);
	ck_assert_str_eq(pgmm_key_owner(c, "newr", NULL), rt.name[rt.n - 1]);
	pgmm_finish(c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("router-map-refresh");
	TCase *tc = tcase_create("refresh");
	int failed;

	rt_setup("rt_refresh");
	rt_ddl("CREATE TABLE public.t8 (id int8 PRIMARY KEY, v text)");
	rt_distribute("public.t8", "id", 8, NULL);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_refresh_after_distribute);
	tcase_add_test(tc, test_refresh_broadcast);
	tcase_add_test(tc, test_refresh_in_transaction);
	tcase_add_test(tc, test_refresh_explicit);
	suite_add_tcase(s, tc);
	failed = rt_main(s);
	rt_teardown();
	return failed ? 1 : 0;
}
