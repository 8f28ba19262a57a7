/*
 * admin_frame.c -- the admin handle, its node set, and the catalog-change
 * frame.
 *
 * Callers: the public pgmm_admin_connect/_ok/_error/_finish/_set_notice
 * (applications, tools/pgmm.c, the bindings), and the other admin files
 * (admin_init.c, admin_tables.c, admin_report.c) through admin_int.h.
 *
 * Every catalog change is one two-phase commit across all masters: BEGIN
 * on each, lock the cluster row (all epochs must agree), do the work, bump
 * the epoch, make the master's guards/publication/defaults agree with the
 * catalog (pgmm.sync_local()), then twophase.c prepares every master in
 * catalog order and commits (the last master decides; see twophase.h).
 * If anything fails before the decider's PREPARE, every master rolls back
 * and none keeps the change.  Subscription commands that cannot run in a
 * transaction block follow the commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "admin_int.h"

const char admin_sql_lock_epoch[] = "SELECT epoch FROM pgmm.cluster FOR UPDATE";
const char admin_sql_bump_epoch[] = "UPDATE pgmm.cluster SET epoch = epoch + 1";
const char admin_sql_sync_local[] = "SELECT pgmm.sync_local()";
const char admin_sql_unfreeze[] = "UPDATE pgmm.tables SET frozen = false, frozen_reason = NULL WHERE frozen";
const char admin_sql_list_subscriptions[] =
	"SELECT subname FROM pg_catalog.pg_subscription WHERE subname LIKE 'pgmm\\_%' "
	"AND subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) ORDER BY 1";

/* ------------------------------------------------------------ messages */

void
admin_notice(PGMMadmin *a, const char *fmt, ...)
{
	pgmm_buf b;
	va_list ap;

	if (a->notice == NULL)
		return;
	pgmm_buf_init(&b);
	va_start(ap, fmt);
	pgmm_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	a->notice(a->notice_arg, pgmm_buf_str(&b));
	pgmm_buf_free(&b);
}

void
admin_seterr(PGMMadmin *a, const char *fmt, ...)
{
	va_list ap;

	pgmm_buf_reset(&a->err);
	va_start(ap, fmt);
	pgmm_buf_vprintf(&a->err, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ node set */

void
admin_free_nodes(pgmm_node *nodes, int n)
{
	int i;

	if (nodes == NULL)
		return;
	for (i = 0; i < n; i++)
	{
		if (nodes[i].conn)
			PQfinish(nodes[i].conn);
		free(nodes[i].name);
		free(nodes[i].conninfo);
	}
	free(nodes);
}

PGconn *
admin_connect_node(const char *name, const char *conninfo, pgmm_buf *err)
{
	return admin_connect_node_timeout(name, conninfo, 0, err);
}

PGconn *
admin_connect_node_timeout(const char *name, const char *conninfo, int timeout_s, pgmm_buf *err)
{
	/* The conninfo expanded first, then connect_timeout on top of it (a
	 * later keyword wins), so a short bound applies whatever the catalog
	 * conninfo says. */
	const char *keys[] = {"dbname", timeout_s > 0 ? "connect_timeout" : NULL, NULL};
	char tbuf[16];
	const char *vals[3];
	PGconn *c;

	snprintf(tbuf, sizeof tbuf, "%d", timeout_s);
	vals[0] = conninfo;
	vals[1] = tbuf;
	vals[2] = NULL;
	c = PQconnectdbParams(keys, vals, 1);

	if (c == NULL)
	{
		pgmm_buf_printf(err, "master %s: out of memory", name);
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK)
	{
		char *d = pgmm_conninfo_describe(conninfo);

		pgmm_buf_printf(err, "master %s (%s) is unreachable: ", name, d ? d : "");
		pgmm_buf_append_pqmsg(err, PQerrorMessage(c));
		free(d);
		PQfinish(c);
		return NULL;
	}
	/* Quiet NOTICEs (e.g. from CREATE ... IF NOT EXISTS). */
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	return c;
}

int
admin_require_all(PGMMadmin *a)
{
	int i;

	for (i = 0; i < a->nnodes; i++)
	{
		pgmm_node *n = &a->nodes[i];

		if (n->conn && PQstatus(n->conn) != CONNECTION_OK)
			PQreset(n->conn);
		if (n->conn == NULL || PQstatus(n->conn) != CONNECTION_OK)
		{
			if (n->conn)
			{
				PQfinish(n->conn);
				n->conn = NULL;
			}
			pgmm_buf_reset(&a->err);
			n->conn = admin_connect_node(n->name, n->conninfo, &a->err);
			if (n->conn == NULL)
			{
				pgmm_buf_append(&a->err, "; every master must be up for this change, nothing was changed");
				return 0;
			}
		}
	}
	return 1;
}

int
admin_node_index(const PGMMadmin *a, const char *name)
{
	int i;

	for (i = 0; name && i < a->nnodes; i++)
		if (strcmp(a->nodes[i].name, name) == 0)
			return i;
	return -1;
}

pgmm_2pc_part *
admin_parts(const PGMMadmin *a)
{
	pgmm_2pc_part *p = calloc((size_t) (a->nnodes ? a->nnodes : 1), sizeof *p);
	int i;

	if (p == NULL)
		return NULL;
	for (i = 0; i < a->nnodes; i++)
	{
		p[i].conn = a->nodes[i].conn;
		p[i].name = a->nodes[i].name;
	}
	return p;
}

/* ------------------------------------------------------------ running SQL */

void
admin_note_failure(PGMMadmin *a, int i, const PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (state && strcmp(state, "55P03") == 0)
		a->lock_blocked = i;
	/* A deadlock with a writer (its INSERT locks the parent, then the
	 * shard; sync_local the shards, then the parent): the server rolled
	 * the change back; admin_catalog_change may run it again. */
	if (state && strcmp(state, "40P01") == 0)
		a->change_deadlocked = 1;
}

/* Who holds locks in this database: prepared transactions (their locks
 * have no pid) and sessions with an open transaction holding a lock on a
 * relation that is not a system catalog. */
static const char admin_sql_lock_holders[] =
	"SELECT coalesce(string_agg(w, '; ' ORDER BY o, w), '') FROM ("
	" SELECT 0 AS o, pg_catalog.format('prepared transaction %L (owner %s, prepared %s s ago%s)', p.gid, p.owner, "
	"   round(extract(epoch FROM now() - p.prepared))::bigint, "
	"   coalesce(', locking ' || (SELECT string_agg(DISTINCT l.relation::regclass::text, ', ') "
	"     FROM pg_catalog.pg_locks l WHERE l.pid IS NULL AND l.locktype = 'relation' "
	"     AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) "
	"     AND l.virtualtransaction = (SELECT x.virtualtransaction FROM pg_catalog.pg_locks x "
	"       WHERE x.locktype = 'transactionid' AND x.transactionid = p.transaction AND x.pid IS NULL LIMIT 1)), '')) AS w "
	" FROM pg_catalog.pg_prepared_xacts p WHERE p.database = current_database() "
	" UNION ALL "
	" SELECT 1, pg_catalog.format('session pid %s (application %L, user %s, %s, transaction open %s s, query: %s)', "
	"   s.pid, s.application_name, s.usename, s.state, round(extract(epoch FROM now() - s.xact_start))::bigint, "
	"   left(regexp_replace(s.query, '\\s+', ' ', 'g'), 200)) "
	" FROM pg_catalog.pg_stat_activity s "
	" WHERE s.datname = current_database() AND s.pid <> pg_catalog.pg_backend_pid() AND s.xact_start IS NOT NULL "
	"   AND EXISTS (SELECT 1 FROM pg_catalog.pg_locks l WHERE l.pid = s.pid AND l.granted "
	"     AND l.locktype IN ('relation', 'tuple', 'transactionid') AND (l.relation IS NULL OR l.relation >= 16384))"
	") h";

void
admin_describe_lock_holders(PGMMadmin *a, int i, pgmm_buf *out)
{
	PGresult *r;

	if (i < 0 || i >= a->nnodes || a->nodes[i].conn == NULL)
		return;
	r = PQexec(a->nodes[i].conn, admin_sql_lock_holders);
	if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0])
		pgmm_buf_printf(out, "; on master %s the locks are held by: %s", a->nodes[i].name, PQgetvalue(r, 0, 0));
	else if (r && PQresultStatus(r) == PGRES_TUPLES_OK)
		pgmm_buf_printf(out, "; on master %s nobody holds a lock any more (try again)", a->nodes[i].name);
	PQclear(r);
}

void
admin_fail(PGMMadmin *a, int i, PGresult *r)
{
	admin_note_failure(a, i, r);
	pgmm_buf_printf(&a->err, "master %s: ", a->nodes[i].name);
	pgmm_buf_append_pqerror(&a->err, r, a->nodes[i].conn);
	if (r && PQresultErrorMessage(r)[0] == '\0')
		pgmm_buf_printf(&a->err, "unexpected result %s", PQresStatus(PQresultStatus(r)));
	PQclear(r);
}

PGresult *
admin_query(PGMMadmin *a, int i, const char *sql, ExecStatusType want)
{
	PGresult *r;

	if (a->nodes[i].conn == NULL)
		return pgmm_exec_check(NULL, a->nodes[i].name, sql, want, &a->err);
	r = PQexec(a->nodes[i].conn, sql);
	if (r == NULL || PQresultStatus(r) != want)
	{
		admin_fail(a, i, r);
		return NULL;
	}
	return r;
}

PGresult *
admin_query_params(PGMMadmin *a, int i, const char *sql, int n, const char *const *vals)
{
	PGresult *r = PQexecParams(a->nodes[i].conn, sql, n, NULL, vals, NULL, NULL, 0);

	if (r == NULL || (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK))
	{
		admin_fail(a, i, r);
		return NULL;
	}
	return r;
}

int
admin_run(PGMMadmin *a, int i, const char *sql)
{
	PGresult *r;

	if (a->nodes[i].conn == NULL)
		return pgmm_exec_cmd(NULL, a->nodes[i].name, sql, &a->err);
	/* A command or a query: the last result of a multi-statement string
	 * may be either. */
	r = PQexec(a->nodes[i].conn, sql);
	if (r == NULL || (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK))
	{
		admin_fail(a, i, r);
		return -1;
	}
	PQclear(r);
	return 0;
}

int
admin_run_all(PGMMadmin *a, const char *sql)
{
	int i;

	for (i = 0; i < a->nnodes; i++)
		if (admin_run(a, i, sql) < 0)
			return -1;
	return 0;
}

/* ------------------------------------------------------------ statement lists */

void
admin_stmts_init(admin_stmts *s)
{
	memset(s, 0, sizeof *s);
}

void
admin_stmts_free(admin_stmts *s)
{
	int i;

	for (i = 0; i < s->n; i++)
		free(s->sql[i]);
	free(s->sql);
	admin_stmts_init(s);
}

int
admin_stmts_ok(const admin_stmts *s)
{
	return !s->broken;
}

static void
stmts_take(admin_stmts *s, char *sql)
{
	if (sql == NULL || s->broken)
	{
		free(sql);
		s->broken = 1;
		return;
	}
	if (s->n == s->cap)
	{
		int ncap = s->cap ? 2 * s->cap : 8;
		char **nv = realloc(s->sql, (size_t) ncap * sizeof *nv);

		if (nv == NULL)
		{
			free(sql);
			s->broken = 1;
			return;
		}
		s->sql = nv;
		s->cap = ncap;
	}
	s->sql[s->n++] = sql;
}

void
admin_stmts_add(admin_stmts *s, const char *sql)
{
	if (s->broken)
		return;
	stmts_take(s, strdup(sql ? sql : ""));
}

void
admin_stmts_addf(admin_stmts *s, const char *fmt, ...)
{
	pgmm_buf b;
	va_list ap;

	if (s->broken)
		return;
	pgmm_buf_init(&b);
	va_start(ap, fmt);
	pgmm_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	stmts_take(s, pgmm_buf_take(&b));
}

int
admin_stmts_run_all(PGMMadmin *a, const admin_stmts *s)
{
	int k;

	if (s->broken)
	{
		admin_seterr(a, "out of memory");
		return -1;
	}
	for (k = 0; k < s->n; k++)
		if (admin_run_all(a, s->sql[k]) < 0)
			return -1;
	return 0;
}

int
admin_stmts_run_on(PGMMadmin *a, int i, const admin_stmts *s)
{
	int k;

	if (s->broken)
	{
		admin_seterr(a, "out of memory");
		return -1;
	}
	for (k = 0; k < s->n; k++)
		if (admin_run(a, i, s->sql[k]) < 0)
			return -1;
	return 0;
}

/* ------------------------------------------------------------ two-phase commit */

void
admin_rollback_all(PGMMadmin *a)
{
	int i;

	for (i = 0; i < a->nnodes; i++)
		if (a->nodes[i].conn && PQstatus(a->nodes[i].conn) == CONNECTION_OK &&
		    PQtransactionStatus(a->nodes[i].conn) != PQTRANS_IDLE)
			PQclear(PQexec(a->nodes[i].conn, "ROLLBACK"));
	a->in_txn = 0;
}

int
admin_begin_all(PGMMadmin *a)
{
	char set[64];
	int i;

	/* Session-wide (set before BEGIN, so a rollback keeps it): it also
	 * covers what runs after the commit (subscription refreshes). */
	snprintf(set, sizeof set, "SET lock_timeout = %d", a->lock_timeout_ms);
	a->lock_blocked = -1;
	for (i = 0; i < a->nnodes; i++)
		if (admin_run(a, i, set) < 0 || admin_run(a, i, "BEGIN") < 0)
		{
			admin_rollback_all(a);
			return -1;
		}
	a->in_txn = 1;
	return 0;
}

static int
part_by_name(const void *x, const void *y)
{
	return strcmp(((const pgmm_2pc_part *) x)->name, ((const pgmm_2pc_part *) y)->name);
}

int
admin_commit_everywhere(PGMMadmin *a, long long epoch)
{
	pgmm_2pc_part *parts = admin_parts(a);
	pgmm_2pc t;
	pgmm_2pc_outcome o;

	/* Catalog order (by name, as pgmm.nodes lists them), whatever order
	 * init was given the masters in: the last one decides. */
	if (parts)
		qsort(parts, (size_t) a->nnodes, sizeof *parts, part_by_name);

	if (parts == NULL || pgmm_2pc_init(&t, PGMM_2PC_CATALOG, epoch, parts, a->nnodes, &a->err) < 0)
	{
		if (parts == NULL)
			admin_seterr(a, "out of memory");
		admin_rollback_all(a);
		free(parts);
		pgmm_buf_append(&a->err, "; nothing was changed on any master");
		return -1;
	}
	o = pgmm_2pc_run(&t, &a->err);
	a->in_txn = 0;
	if (o == PGMM_2PC_ABORTED)
		pgmm_buf_append(&a->err, "; the change was ABORTED: nothing was changed on any master");
	else if (o == PGMM_2PC_IN_DOUBT)
		pgmm_buf_append(&a->err, " (the change is IN DOUBT until then)");
	pgmm_2pc_free(&t);
	free(parts);
	return o == PGMM_2PC_OK ? 0 : -1;
}

static int catalog_change_once(PGMMadmin *a, admin_txn_body body, void *arg);

/*
 * Zero-loss mode (`pgmm durability`) and a catalog change under write load
 * can block each other across masters: the change's transaction on m2
 * holds locks on m2's shards (pgmm.sync_local re-creates guards), so m2's
 * apply worker waits; a writer's commit on m3 waits for that apply worker
 * (synchronous_standby_names) while holding the lock the change needs next
 * on m3.  Nothing moves until lock_timeout.  With slack (ANY 1 of two
 * subscribers) another subscriber confirms; without it (`all`, or two
 * masters left after a failover) it cannot.  So: in zero-loss mode the
 * change first runs with a short lock_timeout; when it failed on a lock,
 * the masters' commits stop waiting for subscribers for the time of one
 * more attempt (said in a notice: a commit acknowledged then is not
 * zero-loss), and the mode is applied again after it, whatever happened.
 */
int
admin_catalog_change(PGMMadmin *a, admin_txn_body body, void *arg)
{
	int saved = a->lock_timeout_ms, rc;

	if (!a->ok || a->in_txn)
		return catalog_change_once(a, body, arg);
	if (!admin_durability_on(a))
	{
		int attempt;

		/* A deadlock with a writer rolled the change back: nothing
		 * changed, try again (a few times). */
		for (attempt = 0; attempt < 3; attempt++)
		{
			rc = catalog_change_once(a, body, arg);
			if (rc == 0 || !a->change_deadlocked || strstr(pgmm_buf_str(&a->err), "IN DOUBT") != NULL)
				break;
			admin_notice(a, "retrying the change (%s)", pgmm_buf_str(&a->err));
		}
		return rc;
	}
	if (a->lock_timeout_ms > 500)
		a->lock_timeout_ms = 500;
	rc = catalog_change_once(a, body, arg);
	a->lock_timeout_ms = saved;
	if (rc == 0 || (!a->change_lock_blocked && !a->change_deadlocked) ||
	    strstr(pgmm_buf_str(&a->err), "IN DOUBT") != NULL)
		return rc;
	admin_notice(a, "zero-loss mode: commits waiting for subscribers and this change's locks block each other; "
	             "commits do not wait for subscribers during the change (%s)", pgmm_buf_str(&a->err));
	admin_durability_relax(a);
	{
		int attempt;

		/* Writers go on meanwhile: a deadlock with one of them (the server
		 * picks a victim, perhaps the change) or a lock timeout of the
		 * shortened wait is worth a few more tries. */
		for (attempt = 0; attempt < 5; attempt++)
		{
			a->lock_timeout_ms = attempt < 4 && saved > 1000 ? 1000 : saved;
			rc = catalog_change_once(a, body, arg);
			if (rc == 0 || (!a->change_lock_blocked && !a->change_deadlocked) ||
			    strstr(pgmm_buf_str(&a->err), "IN DOUBT") != NULL)
				break;
			admin_notice(a, "retrying the change (%s)", pgmm_buf_str(&a->err));
		}
		a->lock_timeout_ms = saved;
	}
	{
		pgmm_buf keep;

		pgmm_buf_init(&keep);
		pgmm_buf_append(&keep, pgmm_buf_str(&a->err));
		if (admin_durability_apply(a) < 0)
			admin_notice(a, "the durability mode could NOT be applied again: %s; run `pgmm durability` with the "
			             "mode shown by `pgmm status`", pgmm_buf_str(&a->err));
		pgmm_buf_reset(&a->err);
		pgmm_buf_append(&a->err, pgmm_buf_str(&keep));
		pgmm_buf_free(&keep);
	}
	return rc;
}

static int
catalog_change_once(PGMMadmin *a, admin_txn_body body, void *arg)
{
	long long epoch = -1;
	int i;

	if (!a->ok)
		return -1;
	/* A failed master that answers again is fenced first (once per
	 * handle). */
	admin_fence_failed(a);
	pgmm_buf_reset(&a->err);
	a->change_lock_blocked = 0;
	a->change_deadlocked = 0;
	if (!admin_require_all(a))
		return -1;
	/* Epochs that already differ (a change committed on some masters and
	 * left prepared on others) are refused at once, without waiting for
	 * the locks the prepared parts hold. */
	for (i = 0; i < a->nnodes; i++)
	{
		PGresult *r = admin_query(a, i, "SELECT epoch FROM pgmm.cluster", PGRES_TUPLES_OK);
		long long e;

		if (r == NULL)
			return -1;
		e = PQntuples(r) == 1 ? atoll(PQgetvalue(r, 0, 0)) : -1;
		PQclear(r);
		if (i == 0)
			epoch = e;
		else if (e != epoch)
		{
			admin_seterr(a, "the catalog epoch differs between masters (%s: %lld, %s: %lld): an earlier change "
			             "did not finish; run `pgmm recover`; nothing was changed", a->nodes[0].name, epoch,
			             a->nodes[i].name, e);
			return -1;
		}
	}
	if (admin_begin_all(a) < 0)
		return -1;
	for (i = 0; i < a->nnodes; i++)
	{
		PGresult *r;
		long long e;

		/* A catalog change left prepared holds the cluster row: wait for
		 * it lock_timeout at most, never forever. */
		r = PQexec(a->nodes[i].conn, admin_sql_lock_epoch);
		if (r && PQresultStatus(r) == PGRES_FATAL_ERROR && PQresultErrorField(r, PG_DIAG_SQLSTATE) &&
		    strcmp(PQresultErrorField(r, PG_DIAG_SQLSTATE), "55P03") == 0)
		{
			admin_seterr(a, "master %s: the catalog is locked by another catalog change, running or left "
			             "prepared, for longer than the lock timeout (%d ms) (see `pgmm status`; `pgmm recover` "
			             "finishes one left prepared)", a->nodes[i].name, a->lock_timeout_ms);
			a->lock_blocked = i;
			PQclear(r);
			goto fail;
		}
		if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
		{
			admin_fail(a, i, r);
			goto fail;
		}
		e = PQntuples(r) == 1 ? atoll(PQgetvalue(r, 0, 0)) : -1;
		PQclear(r);
		if (i == 0)
			epoch = e;
		else if (e != epoch)
		{
			admin_seterr(a, "the catalog epoch differs between masters (%s: %lld, %s: %lld): an earlier change "
			             "did not finish; run `pgmm recover`", a->nodes[0].name, epoch, a->nodes[i].name, e);
			goto fail;
		}
	}
	if (body(a, arg) < 0)
		goto fail;
	if (admin_run_all(a, admin_sql_bump_epoch) < 0)
		goto fail;
	for (i = 0; i < a->nnodes; i++)
	{
		PGresult *r = admin_query(a, i, admin_sql_sync_local, PGRES_TUPLES_OK);

		if (r == NULL)
			goto fail;
		PQclear(r);
	}
	return admin_commit_everywhere(a, epoch + 1);

fail:
	admin_rollback_all(a);
	if (a->err.len == 0)
		pgmm_buf_append(&a->err, "failed");
	if (a->lock_blocked >= 0)
	{
		a->change_lock_blocked = 1;
		pgmm_buf_printf(&a->err, " (lock_timeout %d ms, set with --lock-timeout)", a->lock_timeout_ms);
		admin_describe_lock_holders(a, a->lock_blocked, &a->err);
		a->lock_blocked = -1;
	}
	pgmm_buf_append(&a->err, "; nothing was changed on any master");
	return -1;
}

/* After publications changed: every pgmm subscription picks up new tables
 * (no initial copy: the rows were copied inside the transaction). */
int
admin_refresh_subscriptions(PGMMadmin *a)
{
	int i, j, rc = 0;

	for (i = 0; i < a->nnodes; i++)
	{
		PGresult *r = admin_query(a, i, admin_sql_list_subscriptions, PGRES_TUPLES_OK);

		if (r == NULL)
		{
			rc = -1;
			continue;
		}
		for (j = 0; j < PQntuples(r); j++)
		{
			pgmm_buf sql;
			int attempt, done = 0;

			pgmm_buf_init(&sql);
			pgmm_buf_append(&sql, "ALTER SUBSCRIPTION ");
			pgmm_buf_ident(&sql, PQgetvalue(r, j, 0));
			pgmm_buf_append(&sql, " REFRESH PUBLICATION WITH (copy_data = false)");
			for (attempt = 0; attempt < 5 && !done; attempt++)
			{
				PGresult *x = PQexec(a->nodes[i].conn, pgmm_buf_str(&sql));

				done = x && PQresultStatus(x) == PGRES_COMMAND_OK;
				if (!done && attempt == 4)
				{
					pgmm_buf_printf(&a->err, "%smaster %s: could not refresh subscription %s: ",
					                a->err.len ? "; " : "", a->nodes[i].name, PQgetvalue(r, j, 0));
					pgmm_buf_append_pqerror(&a->err, x, a->nodes[i].conn);
				}
				PQclear(x);
			}
			if (!done)
				rc = -1;
			pgmm_buf_free(&sql);
		}
		PQclear(r);
	}
	if (rc < 0)
		pgmm_buf_append(&a->err, " (the catalog change is committed; run `pgmm recover` when the master is back)");
	return rc;
}

static int
unfreeze_body(PGMMadmin *a, void *arg)
{
	(void) arg;
	return admin_run_all(a, admin_sql_unfreeze);
}

/*
 * A table enters the catalog frozen: every master refuses writes to it
 * until every subscription has picked it up (REFRESH PUBLICATION cannot run
 * inside the two-phase commit), because a row written in between would not
 * be replicated.  Refresh, then unfreeze in a second catalog change.
 */
int
admin_refresh_and_unfreeze(PGMMadmin *a)
{
	if (admin_refresh_subscriptions(a) < 0)
	{
		pgmm_buf_append(&a->err, "; the table stays frozen (writes refused) until `pgmm recover` succeeds");
		return -1;
	}
	return admin_catalog_change(a, unfreeze_body, NULL);
}

/* ------------------------------------------------------------ the handle */

PGMMadmin *
pgmm_admin_connect(const char *conninfo)
{
	PGMMadmin *a = calloc(1, sizeof *a);
	pgmm_options opts;
	PGconn *home;
	PGresult *r;
	int i, k;

	if (a == NULL)
		return NULL;
	pgmm_buf_init(&a->err);
	a->lock_timeout_ms = PGMM_ADMIN_LOCK_TIMEOUT_DEFAULT;
	a->lock_blocked = -1;
	if (sodium_init() < 0)
	{
		admin_seterr(a, "libsodium could not be initialised");
		return a;
	}
	if (pgmm_conninfo_split(conninfo, &a->home_conninfo, &opts, &a->err) < 0)
		return a;
	home = admin_connect_node("(given)", a->home_conninfo, &a->err);
	if (home == NULL)
		return a;
	r = PQexec(home, "SELECT n.name, n.conninfo, n.slot, n.name = (SELECT node FROM pgmm.local), "
	           "n.state, coalesce(n.failed_epoch, 0) FROM pgmm.nodes n ORDER BY n.name");
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
	{
		const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

		/* Decided on the SQLSTATE, never on the (translatable) words:
		 * 42P01 undefined_table (also what a missing schema gives for a
		 * qualified table name), 3F000 invalid_schema_name. */
		if (state && (strcmp(state, "42P01") == 0 || strcmp(state, "3F000") == 0))
			admin_seterr(a, "this master is not part of a pgmm cluster (its pgmm catalog is missing: %s); "
			             "run `pgmm init` first", PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
		else
		{
			pgmm_buf_append(&a->err, "master (given): ");
			pgmm_buf_append_pqerror(&a->err, r, home);
		}
		PQclear(r);
		PQfinish(home);
		return a;
	}
	/* Usable masters go to a->nodes, failed ones aside to a->failed: every
	 * operation (and every catalog change) runs among the usable ones. */
	a->nodes = calloc((size_t) PQntuples(r) + 1, sizeof(pgmm_node));
	a->failed = calloc((size_t) PQntuples(r) + 1, sizeof(admin_failed_node));
	if (a->nodes == NULL || a->failed == NULL)
	{
		admin_seterr(a, "out of memory");
		PQclear(r);
		PQfinish(home);
		return a;
	}
	a->home = -1;
	for (k = 0; k < PQntuples(r); k++)
	{
		int failed = strcmp(PQgetvalue(r, k, 4), "failed") == 0;
		int is_home = strcmp(PQgetvalue(r, k, 3), "t") == 0;
		pgmm_node *n;

		if (is_home && failed)
		{
			admin_seterr(a, "master %s (the one given) was failed over at epoch %s: the other masters own its "
			             "shards; connect to a live master instead", PQgetvalue(r, k, 0), PQgetvalue(r, k, 5));
			PQclear(r);
			PQfinish(home);
			return a;
		}
		if (failed)
		{
			admin_failed_node *f = &a->failed[a->nfailed++];

			f->failed_epoch = atoll(PQgetvalue(r, k, 5));
			n = &f->node;
		}
		else
			n = &a->nodes[a->nnodes++];
		n->name = strdup(PQgetvalue(r, k, 0));
		n->slot = atoi(PQgetvalue(r, k, 2));
		if (is_home)
		{
			a->home = a->nnodes - 1;
			n->conninfo = strdup(a->home_conninfo);
			n->conn = home;
			home = NULL;
		}
		else
			n->conninfo = pgmm_conninfo_merge(PQgetvalue(r, k, 1), a->home_conninfo, pgmm_conninfo_carry_keys, &a->err);
		if (n->name == NULL || n->conninfo == NULL)
		{
			admin_seterr(a, "out of memory");
			PQclear(r);
			if (home)
				PQfinish(home);
			return a;
		}
	}
	PQclear(r);
	if (home)
		PQfinish(home);
	if (a->home < 0)
	{
		admin_seterr(a, "the pgmm catalog on this master does not name it (pgmm.local is empty)");
		return a;
	}
	/* Reach the other masters now; a down master is reported by the
	 * operations that need it (status still works). */
	for (i = 0; i < a->nnodes; i++)
		if (a->nodes[i].conn == NULL)
		{
			pgmm_buf ignore;

			pgmm_buf_init(&ignore);
			a->nodes[i].conn = admin_connect_node(a->nodes[i].name, a->nodes[i].conninfo, &ignore);
			pgmm_buf_free(&ignore);
		}
	for (i = 0; i < a->nnodes; i++)
		if (a->nodes[i].conn)
			a->nodes[i].server_version = PQserverVersion(a->nodes[i].conn);
	/* A master given with -d that was failed over but has not been fenced
	 * yet still believes its catalog: the others know better. */
	for (i = 0; i < a->nnodes; i++)
	{
		const char *param[1];

		if (i == a->home || a->nodes[i].conn == NULL)
			continue;
		param[0] = a->nodes[a->home].name;
		r = PQexecParams(a->nodes[i].conn, "SELECT state, failed_epoch FROM pgmm.nodes WHERE name = $1", 1, NULL,
		                 param, NULL, NULL, 0);
		if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
		    strcmp(PQgetvalue(r, 0, 0), "failed") == 0)
		{
			admin_seterr(a, "master %s (the one given) was failed over at epoch %s (so says master %s's catalog) "
			             "but does not know it yet: connect to a live master instead (pgmm then fences it)",
			             a->nodes[a->home].name, PQgetvalue(r, 0, 1), a->nodes[i].name);
			PQclear(r);
			return a;
		}
		PQclear(r);
	}
	a->ok = 1;
	pgmm_buf_reset(&a->err);
	return a;
}

int
pgmm_admin_ok(const PGMMadmin *a)
{
	return a != NULL && a->ok;
}

const char *
pgmm_admin_error(const PGMMadmin *a)
{
	if (a == NULL)
		return "out of memory";
	return pgmm_buf_str(&a->err);
}

void
pgmm_admin_finish(PGMMadmin *a)
{
	if (a == NULL)
		return;
	if (a->in_txn)
		admin_rollback_all(a);
	admin_free_nodes(a->nodes, a->nnodes);
	admin_free_failed(a);
	free(a->home_conninfo);
	pgmm_buf_free(&a->err);
	free(a);
}

void
pgmm_admin_set_notice(PGMMadmin *a, pgmm_notice_fn fn, void *arg)
{
	if (a == NULL)
		return;
	a->notice = fn;
	a->notice_arg = arg;
}

int
pgmm_admin_set_lock_timeout(PGMMadmin *a, int ms)
{
	if (a == NULL)
		return -1;
	if (ms < 1 || ms > 3600000)
	{
		admin_seterr(a, "lock timeout %d ms is out of range (1 .. 3600000 ms)", ms);
		return -1;
	}
	a->lock_timeout_ms = ms;
	return 0;
}
