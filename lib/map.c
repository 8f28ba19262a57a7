/*
 * map.c -- the router's partition map: which master owns which shard, which
 * tables pgmm manages and how, and the home session's search_path.
 *
 * A map is built (from the catalog query or by hand), validated by
 * pgmm_map_finish (no gap, no overlap, no unknown master, every table in a
 * group of its own key type) and only then used; a map that fails
 * validation is thrown away and the previous one kept.  Pure logic apart
 * from reading the catalog query's PGresult.
 *
 * Called by conn.c (load, install, refresh), route.c / choose.c / ids.c
 * (lookups), and the unit tests (maps built by hand).
 */
#include <stdlib.h>
#include <string.h>

#include "router_int.h"

/*
 * The whole catalog in one statement (one snapshot, one round trip): rows
 * tagged by their first column, every other column text.  The key column's
 * typmod comes from pg_attribute (the hash depends on it, see pghash.h).
 */
const char pgmm_map_query[] =
	"SELECT 'c'::text, c.epoch::text, c.stride::text, (SELECT l.node FROM pgmm.local l), "
	"NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text FROM pgmm.cluster c "
	"UNION ALL SELECT 'n', n.name, n.conninfo, n.slot::text, n.state, NULL, NULL, NULL, NULL, NULL "
	"FROM pgmm.nodes n "
	"UNION ALL SELECT 'g', g.id::text, g.key_type, g.shards::text, NULL, NULL, NULL, NULL, NULL, NULL "
	"FROM pgmm.colocations g "
	"UNION ALL SELECT 's', s.colocation::text, s.remainder::text, s.owner, NULL, NULL, NULL, NULL, NULL, NULL "
	"FROM pgmm.shards s "
	"UNION ALL SELECT 't', t.schema_name, t.table_name, t.kind, t.key_column, t.key_type, "
	"t.key_position::text, t.colocation::text, t.owner, "
	"(SELECT a.atttypmod FROM pg_catalog.pg_attribute a "
	"  WHERE a.attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(pg_catalog.format('%I.%I', t.schema_name, t.table_name)) "
	"    AND a.attname OPERATOR(pg_catalog.=) t.key_column AND NOT a.attisdropped)::text "
	"FROM pgmm.tables t "
	"UNION ALL SELECT 'p', p.s::text, p.o::text, NULL, NULL, NULL, NULL, NULL, NULL, NULL "
	"FROM pg_catalog.unnest(pg_catalog.current_schemas(true)) WITH ORDINALITY AS p(s, o)";

const char pgmm_search_path_query[] =
	"SELECT 'p'::text, p.s::text, p.o::text "
	"FROM pg_catalog.unnest(pg_catalog.current_schemas(true)) WITH ORDINALITY AS p(s, o)";

/* ------------------------------------------------------------ build */

pgmm_map *
pgmm_map_new(void)
{
	pgmm_map *m = calloc(1, sizeof *m);

	if (m)
		m->local = -1;
	return m;
}

void
pgmm_map_free(pgmm_map *m)
{
	int i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nnodes; i++)
	{
		free(m->nodes[i].name);
		free(m->nodes[i].conninfo);
	}
	free(m->nodes);
	for (i = 0; i < m->ncolocs; i++)
	{
		free(m->colocs[i].owner);
		free(m->colocs[i].owners);
	}
	free(m->colocs);
	for (i = 0; i < m->ntables; i++)
	{
		free(m->tables[i].schema);
		free(m->tables[i].name);
		free(m->tables[i].key_column);
		free(m->tables[i].owner_name);
	}
	free(m->tables);
	for (i = 0; i < m->npath; i++)
		free(m->search_path[i]);
	free(m->search_path);
	free(m->local_name);
	if (m->table_index)
		pgmm_cache_free(m->table_index);
	free(m);
}

/* Grow an array of n elements of size sz by one; NULL on OOM. */
static void *
grow(void *arr, int n, size_t sz)
{
	if (n > 1000000)
		return NULL;
	return realloc(arr, (size_t) (n + 1) * sz);
}

int
pgmm_map_add_node(pgmm_map *m, const char *name, const char *conninfo, int slot, int active,
                  pgmm_buf *err)
{
	pgmm_map_node *nodes, *n;

	if (name == NULL || name[0] == '\0')
	{
		pgmm_buf_append(err, "catalog: a master has no name");
		return -1;
	}
	if (pgmm_map_node_index(m, name) >= 0)
	{
		pgmm_buf_printf(err, "catalog: master %s is listed twice", name);
		return -1;
	}
	nodes = grow(m->nodes, m->nnodes, sizeof *nodes);
	if (nodes == NULL)
		goto oom;
	m->nodes = nodes;
	n = &nodes[m->nnodes];
	memset(n, 0, sizeof *n);
	n->name = strdup(name);
	n->conninfo = strdup(conninfo ? conninfo : "");
	n->slot = slot;
	n->active = active;
	if (n->name == NULL || n->conninfo == NULL)
	{
		free(n->name);
		free(n->conninfo);
		goto oom;
	}
	m->nnodes++;
	return 0;
oom:
	pgmm_buf_append(err, "out of memory");
	return -1;
}

static int
coloc_index(const pgmm_map *m, int id)
{
	int i;

	for (i = 0; i < m->ncolocs; i++)
		if (m->colocs[i].id == id)
			return i;
	return -1;
}

int
pgmm_map_add_coloc(pgmm_map *m, int id, const char *key_type, int shards, pgmm_buf *err)
{
	pgmm_map_coloc *cs, *c;
	pgmm_keytype kt = key_type ? pgmm_keytype_from_name(key_type) : PGMM_KEY_INVALID;
	int r;

	if (kt == PGMM_KEY_INVALID)
	{
		pgmm_buf_printf(err, "catalog: colocation group %d has key type \"%s\", which this pgmm cannot route on",
		                id, key_type ? key_type : "(null)");
		return -1;
	}
	if (shards < 1 || shards > 4096)
	{
		pgmm_buf_printf(err, "catalog: colocation group %d has %d shards (expected 1 to 4096)", id, shards);
		return -1;
	}
	if (coloc_index(m, id) >= 0)
	{
		pgmm_buf_printf(err, "catalog: colocation group %d is listed twice", id);
		return -1;
	}
	cs = grow(m->colocs, m->ncolocs, sizeof *cs);
	if (cs == NULL)
		goto oom;
	m->colocs = cs;
	c = &cs[m->ncolocs];
	memset(c, 0, sizeof *c);
	c->id = id;
	c->key_type = kt;
	c->shards = shards;
	c->owner = malloc((size_t) shards * sizeof(int));
	if (c->owner == NULL)
		goto oom;
	for (r = 0; r < shards; r++)
		c->owner[r] = -1;
	m->ncolocs++;
	return 0;
oom:
	pgmm_buf_append(err, "out of memory");
	return -1;
}

int
pgmm_map_set_shard(pgmm_map *m, int coloc_id, int remainder, const char *owner, pgmm_buf *err)
{
	int g = coloc_index(m, coloc_id), n;

	if (g < 0)
	{
		pgmm_buf_printf(err, "catalog: shard %d names unknown colocation group %d", remainder, coloc_id);
		return -1;
	}
	if (remainder < 0 || remainder >= m->colocs[g].shards)
	{
		pgmm_buf_printf(err, "catalog: colocation group %d has %d shards but lists remainder %d",
		                coloc_id, m->colocs[g].shards, remainder);
		return -1;
	}
	n = owner ? pgmm_map_node_index(m, owner) : -1;
	if (n < 0)
	{
		pgmm_buf_printf(err, "catalog: shard %d of colocation group %d is owned by unknown master \"%s\"",
		                remainder, coloc_id, owner ? owner : "(null)");
		return -1;
	}
	if (m->colocs[g].owner[remainder] >= 0)
	{
		pgmm_buf_printf(err, "catalog: shard %d of colocation group %d is listed twice", remainder, coloc_id);
		return -1;
	}
	m->colocs[g].owner[remainder] = n;
	return 0;
}

int
pgmm_map_add_table(pgmm_map *m, const char *schema, const char *name, const char *kind,
                   const char *key_column, const char *key_type, int32_t key_typmod,
                   int key_position, int coloc_id, const char *owner, pgmm_buf *err)
{
	pgmm_map_table *ts, *t;

	if (schema == NULL || name == NULL || kind == NULL)
	{
		pgmm_buf_append(err, "catalog: a table row lacks its schema, name or kind");
		return -1;
	}
	ts = grow(m->tables, m->ntables, sizeof *ts);
	if (ts == NULL)
		goto oom;
	m->tables = ts;
	t = &ts[m->ntables];
	memset(t, 0, sizeof *t);
	t->coloc = -1;
	t->owner = -1;
	if (strcmp(kind, "reference") == 0)
		t->kind = PGMM_TABLE_REFERENCE;
	else if (strcmp(kind, "distributed") == 0)
		t->kind = PGMM_TABLE_DISTRIBUTED;
	else
	{
		pgmm_buf_printf(err, "catalog: table %s.%s has unknown kind \"%s\"", schema, name, kind);
		return -1;
	}
	t->schema = strdup(schema);
	t->name = strdup(name);
	t->key_column = key_column ? strdup(key_column) : NULL;
	t->owner_name = owner ? strdup(owner) : NULL;
	if (!t->schema || !t->name || (key_column && !t->key_column) || (owner && !t->owner_name))
	{
		free(t->schema);
		free(t->name);
		free(t->key_column);
		free(t->owner_name);
		goto oom;
	}
	t->key_type = key_type ? pgmm_keytype_from_name(key_type) : PGMM_KEY_INVALID;
	t->key_typmod = key_typmod;
	t->key_position = key_position;
	t->coloc_id = coloc_id;
	m->ntables++;
	if (t->kind == PGMM_TABLE_DISTRIBUTED && (t->key_column == NULL || t->key_type == PGMM_KEY_INVALID))
	{
		pgmm_buf_printf(err, "catalog: distributed table %s.%s has key type \"%s\", which this pgmm cannot route on",
		                schema, name, key_type ? key_type : "(null)");
		return -1;
	}
	return 0;
oom:
	pgmm_buf_append(err, "out of memory");
	return -1;
}

int
pgmm_map_set_search_path(pgmm_map *m, const char *const *schemas, int n, pgmm_buf *err)
{
	char **p = calloc((size_t) (n > 0 ? n : 1), sizeof(char *));
	int i;

	if (p == NULL)
		goto oom;
	for (i = 0; i < n; i++)
		if ((p[i] = strdup(schemas[i])) == NULL)
		{
			while (i-- > 0)
				free(p[i]);
			free(p);
			goto oom;
		}
	for (i = 0; i < m->npath; i++)
		free(m->search_path[i]);
	free(m->search_path);
	m->search_path = p;
	m->npath = n;
	return 0;
oom:
	pgmm_buf_append(err, "out of memory");
	return -1;
}

/* "schema\0name" into buf (NUL inside: no ambiguity); its length, or 0 when
 * it does not fit. */
static size_t
table_key(char *buf, size_t cap, const char *schema, const char *name)
{
	size_t a = strlen(schema), b = strlen(name);

	if (a + b + 1 > cap)
		return 0;
	memcpy(buf, schema, a);
	buf[a] = '\0';
	memcpy(buf + a + 1, name, b);
	return a + b + 1;
}

int
pgmm_map_finish(pgmm_map *m, int64_t epoch, int stride, const char *local, pgmm_buf *err)
{
	int g, r, i, j;
	char key[160];

	m->epoch = epoch;
	m->stride = stride;
	if (m->nnodes == 0)
	{
		pgmm_buf_append(err, "catalog: no master is listed");
		return -1;
	}
	m->local = local ? pgmm_map_node_index(m, local) : -1;
	if (m->local < 0)
	{
		pgmm_buf_printf(err, "catalog: this master's own name (pgmm.local: \"%s\") is not among the masters",
		                local ? local : "");
		return -1;
	}
	free(m->local_name);
	m->local_name = strdup(local);
	if (m->local_name == NULL)
		goto oom;
	for (g = 0; g < m->ncolocs; g++)
	{
		pgmm_map_coloc *c = &m->colocs[g];

		for (r = 0; r < c->shards; r++)
			if (c->owner[r] < 0)
			{
				pgmm_buf_printf(err, "catalog: shard %d of colocation group %d has no owner", r, c->id);
				return -1;
			}
		free(c->owners);
		c->owners = malloc((size_t) m->nnodes * sizeof(int));
		if (c->owners == NULL)
			goto oom;
		c->nowners = 0;
		for (i = 0; i < m->nnodes; i++)
			for (r = 0; r < c->shards; r++)
				if (c->owner[r] == i)
				{
					c->owners[c->nowners++] = i;
					break;
				}
	}
	if (m->table_index)
		pgmm_cache_free(m->table_index);
	m->table_index = pgmm_cache_new(0, NULL);
	if (m->table_index == NULL)
		goto oom;
	for (i = 0; i < m->ntables; i++)
	{
		pgmm_map_table *t = &m->tables[i];
		size_t klen;

		if (t->kind == PGMM_TABLE_REFERENCE)
		{
			t->owner = t->owner_name ? pgmm_map_node_index(m, t->owner_name) : -1;
			if (t->owner < 0)
			{
				pgmm_buf_printf(err, "catalog: reference table %s.%s is owned by unknown master \"%s\"",
				                t->schema, t->name, t->owner_name ? t->owner_name : "");
				return -1;
			}
		}
		else
		{
			t->coloc = coloc_index(m, t->coloc_id);
			if (t->coloc < 0)
			{
				pgmm_buf_printf(err, "catalog: table %s.%s names unknown colocation group %d",
				                t->schema, t->name, t->coloc_id);
				return -1;
			}
			if (m->colocs[t->coloc].key_type != t->key_type)
			{
				pgmm_buf_printf(err, "catalog: table %s.%s has key type %s but its colocation group %d has %s",
				                t->schema, t->name, pgmm_keytype_name(t->key_type), t->coloc_id,
				                pgmm_keytype_name(m->colocs[t->coloc].key_type));
				return -1;
			}
		}
		klen = table_key(key, sizeof key, t->schema, t->name);
		if (klen == 0)
			continue;		/* longer than PostgreSQL allows: never looked up */
		for (j = 0; j < i; j++)
			if (strcmp(m->tables[j].schema, t->schema) == 0 && strcmp(m->tables[j].name, t->name) == 0)
			{
				pgmm_buf_printf(err, "catalog: table %s.%s is listed twice", t->schema, t->name);
				return -1;
			}
		if (pgmm_cache_put(m->table_index, key, klen, (void *) (intptr_t) (i + 1)) < 0)
			goto oom;
	}
	m->finished = 1;
	return 0;
oom:
	pgmm_buf_append(err, "out of memory");
	return -1;
}

/* ------------------------------------------------------------ from the catalog */

static const char *
val(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static int
toint(const char *s, int dflt)
{
	return s && s[0] ? atoi(s) : dflt;
}

typedef struct path_row
{
	const char *schema;
	int         ord;
} path_row;

static int
path_cmp(const void *a, const void *b)
{
	const path_row *x = a, *y = b;

	return (x->ord > y->ord) - (x->ord < y->ord);
}

/* Collect the 'p' rows (column 1 schema, column 2 ordinal) into m. */
static int
path_from_rows(pgmm_map *m, const PGresult *res, pgmm_buf *err)
{
	int nrows = PQntuples(res), i, n = 0, rc;
	path_row *rows = calloc((size_t) (nrows ? nrows : 1), sizeof *rows);
	const char **names;

	if (rows == NULL)
		goto oom;
	for (i = 0; i < nrows; i++)
	{
		const char *k = val(res, i, 0);

		if (k && k[0] == 'p' && val(res, i, 1))
		{
			rows[n].schema = val(res, i, 1);
			rows[n].ord = toint(val(res, i, 2), i);
			n++;
		}
	}
	qsort(rows, (size_t) n, sizeof *rows, path_cmp);
	names = calloc((size_t) (n ? n : 1), sizeof(char *));
	if (names == NULL)
	{
		free(rows);
		goto oom;
	}
	for (i = 0; i < n; i++)
		names[i] = rows[i].schema;
	rc = pgmm_map_set_search_path(m, names, n, err);
	free(names);
	free(rows);
	return rc;
oom:
	pgmm_buf_append(err, "out of memory");
	return -1;
}

pgmm_map *
pgmm_map_from_result(const PGresult *res, pgmm_buf *err)
{
	pgmm_map *m;
	int i, nrows, pass, ncluster = 0;
	int64_t epoch = 0;
	int stride = 0;
	const char *local = NULL;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) < 10)
	{
		pgmm_buf_append(err, "catalog: unexpected result of the catalog query");
		return NULL;
	}
	m = pgmm_map_new();
	if (m == NULL)
	{
		pgmm_buf_append(err, "out of memory");
		return NULL;
	}
	nrows = PQntuples(res);
	/* Nodes first, then groups, shards and tables (they name nodes). */
	for (pass = 0; pass < 4; pass++)
		for (i = 0; i < nrows; i++)
		{
			const char *k = val(res, i, 0);
			int rc = 0;

			if (k == NULL)
				continue;
			if (pass == 0 && k[0] == 'c')
			{
				const char *e = val(res, i, 1);

				epoch = e ? strtoll(e, NULL, 10) : 0;
				stride = toint(val(res, i, 2), 0);
				local = val(res, i, 3);
				ncluster++;
			}
			else if (pass == 0 && k[0] == 'n')
				rc = pgmm_map_add_node(m, val(res, i, 1), val(res, i, 2), toint(val(res, i, 3), 0),
				                       val(res, i, 4) == NULL || strcmp(val(res, i, 4), "active") == 0, err);
			else if (pass == 1 && k[0] == 'g')
				rc = pgmm_map_add_coloc(m, toint(val(res, i, 1), -1), val(res, i, 2), toint(val(res, i, 3), 0), err);
			else if (pass == 2 && k[0] == 's')
				rc = pgmm_map_set_shard(m, toint(val(res, i, 1), -1), toint(val(res, i, 2), -1), val(res, i, 3), err);
			else if (pass == 3 && k[0] == 't')
				rc = pgmm_map_add_table(m, val(res, i, 1), val(res, i, 2), val(res, i, 3), val(res, i, 4),
				                        val(res, i, 5), (int32_t) toint(val(res, i, 9), -1),
				                        toint(val(res, i, 6), 0), toint(val(res, i, 7), -1), val(res, i, 8), err);
			if (rc < 0)
			{
				pgmm_map_free(m);
				return NULL;
			}
		}
	if (ncluster != 1)
	{
		pgmm_buf_printf(err, "catalog: pgmm.cluster has %d rows (expected 1)", ncluster);
		pgmm_map_free(m);
		return NULL;
	}
	if (path_from_rows(m, res, err) < 0 || pgmm_map_finish(m, epoch, stride, local, err) < 0)
	{
		pgmm_map_free(m);
		return NULL;
	}
	return m;
}

int
pgmm_map_search_path_from_result(pgmm_map *m, const PGresult *res, pgmm_buf *err)
{
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) < 3)
	{
		pgmm_buf_append(err, "unexpected result reading the search_path");
		return -1;
	}
	return path_from_rows(m, res, err);
}

/* ------------------------------------------------------------ lookups */

int
pgmm_map_node_index(const pgmm_map *m, const char *name)
{
	int i;

	if (m == NULL || name == NULL)
		return -1;
	for (i = 0; i < m->nnodes; i++)
		if (strcmp(m->nodes[i].name, name) == 0)
			return i;
	return -1;
}

static int
lookup(const pgmm_map *m, const char *schema, const char *name)
{
	char key[160];
	size_t klen = table_key(key, sizeof key, schema, name);
	void *v;

	if (klen == 0)
		return -1;
	v = pgmm_cache_get(m->table_index, key, klen);
	return v ? (int) (intptr_t) v - 1 : -1;
}

int
pgmm_map_find_table(const pgmm_map *m, const char *schema, const char *name)
{
	int i, t;

	if (m == NULL || name == NULL || m->table_index == NULL || m->ntables == 0)
		return -1;
	if (schema)
		return lookup(m, schema, name);
	for (i = 0; i < m->npath; i++)
		if ((t = lookup(m, m->search_path[i], name)) >= 0)
			return t;
	return -1;
}
