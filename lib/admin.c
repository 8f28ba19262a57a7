/*
 * admin.c -- the admin API: install the cluster, change it, report on it.
 *
 * Every catalog change is one two-phase commit across all masters: BEGIN on
 * each, lock the cluster row (all epochs must agree), do the work, bump the
 * epoch, make the master's guards/publication/defaults agree with the
 * catalog (pgmm.sync_local()), PREPARE TRANSACTION on each, then COMMIT
 * PREPARED on each.  If anything fails before the last PREPARE, every
 * master rolls back and none keeps the change.  Subscription commands that
 * cannot run in a transaction block follow the commit.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "pgmm_int.h"
#include "pghash.h"

struct pgmm_admin
{
	int         ok;
	pgmm_buf    err;
	pgmm_node  *nodes;
	int         nnodes;
	int         home;           /* index of the master we came in through */
	char       *home_conninfo;  /* libpq part of the caller's conninfo */
	pgmm_notice_fn notice;
	void       *notice_arg;
	int         in_txn;         /* BEGIN sent on every node */
};

/* ------------------------------------------------------------ helpers */

static void
notice(PGMMadmin *a, const char *fmt, ...) PGMM_PRINTF(2, 3);

static void
notice(PGMMadmin *a, const char *fmt, ...)
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

static void
seterr(PGMMadmin *a, const char *fmt, ...) PGMM_PRINTF(2, 3);

static void
seterr(PGMMadmin *a, const char *fmt, ...)
{
	va_list ap;

	pgmm_buf_reset(&a->err);
	va_start(ap, fmt);
	pgmm_buf_vprintf(&a->err, fmt, ap);
	va_end(ap);
}

static void
free_nodes(pgmm_node *nodes, int n)
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

static PGconn *
connect_node(const char *name, const char *conninfo, pgmm_buf *err)
{
	PGconn *c = PQconnectdb(conninfo);

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

/* 1 when every master is connected (reconnecting those that dropped). */
static int
require_all(PGMMadmin *a)
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
			n->conn = connect_node(n->name, n->conninfo, &a->err);
			if (n->conn == NULL)
			{
				pgmm_buf_append(&a->err, "; every master must be up for this change, nothing was changed");
				return 0;
			}
		}
	}
	return 1;
}

static PGresult *
q(PGMMadmin *a, int i, const char *sql, ExecStatusType want)
{
	return pgmm_exec_check(a->nodes[i].conn, a->nodes[i].name, sql, want, &a->err);
}

static PGresult *
qp(PGMMadmin *a, int i, const char *sql, int n, const char *const *vals)
{
	PGresult *r = PQexecParams(a->nodes[i].conn, sql, n, NULL, vals, NULL, NULL, 0);

	if (r == NULL || (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK))
	{
		pgmm_buf_printf(&a->err, "master %s: ", a->nodes[i].name);
		pgmm_buf_append_pqerror(&a->err, r, a->nodes[i].conn);
		PQclear(r);
		return NULL;
	}
	return r;
}

static int
cmd(PGMMadmin *a, int i, const char *sql)
{
	return pgmm_exec_cmd(a->nodes[i].conn, a->nodes[i].name, sql, &a->err);
}

static int
node_index(PGMMadmin *a, const char *name)
{
	int i;

	for (i = 0; i < a->nnodes; i++)
		if (strcmp(a->nodes[i].name, name) == 0)
			return i;
	return -1;
}

/* ------------------------------------------------------------ two-phase commit */

static void
rollback_all(PGMMadmin *a)
{
	int i;

	for (i = 0; i < a->nnodes; i++)
		if (a->nodes[i].conn && PQstatus(a->nodes[i].conn) == CONNECTION_OK &&
		    PQtransactionStatus(a->nodes[i].conn) != PQTRANS_IDLE)
			PQclear(PQexec(a->nodes[i].conn, "ROLLBACK"));
	a->in_txn = 0;
}

static int
begin_all(PGMMadmin *a)
{
	int i;

	for (i = 0; i < a->nnodes; i++)
		if (cmd(a, i, "BEGIN") < 0)
		{
			rollback_all(a);
			return -1;
		}
	a->in_txn = 1;
	return 0;
}

/*
 * PREPARE on every master, then COMMIT PREPARED on every master.  The gid
 * carries the epoch the change commits, so `pgmm recover` can tell whether
 * a transaction left prepared by a crash must be committed (some master
 * already has that epoch) or rolled back.
 */
static int
prepare_commit_all(PGMMadmin *a, long long target_epoch)
{
	char gid[80], sql[160];
	int i, prepared = 0, failed = 0;
	pgmm_buf committed;

	snprintf(gid, sizeof gid, "pgmm:%lld:%08x", target_epoch, (unsigned) randombytes_random());
	snprintf(sql, sizeof sql, "PREPARE TRANSACTION '%s'", gid);
	for (i = 0; i < a->nnodes; i++)
	{
		PGresult *r = q(a, i, sql, PGRES_COMMAND_OK);

		if (r == NULL)
			break;
		PQclear(r);
		prepared++;
	}
	if (prepared < a->nnodes)
	{
		/* The failed master rolled back itself; undo the prepared ones. */
		snprintf(sql, sizeof sql, "ROLLBACK PREPARED '%s'", gid);
		for (i = 0; i < prepared; i++)
			PQclear(PQexec(a->nodes[i].conn, sql));
		rollback_all(a);
		pgmm_buf_append(&a->err, "; nothing was changed on any master");
		return -1;
	}
	a->in_txn = 0;
	snprintf(sql, sizeof sql, "COMMIT PREPARED '%s'", gid);
	pgmm_buf_init(&committed);
	for (i = 0; i < a->nnodes; i++)
	{
		PGresult *r = PQexec(a->nodes[i].conn, sql);

		if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK)
		{
			if (!failed)
				pgmm_buf_reset(&a->err);
			pgmm_buf_printf(&a->err, "%smaster %s: COMMIT PREPARED '%s' failed: ",
			                failed ? "; " : "", a->nodes[i].name, gid);
			pgmm_buf_append_pqerror(&a->err, r, a->nodes[i].conn);
			failed++;
		}
		else
			pgmm_buf_printf(&committed, "%s%s", committed.len ? ", " : "", a->nodes[i].name);
		PQclear(r);
	}
	if (failed)
	{
		pgmm_buf_printf(&a->err, "; the change is committed on %s and stays prepared on the others: "
		                "run `pgmm recover` when they are back", committed.len ? pgmm_buf_str(&committed) : "no master");
		pgmm_buf_free(&committed);
		return -1;
	}
	pgmm_buf_free(&committed);
	return 0;
}

typedef int (*txn_body)(PGMMadmin *a, void *arg);

/* One catalog change: lock and compare epochs, body, bump, sync, 2PC. */
static int
catalog_change(PGMMadmin *a, txn_body body, void *arg)
{
	long long epoch = -1;
	int i;

	if (!a->ok)
		return -1;
	pgmm_buf_reset(&a->err);
	if (!require_all(a))
		return -1;
	if (begin_all(a) < 0)
		return -1;
	for (i = 0; i < a->nnodes; i++)
	{
		PGresult *r = q(a, i, "SELECT epoch FROM pgmm.cluster FOR UPDATE", PGRES_TUPLES_OK);
		long long e;

		if (r == NULL)
			goto fail;
		e = PQntuples(r) == 1 ? atoll(PQgetvalue(r, 0, 0)) : -1;
		PQclear(r);
		if (i == 0)
			epoch = e;
		else if (e != epoch)
		{
			seterr(a, "the catalog epoch differs between masters (%s: %lld, %s: %lld): an earlier change "
			       "did not finish; run `pgmm recover`", a->nodes[0].name, epoch, a->nodes[i].name, e);
			goto fail;
		}
	}
	if (body(a, arg) < 0)
		goto fail;
	for (i = 0; i < a->nnodes; i++)
		if (cmd(a, i, "UPDATE pgmm.cluster SET epoch = epoch + 1") < 0)
			goto fail;
	for (i = 0; i < a->nnodes; i++)
	{
		PGresult *r = q(a, i, "SELECT pgmm.sync_local()", PGRES_TUPLES_OK);

		if (r == NULL)
			goto fail;
		PQclear(r);
	}
	return prepare_commit_all(a, epoch + 1);

fail:
	rollback_all(a);
	if (a->err.len == 0)
		pgmm_buf_append(&a->err, "failed");
	pgmm_buf_append(&a->err, "; nothing was changed on any master");
	return -1;
}

/* After publications changed: every pgmm subscription picks up new tables
 * (no initial copy: the rows were copied inside the transaction). */
static int
refresh_subscriptions(PGMMadmin *a)
{
	int i, j, rc = 0;

	for (i = 0; i < a->nnodes; i++)
	{
		PGresult *r = q(a, i, "SELECT subname FROM pg_catalog.pg_subscription WHERE subname LIKE 'pgmm\\_%' "
		                "AND subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) "
		                "ORDER BY 1", PGRES_TUPLES_OK);

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
	int i;

	(void) arg;
	for (i = 0; i < a->nnodes; i++)
		if (cmd(a, i, "UPDATE pgmm.tables SET frozen = false WHERE frozen") < 0)
			return -1;
	return 0;
}

/*
 * A table enters the catalog frozen: every master refuses writes to it
 * until every subscription has picked it up (REFRESH PUBLICATION cannot run
 * inside the two-phase commit), because a row written in between would not
 * be replicated.  Refresh, then unfreeze in a second catalog change.
 */
static int
refresh_and_unfreeze(PGMMadmin *a)
{
	if (refresh_subscriptions(a) < 0)
	{
		pgmm_buf_append(&a->err, "; the table stays frozen (writes refused) until `pgmm recover` succeeds");
		return -1;
	}
	return catalog_change(a, unfreeze_body, NULL);
}

/* ------------------------------------------------------------ connect */

PGMMadmin *
pgmm_admin_connect(const char *conninfo)
{
	PGMMadmin *a = calloc(1, sizeof *a);
	pgmm_options opts;
	PGconn *home;
	PGresult *r;
	int i;

	if (a == NULL)
		return NULL;
	pgmm_buf_init(&a->err);
	if (sodium_init() < 0)
	{
		seterr(a, "libsodium could not be initialised");
		return a;
	}
	if (pgmm_conninfo_split(conninfo, &a->home_conninfo, &opts, &a->err) < 0)
		return a;
	home = connect_node("(given)", a->home_conninfo, &a->err);
	if (home == NULL)
		return a;
	r = PQexec(home, "SELECT n.name, n.conninfo, n.slot, n.name = (SELECT node FROM pgmm.local) "
	           "FROM pgmm.nodes n ORDER BY n.name");
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
	{
		const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

		/* Decided on the SQLSTATE, never on the (translatable) words. */
		if (state && strcmp(state, "3F000") == 0)        /* invalid_schema_name */
			seterr(a, "this master is not part of a pgmm cluster (schema pgmm not found); run `pgmm init` first");
		else if (state && strcmp(state, "42P01") == 0)   /* undefined_table */
			seterr(a, "this master is not part of a pgmm cluster (schema pgmm has no pgmm catalog: %s); "
			       "run `pgmm init` first", PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
		else
		{
			pgmm_buf_append(&a->err, "master (given): ");
			if (r)
				pgmm_buf_append_pqresult(&a->err, r);
			else
				pgmm_buf_append_pqmsg(&a->err, PQerrorMessage(home));
		}
		PQclear(r);
		PQfinish(home);
		return a;
	}
	a->nnodes = PQntuples(r);
	a->nodes = calloc((size_t) (a->nnodes ? a->nnodes : 1), sizeof(pgmm_node));
	if (a->nodes == NULL)
	{
		seterr(a, "out of memory");
		PQclear(r);
		PQfinish(home);
		return a;
	}
	a->home = -1;
	for (i = 0; i < a->nnodes; i++)
	{
		pgmm_node *n = &a->nodes[i];

		n->name = strdup(PQgetvalue(r, i, 0));
		n->slot = atoi(PQgetvalue(r, i, 2));
		if (strcmp(PQgetvalue(r, i, 3), "t") == 0)
		{
			a->home = i;
			n->conninfo = strdup(a->home_conninfo);
			n->conn = home;
			home = NULL;
		}
		else
			n->conninfo = pgmm_conninfo_merge(PQgetvalue(r, i, 1), a->home_conninfo, pgmm_conninfo_carry_keys, &a->err);
		if (n->name == NULL || n->conninfo == NULL)
		{
			seterr(a, "out of memory");
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
		seterr(a, "the pgmm catalog on this master does not name it (pgmm.local is empty)");
		return a;
	}
	/* Reach the other masters now; a down master is reported by the
	 * operations that need it (status still works). */
	for (i = 0; i < a->nnodes; i++)
		if (a->nodes[i].conn == NULL)
		{
			pgmm_buf ignore;

			pgmm_buf_init(&ignore);
			a->nodes[i].conn = connect_node(a->nodes[i].name, a->nodes[i].conninfo, &ignore);
			pgmm_buf_free(&ignore);
		}
	for (i = 0; i < a->nnodes; i++)
		if (a->nodes[i].conn)
			a->nodes[i].server_version = PQserverVersion(a->nodes[i].conn);
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
		rollback_all(a);
	free_nodes(a->nodes, a->nnodes);
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

/* ------------------------------------------------------------ init */

static int
valid_node_name(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 24 || !(s[0] >= 'a' && s[0] <= 'z'))
		return 0;
	for (i = 0; i < n; i++)
	{
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
		if (s[i] == '_' && s[i + 1] == '_')
			return 0;
	}
	return 1;
}

static void
sub_name(pgmm_buf *b, const char *publisher, const char *subscriber)
{
	pgmm_buf_printf(b, "pgmm_%s__%s", publisher, subscriber);
}

/* Create the full mesh of subscriptions (on failure the caller drops what
 * was created). */
static int
create_mesh(PGMMadmin *a, char **full_conninfo, const char *cluster_id)
{
	int i, j;

	for (i = 0; i < a->nnodes; i++)
		for (j = 0; j < a->nnodes; j++)
		{
			pgmm_buf sql;
			int rc;

			if (i == j)
				continue;
			pgmm_buf_init(&sql);
			pgmm_buf_append(&sql, "CREATE SUBSCRIPTION ");
			sub_name(&sql, a->nodes[j].name, a->nodes[i].name);
			pgmm_buf_append(&sql, " CONNECTION ");
			pgmm_buf_literal(&sql, full_conninfo[j]);
			/* Slot names are per server, not per database: the cluster id
			 * keeps two pgmm clusters on the same servers apart. */
			pgmm_buf_printf(&sql, " PUBLICATION " PGMM_PUBLICATION " WITH (copy_data = false, slot_name = 'pgmm_%.8s_%s__%s'",
			                cluster_id, a->nodes[j].name, a->nodes[i].name);
			if (a->nodes[i].server_version >= 160000)
				pgmm_buf_append(&sql, ", origin = none");
			pgmm_buf_append(&sql, ")");
			rc = cmd(a, i, pgmm_buf_str(&sql));
			pgmm_buf_free(&sql);
			if (rc < 0)
				return -1;
			notice(a, "subscription %s <- %s created", a->nodes[i].name, a->nodes[j].name);
		}
	return 0;
}

/* Drop pgmm's subscriptions on master i (best effort; slots on an
 * unreachable publisher are left, and named in the error). */
static void
drop_subscriptions(PGMMadmin *a, int i)
{
	PGresult *r;
	int j;

	if (a->nodes[i].conn == NULL)
		return;
	r = PQexec(a->nodes[i].conn,
	           "SELECT subname FROM pg_catalog.pg_subscription WHERE subname LIKE 'pgmm\\_%' "
	           "AND subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())");
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
	{
		PQclear(r);
		return;
	}
	for (j = 0; j < PQntuples(r); j++)
	{
		pgmm_buf sql, id;
		PGresult *x;

		pgmm_buf_init(&sql);
		pgmm_buf_init(&id);
		pgmm_buf_ident(&id, PQgetvalue(r, j, 0));
		pgmm_buf_printf(&sql, "DROP SUBSCRIPTION %s", pgmm_buf_str(&id));
		x = PQexec(a->nodes[i].conn, pgmm_buf_str(&sql));
		if (x == NULL || PQresultStatus(x) != PGRES_COMMAND_OK)
		{
			/* Publisher unreachable: detach the slot and drop locally. */
			PQclear(x);
			pgmm_buf_reset(&sql);
			pgmm_buf_printf(&sql, "ALTER SUBSCRIPTION %s DISABLE", pgmm_buf_str(&id));
			PQclear(PQexec(a->nodes[i].conn, pgmm_buf_str(&sql)));
			pgmm_buf_reset(&sql);
			pgmm_buf_printf(&sql, "ALTER SUBSCRIPTION %s SET (slot_name = NONE)", pgmm_buf_str(&id));
			PQclear(PQexec(a->nodes[i].conn, pgmm_buf_str(&sql)));
			pgmm_buf_reset(&sql);
			pgmm_buf_printf(&sql, "DROP SUBSCRIPTION %s", pgmm_buf_str(&id));
			x = PQexec(a->nodes[i].conn, pgmm_buf_str(&sql));
			notice(a, "master %s: subscription %s dropped without its remote slot", a->nodes[i].name,
			       PQgetvalue(r, j, 0));
		}
		PQclear(x);
		pgmm_buf_free(&sql);
		pgmm_buf_free(&id);
	}
	PQclear(r);
}

static void
drop_server_side(PGMMadmin *a, int i)
{
	if (a->nodes[i].conn == NULL)
		return;
	PQclear(PQexec(a->nodes[i].conn, "DROP PUBLICATION IF EXISTS " PGMM_PUBLICATION));
	PQclear(PQexec(a->nodes[i].conn, "DROP SCHEMA IF EXISTS pgmm CASCADE"));
}

int
pgmm_admin_init(const char *const *specs, int nspecs, int stride, char **errmsg)
{
	PGMMadmin *a;
	char **full = NULL;
	int i, j, rc = -1;
	unsigned char idbytes[16];
	char cluster_id[33];

	if (errmsg)
		*errmsg = NULL;
	a = calloc(1, sizeof *a);
	if (a == NULL)
		return -1;
	pgmm_buf_init(&a->err);
	if (sodium_init() < 0)
	{
		seterr(a, "libsodium could not be initialised");
		goto out;
	}
	if (specs == NULL || nspecs < 2)
	{
		seterr(a, "a pgmm cluster needs at least 2 masters (got %d): give --node NAME=CONNINFO for each", nspecs < 0 ? 0 : nspecs);
		goto out;
	}
	if (stride == 0)
		stride = PGMM_DEFAULT_STRIDE;
	if (stride < nspecs || stride > 1000000)
	{
		seterr(a, "stride %d is invalid: it must be at least the number of masters (%d) and at most 1000000", stride, nspecs);
		goto out;
	}
	a->nnodes = nspecs;
	a->nodes = calloc((size_t) nspecs, sizeof(pgmm_node));
	full = calloc((size_t) nspecs, sizeof(char *));
	if (a->nodes == NULL || full == NULL)
	{
		seterr(a, "out of memory");
		goto out;
	}
	/* Parse NAME=CONNINFO, check names. */
	for (i = 0; i < nspecs; i++)
	{
		const char *eq = specs[i] ? strchr(specs[i], '=') : NULL;
		pgmm_options o;

		if (eq == NULL)
		{
			seterr(a, "node \"%s\" is not NAME=CONNINFO", specs[i] ? specs[i] : "(null)");
			goto out;
		}
		a->nodes[i].name = strndup(specs[i], (size_t) (eq - specs[i]));
		if (a->nodes[i].name == NULL)
		{
			seterr(a, "out of memory");
			goto out;
		}
		if (!valid_node_name(a->nodes[i].name))
		{
			seterr(a, "invalid master name \"%s\": use 1 to 24 characters a-z, 0-9 and _ (no \"__\"), starting with a letter",
			       a->nodes[i].name);
			goto out;
		}
		for (j = 0; j < i; j++)
			if (strcmp(a->nodes[j].name, a->nodes[i].name) == 0)
			{
				seterr(a, "master name \"%s\" is given twice", a->nodes[i].name);
				goto out;
			}
		if (pgmm_conninfo_split(eq + 1, &full[i], &o, &a->err) < 0)
		{
			pgmm_buf ctx;

			pgmm_buf_init(&ctx);
			pgmm_buf_printf(&ctx, "master %s: %s", a->nodes[i].name, pgmm_buf_str(&a->err));
			seterr(a, "%s", pgmm_buf_str(&ctx));
			pgmm_buf_free(&ctx);
			goto out;
		}
		a->nodes[i].conninfo = pgmm_conninfo_strip_secrets(full[i], &a->err);
		if (a->nodes[i].conninfo == NULL)
			goto out;
	}
	/* Reach and check every master before changing anything. */
	for (i = 0; i < nspecs; i++)
	{
		PGresult *r;
		const char *wal, *mpx, *ispgmm, *super;

		a->nodes[i].conn = connect_node(a->nodes[i].name, full[i], &a->err);
		if (a->nodes[i].conn == NULL)
		{
			pgmm_buf_append(&a->err, "; nothing was changed");
			goto out;
		}
		a->nodes[i].server_version = PQserverVersion(a->nodes[i].conn);
		if (a->nodes[i].server_version < 150000)
		{
			seterr(a, "master %s runs PostgreSQL %d; pgmm needs 15 or later", a->nodes[i].name,
			       a->nodes[i].server_version / 10000);
			goto out;
		}
		r = q(a, i, "SELECT current_setting('wal_level'), current_setting('max_prepared_transactions'), NULL, "
		      "(SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)::text, NULL, "
		      "EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'pgmm')::text",
		      PGRES_TUPLES_OK);
		if (r == NULL)
			goto out;
		wal = PQgetvalue(r, 0, 0);
		mpx = PQgetvalue(r, 0, 1);
		super = PQgetvalue(r, 0, 3);
		ispgmm = PQgetvalue(r, 0, 5);
		if (strcmp(wal, "logical") != 0)
		{
			seterr(a, "master %s has wal_level = %s; pgmm needs wal_level = logical "
			       "(ALTER SYSTEM SET wal_level = logical, then restart the server)", a->nodes[i].name, wal);
			PQclear(r);
			goto out;
		}
		if (atoi(mpx) <= 0)
		{
			seterr(a, "master %s has max_prepared_transactions = %s; pgmm changes every master with two-phase "
			       "commit and needs it > 0 (ALTER SYSTEM SET max_prepared_transactions = 20, then restart)",
			       a->nodes[i].name, mpx);
			PQclear(r);
			goto out;
		}
		if (super[0] != 't')
		{
			seterr(a, "master %s: the user must be a superuser to create subscriptions and guards", a->nodes[i].name);
			PQclear(r);
			goto out;
		}
		if (ispgmm[0] == 't')
		{
			PGresult *c = PQexec(a->nodes[i].conn, "SELECT cluster_id FROM pgmm.cluster");

			seterr(a, "master %s already belongs to a pgmm cluster (%s%s); remove it with `pgmm uninstall` first",
			       a->nodes[i].name,
			       c && PQresultStatus(c) == PGRES_TUPLES_OK && PQntuples(c) == 1 ? "cluster id " : "schema pgmm exists",
			       c && PQresultStatus(c) == PGRES_TUPLES_OK && PQntuples(c) == 1 ? PQgetvalue(c, 0, 0) : "");
			PQclear(c);
			PQclear(r);
			goto out;
		}
		a->nodes[i].slot = i + 1;
		for (j = 0; j < i; j++)
		{
			PGresult *o = PQexec(a->nodes[j].conn,
			                     "SELECT (SELECT system_identifier FROM pg_catalog.pg_control_system())::text "
			                     "|| '/' || current_database() || '/' || current_setting('port')");
			PGresult *m = PQexec(a->nodes[i].conn,
			                     "SELECT (SELECT system_identifier FROM pg_catalog.pg_control_system())::text "
			                     "|| '/' || current_database() || '/' || current_setting('port')");
			int same = o && m && PQresultStatus(o) == PGRES_TUPLES_OK && PQresultStatus(m) == PGRES_TUPLES_OK &&
				strcmp(PQgetvalue(o, 0, 0), PQgetvalue(m, 0, 0)) == 0;

			PQclear(o);
			PQclear(m);
			if (same)
			{
				seterr(a, "masters %s and %s are the same server and database", a->nodes[j].name, a->nodes[i].name);
				PQclear(r);
				goto out;
			}
		}
		PQclear(r);
	}
	randombytes_buf(idbytes, sizeof idbytes);
	sodium_bin2hex(cluster_id, sizeof cluster_id, idbytes, sizeof idbytes);

	/* One two-phase commit installs the catalog everywhere. */
	if (begin_all(a) < 0)
		goto out;
	for (i = 0; i < nspecs; i++)
	{
		pgmm_buf sql;
		int k, bad;

		if (cmd(a, i, pgmm_catalog_sql) < 0)
			goto fail_txn;
		pgmm_buf_init(&sql);
		pgmm_buf_printf(&sql, "INSERT INTO pgmm.cluster (cluster_id, epoch, stride, next_slot, catalog_version) "
		                "VALUES ('%s', 1, %d, %d, %d);\n", cluster_id, stride, nspecs + 1, PGMM_CATALOG_VERSION);
		for (k = 0; k < nspecs; k++)
		{
			pgmm_buf_append(&sql, "INSERT INTO pgmm.nodes (name, conninfo, slot) VALUES (");
			pgmm_buf_literal(&sql, a->nodes[k].name);
			pgmm_buf_append(&sql, ", ");
			pgmm_buf_literal(&sql, a->nodes[k].conninfo);
			pgmm_buf_printf(&sql, ", %d);\n", a->nodes[k].slot);
		}
		pgmm_buf_append(&sql, "INSERT INTO pgmm.local (node) VALUES (");
		pgmm_buf_literal(&sql, a->nodes[i].name);
		pgmm_buf_append(&sql, ");\n");
		pgmm_buf_printf(&sql, "CREATE SEQUENCE pgmm.id_seq AS bigint START %d INCREMENT %d MINVALUE 1;\n",
		                a->nodes[i].slot, stride);
		pgmm_buf_append(&sql, "CREATE PUBLICATION " PGMM_PUBLICATION " WITH (publish = 'insert, update, delete');\n");
		pgmm_buf_append(&sql, "SELECT pgmm.sync_local();\n");
		bad = !pgmm_buf_ok(&sql) || cmd(a, i, pgmm_buf_str(&sql)) < 0;
		pgmm_buf_free(&sql);
		if (bad)
		{
			if (a->err.len == 0)
				seterr(a, "out of memory");
			goto fail_txn;
		}
	}
	if (prepare_commit_all(a, 1) < 0)
		goto out;
	notice(a, "catalog installed on %d masters (cluster %s)", nspecs, cluster_id);
	if (create_mesh(a, full, cluster_id) < 0)
	{
		/* Undo everything so nothing is half done. */
		pgmm_buf keep;

		pgmm_buf_init(&keep);
		pgmm_buf_append(&keep, pgmm_buf_str(&a->err));
		for (i = 0; i < nspecs; i++)
			drop_subscriptions(a, i);
		for (i = 0; i < nspecs; i++)
			drop_server_side(a, i);
		seterr(a, "%s; the cluster was not created (everything pgmm installed was removed)", pgmm_buf_str(&keep));
		pgmm_buf_free(&keep);
		goto out;
	}
	rc = 0;
	goto out;

fail_txn:
	rollback_all(a);
	pgmm_buf_append(&a->err, "; nothing was changed on any master");
out:
	if (rc < 0 && errmsg)
		*errmsg = strdup(pgmm_buf_str(&a->err));
	if (full)
	{
		for (i = 0; i < nspecs; i++)
			if (full[i])
			{
				sodium_memzero(full[i], strlen(full[i]));
				free(full[i]);
			}
		free(full);
	}
	pgmm_admin_finish(a);
	return rc;
}

/* ------------------------------------------------------------ ddl */

static int
ddl_body(PGMMadmin *a, void *arg)
{
	const char *sql = arg;
	int i;

	for (i = 0; i < a->nnodes; i++)
	{
		PGresult *r = PQexec(a->nodes[i].conn, sql);
		ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		{
			pgmm_buf_printf(&a->err, "master %s: ", a->nodes[i].name);
			pgmm_buf_append_pqerror(&a->err, r, a->nodes[i].conn);
			PQclear(r);
			return -1;
		}
		PQclear(r);
	}
	return 0;
}

int
pgmm_admin_ddl(PGMMadmin *a, const char *sql)
{
	if (a == NULL)
		return -1;
	if (sql == NULL || sql[strspn(sql, " \t\r\n;")] == '\0')
	{
		seterr(a, "ddl: no SQL statement given");
		return -1;
	}
	if (catalog_change(a, ddl_body, (void *) sql) < 0)
		return -1;
	notice(a, "applied on %d masters", a->nnodes);
	return 0;
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
	PGresult *r = qp(a, i, table_info_sql, 1, v);
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
		seterr(a, "out of memory");
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
		seterr(a, "no table given");
		return -1;
	}
	rc = lookup_table(a, a->home, table, t);
	if (rc != 0)
	{
		if (rc > 0)
			seterr(a, "table \"%s\" does not exist on master %s", table, a->nodes[a->home].name);
		return -1;
	}
	if (t->relkind != 'r')
	{
		seterr(a, "%s is not a plain table (relkind %c)%s", t->qualified, t->relkind,
		       t->relkind == 'p' ? ": pgmm partitions the table itself; give it an unpartitioned table" : "");
		goto fail;
	}
	v[0] = t->schema;
	v[1] = t->name;
	r = qp(a, a->home, "SELECT kind FROM pgmm.tables WHERE schema_name = $1 AND table_name = $2", 2, v);
	if (r == NULL)
		goto fail;
	if (PQntuples(r) > 0)
	{
		seterr(a, "%s is already a %s table of this cluster", t->qualified, PQgetvalue(r, 0, 0));
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	if (t->replident == 'n' || (t->replident == 'd' && !t->has_pk) || t->replident == 'i')
	{
		seterr(a, "%s has no primary key: logical replication needs one to copy UPDATE and DELETE "
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
				seterr(a, "table %s exists on master %s but not on master %s: create it on every master with `pgmm ddl`",
				       t->qualified, a->nodes[a->home].name, a->nodes[i].name);
			goto fail;
		}
		if (o.relkind != t->relkind || strcmp(o.signature, t->signature) != 0)
		{
			seterr(a, "table %s is not the same on every master: %s has (%s), %s has (%s)", t->qualified,
			       a->nodes[a->home].name, t->signature, a->nodes[i].name, o.signature);
			table_info_free(&o);
			goto fail;
		}
		table_info_free(&o);
		pgmm_buf_init(&sql);
		pgmm_buf_printf(&sql, "SELECT count(*) FROM (SELECT 1 FROM ONLY %s LIMIT 1) x", t->qualified);
		r = q(a, i, pgmm_buf_str(&sql), PGRES_TUPLES_OK);
		pgmm_buf_free(&sql);
		if (r == NULL)
			goto fail;
		rows = atoll(PQgetvalue(r, 0, 0));
		PQclear(r);
		if (rows > 0)
		{
			seterr(a, "table %s has rows on master %s too: pgmm takes existing rows from one master only "
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
		seterr(a, "out of memory");
		return -1;
	}
	/* Targets first: each enters COPY FROM STDIN with triggers off. */
	pgmm_buf_init(&sql);
	pgmm_buf_printf(&sql, "COPY %s (%s) FROM STDIN", target, cols);
	for (i = 0; i < a->nnodes && rc == 0; i++)
	{
		if (i == a->home)
			continue;
		if (cmd(a, i, "SET LOCAL session_replication_role = replica") < 0)
		{
			rc = -1;
			break;
		}
		r = PQexec(a->nodes[i].conn, pgmm_buf_str(&sql));
		if (r == NULL || PQresultStatus(r) != PGRES_COPY_IN)
		{
			pgmm_buf_printf(&a->err, "master %s: ", a->nodes[i].name);
			pgmm_buf_append_pqerror(&a->err, r, a->nodes[i].conn);
			rc = -1;
		}
		else
			in_copy[i] = 1;
		PQclear(r);
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
		if (i != a->home && cmd(a, i, "SET LOCAL session_replication_role = origin") < 0)
			rc = -1;
	return rc;
}

/* Column list (quoted, comma separated) of the live, non-generated
 * columns of rel on the home master. */
static char *
copy_columns(PGMMadmin *a, const char *qualified)
{
	const char *v[1] = {qualified};
	PGresult *r = qp(a, a->home,
	                 "SELECT pg_catalog.string_agg(pg_catalog.quote_ident(attname), ', ' ORDER BY attnum) "
	                 "FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass($1) AND attnum > 0 "
	                 "AND NOT attisdropped AND attgenerated = ''", 1, v);
	char *s;

	if (r == NULL)
		return NULL;
	s = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (s == NULL)
		seterr(a, "out of memory");
	return s;
}

/* ------------------------------------------------------------ reference */

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
	int i, rc = 0;

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
	pgmm_buf_append(&sql, "INSERT INTO pgmm.tables (schema_name, table_name, kind, frozen, owner) VALUES (");
	pgmm_buf_literal(&sql, ra->t->schema);
	pgmm_buf_append(&sql, ", ");
	pgmm_buf_literal(&sql, ra->t->name);
	pgmm_buf_append(&sql, ", 'reference', true, ");
	pgmm_buf_literal(&sql, ra->owner);
	pgmm_buf_append(&sql, ")");
	for (i = 0; i < a->nnodes && rc == 0; i++)
		rc = cmd(a, i, pgmm_buf_str(&sql));
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
	if (node_index(a, owner) < 0)
	{
		seterr(a, "unknown master \"%s\" for --owner", owner);
		return -1;
	}
	if (!require_all(a))
		return -1;
	if (check_table_everywhere(a, table, &t) < 0)
		return -1;
	ra.t = &t;
	ra.owner = owner;
	ra.copied = 0;
	rc = catalog_change(a, reference_body, &ra);
	if (rc == 0)
	{
		notice(a, "%s is a reference table owned by %s (%lld existing rows copied to the other masters)",
		       t.qualified, owner, ra.copied);
		rc = refresh_and_unfreeze(a);
	}
	table_info_free(&t);
	return rc;
}

/* ------------------------------------------------------------ distribute */

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

/* Run one statement built with printf on every master. */
static int
all_printf(PGMMadmin *a, const char *fmt, ...) PGMM_PRINTF(2, 3);

static int
all_printf(PGMMadmin *a, const char *fmt, ...)
{
	pgmm_buf sql;
	va_list ap;
	int i, rc = 0;

	pgmm_buf_init(&sql);
	va_start(ap, fmt);
	pgmm_buf_vprintf(&sql, fmt, ap);
	va_end(ap);
	if (!pgmm_buf_ok(&sql))
	{
		seterr(a, "out of memory");
		rc = -1;
	}
	for (i = 0; i < a->nnodes && rc == 0; i++)
		rc = cmd(a, i, pgmm_buf_str(&sql));
	pgmm_buf_free(&sql);
	return rc;
}

/* Collect, on the home master, statements (one per row, col 0) of a query
 * taking the table's regclass text as $1. */
static PGresult *
home_list(PGMMadmin *a, const char *sql, const char *qualified)
{
	const char *v[1] = {qualified};

	return qp(a, a->home, sql, 1, v);
}

static int
distribute_body(PGMMadmin *a, void *arg)
{
	dist_args *da = arg;
	table_info *t = da->t;
	PGresult *fk_in = NULL, *fk_own = NULL, *seqs = NULL, *idx = NULL;
	pgmm_buf old, sql, qid;
	char *cols = NULL;
	int i, r, rc = -1;

	pgmm_buf_init(&old);
	pgmm_buf_init(&sql);
	pgmm_buf_init(&qid);
	pgmm_buf_ident(&qid, da->column);
	if (all_printf(a, "LOCK TABLE %s IN ACCESS EXCLUSIVE MODE", t->qualified) < 0)
		goto out;
	cols = copy_columns(a, t->qualified);
	if (cols == NULL)
		goto out;
	/* What the rename-copy-drop would lose, read once from the home master
	 * (the table is the same everywhere). */
	fk_in = home_list(a,
	                  "SELECT pg_catalog.format('%s', conrelid::regclass), pg_catalog.quote_ident(conname), "
	                  "pg_catalog.pg_get_constraintdef(oid) FROM pg_catalog.pg_constraint "
	                  "WHERE contype = 'f' AND conparentid = 0 AND confrelid = pg_catalog.to_regclass($1) "
	                  "AND conrelid <> confrelid ORDER BY 1, 2", t->qualified);
	fk_own = home_list(a,
	                   "SELECT pg_catalog.quote_ident(conname), pg_catalog.pg_get_constraintdef(oid) "
	                   "FROM pg_catalog.pg_constraint WHERE contype = 'f' AND conparentid = 0 AND conrelid = pg_catalog.to_regclass($1) "
	                   "ORDER BY 1", t->qualified);
	seqs = home_list(a,
	                 "SELECT d.objid::regclass::text, pg_catalog.quote_ident(a.attname) "
	                 "FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_attribute a "
	                 "  ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
	                 "WHERE d.refobjid = pg_catalog.to_regclass($1) AND d.classid = 'pg_catalog.pg_class'::regclass "
	                 "AND d.deptype IN ('a', 'i') AND (SELECT relkind FROM pg_catalog.pg_class WHERE oid = d.objid) = 'S' "
	                 "ORDER BY 1", t->qualified);
	idx = home_list(a,
	                "SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname), c.oid "
	                "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
	                "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	                "WHERE i.indrelid = pg_catalog.to_regclass($1) ORDER BY 1", t->qualified);
	if (!fk_in || !fk_own || !seqs || !idx)
		goto out;
	/* Drop foreign keys that point at the table; they come back below. */
	for (r = 0; r < PQntuples(fk_in); r++)
		if (all_printf(a, "ALTER TABLE %s DROP CONSTRAINT %s", PQgetvalue(fk_in, r, 0), PQgetvalue(fk_in, r, 1)) < 0)
			goto out;
	/* Free the index names (the new table's indexes take them). */
	for (r = 0; r < PQntuples(idx); r++)
		if (all_printf(a, "ALTER INDEX %s RENAME TO pgmm_old_idx_%s", PQgetvalue(idx, r, 0), PQgetvalue(idx, r, 1)) < 0)
			goto out;
	pgmm_buf_ident(&old, t->schema);
	pgmm_buf_append(&old, ".");
	{
		char tmp[64];

		snprintf(tmp, sizeof tmp, "pgmm_old_%08x", (unsigned) randombytes_random());
		if (all_printf(a, "ALTER TABLE %s RENAME TO %s", t->qualified, tmp) < 0)
			goto out;
		pgmm_buf_append(&old, tmp);
	}
	if (all_printf(a, "CREATE TABLE %s (LIKE %s INCLUDING ALL) PARTITION BY HASH (%s)",
	               t->qualified, pgmm_buf_str(&old), pgmm_buf_str(&qid)) < 0)
		goto out;
	/* The key gets pgmm's DEFAULT (pgmm.sync_local), not an identity. */
	if (all_printf(a, "ALTER TABLE %s ALTER COLUMN %s DROP IDENTITY IF EXISTS", t->qualified, pgmm_buf_str(&qid)) < 0)
		goto out;
	for (i = 0; i < da->shards; i++)
	{
		pgmm_buf part;
		char sfx[24];
		int bad;

		snprintf(sfx, sizeof sfx, PGMM_SHARD_SUFFIX "%d", i);
		if (strlen(t->name) + strlen(sfx) > 63)
		{
			seterr(a, "table name %s is too long for shard names (%s%s exceeds 63 bytes)", t->name, t->name, sfx);
			goto out;
		}
		pgmm_buf_init(&part);
		pgmm_buf_ident(&part, t->schema);
		pgmm_buf_append(&part, ".");
		{
			char *pn = malloc(strlen(t->name) + sizeof sfx);

			if (pn == NULL)
			{
				seterr(a, "out of memory");
				pgmm_buf_free(&part);
				goto out;
			}
			strcpy(pn, t->name);
			strcat(pn, sfx);
			pgmm_buf_ident(&part, pn);
			free(pn);
		}
		bad = all_printf(a, "CREATE TABLE %s PARTITION OF %s FOR VALUES WITH (MODULUS %d, REMAINDER %d)",
		                 pgmm_buf_str(&part), t->qualified, da->shards, i) < 0;
		if (!bad && t->replident == 'f')
			bad = all_printf(a, "ALTER TABLE %s REPLICA IDENTITY FULL", pgmm_buf_str(&part)) < 0;
		pgmm_buf_free(&part);
		if (bad)
			goto out;
	}
	if (t->replident == 'f' && all_printf(a, "ALTER TABLE %s REPLICA IDENTITY FULL", t->qualified) < 0)
		goto out;
	/* Rows: into their shards on the home master, then to every other. */
	pgmm_buf_printf(&sql, "INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM ONLY %s",
	                t->qualified, cols, cols, pgmm_buf_str(&old));
	if (cmd(a, a->home, pgmm_buf_str(&sql)) < 0)
		goto out;
	pgmm_buf_reset(&sql);
	pgmm_buf_printf(&sql, "SELECT %s FROM %s", cols, t->qualified);
	if (copy_rows_to_others(a, pgmm_buf_str(&sql), t->qualified, cols, &da->copied) < 0)
		goto out;
	/* Sequences owned by the old table's columns move to the new one. */
	for (r = 0; r < PQntuples(seqs); r++)
		if (all_printf(a, "ALTER SEQUENCE %s OWNED BY %s.%s", PQgetvalue(seqs, r, 0), t->qualified,
		               PQgetvalue(seqs, r, 1)) < 0)
			goto out;
	if (all_printf(a, "DROP TABLE %s", pgmm_buf_str(&old)) < 0)
		goto out;
	for (r = 0; r < PQntuples(fk_own); r++)
		if (all_printf(a, "ALTER TABLE %s ADD CONSTRAINT %s %s", t->qualified, PQgetvalue(fk_own, r, 0),
		               PQgetvalue(fk_own, r, 1)) < 0)
			goto out;
	for (r = 0; r < PQntuples(fk_in); r++)
		if (all_printf(a, "ALTER TABLE %s ADD CONSTRAINT %s %s", PQgetvalue(fk_in, r, 0), PQgetvalue(fk_in, r, 1),
		               PQgetvalue(fk_in, r, 2)) < 0)
			goto out;
	/* Catalog. */
	if (da->colocation == 0)
	{
		PGresult *x = q(a, a->home, "SELECT coalesce(max(id), 0) + 1 FROM pgmm.colocations", PGRES_TUPLES_OK);

		if (x == NULL)
			goto out;
		da->colocation = atoi(PQgetvalue(x, 0, 0));
		PQclear(x);
		if (all_printf(a, "INSERT INTO pgmm.colocations (id, key_type, shards) VALUES (%d, '%s', %d)",
		               da->colocation, pgmm_keytype_name(da->keytype), da->shards) < 0)
			goto out;
		/* Round-robin over the masters in name order, starting where the
		 * previous group stopped so small groups spread too. */
		for (i = 0; i < da->shards; i++)
			if (all_printf(a, "INSERT INTO pgmm.shards (colocation, remainder, owner) VALUES (%d, %d, '%s')",
			               da->colocation, i, a->nodes[(i + da->colocation - 1) % a->nnodes].name) < 0)
				goto out;
	}
	pgmm_buf_reset(&sql);
	pgmm_buf_append(&sql, "INSERT INTO pgmm.tables (schema_name, table_name, kind, frozen, key_column, key_type, key_position, colocation) VALUES (");
	pgmm_buf_literal(&sql, t->schema);
	pgmm_buf_append(&sql, ", ");
	pgmm_buf_literal(&sql, t->name);
	pgmm_buf_append(&sql, ", 'distributed', true, ");
	pgmm_buf_literal(&sql, da->column);
	pgmm_buf_printf(&sql, ", '%s', %d, %d)", pgmm_keytype_name(da->keytype), da->key_position, da->colocation);
	for (i = 0; i < a->nnodes; i++)
		if (cmd(a, i, pgmm_buf_str(&sql)) < 0)
			goto out;
	/* Existing integer keys: move every master's ID sequence past them so
	 * new IDs never collide with imported ones. */
	if (da->copied > 0 && (da->keytype == PGMM_KEY_INT2 || da->keytype == PGMM_KEY_INT4 || da->keytype == PGMM_KEY_INT8))
	{
		PGresult *x;
		long long maxkey, stride;

		pgmm_buf_reset(&sql);
		pgmm_buf_printf(&sql, "SELECT coalesce(max(%s), 0)::bigint, (SELECT stride FROM pgmm.cluster) FROM %s",
		                pgmm_buf_str(&qid), t->qualified);
		x = q(a, a->home, pgmm_buf_str(&sql), PGRES_TUPLES_OK);
		if (x == NULL)
			goto out;
		maxkey = atoll(PQgetvalue(x, 0, 0));
		stride = atoll(PQgetvalue(x, 0, 1));
		PQclear(x);
		for (i = 0; i < a->nnodes; i++)
		{
			long long slot = a->nodes[i].slot, base;

			if (maxkey < slot)
				continue;
			base = maxkey - ((maxkey - slot) % stride);   /* largest value <= maxkey in this slot */
			pgmm_buf_reset(&sql);
			pgmm_buf_printf(&sql, "SELECT pg_catalog.setval('pgmm.id_seq', %lld) "
			                "WHERE (SELECT last_value FROM pgmm.id_seq) < %lld", base, base);
			x = q(a, i, pgmm_buf_str(&sql), PGRES_TUPLES_OK);
			if (x == NULL)
				goto out;
			PQclear(x);
		}
	}
	rc = 0;
out:
	PQclear(fk_in);
	PQclear(fk_own);
	PQclear(seqs);
	PQclear(idx);
	free(cols);
	pgmm_buf_free(&old);
	pgmm_buf_free(&sql);
	pgmm_buf_free(&qid);
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
		seterr(a, "distribute: no key column given");
		return -1;
	}
	if (shards < 0 || shards > 4096)
	{
		seterr(a, "distribute: --shards must be between 1 and 4096 (got %d)", shards);
		return -1;
	}
	if (!require_all(a))
		return -1;
	if (check_table_everywhere(a, table, &t) < 0)
		return -1;
	memset(&da, 0, sizeof da);
	da.t = &t;
	da.column = column;
	/* The key column: type, collation, position, unique constraints. */
	v[0] = t.qualified;
	v[1] = column;
	r = qp(a, a->home,
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
		seterr(a, "column \"%s\" does not exist in table %s", column, t.qualified);
		PQclear(r);
		goto fail;
	}
	da.keytype = pgmm_keytype_from_name(PQgetvalue(r, 0, 0));
	if (da.keytype == PGMM_KEY_INVALID || PQgetvalue(r, 0, 1)[0] != 'b')
	{
		seterr(a, "column %s of %s has type %s, which pgmm cannot route on; supported key types: "
		       "smallint, integer, bigint, text, varchar, char(n), uuid, bytea, date, timestamp, timestamptz, numeric, boolean",
		       column, t.qualified, PQgetvalue(r, 0, 0));
		PQclear(r);
		goto fail;
	}
	if (PQgetvalue(r, 0, 2)[0] != 't')
	{
		seterr(a, "column %s of %s has a nondeterministic collation; its hash is not the byte hash pgmm computes",
		       column, t.qualified);
		PQclear(r);
		goto fail;
	}
	if (PQgetvalue(r, 0, 5)[0] != '\0')
	{
		seterr(a, "column %s of %s is a generated column and cannot be the key", column, t.qualified);
		PQclear(r);
		goto fail;
	}
	if (PQgetvalue(r, 0, 4)[0] != '\0')
	{
		seterr(a, "the key %s must be part of every unique constraint of %s (PostgreSQL requires it for "
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
				seterr(a, "--colocate-with: table \"%s\" does not exist", colocate_with);
			goto fail;
		}
		v[0] = c.schema;
		v[1] = c.name;
		r = qp(a, a->home,
		       "SELECT t.colocation, c.key_type, c.shards FROM pgmm.tables t JOIN pgmm.colocations c ON c.id = t.colocation "
		       "WHERE t.schema_name = $1 AND t.table_name = $2 AND t.kind = 'distributed'", 2, v);
		if (r == NULL)
		{
			table_info_free(&c);
			goto fail;
		}
		if (PQntuples(r) != 1)
		{
			seterr(a, "--colocate-with: %s is not a distributed table", c.qualified);
			PQclear(r);
			table_info_free(&c);
			goto fail;
		}
		if (pgmm_keytype_from_name(PQgetvalue(r, 0, 1)) != da.keytype)
		{
			seterr(a, "--colocate-with: %s is distributed by a %s key, but %s.%s is %s", c.qualified,
			       PQgetvalue(r, 0, 1), t.qualified, column, pgmm_keytype_name(da.keytype));
			PQclear(r);
			table_info_free(&c);
			goto fail;
		}
		if (shards && shards != atoi(PQgetvalue(r, 0, 2)))
		{
			seterr(a, "--colocate-with: %s has %s shards, --shards says %d", c.qualified, PQgetvalue(r, 0, 2), shards);
			PQclear(r);
			table_info_free(&c);
			goto fail;
		}
		da.colocation = atoi(PQgetvalue(r, 0, 0));
		da.shards = atoi(PQgetvalue(r, 0, 2));
		PQclear(r);
		table_info_free(&c);
	}
	rc = catalog_change(a, distribute_body, &da);
	if (rc == 0)
	{
		notice(a, "%s is distributed by %s into %d shards (%lld existing rows placed and copied to every master)",
		       t.qualified, column, da.shards, da.copied);
		rc = refresh_and_unfreeze(a);
	}
	table_info_free(&t);
	return rc;
fail:
	table_info_free(&t);
	return -1;
}

/* ------------------------------------------------------------ status */

static void
json_str(pgmm_buf *b, const char *s)
{
	const char *p;

	pgmm_buf_append(b, "\"");
	for (p = s ? s : ""; *p; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (c == '"' || c == '\\')
			pgmm_buf_printf(b, "\\%c", c);
		else if (c < 0x20)
			pgmm_buf_printf(b, "\\u%04x", c);
		else
			pgmm_buf_append_len(b, p, 1);
	}
	pgmm_buf_append(b, "\"");
}

typedef struct sub_row
{
	char  *sub;        /* subscription name */
	char  *slot;       /* its slot on the publisher */
	int    subscriber;
	int    publisher;
	int    enabled;
	int    worker;
	long long apply_errors;
	long long sync_errors;
	long long not_ready;
	int    slot_found;
	int    slot_active;
	long long lag_bytes;
	double lag_seconds;
} sub_row;

char *
pgmm_admin_status(PGMMadmin *a, int json)
{
	pgmm_buf out;
	PGresult *tables = NULL, *shards = NULL;
	sub_row *subs = NULL;
	int nsubs = 0, i, j, r, up;
	char **epochs, **versions, **errs;
	char **prepared;

	if (a == NULL || !a->ok)
		return NULL;
	pgmm_buf_reset(&a->err);
	pgmm_buf_init(&out);
	epochs = calloc((size_t) a->nnodes, sizeof(char *));
	versions = calloc((size_t) a->nnodes, sizeof(char *));
	errs = calloc((size_t) a->nnodes, sizeof(char *));
	prepared = calloc((size_t) a->nnodes, sizeof(char *));
	subs = calloc((size_t) (a->nnodes * a->nnodes + 1), sizeof(sub_row));
	if (!epochs || !versions || !errs || !prepared || !subs)
	{
		seterr(a, "out of memory");
		goto out;
	}
	for (i = 0; i < a->nnodes; i++)
	{
		pgmm_node *n = &a->nodes[i];
		PGresult *x;

		if (n->conn && PQstatus(n->conn) != CONNECTION_OK)
			PQreset(n->conn);
		if (n->conn == NULL)
		{
			pgmm_buf e;

			pgmm_buf_init(&e);
			n->conn = connect_node(n->name, n->conninfo, &e);
			if (n->conn == NULL)
				errs[i] = pgmm_buf_take(&e);
			pgmm_buf_free(&e);
		}
		if (n->conn == NULL || PQstatus(n->conn) != CONNECTION_OK)
		{
			if (errs[i] == NULL)
				errs[i] = strdup(n->conn ? PQerrorMessage(n->conn) : "unreachable");
			continue;
		}
		x = PQexec(n->conn, "SELECT (SELECT epoch FROM pgmm.cluster)::text, split_part(current_setting('server_version'), ' ', 1), "
		           "(SELECT pg_catalog.string_agg(gid, ' ') FROM pg_catalog.pg_prepared_xacts "
		           " WHERE gid LIKE 'pgmm:%' AND database = current_database())");
		if (x && PQresultStatus(x) == PGRES_TUPLES_OK)
		{
			epochs[i] = strdup(PQgetvalue(x, 0, 0));
			versions[i] = strdup(PQgetvalue(x, 0, 1));
			prepared[i] = strdup(PQgetvalue(x, 0, 2));
		}
		else
			errs[i] = strdup(x ? PQresultErrorMessage(x) : PQerrorMessage(n->conn));
		PQclear(x);
		/* Subscriptions this master has (it is the subscriber). */
		x = PQexec(n->conn,
		           "SELECT s.subname, s.subenabled::text, coalesce(s.subslotname::text, ''), "
		           "  EXISTS (SELECT 1 FROM pg_catalog.pg_stat_subscription st WHERE st.subid = s.oid "
		           "          AND st.relid IS NULL AND st.pid IS NOT NULL)::text, "
		           "  coalesce(ss.apply_error_count, 0), coalesce(ss.sync_error_count, 0), "
		           "  (SELECT count(*) FROM pg_catalog.pg_subscription_rel sr WHERE sr.srsubid = s.oid AND sr.srsubstate <> 'r') "
		           "FROM pg_catalog.pg_subscription s "
		           "LEFT JOIN pg_catalog.pg_stat_subscription_stats ss ON ss.subid = s.oid "
		           "WHERE s.subname LIKE 'pgmm\\_%' "
		           "AND s.subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) "
		           "ORDER BY 1");
		if (x && PQresultStatus(x) == PGRES_TUPLES_OK)
			for (r = 0; r < PQntuples(x) && nsubs < a->nnodes * a->nnodes; r++)
			{
				sub_row *s = &subs[nsubs];
				const char *name = PQgetvalue(x, r, 0), *sep = strstr(name, "__");
				char pub[64];

				if (sep == NULL || (size_t) (sep - name - 5) >= sizeof pub)
					continue;
				memcpy(pub, name + 5, (size_t) (sep - name - 5));
				pub[sep - name - 5] = '\0';
				s->sub = strdup(name);
				s->subscriber = i;
				s->publisher = node_index(a, pub);
				s->slot = strdup(PQgetvalue(x, r, 2));
				s->enabled = PQgetvalue(x, r, 1)[0] == 't';
				s->worker = PQgetvalue(x, r, 3)[0] == 't';
				s->apply_errors = atoll(PQgetvalue(x, r, 4));
				s->sync_errors = atoll(PQgetvalue(x, r, 5));
				s->not_ready = atoll(PQgetvalue(x, r, 6));
				s->lag_bytes = -1;
				s->lag_seconds = -1;
				nsubs++;
			}
		PQclear(x);
	}
	/* Publisher side: slot activity and lag. */
	for (i = 0; i < a->nnodes; i++)
	{
		PGresult *x;

		if (a->nodes[i].conn == NULL || PQstatus(a->nodes[i].conn) != CONNECTION_OK)
			continue;
		x = PQexec(a->nodes[i].conn,
		           "SELECT sl.slot_name::text, sl.active::text, "
		           "  coalesce(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), sl.confirmed_flush_lsn), 0)::bigint, "
		           "  coalesce(extract(epoch FROM (SELECT max(r.replay_lag) FROM pg_catalog.pg_stat_replication r "
		           "                               WHERE r.pid = sl.active_pid)), 0)::float8 "
		           "FROM pg_catalog.pg_replication_slots sl WHERE sl.slot_name LIKE 'pgmm\\_%' "
		           "AND sl.database = current_database()");
		if (x && PQresultStatus(x) == PGRES_TUPLES_OK)
			for (r = 0; r < PQntuples(x); r++)
				for (j = 0; j < nsubs; j++)
					if (subs[j].publisher == i && subs[j].slot && strcmp(subs[j].slot, PQgetvalue(x, r, 0)) == 0)
					{
						subs[j].slot_found = 1;
						subs[j].slot_active = PQgetvalue(x, r, 1)[0] == 't';
						subs[j].lag_bytes = atoll(PQgetvalue(x, r, 2));
						subs[j].lag_seconds = atof(PQgetvalue(x, r, 3));
					}
		PQclear(x);
	}
	tables = PQexec(a->nodes[a->home].conn,
	                "SELECT t.schema_name, t.table_name, t.kind, coalesce(t.key_column, ''), coalesce(t.key_type, ''), "
	                "  coalesce(t.colocation::text, ''), coalesce(t.owner, ''), coalesce(c.shards::text, ''), t.frozen::text "
	                "FROM pgmm.tables t LEFT JOIN pgmm.colocations c ON c.id = t.colocation ORDER BY 1, 2");
	shards = PQexec(a->nodes[a->home].conn,
	                "SELECT colocation, owner, count(*) FROM pgmm.shards GROUP BY 1, 2 ORDER BY 1, 2");
	if (!tables || PQresultStatus(tables) != PGRES_TUPLES_OK || !shards || PQresultStatus(shards) != PGRES_TUPLES_OK)
	{
		seterr(a, "master %s: cannot read the catalog: %s", a->nodes[a->home].name,
		       PQerrorMessage(a->nodes[a->home].conn));
		goto out;
	}

	/* STALLED: the apply worker keeps failing (a conflict) and the slot is
	 * behind; "down": no worker yet or the publisher is unreachable. */
#define SUB_STATE(s) (!(s)->enabled ? "disabled" : \
	((s)->apply_errors > 0 && (s)->lag_bytes != 0) ? "STALLED" : \
	!(s)->worker ? "down" : (s)->not_ready > 0 ? "syncing" : "streaming")

	if (json)
	{
		pgmm_buf_append(&out, "{\"masters\": [");
		for (i = 0; i < a->nnodes; i++)
		{
			pgmm_buf_append(&out, i ? ", {\"name\": " : "{\"name\": ");
			json_str(&out, a->nodes[i].name);
			pgmm_buf_printf(&out, ", \"slot\": %d, \"up\": %s, \"epoch\": %s, \"version\": ", a->nodes[i].slot,
			                errs[i] ? "false" : "true", epochs[i] && epochs[i][0] ? epochs[i] : "null");
			json_str(&out, versions[i] ? versions[i] : "");
			pgmm_buf_append(&out, ", \"address\": ");
			{
				char *d = pgmm_conninfo_describe(a->nodes[i].conninfo);

				json_str(&out, d);
				free(d);
			}
			pgmm_buf_append(&out, ", \"error\": ");
			if (errs[i])
				json_str(&out, errs[i]);
			else
				pgmm_buf_append(&out, "null");
			pgmm_buf_append(&out, ", \"prepared\": ");
			json_str(&out, prepared[i] ? prepared[i] : "");
			pgmm_buf_append(&out, "}");
		}
		pgmm_buf_append(&out, "], \"tables\": [");
		for (r = 0; r < PQntuples(tables); r++)
		{
			pgmm_buf_append(&out, r ? ", {\"schema\": " : "{\"schema\": ");
			json_str(&out, PQgetvalue(tables, r, 0));
			pgmm_buf_append(&out, ", \"table\": ");
			json_str(&out, PQgetvalue(tables, r, 1));
			pgmm_buf_append(&out, ", \"kind\": ");
			json_str(&out, PQgetvalue(tables, r, 2));
			if (strcmp(PQgetvalue(tables, r, 2), "reference") == 0)
			{
				pgmm_buf_append(&out, ", \"owner\": ");
				json_str(&out, PQgetvalue(tables, r, 6));
			}
			else
			{
				pgmm_buf_append(&out, ", \"key\": ");
				json_str(&out, PQgetvalue(tables, r, 3));
				pgmm_buf_append(&out, ", \"key_type\": ");
				json_str(&out, PQgetvalue(tables, r, 4));
				pgmm_buf_printf(&out, ", \"colocation\": %s, \"shards\": %s", PQgetvalue(tables, r, 5), PQgetvalue(tables, r, 7));
			}
			pgmm_buf_printf(&out, ", \"frozen\": %s", PQgetvalue(tables, r, 8)[0] == 't' ? "true" : "false");
			pgmm_buf_append(&out, "}");
		}
		pgmm_buf_append(&out, "], \"shards\": [");
		for (r = 0; r < PQntuples(shards); r++)
		{
			pgmm_buf_printf(&out, "%s{\"colocation\": %s, \"owner\": ", r ? ", " : "", PQgetvalue(shards, r, 0));
			json_str(&out, PQgetvalue(shards, r, 1));
			pgmm_buf_printf(&out, ", \"count\": %s}", PQgetvalue(shards, r, 2));
		}
		pgmm_buf_append(&out, "], \"subscriptions\": [");
		for (j = 0; j < nsubs; j++)
		{
			sub_row *s = &subs[j];

			pgmm_buf_append(&out, j ? ", {\"name\": " : "{\"name\": ");
			json_str(&out, s->sub);
			pgmm_buf_append(&out, ", \"subscriber\": ");
			json_str(&out, a->nodes[s->subscriber].name);
			pgmm_buf_append(&out, ", \"publisher\": ");
			json_str(&out, s->publisher >= 0 ? a->nodes[s->publisher].name : "?");
			pgmm_buf_append(&out, ", \"state\": ");
			json_str(&out, SUB_STATE(s));
			pgmm_buf_printf(&out, ", \"worker\": %s, \"apply_errors\": %lld, \"sync_errors\": %lld, "
			                "\"lag_bytes\": %lld, \"lag_seconds\": %.3f}",
			                s->worker ? "true" : "false", s->apply_errors, s->sync_errors,
			                s->lag_bytes, s->lag_seconds);
		}
		pgmm_buf_append(&out, "]}\n");
		goto out;
	}

	up = 0;
	for (i = 0; i < a->nnodes; i++)
		up += errs[i] == NULL;
	pgmm_buf_printf(&out, "masters: %d (%d up)\n", a->nnodes, up);
	pgmm_buf_printf(&out, "  %-12s %-5s %-5s %-7s %-9s %s\n", "NAME", "STATE", "SLOT", "EPOCH", "VERSION", "ADDRESS");
	for (i = 0; i < a->nnodes; i++)
	{
		char *d = pgmm_conninfo_describe(a->nodes[i].conninfo);

		pgmm_buf_printf(&out, "  %-12s %-5s %-5d %-7s %-9s %s%s\n", a->nodes[i].name, errs[i] ? "DOWN" : "up",
		                a->nodes[i].slot, epochs[i] && epochs[i][0] ? epochs[i] : "-",
		                versions[i] ? versions[i] : "-", d ? d : "", i == a->home ? "  (this)" : "");
		free(d);
		if (errs[i])
		{
			pgmm_buf_append(&out, "      ");
			pgmm_buf_append_pqmsg(&out, errs[i]);
			pgmm_buf_append(&out, "\n");
		}
		if (prepared[i] && prepared[i][0])
			pgmm_buf_printf(&out, "      unfinished two-phase transactions: %s (run `pgmm recover`)\n", prepared[i]);
	}
	pgmm_buf_printf(&out, "tables: %d\n", PQntuples(tables));
	for (r = 0; r < PQntuples(tables); r++)
	{
		if (strcmp(PQgetvalue(tables, r, 2), "reference") == 0)
			pgmm_buf_printf(&out, "  %s.%s  reference, owner %s", PQgetvalue(tables, r, 0),
			                PQgetvalue(tables, r, 1), PQgetvalue(tables, r, 6));
		else
			pgmm_buf_printf(&out, "  %s.%s  distributed by %s (%s), %s shards, colocation %s",
			                PQgetvalue(tables, r, 0), PQgetvalue(tables, r, 1), PQgetvalue(tables, r, 3),
			                PQgetvalue(tables, r, 4), PQgetvalue(tables, r, 7), PQgetvalue(tables, r, 5));
		pgmm_buf_append(&out, PQgetvalue(tables, r, 8)[0] == 't'
		                ? "  FROZEN: writes refused until `pgmm recover` refreshes the subscriptions\n" : "\n");
	}
	if (PQntuples(shards) > 0)
	{
		const char *cur = "";

		pgmm_buf_append(&out, "shards per owner:\n");
		for (r = 0; r < PQntuples(shards); r++)
		{
			if (strcmp(cur, PQgetvalue(shards, r, 0)) != 0)
			{
				cur = PQgetvalue(shards, r, 0);
				pgmm_buf_printf(&out, "%s  colocation %s:", r ? "\n" : "", cur);
			}
			pgmm_buf_printf(&out, " %s=%s", PQgetvalue(shards, r, 1), PQgetvalue(shards, r, 2));
		}
		pgmm_buf_append(&out, "\n");
	}
	pgmm_buf_printf(&out, "subscriptions: %d of %d expected\n", nsubs, a->nnodes * (a->nnodes - 1));
	pgmm_buf_printf(&out, "  %-26s %-10s %12s %10s  %s\n", "SUBSCRIBER <- PUBLISHER", "STATE", "LAG BYTES", "LAG TIME", "NOTES");
	for (j = 0; j < nsubs; j++)
	{
		sub_row *s = &subs[j];
		char who[80], lagb[32], lagt[32];

		snprintf(who, sizeof who, "%s <- %s", a->nodes[s->subscriber].name,
		         s->publisher >= 0 ? a->nodes[s->publisher].name : "?");
		if (s->lag_bytes >= 0)
			snprintf(lagb, sizeof lagb, "%lld", s->lag_bytes);
		else
			snprintf(lagb, sizeof lagb, "?");
		if (s->lag_seconds >= 0)
			snprintf(lagt, sizeof lagt, "%.3f s", s->lag_seconds);
		else
			snprintf(lagt, sizeof lagt, "?");
		pgmm_buf_printf(&out, "  %-26s %-10s %12s %10s  %s%s%s", who, SUB_STATE(s), lagb, lagt,
		                s->worker ? "" : "no apply worker; ",
		                s->slot_found ? (s->slot_active ? "" : "slot inactive; ") : "publisher slot not seen; ",
		                "");
		if (s->apply_errors || s->sync_errors)
			pgmm_buf_printf(&out, "%lld apply errors, %lld sync errors (see the subscriber's log)", s->apply_errors,
			                s->sync_errors);
		pgmm_buf_append(&out, "\n");
	}
out:
	for (i = 0; epochs && i < a->nnodes; i++)
	{
		free(epochs[i]);
		free(versions ? versions[i] : NULL);
		free(errs ? errs[i] : NULL);
		free(prepared ? prepared[i] : NULL);
	}
	free(epochs);
	free(versions);
	free(errs);
	free(prepared);
	for (j = 0; subs && j < nsubs; j++)
	{
		free(subs[j].sub);
		free(subs[j].slot);
	}
	free(subs);
	PQclear(tables);
	PQclear(shards);
	if (a->err.len)
	{
		pgmm_buf_free(&out);
		return NULL;
	}
	{
		char *s = pgmm_buf_take(&out);

		if (s == NULL)
			seterr(a, "out of memory");
		return s;
	}
}

/* ------------------------------------------------------------ recover */

int
pgmm_admin_recover(PGMMadmin *a, int *resolved)
{
	long long max_epoch = -1;
	int i, r, done = 0, rc = 0;

	if (resolved)
		*resolved = 0;
	if (a == NULL || !a->ok)
		return -1;
	pgmm_buf_reset(&a->err);
	if (!require_all(a))
		return -1;
	for (i = 0; i < a->nnodes; i++)
	{
		PGresult *x = q(a, i, "SELECT epoch FROM pgmm.cluster", PGRES_TUPLES_OK);

		if (x == NULL)
			return -1;
		if (atoll(PQgetvalue(x, 0, 0)) > max_epoch)
			max_epoch = atoll(PQgetvalue(x, 0, 0));
		PQclear(x);
	}
	for (i = 0; i < a->nnodes; i++)
	{
		PGresult *x = q(a, i, "SELECT gid FROM pg_catalog.pg_prepared_xacts WHERE gid LIKE 'pgmm:%' "
		                "AND database = current_database() ORDER BY prepared", PGRES_TUPLES_OK);

		if (x == NULL)
			return -1;
		for (r = 0; r < PQntuples(x); r++)
		{
			const char *gid = PQgetvalue(x, r, 0);
			long long target = atoll(gid + 5);
			char sql[160];
			int commit = target <= max_epoch;

			/* Some master has the epoch this transaction commits: the
			 * change was decided, finish it; else nobody committed it. */
			snprintf(sql, sizeof sql, "%s PREPARED '%s'", commit ? "COMMIT" : "ROLLBACK", gid);
			if (cmd(a, i, sql) < 0)
				rc = -1;
			else
			{
				done++;
				notice(a, "master %s: %s %s", a->nodes[i].name, commit ? "committed" : "rolled back", gid);
			}
		}
		PQclear(x);
	}
	if (resolved)
		*resolved = done;
	if (rc == 0)
	{
		PGresult *x = q(a, a->home, "SELECT count(*) FROM pgmm.tables WHERE frozen", PGRES_TUPLES_OK);
		int frozen = x ? atoi(PQgetvalue(x, 0, 0)) : 0;

		PQclear(x);
		if (x == NULL)
			rc = -1;
		else if (frozen > 0)
		{
			rc = refresh_and_unfreeze(a);
			if (rc == 0)
				notice(a, "%d frozen table(s) unfrozen", frozen);
		}
		else if (refresh_subscriptions(a) < 0)
			rc = -1;
	}
	return rc;
}

/* ------------------------------------------------------------ verify */

char *
pgmm_admin_verify(PGMMadmin *a, int *diverged)
{
	pgmm_buf out;
	PGresult *tables;
	int t, i, bad = 0;

	if (diverged)
		*diverged = 0;
	if (a == NULL || !a->ok)
		return NULL;
	pgmm_buf_reset(&a->err);
	if (!require_all(a))
		return NULL;
	tables = q(a, a->home, "SELECT pg_catalog.quote_ident(schema_name) || '.' || pg_catalog.quote_ident(table_name), kind "
	           "FROM pgmm.tables ORDER BY 1", PGRES_TUPLES_OK);
	if (tables == NULL)
		return NULL;
	pgmm_buf_init(&out);
	for (t = 0; t < PQntuples(tables); t++)
	{
		const char *tbl = PQgetvalue(tables, t, 0);
		PGresult **res = calloc((size_t) a->nnodes, sizeof(PGresult *));
		pgmm_buf sql;
		long long rows = 0;
		int tbad = 0, r;

		if (res == NULL)
		{
			seterr(a, "out of memory");
			break;
		}
		pgmm_buf_init(&sql);
		pgmm_buf_printf(&sql, "SELECT x.tableoid::regclass::text, count(*), "
		                "md5(string_agg(x::text, E'\\n' ORDER BY x::text)) FROM %s x GROUP BY 1 ORDER BY 1", tbl);
		for (i = 0; i < a->nnodes; i++)
			res[i] = q(a, i, pgmm_buf_str(&sql), PGRES_TUPLES_OK);
		pgmm_buf_free(&sql);
		for (i = 0; i < a->nnodes; i++)
			if (res[i] == NULL)
				tbad = -1;
		if (tbad == 0)
		{
			for (r = 0; r < PQntuples(res[0]); r++)
				rows += atoll(PQgetvalue(res[0], r, 1));
			for (i = 1; i < a->nnodes; i++)
			{
				int same = PQntuples(res[i]) == PQntuples(res[0]);

				for (r = 0; same && r < PQntuples(res[0]); r++)
					same = strcmp(PQgetvalue(res[i], r, 0), PQgetvalue(res[0], r, 0)) == 0 &&
						strcmp(PQgetvalue(res[i], r, 1), PQgetvalue(res[0], r, 1)) == 0 &&
						strcmp(PQgetvalue(res[i], r, 2), PQgetvalue(res[0], r, 2)) == 0;
				if (!same)
				{
					long long other = 0;

					for (r = 0; r < PQntuples(res[i]); r++)
						other += atoll(PQgetvalue(res[i], r, 1));
					pgmm_buf_printf(&out, "%s: DIFFERS between %s (%lld rows) and %s (%lld rows)\n", tbl,
					                a->nodes[0].name, rows, a->nodes[i].name, other);
					tbad++;
				}
			}
			if (tbad == 0)
				pgmm_buf_printf(&out, "%s: %lld rows in %d partitions, identical on %d masters\n", tbl, rows,
				                PQntuples(res[0]), a->nnodes);
			bad += tbad;
		}
		for (i = 0; i < a->nnodes; i++)
			PQclear(res[i]);
		free(res);
		if (tbad < 0)
		{
			PQclear(tables);
			pgmm_buf_free(&out);
			return NULL;
		}
	}
	PQclear(tables);
	if (diverged)
		*diverged = bad;
	return pgmm_buf_take(&out);
}

/* ------------------------------------------------------------ uninstall */

int
pgmm_admin_uninstall(PGMMadmin *a)
{
	int i;

	if (a == NULL || !a->ok)
		return -1;
	pgmm_buf_reset(&a->err);
	if (!require_all(a))
		return -1;
	for (i = 0; i < a->nnodes; i++)
		drop_subscriptions(a, i);
	for (i = 0; i < a->nnodes; i++)
		drop_server_side(a, i);
	notice(a, "pgmm removed from %d masters (tables and rows kept)", a->nnodes);
	return 0;
}
