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
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
	pgmm_buf_append(b, "SELECT ROW(r.*)::text, ");
	admin_build_key_text(b, keys, nkeys);
	pgmm_buf_printf(b, " FROM ONLY %s AS r ", rel);
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
	char **keys;	/* n: key text */
	char  *kinds;	/* n: 'm' missing, 'e' extra, 'c' changed */
} eq_batch;

static void
eq_batch_clear(eq_batch *b)
{
	int i;

	for (i = 0; i < b->n * b->ncols; i++)
		free(b->vals[i]);
	for (i = 0; i < b->n; i++)
		free(b->keys[i]);
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
	int         dry_run;
	admin_row_fn fn;
	void       *fn_arg;
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
	if (c->fn)
	{
		/* dst's own rows of those keys, for the caller to keep */
		r = admin_query_params(c->a, c->dst, c->fetch_sql, b->ncols, params);
		if (r == NULL)
			goto done;
		for (j = 0; j < PQntuples(r); j++)
		{
			int e;

			for (e = 0; e < b->n; e++)
				if (strcmp(b->keys[e], PQgetvalue(r, j, 1)) == 0)
					break;
			if (e < b->n && b->kinds[e] != 'm')
				c->fn(c->fn_arg, b->kinds[e] == 'e' ? "extra" : "changed", b->keys[e], PQgetvalue(r, j, 0));
		}
		PQclear(r);
	}
	if (c->dry_run)
	{
		rc = 0;
		goto done;
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
	return admin_equalize_rows(a, src, dst, schema, rel, dry_run, d, NULL, NULL);
}

int
admin_equalize_rows(PGMMadmin *a, int src, int dst, const char *schema, const char *rel,
                    int dry_run, admin_diff *d, admin_row_fn fn, void *fn_arg)
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
	batch.keys = calloc((size_t) EQ_BATCH, sizeof(char *));
	batch.kinds = calloc((size_t) EQ_BATCH, 1);
	if (!pgmm_buf_ok(&rows_sql) || !pgmm_buf_ok(&fetch) || !pgmm_buf_ok(&del) || !pgmm_buf_ok(&ins) ||
	    batch.vals == NULL || batch.keys == NULL || batch.kinds == NULL)
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
	ctx.dry_run = dry_run;
	ctx.fn = fn;
	ctx.fn_arg = fn_arg;

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
			if (!dry_run || fn)
			{
				int k;

				batch.keys[batch.n] = strdup(key);
				batch.kinds[batch.n] = c == 0 ? 'c' : c < 0 ? 'm' : 'e';
				if (batch.keys[batch.n] == NULL)
				{
					admin_seterr(a, "out of memory");
					goto done;
				}
				for (k = 0; k < batch.ncols; k++)
				{
					char *v = strdup(PQgetvalue(from->r, from->i, nkeys > 0 ? 2 + k : 0));

					batch.vals[batch.n * batch.ncols + k] = v;
					if (v == NULL)
					{
						batch.n++;
						admin_seterr(a, "out of memory");
						goto done;
					}
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
	free(batch.keys);
	free(batch.kinds);
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

/* ------------------------------------------------------------ stalled subscriptions */

/*
 * A subscription whose apply worker fails for ever on one transaction (a
 * duplicate key because a row was planted on the subscriber, ...) stops
 * everything behind it.  The way out PostgreSQL offers is ALTER
 * SUBSCRIPTION ... SKIP (lsn = the failing transaction's finish LSN); that
 * LSN is read from the publisher's slot: with the subscription disabled
 * (the slot free), pg_logical_slot_peek_binary_changes() decodes what the
 * subscriber has not confirmed, and the first BEGIN ('B', then the final
 * LSN) past the subscriber's replication origin (the end of the last
 * transaction it applied) is the one it fails on (pgoutput sends no BEGIN
 * for a transaction with nothing to publish).  Peeking consumes nothing.
 * The skipped transaction's rows are then brought by equalize.
 */

/* On the publisher: $1 slot, $2 publication, $3 the subscriber's origin
 * position.  One row per table the first transaction past $3 changes:
 * xid, finish LSN, number of changes, schema and name of the table (the
 * partitioned table for a shard). */
static const char stall_peek_sql[] =
	"WITH c AS MATERIALIZED (SELECT p.xid, p.data FROM pg_catalog.pg_logical_slot_peek_binary_changes("
	"    $1, NULL, NULL, 'proto_version', '1', 'publication_names', $2) AS p), "
	"f AS (SELECT c.xid, (pg_catalog.encode(pg_catalog.substring(c.data, 2, 4), 'hex') || '/' || "
	"    pg_catalog.encode(pg_catalog.substring(c.data, 6, 4), 'hex'))::pg_catalog.pg_lsn AS fin "
	"  FROM c WHERE pg_catalog.get_byte(c.data, 0) = 66), "
	"t AS (SELECT f.xid, f.fin FROM f WHERE f.fin > $3::pg_catalog.pg_lsn ORDER BY f.fin LIMIT 1), "
	"ch AS (SELECT ('x' || pg_catalog.encode(pg_catalog.substring(c.data, 2, 4), 'hex'))::bit(32)::bigint::oid AS relid "
	"  FROM c JOIN t ON c.xid = t.xid WHERE pg_catalog.get_byte(c.data, 0) IN (73, 85, 68)) "
	"SELECT t.xid::text, t.fin::text, (SELECT pg_catalog.count(*) FROM ch), n.nspname::text, r.relname::text "
	"FROM t LEFT JOIN (SELECT DISTINCT COALESCE(pg_catalog.pg_partition_root(ch.relid), ch.relid) AS root FROM ch) x ON true "
	"LEFT JOIN pg_catalog.pg_class r ON r.oid = x.root LEFT JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace "
	"ORDER BY 4, 5";

/* On the subscriber: $1 subscription: slot name, origin position, apply errors. */
static const char stall_sub_sql[] =
	"SELECT s.subslotname::text, COALESCE((SELECT o.remote_lsn FROM pg_catalog.pg_replication_origin_status o "
	"  WHERE o.external_id = 'pg_' || s.oid::text), '0/0')::text, "
	"  COALESCE((SELECT st.apply_error_count FROM pg_catalog.pg_stat_subscription_stats st WHERE st.subid = s.oid), 0) "
	"FROM pg_catalog.pg_subscription s WHERE s.subname = $1 "
	"AND s.subdbid = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())";

#define STALL_MAX_SKIPS 20		/* per subscription and repair */

typedef struct stall_state
{
	int        dry_run;
	long long *errors0;		/* apply errors seen first, per publisher * n + subscriber; -1 not yet */
	int       *skips;
	pgmm_buf   text;		/* what was skipped (or, dry run, would be), one line each */
	pgmm_buf   json;		/* the same as JSON objects, ", "-separated */
	int        nskipped;
	char     **tschema;		/* pgmm tables the skipped transactions changed */
	char     **tname;
	int        ntables;
} stall_state;

static void
stall_add_table(stall_state *st, const char *schema, const char *name)
{
	char **ns, **nn;
	int i;

	for (i = 0; i < st->ntables; i++)
		if (strcmp(st->tschema[i], schema) == 0 && strcmp(st->tname[i], name) == 0)
			return;
	ns = realloc(st->tschema, (size_t) (st->ntables + 1) * sizeof(char *));
	if (ns == NULL)
		return;
	st->tschema = ns;
	nn = realloc(st->tname, (size_t) (st->ntables + 1) * sizeof(char *));
	if (nn == NULL)
		return;
	st->tname = nn;
	st->tschema[st->ntables] = strdup(schema);
	st->tname[st->ntables] = strdup(name);
	if (st->tschema[st->ntables] == NULL || st->tname[st->ntables] == NULL)
	{
		free(st->tschema[st->ntables]);
		free(st->tname[st->ntables]);
		return;
	}
	st->ntables++;
}

/* Peek the publisher's slot for the transaction the subscriber fails on and
 * describe it; 1 found (xid, LSN filled), 0 none, -1 error. */
static int
stall_peek(PGMMadmin *a, int pub, const char *slot, const char *origin_lsn, stall_state *st,
           pgmm_buf *xid, pgmm_buf *lsn, pgmm_buf *what)
{
	const char *vals[3];
	PGresult *r;
	int i;

	vals[0] = slot;
	vals[1] = PGMM_PUBLICATION;
	vals[2] = origin_lsn;
	r = admin_query_params(a, pub, stall_peek_sql, 3, vals);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0)
	{
		PQclear(r);
		return 0;
	}
	pgmm_buf_append(xid, PQgetvalue(r, 0, 0));
	pgmm_buf_append(lsn, PQgetvalue(r, 0, 1));
	pgmm_buf_printf(what, "%s change(s) to ", PQgetvalue(r, 0, 2));
	for (i = 0; i < PQntuples(r); i++)
	{
		if (PQgetisnull(r, i, 3))
			continue;
		pgmm_buf_printf(what, "%s%s.%s", i ? ", " : "", PQgetvalue(r, i, 3), PQgetvalue(r, i, 4));
		stall_add_table(st, PQgetvalue(r, i, 3), PQgetvalue(r, i, 4));
	}
	PQclear(r);
	return 1;
}

/* Wait until slot on master pub is free (its walsender gone); 0 / -1. */
static int
stall_wait_slot_free(PGMMadmin *a, int pub, const char *slot)
{
	long long start = admin_now_ms();
	const char *vals[1];

	vals[0] = slot;
	for (;;)
	{
		PGresult *r = admin_query_params(a, pub, "SELECT active FROM pg_catalog.pg_replication_slots "
		                                 "WHERE slot_name = $1", 1, vals);
		int busy;

		if (r == NULL)
			return -1;
		busy = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
		PQclear(r);
		if (!busy)
			return 0;
		if (admin_now_ms() - start > 10000)
		{
			admin_seterr(a, "master %s: replication slot %s is still in use 10 s after its subscription "
			             "was disabled", a->nodes[pub].name, slot);
			return -1;
		}
		admin_sleep_ms(50);
	}
}

static void
stall_record(stall_state *st, PGMMadmin *a, int pub, int sub, const char *name, const char *xid,
             const char *lsn, const char *what, int skipped)
{
	pgmm_buf_printf(&st->text, "master %s: subscription %s from %s was stalled (its apply worker kept failing); "
	                "%s transaction %s finished at %s (%s)%s\n", a->nodes[sub].name, name, a->nodes[pub].name,
	                skipped ? "skipped" : "it fails on", xid ? xid : "?", lsn ? lsn : "?", what,
	                skipped ? "; its rows are copied from the owners by the repair" :
	                lsn ? "; repair would skip it and copy its rows" : "");
	pgmm_buf_append(&st->json, st->nskipped ? ", {\"subscriber\": " : "{\"subscriber\": ");
	admin_json_str(&st->json, a->nodes[sub].name);
	pgmm_buf_append(&st->json, ", \"publisher\": ");
	admin_json_str(&st->json, a->nodes[pub].name);
	pgmm_buf_append(&st->json, ", \"subscription\": ");
	admin_json_str(&st->json, name);
	pgmm_buf_append(&st->json, ", \"xid\": ");
	admin_json_str(&st->json, xid ? xid : "");
	pgmm_buf_append(&st->json, ", \"finish_lsn\": ");
	admin_json_str(&st->json, lsn ? lsn : "");
	pgmm_buf_append(&st->json, ", \"changes\": ");
	admin_json_str(&st->json, what);
	pgmm_buf_printf(&st->json, ", \"skipped\": %s}", skipped ? "true" : "false");
	st->nskipped++;
}

/*
 * admin_wait_catchup's hook: a subscription that has not caught up and
 * whose apply errors grew since it was first looked at is stalled.  Clear
 * it (disable, peek, SKIP, enable) and let the wait go on; in a dry run only
 * say what it fails on (peeking when its slot happens to be free) and stop
 * waiting for it.
 */
static int
repair_behind(PGMMadmin *a, int pub, int sub, const char *name, void *arg)
{
	stall_state *st = arg;
	int k = pub * a->nnodes + sub, rc = -1, found, disabled = 0;
	const char *vals[1];
	PGresult *r;
	pgmm_buf slot, origin, xid, lsn, what, sql;
	long long errors;

	vals[0] = name;
	r = admin_query_params(a, sub, stall_sub_sql, 1, vals);
	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1)
	{
		PQclear(r);
		return 0;				/* the wait reports a missing subscription */
	}
	errors = atoll(PQgetvalue(r, 0, 2));
	if (st->errors0[k] < 0 || errors <= st->errors0[k])
	{
		if (st->errors0[k] < 0)
			st->errors0[k] = errors;
		PQclear(r);
		admin_sleep_ms(20);
		return 0;
	}
	pgmm_buf_init(&slot);
	pgmm_buf_init(&origin);
	pgmm_buf_init(&xid);
	pgmm_buf_init(&lsn);
	pgmm_buf_init(&what);
	pgmm_buf_init(&sql);
	pgmm_buf_append(&slot, PQgetvalue(r, 0, 0));
	pgmm_buf_append(&origin, PQgetvalue(r, 0, 1));
	PQclear(r);
	if (st->dry_run)
	{
		/* peek only when the slot is free (between the worker's attempts) */
		r = admin_query_params(a, pub, "SELECT active FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
		                       1, (const char *const *) &slot.data);
		if (r == NULL)
			goto done;
		found = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "f") == 0 ?
			stall_peek(a, pub, pgmm_buf_str(&slot), pgmm_buf_str(&origin), st, &xid, &lsn, &what) : 0;
		PQclear(r);
		if (found < 0)
			goto done;
		if (found == 0)
			pgmm_buf_append(&what, "not read: its slot was in use");
		stall_record(st, a, pub, sub, name, found ? pgmm_buf_str(&xid) : NULL, found ? pgmm_buf_str(&lsn) : NULL,
		             pgmm_buf_str(&what), 0);
		rc = 2;
		goto done;
	}
	if (++st->skips[k] > STALL_MAX_SKIPS)
	{
		admin_seterr(a, "master %s: subscription %s from %s still fails after %d skipped transactions; "
		             "see the server log", a->nodes[sub].name, name, a->nodes[pub].name, STALL_MAX_SKIPS);
		goto done;
	}
	pgmm_buf_append(&sql, "ALTER SUBSCRIPTION ");
	pgmm_buf_ident(&sql, name);
	pgmm_buf_append(&sql, " DISABLE");
	if (admin_run(a, sub, pgmm_buf_str(&sql)) < 0)
		goto done;
	disabled = 1;
	if (stall_wait_slot_free(a, pub, pgmm_buf_str(&slot)) < 0)
		goto done;
	/* the origin again: the worker may have applied more before it stopped */
	r = admin_query_params(a, sub, stall_sub_sql, 1, vals);
	if (r == NULL)
		goto done;
	pgmm_buf_reset(&origin);
	pgmm_buf_append(&origin, PQntuples(r) == 1 ? PQgetvalue(r, 0, 1) : "0/0");
	PQclear(r);
	found = stall_peek(a, pub, pgmm_buf_str(&slot), pgmm_buf_str(&origin), st, &xid, &lsn, &what);
	if (found < 0)
		goto done;
	if (found == 0)
	{
		/* failing, but not on a transaction of the stream: skipping cannot help */
		admin_seterr(a, "master %s: subscription %s from %s keeps failing, but no transaction past its position "
		             "(%s) is waiting in slot %s: the cause is not a row (see master %s's server log)",
		             a->nodes[sub].name, name, a->nodes[pub].name, pgmm_buf_str(&origin), pgmm_buf_str(&slot),
		             a->nodes[sub].name);
		goto done;
	}
	pgmm_buf_reset(&sql);
	pgmm_buf_append(&sql, "ALTER SUBSCRIPTION ");
	pgmm_buf_ident(&sql, name);
	pgmm_buf_append(&sql, " SKIP (lsn = ");
	pgmm_buf_literal(&sql, pgmm_buf_str(&lsn));
	pgmm_buf_append(&sql, "); ALTER SUBSCRIPTION ");
	pgmm_buf_ident(&sql, name);
	pgmm_buf_append(&sql, " ENABLE");
	if (admin_run(a, sub, pgmm_buf_str(&sql)) < 0)
		goto done;
	disabled = 0;
	stall_record(st, a, pub, sub, name, pgmm_buf_str(&xid), pgmm_buf_str(&lsn), pgmm_buf_str(&what), 1);
	admin_notice(a, "master %s: subscription %s from %s was stalled; skipped transaction %s finished at %s (%s)",
	             a->nodes[sub].name, name, a->nodes[pub].name, pgmm_buf_str(&xid), pgmm_buf_str(&lsn),
	             pgmm_buf_str(&what));
	/* look at its errors afresh: the next failure (if any) is a new stall */
	st->errors0[k] = -1;
	rc = 1;
done:
	if (disabled && a->nodes[sub].conn)
	{
		pgmm_buf_reset(&sql);
		pgmm_buf_append(&sql, "ALTER SUBSCRIPTION ");
		pgmm_buf_ident(&sql, name);
		pgmm_buf_append(&sql, " ENABLE");
		PQclear(PQexec(a->nodes[sub].conn, pgmm_buf_str(&sql)));
	}
	pgmm_buf_free(&slot);
	pgmm_buf_free(&origin);
	pgmm_buf_free(&xid);
	pgmm_buf_free(&lsn);
	pgmm_buf_free(&what);
	pgmm_buf_free(&sql);
	return rc;
}

/* ------------------------------------------------------------ repair */

typedef struct repair_tbl
{
	char *schema;
	char *name;
	char *owner;		/* reference table's owner */
	char *colocation;	/* NULL for a reference table */
	int   frozen;
	char *frozen_reason;
	int   selected;
	PGresult **sums;	/* per master: relation, rows, hash of each of its shards; NULL: every shard suspect */
} repair_tbl;

static const char repair_tables_sql[] =
	"SELECT schema_name, table_name, owner, colocation::text, frozen, frozen_reason FROM pgmm.tables ORDER BY 1, 2";
static const char repair_shards_sql[] =
	"SELECT s.remainder::text, s.owner FROM pgmm.shards s WHERE s.colocation::text = $1 ORDER BY s.remainder";

static void
repair_sums_free(repair_tbl *t, int nnodes)
{
	int m;

	for (m = 0; t->sums && m < nnodes; m++)
		PQclear(t->sums[m]);
	free(t->sums);
	t->sums = NULL;
}

static void
repair_tbls_free(repair_tbl *t, int n, int nnodes)
{
	int i;

	for (i = 0; t && i < n; i++)
	{
		repair_sums_free(&t[i], nnodes);
		free(t[i].schema);
		free(t[i].name);
		free(t[i].owner);
		free(t[i].colocation);
		free(t[i].frozen_reason);
	}
	free(t);
}

/* Select the pgmm table called name (as SQL names it: to_regclass on the
 * home master; else a table_name spelt exactly so); -1 with the error set. */
static int
repair_select(PGMMadmin *a, repair_tbl *t, int n, const char *name)
{
	const char *vals[1];
	PGresult *r;
	int i, hit = -1, nhit = 0;

	vals[0] = name;
	r = PQexecParams(a->nodes[a->home].conn, "SELECT n.nspname::text, c.relname::text FROM pg_catalog.pg_class c "
	                 "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = pg_catalog.to_regclass($1)",
	                 1, NULL, vals, NULL, NULL, 0);
	if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		for (i = 0; i < n; i++)
			if (strcmp(t[i].schema, PQgetvalue(r, 0, 0)) == 0 && strcmp(t[i].name, PQgetvalue(r, 0, 1)) == 0)
				hit = i, nhit = 1;
	PQclear(r);
	if (nhit == 0)
		for (i = 0; i < n; i++)
			if (strcmp(t[i].name, name) == 0)
				hit = i, nhit++;
	if (nhit == 1)
	{
		t[hit].selected = 1;
		return 0;
	}
	if (nhit > 1)
		admin_seterr(a, "table name \"%s\" is ambiguous (in several schemas): qualify it; nothing was changed", name);
	else
		admin_seterr(a, "\"%s\" is not a pgmm table (`pgmm status` lists them); nothing was changed", name);
	return -1;
}

/* The where clause of the freeze for the selected tables; 0 when none. */
static int
repair_where(const repair_tbl *t, int n, pgmm_buf *where, pgmm_buf *names)
{
	int i, k = 0;

	pgmm_buf_append(where, "(schema_name, table_name) IN (");
	for (i = 0; i < n; i++)
	{
		if (!t[i].selected)
			continue;
		pgmm_buf_append(where, k ? ", (" : "(");
		pgmm_buf_literal(where, t[i].schema);
		pgmm_buf_append(where, ", ");
		pgmm_buf_literal(where, t[i].name);
		pgmm_buf_append(where, ")");
		pgmm_buf_printf(names, "%s%s.%s", k ? ", " : "", t[i].schema, t[i].name);
		k++;
	}
	pgmm_buf_append(where, ")");
	return k;
}

/*
 * Before the freeze: the checksum of every shard of table t on every
 * master (rows, md5 of the sorted row hashes, as verify's), so that only
 * the shards whose copies differ from their owner's somewhere are compared
 * row by row while the table is frozen.  A shard found equal here needs no
 * repair (rows still in flight arrive by replication).
 */
static int
repair_checksums(PGMMadmin *a, repair_tbl *t)
{
	pgmm_buf sql;
	int m, rc = 0;

	t->sums = calloc((size_t) a->nnodes, sizeof(PGresult *));
	if (t->sums == NULL)
	{
		admin_seterr(a, "out of memory");
		return -1;
	}
	pgmm_buf_init(&sql);
	pgmm_buf_append(&sql, "SELECT c.relname::text, g.n, g.h FROM (SELECT r.tableoid AS t, pg_catalog.count(*) AS n, "
	                "pg_catalog.md5(pg_catalog.string_agg(" ADMIN_ROW_HASH ", '' ORDER BY " ADMIN_ROW_HASH ")) AS h "
	                "FROM ");
	pgmm_buf_ident(&sql, t->schema);
	pgmm_buf_append(&sql, ".");
	pgmm_buf_ident(&sql, t->name);
	pgmm_buf_append(&sql, " AS r GROUP BY 1) AS g JOIN pg_catalog.pg_class c ON c.oid = g.t");
	for (m = 0; m < a->nnodes && rc == 0; m++)
		if ((t->sums[m] = admin_query(a, m, pgmm_buf_str(&sql), PGRES_TUPLES_OK)) == NULL)
			rc = -1;
	pgmm_buf_free(&sql);
	if (rc < 0)
		repair_sums_free(t, a->nnodes);
	return rc;
}

/* Row of relation rel in a checksum result; -1 when it has no rows there. */
static int
sums_row(const PGresult *r, const char *rel)
{
	int i;

	for (i = 0; r && i < PQntuples(r); i++)
		if (strcmp(PQgetvalue(r, i, 0), rel) == 0)
			return i;
	return -1;
}

/* 1 when master m's copy of rel looked like owner o's before the freeze. */
static int
repair_looked_equal(const repair_tbl *t, int o, int m, const char *rel)
{
	int ro, rm;

	if (t->sums == NULL)
		return 0;
	ro = sums_row(t->sums[o], rel);
	rm = sums_row(t->sums[m], rel);
	if (ro < 0 || rm < 0)
		return ro == rm;
	return strcmp(PQgetvalue(t->sums[o], ro, 1), PQgetvalue(t->sums[m], rm, 1)) == 0 &&
		strcmp(PQgetvalue(t->sums[o], ro, 2), PQgetvalue(t->sums[m], rm, 2)) == 0;
}

typedef struct repair_totals
{
	long long *ins, *del, *upd;
	int        shards;
	int        tables;
	int        copies;		/* differing copies */
	pgmm_buf   text;		/* one line per differing copy */
	pgmm_buf   json;
} repair_totals;

/* Equalize every shard of one table (a reference table: itself) on every
 * master that is not its owner. */
static int
repair_table(PGMMadmin *a, const repair_tbl *t, int dry_run, repair_totals *tot)
{
	PGresult *shards = NULL;
	int s, nshards, i, rc = -1;

	if (t->colocation)
	{
		const char *vals[1];

		vals[0] = t->colocation;
		shards = admin_query_params(a, a->home, repair_shards_sql, 1, vals);
		if (shards == NULL)
			return -1;
		nshards = PQntuples(shards);
	}
	else
		nshards = 1;
	for (s = 0; s < nshards; s++)
	{
		pgmm_buf rel, line;
		const char *owner = shards ? PQgetvalue(shards, s, 1) : t->owner;
		int o = admin_node_index(a, owner);

		pgmm_buf_init(&rel);
		pgmm_buf_init(&line);
		pgmm_buf_append(&rel, t->name);
		if (shards)
			pgmm_buf_printf(&rel, PGMM_SHARD_SUFFIX "%s", PQgetvalue(shards, s, 0));
		if (o < 0)
		{
			admin_seterr(a, "%s.%s: owner %s is not a usable master (`pgmm status`)", t->schema,
			             pgmm_buf_str(&rel), owner);
			pgmm_buf_free(&rel);
			pgmm_buf_free(&line);
			goto done;
		}
		pgmm_buf_printf(&line, "%s.%s (owner %s):", t->schema, pgmm_buf_str(&rel), owner);
		for (i = 0; i < a->nnodes; i++)
		{
			admin_diff d;

			if (i == o)
				continue;
			if (repair_looked_equal(t, o, i, pgmm_buf_str(&rel)))
			{
				pgmm_buf_printf(&line, " %s identical;", a->nodes[i].name);
				continue;
			}
			admin_diff_init(&d);
			if (admin_equalize(a, o, i, t->schema, pgmm_buf_str(&rel), dry_run, &d) < 0)
			{
				pgmm_buf_printf(&a->err, " (repairing %s.%s on master %s)", t->schema, pgmm_buf_str(&rel),
				                a->nodes[i].name);
				admin_diff_free(&d);
				pgmm_buf_free(&rel);
				pgmm_buf_free(&line);
				goto done;
			}
			if (d.missing + d.extra + d.changed == 0)
				pgmm_buf_printf(&line, " %s identical;", a->nodes[i].name);
			else
			{
				pgmm_buf_printf(&line, " %s %lld missing, %lld extra, %lld changed;", a->nodes[i].name,
				                d.missing, d.extra, d.changed);
				pgmm_buf_printf(&tot->text, "%s.%s on %s (owner %s): %lld missing, %lld extra, %lld changed%s; "
				                "first keys: %s\n", t->schema, pgmm_buf_str(&rel), a->nodes[i].name, owner,
				                d.missing, d.extra, d.changed, dry_run ? "" : " (repaired)", pgmm_buf_str(&d.keys));
				pgmm_buf_append(&tot->json, tot->copies ? ", {\"table\": " : "{\"table\": ");
				{
					pgmm_buf q;

					pgmm_buf_init(&q);
					pgmm_buf_printf(&q, "%s.%s", t->schema, t->name);
					admin_json_str(&tot->json, pgmm_buf_str(&q));
					pgmm_buf_reset(&q);
					pgmm_buf_printf(&q, "%s.%s", t->schema, pgmm_buf_str(&rel));
					pgmm_buf_append(&tot->json, ", \"shard\": ");
					admin_json_str(&tot->json, pgmm_buf_str(&q));
					pgmm_buf_free(&q);
				}
				pgmm_buf_append(&tot->json, ", \"owner\": ");
				admin_json_str(&tot->json, owner);
				pgmm_buf_append(&tot->json, ", \"master\": ");
				admin_json_str(&tot->json, a->nodes[i].name);
				pgmm_buf_printf(&tot->json, ", \"missing\": %lld, \"extra\": %lld, \"changed\": %lld, \"keys\": ",
				                d.missing, d.extra, d.changed);
				admin_json_str(&tot->json, pgmm_buf_str(&d.keys));
				pgmm_buf_append(&tot->json, "}");
				tot->copies++;
				tot->ins[i] += d.missing;
				tot->del[i] += d.extra;
				tot->upd[i] += d.changed;
			}
			admin_diff_free(&d);
		}
		tot->shards++;
		admin_notice(a, "%s %s", dry_run ? "compared" : "repaired", pgmm_buf_str(&line));
		pgmm_buf_free(&rel);
		pgmm_buf_free(&line);
	}
	tot->tables++;
	rc = 0;
done:
	PQclear(shards);
	return rc;
}

char *
pgmm_admin_repair(PGMMadmin *a, const char *const *tables, int ntables, int dry_run, int json, int *differing)
{
	repair_tbl *t = NULL;
	repair_totals tot;
	stall_state st;
	PGresult *r = NULL;
	pgmm_buf where, names, out, late;
	int n = 0, i, ok = 0, frozen = 0, nsel;
	long long t0;
	char *result = NULL;

	if (differing)
		*differing = 0;
	if (a == NULL || !a->ok)
		return NULL;
	pgmm_buf_reset(&a->err);
	memset(&tot, 0, sizeof tot);
	memset(&st, 0, sizeof st);
	pgmm_buf_init(&where);
	pgmm_buf_init(&names);
	pgmm_buf_init(&out);
	pgmm_buf_init(&late);
	pgmm_buf_init(&tot.text);
	pgmm_buf_init(&tot.json);
	pgmm_buf_init(&st.text);
	pgmm_buf_init(&st.json);
	if (!admin_require_all(a))
		goto done;
	r = admin_query(a, a->home, repair_tables_sql, PGRES_TUPLES_OK);
	if (r == NULL)
		goto done;
	n = PQntuples(r);
	t = calloc((size_t) n + 1, sizeof *t);
	tot.ins = calloc((size_t) a->nnodes, sizeof(long long));
	tot.del = calloc((size_t) a->nnodes, sizeof(long long));
	tot.upd = calloc((size_t) a->nnodes, sizeof(long long));
	st.errors0 = calloc((size_t) a->nnodes * (size_t) a->nnodes, sizeof(long long));
	st.skips = calloc((size_t) a->nnodes * (size_t) a->nnodes, sizeof(int));
	if (t == NULL || tot.ins == NULL || tot.del == NULL || tot.upd == NULL || st.errors0 == NULL || st.skips == NULL)
	{
		admin_seterr(a, "out of memory");
		goto done;
	}
	st.dry_run = dry_run;
	for (i = 0; i < a->nnodes * a->nnodes; i++)
		st.errors0[i] = -1;
	for (i = 0; i < n; i++)
	{
		t[i].schema = strdup(PQgetvalue(r, i, 0));
		t[i].name = strdup(PQgetvalue(r, i, 1));
		t[i].owner = PQgetisnull(r, i, 2) ? NULL : strdup(PQgetvalue(r, i, 2));
		t[i].colocation = PQgetisnull(r, i, 3) ? NULL : strdup(PQgetvalue(r, i, 3));
		t[i].frozen = strcmp(PQgetvalue(r, i, 4), "t") == 0;
		t[i].frozen_reason = PQgetisnull(r, i, 5) ? NULL : strdup(PQgetvalue(r, i, 5));
		t[i].selected = ntables <= 0;
		if (t[i].schema == NULL || t[i].name == NULL)
		{
			admin_seterr(a, "out of memory");
			goto done;
		}
	}
	PQclear(r);
	r = NULL;
	for (i = 0; i < ntables; i++)
		if (repair_select(a, t, n, tables[i]) < 0)
			goto done;
	for (i = 0; i < n; i++)
		if (t[i].selected && t[i].frozen && !dry_run)
		{
			admin_seterr(a, "table %s.%s is frozen (%s): another catalog change is not finished; "
			             "run `pgmm recover`; nothing was changed", t[i].schema, t[i].name,
			             t[i].frozen_reason ? t[i].frozen_reason : "being added to the cluster");
			goto done;
		}

	/* 1. Let every subscription catch up, clearing the stalled ones; the
	 * tables a skipped transaction changed are repaired too. */
	if (admin_wait_catchup(a, repair_behind, &st) < 0)
		goto done;
	for (i = 0; i < st.ntables; i++)
	{
		int k;

		for (k = 0; k < n; k++)
			if (strcmp(t[k].schema, st.tschema[i]) == 0 && strcmp(t[k].name, st.tname[i]) == 0 && !t[k].frozen)
				t[k].selected = 1;
	}
	nsel = repair_where(t, n, &where, &names);
	if (nsel == 0)
	{
		pgmm_buf_append(&out, "");
		ok = 1;
		goto report;
	}

	/* Which shards differ at all (checksums, nothing frozen yet). */
	for (i = 0; i < n; i++)
		if (t[i].selected && repair_checksums(a, &t[i]) < 0)
			goto done;

	/* 2. Freeze them (writers through libpgmm pause on PM006), wait until
	 * everything written before has been applied everywhere, so no row is
	 * in flight; then the owners' copies are the truth to copy. */
	t0 = admin_now_ms();
	if (!dry_run)
	{
		if (admin_freeze(a, pgmm_buf_str(&where), "pgmm repair") < 0)
		{
			pgmm_buf_printf(&a->err, " (while freezing %s)", pgmm_buf_str(&names));
			goto done;
		}
		frozen = 1;
		admin_notice(a, "froze %s on %d masters", pgmm_buf_str(&names), a->nnodes);
		i = st.ntables;
		if (admin_wait_catchup(a, repair_behind, &st) < 0)
			goto done;
		/* a stall cleared now changed tables that are not frozen: say so */
		for (; i < st.ntables; i++)
		{
			int k, in = 0;

			for (k = 0; k < n; k++)
				if (t[k].selected && strcmp(t[k].schema, st.tschema[i]) == 0 && strcmp(t[k].name, st.tname[i]) == 0)
					in = 1;
			if (!in)
				pgmm_buf_printf(&late, "%s%s.%s", late.len ? ", " : "", st.tschema[i], st.tname[i]);
			/* its rows may have been written after the checksums: compare every shard */
			for (k = 0; k < n; k++)
				if (t[k].selected && strcmp(t[k].schema, st.tschema[i]) == 0 && strcmp(t[k].name, st.tname[i]) == 0)
					repair_sums_free(&t[k], a->nnodes);
		}
	}

	/* 3. Shard by shard, every copy made equal to its owner's. */
	for (i = 0; i < n; i++)
		if (t[i].selected && repair_table(a, &t[i], dry_run, &tot) < 0)
			goto done;
	ok = 1;
	if (frozen)
		admin_notice(a, "%s frozen for %lld ms", pgmm_buf_str(&names), admin_now_ms() - t0);

report:
	if (json)
	{
		pgmm_buf_printf(&out, "{\"dry_run\": %s, \"tables\": %d, \"shards\": %d, \"masters\": [",
		                dry_run ? "true" : "false", tot.tables, tot.shards);
		for (i = 0; i < a->nnodes; i++)
		{
			pgmm_buf_append(&out, i ? ", {\"name\": " : "{\"name\": ");
			admin_json_str(&out, a->nodes[i].name);
			pgmm_buf_printf(&out, ", \"inserted\": %lld, \"deleted\": %lld, \"updated\": %lld}", tot.ins[i],
			                tot.del[i], tot.upd[i]);
		}
		pgmm_buf_printf(&out, "], \"differences\": [%s], \"stalled\": [%s], \"not_repaired\": ",
		                pgmm_buf_str(&tot.json), pgmm_buf_str(&st.json));
		admin_json_str(&out, pgmm_buf_str(&late));
		pgmm_buf_append(&out, "}\n");
	}
	else
	{
		pgmm_buf_append(&out, pgmm_buf_str(&st.text));
		pgmm_buf_append(&out, pgmm_buf_str(&tot.text));
		if (dry_run)
			pgmm_buf_printf(&out, "dry run: %d differing cop%s in %d shard(s) of %d table(s); nothing was changed\n",
			                tot.copies, tot.copies == 1 ? "y" : "ies", tot.shards, tot.tables);
		else
		{
			pgmm_buf_printf(&out, "repaired %d shard(s) of %d table(s) on %d masters (owners' copies unchanged):\n",
			                tot.shards, tot.tables, a->nnodes);
			for (i = 0; i < a->nnodes; i++)
				if (tot.ins[i] + tot.del[i] + tot.upd[i] == 0)
					pgmm_buf_printf(&out, "  %s: identical\n", a->nodes[i].name);
				else
					pgmm_buf_printf(&out, "  %s: %lld row(s) inserted, %lld deleted, %lld updated\n",
					                a->nodes[i].name, tot.ins[i], tot.del[i], tot.upd[i]);
			if (late.len)
				pgmm_buf_printf(&out, "a transaction skipped during the repair changed %s as well: "
				                "run `pgmm repair` for it\n", pgmm_buf_str(&late));
		}
	}
	if (differing)
		*differing = tot.copies + (dry_run ? st.nskipped : 0);
	result = pgmm_buf_take(&out);
	if (result == NULL)
		admin_seterr(a, "out of memory");
done:
	if (frozen)
	{
		pgmm_buf why;

		pgmm_buf_init(&why);
		pgmm_buf_append(&why, pgmm_buf_str(&a->err));
		if (admin_unfreeze(a, pgmm_buf_str(&where)) < 0)
		{
			admin_seterr(a, "%s%s%s could not be unfrozen: %s; writes to it stay refused (PM006) until "
			             "`pgmm recover` succeeds", pgmm_buf_str(&why), ok ? "" : "; and ", pgmm_buf_str(&names),
			             pgmm_buf_str(&a->err));
			free(result);
			result = NULL;
		}
		else if (!ok)
			admin_seterr(a, "%s; %s unfrozen again (copies repaired before the failure stay repaired)",
			             pgmm_buf_str(&why), pgmm_buf_str(&names));
		pgmm_buf_free(&why);
	}
	PQclear(r);
	repair_tbls_free(t, n, a->nnodes);
	free(tot.ins);
	free(tot.del);
	free(tot.upd);
	pgmm_buf_free(&tot.text);
	pgmm_buf_free(&tot.json);
	free(st.errors0);
	free(st.skips);
	for (i = 0; i < st.ntables; i++)
	{
		free(st.tschema[i]);
		free(st.tname[i]);
	}
	free(st.tschema);
	free(st.tname);
	pgmm_buf_free(&st.text);
	pgmm_buf_free(&st.json);
	pgmm_buf_free(&where);
	pgmm_buf_free(&names);
	pgmm_buf_free(&out);
	pgmm_buf_free(&late);
	return result;
}

/* ------------------------------------------------------------ rejoin */

/*
 * pgmm rejoin NODE: a failed (and fenced) master comes back as an active
 * master that owns nothing.
 *
 *  1. Every row of NODE's copies that differs from the live owner's (kind
 *     "extra": the owner lacks the key; "changed": the owner's row differs)
 *     is written to a file, one JSON object a line, before anything is
 *     changed: the rows it accepted after the failover (and any it had
 *     not sent before it died) are on no other master, and are never
 *     dropped silently.
 *  2. Its old subscriptions and slots go; its copies are emptied (one
 *     transaction, session_replication_role = replica) and it subscribes
 *     to every live master WITH copy_data = true: PostgreSQL's table
 *     synchronisation gives a copy consistent with what follows in the
 *     stream, while the owners keep writing.  pgmm waits until every
 *     relation is synchronised.
 *  3. Every live master subscribes to it (it publishes nothing yet).
 *  4. One catalog change among the live masters and NODE: NODE active with
 *     a new allocator slot (its sequence restarted on it), epoch + 1; the
 *     frame's pgmm.sync_local() leaves guards on everything on NODE.
 */

/* The subscription statement of rejoin: as init's, but the publisher's
 * rows are copied first (copy_data = true). */
void
admin_build_rejoin_subscription(pgmm_buf *b, const char *publisher, const char *subscriber,
                                const char *publisher_conninfo, const char *cluster_id,
                                int subscriber_version, int copy_data)
{
	pgmm_buf s;
	const char *p, *q;

	pgmm_buf_init(&s);
	admin_build_subscription(&s, publisher, subscriber, publisher_conninfo, cluster_id, subscriber_version);
	p = pgmm_buf_str(&s);
	/* the option is the last occurrence: the conninfo literal comes before it */
	q = NULL;
	if (copy_data)
	{
		const char *x;

		for (x = strstr(p, "copy_data = false"); x; x = strstr(x + 1, "copy_data = false"))
			q = x;
	}
	if (q)
	{
		pgmm_buf_append_len(b, p, (size_t) (q - p));
		pgmm_buf_append(b, "copy_data = true");
		pgmm_buf_append(b, q + strlen("copy_data = false"));
	}
	else
		pgmm_buf_append(b, p);
	pgmm_buf_free(&s);
}

/* Move failed master j back into the node set, at its place in name order;
 * its index there. */
static int
readmit(PGMMadmin *a, int j)
{
	admin_failed_node f = a->failed[j];
	pgmm_node *nn;
	int v = 0;

	nn = realloc(a->nodes, (size_t) (a->nnodes + 1) * sizeof *a->nodes);
	if (nn == NULL)
		return -1;
	a->nodes = nn;
	while (v < a->nnodes && strcmp(a->nodes[v].name, f.node.name) < 0)
		v++;
	memmove(&a->nodes[v + 1], &a->nodes[v], (size_t) (a->nnodes - v) * sizeof *a->nodes);
	a->nodes[v] = f.node;
	a->nnodes++;
	if (a->home >= v)
		a->home++;
	free(f.note);
	memmove(&a->failed[j], &a->failed[j + 1], (size_t) (a->nfailed - j - 1) * sizeof *a->failed);
	a->nfailed--;
	return v;
}

typedef struct rejoin_rows
{
	FILE       *f;
	const char *table;		/* schema.table */
	const char *relation;	/* schema.relation */
	long long   n;
	int         werr;
} rejoin_rows;

static void
rejoin_row(void *arg, const char *kind, const char *key, const char *row)
{
	rejoin_rows *w = arg;
	pgmm_buf b;

	pgmm_buf_init(&b);
	pgmm_buf_append(&b, "{\"table\": ");
	admin_json_str(&b, w->table);
	pgmm_buf_append(&b, ", \"relation\": ");
	admin_json_str(&b, w->relation);
	pgmm_buf_append(&b, ", \"kind\": ");
	admin_json_str(&b, kind);
	pgmm_buf_append(&b, ", \"key\": ");
	admin_json_str(&b, key);
	pgmm_buf_append(&b, ", \"row\": ");
	admin_json_str(&b, row);
	pgmm_buf_append(&b, "}\n");
	if (!pgmm_buf_ok(&b) || fputs(pgmm_buf_str(&b), w->f) == EOF)
		w->werr = 1;
	pgmm_buf_free(&b);
	w->n++;
}

/* Every pgmm relation (shard or reference table) with its owner. */
static const char rejoin_rels_sql[] =
	"SELECT t.schema_name, t.table_name, t.table_name, t.owner FROM pgmm.tables t WHERE t.colocation IS NULL "
	"UNION ALL "
	"SELECT t.schema_name, t.table_name, t.table_name || '" PGMM_SHARD_SUFFIX "' || s.remainder, s.owner "
	"FROM pgmm.tables t JOIN pgmm.shards s ON s.colocation = t.colocation ORDER BY 1, 2, 3";

/* Drop every pgmm subscription of master i in this database whose name
 * matches like (detached from its slot first: the slot's master may be
 * gone); 0 / -1. */
static int
drop_subscriptions_like(PGMMadmin *a, int i, const char *like)
{
	const char *vals[1];
	PGresult *r;
	int k, rc = 0;

	vals[0] = like;
	r = admin_query_params(a, i, "SELECT subname::text FROM pg_catalog.pg_subscription WHERE subname LIKE $1 "
	                       "AND subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())",
	                       1, vals);
	if (r == NULL)
		return -1;
	for (k = 0; k < PQntuples(r) && rc == 0; k++)
	{
		static const char *const steps[] = {"ALTER SUBSCRIPTION %s DISABLE",
		                                    "ALTER SUBSCRIPTION %s SET (slot_name = NONE)",
		                                    "DROP SUBSCRIPTION %s"};
		int s;

		for (s = 0; s < 3 && rc == 0; s++)
		{
			pgmm_buf name, sql;

			pgmm_buf_init(&name);
			pgmm_buf_init(&sql);
			pgmm_buf_ident(&name, PQgetvalue(r, k, 0));
			pgmm_buf_printf(&sql, steps[s], pgmm_buf_str(&name));
			rc = admin_run(a, i, pgmm_buf_str(&sql));
			pgmm_buf_free(&name);
			pgmm_buf_free(&sql);
		}
	}
	PQclear(r);
	return rc;
}

/* Drop slot `slot` on master i if it is there (ending a walsender that
 * still holds it); 0 / -1. */
static int
drop_slot(PGMMadmin *a, int i, const char *slot)
{
	const char *vals[1];
	long long start = admin_now_ms();

	vals[0] = slot;
	for (;;)
	{
		PGresult *r;

		PQclear(PQexecParams(a->nodes[i].conn, "SELECT pg_catalog.pg_terminate_backend(active_pid) FROM "
		                     "pg_catalog.pg_replication_slots WHERE slot_name = $1 AND active", 1, NULL, vals, NULL,
		                     NULL, 0));
		r = PQexecParams(a->nodes[i].conn, "SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM "
		                 "pg_catalog.pg_replication_slots WHERE slot_name = $1", 1, NULL, vals, NULL, NULL, 0);
		if (r && PQresultStatus(r) == PGRES_TUPLES_OK)
		{
			PQclear(r);
			return 0;
		}
		if (admin_now_ms() - start > 10000)
		{
			pgmm_buf_printf(&a->err, "master %s: cannot drop replication slot %s: ", a->nodes[i].name, slot);
			pgmm_buf_append_pqerror(&a->err, r, a->nodes[i].conn);
			PQclear(r);
			return -1;
		}
		PQclear(r);
		admin_sleep_ms(200);
	}
}

typedef struct rejoin_args
{
	const char *node;
	int         v;
	int         slot;
	long long   seq_start;
	long long   stride;
} rejoin_args;

static int
rejoin_body(PGMMadmin *a, void *arg)
{
	rejoin_args *r = arg;
	pgmm_buf sql;
	int rc;

	pgmm_buf_init(&sql);
	pgmm_buf_printf(&sql, "UPDATE pgmm.nodes SET state = 'active', failed_epoch = NULL, failed_lsn = NULL, slot = %d "
	                "WHERE name = ", r->slot);
	pgmm_buf_literal(&sql, r->node);
	pgmm_buf_printf(&sql, "; UPDATE pgmm.cluster SET next_slot = %d", r->slot + 1);
	rc = admin_run_all(a, pgmm_buf_str(&sql));
	if (rc == 0)
	{
		/* its IDs from now on: the new slot's (ALTER SEQUENCE is transactional) */
		pgmm_buf_reset(&sql);
		pgmm_buf_printf(&sql, "ALTER SEQUENCE pgmm.id_seq INCREMENT BY %lld START WITH %d RESTART WITH %lld",
		                r->stride, r->slot, r->seq_start);
		rc = admin_run(a, r->v, pgmm_buf_str(&sql));
	}
	pgmm_buf_free(&sql);
	return rc;
}

/* How long rejoin waits for its table synchronisation. */
#define REJOIN_SYNC_WAIT_MS 300000

char *
pgmm_admin_rejoin(PGMMadmin *a, const char *node, const char *rows_file)
{
	rejoin_rows w;
	rejoin_args ra;
	PGresult *rels = NULL, *cat = NULL, *r;
	pgmm_buf file, like, out, sql;
	char *cluster_id = NULL, *result = NULL;
	char **pubconn = NULL;
	int j, v = -1, i, k, nsub = 0, old_slot, npub = 0;
	long long start, diverged_rels = 0, epoch = 0;

	if (a == NULL || !a->ok)
		return NULL;
	pgmm_buf_reset(&a->err);
	memset(&w, 0, sizeof w);
	pgmm_buf_init(&file);
	pgmm_buf_init(&like);
	pgmm_buf_init(&out);
	pgmm_buf_init(&sql);
	if (node == NULL || admin_node_index(a, node) >= 0)
	{
		admin_seterr(a, "master %s never failed (it is active): there is nothing to rejoin; nothing was changed",
		             node ? node : "(null)");
		goto done;
	}
	j = admin_failed_index(a, node);
	if (j < 0)
	{
		admin_seterr(a, "there is no master called \"%.64s\" in the catalog; nothing was changed", node);
		goto done;
	}
	if (!admin_require_all(a))
		goto done;
	/* fence it now (again): its catalog the live one, guards everywhere,
	 * subscriptions disabled */
	admin_fence_failed(a);
	j = admin_failed_index(a, node);
	if (a->failed[j].fence != ADMIN_FENCE_DONE || a->failed[j].node.conn == NULL)
	{
		admin_seterr(a, "master %s %s: start it (and make it reachable) first; nothing was changed", node,
		             a->failed[j].fence == ADMIN_FENCE_UNREACHABLE ? "is unreachable" : "could not be fenced");
		if (a->failed[j].note)
			pgmm_buf_printf(&a->err, " (%s)", a->failed[j].note);
		goto done;
	}
	cat = admin_query(a, a->home, "SELECT cluster_id, stride, next_slot, epoch FROM pgmm.cluster", PGRES_TUPLES_OK);
	if (cat == NULL)
		goto done;
	cluster_id = strdup(PQgetvalue(cat, 0, 0));
	ra.stride = atoll(PQgetvalue(cat, 0, 1));
	ra.slot = atoi(PQgetvalue(cat, 0, 2));
	epoch = atoll(PQgetvalue(cat, 0, 3));
	if (cluster_id == NULL)
	{
		admin_seterr(a, "out of memory");
		goto done;
	}
	if (ra.slot > ra.stride)
	{
		admin_seterr(a, "no allocator slot is left for master %s: slots 1..%lld (the stride) are all used or "
		             "retired; nothing was changed", node, ra.stride);
		goto done;
	}
	old_slot = a->failed[j].node.slot;
	ra.node = node;
	v = readmit(a, j);
	if (v < 0)
	{
		admin_seterr(a, "out of memory");
		goto done;
	}
	ra.v = v;

	/* 1. Its rows that differ from the live owners', to the file. */
	if (rows_file && *rows_file)
		pgmm_buf_append(&file, rows_file);
	else
	{
		time_t now = time(NULL);
		struct tm tm;
		char stamp[32];

		gmtime_r(&now, &tm);
		strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
		pgmm_buf_printf(&file, "pgmm-rejoin-%s-epoch%lld-%s.jsonl", node, epoch, stamp);
	}
	/* never over an existing file: it may hold an earlier attempt's rows */
	w.f = fopen(pgmm_buf_str(&file), "wx");
	if (w.f == NULL)
	{
		admin_seterr(a, "cannot create %s: %s%s; nothing was changed", pgmm_buf_str(&file), strerror(errno),
		             errno == EEXIST ? " (it may hold the rows of an earlier rejoin: give another file)" : "");
		goto done;
	}
	rels = admin_query(a, a->home, rejoin_rels_sql, PGRES_TUPLES_OK);
	if (rels == NULL)
		goto done;
	for (k = 0; k < PQntuples(rels); k++)
	{
		const char *schema = PQgetvalue(rels, k, 0), *rel = PQgetvalue(rels, k, 2);
		int o = admin_node_index(a, PQgetvalue(rels, k, 3));
		pgmm_buf tq, rq;
		admin_diff d;
		long long before = w.n;
		int rc;

		if (o < 0 || o == v)
		{
			admin_seterr(a, "%s.%s: its owner %s is not a live master; nothing was changed", schema, rel,
			             PQgetvalue(rels, k, 3));
			goto done;
		}
		pgmm_buf_init(&tq);
		pgmm_buf_init(&rq);
		pgmm_buf_printf(&tq, "%s.%s", schema, PQgetvalue(rels, k, 1));
		pgmm_buf_printf(&rq, "%s.%s", schema, rel);
		w.table = pgmm_buf_str(&tq);
		w.relation = pgmm_buf_str(&rq);
		admin_diff_init(&d);
		rc = admin_equalize_rows(a, o, v, schema, rel, 1, &d, rejoin_row, &w);
		if (rc == 0 && w.n > before)
		{
			diverged_rels++;
			admin_notice(a, "%s on %s: %lld row(s) differ from its owner %s's (%lld extra, %lld changed, %lld missing)",
			             pgmm_buf_str(&rq), node, w.n - before, PQgetvalue(rels, k, 3), d.extra, d.changed, d.missing);
		}
		admin_diff_free(&d);
		pgmm_buf_free(&tq);
		pgmm_buf_free(&rq);
		if (rc < 0)
		{
			pgmm_buf_printf(&a->err, " (comparing %s's copy of %s.%s with its owner's); nothing was changed (a table "
			                "created or altered while %s was failed must first get the same definition there)",
			                node, schema, rel, node);
			goto done;
		}
	}
	if (w.werr || fflush(w.f) != 0 || fsync(fileno(w.f)) != 0)
	{
		admin_seterr(a, "cannot write %s: %s; nothing was changed", pgmm_buf_str(&file), strerror(errno));
		goto done;
	}
	admin_notice(a, "%lld row(s) of %s that are on no live master (or differ there) written to %s", w.n, node,
	             pgmm_buf_str(&file));

	/* 2. Its old replication objects go: its subscriptions, the slots it
	 * kept for the others, the survivors' subscriptions from it and slots
	 * for it (failover and fencing dropped most already). */
	pgmm_buf_append(&like, "pgmm\\_%");
	if (drop_subscriptions_like(a, v, pgmm_buf_str(&like)) < 0)
		goto failed;
	for (i = 0; i < a->nnodes; i++)
	{
		if (i == v)
			continue;
		pgmm_buf_reset(&sql);
		pgmm_buf_printf(&sql, "pgmm_%.8s_%s__%s", cluster_id, node, a->nodes[i].name);
		if (drop_slot(a, v, pgmm_buf_str(&sql)) < 0)
			goto failed;
		pgmm_buf_reset(&sql);
		pgmm_buf_printf(&sql, "pgmm_%.8s_%s__%s", cluster_id, a->nodes[i].name, node);
		if (drop_slot(a, i, pgmm_buf_str(&sql)) < 0)
			goto failed;
		pgmm_buf_reset(&like);
		admin_build_sub_name(&like, node, a->nodes[i].name);
		if (drop_subscriptions_like(a, i, pgmm_buf_str(&like)) < 0)
			goto failed;
	}

	/* Its copies emptied, in one transaction, nothing firing. */
	pgmm_buf_reset(&sql);
	pgmm_buf_append(&sql, "BEGIN; SET LOCAL session_replication_role = replica; ");
	for (k = 0; k < PQntuples(rels); k++)
	{
		pgmm_buf_append(&sql, "DELETE FROM ONLY ");
		pgmm_buf_ident(&sql, PQgetvalue(rels, k, 0));
		pgmm_buf_append(&sql, ".");
		pgmm_buf_ident(&sql, PQgetvalue(rels, k, 2));
		pgmm_buf_append(&sql, "; ");
	}
	pgmm_buf_append(&sql, "COMMIT");
	if (!pgmm_buf_ok(&sql))
	{
		admin_seterr(a, "out of memory");
		goto failed;
	}
	if (admin_run(a, v, pgmm_buf_str(&sql)) < 0)
	{
		eq_rollback(a, v);
		goto failed;
	}
	admin_notice(a, "%s: its copies of %d relation(s) emptied", node, PQntuples(rels));

	/* The publishers' conninfos: the catalog's, with the -d string's keys. */
	r = admin_query(a, a->home, "SELECT name, conninfo FROM pgmm.nodes ORDER BY name", PGRES_TUPLES_OK);
	if (r == NULL)
		goto failed;
	pubconn = calloc((size_t) a->nnodes, sizeof(char *));
	npub = a->nnodes;
	for (k = 0; pubconn && k < PQntuples(r); k++)
	{
		int n = admin_node_index(a, PQgetvalue(r, k, 0));

		if (n >= 0)
			pubconn[n] = pgmm_conninfo_merge(PQgetvalue(r, k, 1), a->home_conninfo, pgmm_conninfo_carry_keys, &a->err);
	}
	PQclear(r);
	for (i = 0; i < a->nnodes; i++)
		if (pubconn == NULL || pubconn[i] == NULL)
		{
			admin_seterr(a, "cannot build master %s's connection string", a->nodes[i].name);
			goto failed;
		}
	/* It subscribes to every live master, copying their rows first. */
	start = admin_now_ms();
	for (i = 0; i < a->nnodes; i++)
	{
		if (i == v)
			continue;
		pgmm_buf_reset(&sql);
		admin_build_rejoin_subscription(&sql, a->nodes[i].name, node, pubconn[i], cluster_id,
		                                a->nodes[v].server_version, 1);
		/* PostgreSQL 16+ warns that copy_data with origin = none might copy
		 * rows of another origin: the owners' copies are what it wants */
		if (admin_run(a, v, "SET client_min_messages = error") < 0 || admin_run(a, v, pgmm_buf_str(&sql)) < 0 ||
		    admin_run(a, v, "SET client_min_messages = warning") < 0)
			goto failed;
		nsub++;
	}
	/* ... and waits until every relation is synchronised ('r'). */
	for (;;)
	{
		{
			const char *vals[1];

			vals[0] = "pgmm\\_%";
			r = admin_query_params(a, v, "SELECT count(*) FILTER (WHERE sr.srsubstate <> 'r'), count(*), "
			                       "string_agg(DISTINCT sr.srrelid::regclass::text, ', ') FILTER (WHERE sr.srsubstate <> 'r') "
			                       "FROM pg_catalog.pg_subscription s JOIN pg_catalog.pg_subscription_rel sr "
			                       "ON sr.srsubid = s.oid WHERE s.subname LIKE $1 AND s.subdbid = (SELECT oid FROM "
			                       "pg_catalog.pg_database WHERE datname = current_database())", 1, vals);
		}
		if (r == NULL)
			goto failed;
		if (atoll(PQgetvalue(r, 0, 0)) == 0)
		{
			admin_notice(a, "%s: %s relation(s) copied from their owners and in sync (%lld ms)", node,
			             PQgetvalue(r, 0, 1), admin_now_ms() - start);
			PQclear(r);
			break;
		}
		if (admin_now_ms() - start > REJOIN_SYNC_WAIT_MS)
		{
			admin_seterr(a, "master %s: relations still not synchronised after %d s: %s", node,
			             REJOIN_SYNC_WAIT_MS / 1000, PQgetvalue(r, 0, 2));
			PQclear(r);
			goto failed;
		}
		PQclear(r);
		admin_sleep_ms(100);
	}

	/* 3. Every live master subscribes to it (it publishes nothing yet). */
	for (i = 0; i < a->nnodes; i++)
	{
		if (i == v)
			continue;
		pgmm_buf_reset(&sql);
		admin_build_subscription(&sql, node, a->nodes[i].name, pubconn[v], cluster_id, a->nodes[i].server_version);
		if (admin_run(a, i, pgmm_buf_str(&sql)) < 0)
			goto failed;
	}

	/* 4. Active, a new slot, epoch + 1: one catalog change. */
	{
		PGresult *mx;
		long long maxkey = 0;

		/* IDs past every integer key already there (rows written before
		 * distribute may hold any value) */
		mx = admin_query(a, a->home, "SELECT pg_catalog.format('%I.%I', schema_name, table_name), "
		                 "pg_catalog.quote_ident(key_column) FROM pgmm.tables "
		                 "WHERE key_type IN ('int2', 'int4', 'int8') ORDER BY 1", PGRES_TUPLES_OK);
		if (mx == NULL)
			goto failed;
		for (k = 0; k < PQntuples(mx); k++)
		{
			pgmm_buf_reset(&sql);
			pgmm_buf_printf(&sql, "SELECT coalesce(max(%s), 0)::bigint FROM %s", PQgetvalue(mx, k, 1),
			                PQgetvalue(mx, k, 0));
			r = admin_query(a, v, pgmm_buf_str(&sql), PGRES_TUPLES_OK);
			if (r == NULL)
			{
				PQclear(mx);
				goto failed;
			}
			if (atoll(PQgetvalue(r, 0, 0)) > maxkey)
				maxkey = atoll(PQgetvalue(r, 0, 0));
			PQclear(r);
		}
		PQclear(mx);
		ra.seq_start = admin_id_seq_floor(maxkey, ra.slot, ra.stride);
		if (ra.seq_start == 0)
			ra.seq_start = ra.slot;
	}
	if (admin_catalog_change(a, rejoin_body, &ra) < 0)
		goto failed;
	a->nodes[v].slot = ra.slot;

	pgmm_buf_printf(&out, "master %s rejoined at epoch %lld: %lld row(s) it holds that are on no live master or "
	                "differ there (in %lld relation(s)) written to %s; its copies now equal the live owners' "
	                "(%d subscription(s) with copy_data, every relation synchronised); allocator slot %d "
	                "(slot %d stays retired); every live master subscribes to it. It owns nothing: writes "
	                "go to it once an ownership change gives it shards or reference tables.\n",
	                node, epoch + 1, w.n, diverged_rels, pgmm_buf_str(&file), nsub, ra.slot, old_slot);
	result = pgmm_buf_take(&out);
	if (result == NULL)
		admin_seterr(a, "out of memory");
	goto done;

failed:
	pgmm_buf_printf(&a->err, "; master %s is still failed (fenced; its rows are in %s); run `pgmm rejoin %s` again",
	                node, pgmm_buf_str(&file), node);
done:
	if (w.f)
		fclose(w.f);
	PQclear(rels);
	PQclear(cat);
	for (i = 0; pubconn && i < npub; i++)
		free(pubconn[i]);
	free(pubconn);
	free(cluster_id);
	pgmm_buf_free(&file);
	pgmm_buf_free(&like);
	pgmm_buf_free(&out);
	pgmm_buf_free(&sql);
	return result;
}
