/*
 * admin_ha.c -- a dead master's shards taken over by the others
 * (pgmm_admin_failover), and the fencing of a failed master that comes
 * back (admin_fence_failed).
 *
 * Callers: applications, tools/pgmm.c and the bindings through pgmm.h
 * (failover); admin_frame.c (fencing, whenever a handle is opened, and the
 * failed masters set aside from the node set); the builders
 * (admin_failover_assign) also by the unit tests.
 *
 * A failed master stays in pgmm.nodes (state 'failed', its slot kept, so
 * no other master ever draws its IDs) but leaves the handle's node set:
 * every catalog change runs among the usable masters only.  It is kept
 * aside in a->failed so that pgmm can fence it whenever it answers: its
 * catalog is overwritten with the survivors' (it owns nothing there), so
 * pgmm.sync_local() puts guards on every shard and empties its
 * publication, and its subscriptions are disabled.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin_int.h"

/* Connect timeout (seconds) for a master that is failed or suspected dead:
 * a network cut must not hold pgmm up. */
#define FENCE_CONNECT_TIMEOUT 2
/* How long fencing waits for a lock on the failed master's catalog. */
#define FENCE_LOCK_TIMEOUT_MS 2000
/* How long failover waits for a disabled subscription's worker to exit. */
#define WORKER_EXIT_WAIT_MS 10000

static long long
ha_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
ha_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ------------------------------------------------------------ the failed set */

void
admin_free_failed(PGMMadmin *a)
{
	int i;

	for (i = 0; a->failed && i < a->nfailed; i++)
	{
		if (a->failed[i].node.conn)
			PQfinish(a->failed[i].node.conn);
		free(a->failed[i].node.name);
		free(a->failed[i].node.conninfo);
		free(a->failed[i].note);
	}
	free(a->failed);
	a->failed = NULL;
	a->nfailed = 0;
}

int
admin_failed_index(const PGMMadmin *a, const char *name)
{
	int i;

	for (i = 0; name && i < a->nfailed; i++)
		if (strcmp(a->failed[i].node.name, name) == 0)
			return i;
	return -1;
}

int
admin_set_aside(PGMMadmin *a, int v, long long failed_epoch)
{
	admin_failed_node *nf;

	if (v < 0 || v >= a->nnodes || v == a->home)
		return -1;
	nf = realloc(a->failed, (size_t) (a->nfailed + 1) * sizeof *nf);
	if (nf == NULL)
		return -1;
	a->failed = nf;
	memset(&a->failed[a->nfailed], 0, sizeof *nf);
	a->failed[a->nfailed].node = a->nodes[v];
	a->failed[a->nfailed].failed_epoch = failed_epoch;
	a->nfailed++;
	memmove(&a->nodes[v], &a->nodes[v + 1], (size_t) (a->nnodes - v - 1) * sizeof *a->nodes);
	a->nnodes--;
	if (a->home > v)
		a->home--;
	return 0;
}

/* Undo admin_set_aside of the last failed master (a failover that did not
 * commit): back into the node set at its place in name order. */
static void
put_back_last(PGMMadmin *a)
{
	admin_failed_node *f = &a->failed[a->nfailed - 1];
	int v = 0;

	while (v < a->nnodes && strcmp(a->nodes[v].name, f->node.name) < 0)
		v++;
	memmove(&a->nodes[v + 1], &a->nodes[v], (size_t) (a->nnodes - v) * sizeof *a->nodes);
	a->nodes[v] = f->node;
	a->nnodes++;
	if (a->home >= v)
		a->home++;
	free(f->note);
	a->nfailed--;
}

/* ------------------------------------------------------------ fencing */

static void
set_note(admin_failed_node *f, const char *msg)
{
	free(f->note);
	f->note = msg ? strdup(msg) : NULL;
}

/* The home master's catalog as JSON, one array per table (the order of the
 * result's columns); the cluster id last. */
static const char fence_read_catalog[] =
	"SELECT (SELECT json_agg(c) FROM pgmm.cluster c)::text, "
	"  (SELECT json_agg(n ORDER BY n.name) FROM pgmm.nodes n)::text, "
	"  coalesce((SELECT json_agg(c ORDER BY c.id) FROM pgmm.colocations c), '[]')::text, "
	"  coalesce((SELECT json_agg(s ORDER BY s.colocation, s.remainder) FROM pgmm.shards s), '[]')::text, "
	"  coalesce((SELECT json_agg(t ORDER BY t.schema_name, t.table_name) FROM pgmm.tables t), '[]')::text, "
	"  (SELECT cluster_id FROM pgmm.cluster), (SELECT epoch FROM pgmm.cluster)::text";

/* On the failed master: the catalog replaced by the survivors' (tables it
 * does not have are left out: nobody can write them there), pgmm.local
 * kept.  Statement k + 1 takes the JSON array k above as $1. */
static const char *const fence_write_catalog[] = {
	"TRUNCATE pgmm.shards, pgmm.tables, pgmm.colocations, pgmm.local, pgmm.nodes, pgmm.cluster",
	"INSERT INTO pgmm.cluster SELECT * FROM pg_catalog.json_populate_recordset(NULL::pgmm.cluster, $1::json)",
	"INSERT INTO pgmm.nodes SELECT * FROM pg_catalog.json_populate_recordset(NULL::pgmm.nodes, $1::json)",
	"INSERT INTO pgmm.colocations SELECT * FROM pg_catalog.json_populate_recordset(NULL::pgmm.colocations, $1::json)",
	"INSERT INTO pgmm.shards SELECT * FROM pg_catalog.json_populate_recordset(NULL::pgmm.shards, $1::json)",
	"INSERT INTO pgmm.tables SELECT * FROM pg_catalog.json_populate_recordset(NULL::pgmm.tables, $1::json) t "
	"WHERE pg_catalog.to_regclass(pg_catalog.format('%I.%I', t.schema_name, t.table_name)) IS NOT NULL",
};

/* Run sql (with one text parameter when json is not NULL) on conn; 0 / -1
 * with the error appended to err. */
static int
fence_exec(PGconn *conn, const char *sql, const char *const *json, pgmm_buf *err)
{
	PGresult *r = json ? PQexecParams(conn, sql, 1, NULL, json, NULL, NULL, 0) : PQexec(conn, sql);
	int ok = r && (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);

	if (!ok)
		pgmm_buf_append_pqerror(err, r, conn);
	PQclear(r);
	return ok ? 0 : -1;
}

/* Disable every enabled pgmm subscription on conn (it must not apply
 * anything from the survivors as if it still belonged, nor hold their
 * slots); the number disabled, -1 on error. */
static int
disable_subscriptions(PGconn *conn, pgmm_buf *err)
{
	PGresult *r = PQexec(conn, "SELECT subname FROM pg_catalog.pg_subscription WHERE subname LIKE 'pgmm\\_%' "
	                     "AND subenabled AND subdbid = (SELECT oid FROM pg_catalog.pg_database "
	                     "WHERE datname = current_database()) ORDER BY 1");
	int k, n = 0;

	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
	{
		pgmm_buf_append_pqerror(err, r, conn);
		PQclear(r);
		return -1;
	}
	for (k = 0; k < PQntuples(r); k++)
	{
		pgmm_buf sql;
		int rc;

		pgmm_buf_init(&sql);
		pgmm_buf_append(&sql, "ALTER SUBSCRIPTION ");
		pgmm_buf_ident(&sql, PQgetvalue(r, k, 0));
		pgmm_buf_append(&sql, " DISABLE");
		rc = fence_exec(conn, pgmm_buf_str(&sql), NULL, err);
		pgmm_buf_free(&sql);
		if (rc < 0)
		{
			PQclear(r);
			return -1;
		}
		n++;
	}
	PQclear(r);
	return n;
}

/*
 * Fence failed master f (connected): unless it already carries the
 * survivors' catalog at their epoch, overwrite its catalog with theirs in
 * one local transaction and run pgmm.sync_local() (it owns nothing there:
 * guards on every shard and reference table, its publication emptied, key
 * DEFAULTs that refuse to choose an ID); then disable its subscriptions.
 * Catalog changes it holds prepared are rolled back first (their outcome
 * is overwritten anyway).  0 / -1 with err set.
 */
static int
fence_one(PGMMadmin *a, admin_failed_node *f, PGconn *use, pgmm_buf *err)
{
	PGconn *c = use ? use : f->node.conn;
	/* use may hold the failed master's writes off in an open transaction
	 * (failover --yes): the fence then commits in that transaction. */
	int held = PQtransactionStatus(c) == PQTRANS_INTRANS;
	PGresult *cat = NULL, *mine = NULL, *prep = NULL;
	const char *json[5];
	const char *param[1];
	char set[64];
	int k, rc = -1, already;

	/* Its synchronous_standby_names may still name subscribers that are
	 * gone (zero-loss mode): pgmm's own commits there must not wait. */
	if (fence_exec(c, "SET synchronous_commit = local", NULL, err) < 0)
		goto out;
	cat = PQexec(a->nodes[a->home].conn, fence_read_catalog);
	if (cat == NULL || PQresultStatus(cat) != PGRES_TUPLES_OK || PQntuples(cat) != 1)
	{
		pgmm_buf_printf(err, "cannot read the catalog of master %s: ", a->nodes[a->home].name);
		pgmm_buf_append_pqerror(err, cat, a->nodes[a->home].conn);
		goto out;
	}
	param[0] = f->node.name;
	mine = PQexecParams(c, "SELECT c.cluster_id, c.epoch::text, (SELECT l.node FROM pgmm.local l), "
	                    "coalesce((SELECT n.state FROM pgmm.nodes n WHERE n.name = $1), '') FROM pgmm.cluster c",
	                    1, NULL, param, NULL, NULL, 0);
	if (mine == NULL || PQresultStatus(mine) != PGRES_TUPLES_OK || PQntuples(mine) != 1)
	{
		pgmm_buf_append(err, "cannot read its pgmm catalog: ");
		pgmm_buf_append_pqerror(err, mine, c);
		goto out;
	}
	if (strcmp(PQgetvalue(mine, 0, 0), PQgetvalue(cat, 0, 5)) != 0 || strcmp(PQgetvalue(mine, 0, 2), f->node.name) != 0)
	{
		pgmm_buf_printf(err, "it answers as master %s of cluster %s, not as %s of cluster %s: left alone",
		                PQgetvalue(mine, 0, 2), PQgetvalue(mine, 0, 0), f->node.name, PQgetvalue(cat, 0, 5));
		goto out;
	}
	already = strcmp(PQgetvalue(mine, 0, 1), PQgetvalue(cat, 0, 6)) == 0 && strcmp(PQgetvalue(mine, 0, 3), "failed") == 0;
	if (!already && !held)
	{
		prep = PQexec(c, "SELECT gid FROM pg_catalog.pg_prepared_xacts WHERE gid LIKE 'pgmm:c:%' "
		              "AND database = current_database()");
		for (k = 0; prep && PQresultStatus(prep) == PGRES_TUPLES_OK && k < PQntuples(prep); k++)
		{
			pgmm_buf sql;

			pgmm_buf_init(&sql);
			pgmm_buf_append(&sql, "ROLLBACK PREPARED ");
			pgmm_buf_literal(&sql, PQgetvalue(prep, k, 0));
			PQclear(PQexec(c, pgmm_buf_str(&sql)));
			pgmm_buf_free(&sql);
		}
	}
	if (!already)
	{
		snprintf(set, sizeof set, "SET %s lock_timeout = %d", held ? "LOCAL" : "SESSION", FENCE_LOCK_TIMEOUT_MS);
		for (k = 0; k < 5; k++)
			json[k] = PQgetvalue(cat, 0, k);
		if (fence_exec(c, set, NULL, err) < 0 || (!held && fence_exec(c, "BEGIN", NULL, err) < 0))
			goto rollback;
		for (k = 0; k < (int) (sizeof fence_write_catalog / sizeof *fence_write_catalog); k++)
			if (fence_exec(c, fence_write_catalog[k], k ? json + k - 1 : NULL, err) < 0)
				goto rollback;
		{
			pgmm_buf sql;
			int bad;

			pgmm_buf_init(&sql);
			pgmm_buf_append(&sql, "INSERT INTO pgmm.local (node) VALUES (");
			pgmm_buf_literal(&sql, f->node.name);
			pgmm_buf_append(&sql, ")");
			bad = fence_exec(c, pgmm_buf_str(&sql), NULL, err) < 0;
			pgmm_buf_free(&sql);
			if (bad)
				goto rollback;
		}
		if (fence_exec(c, admin_sql_sync_local, NULL, err) < 0 || fence_exec(c, "COMMIT", NULL, err) < 0)
			goto rollback;
	}
	if (held && PQtransactionStatus(c) == PQTRANS_INTRANS && fence_exec(c, "COMMIT", NULL, err) < 0)
		goto rollback;
	if (disable_subscriptions(c, err) < 0)
		goto out;
	f->fenced_now = !already;
	rc = 0;
	goto out;

rollback:
	PQclear(PQexec(c, "ROLLBACK"));
out:
	PQclear(cat);
	PQclear(mine);
	PQclear(prep);
	return rc;
}

/* On every usable master: no subscription from a failed master, no slot
 * kept for one (it would retain WAL for ever).  Best effort, idempotent:
 * failover does it, and every handle repeats what an interrupted failover
 * left.  The number of objects dropped. */
static int
detach_failed(PGMMadmin *a, const char *cluster_id)
{
	int i, j, dropped = 0;

	for (i = 0; i < a->nnodes; i++)
	{
		if (a->nodes[i].conn == NULL || PQstatus(a->nodes[i].conn) != CONNECTION_OK)
			continue;
		for (j = 0; j < a->nfailed; j++)
		{
			pgmm_buf sub, slot, sql;
			const char *param[2];
			PGresult *r;

			pgmm_buf_init(&sub);
			pgmm_buf_init(&slot);
			pgmm_buf_init(&sql);
			admin_build_sub_name(&sub, a->failed[j].node.name, a->nodes[i].name);
			pgmm_buf_printf(&slot, "pgmm_%.8s_%s__%s", cluster_id, a->nodes[i].name, a->failed[j].node.name);
			param[0] = pgmm_buf_str(&sub);
			param[1] = pgmm_buf_str(&slot);
			r = PQexecParams(a->nodes[i].conn,
			                 "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_subscription WHERE subname = $1 AND subdbid = "
			                 "(SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()))::text, "
			                 "(SELECT coalesce(active_pid, 0)::text FROM pg_catalog.pg_replication_slots "
			                 "WHERE slot_name = $2)", 2, NULL, param, NULL, NULL, 0);
			if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
			{
				if (PQgetvalue(r, 0, 0)[0] == 't')
				{
					static const char *const steps[] = {" DISABLE", " SET (slot_name = NONE)", ""};
					int s, ok = 1;

					/* Its slot is on the failed master: detach, then drop here. */
					for (s = 0; s < 3 && ok; s++)
					{
						PGresult *x;

						pgmm_buf_reset(&sql);
						pgmm_buf_append(&sql, s == 2 ? "DROP SUBSCRIPTION " : "ALTER SUBSCRIPTION ");
						pgmm_buf_ident(&sql, pgmm_buf_str(&sub));
						pgmm_buf_append(&sql, steps[s]);
						x = PQexec(a->nodes[i].conn, pgmm_buf_str(&sql));
						ok = x && PQresultStatus(x) == PGRES_COMMAND_OK;
						if (!ok)
						{
							pgmm_buf m;

							pgmm_buf_init(&m);
							pgmm_buf_append_pqerror(&m, x, a->nodes[i].conn);
							admin_notice(a, "master %s: could not drop subscription %s: %s", a->nodes[i].name,
							             pgmm_buf_str(&sub), pgmm_buf_str(&m));
							pgmm_buf_free(&m);
						}
						PQclear(x);
					}
					if (ok)
					{
						dropped++;
						admin_notice(a, "master %s: subscription %s (from failed master %s) dropped", a->nodes[i].name,
						             pgmm_buf_str(&sub), a->failed[j].node.name);
					}
				}
				if (!PQgetisnull(r, 0, 1))
				{
					int attempt, ok = 0;

					/* A fenced master's apply worker may still hold it:
					 * end that walsender, then drop. */
					for (attempt = 0; attempt < 5 && !ok; attempt++)
					{
						PGresult *x;

						PQclear(PQexecParams(a->nodes[i].conn, "SELECT pg_catalog.pg_terminate_backend(active_pid) "
						                     "FROM pg_catalog.pg_replication_slots WHERE slot_name = $1 AND active",
						                     1, NULL, param + 1, NULL, NULL, 0));
						x = PQexecParams(a->nodes[i].conn, "SELECT pg_catalog.pg_drop_replication_slot(slot_name) "
						                 "FROM pg_catalog.pg_replication_slots WHERE slot_name = $1", 1, NULL,
						                 param + 1, NULL, NULL, 0);
						ok = x && PQresultStatus(x) == PGRES_TUPLES_OK;
						if (!ok && attempt == 4)
						{
							pgmm_buf m;

							pgmm_buf_init(&m);
							pgmm_buf_append_pqerror(&m, x, a->nodes[i].conn);
							admin_notice(a, "master %s: could not drop replication slot %s: %s", a->nodes[i].name,
							             pgmm_buf_str(&slot), pgmm_buf_str(&m));
							pgmm_buf_free(&m);
						}
						PQclear(x);
						if (!ok)
							ha_sleep_ms(200);
					}
					if (ok)
					{
						dropped++;
						admin_notice(a, "master %s: replication slot %s (it fed failed master %s) dropped",
						             a->nodes[i].name, pgmm_buf_str(&slot), a->failed[j].node.name);
					}
				}
			}
			PQclear(r);
			pgmm_buf_free(&sub);
			pgmm_buf_free(&slot);
			pgmm_buf_free(&sql);
		}
	}
	return dropped;
}

void
admin_fence_failed(PGMMadmin *a)
{
	PGresult *r;
	int j;

	/* Once per handle, at its first use: a failover sets its victim aside
	 * later, and that one is fenced (and its subscriptions dropped) only
	 * after the change commits, by the failover itself. */
	if (a->fence_tried)
		return;
	a->fence_tried = 1;
	if (a->nfailed == 0 || a->home < 0 || a->nodes[a->home].conn == NULL)
		return;
	r = PQexec(a->nodes[a->home].conn, "SELECT cluster_id FROM pgmm.cluster");
	if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		detach_failed(a, PQgetvalue(r, 0, 0));
	PQclear(r);
	for (j = 0; j < a->nfailed; j++)
	{
		admin_failed_node *f = &a->failed[j];
		pgmm_buf err;

		pgmm_buf_init(&err);
		if (f->node.conn && PQstatus(f->node.conn) != CONNECTION_OK)
		{
			PQfinish(f->node.conn);
			f->node.conn = NULL;
		}
		if (f->node.conn == NULL)
			f->node.conn = admin_connect_node_timeout(f->node.name, f->node.conninfo, FENCE_CONNECT_TIMEOUT, &err);
		if (f->node.conn == NULL)
		{
			f->fence = ADMIN_FENCE_UNREACHABLE;
			set_note(f, pgmm_buf_str(&err));
		}
		else
		{
			f->node.server_version = PQserverVersion(f->node.conn);
			if (fence_one(a, f, NULL, &err) == 0)
			{
				f->fence = ADMIN_FENCE_DONE;
				set_note(f, NULL);
				if (f->fenced_now)
					admin_notice(a, "master %s (failed at epoch %lld) answers again: fenced now (the survivors' "
					             "catalog, guards on every shard, publication emptied, subscriptions disabled); "
					             "rows it accepted before now are on no other master (`pgmm rejoin %s` finds them)",
					             f->node.name, f->failed_epoch, f->node.name);
			}
			else
			{
				f->fence = ADMIN_FENCE_FAILED;
				set_note(f, pgmm_buf_str(&err));
				admin_notice(a, "master %s is failed but reachable and could NOT be fenced (it may accept writes "
				             "that reach no other master): %s", f->node.name, pgmm_buf_str(&err));
			}
		}
		pgmm_buf_free(&err);
	}
}

/* ------------------------------------------------------------ failover: builders */

void
admin_failover_assign(int *count, int ntargets, int n, int *out)
{
	int k, t;

	/* Each shard to the target holding the fewest of the group so far
	 * (the first such in catalog order): the group stays balanced. */
	for (k = 0; k < n; k++)
	{
		int best = 0;

		for (t = 1; t < ntargets; t++)
			if (count[t] < count[best])
				best = t;
		out[k] = best;
		count[best]++;
	}
}

/* A name from the command line, safe to print: printable ASCII, cut. */
static void
safe_name(pgmm_buf *b, const char *s)
{
	size_t i;

	pgmm_buf_append(b, "\"");
	for (i = 0; s[i] && i < 64; i++)
		pgmm_buf_printf(b, "%c", s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' ? s[i] : '?');
	pgmm_buf_append(b, s[i] ? "...\"" : "\"");
}

/* ------------------------------------------------------------ failover */

/* What one failover learnt and did (for the summary and the JSON). */
typedef struct fo_state
{
	const char *victim;
	long long   epoch;          /* before the change */
	int         nsurv;          /* survivors: the size of the per-survivor arrays */
	char       *cluster_id;
	int         ntargets;
	int        *targets;        /* indexes into a->nodes (after set-aside) */
	/* survivors' progress in the victim's history */
	char      **lsn;            /* per a->nodes index, "0/0" when none */
	int        *had_sub;        /* the survivor subscribed to the victim */
	int        *was_enabled;    /* ... and the subscription was enabled */
	int         src;
	/* the victim's relations: schema, relation (shard or reference table) */
	char      **rel_schema, **rel_name;
	int         nrels;
	long long  *eq_rows;        /* rows changed per survivor by equalizing */
	/* new owners */
	int        *shard_colo, *shard_rem, *shard_to;
	int         nshards;
	char      **ref_schema, **ref_table;
	int        *ref_to;
	int         nref;
	int         ngroups;
} fo_state;

static void
fo_free(fo_state *s, int nnodes)
{
	int i;

	(void) nnodes;
	for (i = 0; s->lsn && i < s->nsurv; i++)
		free(s->lsn[i]);
	for (i = 0; i < s->nrels; i++)
	{
		free(s->rel_schema[i]);
		free(s->rel_name[i]);
	}
	for (i = 0; i < s->nref; i++)
	{
		free(s->ref_schema[i]);
		free(s->ref_table[i]);
	}
	free(s->cluster_id);
	free(s->targets);
	free(s->lsn);
	free(s->had_sub);
	free(s->was_enabled);
	free(s->rel_schema);
	free(s->rel_name);
	free(s->eq_rows);
	free(s->shard_colo);
	free(s->shard_rem);
	free(s->shard_to);
	free(s->ref_schema);
	free(s->ref_table);
	free(s->ref_to);
}

/* pg_lsn text to a number (for comparing). */
static unsigned long long
lsn_value(const char *s)
{
	unsigned int hi = 0, lo = 0;

	if (s == NULL || sscanf(s, "%X/%X", &hi, &lo) != 2)
		return 0;
	return ((unsigned long long) hi << 32) | lo;
}

/* Disable survivor i's subscription from the victim and wait for its
 * worker to exit (its progress must not move after it is read); then read
 * that progress.  0 / -1. */
static int
stop_and_read_progress(PGMMadmin *a, fo_state *s, int i)
{
	pgmm_buf sub;
	const char *param[1];
	PGresult *r;
	long long deadline;
	int rc = -1;

	pgmm_buf_init(&sub);
	admin_build_sub_name(&sub, s->victim, a->nodes[i].name);
	param[0] = pgmm_buf_str(&sub);
	r = admin_query_params(a, i, "SELECT subenabled::text FROM pg_catalog.pg_subscription WHERE subname = $1 AND "
	                       "subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())",
	                       1, param);
	if (r == NULL)
		goto out;
	s->had_sub[i] = PQntuples(r) == 1;
	s->was_enabled[i] = s->had_sub[i] && PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (s->was_enabled[i])
	{
		pgmm_buf sql;
		int bad;

		pgmm_buf_init(&sql);
		pgmm_buf_append(&sql, "ALTER SUBSCRIPTION ");
		pgmm_buf_ident(&sql, pgmm_buf_str(&sub));
		pgmm_buf_append(&sql, " DISABLE");
		bad = admin_run(a, i, pgmm_buf_str(&sql)) < 0;
		pgmm_buf_free(&sql);
		if (bad)
			goto out;
		/* A worker stuck connecting to the dead master would only notice
		 * the DISABLE after its connect gives up: end it now (a
		 * transaction it was applying rolls back, its progress with it). */
		PQclear(admin_query_params(a, i, "SELECT pg_catalog.pg_terminate_backend(st.pid) FROM "
		                           "pg_catalog.pg_stat_subscription st JOIN pg_catalog.pg_subscription s "
		                           "ON s.oid = st.subid WHERE s.subname = $1 AND st.pid IS NOT NULL", 1, param));
	}
	deadline = ha_now_ms() + WORKER_EXIT_WAIT_MS;
	for (;;)
	{
		int busy;

		r = admin_query_params(a, i, "SELECT count(*) FROM pg_catalog.pg_stat_subscription st JOIN "
		                       "pg_catalog.pg_subscription s ON s.oid = st.subid WHERE s.subname = $1 AND "
		                       "st.pid IS NOT NULL", 1, param);
		if (r == NULL)
			goto out;
		busy = atoi(PQgetvalue(r, 0, 0)) > 0;
		PQclear(r);
		if (!busy)
			break;
		if (ha_now_ms() > deadline)
		{
			admin_seterr(a, "master %s: the apply worker of subscription %s did not stop within %d s after "
			             "DISABLE", a->nodes[i].name, pgmm_buf_str(&sub), WORKER_EXIT_WAIT_MS / 1000);
			goto out;
		}
		ha_sleep_ms(50);
	}
	r = admin_query_params(a, i, "SELECT coalesce((SELECT o.remote_lsn FROM pg_catalog.pg_subscription s "
	                       "JOIN pg_catalog.pg_replication_origin_status o ON o.external_id = 'pg_' || s.oid "
	                       "WHERE s.subname = $1 AND s.subdbid = (SELECT oid FROM pg_catalog.pg_database "
	                       "WHERE datname = current_database())), '0/0')::text", 1, param);
	if (r == NULL)
		goto out;
	s->lsn[i] = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	rc = s->lsn[i] ? 0 : -1;
	if (rc < 0)
		admin_seterr(a, "out of memory");
out:
	pgmm_buf_free(&sub);
	return rc;
}

/* Give back what failover disabled (it did not commit). */
static void
restore_subscriptions(PGMMadmin *a, fo_state *s)
{
	int i;

	for (i = 0; s->was_enabled && i < s->nsurv && i < a->nnodes; i++)
		if (s->was_enabled[i])
		{
			pgmm_buf sql;

			pgmm_buf_init(&sql);
			pgmm_buf_append(&sql, "ALTER SUBSCRIPTION ");
			admin_build_sub_name(&sql, s->victim, a->nodes[i].name);
			pgmm_buf_append(&sql, " ENABLE");
			if (a->nodes[i].conn)
				PQclear(PQexec(a->nodes[i].conn, pgmm_buf_str(&sql)));
			pgmm_buf_free(&sql);
		}
}

/* The catalog change: new owners, the freeze, the victim marked failed. */
static int
failover_body(PGMMadmin *a, void *arg)
{
	fo_state *s = arg;
	admin_stmts st;
	pgmm_buf b;
	int k, rc;

	admin_stmts_init(&st);
	pgmm_buf_init(&b);
	/* First the tables themselves (ONLY: not their shards, which
	 * replication writes into), in name order on every master: a writer
	 * through the table then waits before it holds any shard, instead of
	 * holding one that sync_local's guards need while sync_local's new key
	 * DEFAULT waits for its hold on the table (a deadlock). */
	pgmm_buf_append(&b, "DO $pgmm$ DECLARE t record; BEGIN FOR t IN SELECT schema_name, table_name FROM pgmm.tables "
	                "WHERE (kind = 'distributed' AND colocation IN (SELECT colocation FROM pgmm.shards WHERE owner = ");
	pgmm_buf_literal(&b, s->victim);
	pgmm_buf_append(&b, ")) OR (kind = 'reference' AND owner = ");
	pgmm_buf_literal(&b, s->victim);
	pgmm_buf_append(&b, ") ORDER BY 1, 2 LOOP EXECUTE pg_catalog.format('LOCK TABLE ONLY %I.%I IN ACCESS EXCLUSIVE MODE', "
	                "t.schema_name, t.table_name); END LOOP; END $pgmm$");
	admin_stmts_add(&st, pgmm_buf_str(&b));
	pgmm_buf_reset(&b);
	/* Freeze every table whose shards change publisher (until every
	 * subscriber refreshed), before the reference owner changes. */
	pgmm_buf_append(&b, "UPDATE pgmm.tables SET frozen = true, frozen_reason = ");
	pgmm_buf_literal(&b, "pgmm failover: the new owners' publications are being picked up");
	pgmm_buf_append(&b, " WHERE NOT frozen AND ((kind = 'reference' AND owner = ");
	pgmm_buf_literal(&b, s->victim);
	pgmm_buf_append(&b, ") OR (kind = 'distributed' AND colocation IN (SELECT colocation FROM pgmm.shards WHERE owner = ");
	pgmm_buf_literal(&b, s->victim);
	pgmm_buf_append(&b, ")))");
	admin_stmts_add(&st, pgmm_buf_str(&b));
	for (k = 0; k < s->nshards; k++)
	{
		pgmm_buf_reset(&b);
		pgmm_buf_append(&b, "UPDATE pgmm.shards SET owner = ");
		pgmm_buf_literal(&b, a->nodes[s->targets[s->shard_to[k]]].name);
		pgmm_buf_printf(&b, " WHERE colocation = %d AND remainder = %d AND owner = ", s->shard_colo[k], s->shard_rem[k]);
		pgmm_buf_literal(&b, s->victim);
		admin_stmts_add(&st, pgmm_buf_str(&b));
	}
	for (k = 0; k < s->nref; k++)
	{
		pgmm_buf_reset(&b);
		pgmm_buf_append(&b, "UPDATE pgmm.tables SET owner = ");
		pgmm_buf_literal(&b, a->nodes[s->targets[s->ref_to[k]]].name);
		pgmm_buf_append(&b, " WHERE schema_name = ");
		pgmm_buf_literal(&b, s->ref_schema[k]);
		pgmm_buf_append(&b, " AND table_name = ");
		pgmm_buf_literal(&b, s->ref_table[k]);
		admin_stmts_add(&st, pgmm_buf_str(&b));
	}
	/* Failed at the epoch this change commits; its slot stays in its row
	 * (UNIQUE) and next_slot only grows: nobody draws its IDs again. */
	pgmm_buf_reset(&b);
	pgmm_buf_printf(&b, "UPDATE pgmm.nodes SET state = 'failed', failed_epoch = %lld, failed_lsn = ", s->epoch + 1);
	pgmm_buf_literal(&b, s->lsn[s->src]);
	pgmm_buf_append(&b, " WHERE name = ");
	pgmm_buf_literal(&b, s->victim);
	pgmm_buf_append(&b, " AND state = 'active'");
	admin_stmts_add(&st, pgmm_buf_str(&b));
	admin_stmts_add(&st, "UPDATE pgmm.cluster SET next_slot = greatest(next_slot, (SELECT max(slot) + 1 FROM pgmm.nodes))");
	if (!pgmm_buf_ok(&b))
		st.broken = 1;
	rc = admin_stmts_run_all(a, &st);
	admin_stmts_free(&st);
	pgmm_buf_free(&b);
	return rc;
}

/* Read the victim's shards and reference tables, choose their new owners. */
static int
plan_owners(PGMMadmin *a, fo_state *s)
{
	const char *param[1] = {s->victim};
	PGresult *r;
	int *count = calloc((size_t) s->ntargets + 1, sizeof(int));
	int k, t, rc = -1, cur = -1;

	if (count == NULL)
	{
		admin_seterr(a, "out of memory");
		return -1;
	}
	/* Every shard of a group that has one of the victim's, in order: the
	 * victim's to place, the others counted for the balance. */
	r = admin_query_params(a, a->home, "SELECT colocation, remainder, owner FROM pgmm.shards WHERE colocation IN "
	                       "(SELECT colocation FROM pgmm.shards WHERE owner = $1) ORDER BY 1, 2", 1, param);
	if (r == NULL)
		goto out;
	s->shard_colo = calloc((size_t) PQntuples(r) + 1, sizeof(int));
	s->shard_rem = calloc((size_t) PQntuples(r) + 1, sizeof(int));
	s->shard_to = calloc((size_t) PQntuples(r) + 1, sizeof(int));
	if (!s->shard_colo || !s->shard_rem || !s->shard_to)
	{
		PQclear(r);
		admin_seterr(a, "out of memory");
		goto out;
	}
	for (k = 0; k <= PQntuples(r); k++)
	{
		int colo = k < PQntuples(r) ? atoi(PQgetvalue(r, k, 0)) : -1;

		if (colo != cur)
		{
			int first = s->nshards, n = 0, j;

			/* Place the group just read. */
			while (first > 0 && s->shard_colo[first - 1] == cur)
				first--;
			n = s->nshards - first;
			if (cur >= 0 && n > 0)
			{
				int *out = calloc((size_t) n, sizeof(int));

				if (out == NULL)
				{
					PQclear(r);
					admin_seterr(a, "out of memory");
					goto out;
				}
				admin_failover_assign(count, s->ntargets, n, out);
				for (j = 0; j < n; j++)
					s->shard_to[first + j] = out[j];
				free(out);
				s->ngroups++;
			}
			memset(count, 0, (size_t) s->ntargets * sizeof(int));
			cur = colo;
		}
		if (k == PQntuples(r))
			break;
		if (strcmp(PQgetvalue(r, k, 2), s->victim) == 0)
		{
			s->shard_colo[s->nshards] = colo;
			s->shard_rem[s->nshards] = atoi(PQgetvalue(r, k, 1));
			s->nshards++;
		}
		else
			for (t = 0; t < s->ntargets; t++)
				if (strcmp(a->nodes[s->targets[t]].name, PQgetvalue(r, k, 2)) == 0)
					count[t]++;
	}
	PQclear(r);
	/* Reference tables: to the target owning the fewest. */
	memset(count, 0, (size_t) s->ntargets * sizeof(int));
	r = admin_query(a, a->home, "SELECT owner, count(*) FROM pgmm.tables WHERE kind = 'reference' GROUP BY 1",
	                PGRES_TUPLES_OK);
	if (r == NULL)
		goto out;
	for (k = 0; k < PQntuples(r); k++)
		for (t = 0; t < s->ntargets; t++)
			if (strcmp(a->nodes[s->targets[t]].name, PQgetvalue(r, k, 0)) == 0)
				count[t] = atoi(PQgetvalue(r, k, 1));
	PQclear(r);
	r = admin_query_params(a, a->home, "SELECT schema_name, table_name FROM pgmm.tables WHERE kind = 'reference' "
	                       "AND owner = $1 ORDER BY 1, 2", 1, param);
	if (r == NULL)
		goto out;
	s->ref_schema = calloc((size_t) PQntuples(r) + 1, sizeof(char *));
	s->ref_table = calloc((size_t) PQntuples(r) + 1, sizeof(char *));
	s->ref_to = calloc((size_t) PQntuples(r) + 1, sizeof(int));
	if (!s->ref_schema || !s->ref_table || !s->ref_to)
	{
		PQclear(r);
		admin_seterr(a, "out of memory");
		goto out;
	}
	for (k = 0; k < PQntuples(r); k++)
	{
		s->ref_schema[k] = strdup(PQgetvalue(r, k, 0));
		s->ref_table[k] = strdup(PQgetvalue(r, k, 1));
		s->nref++;
		if (!s->ref_schema[k] || !s->ref_table[k])
		{
			PQclear(r);
			admin_seterr(a, "out of memory");
			goto out;
		}
		admin_failover_assign(count, s->ntargets, 1, &s->ref_to[k]);
	}
	PQclear(r);
	/* The relations whose copies are equalized: the victim's shards and
	 * reference tables, by name. */
	r = admin_query_params(a, a->home,
	                       "SELECT t.schema_name, t.table_name || '" PGMM_SHARD_SUFFIX "' || s.remainder FROM pgmm.tables t "
	                       "JOIN pgmm.shards s ON s.colocation = t.colocation WHERE t.kind = 'distributed' AND s.owner = $1 "
	                       "UNION ALL SELECT schema_name, table_name FROM pgmm.tables WHERE kind = 'reference' "
	                       "AND owner = $1 ORDER BY 1, 2", 1, param);
	if (r == NULL)
		goto out;
	s->rel_schema = calloc((size_t) PQntuples(r) + 1, sizeof(char *));
	s->rel_name = calloc((size_t) PQntuples(r) + 1, sizeof(char *));
	if (!s->rel_schema || !s->rel_name)
	{
		PQclear(r);
		admin_seterr(a, "out of memory");
		goto out;
	}
	for (k = 0; k < PQntuples(r); k++)
	{
		s->rel_schema[k] = strdup(PQgetvalue(r, k, 0));
		s->rel_name[k] = strdup(PQgetvalue(r, k, 1));
		s->nrels++;
		if (!s->rel_schema[k] || !s->rel_name[k])
		{
			PQclear(r);
			admin_seterr(a, "out of memory");
			goto out;
		}
	}
	PQclear(r);
	rc = 0;
out:
	free(count);
	return rc;
}

/*
 * failover --yes of a master that answers: hold off writes to the tables
 * of its shards and its reference tables (EXCLUSIVE locks, taken on conn in a transaction
 * kept open until the fence commits in it), then let every survivor apply
 * what it wrote before (bounded): a failover of a live master then loses
 * nothing it acknowledged.  0 / -1 (error set: the locks were not had).
 */
static int
hold_writes(PGMMadmin *a, int v, PGconn *conn)
{
	const char *param[1] = {a->nodes[v].name};
	PGresult *r;
	pgmm_buf sql;
	char set[64];
	long long deadline;
	char *target = NULL;
	int k, i, rc = -1;

	/* The whole partitioned tables (LOCK takes their partitions too): a
	 * writer waits at the table, before it holds any shard, so it never
	 * deadlocks with the fence that later changes the table's DEFAULT. */
	r = admin_query_params(a, a->home,
	                       "SELECT pg_catalog.format('%I.%I', t.schema_name, t.table_name) FROM pgmm.tables t "
	                       "WHERE (t.kind = 'distributed' AND t.colocation IN (SELECT s.colocation FROM pgmm.shards s "
	                       "WHERE s.owner = $1)) OR (t.kind = 'reference' AND t.owner = $1) ORDER BY 1", 1, param);
	if (r == NULL)
		return -1;
	pgmm_buf_init(&sql);
	snprintf(set, sizeof set, "SET LOCAL lock_timeout = %d", a->lock_timeout_ms);
	if (fence_exec(conn, "BEGIN", NULL, &a->err) < 0 || fence_exec(conn, set, NULL, &a->err) < 0)
		goto out;
	if (PQntuples(r) > 0)
	{
		pgmm_buf_append(&sql, "LOCK TABLE ");
		for (k = 0; k < PQntuples(r); k++)
			pgmm_buf_printf(&sql, "%s%s", k ? ", " : "", PQgetvalue(r, k, 0));
		pgmm_buf_append(&sql, " IN EXCLUSIVE MODE");
		if (fence_exec(conn, pgmm_buf_str(&sql), NULL, &a->err) < 0)
			goto out;
	}
	PQclear(r);
	r = PQexec(conn, "SELECT pg_catalog.pg_current_wal_lsn()::text");
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK || (target = strdup(PQgetvalue(r, 0, 0))) == NULL)
	{
		pgmm_buf_append_pqerror(&a->err, r, conn);
		goto out;
	}
	admin_notice(a, "%s answers (--yes): writes to its shards held; waiting for the others to apply its WAL up to %s",
	             a->nodes[v].name, target);
	deadline = ha_now_ms() + (a->catchup_wait_ms > 0 ? a->catchup_wait_ms : 30000);
	for (i = 0; i < a->nnodes; i++)
	{
		pgmm_buf sub;
		const char *vals[2];

		if (i == v)
			continue;
		pgmm_buf_init(&sub);
		admin_build_sub_name(&sub, a->nodes[v].name, a->nodes[i].name);
		vals[0] = pgmm_buf_str(&sub);
		vals[1] = target;
		for (;;)
		{
			PGresult *x = admin_query_params(a, i,
				"SELECT coalesce(GREATEST((SELECT w.latest_end_lsn FROM pg_catalog.pg_stat_subscription w "
				"WHERE w.subid = s.oid AND w.relid IS NULL), (SELECT o.remote_lsn FROM "
				"pg_catalog.pg_replication_origin_status o WHERE o.external_id = 'pg_' || s.oid::text)) "
				">= $2::pg_catalog.pg_lsn, false)::text FROM pg_catalog.pg_subscription s WHERE s.subname = $1 "
				"AND s.subenabled AND s.subdbid = (SELECT d.oid FROM pg_catalog.pg_database d "
				"WHERE d.datname = pg_catalog.current_database())", 2, vals);
			int done = x == NULL || PQntuples(x) == 0 || PQgetvalue(x, 0, 0)[0] == 't';

			PQclear(x);
			if (done)
				break;
			if (ha_now_ms() > deadline)
			{
				admin_notice(a, "%s has not applied all of %s's WAL in time: the failover goes on from the "
				             "survivor that got furthest", a->nodes[i].name, a->nodes[v].name);
				break;
			}
			ha_sleep_ms(20);
		}
		pgmm_buf_free(&sub);
	}
	pgmm_buf_reset(&a->err);
	rc = 0;
out:
	PQclear(r);
	free(target);
	pgmm_buf_free(&sql);
	return rc;
}

/* Fence the master failover just set aside, when it answers (--yes); 1
 * fenced, 0 not (unreachable, or it failed: said in a notice). */
static int
fence_victim(PGMMadmin *a, int again, PGconn *hold)
{
	admin_failed_node *f = &a->failed[a->nfailed - 1];
	pgmm_buf e;
	int ok;

	if (f->node.conn == NULL)
		return 0;
	pgmm_buf_init(&e);
	ok = fence_one(a, f, hold, &e) == 0;
	if (ok)
	{
		f->fence = ADMIN_FENCE_DONE;
		if (!again)
			admin_notice(a, "master %s answers: fenced (guards on every shard, publication emptied, subscriptions "
			             "disabled)", f->node.name);
	}
	else
	{
		f->fence = ADMIN_FENCE_FAILED;
		set_note(f, pgmm_buf_str(&e));
		admin_notice(a, "master %s answers and could NOT be fenced (it may accept writes that reach no other "
		             "master): %s", f->node.name, pgmm_buf_str(&e));
	}
	pgmm_buf_free(&e);
	return ok;
}

/* The summary: text for people, or JSON. */
static char *
summary(PGMMadmin *a, fo_state *s, int json, double total_s, double frozen_s, int fenced)
{
	pgmm_buf out;
	int i, t;

	pgmm_buf_init(&out);
	if (json)
	{
		pgmm_buf_append(&out, "{\"failed\": ");
		admin_json_str(&out, s->victim);
		pgmm_buf_printf(&out, ", \"epoch\": %lld, \"source\": ", s->epoch + 1);
		admin_json_str(&out, a->nodes[s->src].name);
		pgmm_buf_append(&out, ", \"source_lsn\": ");
		admin_json_str(&out, s->lsn[s->src]);
		pgmm_buf_append(&out, ", \"survivors\": [");
		for (i = 0; i < a->nnodes; i++)
		{
			pgmm_buf_append(&out, i ? ", {\"name\": " : "{\"name\": ");
			admin_json_str(&out, a->nodes[i].name);
			pgmm_buf_append(&out, ", \"lsn\": ");
			admin_json_str(&out, s->lsn[i]);
			pgmm_buf_printf(&out, ", \"rows_equalized\": %lld}", s->eq_rows[i]);
		}
		pgmm_buf_append(&out, "], \"shards\": [");
		for (i = 0; i < s->nshards; i++)
		{
			pgmm_buf_printf(&out, "%s{\"colocation\": %d, \"remainder\": %d, \"owner\": ", i ? ", " : "",
			                s->shard_colo[i], s->shard_rem[i]);
			admin_json_str(&out, a->nodes[s->targets[s->shard_to[i]]].name);
			pgmm_buf_append(&out, "}");
		}
		pgmm_buf_append(&out, "], \"reference_tables\": [");
		for (i = 0; i < s->nref; i++)
		{
			pgmm_buf_append(&out, i ? ", {\"schema\": " : "{\"schema\": ");
			admin_json_str(&out, s->ref_schema[i]);
			pgmm_buf_append(&out, ", \"table\": ");
			admin_json_str(&out, s->ref_table[i]);
			pgmm_buf_append(&out, ", \"owner\": ");
			admin_json_str(&out, a->nodes[s->targets[s->ref_to[i]]].name);
			pgmm_buf_append(&out, "}");
		}
		pgmm_buf_printf(&out, "], \"fenced\": %s, \"seconds\": %.3f, \"frozen_seconds\": %.3f, "
		                "\"unwritable_seconds_at_least\": %.3f}\n", fenced ? "true" : "false", total_s, frozen_s,
		                total_s);
	}
	else
	{
		pgmm_buf_printf(&out, "pgmm: failover of %s done in %.3f s (epoch %lld)\n", s->victim, total_s, s->epoch + 1);
		pgmm_buf_printf(&out, "  %d shard(s) of %d colocation group(s) taken over:", s->nshards, s->ngroups);
		for (t = 0; t < s->ntargets; t++)
		{
			int n = 0;

			for (i = 0; i < s->nshards; i++)
				n += s->shard_to[i] == t;
			pgmm_buf_printf(&out, " %s=%d", a->nodes[s->targets[t]].name, n);
		}
		pgmm_buf_append(&out, "\n");
		for (i = 0; i < s->nref; i++)
			pgmm_buf_printf(&out, "  reference table %s.%s now owned by %s\n", s->ref_schema[i], s->ref_table[i],
			                a->nodes[s->targets[s->ref_to[i]]].name);
		pgmm_buf_printf(&out, "  source of %s's history: %s (applied up to %s)", s->victim, a->nodes[s->src].name,
		                s->lsn[s->src]);
		for (i = 0; i < a->nnodes; i++)
			if (i != s->src)
				pgmm_buf_printf(&out, "; %s had %s, %lld row(s) equalized", a->nodes[i].name, s->lsn[i], s->eq_rows[i]);
		pgmm_buf_append(&out, "\n");
		pgmm_buf_printf(&out, "  %s marked failed (slot %d retired), subscriptions from it dropped%s\n", s->victim,
		                a->failed[a->nfailed - 1].node.slot, fenced ? ", and it is fenced" : "");
		pgmm_buf_printf(&out, "  its shards were unwritable for %.3f s from the start of the failover to the unfreeze "
		                "(since the master died: unknown); the tables were frozen for %.3f s of it\n", total_s,
		                frozen_s);
	}
	return pgmm_buf_take(&out);
}

char *
pgmm_admin_failover(PGMMadmin *a, const char *node, const char *const *to, int nto, int yes, int json)
{
	fo_state s;
	long long t0 = ha_now_ms(), t_commit = 0, t_end;
	int v, i, k, fenced = 0, aside = 0;
	char *result = NULL;
	PGconn *hold = NULL;        /* --yes: the transaction holding the victim's writes off */
	int relaxed = 0;            /* zero-loss waits taken off for the catalog change */
	PGresult *r;

	if (a == NULL || !a->ok)
		return NULL;
	admin_fence_failed(a);
	pgmm_buf_reset(&a->err);
	memset(&s, 0, sizeof s);
	s.src = -1;
	if (node == NULL || node[0] == '\0')
	{
		admin_seterr(a, "failover needs the name of the failed master; nothing was changed");
		return NULL;
	}
	s.victim = node;
	v = admin_node_index(a, node);
	if (v < 0)
	{
		int f = admin_failed_index(a, node);

		if (f >= 0)
			admin_seterr(a, "master %s was already failed over (at epoch %lld): nothing to do; nothing was changed",
			             node, a->failed[f].failed_epoch);
		else
		{
			pgmm_buf_reset(&a->err);
			pgmm_buf_append(&a->err, "no master named ");
			safe_name(&a->err, node);
			pgmm_buf_append(&a->err, " in the catalog (masters:");
			for (i = 0; i < a->nnodes; i++)
				pgmm_buf_printf(&a->err, " %s", a->nodes[i].name);
			pgmm_buf_append(&a->err, "); nothing was changed");
		}
		return NULL;
	}
	if (v == a->home)
	{
		admin_seterr(a, "master %s is the one given with -d: give -d a live master (any other); nothing was changed",
		             node);
		return NULL;
	}
	if (a->nnodes < 2)
	{
		admin_seterr(a, "no master would be left; nothing was changed");
		return NULL;
	}
	/* The --to list: live masters other than the victim, each once. */
	s.targets = calloc((size_t) a->nnodes + 1, sizeof(int));
	if (s.targets == NULL)
	{
		admin_seterr(a, "out of memory");
		return NULL;
	}
	for (k = 0; k < nto; k++)
	{
		int t = admin_node_index(a, to[k]), j;

		if (t < 0 || t == v)
		{
			pgmm_buf_reset(&a->err);
			pgmm_buf_append(&a->err, "--to ");
			safe_name(&a->err, to[k] ? to[k] : "");
			pgmm_buf_append(&a->err, t == v ? " is the failed master itself" : " is not a live master of the cluster");
			pgmm_buf_append(&a->err, "; nothing was changed");
			goto fail_early;
		}
		for (j = 0; j < s.ntargets; j++)
			if (s.targets[j] == t)
				break;
		if (j == s.ntargets)
			s.targets[s.ntargets++] = t;
	}
	/* Is it really dead?  A short connect timeout: a network cut must not
	 * hold the failover up. */
	if (a->nodes[v].conn && PQstatus(a->nodes[v].conn) == CONNECTION_OK)
	{
		r = PQexec(a->nodes[v].conn, "SELECT 1");
		if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
		{
			PQfinish(a->nodes[v].conn);
			a->nodes[v].conn = NULL;
		}
		PQclear(r);
	}
	else if (a->nodes[v].conn)
	{
		PQfinish(a->nodes[v].conn);
		a->nodes[v].conn = NULL;
	}
	if (a->nodes[v].conn == NULL)
	{
		pgmm_buf ignore;

		pgmm_buf_init(&ignore);
		a->nodes[v].conn = admin_connect_node_timeout(node, a->nodes[v].conninfo, FENCE_CONNECT_TIMEOUT, &ignore);
		pgmm_buf_free(&ignore);
	}
	if (a->nodes[v].conn && !yes)
	{
		char *d = pgmm_conninfo_describe(a->nodes[v].conninfo);

		admin_seterr(a, "master %s is reachable (%s answered): failover is for a master that is down; if it is cut "
		             "off from its clients and should be fenced, add --yes; nothing was changed", node, d ? d : "");
		free(d);
		goto fail_early;
	}
	/* Every other master must take part. */
	for (i = 0; i < a->nnodes; i++)
	{
		pgmm_node *n = &a->nodes[i];

		if (i == v)
			continue;
		if (n->conn && PQstatus(n->conn) != CONNECTION_OK)
			PQreset(n->conn);
		if (n->conn == NULL || PQstatus(n->conn) != CONNECTION_OK)
		{
			pgmm_buf e;

			if (n->conn)
				PQfinish(n->conn);
			pgmm_buf_init(&e);
			n->conn = admin_connect_node_timeout(n->name, n->conninfo, FENCE_CONNECT_TIMEOUT, &e);
			if (n->conn == NULL)
			{
				admin_seterr(a, "%s; every master but %s must be up to take over its shards (one failover at a "
				             "time: bring %s back first); nothing was changed", pgmm_buf_str(&e), node, n->name);
				pgmm_buf_free(&e);
				goto fail_early;
			}
			pgmm_buf_free(&e);
		}
	}
	/* Every survivor's catalog at the same epoch, before anything moves. */
	s.epoch = -1;
	for (i = 0; i < a->nnodes; i++)
	{
		long long e;

		if (i == v)
			continue;
		r = admin_query(a, i, "SELECT epoch, cluster_id FROM pgmm.cluster", PGRES_TUPLES_OK);
		if (r == NULL)
			goto fail_early;
		e = atoll(PQgetvalue(r, 0, 0));
		if (s.cluster_id == NULL)
			s.cluster_id = strdup(PQgetvalue(r, 0, 1));
		PQclear(r);
		if (s.epoch < 0)
			s.epoch = e;
		else if (e != s.epoch)
		{
			admin_seterr(a, "the catalog epoch differs between the live masters (%lld and %lld on %s): an earlier "
			             "change did not finish; run `pgmm recover` first; nothing was changed", s.epoch, e,
			             a->nodes[i].name);
			goto fail_early;
		}
	}
	if (s.cluster_id == NULL)
	{
		admin_seterr(a, "out of memory");
		goto fail_early;
	}
	/* A master that answers (--yes) keeps its writes off from here until
	 * it is fenced, and the others catch up with it first. */
	if (a->nodes[v].conn)
	{
		pgmm_buf ignore;

		pgmm_buf_init(&ignore);
		hold = admin_connect_node_timeout(node, a->nodes[v].conninfo, FENCE_CONNECT_TIMEOUT, &ignore);
		pgmm_buf_free(&ignore);
		if (hold && hold_writes(a, v, hold) < 0)
		{
			pgmm_buf_printf(&a->err, " (holding off %s's writes)", node);
			goto fail_early;
		}
	}
	/* From here on the victim is out of the node set: every statement and
	 * the catalog change run among the survivors. */
	{
		if (admin_set_aside(a, v, s.epoch + 1) < 0)
		{
			admin_seterr(a, "out of memory");
			goto fail_early;
		}
		aside = 1;
		for (k = 0; k < s.ntargets; k++)
			if (s.targets[k] > v)
				s.targets[k]--;
	}
	if (s.ntargets == 0)
		for (i = 0; i < a->nnodes; i++)
			s.targets[s.ntargets++] = i;
	s.lsn = calloc((size_t) a->nnodes, sizeof(char *));
	s.had_sub = calloc((size_t) a->nnodes, sizeof(int));
	s.was_enabled = calloc((size_t) a->nnodes, sizeof(int));
	s.eq_rows = calloc((size_t) a->nnodes, sizeof(long long));
	s.nsurv = a->nnodes;
	if (!s.lsn || !s.had_sub || !s.was_enabled || !s.eq_rows)
	{
		admin_seterr(a, "out of memory");
		goto fail;
	}
	admin_notice(a, "failover of %s: survivors %d, catalog epoch %lld", node, a->nnodes, s.epoch);

	/* 0. Zero-loss mode: the survivors' commits stop waiting for the
	 * victim's apply workers first (with `durability all` even the
	 * catalog change's PREPAREs below would wait for them for ever). */
	if (admin_durability_apply(a) < 0)
	{
		pgmm_buf_append(&a->err, " (while taking the failed master out of synchronous_standby_names)");
		goto fail;
	}

	/* 1. Stop applying the victim's history, and see how far each got. */
	for (i = 0; i < a->nnodes; i++)
		if (stop_and_read_progress(a, &s, i) < 0)
			goto fail;
	s.src = a->home;
	for (i = 0; i < a->nnodes; i++)
		if (lsn_value(s.lsn[i]) > lsn_value(s.lsn[s.src]))
			s.src = i;
	{
		pgmm_buf p;

		pgmm_buf_init(&p);
		for (i = 0; i < a->nnodes; i++)
			pgmm_buf_printf(&p, "%s%s %s%s", i ? ", " : "", a->nodes[i].name, s.lsn[i],
			                s.had_sub[i] ? "" : " (no subscription)");
		admin_notice(a, "progress in %s's history: %s; source: %s", node, pgmm_buf_str(&p), a->nodes[s.src].name);
		pgmm_buf_free(&p);
	}

	/* 2. Plan the new owners, then make every survivor's copy of the
	 * victim's relations equal to the source's. */
	if (plan_owners(a, &s) < 0)
		goto fail;
	for (i = 0; i < a->nnodes; i++)
	{
		if (i == s.src || lsn_value(s.lsn[i]) == lsn_value(s.lsn[s.src]))
			continue;
		for (k = 0; k < s.nrels; k++)
		{
			admin_diff d;
			int bad;

			/* admin_copy.c: by primary key, in batches, on i only, with
			 * the guards off (replica role); src is not touched. */
			admin_diff_init(&d);
			bad = admin_equalize(a, s.src, i, s.rel_schema[k], s.rel_name[k], 0, &d) < 0;
			s.eq_rows[i] += d.missing + d.extra + d.changed;
			admin_diff_free(&d);
			if (bad)
			{
				pgmm_buf_printf(&a->err, " (while making %s's copy of %s.%s equal to %s's)", a->nodes[i].name,
				                s.rel_schema[k], s.rel_name[k], a->nodes[s.src].name);
				goto fail;
			}
		}
		admin_notice(a, "%s: %d relation(s) of %s made equal to %s's copy (%lld row(s) differed)", a->nodes[i].name,
		             s.nrels, node, a->nodes[s.src].name, s.eq_rows[i]);
	}

	/* 3. One catalog change among the survivors.  In zero-loss mode the
	 * survivors' commits stop waiting for each other until the unfreeze:
	 * the change locks the shards on every survivor, so a survivor's apply
	 * worker would wait for it, a commit on another survivor for that
	 * worker, and the change there for that commit's locks (a deadlock
	 * only the lock timeout breaks).  Commits acknowledged in those
	 * milliseconds are on one master only. */
	r = admin_query(a, a->home, "SELECT durability FROM pgmm.cluster", PGRES_TUPLES_OK);
	if (r == NULL)
		goto fail;
	relaxed = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "off") != 0;
	PQclear(r);
	if (relaxed)
	{
		for (i = 0; i < a->nnodes; i++)
			admin_durability_reset(a, i);
		admin_notice(a, "durability: commits wait for no other master until the failover is done");
	}
	if (admin_catalog_change(a, failover_body, &s) < 0)
	{
		/* ABORTED: nothing changed; IN DOUBT: `recover` finishes it. */
		if (strstr(pgmm_buf_str(&a->err), "IN DOUBT") == NULL)
			goto fail;
		aside = 0;
		goto out;
	}
	aside = 0;
	t_commit = ha_now_ms();
	admin_notice(a, "catalog epoch %lld: %d shard(s) and %d reference table(s) of %s have new owners; %s marked failed",
	             s.epoch + 1, s.nshards, s.nref, node, node);

	/* 4. A reachable victim (--yes) is fenced before its slots go (every
	 * write refused there: its tables are frozen in this catalog). */
	fenced = fence_victim(a, 0, hold);
	if (hold)
	{
		PQfinish(hold);
		hold = NULL;
	}
	/* 5. Survivors stop subscribing to it; their slots for it go. */
	detach_failed(a, s.cluster_id);

	/* 6. Subscribers pick up the new owners' publications; unfreeze. */
	if (admin_refresh_and_unfreeze(a) < 0)
		goto out;
	t_end = ha_now_ms();
	/* ... and given the catalog after the unfreeze (PM001 from now on). */
	if (fenced)
		fenced = fence_victim(a, 1, NULL);
	result = summary(a, &s, json, (double) (t_end - t0) / 1000.0, (double) (t_end - t_commit) / 1000.0, fenced);
	if (result == NULL)
		admin_seterr(a, "out of memory");
	goto out;

fail:
	restore_subscriptions(a, &s);
fail_early:
	if (aside)
		put_back_last(a);
	if (strstr(pgmm_buf_str(&a->err), "nothing was changed") == NULL)
		pgmm_buf_append(&a->err, "; nothing was changed in the catalog");
out:
	if (hold)
		PQfinish(hold);     /* not fenced: its writes resume */
	if (relaxed)
	{
		pgmm_buf keep;

		pgmm_buf_init(&keep);
		pgmm_buf_append(&keep, pgmm_buf_str(&a->err));
		if (admin_durability_apply(a) < 0)
			admin_notice(a, "durability could not be set again on the survivors (`pgmm durability` sets it): %s",
			             pgmm_buf_str(&a->err));
		else
			admin_notice(a, "durability: commits wait for the other masters again");
		admin_seterr(a, "%s", pgmm_buf_str(&keep));
		pgmm_buf_free(&keep);
	}
	fo_free(&s, a->nnodes + 1);
	return result;
}
