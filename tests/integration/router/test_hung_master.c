/*
 * test_hung_master.c -- issue #8 item 5: a master that accepts TCP
 * connections but answers nothing (every process of that server stopped
 * with SIGSTOP) must not block clients without bound.  With
 * pgmm_timeout=2000:
 *   - a client connected afterwards (home a live master) runs keyless
 *     inserts and reads, none taking over ~3 s, at most one failing;
 *   - a client whose link to it was open (and one whose transaction is
 *     bound there) gets PM005 after ~2 s for a statement sent to it
 *     (ambiguous: not resent), then keeps working elsewhere;
 *   - a write for the hung master's shard fails with PM005 in ~2 s;
 *   - after SIGCONT, writes to it resume within a few seconds.
 * Today's code (no pgmm_timeout) hangs here: the Check timeout fails it.
 * Every process stopped is continued in every exit path: at the end of
 * the test, in main after the run (a failed or timed-out test's child is
 * gone), and on SIGINT/SIGTERM.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "rt_common.h"

#define BASE 2000000000000LL
/* RT_HUNG_OPT replaces it (RT_HUNG_OPT=pgmm_timeout=0 shows the hang the
 * Check timeout turns into a failure). */
#define TIMEOUT_OPT (getenv("RT_HUNG_OPT") ? getenv("RT_HUNG_OPT") : "pgmm_timeout=2000")

static PGMMconn *
connect_with(const char *more)
{
	char ci[256];

	snprintf(ci, sizeof ci, "%s %s", TIMEOUT_OPT, more);
	return rt_connect(ci);
}

static pid_t hung_pm = -1;		/* the hung master's postmaster */

static pid_t
parent_of(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	int ppid = -1;

	snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	if (fgets(buf, sizeof buf, f) && (p = strrchr(buf, ')')) != NULL)
		(void) sscanf(p + 1, " %*c %d", &ppid);
	fclose(f);
	return (pid_t) ppid;
}

/* Signal the postmaster and every child of it (backends, background
 * workers, ...): SIGSTOP postmaster first (no new children), SIGCONT
 * children first. */
static void
signal_server(int sig)
{
	DIR *d;
	struct dirent *e;

	if (hung_pm <= 0)
		return;
	if (sig == SIGSTOP)
		kill(hung_pm, sig);
	d = opendir("/proc");
	if (d)
	{
		while ((e = readdir(d)) != NULL)
		{
			char *end;
			long pid = strtol(e->d_name, &end, 10);

			if (*end == '\0' && pid > 0 && parent_of((pid_t) pid) == hung_pm)
				kill((pid_t) pid, sig);
		}
		closedir(d);
	}
	if (sig != SIGSTOP)
		kill(hung_pm, sig);
}

static void
on_signal(int sig)
{
	signal_server(SIGCONT);
	signal(sig, SIG_DFL);
	raise(sig);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
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
		o = pgmm_key_owner(c, "t9", buf);
		ck_assert_ptr_nonnull(o);
		if (strcmp(o, node) == 0)
			return k;
	}
}

static PGresult *
insert_key(PGMMconn *c, long long k)
{
	char sql[128];

	snprintf(sql, sizeof sql, "INSERT INTO t9 (id, v) VALUES (%lld, 'hung')", k);
	return pgmm_exec(c, sql);
}

/* A statement that must fail with PM005 naming the hung master, not at
 * once forever: well under 6 s (pgmm_timeout=2000 plus slack). */
static double
expect_pm005(PGMMconn *c, PGresult *(*run)(PGMMconn *, long long), long long k, const char *hung)
{
	double t0 = now_s(), dt;
	PGresult *r = run(c, k);

	dt = now_s() - t0;
	ck_assert_msg(dt < 6.0, "the PM005 took %.2f s", dt);
	rt_fails(r, PGMM_SQLSTATE_NODE_DOWN);
	ck_assert_msg(strstr(pgmm_result_error_message(r), hung), "%s", pgmm_result_error_message(r));
	PQclear(r);
	return dt;
}

/* n rounds of a keyless insert and a read: each under ~3 s, at most one
 * failure (PM005: a statement sent to the hung master on an open link);
 * returns the longest statement's time. */
static double
keyless_rounds(PGMMconn *c, int n, const char *hung, int *failures)
{
	double longest = 0;
	int i, q;

	for (i = 0; i < n; i++)
		for (q = 0; q < 2; q++)
		{
			double t0 = now_s(), dt;
			PGresult *r = pgmm_exec(c, q == 0 ? "INSERT INTO t9 (v) VALUES ('nokey')" : "SELECT count(*) FROM t9");

			dt = now_s() - t0;
			if (dt > longest)
				longest = dt;
			ck_assert_msg(dt < 3.5, "statement %d.%d took %.2f s", i, q, dt);
			if (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK)
				ck_assert_str_ne(pgmm_last_node(c), hung);
			else
			{
				ck_assert_msg(pgmm_result_sqlstate(r) && strcmp(pgmm_result_sqlstate(r), PGMM_SQLSTATE_NODE_DOWN) == 0,
				              "unexpected failure: %s", pgmm_result_error_message(r));
				(*failures)++;
			}
			PQclear(r);
		}
	ck_assert_msg(*failures <= 1, "%d keyless statements failed", *failures);
	return longest;
}

START_TEST(test_hung_master)
{
	const char *hung = rt.name[1];
	PGMMconn *pre = connect_with("pgmm_lazy=0 pgmm_read=any");
	PGMMconn *bound = connect_with("pgmm_lazy=0");
	PGMMconn *binder = connect_with("pgmm_lazy=0 pgmm_reconnect_interval=10000");
	PGMMconn *setter = connect_with("pgmm_lazy=0");
	PGMMconn *bcast = connect_with("pgmm_lazy=0");
	PGMMconn *prep = connect_with("pgmm_lazy=0");
	PGMMconn *late;
	long long kd = key_owned_by(pre, hung, BASE), kd2 = key_owned_by(pre, hung, kd + 1);
	long long kd3 = key_owned_by(pre, hung, kd2 + 1), kd4 = key_owned_by(pre, hung, kd3 + 1);
	PGresult *r;
	double dt, longest;
	int failures = 0, i, ok;

	/* A transaction bound to the master that will hang. */
	rt_run(bound, "BEGIN");
	r = insert_key(bound, kd);
	rt_ok(r, bound);
	PQclear(r);
	ck_assert_str_eq(pgmm_last_node(bound), hung);

	signal_server(SIGSTOP);

	/* A client connected now (home: a live master, links opened lazily). */
	late = connect_with("pgmm_read=any");
	longest = keyless_rounds(late, 6, hung, &failures);
	fprintf(stderr, "hung: new client: longest keyless statement %.2f s, %d failure(s)\n", longest, failures);
	dt = expect_pm005(late, insert_key, kd2, hung);
	fprintf(stderr, "hung: new client: write for the hung master: PM005 after %.2f s\n", dt);

	/* The bound transaction: its statement times out, the transaction is lost. */
	dt = expect_pm005(bound, insert_key, kd3, hung);
	fprintf(stderr, "hung: bound transaction: PM005 after %.2f s\n", dt);
	ck_assert_int_eq(pgmm_transaction_status(bound), PQTRANS_INERROR);
	rt_run(bound, "ROLLBACK");
	ck_assert_int_eq(pgmm_transaction_status(bound), PQTRANS_IDLE);

	/* A transaction binding to it over an open, idle link: its BEGIN
	 * times out (bounded), the transaction fails; ROLLBACK works. */
	rt_run(binder, "BEGIN");
	dt = expect_pm005(binder, insert_key, kd2, hung);
	fprintf(stderr, "hung: binding a transaction: PM005 after %.2f s\n", dt);
	ck_assert_int_eq(pgmm_transaction_status(binder), PQTRANS_INERROR);
	rt_run(binder, "ROLLBACK");
	r = pgmm_exec(binder, "INSERT INTO t9 (v) VALUES ('nokey')");
	rt_ok(r, binder);
	PQclear(r);
	ck_assert_str_ne(pgmm_last_node(binder), hung);

	/* A SET goes to every open link: the hung one is given up on. */
	{
		double t0 = now_s();

		rt_run(setter, "SET application_name = 'pgmm_hung'");
		dt = now_s() - t0;
		fprintf(stderr, "hung: SET with an open link to it: %.2f s\n", dt);
		ck_assert_msg(dt < 6.0, "SET took %.2f s", dt);
		r = pgmm_exec(setter, "SELECT current_setting('application_name')");
		rt_ok(r, setter);
		ck_assert_str_eq(PQgetvalue(r, 0, 0), "pgmm_hung");
		PQclear(r);
	}

	/* An UPDATE without the key needs every owner: over an open link the
	 * hung one's part times out, the others are rolled back. */
	{
		double t0 = now_s();

		r = pgmm_exec(bcast, "UPDATE t9 SET v = 'bc' WHERE v = 'nokey'");
		dt = now_s() - t0;
		fprintf(stderr, "hung: broadcast with an open link to it: failed after %.2f s: %s", dt,
		        pgmm_result_error_message(r));
		ck_assert_msg(dt < 6.0, "the broadcast took %.2f s", dt);
		ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
		ck_assert_msg(strstr(pgmm_result_error_message(r), hung), "%s", pgmm_result_error_message(r));
		ck_assert_str_eq(pgmm_error_sqlstate(bcast), PGMM_SQLSTATE_NODE_DOWN);
		PQclear(r);
		for (i = 0; i < rt.n; i++)
		{
			char *v;

			if (i == 1)
				continue;
			v = rt_value(i, "SELECT count(*) FROM t9 WHERE v = 'bc'");
			ck_assert_str_eq(v, "0");
			free(v);
		}
		ck_assert_int_eq(pgmm_transaction_status(bcast), PQTRANS_IDLE);
	}

	/* A prepared statement run for the first time on it (prepared there
	 * lazily, over an open link): PM005 in bounded time. */
	{
		char kb[32];
		const char *vals[1] = {kb};
		double t0;

		r = pgmm_prepare(prep, "ins9", "INSERT INTO t9 (id, v) VALUES ($1, 'prep')", 1, NULL);
		rt_ok(r, prep);
		PQclear(r);
		snprintf(kb, sizeof kb, "%lld", kd4);
		t0 = now_s();
		r = pgmm_exec_prepared(prep, "ins9", 1, vals, NULL, NULL, 0);
		dt = now_s() - t0;
		fprintf(stderr, "hung: prepared statement for it: PM005 after %.2f s\n", dt);
		ck_assert_msg(dt < 6.0, "took %.2f s", dt);
		rt_fails(r, PGMM_SQLSTATE_NODE_DOWN);
		PQclear(r);
	}

	/* A client whose link to it was open and idle. */
	failures = 0;
	longest = keyless_rounds(pre, 6, hung, &failures);
	fprintf(stderr, "hung: open links: longest keyless statement %.2f s, %d failure(s)\n", longest, failures);
	dt = expect_pm005(pre, insert_key, kd3, hung);
	fprintf(stderr, "hung: open links: write for the hung master: PM005 after %.2f s\n", dt);

	signal_server(SIGCONT);

	/* Writes to it resume within a few seconds. */
	for (i = 0, ok = 0; i < 40 && !ok; i++)
	{
		r = insert_key(late, kd4);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
		if (!ok)
			usleep(250000);
	}
	ck_assert_msg(ok, "writes to %s did not resume: %s", hung, pgmm_error_message(late));
	ck_assert_str_eq(pgmm_last_node(late), hung);
	/* Balanced choices use it again (after pgmm_reconnect_interval). */
	for (i = 0, ok = 0; i < 40 && !ok; i++)
	{
		r = pgmm_exec(late, "INSERT INTO t9 (v) VALUES ('back')");
		rt_ok(r, late);
		PQclear(r);
		ok = strcmp(pgmm_last_node(late), hung) == 0;
		if (!ok)
			usleep(100000);
	}
	ck_assert_msg(ok, "keyless inserts never went to %s again", hung);
	r = insert_key(pre, kd3);
	rt_ok(r, pre);
	PQclear(r);
	ck_assert_str_eq(pgmm_last_node(pre), hung);
	/* Nothing was resent: the rows of the statements that got PM005 are
	 * there only if they ran (kd2: never sent; kd3: sent by the bound
	 * transaction, rolled back, then inserted above). */
	{
		char sql[128], *v;

		snprintf(sql, sizeof sql, "SELECT count(*) FROM t9 WHERE id IN (%lld, %lld)", kd, kd2);
		v = rt_value(1, sql);
		ck_assert_str_eq(v, "0");
		free(v);
	}
	pgmm_finish(late);
	pgmm_finish(pre);
	pgmm_finish(bound);
	pgmm_finish(binder);
	pgmm_finish(setter);
	pgmm_finish(bcast);
	pgmm_finish(prep);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("router-hung-master");
	TCase *tc = tcase_create("hung");
	int failed;

	rt_setup("rt_hung");
	rt_ddl("CREATE TABLE public.t9 (id int8 PRIMARY KEY, v text)");
	rt_distribute("public.t9", "id", 8, NULL);
	{
		/* The parent of a backend of that master (asked while it lives). */
		PGconn *d = PQconnectdb(rt.conninfo[1]);
		PGresult *b = PQexec(d, "SELECT pg_backend_pid()");

		hung_pm = PQresultStatus(b) == PGRES_TUPLES_OK ? parent_of((pid_t) atoi(PQgetvalue(b, 0, 0))) : -1;
		PQclear(b);
		PQfinish(d);
		if (hung_pm <= 1)
		{
			fprintf(stderr, "cannot find the postmaster of %s (is it local?)\n", rt.name[1]);
			rt_teardown();
			return 1;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_hung_master);
	suite_add_tcase(s, tc);
	failed = rt_main(s);
	/* Whatever happened in the test's process, leave the master running. */
	signal_server(SIGCONT);
	rt_teardown();
	return failed ? 1 : 0;
}
