/*
 * rt_common.c -- see rt_common.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rt_common.h"

rt_cluster rt;

static void
die(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "rt: ");
	fprintf(stderr, fmt, a ? a : "", b ? b : "");
	fprintf(stderr, "\n");
	exit(1);
}

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		die("out of memory%s%s", NULL, NULL);
	return p;
}

static char *
concat(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);

	if (p == NULL)
		die("out of memory%s%s", NULL, NULL);
	snprintf(p, n, "%s %s", a, b);
	return p;
}

static void
exec_maint(int i, const char *sql, int must)
{
	PGconn *c = PQconnectdb(rt.base[i]);
	PGresult *r;

	if (PQstatus(c) != CONNECTION_OK)
		die("cannot connect to %s: %s", rt.base[i], PQerrorMessage(c));
	r = PQexec(c, sql);
	if (must && PQresultStatus(r) != PGRES_COMMAND_OK)
		die("%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
}

void
rt_setup(const char *prefix)
{
	const char *file = getenv("PGMM_NODES_FILE");
	char line[2048], sql[256], *err = NULL;
	const char *specs[RT_MAX_NODES];
	char *specbuf[RT_MAX_NODES];
	FILE *f;
	int i;

	if (file == NULL || *file == '\0')
		die("PGMM_NODES_FILE is not set: run under scripts/cluster.sh run (or source DIR/env)%s%s", NULL, NULL);
	f = fopen(file, "r");
	if (f == NULL)
		die("cannot open %s%s", file, NULL);
	memset(&rt, 0, sizeof rt);
	while (fgets(line, sizeof line, f) && rt.n < RT_MAX_NODES)
	{
		char *tab = strchr(line, '\t');
		size_t n = strlen(line);

		if (n && line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (tab == NULL)
			continue;
		*tab = '\0';
		rt.name[rt.n] = xstrdup(line);
		rt.base[rt.n] = xstrdup(tab + 1);
		rt.n++;
	}
	fclose(f);
	if (rt.n < 2)
		die("the cluster needs at least 2 masters (%s lists fewer)%s", file, NULL);
	snprintf(rt.dbname, sizeof rt.dbname, "%s_%d", prefix, (int) getpid());
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", rt.dbname);
	for (i = 0; i < rt.n; i++)
		exec_maint(i, sql, 0);
	snprintf(sql, sizeof sql, "CREATE DATABASE %s", rt.dbname);
	for (i = 0; i < rt.n; i++)
	{
		char db[96];

		exec_maint(i, sql, 1);
		snprintf(db, sizeof db, "dbname=%s", rt.dbname);
		rt.conninfo[i] = concat(rt.base[i], db);
		specbuf[i] = malloc(strlen(rt.name[i]) + strlen(rt.conninfo[i]) + 2);
		if (specbuf[i] == NULL)
			die("out of memory%s%s", NULL, NULL);
		sprintf(specbuf[i], "%s=%s", rt.name[i], rt.conninfo[i]);
		specs[i] = specbuf[i];
	}
	if (pgmm_admin_init(specs, rt.n, 0, &err) != 0)
		die("pgmm_admin_init: %s%s", err, NULL);
	for (i = 0; i < rt.n; i++)
		free(specbuf[i]);
}

void
rt_teardown(void)
{
	PGMMadmin *a = pgmm_admin_connect(rt.conninfo[0]);
	char sql[256];
	int i;

	if (pgmm_admin_ok(a) && pgmm_admin_uninstall(a) != 0)
		fprintf(stderr, "rt: uninstall: %s\n", pgmm_admin_error(a));
	pgmm_admin_finish(a);
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", rt.dbname);
	for (i = 0; i < rt.n; i++)
		exec_maint(i, sql, 0);
}

char *
rt_conninfo(int i, const char *extra)
{
	return concat(rt.conninfo[i], extra ? extra : "");
}

int
rt_index(const char *name)
{
	int i;

	for (i = 0; name && i < rt.n; i++)
		if (strcmp(rt.name[i], name) == 0)
			return i;
	return -1;
}

/* Admin helpers run from main(), outside any Check test: die on failure. */
static PGMMadmin *
admin(void)
{
	PGMMadmin *a = pgmm_admin_connect(rt.conninfo[0]);

	if (!pgmm_admin_ok(a))
		die("admin connect: %s%s", pgmm_admin_error(a), NULL);
	return a;
}

void
rt_ddl(const char *sql)
{
	PGMMadmin *a = admin();

	if (pgmm_admin_ddl(a, sql) != 0)
		die("ddl %s: %s", sql, pgmm_admin_error(a));
	pgmm_admin_finish(a);
}

void
rt_distribute(const char *table, const char *column, int shards, const char *colocate_with)
{
	PGMMadmin *a = admin();

	if (pgmm_admin_distribute(a, table, column, shards, colocate_with) != 0)
		die("distribute %s: %s", table, pgmm_admin_error(a));
	pgmm_admin_finish(a);
}

void
rt_reference(const char *table, const char *owner)
{
	PGMMadmin *a = admin();

	if (pgmm_admin_reference(a, table, owner) != 0)
		die("reference %s: %s", table, pgmm_admin_error(a));
	pgmm_admin_finish(a);
}

PGconn *
rt_direct(int i)
{
	PGconn *c = PQconnectdb(rt.conninfo[i]);

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "direct connect %s: %s", rt.name[i], PQerrorMessage(c));
	return c;
}

char *
rt_value(int i, const char *sql)
{
	PGconn *c = rt_direct(i);
	PGresult *r = PQexec(c, sql);
	char *v = NULL;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		v = xstrdup(PQgetvalue(r, 0, 0));
	else if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fprintf(stderr, "rt_value(%s, %s): %s", rt.name[i], sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
	return v;
}

int
rt_wait_value(int i, const char *sql, const char *want, int timeout_ms)
{
	struct timespec ts = {0, 50 * 1000 * 1000};
	int waited;

	for (waited = 0; waited <= timeout_ms; waited += 50)
	{
		char *v = rt_value(i, sql);
		int same = v && strcmp(v, want) == 0;

		free(v);
		if (same)
			return 1;
		nanosleep(&ts, NULL);
	}
	return 0;
}

char *
rt_row_owner(int i, const char *table, const char *cond)
{
	char sql[1024];

	snprintf(sql, sizeof sql,
	         "SELECT (SELECT sh.owner FROM pgmm.shards sh JOIN pgmm.tables tb ON tb.colocation = sh.colocation "
	         "         WHERE tb.schema_name = 'public' AND tb.table_name = '%s' "
	         "           AND sh.remainder = substring(x.tableoid::regclass::text from '_s([0-9]+)$')::int) "
	         "FROM public.%s x WHERE %s", table, table, cond);
	return rt_value(i, sql);
}

void
rt_ok_at(PGresult *res, PGMMconn *conn, const char *file, int line)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s:%d: expected success, got %s [%s]: %s %s",
	              file, line, PQresStatus(st), res ? (pgmm_result_sqlstate(res) ? pgmm_result_sqlstate(res) : "") : "",
	              res ? pgmm_result_error_message(res) : "(null result)", conn ? pgmm_error_message(conn) : "");
}

void
rt_fails_at(PGresult *res, const char *code, const char *file, int line)
{
	const char *st = res ? pgmm_result_sqlstate(res) : NULL;

	ck_assert_msg(res != NULL, "%s:%d: NULL result", file, line);
	ck_assert_msg(PQresultStatus(res) == PGRES_FATAL_ERROR, "%s:%d: expected an error %s, got %s", file, line, code,
	              PQresStatus(PQresultStatus(res)));
	ck_assert_msg(st && strcmp(st, code) == 0, "%s:%d: expected SQLSTATE %s, got %s: %s", file, line, code,
	              st ? st : "(none)", pgmm_result_error_message(res));
}

void
rt_run(PGMMconn *c, const char *sql)
{
	PGresult *r = pgmm_exec(c, sql);

	ck_assert_msg(r && (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK),
	              "%s: %s", sql, r ? pgmm_result_error_message(r) : pgmm_error_message(c));
	PQclear(r);
}

PGMMconn *
rt_connect(const char *extra)
{
	char *ci = rt_conninfo(0, extra);
	PGMMconn *c = pgmm_connect(ci);

	free(ci);
	ck_assert_ptr_nonnull(c);
	ck_assert_msg(pgmm_status(c) == CONNECTION_OK, "pgmm_connect: %s", pgmm_error_message(c));
	return c;
}

int
rt_main(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed;
}
