/*
 * conn.c -- the cluster connection's lifecycle: pgmm_connect reads the map
 * through the home master, pgmm_finish / pgmm_reset; the map afterwards
 * (reload when the catalog epoch moved, links carried over by master name,
 * the home session's search_path re-read); the start of every operation
 * (pgmm_op_begin); the map accessors and pgmm_key_owner.
 *
 * Called by applications (pgmm.h), compat.c (pgmm_connect), and exec.c /
 * nextid.c / prepared.c (conn_int.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "conn_int.h"

/* Did a catalog query fail because this database has no pgmm catalog
 * (schema pgmm missing: 3F000; a catalog table missing: 42P01)? */
static int
catalog_missing(const PGresult *r)
{
	return pgmm_res_sqlstate_is(r, "3F000") || pgmm_res_sqlstate_is(r, "42P01");
}

void
pgmm_plans_clear(PGMMconn *c)
{
	if (c->plans)
		pgmm_cache_clear(c->plans);
	c->plan_gen++;
}

/* Install map m (validated): links carried over by master name. */
static int
map_install(PGMMconn *c, pgmm_map *m, pgmm_buf *err)
{
	pgmm_link *links = calloc((size_t) m->nnodes, sizeof *links);
	int i, j, bound = -1, home = -1;
	int64_t old_epoch = c->map ? c->map->epoch : 0;

	if (links == NULL)
		goto oom;
	for (i = 0; i < m->nnodes; i++)
	{
		pgmm_map_node *n = &m->nodes[i];

		links[i].name = strdup(n->name);
		if (links[i].name == NULL)
			goto oom_links;
		for (j = 0; j < c->nlinks; j++)
			if (c->links[j].name && strcmp(c->links[j].name, n->name) == 0)
				break;
		if (c->home_name && strcmp(n->name, c->home_name) == 0)
		{
			home = i;
			links[i].conninfo = strdup(c->home_conninfo);
		}
		else if (j < c->nlinks && c->links[j].conninfo)
			links[i].conninfo = strdup(c->links[j].conninfo);
		else
			links[i].conninfo = pgmm_conninfo_merge(n->conninfo, c->home_conninfo, pgmm_conninfo_carry_keys, err);
		if (links[i].conninfo == NULL)
			goto oom_links;
	}
	if (home < 0)
	{
		pgmm_buf_printf(err, "catalog: the master this connection came through (%s) is no longer listed",
		                c->home_name ? c->home_name : "?");
		goto fail_links;
	}
	if (!m->nodes[home].active)
	{
		/* The home master was failed over: home duties (reads, fallback
		 * statements, IDs) go to an active master, the one after it in
		 * catalog order, so clients of one dead master spread out. */
		for (i = 1; i <= m->nnodes; i++)
			if (m->nodes[(home + i) % m->nnodes].active)
				break;
		if (i > m->nnodes)
		{
			pgmm_buf_append(err, "catalog: no master is active");
			goto fail_links;
		}
		home = (home + i) % m->nnodes;
	}
	/* Carry the connections (the conninfo of a known master is kept as is). */
	for (i = 0; i < m->nnodes; i++)
		for (j = 0; j < c->nlinks; j++)
			if (c->links[j].name && strcmp(c->links[j].name, links[i].name) == 0)
			{
				links[i].pq = c->links[j].pq;
				links[i].gen = c->links[j].gen;
				links[i].down = c->links[j].down;
				links[i].down_at = c->links[j].down_at;
				links[i].used_at = c->links[j].used_at;
				c->links[j].pq = NULL;
				if (c->bound == j)
					bound = i;
			}
	for (j = 0; j < c->nlinks; j++)
	{
		if (c->links[j].pq)
			PQfinish(c->links[j].pq);
		free(c->links[j].name);
		free(c->links[j].conninfo);
	}
	free(c->links);
	c->links = links;
	c->nlinks = m->nnodes;
	c->home = home;
	if (c->txn == PGMM_TXN_OPEN && c->bound >= 0)
	{
		c->bound = bound;
		if (bound < 0)
		{
			c->txn_lost = 1;
			c->txn_failed = 1;
		}
	}
	pgmm_map_free(c->map);
	c->map = m;
	pgmm_plans_clear(c);
	if (c->map_hook && old_epoch != m->epoch)
		c->map_hook(c->map_hook_arg, old_epoch, m->epoch);
	return 0;

oom_links:
	pgmm_buf_append(err, "out of memory");
fail_links:
	for (i = 0; i < m->nnodes; i++)
	{
		free(links[i].name);
		free(links[i].conninfo);
	}
	free(links);
	return -1;
oom:
	pgmm_buf_append(err, "out of memory");
	return -1;
}

/* The catalog epoch as master i sees it; -1 when it cannot be read. */
static int64_t
read_epoch(PGMMconn *c, int i, pgmm_buf *err)
{
	PGresult *r = pgmm_link_exec(c, i, "SELECT epoch FROM pgmm.cluster");
	int64_t e;

	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
	{
		pgmm_buf_printf(err, "master %s: reading the catalog epoch failed: ", c->links[i].name);
		pgmm_buf_append_pqmsg(err, r ? PQresultErrorMessage(r) : PQerrorMessage(c->links[i].pq));
		PQclear(r);
		return -1;
	}
	e = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return e;
}

static int map_load_one(PGMMconn *c, int i, pgmm_buf *err);
static void cross_check(PGMMconn *c, int from, int64_t now);

#define CROSS_CHECK_TIMEOUT_MS 1000

/*
 * A map just read through master from may be stale: a failed master that
 * restarted before pgmm fenced it still has the catalog of before the
 * failover, with a lower epoch.  Ask one other active master (the first that
 * answers, skipping those down lately) for its epoch and load from it when
 * it is higher; the highest epoch seen wins.  Costs one statement, and at
 * connect one more connection (kept: it is used later anyway).  A master
 * that cannot be asked is simply skipped (the map read stays).
 */
static void
map_cross_check(PGMMconn *c, int from)
{
	int64_t now = pgmm_now_ms();
	int saved = c->opts.timeout;

	/* A hung master must not hold up every pgmm_connect for a whole
	 * pgmm_timeout: the check waits at most a second on each. */
	if (c->opts.timeout == 0 || c->opts.timeout > CROSS_CHECK_TIMEOUT_MS)
		c->opts.timeout = CROSS_CHECK_TIMEOUT_MS;
	cross_check(c, from, now);
	c->opts.timeout = saved;
}

static void
cross_check(PGMMconn *c, int from, int64_t now)
{
	int round, k;

	for (round = 0; round < 3; round++)
	{
		int loaded = 0;

		for (k = 1; k < c->nlinks && !loaded; k++)
		{
			int j = (from + k) % c->nlinks;
			pgmm_buf ignore;
			int64_t e;

			if (j == from || !pgmm_link_active(c, j) ||
			    (c->links[j].down && now - c->links[j].down_at < c->opts.reconnect_interval))
				continue;
			pgmm_buf_init(&ignore);
			if (pgmm_link_get(c, j, &ignore, NULL) == NULL)
			{
				pgmm_buf_free(&ignore);
				continue;
			}
			e = read_epoch(c, j, &ignore);
			if (e > c->map->epoch)
			{
				char *name = strdup(c->links[j].name);

				if (name && map_load_one(c, j, &ignore) == 0)
				{
					/* indexes follow the new map; check once more from there */
					from = pgmm_map_node_index(c->map, name);
					loaded = from >= 0;
				}
				free(name);
			}
			pgmm_buf_free(&ignore);
			if (e >= 0 && !loaded)
				return;			/* one other active master agrees (or is older) */
		}
		if (!loaded)
			return;
	}
}

/* Read the catalog through link i and install it, then make sure no other
 * active master has a newer one; 0 / -1 (old map kept). */
int
pgmm_map_load(PGMMconn *c, int i, pgmm_buf *err)
{
	char *name = strdup(c->links[i].name);
	int from;

	if (name == NULL || map_load_one(c, i, err) < 0)
	{
		if (name == NULL)
			pgmm_buf_append(err, "out of memory");
		free(name);
		return -1;
	}
	from = pgmm_map_node_index(c->map, name);	/* indexes follow the new map */
	free(name);
	map_cross_check(c, from >= 0 ? from : c->home);
	return 0;
}

/* Read the catalog through link i and install it; 0 / -1 (old map kept). */
static int
map_load_one(PGMMconn *c, int i, pgmm_buf *err)
{
	PGresult *r = pgmm_link_exec(c, i, pgmm_map_query);
	pgmm_map *m;

	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
	{
		const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c->links[i].pq);

		if (catalog_missing(r))
			pgmm_buf_printf(err, "master %s is not part of a pgmm cluster (its pgmm catalog is missing); "
			                "run `pgmm init` first", c->links[i].name);
		else
		{
			pgmm_buf_printf(err, "master %s: reading the pgmm catalog failed: ", c->links[i].name);
			pgmm_buf_append_pqmsg(err, msg);
		}
		PQclear(r);
		return -1;
	}
	m = pgmm_map_from_result(r, err);
	PQclear(r);
	if (m == NULL)
		return -1;
	if (map_install(c, m, err) < 0)
	{
		pgmm_map_free(m);
		return -1;
	}
	return 0;
}

/* Compare the catalog epoch (via link prefer, else any) and reload when it
 * moved: 1 reloaded, 0 same, -1 failure, -2 no master reachable. */
static int
map_refresh(PGMMconn *c, int prefer, pgmm_buf *err)
{
	int i = pgmm_link_any(c, prefer, err);
	int64_t e;

	if (i < 0)
		return -2;
	e = read_epoch(c, i, err);
	if (e < 0)
		return -1;
	/* Lower: that master has not got the last change yet (or is a stale
	 * one); the map stays, the cross-check of a later load settles it. */
	if (e <= c->map->epoch)
		return 0;
	return pgmm_map_load(c, i, err) < 0 ? -1 : 1;
}

int
pgmm_epoch_recheck(PGMMconn *c, int avoid, int force)
{
	int64_t now = pgmm_now_ms();
	int i, k, before = c->nlinks;

	if (c->txn == PGMM_TXN_OPEN || c->map == NULL)
		return 0;			/* the map never changes inside a transaction */
	if (!force && c->epoch_checked_at != 0 && now - c->epoch_checked_at < c->opts.reconnect_interval)
		return 0;
	c->epoch_checked_at = now;
	c->epoch_check = 0;
	/* home first unless it is the one to avoid, then the others in order */
	for (k = 0; k < before; k++)
	{
		pgmm_buf ignore;
		int64_t e;

		i = (c->home + k) % c->nlinks;
		if (i == avoid || !pgmm_link_active(c, i) ||
		    (c->links[i].down && now - c->links[i].down_at < c->opts.reconnect_interval))
			continue;
		pgmm_buf_init(&ignore);
		if (pgmm_link_get(c, i, &ignore, NULL) == NULL)
		{
			pgmm_buf_free(&ignore);
			continue;
		}
		e = read_epoch(c, i, &ignore);
		if (e < 0)
		{
			pgmm_buf_free(&ignore);
			continue;
		}
		if (e > c->map->epoch && pgmm_map_load(c, i, &ignore) == 0)
		{
			pgmm_buf_free(&ignore);
			/* The links found down meanwhile were marked for a check again;
			 * this one answered it. */
			c->epoch_check = 0;
			return 1;
		}
		pgmm_buf_free(&ignore);
		c->epoch_check = 0;
		return 0;
	}
	return 0;
}

/* Before a statement: a refresh owed after an ambiguous failure. */
static void
maybe_refresh(PGMMconn *c)
{
	pgmm_buf ignore;

	if (c->txn == PGMM_TXN_OPEN)
		return;
	if (c->epoch_check && !c->need_refresh)
	{
		/* A master was found unreachable: was it failed over? */
		(void) pgmm_epoch_recheck(c, -1, 0);
		return;
	}
	if (!c->need_refresh)
		return;
	pgmm_buf_init(&ignore);
	if (map_refresh(c, c->home, &ignore) >= 0)
		c->need_refresh = 0;
	pgmm_buf_free(&ignore);
}

/* Re-read the home session's search_path (after SET search_path ...). */
void
pgmm_reread_search_path(PGMMconn *c, int i)
{
	PGresult *r;
	pgmm_buf ignore;

	if (i < 0 || c->links[i].pq == NULL)
		return;
	r = pgmm_link_exec(c, i, pgmm_search_path_query);
	pgmm_buf_init(&ignore);
	if (r && PQresultStatus(r) == PGRES_TUPLES_OK)
		(void) pgmm_map_search_path_from_result(c->map, r, &ignore);
	pgmm_buf_free(&ignore);
	PQclear(r);
	pgmm_plans_clear(c);
}

static PGMMconn *
conn_new(void)
{
	PGMMconn *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	c->status = CONNECTION_BAD;
	pgmm_buf_init(&c->err);
	pgmm_buf_init(&c->last_node);
	pgmm_idpool_init(&c->ids);
	c->home = -1;
	c->bound = -1;
	return c;
}

PGMMconn *
pgmm_connect(const char *conninfo)
{
	PGMMconn *c = conn_new();
	PGconn *home;
	pgmm_buf err;
	int i;

	if (c == NULL)
		return NULL;
	if (pgmm_siphash_init() < 0)
	{
		pgmm_conn_error(c, "58000", "libsodium could not be initialised");
		return c;
	}
	pgmm_buf_init(&err);
	if (pgmm_conninfo_split(conninfo, &c->home_conninfo, &c->opts, &err) < 0)
	{
		pgmm_conn_error(c, "22023", "%s", pgmm_buf_str(&err));
		pgmm_buf_free(&err);
		return c;
	}
	{
		int timed_out;

		home = pgmm_link_connect(c->home_conninfo, c->opts.timeout, &timed_out);
		if (home == NULL && timed_out)
		{
			pgmm_conn_error(c, "08001", "pgmm: the home master did not answer within pgmm_timeout=%d ms",
			                c->opts.timeout);
			pgmm_buf_free(&err);
			return c;
		}
	}
	if (home == NULL)
	{
		pgmm_conn_error(c, "53200", "out of memory");
		pgmm_buf_free(&err);
		return c;
	}
	if (PQstatus(home) != CONNECTION_OK)
	{
		pgmm_conn_error(c, "08001", "%s", PQerrorMessage(home));
		PQfinish(home);
		pgmm_buf_free(&err);
		return c;
	}
	/* A temporary single link through which the first map is read. */
	c->links = calloc(1, sizeof *c->links);
	if (c->links == NULL || pgmm_result_register(home) < 0)
	{
		pgmm_conn_error(c, "53200", "out of memory");
		PQfinish(home);
		pgmm_buf_free(&err);
		return c;
	}
	c->nlinks = 1;
	c->home = 0;
	c->links[0].pq = home;
	c->links[0].gen = ++c->gen_counter;
	c->links[0].name = strdup("(home)");
	c->links[0].conninfo = strdup(c->home_conninfo);
	{
		PGresult *r = pgmm_link_exec(c, 0, pgmm_map_query);
		pgmm_map *m = NULL;

		if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
		{
			const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(home);

			if (catalog_missing(r))
				pgmm_conn_error(c, PQresultErrorField(r, PG_DIAG_SQLSTATE),
				           "this master is not part of a pgmm cluster (schema pgmm not found); run `pgmm init` first");
			else
				pgmm_conn_error(c, r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : "08006",
				           "reading the pgmm catalog failed: %s", msg);
			PQclear(r);
			pgmm_buf_free(&err);
			return c;
		}
		m = pgmm_map_from_result(r, &err);
		PQclear(r);
		if (m == NULL)
		{
			pgmm_conn_error(c, "XX000", "%s", pgmm_buf_str(&err));
			pgmm_buf_free(&err);
			return c;
		}
		c->home_name = strdup(m->local_name);
		free(c->links[0].name);
		c->links[0].name = strdup(m->local_name);
		if (c->home_name == NULL || c->links[0].name == NULL || map_install(c, m, &err) < 0)
		{
			if (err.len == 0)
				pgmm_buf_append(&err, "out of memory");
			pgmm_conn_error(c, "XX000", "%s", pgmm_buf_str(&err));
			pgmm_map_free(m);
			pgmm_buf_free(&err);
			return c;
		}
	}
	if (c->opts.plan_cache > 0)
	{
		c->plans = pgmm_cache_new((size_t) c->opts.plan_cache, (pgmm_cache_free_fn) pgmm_plan_free);
		if (c->plans == NULL)
		{
			pgmm_conn_error(c, "53200", "out of memory");
			pgmm_buf_free(&err);
			return c;
		}
	}
	c->prepared = pgmm_cache_new(0, pgmm_prep_free);
	if (c->prepared == NULL)
	{
		pgmm_conn_error(c, "53200", "out of memory");
		pgmm_buf_free(&err);
		return c;
	}
	/* The home may be a failed master restarted before pgmm fenced it: the
	 * highest epoch among it and another active master wins. */
	map_cross_check(c, pgmm_map_node_index(c->map, c->home_name));
	c->epoch_check = 0;
	if (!c->opts.lazy)
		for (i = 0; i < c->nlinks; i++)
		{
			pgmm_buf ignore;

			pgmm_buf_init(&ignore);
			(void) pgmm_link_get(c, i, &ignore, NULL);
			pgmm_buf_free(&ignore);
		}
	pgmm_buf_free(&err);
	c->status = CONNECTION_OK;
	pgmm_conn_error_clear(c);
	return c;
}

ConnStatusType
pgmm_status(const PGMMconn *c)
{
	return c ? c->status : CONNECTION_BAD;
}

void
pgmm_finish(PGMMconn *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nlinks; i++)
	{
		if (c->links[i].pq)
			PQfinish(c->links[i].pq);
		free(c->links[i].name);
		if (c->links[i].conninfo)
		{
			/* It may carry the caller's password. */
			sodium_memzero(c->links[i].conninfo, strlen(c->links[i].conninfo));
			free(c->links[i].conninfo);
		}
	}
	free(c->links);
	if (c->plans)
		pgmm_cache_free(c->plans);
	if (c->prepared)
		pgmm_cache_free(c->prepared);
	pgmm_map_free(c->map);
	pgmm_txn_reset(c);
	pgmm_settings_clear(c);
	pgmm_idpool_free(&c->ids);
	pgmm_buf_free(&c->err);
	pgmm_buf_free(&c->last_node);
	if (c->home_conninfo)
	{
		sodium_memzero(c->home_conninfo, strlen(c->home_conninfo));
		free(c->home_conninfo);
	}
	free(c->home_name);
	free(c);
}

/* Start of every operation: 0 ready, -1 unusable (message set). */
int
pgmm_op_begin(PGMMconn *c)
{
	if (c == NULL)
		return -1;
	pgmm_conn_error_clear(c);
	if (c->status != CONNECTION_OK)
	{
		pgmm_conn_error(c, "08003", "pgmm: the connection is not usable (pgmm_connect failed or it was reset)");
		return -1;
	}
	c->last_tuples[0] = '\0';
	maybe_refresh(c);
	return 0;
}

/* "schema.table" or "table" (double quotes taken off) resolved in the map;
 * -1 with the error set. */
int
pgmm_resolve_table(PGMMconn *c, const char *table)
{
	char schema[128], name[128];
	const char *dot;
	int t;

	dot = table[0] == '"' ? strstr(table, "\".") : strchr(table, '.');
	if (dot && table[0] == '"')
		dot++;
	if (dot)
	{
		snprintf(schema, sizeof schema, "%.*s", (int) (dot - table), table);
		snprintf(name, sizeof name, "%s", dot + 1);
	}
	else
	{
		schema[0] = '\0';
		snprintf(name, sizeof name, "%s", table);
	}
	{
		char *parts[2] = {schema, name};
		int k;

		for (k = 0; k < 2; k++)
		{
			size_t n = strlen(parts[k]);

			if (n >= 2 && parts[k][0] == '"' && parts[k][n - 1] == '"')
			{
				memmove(parts[k], parts[k] + 1, n - 2);
				parts[k][n - 2] = '\0';
			}
			else
			{
				size_t j;

				for (j = 0; j < n; j++)
					parts[k][j] = (char) tolower((unsigned char) parts[k][j]);
			}
		}
	}
	t = pgmm_map_find_table(c->map, schema[0] ? schema : NULL, name);
	if (t < 0)
		pgmm_conn_error(c, "42P01", "pgmm: table \"%s\" is not a pgmm table (not in the cluster catalog as resolved through the "
		       "search_path)\n", table);
	return t;
}

int64_t
pgmm_map_epoch(const PGMMconn *c)
{
	return c && c->map ? c->map->epoch : -1;
}

int
pgmm_node_count(const PGMMconn *c)
{
	return c && c->map ? c->map->nnodes : 0;
}

const char *
pgmm_node_name(const PGMMconn *c, int i)
{
	if (c == NULL || c->map == NULL || i < 0 || i >= c->map->nnodes)
		return NULL;
	return c->map->nodes[i].name;
}

const char *
pgmm_home_node(const PGMMconn *c)
{
	return c && c->status == CONNECTION_OK ? c->home_name : NULL;
}

const char *
pgmm_key_owner(PGMMconn *c, const char *table, const char *key)
{
	char err[256];
	int ti, o;

	if (pgmm_op_begin(c) < 0)
		return NULL;
	if (table == NULL)
	{
		pgmm_conn_error(c, "22023", "pgmm_key_owner: table is a null pointer");
		return NULL;
	}
	ti = pgmm_resolve_table(c, table);
	if (ti < 0)
		return NULL;
	o = pgmm_key_owner_text(c->map, &c->map->tables[ti], key, key ? strlen(key) : 0, err, sizeof err);
	if (o < 0)
	{
		const char *st = pgmm_hash_sqlstate(o);

		/* A key whose owner only the server can tell ('now', ...). */
		pgmm_conn_error(c, st ? st : "0A000", "pgmm_key_owner: %s", err);
		return NULL;
	}
	snprintf(c->owner_buf, sizeof c->owner_buf, "%s", c->map->nodes[o].name);
	return c->owner_buf;
}

int
pgmm_refresh_map(PGMMconn *c)
{
	pgmm_buf err;
	int rc;

	if (pgmm_op_begin(c) < 0)
		return -1;
	if (c->txn == PGMM_TXN_OPEN)
	{
		pgmm_conn_error(c, "25001", "pgmm_refresh_map: not inside a transaction (the map stays fixed until it ends)");
		return -1;
	}
	pgmm_buf_init(&err);
	rc = map_refresh(c, c->home, &err);
	if (rc < 0)
	{
		pgmm_conn_error(c, rc == -2 ? PGMM_SQLSTATE_NODE_DOWN : "XX000", "%s", pgmm_buf_str(&err));
		rc = -1;
	}
	else
		c->need_refresh = 0;
	pgmm_buf_free(&err);
	return rc;
}

void
pgmm_set_map_hook(PGMMconn *c, pgmm_map_hook_fn fn, void *arg)
{
	if (c == NULL)
		return;
	c->map_hook = fn;
	c->map_hook_arg = arg;
}

void
pgmm_reset(PGMMconn *c)
{
	int i;

	if (c == NULL || c->status != CONNECTION_OK)
		return;
	pgmm_conn_error_clear(c);
	pgmm_txn_reset(c);
	for (i = 0; i < c->nlinks; i++)
		if (c->links[i].pq)
		{
			pgmm_buf ignore;

			PQfinish(c->links[i].pq);
			c->links[i].pq = NULL;
			c->links[i].gen = 0;
			pgmm_buf_init(&ignore);
			if (i == c->home)
				(void) pgmm_link_get(c, i, &ignore, NULL);
			pgmm_buf_free(&ignore);
		}
}
