/*
 * test_node_down.c -- a master stopped (scripts/cluster.sh stop-node) and
 * started again: statements that need it fail at once with PM005 naming it,
 * everything else keeps working (other owners, INSERT without key, reads,
 * transactions elsewhere), a broadcast that needs it fails before sending
 * anything, and when it is back the next statement reconnects -- also
 * through a connection that was open to it before it stopped.  Then the
 * same with the home master down.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "rt_common.h"

/* Explicit keys far from the IDs the key DEFAULT draws (1, 2, 3, ...). */
#define BASE 1000000000000LL

#ifndef PGMM_SRCDIR
#define PGMM_SRCDIR "."
#endif

static void
node_ctl(const char *what, const char *name)
{
	const char *dir = getenv("PGMM_CLUSTER_DIR");
	char cmd[1024];
	int rc;

	ck_assert_msg(dir != NULL, "PGMM_CLUSTER_DIR is not set (run under scripts/cluster.sh)");
	snprintf(cmd, sizeof cmd, "'%s/scripts/cluster.sh' %s %s -d '%s' >/dev/null 2>&1", PGMM_SRCDIR, what, name, dir);
	rc = system(cmd);
	ck_assert_msg(rc == 0, "%s failed (%d)", cmd, rc);
}

static long long
key_owned_by(PGMMconn *c, const char *node, long long start)
{
	long long k;

	for (k = start;; k++)
	{
		char buf[32];
		const char *o;

		snprintf(buf, sizeof buf, "%lld", k);
		o = pgmm_key_owner(c, "t8", buf);
		ck_assert_ptr_nonnull(o);
		if (strcmp(o, node) == 0)
			return k;
	}
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static PGresult *
insert_key(PGMMconn *c, long long k)
{
	char sql[128];

	snprintf(sql, sizeof sql, "INSERT INTO t8 (id, v) VALUES (%lld, 'down')", k);
	return pgmm_exec(c, sql);
}

START_TEST(test_master_down_and_back)
{
	PGMMconn *c = rt_connect("pgmm_lazy=0 pgmm_read=any");
	const char *down = rt.name[1];
	long long kd = key_owned_by(c, down, BASE), kd2 = key_owned_by(c, down, kd + 1);
	long long kd3 = key_owned_by(c, down, kd2 + 1), kd4 = key_owned_by(c, down, kd3 + 1);
	long long ku = key_owned_by(c, rt.name[0], BASE), ku2 = key_owned_by(c, rt.name[0], ku + 1);
	long long ku3 = key_owned_by(c, rt.name[rt.n - 1], BASE);
	PGresult *r;
	double t0;
	int i;

	/* All up: the link to the master that will stop is open. */
	r = insert_key(c, kd);
	rt_ok(r, c);
	PQclear(r);
	ck_assert_str_eq(pgmm_last_node(c), down);

	node_ctl("stop-node", down);

	/* A statement that needs it: fails at once, naming it, PM005. */
	t0 = now_s();
	r = insert_key(c, kd2);
	ck_assert_msg(now_s() - t0 < 5.0, "took %.1f s", now_s() - t0);
	rt_fails(r, PGMM_SQLSTATE_NODE_DOWN);
	ck_assert_msg(strstr(pgmm_result_error_message(r), down), "%s", pgmm_result_error_message(r));
	ck_assert_ptr_nonnull(strstr(pgmm_error_message(c), down));
	PQclear(r);
	/* Others keep working. */
	r = insert_key(c, ku);
	rt_ok(r, c);
	PQclear(r);
	r = insert_key(c, ku3);
	rt_ok(r, c);
	PQclear(r);
	for (i = 0; i < 6; i++)
	{
		r = pgmm_exec(c, "INSERT INTO t8 (v) VALUES ('nokey')");
		rt_ok(r, c);
		PQclear(r);
		ck_assert_str_ne(pgmm_last_node(c), down);
		r = pgmm_exec(c, "SELECT count(*) FROM t8");
		rt_ok(r, c);
		PQclear(r);
		ck_assert_str_ne(pgmm_last_node(c), down);
	}
	/* A transaction elsewhere. */
	rt_run(c, "BEGIN");
	r = insert_key(c, ku2);
	rt_ok(r, c);
	PQclear(r);
	rt_run(c, "COMMIT");
	/* A transaction whose first statement needs it. */
	rt_run(c, "BEGIN");
	r = insert_key(c, kd3);
	rt_fails(r, PGMM_SQLSTATE_NODE_DOWN);
	PQclear(r);
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_INERROR);
	rt_run(c, "ROLLBACK");
	/* A broadcast needs every owner: refused before sending anything. */
	r = pgmm_exec(c, "UPDATE t8 SET v = 'bc' WHERE v = 'down'");
	rt_fails(r, PGMM_SQLSTATE_NODE_DOWN);
	ck_assert_ptr_nonnull(strstr(pgmm_result_error_message(r), down));
	PQclear(r);
	for (i = 0; i < rt.n; i++)
	{
		char *v;

		if (i == 1)
			continue;
		v = rt_value(i, "SELECT count(*) FROM t8 WHERE v = 'bc'");
		ck_assert_str_eq(v, "0");
		free(v);
	}

	node_ctl("start-node", down);

	/* The very next statement that needs it works (the old session is
	 * noticed dead before anything is sent, and replaced). */
	r = insert_key(c, kd4);
	rt_ok(r, c);
	PQclear(r);
	ck_assert_str_eq(pgmm_last_node(c), down);
	r = pgmm_exec(c, "UPDATE t8 SET v = 'bc' WHERE v = 'down'");
	rt_ok(r, c);
	ck_assert_str_eq(pgmm_result_cmd_tuples(r), "5");	/* kd, ku, ku3, ku2, kd4 */
	PQclear(r);
	pgmm_finish(c);
}
END_TEST

START_TEST(test_home_down)
{
	PGMMconn *c = rt_connect(NULL);		/* home: rt.name[0] */
	const char *home = rt.name[0];
	long long kh = key_owned_by(c, home, 2 * BASE), kh2 = key_owned_by(c, home, kh + 1);
	long long ko = key_owned_by(c, rt.name[1], 2 * BASE);
	PGresult *r;

	r = pgmm_exec(c, "SELECT 1");
	rt_ok(r, c);
	PQclear(r);
	node_ctl("stop-node", home);
	/* Writes for the other owners work; reads fail over. */
	r = insert_key(c, ko);
	rt_ok(r, c);
	PQclear(r);
	r = pgmm_exec(c, "SELECT count(*) FROM t8");
	rt_ok(r, c);
	ck_assert_str_ne(pgmm_last_node(c), home);
	PQclear(r);
	/* Writes the home master owns: PM005 naming it (raised elsewhere). */
	r = insert_key(c, kh);
	rt_fails(r, PGMM_SQLSTATE_NODE_DOWN);
	ck_assert_ptr_nonnull(strstr(pgmm_result_error_message(r), home));
	PQclear(r);
	/* Refusals still come back as errors. */
	r = pgmm_exec(c, "DROP TABLE t8");
	rt_fails(r, PGMM_SQLSTATE_REFUSED);
	PQclear(r);
	node_ctl("start-node", home);
	r = insert_key(c, kh2);
	rt_ok(r, c);
	PQclear(r);
	ck_assert_str_eq(pgmm_last_node(c), home);
	pgmm_finish(c);
}
END_TEST

typedef struct killer
{
	int  node;
	char pattern[64];
} killer;

/* Terminate, after half a second, the backend running a statement that
 * contains pattern (on master node). */
static void *
kill_later(void *arg)
{
	killer *k = arg;
	char sql[256];
	int tries;

	for (tries = 0; tries < 50; tries++)
	{
		char *v;
		struct timespec ts = {0, 100 * 1000 * 1000};

		nanosleep(&ts, NULL);
		snprintf(sql, sizeof sql, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
		         "WHERE query LIKE '%%%s%%' AND pid <> pg_backend_pid() AND state = 'active'", k->pattern);
		v = rt_value(k->node, sql);
		if (v && strcmp(v, "0") != 0)
		{
			free(v);
			break;
		}
		free(v);
	}
	return NULL;
}

/* The connection dies while a write runs: reported as possibly executed,
 * never resent; the map is refreshed and the next statement reconnects. */
START_TEST(test_ambiguous_failure)
{
	PGMMconn *c = rt_connect(NULL);
	long long k = key_owned_by(c, rt.name[1], 3 * BASE);
	char sql[256], cond[64], *v;
	killer kl;
	pthread_t th;
	PGresult *r;

	r = insert_key(c, k);
	rt_ok(r, c);
	PQclear(r);
	kl.node = 1;
	snprintf(kl.pattern, sizeof kl.pattern, "ambiguous_%lld", k);
	ck_assert_int_eq(pthread_create(&th, NULL, kill_later, &kl), 0);
	snprintf(sql, sizeof sql, "UPDATE t8 SET v = 'ambiguous_%lld' WHERE id = %lld AND pg_sleep(3) IS NOT NULL", k, k);
	r = pgmm_exec(c, sql);
	pthread_join(th, NULL);
	ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
	ck_assert_msg(strstr(pgmm_error_message(c), "may or may not have been executed"), "%s", pgmm_error_message(c));
	PQclear(r);
	/* Not resent: the row kept its value. */
	snprintf(cond, sizeof cond, "SELECT v FROM t8 WHERE id = %lld", k);
	v = rt_value(1, cond);
	ck_assert_str_eq(v, "down");
	free(v);
	/* The next statement for that master works. */
	snprintf(sql, sizeof sql, "UPDATE t8 SET v = 'after' WHERE id = %lld", k);
	rt_run(c, sql);
	ck_assert_str_eq(pgmm_cmd_tuples(c), "1");
	pgmm_finish(c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("router-node-down");
	TCase *tc = tcase_create("down");
	int failed;

	rt_setup("rt_down");
	rt_ddl("CREATE TABLE public.t8 (id int8 PRIMARY KEY, v text)");
	rt_distribute("public.t8", "id", 8, NULL);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_master_down_and_back);
	tcase_add_test(tc, test_home_down);
	tcase_add_test(tc, test_ambiguous_failure);
	suite_add_tcase(s, tc);
	failed = rt_main(s);
	/* Whatever failed, leave every master running. */
	{
		int i;

		for (i = 0; i < rt.n; i++)
		{
			char cmd[1024];

			snprintf(cmd, sizeof cmd, "'%s/scripts/cluster.sh' start-node %s -d '%s' >/dev/null 2>&1", PGMM_SRCDIR,
			         rt.name[i], getenv("PGMM_CLUSTER_DIR") ? getenv("PGMM_CLUSTER_DIR") : "");
			if (system(cmd) != 0)
				fprintf(stderr, "could not restart %s\n", rt.name[i]);
		}
	}
	rt_teardown();
	return failed ? 1 : 0;
}
