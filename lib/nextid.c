/*
 * nextid.c -- pgmm_next_id / pgmm_next_id_for: IDs reserved in blocks from
 * a master's offset sequence (one round trip) and handed out locally from
 * the pool (ids.c), the oldest first whose shard the wanted master owns.
 *
 * Called by applications (pgmm.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_int.h"

static int
send_reserve(PGconn *pq, const void *vals)
{
	return PQsendQueryParams(pq,
	                         "SELECT pg_catalog.nextval('pgmm.id_seq'::pg_catalog.regclass) "
	                         "FROM pg_catalog.generate_series(1, $1::pg_catalog.int4)", 1, NULL,
	                         (const char *const *) vals, NULL, NULL, 0);
}

/* Reserve a block of IDs into the pool; 0 / -1. */
static int
reserve_block(PGMMconn *c)
{
	char n[16];
	const char *vals[1] = {n};
	pgmm_buf why;
	PGresult *r;
	int i, k, prefer = -1;
	int64_t *ids;

	snprintf(n, sizeof n, "%d", c->opts.id_block);
	pgmm_buf_init(&why);
	if (c->txn == PGMM_TXN_OPEN && c->bound >= 0 && !c->txn_lost && c->links[c->bound].pq &&
	    PQtransactionStatus(c->links[c->bound].pq) == PQTRANS_INTRANS)
		prefer = c->bound;
	i = pgmm_link_any(c, prefer >= 0 ? prefer : c->home, &why);
	if (i < 0)
	{
		pgmm_conn_error(c, PGMM_SQLSTATE_NODE_DOWN, "pgmm: no master is reachable to reserve IDs (SQLSTATE %s): %s",
		           PGMM_SQLSTATE_NODE_DOWN,
		       pgmm_buf_str(&why));
		pgmm_buf_free(&why);
		return -1;
	}
	pgmm_buf_free(&why);
	{
		int timed_out;

		r = pgmm_link_run(c, i, send_reserve, vals, &timed_out);
		if (timed_out)
		{
			pgmm_link_mark_down(c, i);
			if (c->txn == PGMM_TXN_OPEN && c->bound == i)
			{
				c->txn_lost = 1;
				c->txn_failed = 1;
			}
			pgmm_conn_error(c, PGMM_SQLSTATE_NODE_DOWN, "pgmm: master %s did not answer within pgmm_timeout=%d ms "
			                "while reserving IDs (SQLSTATE %s)", c->links[i].name, c->opts.timeout,
			                PGMM_SQLSTATE_NODE_DOWN);
			return -1;
		}
	}
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
	{
		pgmm_conn_error(c, r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : "08006",
		           "pgmm: master %s: reserving IDs failed: %s", c->links[i].name,
		       r ? PQresultErrorMessage(r) : PQerrorMessage(c->links[i].pq));
		PQclear(r);
		pgmm_txn_sync(c, i);
		return -1;
	}
	ids = malloc((size_t) (PQntuples(r) ? PQntuples(r) : 1) * sizeof(int64_t));
	if (ids == NULL)
	{
		PQclear(r);
		pgmm_conn_error(c, "53200", "out of memory");
		return -1;
	}
	for (k = 0; k < PQntuples(r); k++)
		ids[k] = strtoll(PQgetvalue(r, k, 0), NULL, 10);
	k = pgmm_idpool_add(&c->ids, ids, PQntuples(r));
	free(ids);
	PQclear(r);
	if (k < 0)
	{
		pgmm_conn_error(c, "53200", "out of memory");
		return -1;
	}
	pgmm_idpool_trim(&c->ids, c->opts.id_block * 16 > 4096 ? c->opts.id_block * 16 : 4096);
	return 0;
}

static int
next_id(PGMMconn *c, const char *table, const char *node, int64_t *id)
{
	const pgmm_map_table *t = NULL;
	int want = -1, rounds;

	if (pgmm_op_begin(c) < 0)
		return -1;
	if (id == NULL)
	{
		pgmm_conn_error(c, "22023", "pgmm_next_id: id is a null pointer");
		return -1;
	}
	if (table)
	{
		int ti = pgmm_resolve_table(c, table);

		if (ti < 0)
			return -1;
		t = &c->map->tables[ti];
		if (t->kind == PGMM_TABLE_DISTRIBUTED && !pgmm_keytype_is_integer(t->key_type))
		{
			pgmm_conn_error(c, "0A000", "pgmm_next_id: table %s.%s is distributed by %s, a %s key: pgmm hands out integer IDs only\n",
			       t->schema, t->name, t->key_column, pgmm_keytype_name(t->key_type));
			return -1;
		}
	}
	if (node)
	{
		want = pgmm_map_node_index(c->map, node);
		if (want < 0)
		{
			pgmm_conn_error(c, "42704", "pgmm_next_id: unknown master \"%s\"", node);
			return -1;
		}
	}
	else if (c->txn == PGMM_TXN_OPEN && c->bound >= 0 && t && t->kind == PGMM_TABLE_DISTRIBUTED)
		want = c->bound;
	if (want >= 0 && t && t->kind == PGMM_TABLE_DISTRIBUTED)
	{
		const pgmm_map_coloc *g = &c->map->colocs[t->coloc];
		int k, owns = 0;

		for (k = 0; k < g->nowners; k++)
			owns |= g->owners[k] == want;
		if (!owns)
		{
			pgmm_conn_error(c, PGMM_SQLSTATE_NO_SHARD, "pgmm_next_id: master %s owns no shard of %s.%s, so no ID of that table belongs to it "
			       "(SQLSTATE %s)\n", c->map->nodes[want].name, t->schema, t->name, PGMM_SQLSTATE_NO_SHARD);
			return -1;
		}
	}
	if (t == NULL || t->kind != PGMM_TABLE_DISTRIBUTED)
		want = -1;
	for (rounds = 0; rounds < 1000; rounds++)
	{
		if (pgmm_idpool_take(&c->ids, c->map, t, want, id) == 0)
			return 0;
		if (reserve_block(c) < 0)
			return -1;
	}
	pgmm_conn_error(c, "2200H", "pgmm_next_id: no ID of table %s fits (its key range is exhausted?)\n", table ? table : "");
	return -1;
}

int
pgmm_next_id(PGMMconn *c, const char *table, int64_t *id)
{
	return next_id(c, table, NULL, id);
}

int
pgmm_next_id_for(PGMMconn *c, const char *table, const char *node, int64_t *id)
{
	return next_id(c, table, node, id);
}
