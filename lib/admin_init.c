/*
 * admin_init.c -- install a cluster (pgmm_admin_init) and remove it
 * (pgmm_admin_uninstall).
 *
 * Callers: applications, tools/pgmm.c and the bindings through pgmm.h; the
 * builders (admin_build_sub_name, _subscription, _install) also by the unit
 * tests.  init checks every master before changing anything, installs the
 * catalog everywhere in one two-phase commit (admin_frame.c), then creates
 * the full mesh of subscriptions; if that fails it removes everything it
 * installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "admin_int.h"

/* ------------------------------------------------------------ builders */

void
admin_build_sub_name(pgmm_buf *b, const char *publisher, const char *subscriber)
{
	pgmm_buf_printf(b, "pgmm_%s__%s", publisher, subscriber);
}

void
admin_build_subscription(pgmm_buf *b, const char *publisher, const char *subscriber,
                         const char *publisher_conninfo, const char *cluster_id, int subscriber_version)
{
	pgmm_buf_append(b, "CREATE SUBSCRIPTION ");
	admin_build_sub_name(b, publisher, subscriber);
	pgmm_buf_append(b, " CONNECTION ");
	pgmm_buf_literal(b, publisher_conninfo);
	/* Slot names are per server, not per database: the cluster id keeps two
	 * pgmm clusters on the same servers apart. */
	pgmm_buf_printf(b, " PUBLICATION " PGMM_PUBLICATION " WITH (copy_data = false, slot_name = 'pgmm_%.8s_%s__%s'",
	                cluster_id, publisher, subscriber);
	if (subscriber_version >= 160000)
		pgmm_buf_append(b, ", origin = none");
	pgmm_buf_append(b, ")");
}

void
admin_build_install(admin_stmts *s, const pgmm_node *nodes, int n, int me, const char *cluster_id, int stride)
{
	pgmm_buf b;
	int k;

	admin_stmts_addf(s, "INSERT INTO pgmm.cluster (cluster_id, epoch, stride, next_slot, catalog_version) "
	                 "VALUES ('%s', 1, %d, %d, %d)", cluster_id, stride, n + 1, PGMM_CATALOG_VERSION);
	for (k = 0; k < n; k++)
	{
		pgmm_buf_init(&b);
		pgmm_buf_append(&b, "INSERT INTO pgmm.nodes (name, conninfo, slot) VALUES (");
		pgmm_buf_literal(&b, nodes[k].name);
		pgmm_buf_append(&b, ", ");
		pgmm_buf_literal(&b, nodes[k].conninfo);
		pgmm_buf_printf(&b, ", %d)", nodes[k].slot);
		if (pgmm_buf_ok(&b))
			admin_stmts_add(s, pgmm_buf_str(&b));
		else
			s->broken = 1;
		pgmm_buf_free(&b);
	}
	pgmm_buf_init(&b);
	pgmm_buf_append(&b, "INSERT INTO pgmm.local (node) VALUES (");
	pgmm_buf_literal(&b, nodes[me].name);
	pgmm_buf_append(&b, ")");
	if (pgmm_buf_ok(&b))
		admin_stmts_add(s, pgmm_buf_str(&b));
	else
		s->broken = 1;
	pgmm_buf_free(&b);
	admin_stmts_addf(s, "CREATE SEQUENCE pgmm.id_seq AS bigint START %d INCREMENT %d MINVALUE 1", nodes[me].slot, stride);
	admin_stmts_add(s, "CREATE PUBLICATION " PGMM_PUBLICATION " WITH (publish = 'insert, update, delete')");
	admin_stmts_add(s, admin_sql_sync_local);
}

/* ------------------------------------------------------------ mesh */

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
			admin_build_subscription(&sql, a->nodes[j].name, a->nodes[i].name, full_conninfo[j], cluster_id,
			                         a->nodes[i].server_version);
			rc = pgmm_buf_ok(&sql) ? admin_run(a, i, pgmm_buf_str(&sql)) : -1;
			if (!pgmm_buf_ok(&sql))
				admin_seterr(a, "out of memory");
			pgmm_buf_free(&sql);
			if (rc < 0)
				return -1;
			admin_notice(a, "subscription %s <- %s created", a->nodes[i].name, a->nodes[j].name);
		}
	return 0;
}

/* Drop pgmm's subscriptions on master i (best effort; slots on an
 * unreachable publisher are left, and named in the error). */
static void
drop_subscriptions_on(PGMMadmin *a, pgmm_node *node)
{
	PGresult *r;
	int j;

	if (node->conn == NULL)
		return;
	r = PQexec(node->conn, admin_sql_list_subscriptions);
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
		x = PQexec(node->conn, pgmm_buf_str(&sql));
		if (x == NULL || PQresultStatus(x) != PGRES_COMMAND_OK)
		{
			/* Publisher unreachable: detach the slot and drop locally. */
			PQclear(x);
			pgmm_buf_reset(&sql);
			pgmm_buf_printf(&sql, "ALTER SUBSCRIPTION %s DISABLE", pgmm_buf_str(&id));
			PQclear(PQexec(node->conn, pgmm_buf_str(&sql)));
			pgmm_buf_reset(&sql);
			pgmm_buf_printf(&sql, "ALTER SUBSCRIPTION %s SET (slot_name = NONE)", pgmm_buf_str(&id));
			PQclear(PQexec(node->conn, pgmm_buf_str(&sql)));
			pgmm_buf_reset(&sql);
			pgmm_buf_printf(&sql, "DROP SUBSCRIPTION %s", pgmm_buf_str(&id));
			x = PQexec(node->conn, pgmm_buf_str(&sql));
			admin_notice(a, "master %s: subscription %s dropped without its remote slot", node->name,
			             PQgetvalue(r, j, 0));
		}
		PQclear(x);
		pgmm_buf_free(&sql);
		pgmm_buf_free(&id);
	}
	PQclear(r);
}

static void
drop_subscriptions(PGMMadmin *a, int i)
{
	drop_subscriptions_on(a, &a->nodes[i]);
}

static void
drop_server_side_on(pgmm_node *node)
{
	if (node->conn == NULL)
		return;
	PQclear(PQexec(node->conn, "DROP PUBLICATION IF EXISTS " PGMM_PUBLICATION));
	PQclear(PQexec(node->conn, "DROP SCHEMA IF EXISTS pgmm CASCADE"));
}

static void
drop_server_side(PGMMadmin *a, int i)
{
	drop_server_side_on(&a->nodes[i]);
}

/* ------------------------------------------------------------ init */

/* Parse NAME=CONNINFO specs into a->nodes (catalog conninfo without
 * secrets) and full[] (what libpq gets); 0 / -1. */
static int
parse_specs(PGMMadmin *a, const char *const *specs, int nspecs, char **full)
{
	int i, j;

	for (i = 0; i < nspecs; i++)
	{
		const char *eq = specs[i] ? strchr(specs[i], '=') : NULL;
		pgmm_options o;

		if (eq == NULL)
		{
			admin_seterr(a, "node \"%s\" is not NAME=CONNINFO", specs[i] ? specs[i] : "(null)");
			return -1;
		}
		a->nodes[i].name = strndup(specs[i], (size_t) (eq - specs[i]));
		if (a->nodes[i].name == NULL)
		{
			admin_seterr(a, "out of memory");
			return -1;
		}
		if (!valid_node_name(a->nodes[i].name))
		{
			admin_seterr(a, "invalid master name \"%s\": use 1 to 24 characters a-z, 0-9 and _ (no \"__\"), starting with a letter",
			             a->nodes[i].name);
			return -1;
		}
		for (j = 0; j < i; j++)
			if (strcmp(a->nodes[j].name, a->nodes[i].name) == 0)
			{
				admin_seterr(a, "master name \"%s\" is given twice", a->nodes[i].name);
				return -1;
			}
		if (pgmm_conninfo_split(eq + 1, &full[i], &o, &a->err) < 0)
		{
			pgmm_buf ctx;

			pgmm_buf_init(&ctx);
			pgmm_buf_printf(&ctx, "master %s: %s", a->nodes[i].name, pgmm_buf_str(&a->err));
			admin_seterr(a, "%s", pgmm_buf_str(&ctx));
			pgmm_buf_free(&ctx);
			return -1;
		}
		a->nodes[i].conninfo = pgmm_conninfo_strip_secrets(full[i], &a->err);
		if (a->nodes[i].conninfo == NULL)
			return -1;
	}
	return 0;
}

/* Connect master i and check it can join a cluster; 0 / -1. */
static int
check_master(PGMMadmin *a, int i, const char *full)
{
	PGresult *r;
	const char *wal, *mpx, *ispgmm, *super;
	int j, rc = -1;

	a->nodes[i].conn = admin_connect_node(a->nodes[i].name, full, &a->err);
	if (a->nodes[i].conn == NULL)
	{
		pgmm_buf_append(&a->err, "; nothing was changed");
		return -1;
	}
	a->nodes[i].server_version = PQserverVersion(a->nodes[i].conn);
	if (a->nodes[i].server_version < 150000)
	{
		admin_seterr(a, "master %s runs PostgreSQL %d; pgmm needs 15 or later", a->nodes[i].name,
		             a->nodes[i].server_version / 10000);
		return -1;
	}
	r = admin_query(a, i, "SELECT current_setting('wal_level'), current_setting('max_prepared_transactions'), NULL, "
	                "(SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)::text, NULL, "
	                "EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'pgmm')::text",
	                PGRES_TUPLES_OK);
	if (r == NULL)
		return -1;
	wal = PQgetvalue(r, 0, 0);
	mpx = PQgetvalue(r, 0, 1);
	super = PQgetvalue(r, 0, 3);
	ispgmm = PQgetvalue(r, 0, 5);
	if (strcmp(wal, "logical") != 0)
		admin_seterr(a, "master %s has wal_level = %s; pgmm needs wal_level = logical "
		             "(ALTER SYSTEM SET wal_level = logical, then restart the server)", a->nodes[i].name, wal);
	else if (atoi(mpx) <= 0)
		admin_seterr(a, "master %s has max_prepared_transactions = %s; pgmm changes every master with two-phase "
		             "commit and needs it > 0 (ALTER SYSTEM SET max_prepared_transactions = 20, then restart)",
		             a->nodes[i].name, mpx);
	else if (super[0] != 't')
		admin_seterr(a, "master %s: the user must be a superuser to create subscriptions and guards", a->nodes[i].name);
	else if (ispgmm[0] == 't')
	{
		PGresult *c = PQexec(a->nodes[i].conn, "SELECT cluster_id FROM pgmm.cluster");
		int known = c && PQresultStatus(c) == PGRES_TUPLES_OK && PQntuples(c) == 1;

		admin_seterr(a, "master %s already belongs to a pgmm cluster (%s%s); remove it with `pgmm uninstall` first",
		             a->nodes[i].name, known ? "cluster id " : "schema pgmm exists", known ? PQgetvalue(c, 0, 0) : "");
		PQclear(c);
	}
	else
		rc = 0;
	PQclear(r);
	if (rc < 0)
		return -1;
	a->nodes[i].slot = i + 1;
	for (j = 0; j < i; j++)
	{
		static const char ident[] =
			"SELECT (SELECT system_identifier FROM pg_catalog.pg_control_system())::text "
			"|| '/' || current_database() || '/' || current_setting('port')";
		PGresult *o = PQexec(a->nodes[j].conn, ident);
		PGresult *m = PQexec(a->nodes[i].conn, ident);
		int same = o && m && PQresultStatus(o) == PGRES_TUPLES_OK && PQresultStatus(m) == PGRES_TUPLES_OK &&
			strcmp(PQgetvalue(o, 0, 0), PQgetvalue(m, 0, 0)) == 0;

		PQclear(o);
		PQclear(m);
		if (same)
		{
			admin_seterr(a, "masters %s and %s are the same server and database", a->nodes[j].name, a->nodes[i].name);
			return -1;
		}
	}
	return 0;
}

int
pgmm_admin_init(const char *const *specs, int nspecs, int stride, char **errmsg)
{
	PGMMadmin *a;
	char **full = NULL;
	int i, rc = -1;
	unsigned char idbytes[16];
	char cluster_id[33];

	if (errmsg)
		*errmsg = NULL;
	a = calloc(1, sizeof *a);
	if (a == NULL)
		return -1;
	pgmm_buf_init(&a->err);
	a->lock_timeout_ms = PGMM_ADMIN_LOCK_TIMEOUT_DEFAULT;
	a->lock_blocked = -1;
	if (sodium_init() < 0)
	{
		admin_seterr(a, "libsodium could not be initialised");
		goto out;
	}
	if (specs == NULL || nspecs < 2)
	{
		admin_seterr(a, "a pgmm cluster needs at least 2 masters (got %d): give --node NAME=CONNINFO for each",
		             nspecs < 0 ? 0 : nspecs);
		goto out;
	}
	if (stride == 0)
		stride = PGMM_DEFAULT_STRIDE;
	if (stride < nspecs || stride > 1000000)
	{
		admin_seterr(a, "stride %d is invalid: it must be at least the number of masters (%d) and at most 1000000",
		             stride, nspecs);
		goto out;
	}
	a->nnodes = nspecs;
	a->nodes = calloc((size_t) nspecs, sizeof(pgmm_node));
	full = calloc((size_t) nspecs, sizeof(char *));
	if (a->nodes == NULL || full == NULL)
	{
		admin_seterr(a, "out of memory");
		goto out;
	}
	if (parse_specs(a, specs, nspecs, full) < 0)
		goto out;
	/* Reach and check every master before changing anything. */
	for (i = 0; i < nspecs; i++)
		if (check_master(a, i, full[i]) < 0)
			goto out;
	randombytes_buf(idbytes, sizeof idbytes);
	sodium_bin2hex(cluster_id, sizeof cluster_id, idbytes, sizeof idbytes);

	/* One two-phase commit installs the catalog everywhere. */
	if (admin_begin_all(a) < 0)
		goto out;
	for (i = 0; i < nspecs; i++)
	{
		admin_stmts s;
		int bad;

		if (admin_run(a, i, pgmm_catalog_sql) < 0)
			goto fail_txn;
		admin_stmts_init(&s);
		admin_build_install(&s, a->nodes, nspecs, i, cluster_id, stride);
		bad = admin_stmts_run_on(a, i, &s) < 0;
		admin_stmts_free(&s);
		if (bad)
			goto fail_txn;
	}
	if (admin_commit_everywhere(a, 1) < 0)
		goto out;
	admin_notice(a, "catalog installed on %d masters (cluster %s)", nspecs, cluster_id);
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
		admin_seterr(a, "%s; the cluster was not created (everything pgmm installed was removed)", pgmm_buf_str(&keep));
		pgmm_buf_free(&keep);
		goto out;
	}
	rc = 0;
	goto out;

fail_txn:
	admin_rollback_all(a);
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

/* ------------------------------------------------------------ uninstall */

int
pgmm_admin_uninstall(PGMMadmin *a)
{
	int i;

	if (a == NULL || !a->ok)
		return -1;
	pgmm_buf_reset(&a->err);
	if (!admin_require_all(a))
		return -1;
	admin_fence_failed(a);  /* reaches the failed masters that answer */
	/* Zero-loss mode first: no commit may wait for an apply worker that
	 * is about to go. */
	for (i = 0; i < a->nnodes; i++)
		admin_durability_reset(a, i);
	for (i = 0; i < a->nnodes; i++)
		drop_subscriptions(a, i);
	for (i = 0; i < a->nnodes; i++)
		drop_server_side(a, i);
	/* Failed masters that answer lose pgmm too; the others keep it (and
	 * their slots) until they come back and are removed by hand. */
	for (i = 0; i < a->nfailed; i++)
	{
		if (a->failed[i].node.conn == NULL)
		{
			admin_notice(a, "failed master %s is unreachable: pgmm is left on it", a->failed[i].node.name);
			continue;
		}
		{
			/* Zero-loss mode left on it would make every commit there
			 * wait for subscribers that are gone. */
			PGconn *fc = a->failed[i].node.conn;
			PGresult *r;

			PQclear(PQexec(fc, "SET synchronous_commit = local"));
			r = PQexec(fc, "SELECT durability FROM pgmm.cluster");
			if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
			    strcmp(PQgetvalue(r, 0, 0), "off") != 0)
			{
				PQclear(PQexec(fc, "ALTER SYSTEM RESET synchronous_standby_names"));
				PQclear(PQexec(fc, "SELECT pg_catalog.pg_reload_conf()"));
			}
			PQclear(r);
		}
		drop_subscriptions_on(a, &a->failed[i].node);
		drop_server_side_on(&a->failed[i].node);
		PQclear(PQexec(a->failed[i].node.conn, "SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM "
		               "pg_catalog.pg_replication_slots WHERE slot_name LIKE 'pgmm\\_%' AND NOT active "
		               "AND database = current_database()"));
	}
	admin_notice(a, "pgmm removed from %d masters (tables and rows kept)", a->nnodes);
	return 0;
}
