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
	pgmm_buf_reset(&sql);
	pgmm_buf_append(&sql, "ALTER SUBSCRIPTION ");
	pgmm_buf_ident(&sql, name);
	if (found)
	{
		pgmm_buf_append(&sql, " SKIP (lsn = ");
		pgmm_buf_literal(&sql, pgmm_buf_str(&lsn));
		pgmm_buf_append(&sql, "); ALTER SUBSCRIPTION ");
		pgmm_buf_ident(&sql, name);
	}
	pgmm_buf_append(&sql, " ENABLE");
	if (admin_run(a, sub, pgmm_buf_str(&sql)) < 0)
		goto done;
	disabled = 0;
	if (found)
	{
		stall_record(st, a, pub, sub, name, pgmm_buf_str(&xid), pgmm_buf_str(&lsn), pgmm_buf_str(&what), 1);
		admin_notice(a, "master %s: subscription %s from %s was stalled; skipped transaction %s finished at %s (%s)",
		             a->nodes[sub].name, name, a->nodes[pub].name, pgmm_buf_str(&xid), pgmm_buf_str(&lsn),
		             pgmm_buf_str(&what));
	}
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
} repair_tbl;

static const char repair_tables_sql[] =
	"SELECT schema_name, table_name, owner, colocation::text, frozen, frozen_reason FROM pgmm.tables ORDER BY 1, 2";
static const char repair_shards_sql[] =
	"SELECT s.remainder::text, s.owner FROM pgmm.shards s WHERE s.colocation::text = $1 ORDER BY s.remainder";

static void
repair_tbls_free(repair_tbl *t, int n)
{
	int i;

	for (i = 0; t && i < n; i++)
	{
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
	repair_tbls_free(t, n);
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
