/*
 * pgmm_writer -- a writer process for the HA tests and bench/failover.sh:
 * inserts rows until told to stop and logs every attempt, so the caller can
 * tell what was acknowledged (and must survive a failover) from what failed.
 *
 *   pgmm_writer libpgmm|sql CONNINFO TABLE WRITER LOG STOPFILE [PAUSE_US [MAX_SECONDS]]
 *
 * libpgmm: through libpgmm -- an ID from pgmm_next_id, then
 *   INSERT INTO TABLE (id, writer, at) VALUES ($1, $2, now()), routed to the
 *   owner of the ID's shard.
 * sql: plain libpq straight to one master -- INSERT INTO TABLE (writer, at)
 *   VALUES ($1, now()) RETURNING id, the ID from the server's DEFAULT (a shard
 *   that master owns); a lost connection is reopened (after 50 ms).
 *
 * LOG gets one line per statement, written and flushed before the next one
 * starts (an acknowledged row is on disk before the writer goes on):
 *   ok ID START_MS DURATION_MS NODE
 *   err ID START_MS DURATION_MS SQLSTATE NODE
 * START_MS is wall-clock (epoch ms) so the caller can line attempts up with
 * a kill; ID is 0 when none was known (the sql writer's failures); NODE is
 * the master that answered (libpgmm: pgmm_last_node; "-" unknown).
 * The writer stops when STOPFILE exists (checked every statement) or after
 * MAX_SECONDS (default 600).  Exit 0, or 2 on usage errors.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "pgmm.h"

static long long
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void
pause_us(long us)
{
	struct timespec ts;

	if (us <= 0)
		return;
	ts.tv_sec = us / 1000000;
	ts.tv_nsec = (us % 1000000) * 1000;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* One word for the log: no spaces. */
static const char *
word(const char *s)
{
	return s && *s && !strchr(s, ' ') ? s : "-";
}

static int
run_libpgmm(const char *conninfo, const char *table, const char *writer, FILE *log, const char *stop,
            long pause, double until)
{
	PGMMconn *c = NULL;
	char sql[512];

	snprintf(sql, sizeof sql, "INSERT INTO %s (id, writer, at) VALUES ($1, $2, now())", table);
	while (access(stop, F_OK) != 0 && mono_ms() < until)
	{
		int64_t id = 0;
		long long t0;
		double m0;
		char idtext[24];
		const char *vals[2];
		PGresult *r;

		if (c == NULL || pgmm_status(c) != CONNECTION_OK)
		{
			/* pgmm_connect itself fails only when the home master is down
			 * (a host list in CONNINFO lets libpq try the others). */
			pgmm_finish(c);
			c = pgmm_connect(conninfo);
			if (pgmm_status(c) != CONNECTION_OK)
			{
				fprintf(log, "err 0 %lld 0 %s -\n", wall_ms(), word(pgmm_error_sqlstate(c)));
				fflush(log);
				pause_us(50000);
				continue;
			}
		}
		t0 = wall_ms();
		m0 = mono_ms();
		if (pgmm_next_id(c, table, &id) < 0)
		{
			fprintf(log, "err 0 %lld %.1f %s -\n", t0, mono_ms() - m0, word(pgmm_error_sqlstate(c)));
			fflush(log);
			pause_us(pause > 10000 ? pause : 10000);
			continue;
		}
		snprintf(idtext, sizeof idtext, "%lld", (long long) id);
		vals[0] = idtext;
		vals[1] = writer;
		r = pgmm_exec_params(c, sql, 2, NULL, vals, NULL, NULL, 0);
		if (r && PQresultStatus(r) == PGRES_COMMAND_OK)
			fprintf(log, "ok %lld %lld %.1f %s\n", (long long) id, t0, mono_ms() - m0, word(pgmm_last_node(c)));
		else
		{
			const char *st = r ? pgmm_result_sqlstate(r) : pgmm_error_sqlstate(c);

			fprintf(log, "err %lld %lld %.1f %s %s\n", (long long) id, t0, mono_ms() - m0, word(st), word(pgmm_last_node(c)));
		}
		fflush(log);
		PQclear(r);
		pause_us(pause);
	}
	pgmm_finish(c);
	return 0;
}

static int
run_sql(const char *conninfo, const char *table, const char *writer, FILE *log, const char *stop,
        long pause, double until)
{
	PGconn *pq = NULL;
	char sql[512];

	snprintf(sql, sizeof sql, "INSERT INTO %s (writer, at) VALUES ($1, now()) RETURNING id", table);
	while (access(stop, F_OK) != 0 && mono_ms() < until)
	{
		long long t0;
		double m0;
		const char *vals[1] = {writer};
		PGresult *r;

		if (pq == NULL || PQstatus(pq) != CONNECTION_OK)
		{
			PQfinish(pq);
			pq = PQconnectdb(conninfo);
			if (PQstatus(pq) != CONNECTION_OK)
			{
				fprintf(log, "err 0 %lld 0 08001 -\n", wall_ms());
				fflush(log);
				pause_us(50000);
				continue;
			}
		}
		t0 = wall_ms();
		m0 = mono_ms();
		r = PQexecParams(pq, sql, 1, NULL, vals, NULL, NULL, 0);
		if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
			fprintf(log, "ok %s %lld %.1f -\n", PQgetvalue(r, 0, 0), t0, mono_ms() - m0);
		else
		{
			const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

			fprintf(log, "err 0 %lld %.1f %s -\n", t0, mono_ms() - m0, st ? st : "08006");
		}
		fflush(log);
		PQclear(r);
		pause_us(pause);
	}
	PQfinish(pq);
	return 0;
}

int
main(int argc, char **argv)
{
	FILE *log;
	long pause = 0;
	double until;
	int rc;

	if (argc < 7 || argc > 9 || (strcmp(argv[1], "libpgmm") != 0 && strcmp(argv[1], "sql") != 0))
	{
		fprintf(stderr, "usage: pgmm_writer libpgmm|sql CONNINFO TABLE WRITER LOG STOPFILE [PAUSE_US [MAX_SECONDS]]\n");
		return 2;
	}
	if (argc >= 8)
		pause = atol(argv[7]);
	until = mono_ms() + 1000.0 * (argc >= 9 ? atof(argv[8]) : 600.0);
	log = fopen(argv[5], "a");
	if (log == NULL)
	{
		fprintf(stderr, "pgmm_writer: %s: %s\n", argv[5], strerror(errno));
		return 2;
	}
	if (strcmp(argv[1], "libpgmm") == 0)
		rc = run_libpgmm(argv[2], argv[3], argv[4], log, argv[6], pause, until);
	else
		rc = run_sql(argv[2], argv[3], argv[4], log, argv[6], pause, until);
	fclose(log);
	return rc;
}
