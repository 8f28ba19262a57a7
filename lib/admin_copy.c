/*
 * admin_copy.c -- make one master's copy of a relation equal to another's.
 *
 * admin_equalize() is the one routine that mends rows: repair (every copy
 * made equal to its owner's), rejoin and failover (the survivors' copies of
 * a dead master's shards made equal to the one that got furthest) call it.
 *
 * How: both masters stream the relation's rows as (key text, row hash, key
 * columns as text), ordered by key in byte order, through a cursor (FETCH
 * EQ_FETCH_SQL, 1000 rows at a time, so memory stays bounded whatever the size), and the
 * two streams are merged.  Differing keys are gathered into batches of
 * EQ_BATCH; for each batch the source's rows of those keys are read (by
 * key, through the primary key's index) as whole-row texts, and on the
 * destination the rows of those keys are deleted and the source's rows
 * inserted, all in one transaction with session_replication_role = replica
 * (guards and foreign-key triggers do not fire, and the destination, which
 * does not own the relation, publishes nothing).  The source is read in one
 * REPEATABLE READ READ ONLY transaction, so the rows fetched for a batch are
 * the ones the stream hashed; nothing is ever written there.
 *
 * The row hash is verify's (ADMIN_ROW_HASH: the md5 of the whole-row value),
 * so what equalize finds equal, verify finds equal.  Rows are carried as the
 * text of the whole-row value and turned back into a row by a cast to the
 * relation's row type on the destination; every setting that changes how a
 * value prints (DateStyle, IntervalStyle, TimeZone, extra_float_digits,
 * bytea_output) is fixed for both transactions, so the text round-trips.
 *
 * A relation without a primary key (REPLICA IDENTITY FULL) is keyed by the
 * whole row: a differing row's copies are all deleted on the destination
 * and the source's copies inserted, so duplicates come out right too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_int.h"

/* rows read per FETCH on each master */
#define EQ_FETCH_SQL  "FETCH 1000 FROM pgmm_equalize"
#define EQ_BATCH      500	/* differing keys mended per round trip */
#define EQ_FIRST_KEYS 10	/* keys named in admin_diff.keys */

/* Settings that make every value print the same on both masters and read
 * back exactly (floats with every digit). */
static const char eq_settings[] =
	"SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres'; "
	"SET LOCAL TimeZone = 'UTC'; SET LOCAL extra_float_digits = 3; SET LOCAL bytea_output = 'hex'";

/* Primary key columns of relation $1 with their types, in key order. */
static const char eq_pkey_sql[] =
	"SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod) "
	"FROM pg_catalog.pg_index i CROSS JOIN LATERAL pg_catalog.unnest(i.indkey) WITH ORDINALITY AS k(att, ord) "
	"JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.att "
	"WHERE i.indrelid = pg_catalog.to_regclass($1) AND i.indisprimary ORDER BY k.ord";

/* Columns of relation $1 an INSERT may name (not dropped, not generated). */
static const char eq_cols_sql[] =
	"SELECT a.attname::text FROM pg_catalog.pg_attribute a "
	"WHERE a.attrelid = pg_catalog.to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped "
	"AND a.attgenerated = '' ORDER BY a.attnum";

static const char eq_exists_sql[] =
	"SELECT c.relkind::text FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass($1)";

/* ------------------------------------------------------------ builders */

void
admin_build_text_array(pgmm_buf *b, const char *const *v, int n)
{
	int i;

	pgmm_buf_append(b, "{");
	for (i = 0; i < n; i++)
	{
		const char *p = v[i], *q;

		pgmm_buf_append(b, i ? ",\"" : "\"");
		/* inside double quotes only " and \ need a backslash */
		while ((q = strpbrk(p, "\"\\")) != NULL)
		{
			pgmm_buf_append_len(b, p, (size_t) (q - p));
			pgmm_buf_append_len(b, "\\", 1);
			pgmm_buf_append_len(b, q, 1);
			p = q + 1;
		}
		pgmm_buf_append(b, p);
		pgmm_buf_append(b, "\"");
	}
	pgmm_buf_append(b, "}");
}

void
admin_build_equalize_rows(pgmm_buf *b, const char *rel, const char *const *keys, int nkeys)
{
	int k;

	pgmm_buf_append(b, "SELECT ");
	admin_build_key_text(b, keys, nkeys);
	pgmm_buf_append(b, " AS k, " ADMIN_ROW_HASH " AS h");
	for (k = 0; k < nkeys; k++)
	{
		pgmm_buf_append(b, ", (r.");
		pgmm_buf_ident(b, keys[k]);
		pgmm_buf_append(b, ")::text");
	}
	pgmm_buf_printf(b, " FROM ONLY %s AS r ORDER BY 1, 2", rel);
}

/* The join of alias r with the key arrays: " ... AS u(k0, k1) <word> r.a = u.k0::type AND ..." */
static void
build_key_match(pgmm_buf *b, const char *const *keys, const char *const *types, int nkeys, const char *word)
{
	int k;

	/* ROWS FROM: a qualified unnest takes one array only */
	pgmm_buf_append(b, "ROWS FROM (");
	for (k = 0; k < nkeys; k++)
		pgmm_buf_printf(b, "%spg_catalog.unnest($%d::text[])", k ? ", " : "", k + 1);
	pgmm_buf_append(b, ") AS u(");
	for (k = 0; k < nkeys; k++)
		pgmm_buf_printf(b, "%sk%d", k ? ", " : "", k);
	pgmm_buf_printf(b, ") %s ", word);
	for (k = 0; k < nkeys; k++)
	{
		pgmm_buf_append(b, k ? " AND r." : "r.");
		pgmm_buf_ident(b, keys[k]);
		pgmm_buf_printf(b, " = u.k%d::%s", k, types[k]);
	}
}

void
admin_build_equalize_fetch(pgmm_buf *b, const char *rel, const char *const *keys,
                           const char *const *types, int nkeys)
{
	pgmm_buf_printf(b, "SELECT ROW(r.*)::text FROM ONLY %s AS r ", rel);
	if (nkeys <= 0)
	{
		pgmm_buf_append(b, "WHERE ROW(r.*)::text = ANY ($1::text[])");
		return;
	}
	pgmm_buf_append(b, "JOIN ");
	build_key_match(b, keys, types, nkeys, "ON");
}

void
admin_build_equalize_delete(pgmm_buf *b, const char *rel, const char *const *keys,
                            const char *const *types, int nkeys)
{
	pgmm_buf_printf(b, "DELETE FROM ONLY %s AS r ", rel);
	if (nkeys <= 0)
	{
		pgmm_buf_append(b, "WHERE ROW(r.*)::text = ANY ($1::text[])");
		return;
	}
	pgmm_buf_append(b, "USING ");
	build_key_match(b, keys, types, nkeys, "WHERE");
}

void
admin_build_equalize_insert(pgmm_buf *b, const char *rel, const char *const *cols, int ncols)
{
	int k;

	/* OVERRIDING SYSTEM VALUE: an identity column GENERATED ALWAYS takes
	 * the source's value, as replication does */
	pgmm_buf_printf(b, "INSERT INTO %s (", rel);
	for (k = 0; k < ncols; k++)
	{
		if (k)
			pgmm_buf_append(b, ", ");
		pgmm_buf_ident(b, cols[k]);
	}
	pgmm_buf_append(b, ") OVERRIDING SYSTEM VALUE SELECT ");
	for (k = 0; k < ncols; k++)
	{
		pgmm_buf_append(b, k ? ", (s.v)." : "(s.v).");
		pgmm_buf_ident(b, cols[k]);
	}
	pgmm_buf_printf(b, " FROM (SELECT u.t::%s AS v FROM pg_catalog.unnest($1::text[]) AS u(t)) AS s", rel);
}

/* ------------------------------------------------------------ admin_diff */

void
admin_diff_init(admin_diff *d)
{
	memset(d, 0, sizeof *d);
	pgmm_buf_init(&d->keys);
}

void
admin_diff_free(admin_diff *d)
{
	pgmm_buf_free(&d->keys);
	d->nkeys = 0;
}

/* ------------------------------------------------------------ equalize */

/* One master's side of the merge: the cursor's current batch of rows. */
typedef struct eq_side
{
	int       node;
	PGresult *r;
	int       i;
	int       done;
} eq_side;

/* 1 when s has a current row (fetching the next batch when needed), 0 at
 * the end, -1 on error. */
static int
eq_peek(PGMMadmin *a, eq_side *s)
{
	if (s->r && s->i < PQntuples(s->r))
		return 1;
	if (s->done)
		return 0;
	PQclear(s->r);
	s->i = 0;
	s->r = admin_query(a, s->node, EQ_FETCH_SQL, PGRES_TUPLES_OK);
	if (s->r == NULL)
		return -1;
	if (PQntuples(s->r) == 0)
	{
		s->done = 1;
		return 0;
	}
	return 1;
}

/* Differing keys waiting to be mended: for each, its key column values
 * (ncols of them: the key columns, or the row text when keyed by the row). */
typedef struct eq_batch
{
	int    ncols;
	int    n;
	char **vals;	/* n * ncols */
} eq_batch;

static void
eq_batch_clear(eq_batch *b)
{
	int i;

	for (i = 0; i < b->n * b->ncols; i++)
		free(b->vals[i]);
	b->n = 0;
}

typedef struct eq_ctx
{
	PGMMadmin  *a;
	int         src, dst;
	int         nkeys;
	char       *fetch_sql;
	char       *delete_sql;
	char       *insert_sql;
} eq_ctx;

/* Mend one batch on dst: the source's rows of those keys replace dst's. */
static int
eq_apply(eq_ctx *c, eq_batch *b)
{
	const char **params = calloc((size_t) b->ncols, sizeof(char *));
	const char **rows = NULL;
	pgmm_buf *arr = calloc((size_t) b->ncols, sizeof(pgmm_buf));
	const char **col = calloc((size_t) b->n + 1, sizeof(char *));
	PGresult *got = NULL, *r;
	pgmm_buf ins;
	int k, j, rc = -1;

	pgmm_buf_init(&ins);
	if (params == NULL || arr == NULL || col == NULL)
		goto oom;
	for (k = 0; k < b->ncols; k++)
	{
		pgmm_buf_init(&arr[k]);
		for (j = 0; j < b->n; j++)
			col[j] = b->vals[j * b->ncols + k];
		admin_build_text_array(&arr[k], col, b->n);
		if (!pgmm_buf_ok(&arr[k]))
			goto oom;
		params[k] = pgmm_buf_str(&arr[k]);
	}
	got = admin_query_params(c->a, c->src, c->fetch_sql, b->ncols, params);
	if (got == NULL)
		goto done;
	r = admin_query_params(c->a, c->dst, c->delete_sql, b->ncols, params);
	if (r == NULL)
		goto done;
	PQclear(r);
	if (PQntuples(got) > 0)
	{
		rows = calloc((size_t) PQntuples(got), sizeof(char *));
		if (rows == NULL)
			goto oom;
		for (j = 0; j < PQntuples(got); j++)
			rows[j] = PQgetvalue(got, j, 0);
		admin_build_text_array(&ins, rows, PQntuples(got));
		if (!pgmm_buf_ok(&ins))
			goto oom;
		params[0] = pgmm_buf_str(&ins);
		r = admin_query_params(c->a, c->dst, c->insert_sql, 1, params);
		if (r == NULL)
			goto done;
		PQclear(r);
	}
	rc = 0;
	goto done;
oom:
	admin_seterr(c->a, "out of memory");
done:
	for (k = 0; arr && k < b->ncols; k++)
		pgmm_buf_free(&arr[k]);
	free(arr);
	free(params);
	free(col);
	free(rows);
	pgmm_buf_free(&ins);
	PQclear(got);
	return rc;
}

/* Strings of column col of a one-column-or-more result, malloc'd array; NULL when out of memory. */
static const char **
result_column(const PGresult *r, int col)
{
	const char **v = calloc((size_t) PQntuples(r) + 1, sizeof(char *));
	int i;

	for (i = 0; v && i < PQntuples(r); i++)
		v[i] = PQgetvalue(r, i, col);
	return v;
}

/* Open the transaction and the cursor on one side. */
static int
eq_open(PGMMadmin *a, int node, const char *begin, const char *rows_sql)
{
	pgmm_buf sql;
	int rc;

	pgmm_buf_init(&sql);
	pgmm_buf_printf(&sql, "%s; %s; DECLARE pgmm_equalize NO SCROLL CURSOR FOR %s", begin, eq_settings, rows_sql);
	rc = pgmm_buf_ok(&sql) ? admin_run(a, node, pgmm_buf_str(&sql)) : -1;
	if (!pgmm_buf_ok(&sql))
		admin_seterr(a, "out of memory");
	pgmm_buf_free(&sql);
	return rc;
}

/* End a side's transaction without touching the handle's error. */
static void
eq_rollback(PGMMadmin *a, int node)
{
	if (a->nodes[node].conn && PQtransactionStatus(a->nodes[node].conn) != PQTRANS_IDLE)
		PQclear(PQexec(a->nodes[node].conn, "ROLLBACK"));
}

int
admin_equalize(PGMMadmin *a, int src, int dst, const char *schema, const char *rel,
               int dry_run, admin_diff *d)
{
	pgmm_buf qual, rows_sql, fetch, del, ins, last;
	PGresult *pk = NULL, *cols = NULL, *r;
	const char **keys = NULL, **types = NULL, **colnames = NULL;
	const char *qv[1];
	eq_side s = {0}, t = {0};
	eq_batch batch = {0};
	eq_ctx ctx;
	int nkeys = 0, i, rc = -1, opened = 0, have_last = 0;

	if (a == NULL || !a->ok)
		return -1;
	if (a->in_txn)
	{
		admin_seterr(a, "internal error: admin_equalize inside a catalog change");
		return -1;
	}
	if (src < 0 || dst < 0 || src >= a->nnodes || dst >= a->nnodes || src == dst)
	{
		admin_seterr(a, "internal error: admin_equalize from master %d to master %d", src, dst);
		return -1;
	}
	if (a->nodes[src].conn == NULL || a->nodes[dst].conn == NULL)
	{
		admin_seterr(a, "master %s is not connected", a->nodes[a->nodes[src].conn ? dst : src].name);
		return -1;
	}
	pgmm_buf_init(&qual);
	pgmm_buf_init(&rows_sql);
	pgmm_buf_init(&fetch);
	pgmm_buf_init(&del);
	pgmm_buf_init(&ins);
	pgmm_buf_init(&last);
	pgmm_buf_ident(&qual, schema);
	pgmm_buf_append(&qual, ".");
	pgmm_buf_ident(&qual, rel);
	qv[0] = pgmm_buf_str(&qual);

	/* the relation must be there on both, a table (a shard or a reference table) */
	for (i = 0; i < 2; i++)
	{
		int node = i ? dst : src;

		r = admin_query_params(a, node, eq_exists_sql, 1, qv);
		if (r == NULL)
			goto done;
		if (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 0), "r") != 0)
		{
			admin_seterr(a, "master %s: %s %s", a->nodes[node].name, qv[0],
			             PQntuples(r) != 1 ? "does not exist" : "is not a table with rows of its own");
			PQclear(r);
			goto done;
		}
		PQclear(r);
	}
	pk = admin_query_params(a, src, eq_pkey_sql, 1, qv);
	cols = pk ? admin_query_params(a, dst, eq_cols_sql, 1, qv) : NULL;
	if (cols == NULL)
		goto done;
	nkeys = PQntuples(pk);
	keys = result_column(pk, 0);
	types = result_column(pk, 1);
	colnames = result_column(cols, 0);
	if (keys == NULL || types == NULL || colnames == NULL)
	{
		admin_seterr(a, "out of memory");
		goto done;
	}
	if (PQntuples(cols) == 0)
	{
		admin_seterr(a, "master %s: %s has no column to copy", a->nodes[dst].name, qv[0]);
		goto done;
	}
	admin_build_equalize_rows(&rows_sql, qv[0], keys, nkeys);
	admin_build_equalize_fetch(&fetch, qv[0], keys, types, nkeys);
	admin_build_equalize_delete(&del, qv[0], keys, types, nkeys);
	admin_build_equalize_insert(&ins, qv[0], colnames, PQntuples(cols));
	batch.ncols = nkeys > 0 ? nkeys : 1;
	batch.vals = calloc((size_t) EQ_BATCH * (size_t) batch.ncols, sizeof(char *));
	if (!pgmm_buf_ok(&rows_sql) || !pgmm_buf_ok(&fetch) || !pgmm_buf_ok(&del) || !pgmm_buf_ok(&ins) ||
	    batch.vals == NULL)
	{
		admin_seterr(a, "out of memory");
		goto done;
	}
	ctx.a = a;
	ctx.src = src;
	ctx.dst = dst;
	ctx.nkeys = nkeys;
	ctx.fetch_sql = fetch.data;
	ctx.delete_sql = del.data;
	ctx.insert_sql = ins.data;

	opened = 1;
	if (eq_open(a, src, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", pgmm_buf_str(&rows_sql)) < 0 ||
	    eq_open(a, dst, dry_run ? "BEGIN READ ONLY" : "BEGIN; SET LOCAL session_replication_role = replica",
	            pgmm_buf_str(&rows_sql)) < 0)
		goto done;
	s.node = src;
	t.node = dst;
	for (;;)
	{
		int hs = eq_peek(a, &s), ht = hs < 0 ? -1 : eq_peek(a, &t), c;
		eq_side *from;
		const char *key;

		if (hs < 0 || ht < 0)
			goto done;
		if (!hs && !ht)
			break;
		c = !hs ? 1 : !ht ? -1 : strcmp(PQgetvalue(s.r, s.i, 0), PQgetvalue(t.r, t.i, 0));
		if (c == 0 && strcmp(PQgetvalue(s.r, s.i, 1), PQgetvalue(t.r, t.i, 1)) == 0)
		{
			s.i++, t.i++;
			continue;
		}
		from = c <= 0 ? &s : &t;
		key = PQgetvalue(from->r, from->i, 0);
		/* a key counted and mended once even when several rows carry it
		 * (a relation keyed by the whole row may hold duplicates) */
		if (!(have_last && strcmp(pgmm_buf_str(&last), key) == 0))
		{
			if (c == 0)
				d->changed++;
			else if (c < 0)
				d->missing++;
			else
				d->extra++;
			if (d->nkeys < EQ_FIRST_KEYS)
			{
				pgmm_buf_printf(&d->keys, "%s%s", d->nkeys ? ", " : "", key);
				d->nkeys++;
			}
			pgmm_buf_reset(&last);
			pgmm_buf_append(&last, key);
			have_last = 1;
			if (!dry_run)
			{
				int k;

				for (k = 0; k < batch.ncols; k++)
				{
					char *v = strdup(PQgetvalue(from->r, from->i, nkeys > 0 ? 2 + k : 0));

					if (v == NULL)
					{
						admin_seterr(a, "out of memory");
						goto done;
					}
					batch.vals[batch.n * batch.ncols + k] = v;
				}
				batch.n++;
				if (batch.n == EQ_BATCH)
				{
					if (eq_apply(&ctx, &batch) < 0)
						goto done;
					eq_batch_clear(&batch);
				}
			}
		}
		if (c <= 0)
			s.i++;
		if (c >= 0)
			t.i++;
	}
	if (batch.n > 0 && eq_apply(&ctx, &batch) < 0)
		goto done;
	if (dry_run)
		eq_rollback(a, dst);
	else if (admin_run(a, dst, "CLOSE pgmm_equalize; COMMIT") < 0)
		goto done;
	eq_rollback(a, src);
	rc = 0;
done:
	if (rc < 0 && opened)
	{
		eq_rollback(a, dst);
		eq_rollback(a, src);
	}
	eq_batch_clear(&batch);
	free(batch.vals);
	PQclear(s.r);
	PQclear(t.r);
	PQclear(pk);
	PQclear(cols);
	free(keys);
	free(types);
	free(colnames);
	pgmm_buf_free(&qual);
	pgmm_buf_free(&rows_sql);
	pgmm_buf_free(&fetch);
	pgmm_buf_free(&del);
	pgmm_buf_free(&ins);
	pgmm_buf_free(&last);
	return rc;
}
