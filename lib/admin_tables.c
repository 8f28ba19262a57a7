/*
 * admin_tables.c -- schema changes through pgmm: ddl, reference,
 * distribute.
 *
 * Callers: applications, tools/pgmm.c and the bindings through pgmm.h; the
 * builders (admin_build_reference, _distribute, admin_id_seq_floor) also by
 * the unit tests.  Each operation checks the table on every master, learns
 * what it needs from the home master, builds the statements, then runs
 * them inside one catalog change (admin_frame.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "admin_int.h"
#include "sqlparse.h"

/* ------------------------------------------------------------ ddl */

/* Why statement st may not run inside pgmm's catalog change; NULL when it may. */
static const char *
ddl_txn_control(const pgmm_stmt *st)
{
	switch (st->kind)
	{
		case PGMM_STMT_BEGIN:
			return "starts a transaction";
		case PGMM_STMT_COMMIT:
			return "ends the transaction";
		case PGMM_STMT_ROLLBACK:
			return "ends the transaction";
		case PGMM_STMT_TXN_OTHER:
			if (st->sub == PGMM_SUB_SAVEPOINT || st->sub == PGMM_SUB_RELEASE ||
				st->sub == PGMM_SUB_ROLLBACK_TO)
				return "splits the transaction with a savepoint";
			return NULL;
		case PGMM_STMT_DDL:
			if (st->sub == PGMM_SUB_PREPARE_TRANSACTION)
				return "prepares the transaction";
			if (st->sub == PGMM_SUB_COMMIT_PREPARED || st->sub == PGMM_SUB_ROLLBACK_PREPARED)
				return "decides a prepared transaction";
			return NULL;
		default:
			return NULL;
	}
}

int
admin_ddl_check_body(const char *sql, pgmm_buf *err)
{
	size_t len, off = 0;
	int n = 0;

	if (sql == NULL || sql[strspn(sql, " \t\r\n;")] == '\0')
	{
		pgmm_buf_printf(err, "ddl: no SQL statement given");
		return -1;
	}
	len = strlen(sql);
	while (off < len)
	{
		pgmm_stmt *st = NULL;
		char perr[256];
		const char *why;
		int rc = pgmm_sql_parse(sql + off, len - off, &st, perr, sizeof perr);

		if (rc == PGMM_PARSE_ENOMEM)
		{
			pgmm_buf_printf(err, "out of memory");
			return -1;
		}
		if (rc < 0)
		{
			pgmm_buf_printf(err, "ddl: cannot read the body (nothing was run): %s", perr);
			return -1;
		}
		if (st->kind == PGMM_STMT_EMPTY)
		{
			pgmm_stmt_free(st);
			break;
		}
		n++;
		why = ddl_txn_control(st);
		if (why)
		{
			size_t sl = st->first_end;
			size_t skip = strspn(sql + off, " \t\r\n;");

			while (sl > skip && (sql[off + sl - 1] == ';' || sql[off + sl - 1] == ' ' ||
							  sql[off + sl - 1] == '\n' || sql[off + sl - 1] == '\t' ||
							  sql[off + sl - 1] == '\r'))
				sl--;
			pgmm_buf_printf(err, "ddl: statement %d of the body (%.*s%s) %s; pgmm runs the body inside "
							"its own transaction on every master and commits it with a two-phase "
							"commit, so a body may not contain transaction control (BEGIN, COMMIT, "
							"ROLLBACK, SAVEPOINT, RELEASE, PREPARE TRANSACTION, COMMIT/ROLLBACK "
							"PREPARED): remove it; nothing was run",
							n, (int) (sl - skip > 60 ? 60 : sl - skip), sql + off + skip,
							sl - skip > 60 ? "..." : "", why);
			pgmm_stmt_free(st);
			return -1;
		}
		if (st->first_end == 0 || st->first_end > len - off)
		{
			pgmm_stmt_free(st);
			break;
		}
		off += st->first_end;
		pgmm_stmt_free(st);
	}
	return 0;
}

static int drop_wait_caught_up(PGMMadmin *a);

/* The text holds the word DROP (any case) somewhere. */
static int
mentions_drop(const char *sql)
{
	const char *p;

	for (p = sql; *p; p++)
		if ((p[0] | 0x20) == 'd' && p[1] && (p[1] | 0x20) == 'r' && p[2] && (p[2] | 0x20) == 'o' &&
		    p[3] && (p[3] | 0x20) == 'p')
			return 1;
	return 0;
}

/*
 * After a ddl body: managed tables it dropped (DROP TABLE, DROP SCHEMA ...
 * CASCADE) leave the catalog in the same change, as `pgmm drop` does; a
 * colocation group may only go whole.
 */
static int
ddl_forget_dropped(PGMMadmin *a)
{
	PGresult *r = admin_query(a, a->home,
	                          "SELECT pg_catalog.format('%I.%I', t.schema_name, t.table_name), t.schema_name, t.table_name, "
	                          "  (SELECT pg_catalog.string_agg(pg_catalog.format('%I.%I', o.schema_name, o.table_name), ', ') "
	                          "    FROM pgmm.tables o WHERE o.colocation = t.colocation "
	                          "    AND pg_catalog.to_regclass(pg_catalog.format('%I.%I', o.schema_name, o.table_name)) IS NOT NULL) "
	                          "FROM pgmm.tables t "
	                          "WHERE pg_catalog.to_regclass(pg_catalog.format('%I.%I', t.schema_name, t.table_name)) IS NULL "
	                          "ORDER BY 1", PGRES_TUPLES_OK);
	admin_stmts s;
	const char **sch, **nam;
	int k, n, rc;

	if (r == NULL)
		return -1;
	n = PQntuples(r);
	if (n <= 0)
	{
		PQclear(r);
		return 0;
	}
	for (k = 0; k < n; k++)
		if (!PQgetisnull(r, k, 3))
		{
			admin_seterr(a, "ddl: the body drops %s but not %s, colocated with it (pgmm colocation group): "
			             "drop them together (`pgmm drop`)", PQgetvalue(r, k, 0), PQgetvalue(r, k, 3));
			PQclear(r);
			return -1;
		}
	sch = calloc((size_t) n + 1, sizeof *sch);
	nam = calloc((size_t) n + 1, sizeof *nam);
	if (sch == NULL || nam == NULL)
	{
		free(sch);
		free(nam);
		PQclear(r);
		admin_seterr(a, "out of memory");
		return -1;
	}
	for (k = 0; k < n; k++)
	{
		sch[k] = PQgetvalue(r, k, 1);
		nam[k] = PQgetvalue(r, k, 2);
	}
	admin_stmts_init(&s);
	admin_build_drop_tables(&s, sch, nam, n, 0);
	rc = admin_stmts_ok(&s) ? admin_stmts_run_all(a, &s) : -1;
	if (!admin_stmts_ok(&s))
		admin_seterr(a, "out of memory");
	for (k = 0; rc == 0 && k < n; k++)
		admin_notice(a, "%s was a pgmm table: its catalog rows go with it", PQgetvalue(r, k, 0));
	admin_stmts_free(&s);
	free(sch);
	free(nam);
	PQclear(r);
	return rc;
}

/* The body on every master; caught_up: the subscriptions are known to
 * have applied everything written to the tables it names (frozen ddl). */
static int
ddl_body_run(PGMMadmin *a, const char *sql, int caught_up)
{
	int i;

	/* A body that may drop a pgmm table: let every subscription apply what
	 * was written before (a change in flight to a dropped table would stop
	 * its subscription). */
	if (!caught_up && mentions_drop(sql) && drop_wait_caught_up(a) < 0)
		return -1;
	for (i = 0; i < a->nnodes; i++)
	{
		PGresult *r = PQexec(a->nodes[i].conn, sql);
		ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		{
			admin_fail(a, i, r);
			return -1;
		}
		PQclear(r);
		/* the body must leave pgmm's transaction open (a COMMIT hidden in
		 * a function, a procedure, ... would end it) */
		if (PQtransactionStatus(a->nodes[i].conn) != PQTRANS_INTRANS)
		{
			pgmm_buf_printf(&a->err, "master %s: the ddl body ended pgmm's transaction (it may not "
							"contain transaction control); the catalog change is abandoned",
							a->nodes[i].name);
			return -1;
		}
	}
	return ddl_forget_dropped(a);
}

static int
ddl_body(PGMMadmin *a, void *arg)
{
	return ddl_body_run(a, arg, 0);
}

static int ddl_frozen(PGMMadmin *a, const char *sql);

int
pgmm_admin_ddl(PGMMadmin *a, const char *sql)
{
	int rc;

	if (a == NULL)
		return -1;
	pgmm_buf_reset(&a->err);
	if (admin_ddl_check_body(sql, &a->err) < 0)
		return -1;
	rc = ddl_frozen(a, sql);
	if (rc < 0)
		return -1;
	if (rc == 0 && admin_catalog_change(a, ddl_body, (void *) sql) < 0)
		return -1;
	admin_notice(a, "applied on %d masters", a->nnodes);
	return 0;
}

int
pgmm_admin_set_catchup_wait(PGMMadmin *a, int ms)
{
	if (a == NULL || ms < 1)
		return -1;
	a->catchup_wait_ms = ms;
	return 0;
}

/* ------------------------------------------------------------ ddl on managed tables
 *
 * A DDL body that changes a replicated table cannot simply commit
 * everywhere: COMMIT PREPARED reaches the masters one after the other, and
 * rows written a moment earlier with the old columns would reach a master
 * that already has the new ones (DROP COLUMN: its apply worker fails for
 * ever).  So a body that names a managed table runs as three steps:
 *
 *   1. freeze (one catalog change): every master refuses writes to those
 *      tables with PM006 (frozen_reason = the ddl text);
 *   2. catch up: each master's WAL position after the freeze, and wait
 *      (bounded, pgmm_admin_set_catchup_wait / `pgmm ddl --catchup-wait`)
 *      until every subscription from it has got that far;
 *   3. the DDL (one catalog change, still frozen), then unfreeze (another).
 *
 * If step 2 or 3 fails the tables are unfrozen again and nothing changed.
 * Which tables: every managed table whose name the body mentions as a word
 * (case-insensitively, wherever it appears, comments and strings included):
 * a superset of those the statements change, freezing one too many only
 * pauses its writers a moment longer.
 */

#define DDL_CATCHUP_DEFAULT_MS 30000
#define DDL_REASON_MAX 200

static int
ident_char(unsigned char ch)
{
	return ch == '_' || ch == '$' || ch >= 0x80 || (ch >= '0' && ch <= '9') ||
	       (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* 1 when name occurs in body as a whole word (case-insensitively). */
int
admin_ddl_mentions(const char *body, const char *name)
{
	size_t n = strlen(name);
	const char *p;

	if (n == 0)
		return 0;
	for (p = body; *p; p++)
	{
		size_t k;

		if (p > body && ident_char((unsigned char) p[-1]))
			continue;
		for (k = 0; k < n && p[k]; k++)
		{
			char x = p[k], y = name[k];

			if (x >= 'A' && x <= 'Z')
				x = (char) (x - 'A' + 'a');
			if (y >= 'A' && y <= 'Z')
				y = (char) (y - 'A' + 'a');
			if (x != y)
				break;
		}
		if (k == n && !ident_char((unsigned char) p[n]))
			return 1;
	}
	return 0;
}

/* The freeze reason stored in pgmm.tables.frozen_reason: "pgmm ddl: "
 * and the body, whitespace squeezed, cut at DDL_REASON_MAX bytes (on a
 * UTF-8 character boundary). */
void
admin_ddl_reason(pgmm_buf *b, const char *body)
{
	size_t start = b->len, room;
	int space = 0;
	const char *p;

	pgmm_buf_append(b, "pgmm ddl: ");
	room = b->len - start + DDL_REASON_MAX;
	for (p = body + strspn(body, " \t\r\n"); *p; p++)
	{
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		{
			space = 1;
			continue;
		}
		if (b->len - start >= room && ((unsigned char) *p & 0xC0) != 0x80)
		{
			pgmm_buf_append(b, "...");
			return;
		}
		if (space)
			pgmm_buf_append_len(b, " ", 1);
		space = 0;
		pgmm_buf_append_len(b, p, 1);
	}
}

typedef struct ddl_freeze
{
	const char *sql;
	pgmm_buf    where;    /* (schema_name, table_name) IN (...) */
	pgmm_buf    reason;
	pgmm_buf    names;    /* "public.t, public.u" for messages */
} ddl_freeze;

/* What the freeze and unfreeze bodies need. */
typedef struct freeze_args
{
	const char *where;
	const char *reason;
} freeze_args;

static int
freeze_body(PGMMadmin *a, void *arg)
{
	freeze_args *f = arg;
	pgmm_buf sql;
	int rc;

	pgmm_buf_init(&sql);
	pgmm_buf_append(&sql, "UPDATE pgmm.tables SET frozen = true, frozen_reason = ");
	pgmm_buf_literal(&sql, f->reason);
	pgmm_buf_printf(&sql, " WHERE %s", f->where);
	rc = admin_run_all(a, pgmm_buf_str(&sql));
	pgmm_buf_free(&sql);
	return rc;
}

static int
unfreeze_body(PGMMadmin *a, void *arg)
{
	freeze_args *f = arg;
	pgmm_buf sql;
	int rc;

	pgmm_buf_init(&sql);
	pgmm_buf_printf(&sql, "UPDATE pgmm.tables SET frozen = false, frozen_reason = NULL WHERE %s", f->where);
	rc = admin_run_all(a, pgmm_buf_str(&sql));
	pgmm_buf_free(&sql);
	return rc;
}

int
admin_freeze(PGMMadmin *a, const char *where, const char *reason)
{
	freeze_args f;

	f.where = where;
	f.reason = reason;
	return admin_catalog_change(a, freeze_body, &f);
}

int
admin_unfreeze(PGMMadmin *a, const char *where)
{
	freeze_args f;

	f.where = where;
	f.reason = NULL;
	return admin_catalog_change(a, unfreeze_body, &f);
}

static int
ddl_unfreeze_body(PGMMadmin *a, void *arg)
{
	ddl_freeze *f = arg;
	freeze_args u;

	u.where = pgmm_buf_str(&f->where);
	u.reason = NULL;
	return unfreeze_body(a, &u);
}

static int
ddl_frozen_body(PGMMadmin *a, void *arg)
{
	ddl_freeze *f = arg;

	/* Unfreeze first, the body after: a body that sets pgmm.tables itself
	 * has the last word. */
	if (ddl_unfreeze_body(a, arg) < 0)
		return -1;
	return ddl_body_run(a, f->sql, 1);
}

void
admin_sleep_ms(int ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long) (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

long long
admin_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Wait until every subscription has applied everything its publisher wrote
 * before the freeze: on every master the WAL position now (after the
 * freeze committed), then on every other master the progress of the
 * subscription from it: the apply worker's last position reported by the
 * publisher (pg_stat_subscription.latest_end_lsn: a keepalive's position,
 * handled after every change before it was applied) or its replication
 * origin's remote_lsn (the end of the last transaction applied), whichever
 * is further.  0 caught up; -1 with the error naming who did not.
 */
int
admin_wait_catchup(PGMMadmin *a, admin_behind_fn behind, void *arg)
{
	int wait = a->catchup_wait_ms > 0 ? a->catchup_wait_ms : DDL_CATCHUP_DEFAULT_MS;
	char **target = calloc((size_t) a->nnodes, sizeof(char *));
	long long start = admin_now_ms();
	int i, j, rc = -1, pause = 5;

	if (target == NULL)
	{
		admin_seterr(a, "out of memory");
		return -1;
	}
	for (i = 0; i < a->nnodes; i++)
	{
		PGresult *r = admin_query(a, i, "SELECT pg_catalog.pg_current_wal_lsn()", PGRES_TUPLES_OK);

		if (r == NULL)
			goto done;
		target[i] = strdup(PQgetvalue(r, 0, 0));
		PQclear(r);
		if (target[i] == NULL)
		{
			admin_seterr(a, "out of memory");
			goto done;
		}
	}
	for (j = 0; j < a->nnodes; j++)		/* subscriber */
		for (i = 0; i < a->nnodes; i++)	/* publisher */
		{
			pgmm_buf name, q;
			const char *vals[2];

			if (i == j)
				continue;
			pgmm_buf_init(&name);
			pgmm_buf_init(&q);
			admin_build_sub_name(&name, a->nodes[i].name, a->nodes[j].name);
			vals[0] = pgmm_buf_str(&name);
			vals[1] = target[i];
			for (;;)
			{
				PGresult *r = admin_query_params(a, j,
					"SELECT s.subenabled, "
					"  GREATEST((SELECT w.latest_end_lsn FROM pg_catalog.pg_stat_subscription w "
					"                        WHERE w.subid = s.oid AND w.relid IS NULL), "
					"                      (SELECT o.remote_lsn FROM pg_catalog.pg_replication_origin_status o "
					"                        WHERE o.external_id = 'pg_' || s.oid::text)) >= $2::pg_catalog.pg_lsn, "
					"  GREATEST((SELECT w.latest_end_lsn FROM pg_catalog.pg_stat_subscription w "
					"                        WHERE w.subid = s.oid AND w.relid IS NULL), "
					"                      (SELECT o.remote_lsn FROM pg_catalog.pg_replication_origin_status o "
					"                        WHERE o.external_id = 'pg_' || s.oid::text)) "
					"FROM pg_catalog.pg_subscription s WHERE s.subname = $1 "
					"AND s.subdbid = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())",
					2, vals);
				int ok;

				if (r == NULL)
				{
					pgmm_buf_free(&name);
					pgmm_buf_free(&q);
					goto done;
				}
				if (PQntuples(r) != 1)
				{
					admin_seterr(a, "master %s: subscription %s (from master %s) is missing; "
					             "`pgmm status` shows the subscriptions", a->nodes[j].name,
					             pgmm_buf_str(&name), a->nodes[i].name);
					PQclear(r);
					pgmm_buf_free(&name);
					pgmm_buf_free(&q);
					goto done;
				}
				ok = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
				if (!ok && behind)
				{
					int hr = behind(a, i, j, pgmm_buf_str(&name), arg);

					if (hr < 0)
					{
						PQclear(r);
						pgmm_buf_free(&name);
						pgmm_buf_free(&q);
						goto done;
					}
					/* it mended the subscription: give it the whole wait again */
					if (hr == 1)
						start = admin_now_ms();
					/* not to be waited for */
					if (hr == 2)
					{
						PQclear(r);
						break;
					}
				}
				if (!ok && admin_now_ms() - start >= wait)
				{
					admin_seterr(a, "master %s: subscription %s has not applied what master %s wrote before "
					             "the freeze (up to %s; it is at %s%s) within %d ms (--catchup-wait); "
					             "see `pgmm status`", a->nodes[j].name, pgmm_buf_str(&name), a->nodes[i].name,
					             target[i], PQgetisnull(r, 0, 2) ? "no position" : PQgetvalue(r, 0, 2),
					             strcmp(PQgetvalue(r, 0, 0), "t") == 0 ? "" : ", and it is disabled", wait);
					PQclear(r);
					pgmm_buf_free(&name);
					pgmm_buf_free(&q);
					goto done;
				}
				PQclear(r);
				if (ok)
					break;
				admin_sleep_ms(pause);
				pause = pause >= 50 ? 100 : pause * 2;
			}
			pgmm_buf_free(&name);
			pgmm_buf_free(&q);
		}
	rc = 0;
done:
	for (i = 0; i < a->nnodes; i++)
		free(target[i]);
	free(target);
	return rc;
}

/*
 * ddl on managed tables (above).  1 done (frozen, caught up, applied,
 * unfrozen); 0 the body names no managed table (the caller runs it as one
 * catalog change); -1 failed with the error set (nothing changed, the
 * tables unfrozen, unless the error says otherwise).
 */
static int
ddl_frozen(PGMMadmin *a, const char *sql)
{
	ddl_freeze f;
	PGresult *r;
	int i, n = 0, rc = -1;
	long long t0;

	if (!a->ok)
		return -1;
	pgmm_buf_reset(&a->err);
	if (a->home < 0 || a->nodes[a->home].conn == NULL)
		return 0;				/* the catalog change reports it */
	r = PQexec(a->nodes[a->home].conn,
	           "SELECT schema_name, table_name, frozen, frozen_reason FROM pgmm.tables ORDER BY 1, 2");
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
	{
		PQclear(r);
		return 0;				/* no catalog yet: as before */
	}
	f.sql = sql;
	pgmm_buf_init(&f.where);
	pgmm_buf_init(&f.reason);
	pgmm_buf_init(&f.names);
	pgmm_buf_append(&f.where, "(schema_name, table_name) IN (");
	for (i = 0; i < PQntuples(r); i++)
	{
		if (!admin_ddl_mentions(sql, PQgetvalue(r, i, 1)))
			continue;
		if (strcmp(PQgetvalue(r, i, 2), "t") == 0)
		{
			admin_seterr(a, "table %s.%s is frozen (%s): another catalog change is not finished; "
			             "run `pgmm recover`; nothing was changed", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
			             PQgetisnull(r, i, 3) ? "being added to the cluster" : PQgetvalue(r, i, 3));
			goto out;
		}
		pgmm_buf_append(&f.where, n ? ", (" : "(");
		pgmm_buf_literal(&f.where, PQgetvalue(r, i, 0));
		pgmm_buf_append(&f.where, ", ");
		pgmm_buf_literal(&f.where, PQgetvalue(r, i, 1));
		pgmm_buf_append(&f.where, ")");
		pgmm_buf_printf(&f.names, "%s%s.%s", n ? ", " : "", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
		n++;
	}
	pgmm_buf_append(&f.where, ")");
	if (n == 0)
	{
		rc = 0;
		goto out;
	}
	admin_ddl_reason(&f.reason, sql);
	t0 = admin_now_ms();
	if (admin_freeze(a, pgmm_buf_str(&f.where), pgmm_buf_str(&f.reason)) < 0)
	{
		pgmm_buf_printf(&a->err, " (while freezing %s)", pgmm_buf_str(&f.names));
		goto out;
	}
	admin_notice(a, "froze %s on %d masters", pgmm_buf_str(&f.names), a->nnodes);
	if (admin_wait_catchup(a, NULL, NULL) < 0 || admin_catalog_change(a, ddl_frozen_body, &f) < 0)
	{
		pgmm_buf why;

		pgmm_buf_init(&why);
		pgmm_buf_append(&why, pgmm_buf_str(&a->err));
		if (admin_catalog_change(a, ddl_unfreeze_body, &f) < 0)
			admin_seterr(a, "%s; and %s could not be unfrozen: %s; writes to it stay refused "
			             "(PM006) until `pgmm recover` succeeds", pgmm_buf_str(&why), pgmm_buf_str(&f.names),
			             pgmm_buf_str(&a->err));
		else
			admin_seterr(a, "%s; %s unfrozen again, the DDL was not applied on any master",
			             pgmm_buf_str(&why), pgmm_buf_str(&f.names));
		pgmm_buf_free(&why);
		goto out;
	}
	admin_notice(a, "%s frozen for %lld ms", pgmm_buf_str(&f.names), admin_now_ms() - t0);
	rc = 1;
out:
	PQclear(r);
	pgmm_buf_free(&f.where);
	pgmm_buf_free(&f.reason);
	pgmm_buf_free(&f.names);
	return rc;
}

/* ------------------------------------------------------------ table checks */

typedef struct table_info
{
	char *schema;
	char *name;
	char *qualified;     /* "schema"."name" */
	char  relkind;
	char  replident;
	int   has_pk;
	char *signature;     /* columns, types, not null, collations: must match on every master */
} table_info;

static void
table_info_free(table_info *t)
{
	free(t->schema);
	free(t->name);
	free(t->qualified);
	free(t->signature);
	memset(t, 0, sizeof *t);
}

static const char table_info_sql[] =
	"SELECT n.nspname, c.relname, c.relkind::text, c.relreplident::text, "
	"  EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)::text, "
	"  (SELECT pg_catalog.string_agg(pg_catalog.format('%I %s%s%s', a.attname, "
	"      pg_catalog.format_type(a.atttypid, a.atttypmod), "
	"      CASE WHEN a.attnotnull THEN ' not null' ELSE '' END, "
	"      CASE WHEN a.attcollation <> 0 THEN ' collate ' || a.attcollation::regcollation::text ELSE '' END), "
	"      ', ' ORDER BY a.attnum) "
	"     FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) "
	"FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"WHERE c.oid = pg_catalog.to_regclass($1)";

/* Look table up on master i; 0 found, 1 missing, -1 error. */
static int
lookup_table(PGMMadmin *a, int i, const char *table, table_info *t)
{
	const char *v[1] = {table};
	PGresult *r = admin_query_params(a, i, table_info_sql, 1, v);
	pgmm_buf qn;

	memset(t, 0, sizeof *t);
	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1)
	{
		PQclear(r);
		return 1;
	}
	t->schema = strdup(PQgetvalue(r, 0, 0));
	t->name = strdup(PQgetvalue(r, 0, 1));
	t->relkind = PQgetvalue(r, 0, 2)[0];
	t->replident = PQgetvalue(r, 0, 3)[0];
	t->has_pk = PQgetvalue(r, 0, 4)[0] == 't';
	t->signature = strdup(PQgetvalue(r, 0, 5));
	PQclear(r);
	pgmm_buf_init(&qn);
	pgmm_buf_ident(&qn, t->schema ? t->schema : "");
	pgmm_buf_append(&qn, ".");
	pgmm_buf_ident(&qn, t->name ? t->name : "");
	t->qualified = pgmm_buf_take(&qn);
	if (!t->schema || !t->name || !t->signature || !t->qualified)
	{
		admin_seterr(a, "out of memory");
		table_info_free(t);
		return -1;
	}
	return 0;
}

/*
 * Resolve table on the home master and check that every master has the
 * same table, that pgmm does not manage it yet, that it can be replicated
 * and that only the home master holds rows.
 */
static int
check_table_everywhere(PGMMadmin *a, const char *table, table_info *t)
{
	int i, rc;
	PGresult *r;
	const char *v[2];

	if (table == NULL || table[0] == '\0')
	{
		admin_seterr(a, "no table given");
		return -1;
	}
	rc = lookup_table(a, a->home, table, t);
	if (rc != 0)
	{
		if (rc > 0)
			admin_seterr(a, "table \"%s\" does not exist on master %s", table, a->nodes[a->home].name);
		return -1;
	}
	if (strcmp(t->schema, "pgmm") == 0)
	{
		admin_seterr(a, "%s belongs to pgmm's own schema pgmm: pgmm's catalog cannot be distributed or referenced",
		             t->qualified);
		goto fail;
	}
	if (t->relkind != 'r')
	{
		static const char kinds[] = "vview\0mmaterialized view\0Sa sequence\0fa foreign table\0"
			"ian index\0Ia partitioned index\0ca composite type\0ta TOAST table\0";
		const char *k = "an unknown kind of relation";
		const char *p;

		for (p = kinds; *p; p += strlen(p) + 1)
			if (*p == t->relkind)
				k = p + 1;
		if (t->relkind == 'p')
			admin_seterr(a, "%s is a partitioned table: pgmm partitions the table itself; give it an "
			             "unpartitioned table", t->qualified);
		else
			admin_seterr(a, "%s is %s%s, not an ordinary table: pgmm distributes and references ordinary "
			             "tables only", t->qualified, k[0] == 'v' || k[0] == 'm' ? "a " : "", k);
		goto fail;
	}
	v[0] = t->schema;
	v[1] = t->name;
	r = admin_query_params(a, a->home, "SELECT kind FROM pgmm.tables WHERE schema_name = $1 AND table_name = $2", 2, v);
	if (r == NULL)
		goto fail;
	if (PQntuples(r) > 0)
	{
		admin_seterr(a, "%s is already a %s table of this cluster", t->qualified, PQgetvalue(r, 0, 0));
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	if (t->replident == 'n' || (t->replident == 'd' && !t->has_pk) || t->replident == 'i')
	{
		admin_seterr(a, "%s has no primary key: logical replication needs one to copy UPDATE and DELETE "
		             "(add it with `pgmm ddl 'ALTER TABLE %s ADD PRIMARY KEY (...)'`)", t->qualified, t->qualified);
		goto fail;
	}
	for (i = 0; i < a->nnodes; i++)
	{
		table_info o;
		pgmm_buf sql;
		long long rows;

		if (i == a->home)
			continue;
		rc = lookup_table(a, i, t->qualified, &o);
		if (rc != 0)
		{
			if (rc > 0)
				admin_seterr(a, "table %s exists on master %s but not on master %s: create it on every master with `pgmm ddl`",
				             t->qualified, a->nodes[a->home].name, a->nodes[i].name);
			goto fail;
		}
		if (o.relkind != t->relkind || strcmp(o.signature, t->signature) != 0)
		{
			admin_seterr(a, "table %s is not the same on every master: %s has (%s), %s has (%s)", t->qualified,
			             a->nodes[a->home].name, t->signature, a->nodes[i].name, o.signature);
			table_info_free(&o);
			goto fail;
		}
		table_info_free(&o);
		pgmm_buf_init(&sql);
		pgmm_buf_printf(&sql, "SELECT count(*) FROM (SELECT 1 FROM ONLY %s LIMIT 1) x", t->qualified);
		r = admin_query(a, i, pgmm_buf_str(&sql), PGRES_TUPLES_OK);
		pgmm_buf_free(&sql);
		if (r == NULL)
			goto fail;
		rows = atoll(PQgetvalue(r, 0, 0));
		PQclear(r);
		if (rows > 0)
		{
			admin_seterr(a, "table %s has rows on master %s too: pgmm takes existing rows from one master only "
			             "(the one named by -d, here %s); empty the others first", t->qualified, a->nodes[i].name,
			             a->nodes[a->home].name);
			goto fail;
		}
	}
	return 0;
fail:
	table_info_free(t);
	return -1;
}

/*
 * Stream the home master's rows of `src_sql` (a SELECT) into `target` on
 * every other master (all inside the open transaction), with
 * session_replication_role = replica so no guard or user trigger fires.
 */
static int
copy_rows_to_others(PGMMadmin *a, const char *src_sql, const char *target, const char *cols, long long *copied)
{
	PGconn *src = a->nodes[a->home].conn;
	pgmm_buf sql;
	PGresult *r;
	int i, rc = 0, n;
	char *buf;
	char *in_copy = calloc((size_t) a->nnodes, 1);

	*copied = 0;
	if (in_copy == NULL)
	{
		admin_seterr(a, "out of memory");
		return -1;
	}
	/* Targets first: each enters COPY FROM STDIN with triggers off. */
	pgmm_buf_init(&sql);
	pgmm_buf_printf(&sql, "COPY %s (%s) FROM STDIN", target, cols);
	for (i = 0; i < a->nnodes && rc == 0; i++)
	{
		if (i == a->home)
			continue;
		if (admin_run(a, i, "SET LOCAL session_replication_role = replica") < 0)
		{
			rc = -1;
			break;
		}
		r = PQexec(a->nodes[i].conn, pgmm_buf_str(&sql));
		if (r == NULL || PQresultStatus(r) != PGRES_COPY_IN)
		{
			admin_fail(a, i, r);
			rc = -1;
		}
		else
		{
			in_copy[i] = 1;
			PQclear(r);
		}
	}
	if (rc == 0)
	{
		pgmm_buf_reset(&sql);
		pgmm_buf_printf(&sql, "COPY (%s) TO STDOUT", src_sql);
		r = PQexec(src, pgmm_buf_str(&sql));
		if (r == NULL || PQresultStatus(r) != PGRES_COPY_OUT)
		{
			pgmm_buf_printf(&a->err, "master %s: ", a->nodes[a->home].name);
			pgmm_buf_append_pqerror(&a->err, r, src);
			rc = -1;
		}
		PQclear(r);
		if (rc == 0)
		{
			/* Drain the source even after a failure so its connection stays usable. */
			while ((n = PQgetCopyData(src, &buf, 0)) > 0)
			{
				(*copied)++;
				for (i = 0; rc == 0 && i < a->nnodes; i++)
					if (in_copy[i] && PQputCopyData(a->nodes[i].conn, buf, n) != 1)
					{
						pgmm_buf_printf(&a->err, "master %s: COPY failed: ", a->nodes[i].name);
						pgmm_buf_append_pqmsg(&a->err, PQerrorMessage(a->nodes[i].conn));
						rc = -1;
					}
				PQfreemem(buf);
			}
			while ((r = PQgetResult(src)) != NULL)
			{
				if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == 0)
				{
					pgmm_buf_printf(&a->err, "master %s: COPY out failed: ", a->nodes[a->home].name);
					pgmm_buf_append_pqresult(&a->err, r);
					rc = -1;
				}
				PQclear(r);
			}
		}
	}
	pgmm_buf_free(&sql);
	for (i = 0; i < a->nnodes; i++)
	{
		if (!in_copy[i])
			continue;
		if (PQputCopyEnd(a->nodes[i].conn, rc == 0 ? NULL : "pgmm: copy aborted") != 1)
			rc = -1;
		while ((r = PQgetResult(a->nodes[i].conn)) != NULL)
		{
			if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == 0)
			{
				pgmm_buf_printf(&a->err, "master %s: COPY in failed: ", a->nodes[i].name);
				pgmm_buf_append_pqresult(&a->err, r);
				rc = -1;
			}
			PQclear(r);
		}
	}
	free(in_copy);
	for (i = 0; i < a->nnodes && rc == 0; i++)
		if (i != a->home && admin_run(a, i, "SET LOCAL session_replication_role = origin") < 0)
			rc = -1;
	return rc;
}

/* Column list (quoted, comma separated) of the live, non-generated
 * columns of rel on the home master. */
static char *
copy_columns(PGMMadmin *a, const char *qualified)
{
	const char *v[1] = {qualified};
	PGresult *r = admin_query_params(a, a->home,
	                                 "SELECT pg_catalog.string_agg(pg_catalog.quote_ident(attname), ', ' ORDER BY attnum) "
	                                 "FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass($1) AND attnum > 0 "
	                                 "AND NOT attisdropped AND attgenerated = ''", 1, v);
	char *s;

	if (r == NULL)
		return NULL;
	s = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (s == NULL)
		admin_seterr(a, "out of memory");
	return s;
}

/* ------------------------------------------------------------ reference */

void
admin_build_reference(pgmm_buf *b, const char *schema, const char *table, const char *owner)
{
	pgmm_buf_append(b, "INSERT INTO pgmm.tables (schema_name, table_name, kind, frozen, owner) VALUES (");
	pgmm_buf_literal(b, schema);
	pgmm_buf_append(b, ", ");
	pgmm_buf_literal(b, table);
	pgmm_buf_append(b, ", 'reference', true, ");
	pgmm_buf_literal(b, owner);
	pgmm_buf_append(b, ")");
}

typedef struct ref_args
{
	table_info *t;
	const char *owner;
	long long   copied;
} ref_args;

static int
reference_body(PGMMadmin *a, void *arg)
{
	ref_args *ra = arg;
	char *cols = copy_columns(a, ra->t->qualified);
	pgmm_buf src, sql;
	int rc;

	if (cols == NULL)
		return -1;
	pgmm_buf_init(&src);
	pgmm_buf_printf(&src, "SELECT %s FROM ONLY %s", cols, ra->t->qualified);
	rc = copy_rows_to_others(a, pgmm_buf_str(&src), ra->t->qualified, cols, &ra->copied);
	pgmm_buf_free(&src);
	free(cols);
	if (rc < 0)
		return -1;
	pgmm_buf_init(&sql);
	admin_build_reference(&sql, ra->t->schema, ra->t->name, ra->owner);
	if (!pgmm_buf_ok(&sql))
	{
		admin_seterr(a, "out of memory");
		rc = -1;
	}
	else
		rc = admin_run_all(a, pgmm_buf_str(&sql));
	pgmm_buf_free(&sql);
	return rc;
}

int
pgmm_admin_reference(PGMMadmin *a, const char *table, const char *owner)
{
	table_info t;
	ref_args ra;
	int rc;

	if (a == NULL)
		return -1;
	if (!a->ok)
		return -1;
	pgmm_buf_reset(&a->err);
	if (owner == NULL)
		owner = a->nodes[a->home].name;
	if (admin_node_index(a, owner) < 0)
	{
		admin_seterr(a, "unknown master \"%s\" for --owner", owner);
		return -1;
	}
	if (!admin_require_all(a))
		return -1;
	if (check_table_everywhere(a, table, &t) < 0)
		return -1;
	ra.t = &t;
	ra.owner = owner;
	ra.copied = 0;
	rc = admin_catalog_change(a, reference_body, &ra);
	if (rc == 0)
	{
		admin_notice(a, "%s is a reference table owned by %s (%lld existing rows copied to the other masters)",
		             t.qualified, owner, ra.copied);
		rc = admin_refresh_and_unfreeze(a);
	}
	table_info_free(&t);
	return rc;
}

/* ------------------------------------------------------------ distribute */

long long
admin_id_seq_floor(long long maxkey, int slot, long long stride)
{
	if (stride <= 0 || slot <= 0 || maxkey < slot)
		return 0;
	/* The largest value <= maxkey in this master's slot: slot + k*stride. */
	return maxkey - ((maxkey - slot) % stride);
}

int
admin_build_distribute(const admin_dist_input *in, admin_stmts *before, admin_stmts *after, pgmm_buf *err)
{
	pgmm_buf old, qid, part, sql;
	int i, k;
	size_t namelen = strlen(in->table);

	if (in->shards < 1 || in->shards > 4096 || (in->new_colocation && in->nowners < 1))
	{
		pgmm_buf_printf(err, "distribute: invalid plan (%d shards, %d masters)", in->shards, in->nowners);
		return -1;
	}
	{
		char last[24];

		snprintf(last, sizeof last, PGMM_SHARD_SUFFIX "%d", in->shards - 1);
		if (namelen + strlen(last) > 63)
		{
			pgmm_buf_printf(err, "table name %s is too long for shard names (%s%s exceeds 63 bytes)", in->table,
			                in->table, last);
			return -1;
		}
	}
	pgmm_buf_init(&old);
	pgmm_buf_init(&qid);
	pgmm_buf_init(&sql);
	pgmm_buf_ident(&old, in->schema);
	pgmm_buf_append(&old, ".");
	pgmm_buf_ident(&old, in->old_name);
	pgmm_buf_ident(&qid, in->column);

	/* Drop foreign keys that point at the table; they come back after. */
	for (k = 0; k < in->nfk_in; k++)
		admin_stmts_addf(before, "ALTER TABLE %s DROP CONSTRAINT %s", in->fk_in[3 * k], in->fk_in[3 * k + 1]);
	/* Free the index names (the new table's indexes take them). */
	for (k = 0; k < in->nidx; k++)
		admin_stmts_addf(before, "ALTER INDEX %s RENAME TO pgmm_old_idx_%s", in->idx[2 * k], in->idx[2 * k + 1]);
	pgmm_buf_reset(&sql);
	pgmm_buf_printf(&sql, "ALTER TABLE %s RENAME TO ", in->qualified);
	pgmm_buf_ident(&sql, in->old_name);
	admin_stmts_add(before, pgmm_buf_str(&sql));
	admin_stmts_addf(before, "CREATE TABLE %s (LIKE %s INCLUDING ALL) PARTITION BY HASH (%s)", in->qualified,
	                 pgmm_buf_str(&old), pgmm_buf_str(&qid));
	/* The key gets pgmm's DEFAULT (pgmm.sync_local), not an identity. */
	admin_stmts_addf(before, "ALTER TABLE %s ALTER COLUMN %s DROP IDENTITY IF EXISTS", in->qualified, pgmm_buf_str(&qid));
	for (i = 0; i < in->shards; i++)
	{
		char *pn = malloc(namelen + 24);

		if (pn == NULL)
		{
			before->broken = 1;
			break;
		}
		snprintf(pn, namelen + 24, "%s" PGMM_SHARD_SUFFIX "%d", in->table, i);
		pgmm_buf_init(&part);
		pgmm_buf_ident(&part, in->schema);
		pgmm_buf_append(&part, ".");
		pgmm_buf_ident(&part, pn);
		free(pn);
		admin_stmts_addf(before, "CREATE TABLE %s PARTITION OF %s FOR VALUES WITH (MODULUS %d, REMAINDER %d)",
		                 pgmm_buf_str(&part), in->qualified, in->shards, i);
		if (in->replident == 'f')
			admin_stmts_addf(before, "ALTER TABLE %s REPLICA IDENTITY FULL", pgmm_buf_str(&part));
		if (!pgmm_buf_ok(&part))
			before->broken = 1;
		pgmm_buf_free(&part);
	}
	if (in->replident == 'f')
		admin_stmts_addf(before, "ALTER TABLE %s REPLICA IDENTITY FULL", in->qualified);

	/* After the rows: sequences owned by the old table's columns move to
	 * the new one, the old table goes, foreign keys come back. */
	for (k = 0; k < in->nseqs; k++)
		admin_stmts_addf(after, "ALTER SEQUENCE %s OWNED BY %s.%s", in->seqs[2 * k], in->qualified, in->seqs[2 * k + 1]);
	admin_stmts_addf(after, "DROP TABLE %s", pgmm_buf_str(&old));
	for (k = 0; k < in->nfk_own; k++)
		admin_stmts_addf(after, "ALTER TABLE %s ADD CONSTRAINT %s %s", in->qualified, in->fk_own[2 * k],
		                 in->fk_own[2 * k + 1]);
	for (k = 0; k < in->nfk_in; k++)
		admin_stmts_addf(after, "ALTER TABLE %s ADD CONSTRAINT %s %s", in->fk_in[3 * k], in->fk_in[3 * k + 1],
		                 in->fk_in[3 * k + 2]);
	/* The catalog. */
	if (in->new_colocation)
	{
		admin_stmts_addf(after, "INSERT INTO pgmm.colocations (id, key_type, shards) VALUES (%d, '%s', %d)",
		                 in->colocation, pgmm_keytype_name(in->keytype), in->shards);
		/* Round-robin over the masters in catalog order, starting where the
		 * previous group stopped so small groups spread too. */
		for (i = 0; i < in->shards; i++)
		{
			pgmm_buf_reset(&sql);
			pgmm_buf_printf(&sql, "INSERT INTO pgmm.shards (colocation, remainder, owner) VALUES (%d, %d, ",
			                in->colocation, i);
			pgmm_buf_literal(&sql, in->owner_names[(i + in->colocation - 1) % in->nowners]);
			pgmm_buf_append(&sql, ")");
			admin_stmts_add(after, pgmm_buf_str(&sql));
		}
	}
	pgmm_buf_reset(&sql);
	pgmm_buf_append(&sql, "INSERT INTO pgmm.tables (schema_name, table_name, kind, frozen, key_column, key_type, "
	                "key_position, colocation) VALUES (");
	pgmm_buf_literal(&sql, in->schema);
	pgmm_buf_append(&sql, ", ");
	pgmm_buf_literal(&sql, in->table);
	pgmm_buf_append(&sql, ", 'distributed', true, ");
	pgmm_buf_literal(&sql, in->column);
	pgmm_buf_printf(&sql, ", '%s', %d, %d)", pgmm_keytype_name(in->keytype), in->key_position, in->colocation);
	admin_stmts_add(after, pgmm_buf_str(&sql));
	if (!pgmm_buf_ok(&sql) || !pgmm_buf_ok(&old) || !pgmm_buf_ok(&qid))
		after->broken = 1;
	pgmm_buf_free(&old);
	pgmm_buf_free(&qid);
	pgmm_buf_free(&sql);
	if (!admin_stmts_ok(before) || !admin_stmts_ok(after))
	{
		pgmm_buf_append(err, "out of memory");
		return -1;
	}
	return 0;
}

typedef struct dist_args
{
	table_info *t;
	const char *column;
	pgmm_keytype keytype;
	int         key_position;
	int         shards;
	int         colocation;     /* existing group, or 0 for a new one */
	long long   copied;
} dist_args;

/* Rows of a query on the home master taking the table's name as $1, as a
 * flat array of ncols strings per row (pointing into *res). */
static const char **
home_rows(PGMMadmin *a, const char *sql, const char *qualified, int ncols, PGresult **res, int *nrows)
{
	const char *v[1] = {qualified};
	const char **out;
	int r, c;

	*nrows = 0;
	*res = admin_query_params(a, a->home, sql, 1, v);
	if (*res == NULL)
		return NULL;
	out = calloc((size_t) (PQntuples(*res) * ncols + 1), sizeof *out);
	if (out == NULL)
	{
		admin_seterr(a, "out of memory");
		return NULL;
	}
	for (r = 0; r < PQntuples(*res); r++)
		for (c = 0; c < ncols; c++)
			out[r * ncols + c] = PQgetvalue(*res, r, c);
	*nrows = PQntuples(*res);
	return out;
}

static int
distribute_body(PGMMadmin *a, void *arg)
{
	dist_args *da = arg;
	table_info *t = da->t;
	PGresult *res[4] = {NULL, NULL, NULL, NULL};
	const char **fk_in = NULL, **fk_own = NULL, **seqs = NULL, **idx = NULL;
	const char **owners = NULL;
	admin_dist_input in;
	admin_stmts before, after;
	pgmm_buf sql;
	char *cols = NULL;
	char tmp[64];
	int i, rc = -1;

	admin_stmts_init(&before);
	admin_stmts_init(&after);
	pgmm_buf_init(&sql);
	memset(&in, 0, sizeof in);
	pgmm_buf_printf(&sql, "LOCK TABLE %s IN ACCESS EXCLUSIVE MODE", t->qualified);
	if (admin_run_all(a, pgmm_buf_str(&sql)) < 0)
		goto out;
	cols = copy_columns(a, t->qualified);
	if (cols == NULL)
		goto out;
	/* What the rename-copy-drop would lose, read once from the home master
	 * (the table is the same everywhere). */
	fk_in = home_rows(a,
	                  "SELECT pg_catalog.format('%s', conrelid::regclass), pg_catalog.quote_ident(conname), "
	                  "pg_catalog.pg_get_constraintdef(oid) FROM pg_catalog.pg_constraint "
	                  "WHERE contype = 'f' AND conparentid = 0 AND confrelid = pg_catalog.to_regclass($1) "
	                  "AND conrelid <> confrelid ORDER BY 1, 2", t->qualified, 3, &res[0], &in.nfk_in);
	fk_own = home_rows(a,
	                   "SELECT pg_catalog.quote_ident(conname), pg_catalog.pg_get_constraintdef(oid) "
	                   "FROM pg_catalog.pg_constraint WHERE contype = 'f' AND conparentid = 0 "
	                   "AND conrelid = pg_catalog.to_regclass($1) ORDER BY 1", t->qualified, 2, &res[1], &in.nfk_own);
	seqs = home_rows(a,
	                 "SELECT d.objid::regclass::text, pg_catalog.quote_ident(a.attname) "
	                 "FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_attribute a "
	                 "  ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
	                 "WHERE d.refobjid = pg_catalog.to_regclass($1) AND d.classid = 'pg_catalog.pg_class'::regclass "
	                 "AND d.deptype IN ('a', 'i') AND (SELECT relkind FROM pg_catalog.pg_class WHERE oid = d.objid) = 'S' "
	                 "ORDER BY 1", t->qualified, 2, &res[2], &in.nseqs);
	idx = home_rows(a,
	                "SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname), c.oid "
	                "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
	                "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	                "WHERE i.indrelid = pg_catalog.to_regclass($1) ORDER BY 1", t->qualified, 2, &res[3], &in.nidx);
	if (!fk_in || !fk_own || !seqs || !idx)
		goto out;
	if (da->colocation == 0)
	{
		PGresult *x = admin_query(a, a->home, "SELECT coalesce(max(id), 0) + 1 FROM pgmm.colocations", PGRES_TUPLES_OK);

		if (x == NULL)
			goto out;
		in.colocation = atoi(PQgetvalue(x, 0, 0));
		in.new_colocation = 1;
		PQclear(x);
	}
	else
		in.colocation = da->colocation;
	owners = calloc((size_t) a->nnodes, sizeof *owners);
	if (owners == NULL)
	{
		admin_seterr(a, "out of memory");
		goto out;
	}
	for (i = 0; i < a->nnodes; i++)
		owners[i] = a->nodes[i].name;
	snprintf(tmp, sizeof tmp, "pgmm_old_%08x", (unsigned) randombytes_random());
	in.schema = t->schema;
	in.table = t->name;
	in.qualified = t->qualified;
	in.column = da->column;
	in.old_name = tmp;
	in.keytype = da->keytype;
	in.key_position = da->key_position;
	in.shards = da->shards;
	in.replident = t->replident;
	in.owner_names = owners;
	in.nowners = a->nnodes;
	in.fk_in = fk_in;
	in.fk_own = fk_own;
	in.seqs = seqs;
	in.idx = idx;
	if (admin_build_distribute(&in, &before, &after, &a->err) < 0)
		goto out;

	if (admin_stmts_run_all(a, &before) < 0)
		goto out;
	/* Rows: into their shards on the home master, then to every other. */
	pgmm_buf_reset(&sql);
	pgmm_buf_append(&sql, "INSERT INTO ");
	pgmm_buf_append(&sql, t->qualified);
	pgmm_buf_printf(&sql, " (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM ONLY ", cols, cols);
	pgmm_buf_ident(&sql, t->schema);
	pgmm_buf_append(&sql, ".");
	pgmm_buf_ident(&sql, tmp);
	if (admin_run(a, a->home, pgmm_buf_str(&sql)) < 0)
		goto out;
	pgmm_buf_reset(&sql);
	pgmm_buf_printf(&sql, "SELECT %s FROM %s", cols, t->qualified);
	if (copy_rows_to_others(a, pgmm_buf_str(&sql), t->qualified, cols, &da->copied) < 0)
		goto out;
	if (admin_stmts_run_all(a, &after) < 0)
		goto out;
	da->colocation = in.colocation;
	/* Existing integer keys: move every master's ID sequence past them so
	 * new IDs never collide with imported ones. */
	if (da->copied > 0 && pgmm_keytype_is_integer(da->keytype))
	{
		PGresult *x;
		long long maxkey, stride;

		pgmm_buf_reset(&sql);
		pgmm_buf_append(&sql, "SELECT coalesce(max(");
		pgmm_buf_ident(&sql, da->column);
		pgmm_buf_printf(&sql, "), 0)::bigint, (SELECT stride FROM pgmm.cluster) FROM %s", t->qualified);
		x = admin_query(a, a->home, pgmm_buf_str(&sql), PGRES_TUPLES_OK);
		if (x == NULL)
			goto out;
		maxkey = atoll(PQgetvalue(x, 0, 0));
		stride = atoll(PQgetvalue(x, 0, 1));
		PQclear(x);
		for (i = 0; i < a->nnodes; i++)
		{
			long long base = admin_id_seq_floor(maxkey, a->nodes[i].slot, stride);

			if (base == 0)
				continue;
			pgmm_buf_reset(&sql);
			pgmm_buf_printf(&sql, "SELECT pg_catalog.setval('pgmm.id_seq', %lld) "
			                "WHERE (SELECT last_value FROM pgmm.id_seq) < %lld", base, base);
			x = admin_query(a, i, pgmm_buf_str(&sql), PGRES_TUPLES_OK);
			if (x == NULL)
				goto out;
			PQclear(x);
		}
	}
	rc = 0;
out:
	for (i = 0; i < 4; i++)
		PQclear(res[i]);
	free(fk_in);
	free(fk_own);
	free(seqs);
	free(idx);
	free(owners);
	free(cols);
	admin_stmts_free(&before);
	admin_stmts_free(&after);
	pgmm_buf_free(&sql);
	return rc;
}

int
pgmm_admin_distribute(PGMMadmin *a, const char *table, const char *column, int shards,
                      const char *colocate_with)
{
	table_info t;
	dist_args da;
	PGresult *r;
	const char *v[3];
	int rc;

	if (a == NULL)
		return -1;
	if (!a->ok)
		return -1;
	pgmm_buf_reset(&a->err);
	if (column == NULL || column[0] == '\0')
	{
		admin_seterr(a, "distribute: no key column given");
		return -1;
	}
	if (shards < 0 || shards > 4096)
	{
		admin_seterr(a, "distribute: --shards must be between 1 and 4096 (got %d)", shards);
		return -1;
	}
	if (!admin_require_all(a))
		return -1;
	if (check_table_everywhere(a, table, &t) < 0)
		return -1;
	memset(&da, 0, sizeof da);
	da.t = &t;
	da.column = column;
	/* The key column: type, collation, position, unique constraints. */
	v[0] = t.qualified;
	v[1] = column;
	r = admin_query_params(a, a->home,
	       "SELECT t.typname, t.typtype::text, coalesce(co.collisdeterministic, true)::text, "
	       "  (SELECT count(*) FROM pg_catalog.pg_attribute b WHERE b.attrelid = a.attrelid AND b.attnum > 0 "
	       "     AND NOT b.attisdropped AND b.attnum <= a.attnum), "
	       "  (SELECT pg_catalog.string_agg(i.indexrelid::regclass::text, ', ') FROM pg_catalog.pg_index i "
	       "    WHERE i.indrelid = a.attrelid AND i.indisunique AND NOT (a.attnum = ANY (i.indkey::int2[]))), "
	       "  a.attgenerated::text "
	       "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
	       "LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation "
	       "WHERE a.attrelid = pg_catalog.to_regclass($1) AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
	       2, v);
	if (r == NULL)
		goto fail;
	if (PQntuples(r) != 1)
	{
		admin_seterr(a, "column \"%s\" does not exist in table %s", column, t.qualified);
		PQclear(r);
		goto fail;
	}
	da.keytype = pgmm_keytype_from_name(PQgetvalue(r, 0, 0));
	if (da.keytype == PGMM_KEY_INVALID || PQgetvalue(r, 0, 1)[0] != 'b')
	{
		admin_seterr(a, "column %s of %s has type %s, which pgmm cannot route on; supported key types: "
		             "smallint, integer, bigint, text, varchar, char(n), uuid, bytea, date, timestamp, timestamptz, "
		             "numeric, boolean", column, t.qualified, PQgetvalue(r, 0, 0));
		PQclear(r);
		goto fail;
	}
	if (PQgetvalue(r, 0, 2)[0] != 't')
	{
		admin_seterr(a, "column %s of %s has a nondeterministic collation; its hash is not the byte hash pgmm computes",
		             column, t.qualified);
		PQclear(r);
		goto fail;
	}
	if (PQgetvalue(r, 0, 5)[0] != '\0')
	{
		admin_seterr(a, "column %s of %s is a generated column and cannot be the key", column, t.qualified);
		PQclear(r);
		goto fail;
	}
	if (PQgetvalue(r, 0, 4)[0] != '\0')
	{
		admin_seterr(a, "the key %s must be part of every unique constraint of %s (PostgreSQL requires it for "
		             "partitioned tables), but these do not include it: %s", column, t.qualified, PQgetvalue(r, 0, 4));
		PQclear(r);
		goto fail;
	}
	da.key_position = atoi(PQgetvalue(r, 0, 3));
	PQclear(r);
	da.shards = shards ? shards : PGMM_DEFAULT_SHARDS;
	if (colocate_with)
	{
		table_info c;
		int lr = lookup_table(a, a->home, colocate_with, &c);

		if (lr != 0)
		{
			if (lr > 0)
				admin_seterr(a, "--colocate-with: table \"%s\" does not exist", colocate_with);
			goto fail;
		}
		v[0] = c.schema;
		v[1] = c.name;
		r = admin_query_params(a, a->home,
		       "SELECT t.colocation, c.key_type, c.shards FROM pgmm.tables t JOIN pgmm.colocations c ON c.id = t.colocation "
		       "WHERE t.schema_name = $1 AND t.table_name = $2 AND t.kind = 'distributed'", 2, v);
		if (r == NULL)
		{
			table_info_free(&c);
			goto fail;
		}
		if (PQntuples(r) != 1)
		{
			admin_seterr(a, "--colocate-with: %s is not a distributed table", c.qualified);
			PQclear(r);
			table_info_free(&c);
			goto fail;
		}
		if (pgmm_keytype_from_name(PQgetvalue(r, 0, 1)) != da.keytype)
		{
			admin_seterr(a, "--colocate-with: %s is distributed by a %s key, but %s.%s is %s", c.qualified,
			             PQgetvalue(r, 0, 1), t.qualified, column, pgmm_keytype_name(da.keytype));
			PQclear(r);
			table_info_free(&c);
			goto fail;
		}
		if (shards && shards != atoi(PQgetvalue(r, 0, 2)))
		{
			admin_seterr(a, "--colocate-with: %s has %s shards, --shards says %d", c.qualified, PQgetvalue(r, 0, 2),
			             shards);
			PQclear(r);
			table_info_free(&c);
			goto fail;
		}
		da.colocation = atoi(PQgetvalue(r, 0, 0));
		da.shards = atoi(PQgetvalue(r, 0, 2));
		PQclear(r);
		table_info_free(&c);
	}
	rc = admin_catalog_change(a, distribute_body, &da);
	if (rc == 0)
	{
		admin_notice(a, "%s is distributed by %s into %d shards (%lld existing rows placed and copied to every master)",
		             t.qualified, column, da.shards, da.copied);
		rc = admin_refresh_and_unfreeze(a);
	}
	table_info_free(&t);
	return rc;
fail:
	table_info_free(&t);
	return -1;
}

/* ------------------------------------------------------------ drop */

typedef struct drop_table
{
	char *schema;
	char *name;
	char *qualified;
	int   distributed;
	char *owner;          /* reference: its owner */
	char *colocation;     /* distributed: its group id (text) */
} drop_table;

typedef struct drop_args
{
	drop_table *t;
	int         n;
	admin_stmts *locks;   /* per master: the relations it accepts writes to */
	admin_stmts drop;     /* DROP TABLE and the catalog rows, on every master */
} drop_args;

static void
drop_args_free(drop_args *d, int nnodes)
{
	int k;

	for (k = 0; k < d->n; k++)
	{
		free(d->t[k].schema);
		free(d->t[k].name);
		free(d->t[k].qualified);
		free(d->t[k].owner);
		free(d->t[k].colocation);
	}
	free(d->t);
	for (k = 0; d->locks && k < nnodes; k++)
		admin_stmts_free(&d->locks[k]);
	free(d->locks);
	admin_stmts_free(&d->drop);
}

/* How long drop waits for every subscription to have applied what was
 * written before the tables were locked. */
#define DROP_CATCHUP_MS 30000

static const char drop_lookup_sql[] =
	"SELECT t.schema_name, t.table_name, t.kind, t.owner, t.colocation::text, "
	"  pg_catalog.format('%I.%I', t.schema_name, t.table_name) "
	"FROM pgmm.tables t WHERE pg_catalog.to_regclass(pg_catalog.format('%I.%I', t.schema_name, t.table_name)) "
	"  = pg_catalog.to_regclass($1)";

/* Wait until every pgmm slot on every master confirmed the WAL written so
 * far: nothing written to the tables before they were locked is still on
 * its way (it would find them dropped and stop the subscription). */
static int
drop_wait_caught_up(PGMMadmin *a)
{
	int i, waited = 0;

	for (i = 0; i < a->nnodes; i++)
	{
		PGresult *r = admin_query(a, i, "SELECT pg_catalog.pg_current_wal_lsn()::text", PGRES_TUPLES_OK);
		char lsn[64];
		const char *v[1];

		if (r == NULL)
			return -1;
		snprintf(lsn, sizeof lsn, "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
		v[0] = lsn;
		for (;;)
		{
			r = admin_query_params(a, i, "SELECT coalesce(string_agg(slot_name, ', ' ORDER BY slot_name), '') "
			                       "FROM pg_catalog.pg_replication_slots WHERE database = current_database() "
			                       "AND slot_type = 'logical' AND slot_name LIKE 'pgmm\\_%' "
			                       "AND (confirmed_flush_lsn IS NULL OR confirmed_flush_lsn < $1::pg_lsn)", 1, v);
			if (r == NULL)
				return -1;
			if (PQgetvalue(r, 0, 0)[0] == '\0')
			{
				PQclear(r);
				break;
			}
			if (waited >= DROP_CATCHUP_MS)
			{
				pgmm_buf_printf(&a->err, "master %s: the subscriptions of slot(s) %s have not applied master "
				                "%s's changes after %d s: dropping now could stop them (see `pgmm status`)",
				                a->nodes[i].name, PQgetvalue(r, 0, 0), a->nodes[i].name, DROP_CATCHUP_MS / 1000);
				PQclear(r);
				return -1;
			}
			PQclear(r);
			{
				struct timespec ts = {0, 100 * 1000 * 1000};

				nanosleep(&ts, NULL);
			}
			waited += 100;
		}
	}
	return 0;
}

static int
drop_body(PGMMadmin *a, void *arg)
{
	drop_args *d = arg;
	int i;

	/* 1. no new writes: each master locks what it accepts writes to (not
	 * what replication writes into, so the subscriptions can catch up) */
	for (i = 0; i < a->nnodes; i++)
		if (admin_stmts_run_on(a, i, &d->locks[i]) < 0)
			return -1;
	/* 2. everything written before is applied everywhere */
	if (drop_wait_caught_up(a) < 0)
		return -1;
	/* 3. drop (shards, guards, publication entries go with the tables) */
	return admin_stmts_run_all(a, &d->drop);
}

int
pgmm_admin_drop(PGMMadmin *a, const char *const *tables, int ntables)
{
	drop_args d;
	pgmm_buf sql;
	int k, j, i, rc = -1;

	if (a == NULL || !a->ok)
		return -1;
	pgmm_buf_reset(&a->err);
	memset(&d, 0, sizeof d);
	admin_stmts_init(&d.drop);
	if (tables == NULL || ntables < 1)
	{
		admin_seterr(a, "drop: no table given");
		return -1;
	}
	for (k = 0; k < ntables; k++)
		if (tables[k] == NULL || tables[k][0] == '\0')
		{
			admin_seterr(a, "drop: table %d is empty or NULL", k + 1);
			return -1;
		}
	if (!admin_require_all(a))
		return -1;
	d.t = calloc((size_t) ntables, sizeof *d.t);
	d.locks = calloc((size_t) a->nnodes, sizeof *d.locks);
	if (d.t == NULL || d.locks == NULL)
	{
		admin_seterr(a, "out of memory");
		goto done;
	}
	for (i = 0; i < a->nnodes; i++)
		admin_stmts_init(&d.locks[i]);
	for (k = 0; k < ntables; k++)
	{
		const char *v[1] = {tables[k]};
		PGresult *r = admin_query_params(a, a->home, drop_lookup_sql, 1, v);
		drop_table *t;

		if (r == NULL)
			goto done;
		if (PQntuples(r) != 1)
		{
			admin_seterr(a, "drop: \"%s\" is not a table pgmm manages (`pgmm status` lists them; an unmanaged "
			             "table is dropped with `pgmm ddl 'DROP TABLE ...'`); nothing was changed", tables[k]);
			PQclear(r);
			goto done;
		}
		for (j = 0; j < d.n; j++)
			if (strcmp(d.t[j].qualified, PQgetvalue(r, 0, 5)) == 0)
				break;
		if (j < d.n)
		{
			PQclear(r);
			continue;
		}
		t = &d.t[d.n++];
		t->schema = strdup(PQgetvalue(r, 0, 0));
		t->name = strdup(PQgetvalue(r, 0, 1));
		t->distributed = strcmp(PQgetvalue(r, 0, 2), "distributed") == 0;
		t->owner = PQgetisnull(r, 0, 3) ? NULL : strdup(PQgetvalue(r, 0, 3));
		t->colocation = PQgetisnull(r, 0, 4) ? NULL : strdup(PQgetvalue(r, 0, 4));
		t->qualified = strdup(PQgetvalue(r, 0, 5));
		PQclear(r);
		if (!t->schema || !t->name || !t->qualified || (t->distributed && !t->colocation) ||
		    (!t->distributed && !t->owner))
		{
			admin_seterr(a, "out of memory");
			goto done;
		}
	}
	/* Colocated tables go together. */
	for (k = 0; k < d.n; k++)
	{
		const char *v[1];
		PGresult *r;
		int x;

		if (!d.t[k].distributed)
			continue;
		v[0] = d.t[k].colocation;
		r = admin_query_params(a, a->home, "SELECT pg_catalog.format('%I.%I', schema_name, table_name) "
		                       "FROM pgmm.tables WHERE colocation::text = $1 ORDER BY 1", 1, v);
		if (r == NULL)
			goto done;
		for (x = 0; x < PQntuples(r); x++)
		{
			for (j = 0; j < d.n; j++)
				if (strcmp(d.t[j].qualified, PQgetvalue(r, x, 0)) == 0)
					break;
			if (j == d.n)
			{
				admin_seterr(a, "drop: %s is colocated with %s (pgmm colocation group %s: their shards share "
				             "owners and may reference each other): drop them together (`pgmm drop %s %s`); "
				             "nothing was changed", d.t[k].qualified, PQgetvalue(r, x, 0), d.t[k].colocation,
				             d.t[k].qualified, PQgetvalue(r, x, 0));
				PQclear(r);
				goto done;
			}
		}
		PQclear(r);
	}
	/* The locks each master takes. */
	for (k = 0; k < d.n; k++)
	{
		drop_table *t = &d.t[k];

		if (!t->distributed)
		{
			i = admin_node_index(a, t->owner);
			if (i >= 0)
				admin_stmts_addf(&d.locks[i], "LOCK TABLE ONLY %s IN EXCLUSIVE MODE", t->qualified);
			continue;
		}
		for (i = 0; i < a->nnodes; i++)
			admin_stmts_addf(&d.locks[i], "LOCK TABLE ONLY %s IN EXCLUSIVE MODE", t->qualified);
		{
			const char *v[1] = {t->colocation};
			PGresult *r = admin_query_params(a, a->home, "SELECT remainder, owner FROM pgmm.shards "
			                                 "WHERE colocation::text = $1 ORDER BY remainder", 1, v);
			int x;

			if (r == NULL)
				goto done;
			for (x = 0; x < PQntuples(r); x++)
			{
				pgmm_buf shard;

				i = admin_node_index(a, PQgetvalue(r, x, 1));
				if (i < 0)
					continue;
				pgmm_buf_init(&shard);
				pgmm_buf_printf(&shard, "%s" PGMM_SHARD_SUFFIX "%s", t->name, PQgetvalue(r, x, 0));
				pgmm_buf_init(&sql);
				pgmm_buf_append(&sql, "LOCK TABLE ONLY ");
				pgmm_buf_ident(&sql, t->schema);
				pgmm_buf_append(&sql, ".");
				pgmm_buf_ident(&sql, pgmm_buf_str(&shard));
				pgmm_buf_append(&sql, " IN EXCLUSIVE MODE");
				admin_stmts_add(&d.locks[i], pgmm_buf_str(&sql));
				pgmm_buf_free(&sql);
				pgmm_buf_free(&shard);
			}
			PQclear(r);
		}
	}
	{
		const char **sch = calloc((size_t) d.n + 1, sizeof *sch), **nam = calloc((size_t) d.n + 1, sizeof *nam);

		if (sch == NULL || nam == NULL)
		{
			free(sch);
			free(nam);
			admin_seterr(a, "out of memory");
			goto done;
		}
		for (k = 0; k < d.n; k++)
		{
			sch[k] = d.t[k].schema;
			nam[k] = d.t[k].name;
		}
		admin_build_drop_tables(&d.drop, sch, nam, d.n, 1);
		free(sch);
		free(nam);
	}
	for (i = 0; i < a->nnodes; i++)
		if (!admin_stmts_ok(&d.locks[i]))
		{
			admin_seterr(a, "out of memory");
			goto done;
		}
	if (!admin_stmts_ok(&d.drop))
	{
		admin_seterr(a, "out of memory");
		goto done;
	}
	rc = admin_catalog_change(a, drop_body, &d);
	if (rc == 0)
	{
		for (k = 0; k < d.n; k++)
			admin_notice(a, "%s dropped on %d masters", d.t[k].qualified, a->nnodes);
		rc = admin_refresh_subscriptions(a);
	}
done:
	drop_args_free(&d, a->nnodes);
	return rc;
}

void
admin_build_drop_tables(admin_stmts *s, const char *const *schemas, const char *const *names, int n, int drop)
{
	pgmm_buf b;
	int k;

	if (n < 1)
		return;
	pgmm_buf_init(&b);
	if (drop)
	{
		pgmm_buf_append(&b, "DROP TABLE ");
		for (k = 0; k < n; k++)
		{
			pgmm_buf_append(&b, k ? ", " : "");
			pgmm_buf_ident(&b, schemas[k]);
			pgmm_buf_append(&b, ".");
			pgmm_buf_ident(&b, names[k]);
		}
		admin_stmts_add(s, pgmm_buf_str(&b));
		pgmm_buf_reset(&b);
	}
	pgmm_buf_append(&b, "DELETE FROM pgmm.tables WHERE (schema_name, table_name) IN (");
	for (k = 0; k < n; k++)
	{
		pgmm_buf_append(&b, k ? ", (" : "(");
		pgmm_buf_literal(&b, schemas[k]);
		pgmm_buf_append(&b, ", ");
		pgmm_buf_literal(&b, names[k]);
		pgmm_buf_append(&b, ")");
	}
	pgmm_buf_append(&b, ")");
	admin_stmts_add(s, pgmm_buf_str(&b));
	pgmm_buf_free(&b);
	/* a colocation group left without tables goes with its shards */
	admin_stmts_add(s, "DELETE FROM pgmm.shards s WHERE NOT EXISTS "
	                "(SELECT 1 FROM pgmm.tables t WHERE t.colocation = s.colocation)");
	admin_stmts_add(s, "DELETE FROM pgmm.colocations c WHERE NOT EXISTS "
	                "(SELECT 1 FROM pgmm.tables t WHERE t.colocation = c.id)");
}
