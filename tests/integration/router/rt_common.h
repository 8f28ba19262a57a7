/*
 * rt_common.h -- helpers of the router's integration tests (real masters).
 *
 * The cluster comes from scripts/cluster.sh (PGMM_NODES_FILE: lines
 * NAME<TAB>CONNINFO).  Each test program creates its own database on every
 * master (rt_setup), installs pgmm there with the admin API, and at the end
 * uninstalls it and drops the database (rt_teardown), so programs never
 * see each other's tables.
 */
#ifndef RT_COMMON_H
#define RT_COMMON_H

#include <check.h>
#include <libpq-fe.h>

#include "pgmm.h"

#define RT_MAX_NODES 16

typedef struct rt_cluster
{
	int   n;
	char *name[RT_MAX_NODES];
	char *base[RT_MAX_NODES];      /* conninfo of the maintenance database */
	char *conninfo[RT_MAX_NODES];  /* conninfo of the test database */
	char  dbname[64];
} rt_cluster;

extern rt_cluster rt;

/* Create database <prefix>_<pid> everywhere and pgmm_admin_init it; exits
 * the program (status 1) when the cluster is unusable. */
void rt_setup(const char *prefix);
void rt_teardown(void);

/* The test database's conninfo of master i plus extra text (pgmm options). */
char *rt_conninfo(int i, const char *extra);
int rt_index(const char *name);

/* Admin helpers (abort the test on failure). */
void rt_ddl(const char *sql);
void rt_distribute(const char *table, const char *column, int shards, const char *colocate_with);
void rt_reference(const char *table, const char *owner);

/* Plain libpq on master i of the test database. */
PGconn *rt_direct(int i);
/* First value of sql on master i (malloc'd; NULL when no row / error). */
char *rt_value(int i, const char *sql);
/* Poll sql on master i until its first value equals want (ms budget). */
int rt_wait_value(int i, const char *sql, const char *want, int timeout_ms);

/* Owner (from the catalog) of the shard holding the row of
 * public.<table> WHERE <cond>, asked on master i; NULL if no row there. */
char *rt_row_owner(int i, const char *table, const char *cond);

/* Assert a result is OK (COMMAND/TUPLES), printing the error otherwise. */
#define rt_ok(res, conn) rt_ok_at(res, conn, __FILE__, __LINE__)
void rt_ok_at(PGresult *res, PGMMconn *conn, const char *file, int line);
/* Assert a result failed with SQLSTATE code. */
#define rt_fails(res, code) rt_fails_at(res, code, __FILE__, __LINE__)
void rt_fails_at(PGresult *res, const char *code, const char *file, int line);

/* Run sql through the router; assert OK; clear. */
void rt_run(PGMMconn *c, const char *sql);

PGMMconn *rt_connect(const char *extra);

/* A suite runner with a generous timeout; returns the exit status. */
int rt_main(Suite *s);

#endif
