/*
 * bench_e2e -- point INSERT / UPDATE / SELECT by key through pgmm against
 * plain libpq connected straight to the owning master, same machine, same
 * run.  Rounds alternate the two (and swap their order every round) so a
 * noisy neighbour hurts both alike; the report gives per-operation medians
 * over rounds and the ratio pgmm / direct.
 *
 * usage: bench_e2e CONNINFO_OF_ANY_MASTER [ROUNDS [OPS_PER_ROUND]]
 * The cluster must have a table bench_kv (id bigint PRIMARY KEY, v text,
 * n int) distributed by id (bench/run.sh sets that up).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include "pgmm.h"

#define MAXN 16

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *what, const char *msg)
{
	fprintf(stderr, "bench_e2e: %s: %s\n", what, msg);
	exit(1);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t) n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct direct
{
	int     n;
	char   *name[MAXN];
	PGconn *conn[MAXN];
} direct;

static const char *sql_ins = "INSERT INTO bench_kv (id, v, n) VALUES ($1, 'value', 0)";
static const char *sql_upd = "UPDATE bench_kv SET n = n + 1 WHERE id = $1";
static const char *sql_sel = "SELECT v, n FROM bench_kv WHERE id = $1";

static void
check(PGresult *r, ExecStatusType want, const char *what)
{
	if (r == NULL || PQresultStatus(r) != want)
		die(what, r ? PQresultErrorMessage(r) : "no result");
	PQclear(r);
}

/* Owner of each key, asked of the server (independent of pgmm's client hash). */
static int *
owners_of(PGconn *any, direct *d, int64_t first, int count)
{
	int *own = malloc(sizeof(int) * (size_t) count);
	char sql[512];
	PGresult *r;
	int i, j;

	snprintf(sql, sizeof sql,
	         "SELECT s.owner FROM generate_series(%" PRId64 ", %" PRId64 ") k "
	         "JOIN pgmm.tables t ON t.table_name = 'bench_kv' "
	         "JOIN pgmm.colocations c ON c.id = t.colocation "
	         "JOIN pgmm.shards s ON s.colocation = c.id AND s.remainder = pgmm.int_remainder(k, c.shards) "
	         "ORDER BY k", first, first + count - 1);
	r = PQexec(any, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != count)
		die("owners", PQresultErrorMessage(r));
	for (i = 0; i < count; i++)
	{
		own[i] = -1;
		for (j = 0; j < d->n; j++)
			if (strcmp(PQgetvalue(r, i, 0), d->name[j]) == 0)
				own[i] = j;
		if (own[i] < 0)
			die("owners", "unknown owner");
	}
	PQclear(r);
	return own;
}

/* One round of ops of kind k (0 insert, 1 update, 2 select) on keys
 * [first, first+ops); returns seconds. */
static double
round_pgmm(PGMMconn *c, int k, int64_t first, int ops)
{
	const char *sql = k == 0 ? sql_ins : k == 1 ? sql_upd : sql_sel;
	ExecStatusType want = k == 2 ? PGRES_TUPLES_OK : PGRES_COMMAND_OK;
	double t0 = now_s();
	char key[32];
	const char *v[1] = {key};
	int i;

	for (i = 0; i < ops; i++)
	{
		snprintf(key, sizeof key, "%" PRId64, first + i);
		check(pgmm_exec_params(c, sql, 1, NULL, v, NULL, NULL, 0), want, "pgmm");
	}
	return now_s() - t0;
}

static double
round_direct(direct *d, const int *own, int k, int64_t first, int ops)
{
	const char *sql = k == 0 ? sql_ins : k == 1 ? sql_upd : sql_sel;
	ExecStatusType want = k == 2 ? PGRES_TUPLES_OK : PGRES_COMMAND_OK;
	double t0 = now_s();
	char key[32];
	const char *v[1] = {key};
	int i;

	for (i = 0; i < ops; i++)
	{
		snprintf(key, sizeof key, "%" PRId64, first + i);
		check(PQexecParams(d->conn[own[i]], sql, 1, NULL, v, NULL, NULL, 0), want, "direct");
	}
	return now_s() - t0;
}

int
main(int argc, char **argv)
{
	const char *ci;
	int rounds = argc > 2 ? atoi(argv[2]) : 9;
	int ops = argc > 3 ? atoi(argv[3]) : 2000;
	PGMMconn *c;
	PGconn *home;
	direct d;
	PGresult *r;
	char ci_pgmm[1024];
	int i, k, rd;
	int64_t base_pgmm = 1000000000, base_direct = 2000000000;
	int *own_direct;
	double *tp[3], *td[3];
	static const char *names[3] = {"INSERT", "UPDATE", "SELECT"};

	if (argc < 2)
	{
		fprintf(stderr, "usage: bench_e2e CONNINFO [ROUNDS [OPS_PER_ROUND]]\n");
		return 2;
	}
	ci = argv[1];
	if (rounds < 1 || ops < 1)
		die("usage", "ROUNDS and OPS_PER_ROUND must be positive");
	snprintf(ci_pgmm, sizeof ci_pgmm, "%s pgmm_read=owner", ci);
	c = pgmm_connect(ci_pgmm);
	if (pgmm_status(c) != CONNECTION_OK)
		die("pgmm_connect", pgmm_error_message(c));
	home = PQconnectdb(ci);
	if (PQstatus(home) != CONNECTION_OK)
		die("connect", PQerrorMessage(home));
	/* Direct connections to every master, from the catalog. */
	memset(&d, 0, sizeof d);
	r = PQexec(home, "SELECT name, conninfo FROM pgmm.nodes ORDER BY name");
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die("nodes", PQresultErrorMessage(r));
	for (i = 0; i < PQntuples(r) && i < MAXN; i++)
	{
		char buf[1024];

		/* carry the caller's user over, like pgmm does */
		snprintf(buf, sizeof buf, "%s user=%s", PQgetvalue(r, i, 1), PQuser(home));
		d.name[i] = strdup(PQgetvalue(r, i, 0));
		d.conn[i] = PQconnectdb(buf);
		if (PQstatus(d.conn[i]) != CONNECTION_OK)
			die("connect", PQerrorMessage(d.conn[i]));
		d.n++;
	}
	PQclear(r);
	for (k = 0; k < 3; k++)
	{
		tp[k] = calloc((size_t) rounds, sizeof(double));
		td[k] = calloc((size_t) rounds, sizeof(double));
	}
	own_direct = owners_of(home, &d, base_direct, rounds * ops);
	/* warm up both paths (connections, plan caches, server caches) */
	round_pgmm(c, 2, base_pgmm, 50);
	round_direct(&d, own_direct, 2, base_direct, 50);
	for (k = 0; k < 3; k++)
		for (rd = 0; rd < rounds; rd++)
		{
			int64_t off = (int64_t) rd * ops;

			if (rd % 2 == 0)
			{
				tp[k][rd] = round_pgmm(c, k, base_pgmm + off, ops);
				td[k][rd] = round_direct(&d, own_direct + off, k, base_direct + off, ops);
			}
			else
			{
				td[k][rd] = round_direct(&d, own_direct + off, k, base_direct + off, ops);
				tp[k][rd] = round_pgmm(c, k, base_pgmm + off, ops);
			}
		}
	printf("bench_e2e: %d rounds x %d ops per statement kind, %d masters, medians over rounds\n", rounds, ops, d.n);
	printf("%-8s %14s %14s %8s\n", "op", "pgmm us/op", "direct us/op", "ratio");
	for (k = 0; k < 3; k++)
	{
		double mp = median(tp[k], rounds) / ops * 1e6, md = median(td[k], rounds) / ops * 1e6;

		printf("%-8s %14.2f %14.2f %8.3f\n", names[k], mp, md, mp / md);
	}
	pgmm_finish(c);
	PQfinish(home);
	for (i = 0; i < d.n; i++)
	{
		PQfinish(d.conn[i]);
		free(d.name[i]);
	}
	for (k = 0; k < 3; k++)
	{
		free(tp[k]);
		free(td[k]);
	}
	free(own_direct);
	return 0;
}
