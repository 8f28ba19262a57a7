/*
 * check_router.c -- unit tests of the router's pure logic (no server): the
 * map (build, validation, lookups through the search path, shard owners),
 * statement plans and their targets (every routing rule of DESIGN.md given
 * a parsed statement and a map built in memory), the ID pool, and the cost
 * of routing a cached parameterised statement (printed; the bound asserted
 * is loose so that sanitizer builds pass).
 *
 * Owners are cross-checked against tests/data/pg15_hash_vectors.tsv
 * (the remainders PostgreSQL itself chose for modulus 7), looked up in
 * $PGMM_TESTDATA_DIR or the directory compiled in.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include "router_int.h"
#include "conn_int.h"

#ifndef PGMM_TESTDATA_DIR
#define PGMM_TESTDATA_DIR "tests/data"
#endif

/* ---------------------------------------------------------------- fixture */

/*
 * Masters m1, m2, m3 (m1 local).
 *   group 1: int8, 4 shards, owners m1 m2 m3 m1
 *   group 2: text, 7 shards, owner of r = m(r % 3 + 1)
 *   group 3: uuid, 7 shards, same owners as group 2
 *   group 4: int8, 7 shards, same owners
 *   group 5: int4, 2 shards, both owned by m2
 *   public.expedientes (id int8, group 1, key position 1)
 *   public.documentos  (expediente_id int8, group 1, key position 2)
 *   public.names (name text, group 2), public.things (id uuid, group 3)
 *   public.big (k int8, group 4), public.solo (id int4, group 5)
 *   public.estados reference table owned by m2
 *   s1.expedientes (id int8, group 1): shadowed by public in the path
 */
static pgmm_map *
fixture(void)
{
	pgmm_map *m = pgmm_map_new();
	pgmm_buf err;
	const char *path[] = {"pg_catalog", "public", "s1"};
	int r, g;

	pgmm_buf_init(&err);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(pgmm_map_add_node(m, "m1", "host=a", 1, 1, &err), 0);
	ck_assert_int_eq(pgmm_map_add_node(m, "m2", "host=b", 2, 1, &err), 0);
	ck_assert_int_eq(pgmm_map_add_node(m, "m3", "host=c", 3, 1, &err), 0);
	ck_assert_int_eq(pgmm_map_add_coloc(m, 1, "int8", 4, &err), 0);
	ck_assert_int_eq(pgmm_map_set_shard(m, 1, 0, "m1", &err), 0);
	ck_assert_int_eq(pgmm_map_set_shard(m, 1, 1, "m2", &err), 0);
	ck_assert_int_eq(pgmm_map_set_shard(m, 1, 2, "m3", &err), 0);
	ck_assert_int_eq(pgmm_map_set_shard(m, 1, 3, "m1", &err), 0);
	ck_assert_int_eq(pgmm_map_add_coloc(m, 2, "text", 7, &err), 0);
	ck_assert_int_eq(pgmm_map_add_coloc(m, 3, "uuid", 7, &err), 0);
	ck_assert_int_eq(pgmm_map_add_coloc(m, 4, "int8", 7, &err), 0);
	for (g = 2; g <= 4; g++)
		for (r = 0; r < 7; r++)
		{
			char n[4];

			snprintf(n, sizeof n, "m%d", r % 3 + 1);
			ck_assert_int_eq(pgmm_map_set_shard(m, g, r, n, &err), 0);
		}
	ck_assert_int_eq(pgmm_map_add_coloc(m, 5, "int4", 2, &err), 0);
	ck_assert_int_eq(pgmm_map_set_shard(m, 5, 0, "m2", &err), 0);
	ck_assert_int_eq(pgmm_map_set_shard(m, 5, 1, "m2", &err), 0);
	ck_assert_int_eq(pgmm_map_add_table(m, "public", "expedientes", "distributed", "id", "int8", -1, 1, 1, NULL, &err), 0);
	ck_assert_int_eq(pgmm_map_add_table(m, "public", "documentos", "distributed", "expediente_id", "int8", -1, 2, 1, NULL, &err), 0);
	ck_assert_int_eq(pgmm_map_add_table(m, "public", "names", "distributed", "name", "text", -1, 1, 2, NULL, &err), 0);
	ck_assert_int_eq(pgmm_map_add_table(m, "public", "things", "distributed", "id", "uuid", -1, 1, 3, NULL, &err), 0);
	ck_assert_int_eq(pgmm_map_add_table(m, "public", "big", "distributed", "k", "int8", -1, 1, 4, NULL, &err), 0);
	ck_assert_int_eq(pgmm_map_add_table(m, "public", "solo", "distributed", "id", "int4", -1, 1, 5, NULL, &err), 0);
	ck_assert_int_eq(pgmm_map_add_table(m, "public", "estados", "reference", NULL, NULL, -1, 0, -1, "m2", &err), 0);
	ck_assert_int_eq(pgmm_map_add_table(m, "s1", "expedientes", "distributed", "id", "int8", -1, 1, 1, NULL, &err), 0);
	ck_assert_int_eq(pgmm_map_set_search_path(m, path, 3, &err), 0);
	ck_assert_msg(pgmm_map_finish(m, 7, 10, "m1", &err) == 0, "%s", pgmm_buf_str(&err));
	pgmm_buf_free(&err);
	return m;
}

static int
node(const pgmm_map *m, const char *name)
{
	return pgmm_map_node_index(m, name);
}

/* Owner of int8 key k in group 1 (S=4): DESIGN.md's vector for 1..12. */
static const int rem4[13] = {-1, 0, 2, 1, 3, 1, 3, 3, 1, 1, 3, 1, 0};
static const char *const owner4[4] = {"m1", "m2", "m3", "m1"};

static pgmm_plan *
plan(const pgmm_map *m, const char *sql)
{
	pgmm_buf err;
	pgmm_plan *p;

	pgmm_buf_init(&err);
	p = pgmm_plan_build(m, sql, strlen(sql), &err);
	ck_assert_msg(p != NULL, "plan of %s: %s", sql, pgmm_buf_str(&err));
	pgmm_buf_free(&err);
	return p;
}

/* Target of sql with text parameters (NULL-terminated list). */
static pgmm_target
target(const pgmm_map *m, const char *sql, const char *const *vals, int n)
{
	pgmm_plan *p = plan(m, sql);
	pgmm_params pp;
	pgmm_target t;

	memset(&pp, 0, sizeof pp);
	pp.n = n;
	pp.values = vals;
	ck_assert_msg(p->route == PGMM_ROUTE_READ || p->route == PGMM_ROUTE_WRITE, "%s: route %d", sql, p->route);
	pgmm_plan_target(m, p, &pp, &t);
	pgmm_plan_free(p);
	return t;
}

/* ---------------------------------------------------------------- map */

START_TEST(test_map_lookups)
{
	pgmm_map *m = fixture();
	int t;

	ck_assert_int_eq(m->local, node(m, "m1"));
	ck_assert_int_eq(m->epoch, 7);
	t = pgmm_map_find_table(m, NULL, "expedientes");
	ck_assert_int_ge(t, 0);
	ck_assert_str_eq(m->tables[t].schema, "public");	/* public before s1 */
	t = pgmm_map_find_table(m, "s1", "expedientes");
	ck_assert_int_ge(t, 0);
	ck_assert_str_eq(m->tables[t].schema, "s1");
	ck_assert_int_eq(pgmm_map_find_table(m, NULL, "nosuch"), -1);
	ck_assert_int_eq(pgmm_map_find_table(m, "s1", "estados"), -1);
	ck_assert_int_eq(pgmm_map_find_table(m, NULL, NULL), -1);
	ck_assert_int_eq(pgmm_map_find_table(NULL, NULL, "x"), -1);
	/* Distinct owners of each group, ascending. */
	ck_assert_int_eq(m->colocs[0].nowners, 3);
	ck_assert_int_eq(m->colocs[4].nowners, 1);
	ck_assert_int_eq(m->colocs[4].owners[0], node(m, "m2"));
	ck_assert_int_eq(pgmm_map_node_index(m, "m3"), 2);
	ck_assert_int_eq(pgmm_map_node_index(m, "m9"), -1);
	pgmm_map_free(m);
}
END_TEST

START_TEST(test_map_search_path_change)
{
	pgmm_map *m = fixture();
	const char *path[] = {"s1", "public"};
	pgmm_buf err;
	int t;

	pgmm_buf_init(&err);
	ck_assert_int_eq(pgmm_map_set_search_path(m, path, 2, &err), 0);
	t = pgmm_map_find_table(m, NULL, "expedientes");
	ck_assert_str_eq(m->tables[t].schema, "s1");
	ck_assert_int_eq(pgmm_map_set_search_path(m, NULL, 0, &err), 0);
	ck_assert_int_eq(pgmm_map_find_table(m, NULL, "expedientes"), -1);
	pgmm_buf_free(&err);
	pgmm_map_free(m);
}
END_TEST

/* Every validation rule refuses a broken map with a message. */
START_TEST(test_map_validation)
{
	pgmm_buf err;
	pgmm_map *m;

	pgmm_buf_init(&err);
	/* A shard without owner (a gap). */
	m = pgmm_map_new();
	ck_assert_int_eq(pgmm_map_add_node(m, "m1", "", 1, 1, &err), 0);
	ck_assert_int_eq(pgmm_map_add_coloc(m, 1, "int4", 2, &err), 0);
	ck_assert_int_eq(pgmm_map_set_shard(m, 1, 0, "m1", &err), 0);
	ck_assert_int_eq(pgmm_map_finish(m, 1, 10, "m1", &err), -1);
	ck_assert_ptr_nonnull(strstr(pgmm_buf_str(&err), "has no owner"));
	pgmm_map_free(m);
	/* Overlap, unknown master, out-of-range remainder, unknown group. */
	pgmm_buf_reset(&err);
	m = pgmm_map_new();
	ck_assert_int_eq(pgmm_map_add_node(m, "m1", "", 1, 1, &err), 0);
	ck_assert_int_eq(pgmm_map_add_node(m, "m1", "", 2, 1, &err), -1);
	ck_assert_int_eq(pgmm_map_add_coloc(m, 1, "int4", 2, &err), 0);
	ck_assert_int_eq(pgmm_map_add_coloc(m, 1, "int4", 2, &err), -1);
	ck_assert_int_eq(pgmm_map_add_coloc(m, 2, "point", 2, &err), -1);
	ck_assert_int_eq(pgmm_map_add_coloc(m, 3, "int4", 0, &err), -1);
	ck_assert_int_eq(pgmm_map_set_shard(m, 1, 0, "m1", &err), 0);
	ck_assert_int_eq(pgmm_map_set_shard(m, 1, 0, "m1", &err), -1);
	ck_assert_int_eq(pgmm_map_set_shard(m, 1, 1, "m7", &err), -1);
	ck_assert_int_eq(pgmm_map_set_shard(m, 1, 2, "m1", &err), -1);
	ck_assert_int_eq(pgmm_map_set_shard(m, 9, 0, "m1", &err), -1);
	ck_assert_int_eq(pgmm_map_set_shard(m, 1, 1, "m1", &err), 0);
	ck_assert_int_eq(pgmm_map_add_table(m, "public", "t", "weird", NULL, NULL, -1, 0, -1, NULL, &err), -1);
	ck_assert_int_eq(pgmm_map_add_table(m, "public", "t", "distributed", "id", "int8", -1, 1, 1, NULL, &err), 0);
	/* int8 table in an int4 group. */
	ck_assert_int_eq(pgmm_map_finish(m, 1, 10, "m1", &err), -1);
	ck_assert_ptr_nonnull(strstr(pgmm_buf_str(&err), "key type"));
	pgmm_map_free(m);
	/* Reference owner unknown; local master unknown; no masters. */
	pgmm_buf_reset(&err);
	m = pgmm_map_new();
	ck_assert_int_eq(pgmm_map_add_node(m, "m1", "", 1, 1, &err), 0);
	ck_assert_int_eq(pgmm_map_add_table(m, "public", "r", "reference", NULL, NULL, -1, 0, -1, "m5", &err), 0);
	ck_assert_int_eq(pgmm_map_finish(m, 1, 10, "m1", &err), -1);
	ck_assert_ptr_nonnull(strstr(pgmm_buf_str(&err), "unknown master"));
	pgmm_map_free(m);
	pgmm_buf_reset(&err);
	m = pgmm_map_new();
	ck_assert_int_eq(pgmm_map_add_node(m, "m1", "", 1, 1, &err), 0);
	ck_assert_int_eq(pgmm_map_finish(m, 1, 10, "m4", &err), -1);
	pgmm_map_free(m);
	m = pgmm_map_new();
	ck_assert_int_eq(pgmm_map_finish(m, 1, 10, "m1", &err), -1);
	pgmm_map_free(m);
	/* Table naming an unknown group; a table listed twice. */
	pgmm_buf_reset(&err);
	m = pgmm_map_new();
	ck_assert_int_eq(pgmm_map_add_node(m, "m1", "", 1, 1, &err), 0);
	ck_assert_int_eq(pgmm_map_add_table(m, "public", "t", "distributed", "id", "int8", -1, 1, 4, NULL, &err), 0);
	ck_assert_int_eq(pgmm_map_finish(m, 1, 10, "m1", &err), -1);
	pgmm_map_free(m);
	m = pgmm_map_new();
	ck_assert_int_eq(pgmm_map_add_node(m, "m1", "", 1, 1, &err), 0);
	ck_assert_int_eq(pgmm_map_add_table(m, "public", "r", "reference", NULL, NULL, -1, 0, -1, "m1", &err), 0);
	ck_assert_int_eq(pgmm_map_add_table(m, "public", "r", "reference", NULL, NULL, -1, 0, -1, "m1", &err), 0);
	ck_assert_int_eq(pgmm_map_finish(m, 1, 10, "m1", &err), -1);
	ck_assert_ptr_nonnull(strstr(pgmm_buf_str(&err), "twice"));
	pgmm_map_free(m);
	pgmm_buf_free(&err);
	pgmm_map_free(NULL);
}
END_TEST

/* A map from a catalog-shaped PGresult (the client side of the one
 * round trip), made with libpq's result-building calls. */
START_TEST(test_map_from_result)
{
	static const char *const rows[][10] = {
		{"c", "42", "10", "m2", NULL, NULL, NULL, NULL, NULL, NULL},
		{"n", "m1", "host=a port=1", "1", "active", NULL, NULL, NULL, NULL, NULL},
		{"n", "m2", "host=b port=2", "2", "active", NULL, NULL, NULL, NULL, NULL},
		{"g", "1", "int4", "2", NULL, NULL, NULL, NULL, NULL, NULL},
		{"s", "1", "0", "m1", NULL, NULL, NULL, NULL, NULL, NULL},
		{"s", "1", "1", "m2", NULL, NULL, NULL, NULL, NULL, NULL},
		{"t", "public", "t", "distributed", "id", "int4", "1", "1", NULL, "-1"},
		{"t", "public", "r", "reference", NULL, NULL, NULL, NULL, "m1", NULL},
		{"p", "public", "2", NULL, NULL, NULL, NULL, NULL, NULL, NULL},
		{"p", "pg_catalog", "1", NULL, NULL, NULL, NULL, NULL, NULL, NULL},
	};
	PGresAttDesc attrs[10];
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	pgmm_buf err;
	pgmm_map *m;
	int i, f;

	memset(attrs, 0, sizeof attrs);
	for (i = 0; i < 10; i++)
	{
		attrs[i].name = (char *) "x";
		attrs[i].typid = 25;
		attrs[i].typlen = -1;
		attrs[i].atttypmod = -1;
	}
	ck_assert(PQsetResultAttrs(res, 10, attrs));
	for (i = 0; i < (int) (sizeof rows / sizeof rows[0]); i++)
		for (f = 0; f < 10; f++)
			ck_assert(PQsetvalue(res, i, f, (char *) rows[i][f], rows[i][f] ? (int) strlen(rows[i][f]) : -1));
	pgmm_buf_init(&err);
	m = pgmm_map_from_result(res, &err);
	ck_assert_msg(m != NULL, "%s", pgmm_buf_str(&err));
	ck_assert_int_eq(m->epoch, 42);
	ck_assert_int_eq(m->stride, 10);
	ck_assert_str_eq(m->local_name, "m2");
	ck_assert_int_eq(m->nnodes, 2);
	ck_assert_int_eq(m->npath, 2);
	ck_assert_str_eq(m->search_path[0], "pg_catalog");
	ck_assert_int_ge(pgmm_map_find_table(m, NULL, "t"), 0);
	ck_assert_int_eq(m->tables[pgmm_map_find_table(m, NULL, "r")].owner, 0);
	pgmm_map_free(m);
	/* Two cluster rows: refused. */
	ck_assert(PQsetvalue(res, 10, 0, (char *) "c", 1));
	ck_assert(PQsetvalue(res, 10, 1, (char *) "43", 2));
	ck_assert_ptr_null(pgmm_map_from_result(res, &err));
	ck_assert_ptr_null(pgmm_map_from_result(NULL, &err));
	PQclear(res);
	pgmm_buf_free(&err);
}
END_TEST

/* ---------------------------------------------------------------- owners */

START_TEST(test_owner_vectors_s4)
{
	pgmm_map *m = fixture();
	const pgmm_map_table *t = &m->tables[pgmm_map_find_table(m, NULL, "expedientes")];
	char err[200];
	int k;

	for (k = 1; k <= 12; k++)
	{
		char key[8];
		int o;

		snprintf(key, sizeof key, "%d", k);
		o = pgmm_key_owner_text(m, t, key, strlen(key), err, sizeof err);
		ck_assert_int_eq(o, node(m, owner4[rem4[k]]));
		ck_assert_int_eq(pgmm_id_owner(m, t, k), o);
	}
	ck_assert_int_eq(pgmm_key_owner_text(m, t, "abc", 3, err, sizeof err), PGMM_HASH_ESYNTAX);
	ck_assert_ptr_nonnull(strstr(err, "invalid input syntax"));
	/* NULL key: remainder 0. */
	ck_assert_int_eq(pgmm_key_owner_text(m, t, NULL, 0, err, sizeof err), node(m, "m1"));
	/* Reference table: its owner. */
	t = &m->tables[pgmm_map_find_table(m, NULL, "estados")];
	ck_assert_int_eq(pgmm_key_owner_text(m, t, "x", 1, err, sizeof err), node(m, "m2"));
	pgmm_map_free(m);
}
END_TEST

/* Literal keys in INSERT, text and binary params, for int8/text/uuid keys,
 * all against the remainders PostgreSQL chose (modulus 7). */
START_TEST(test_owner_vectors_pg)
{
	pgmm_map *m = fixture();
	char path[1024], line[4096];
	FILE *f;
	const char *dir = getenv("PGMM_TESTDATA_DIR");
	int checked = 0;

	snprintf(path, sizeof path, "%s/pg15_hash_vectors.tsv", dir && *dir ? dir : PGMM_TESTDATA_DIR);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (fgets(line, sizeof line, f))
	{
		char *type, *key, *hash, *r64, *r7, *save = NULL;
		const char *table;
		pgmm_buf sql;
		pgmm_target t;
		int want, k;
		size_t n = strlen(line);

		if (line[0] == '#')
			continue;
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		type = line;
		key = strchr(type, '\t');
		if (!key)
			continue;
		*key++ = '\0';
		hash = strchr(key, '\t');
		if (!hash)
			continue;
		*hash++ = '\0';
		r64 = strchr(hash, '\t');
		if (!r64)
			continue;
		*r64++ = '\0';
		r7 = strchr(r64, '\t');
		if (!r7)
			continue;
		*r7++ = '\0';
		(void) save;
		if (strcmp(type, "int8") == 0)
			table = "big";
		else if (strcmp(type, "text") == 0)
			table = "names";
		else if (strcmp(type, "uuid") == 0)
			table = "things";
		else
			continue;
		{
			char nm[4];

			snprintf(nm, sizeof nm, "m%d", atoi(r7) % 3 + 1);
			want = node(m, nm);
		}
		/* Literal (quotes doubled). */
		pgmm_buf_init(&sql);
		pgmm_buf_printf(&sql, "INSERT INTO %s VALUES (", table);
		pgmm_buf_literal(&sql, key);
		pgmm_buf_append(&sql, ", 1)");
		t = target(m, pgmm_buf_str(&sql), NULL, 0);
		ck_assert_msg(t.kind == PGMM_TARGET_NODE && t.node == want, "%s key '%s': kind %d node %d want %d",
		              type, key, t.kind, t.node, want);
		/* Text parameter. */
		pgmm_buf_reset(&sql);
		pgmm_buf_printf(&sql, "UPDATE %s SET v = 1 WHERE %s = $1", table, strcmp(table, "names") == 0 ? "name" :
		                strcmp(table, "big") == 0 ? "k" : "id");
		{
			const char *vals[1] = {key};

			t = target(m, pgmm_buf_str(&sql), vals, 1);
			ck_assert_msg(t.kind == PGMM_TARGET_NODE && t.node == want, "param %s '%s'", type, key);
		}
		/* Binary parameter (int8). */
		if (strcmp(type, "int8") == 0)
		{
			long long v = strtoll(key, NULL, 10);
			unsigned char be[8];
			const char *vals[1] = {(const char *) be};
			int lens[1] = {8}, fmts[1] = {1};
			Oid types[1] = {20};
			pgmm_plan *p = plan(m, "DELETE FROM big WHERE k = $1");
			pgmm_params pp;

			for (k = 0; k < 8; k++)
				be[k] = (unsigned char) ((unsigned long long) v >> (56 - 8 * k));
			memset(&pp, 0, sizeof pp);
			pp.n = 1;
			pp.ntypes = 1;
			pp.types = types;
			pp.values = vals;
			pp.lengths = lens;
			pp.formats = fmts;
			pgmm_plan_target(m, p, &pp, &t);
			ck_assert_msg(t.kind == PGMM_TARGET_NODE && t.node == want, "binary int8 %s", key);
			pgmm_plan_free(p);
		}
		pgmm_buf_free(&sql);
		checked++;
	}
	fclose(f);
	ck_assert_int_gt(checked, 3000);
	pgmm_map_free(m);
}
END_TEST

/* ---------------------------------------------------------------- plans */

START_TEST(test_insert_routes)
{
	pgmm_map *m = fixture();
	pgmm_target t;
	const char *v3[] = {"3"}, *v4[] = {"4", "x"}, *vnull[] = {NULL};
	pgmm_plan *p;

	/* Literal key (column list, no column list, multi-row same owner). */
	t = target(m, "INSERT INTO expedientes (id, v) VALUES (1, 'a')", NULL, 0);
	ck_assert_int_eq(t.kind, PGMM_TARGET_NODE);
	ck_assert_int_eq(t.node, node(m, owner4[rem4[1]]));
	t = target(m, "insert into public.expedientes values (2, 'a')", NULL, 0);
	ck_assert_int_eq(t.node, node(m, owner4[rem4[2]]));
	t = target(m, "INSERT INTO expedientes (v, id) VALUES ('a', 4), ('b', 6), ('c', 7)", NULL, 0);
	ck_assert_int_eq(t.kind, PGMM_TARGET_NODE);
	ck_assert_int_eq(t.node, node(m, "m1"));
	/* key_position 2 for documentos without a column list. */
	t = target(m, "INSERT INTO documentos VALUES (100, 3, 'x')", NULL, 0);
	ck_assert_int_eq(t.node, node(m, owner4[rem4[3]]));
	/* Parameters. */
	t = target(m, "INSERT INTO expedientes (id, v) VALUES ($1, 'a')", v3, 1);
	ck_assert_int_eq(t.node, node(m, owner4[rem4[3]]));
	t = target(m, "INSERT INTO expedientes (v, id) VALUES ($2, $1)", v4, 2);
	ck_assert_int_eq(t.node, node(m, owner4[rem4[4]]));
	t = target(m, "INSERT INTO expedientes (id) VALUES ($1::int8)", v3, 1);
	ck_assert_int_eq(t.node, node(m, owner4[rem4[3]]));
	/* NULL parameter and literal: remainder 0. */
	t = target(m, "INSERT INTO expedientes (id) VALUES ($1)", vnull, 1);
	ck_assert_int_eq(t.node, node(m, owner4[0]));
	t = target(m, "INSERT INTO expedientes (id) VALUES (NULL)", NULL, 0);
	ck_assert_int_eq(t.node, node(m, owner4[0]));
	/* Multi-row with different owners: refused, naming both. */
	t = target(m, "INSERT INTO expedientes (id) VALUES (1), (2)", NULL, 0);
	ck_assert_int_eq(t.kind, PGMM_TARGET_ERROR);
	ck_assert_str_eq(t.err.sqlstate, "PM004");
	ck_assert_ptr_nonnull(strstr(t.err.message, "different owners"));
	ck_assert_ptr_nonnull(strstr(t.err.message, "m1"));
	ck_assert_ptr_nonnull(strstr(t.err.message, "m3"));
	/* Without the key: any owner (the DEFAULT picks an owned shard). */
	t = target(m, "INSERT INTO expedientes (v) VALUES ('x')", NULL, 0);
	ck_assert_int_eq(t.kind, PGMM_TARGET_OWNERS);
	ck_assert_int_eq(t.coloc, m->tables[pgmm_map_find_table(m, NULL, "expedientes")].coloc);
	t = target(m, "INSERT INTO expedientes DEFAULT VALUES", NULL, 0);
	ck_assert_int_eq(t.kind, PGMM_TARGET_OWNERS);
	t = target(m, "INSERT INTO expedientes (id, v) VALUES (DEFAULT, 'x'), (DEFAULT, 'y')", NULL, 0);
	ck_assert_int_eq(t.kind, PGMM_TARGET_OWNERS);
	/* DEFAULT rows ride along with known rows. */
	t = target(m, "INSERT INTO expedientes (id) VALUES (DEFAULT), (1)", NULL, 0);
	ck_assert_int_eq(t.kind, PGMM_TARGET_NODE);
	/* A text key without value: its default is unknown. */
	t = target(m, "INSERT INTO names (v) VALUES (1)", NULL, 0);
	ck_assert_int_eq(t.kind, PGMM_TARGET_UNKNOWN);
	/* Expressions and INSERT ... SELECT: unknown (fallback + redirect). */
	t = target(m, "INSERT INTO expedientes (id) VALUES (1 + 1)", NULL, 0);
	ck_assert_int_eq(t.kind, PGMM_TARGET_UNKNOWN);
	t = target(m, "INSERT INTO expedientes (id) SELECT 5", NULL, 0);
	ck_assert_int_eq(t.kind, PGMM_TARGET_UNKNOWN);
	t = target(m, "INSERT INTO expedientes (id) VALUES (1.5)", NULL, 0);
	ck_assert_int_eq(t.kind, PGMM_TARGET_UNKNOWN);
	t = target(m, "INSERT INTO expedientes (id) VALUES ('1'::numeric)", NULL, 0);
	ck_assert_int_eq(t.kind, PGMM_TARGET_UNKNOWN);
	/* Reference table: its owner; unknown table: unknown. */
	t = target(m, "INSERT INTO estados VALUES (1, 'x')", NULL, 0);
	ck_assert_int_eq(t.kind, PGMM_TARGET_NODE);
	ck_assert_int_eq(t.node, node(m, "m2"));
	t = target(m, "INSERT INTO nosuch VALUES (1)", NULL, 0);
	ck_assert_int_eq(t.kind, PGMM_TARGET_UNKNOWN);
	ck_assert_int_eq(t.node, -1);
	/* A literal that is not a valid key: refused before sending. */
	p = plan(m, "INSERT INTO expedientes (id) VALUES ('abc')");
	ck_assert_int_eq(p->route, PGMM_ROUTE_REFUSE);
	ck_assert_str_eq(p->sqlstate, "22P02");
	ck_assert_ptr_nonnull(strstr(p->message, "invalid input syntax"));
	pgmm_plan_free(p);
	p = plan(m, "INSERT INTO solo (id) VALUES (99999999999)");
	ck_assert_int_eq(p->route, PGMM_ROUTE_REFUSE);
	ck_assert_str_eq(p->sqlstate, "22003");
	pgmm_plan_free(p);
	pgmm_map_free(m);
}
END_TEST

START_TEST(test_param_errors)
{
	pgmm_map *m = fixture();
	pgmm_target t;
	const char *bad[] = {"abc"}, *ok[] = {"5"};
	pgmm_plan *p;
	pgmm_params pp;
	Oid numeric[1] = {1700};
	const char *one[] = {"1"};
	int lens[1] = {3}, fmts[1] = {1};

	t = target(m, "INSERT INTO expedientes (id) VALUES ($1)", bad, 1);
	ck_assert_int_eq(t.kind, PGMM_TARGET_ERROR);
	ck_assert_str_eq(t.err.sqlstate, "22P02");
	ck_assert_ptr_nonnull(strstr(t.err.message, "$1"));
	/* Fewer params than referenced: the server will say so. */
	t = target(m, "INSERT INTO expedientes (id) VALUES ($2)", ok, 1);
	ck_assert_int_eq(t.kind, PGMM_TARGET_UNKNOWN);
	/* A text param of a type other than the key's: the server converts. */
	p = plan(m, "INSERT INTO expedientes (id) VALUES ($1)");
	memset(&pp, 0, sizeof pp);
	pp.n = 1;
	pp.ntypes = 1;
	pp.types = numeric;
	pp.values = one;
	pgmm_plan_target(m, p, &pp, &t);
	ck_assert_int_eq(t.kind, PGMM_TARGET_UNKNOWN);
	/* Binary without lengths: libpq refuses it; pgmm does not guess. */
	pp.types = NULL;
	pp.ntypes = 0;
	pp.formats = fmts;
	pgmm_plan_target(m, p, &pp, &t);
	ck_assert_int_eq(t.kind, PGMM_TARGET_UNKNOWN);
	/* Binary of the wrong width: an error. */
	pp.lengths = lens;
	pgmm_plan_target(m, p, &pp, &t);
	ck_assert_int_eq(t.kind, PGMM_TARGET_ERROR);
	pgmm_plan_free(p);
	pgmm_map_free(m);
}
END_TEST

START_TEST(test_update_delete_routes)
{
	pgmm_map *m = fixture();
	pgmm_target t;
	const char *v[] = {"x", "5"};
	pgmm_plan *p;

	t = target(m, "UPDATE expedientes SET v = 'x' WHERE id = 5", NULL, 0);
	ck_assert_int_eq(t.kind, PGMM_TARGET_NODE);
	ck_assert_int_eq(t.node, node(m, owner4[rem4[5]]));
	t = target(m, "UPDATE expedientes e SET v = $1 WHERE e.id = $2 AND v <> 'q'", v, 2);
	ck_assert_int_eq(t.node, node(m, owner4[rem4[5]]));
	t = target(m, "DELETE FROM expedientes WHERE id = $1", v + 1, 1);
	ck_assert_int_eq(t.node, node(m, owner4[rem4[5]]));
	/* Without the key (or under OR): every owner. */
	t = target(m, "UPDATE expedientes SET v = 'x'", NULL, 0);
	ck_assert_int_eq(t.kind, PGMM_TARGET_BROADCAST);
	t = target(m, "DELETE FROM expedientes WHERE v = 'a'", NULL, 0);
	ck_assert_int_eq(t.kind, PGMM_TARGET_BROADCAST);
	t = target(m, "DELETE FROM expedientes WHERE id = 1 OR id = 2", NULL, 0);
	ck_assert_int_eq(t.kind, PGMM_TARGET_BROADCAST);
	t = target(m, "DELETE FROM expedientes WHERE id = 1.5", NULL, 0);
	ck_assert_int_eq(t.kind, PGMM_TARGET_BROADCAST);
	/* Changing the key: refused. */
	p = plan(m, "UPDATE expedientes SET id = 9 WHERE id = 5");
	ck_assert_int_eq(p->route, PGMM_ROUTE_REFUSE);
	ck_assert_str_eq(p->sqlstate, "PM004");
	ck_assert_ptr_nonnull(strstr(p->message, "key column id"));
	pgmm_plan_free(p);
	/* Reference table writes go to its owner, whatever the WHERE. */
	t = target(m, "UPDATE estados SET nombre = 'x' WHERE id = 1", NULL, 0);
	ck_assert_int_eq(t.node, node(m, "m2"));
	t = target(m, "DELETE FROM estados", NULL, 0);
	ck_assert_int_eq(t.node, node(m, "m2"));
	/* The catalog is not written through the router. */
	p = plan(m, "DELETE FROM pgmm.shards");
	ck_assert_int_eq(p->route, PGMM_ROUTE_REFUSE);
	pgmm_plan_free(p);
	pgmm_map_free(m);
}
END_TEST

START_TEST(test_read_routes)
{
	pgmm_map *m = fixture();
	pgmm_target t;
	pgmm_plan *p;

	t = target(m, "SELECT * FROM expedientes WHERE id = 7", NULL, 0);
	ck_assert_int_eq(t.kind, PGMM_TARGET_READ);
	ck_assert_int_eq(t.node, node(m, owner4[rem4[7]]));
	t = target(m, "SELECT * FROM expedientes", NULL, 0);
	ck_assert_int_eq(t.kind, PGMM_TARGET_READ);
	ck_assert_int_eq(t.node, -1);
	t = target(m, "SELECT * FROM estados", NULL, 0);
	ck_assert_int_eq(t.node, node(m, "m2"));
	t = target(m, "SELECT 1", NULL, 0);
	ck_assert_int_eq(t.kind, PGMM_TARGET_READ);
	ck_assert_int_eq(t.node, -1);
	p = plan(m, "SELECT * FROM expedientes WHERE id = 7 FOR UPDATE");
	ck_assert(p->flags & PGMM_PF_LOCKING);
	pgmm_plan_free(p);
	pgmm_map_free(m);
}
END_TEST

START_TEST(test_other_routes)
{
	static const struct
	{
		const char *sql;
		pgmm_route route;
	} cases[] = {
		{"", PGMM_ROUTE_EMPTY},
		{" ; -- nothing", PGMM_ROUTE_EMPTY},
		{"BEGIN", PGMM_ROUTE_BEGIN},
		{"begin isolation level serializable", PGMM_ROUTE_BEGIN},
		{"START TRANSACTION", PGMM_ROUTE_BEGIN},
		{"COMMIT", PGMM_ROUTE_COMMIT},
		{"end", PGMM_ROUTE_COMMIT},
		{"ROLLBACK", PGMM_ROUTE_ROLLBACK},
		{"SAVEPOINT a", PGMM_ROUTE_TXN},
		{"ROLLBACK TO SAVEPOINT a", PGMM_ROUTE_TXN},
		{"RELEASE a", PGMM_ROUTE_TXN},
		{"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", PGMM_ROUTE_TXN},
		{"SET search_path = s1, public", PGMM_ROUTE_SET},
		{"SET LOCAL statement_timeout = 5", PGMM_ROUTE_SET_LOCAL},
		{"RESET ALL", PGMM_ROUTE_SET},
		{"DISCARD ALL", PGMM_ROUTE_SET},
		{"DEALLOCATE ALL", PGMM_ROUTE_SET},
		{"DEALLOCATE x", PGMM_ROUTE_FALLBACK},
		{"PREPARE x AS SELECT 1", PGMM_ROUTE_FALLBACK},
		{"EXECUTE x", PGMM_ROUTE_FALLBACK},
		{"WITH a AS (SELECT 1) SELECT * FROM a", PGMM_ROUTE_FALLBACK},
		{"DO $$ BEGIN END $$", PGMM_ROUTE_FALLBACK},
		{"CALL p()", PGMM_ROUTE_FALLBACK},
		{"SELECT 'unterminated", PGMM_ROUTE_FALLBACK},
		{"CREATE TABLE t (a int)", PGMM_ROUTE_REFUSE},
		{"drop table expedientes", PGMM_ROUTE_REFUSE},
		{"TRUNCATE expedientes", PGMM_ROUTE_REFUSE},
		{"COPY expedientes FROM STDIN", PGMM_ROUTE_REFUSE},
		{"SELECT 1; SELECT 2", PGMM_ROUTE_REFUSE},
		{"BEGIN; INSERT INTO expedientes VALUES (1); COMMIT", PGMM_ROUTE_REFUSE},
	};
	pgmm_map *m = fixture();
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
	{
		pgmm_plan *p = plan(m, cases[i].sql);

		ck_assert_msg(p->route == cases[i].route, "%s: route %d, expected %d", cases[i].sql, p->route,
		              cases[i].route);
		if (p->route == PGMM_ROUTE_REFUSE)
			ck_assert_msg(p->message && strstr(p->message, "pgmm"), "%s: message", cases[i].sql);
		pgmm_plan_free(p);
	}
	pgmm_map_free(m);
}
END_TEST

START_TEST(test_ddl_hint)
{
	pgmm_map *m = fixture();
	pgmm_plan *p = plan(m, "ALTER TABLE expedientes ADD COLUMN x int");

	ck_assert_int_eq(p->route, PGMM_ROUTE_REFUSE);
	ck_assert_str_eq(p->sqlstate, "PM004");
	ck_assert_ptr_nonnull(strstr(p->hint, "pgmm ddl"));
	ck_assert_ptr_nonnull(strstr(p->hint, "pgmm_admin_ddl"));
	pgmm_plan_free(p);
	pgmm_map_free(m);
}
END_TEST

START_TEST(test_session_plans)
{
	pgmm_map *m = fixture();
	pgmm_plan *p;

	p = plan(m, "SET search_path TO s1");
	ck_assert_str_eq(p->set_key, "search_path");
	ck_assert(p->flags & PGMM_PF_SEARCH_PATH);
	pgmm_plan_free(p);
	p = plan(m, "SET SESSION statement_timeout = 10");
	ck_assert_str_eq(p->set_key, "statement_timeout");
	pgmm_plan_free(p);
	p = plan(m, "set time zone 'UTC'");
	ck_assert_str_eq(p->set_key, "timezone");
	pgmm_plan_free(p);
	p = plan(m, "SET SCHEMA 'x'");
	ck_assert_str_eq(p->set_key, "search_path");
	pgmm_plan_free(p);
	p = plan(m, "RESET statement_timeout");
	ck_assert_str_eq(p->set_key, "statement_timeout");
	pgmm_plan_free(p);
	p = plan(m, "SET SESSION AUTHORIZATION bob");
	ck_assert_str_eq(p->set_key, "session_authorization");
	pgmm_plan_free(p);
	p = plan(m, "RESET SESSION AUTHORIZATION");
	ck_assert_str_eq(p->set_key, "session_authorization");
	pgmm_plan_free(p);
	p = plan(m, "RESET ALL");
	ck_assert(p->flags & PGMM_PF_RESET_ALL);
	pgmm_plan_free(p);
	p = plan(m, "DISCARD ALL");
	ck_assert(p->flags & PGMM_PF_DEALLOCATE);
	ck_assert(p->flags & PGMM_PF_RESET_ALL);
	pgmm_plan_free(p);
	pgmm_map_free(m);
}
END_TEST

/* Issue #7 (bug 3): a quoted setting name is the same setting; it must be
 * re-read (search_path) and replayed like the unquoted one. */
START_TEST(test_session_plans_quoted)
{
	pgmm_map *m = fixture();
	pgmm_plan *p;

	p = plan(m, "SET \"search_path\" = s1, public");
	ck_assert_int_eq(p->route, PGMM_ROUTE_SET);
	ck_assert_ptr_nonnull(p->set_key);
	ck_assert_str_eq(p->set_key, "search_path");
	ck_assert(p->flags & PGMM_PF_SEARCH_PATH);
	ck_assert_int_eq(p->sub, PGMM_SUB_SET);
	ck_assert_int_eq(p->to_default, 0);
	pgmm_plan_free(p);
	p = plan(m, "/* x */ set session \"SEARCH_PATH\" to default");
	ck_assert_str_eq(p->set_key, "search_path");
	ck_assert(p->flags & PGMM_PF_SEARCH_PATH);
	ck_assert_int_eq(p->to_default, 1);
	pgmm_plan_free(p);
	p = plan(m, "RESET \"search_path\"");
	ck_assert_str_eq(p->set_key, "search_path");
	ck_assert(p->flags & PGMM_PF_SEARCH_PATH);
	ck_assert_int_eq(p->sub, PGMM_SUB_RESET);
	pgmm_plan_free(p);
	p = plan(m, "SET LOCAL \"search_path\" = s1");
	ck_assert_int_eq(p->route, PGMM_ROUTE_SET_LOCAL);
	pgmm_plan_free(p);
	pgmm_map_free(m);
}
END_TEST

/* Issue #7 (bug 2): COMMIT / ROLLBACK AND CHAIN are ends of a transaction
 * that open the next one, not "other" statements (nor ROLLBACK TO). */
START_TEST(test_chain_plans)
{
	pgmm_map *m = fixture();
	pgmm_plan *p;

	p = plan(m, "COMMIT AND CHAIN");
	ck_assert_int_eq(p->route, PGMM_ROUTE_COMMIT);
	ck_assert_int_eq(p->chain, 1);
	ck_assert_str_eq(p->tag, "COMMIT");
	pgmm_plan_free(p);
	p = plan(m, "rollback work and chain");
	ck_assert_int_eq(p->route, PGMM_ROUTE_ROLLBACK);
	ck_assert_int_eq(p->chain, 1);
	pgmm_plan_free(p);
	p = plan(m, "ROLLBACK AND NO CHAIN");
	ck_assert_int_eq(p->route, PGMM_ROUTE_ROLLBACK);
	ck_assert_int_eq(p->chain, 0);
	pgmm_plan_free(p);
	p = plan(m, "ROLLBACK TO SAVEPOINT a");
	ck_assert_int_eq(p->route, PGMM_ROUTE_TXN);
	ck_assert_int_eq(p->sub, PGMM_SUB_ROLLBACK_TO);
	ck_assert_str_eq(p->tag, "ROLLBACK");
	pgmm_plan_free(p);
	p = plan(m, "LOCK TABLE expedientes");
	ck_assert_int_eq(p->route, PGMM_ROUTE_TXN);
	ck_assert_int_eq(p->sub, PGMM_SUB_LOCK);
	pgmm_plan_free(p);
	p = plan(m, "COPY expedientes FROM STDIN");
	ck_assert_int_eq(p->route, PGMM_ROUTE_REFUSE);
	pgmm_plan_free(p);
	pgmm_map_free(m);
}
END_TEST

/* Issue #7 (bugs 5, 7): every failing call sets the connection's SQLSTATE;
 * an operation starts by clearing the error, then only appends to it.  No
 * server needed: the connections fail before reaching one. */
START_TEST(test_error_sqlstate)
{
	PGMMconn *c;
	int64_t id;

	ck_assert_ptr_null(pgmm_error_sqlstate(NULL));
	c = pgmm_connect("host=127.0.0.1 pgmm_bogus=1");
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(pgmm_status(c), CONNECTION_BAD);
	ck_assert_ptr_nonnull(strstr(pgmm_error_message(c), "pgmm_bogus"));
	ck_assert_str_eq(pgmm_error_sqlstate(c), "22023");
	/* The next call starts afresh: only its own error is left. */
	ck_assert_ptr_null(pgmm_exec(c, "SELECT 1"));
	ck_assert_str_eq(pgmm_error_sqlstate(c), "08003");
	ck_assert_ptr_null(strstr(pgmm_error_message(c), "pgmm_bogus"));
	ck_assert_ptr_nonnull(strstr(pgmm_error_message(c), "not usable"));
	ck_assert_int_eq(pgmm_next_id(c, "t", &id), -1);
	ck_assert_str_eq(pgmm_error_sqlstate(c), "08003");
	/* One line per error, each ended by a line feed. */
	ck_assert_int_eq((int) strlen(pgmm_error_message(c)) - 1,
	                 (int) (strchr(pgmm_error_message(c), '\n') - pgmm_error_message(c)));
	pgmm_finish(c);
	/* Nothing listens on port 1 of the loopback. */
	c = pgmm_connect("host=127.0.0.1 port=1 connect_timeout=2");
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(pgmm_status(c), CONNECTION_BAD);
	ck_assert_str_eq(pgmm_error_sqlstate(c), "08001");
	pgmm_finish(c);
}
END_TEST

/* ---------------------------------------------------------------- choice */

/* The choice for sql with text parameters, given the transaction state. */
static pgmm_choice
choice(const pgmm_map *m, const char *sql, const char *const *vals, int n, int in_txn, int bound, int policy)
{
	pgmm_plan *p = plan(m, sql);
	pgmm_params pp;
	pgmm_target t;
	pgmm_choice_ctx x;
	pgmm_choice ch;

	memset(&pp, 0, sizeof pp);
	pp.n = n;
	pp.values = vals;
	pgmm_plan_target(m, p, &pp, &t);
	x.map = m;
	x.home = m->local;
	x.read_policy = policy;
	x.in_txn = in_txn;
	x.bound = bound;
	pgmm_choose(&x, p, &t, &ch);
	pgmm_plan_free(p);
	return ch;
}

START_TEST(test_choice_outside_txn)
{
	pgmm_map *m = fixture();
	const char *v[1];
	pgmm_choice ch;
	int k;

	for (k = 1; k <= 12; k++)
	{
		char key[8];

		snprintf(key, sizeof key, "%d", k);
		v[0] = key;
		ch = choice(m, "INSERT INTO expedientes (id) VALUES ($1)", v, 1, 0, -1, PGMM_READ_LOCAL);
		ck_assert_int_eq(ch.kind, PGMM_CHOICE_NODE);
		ck_assert_int_eq(ch.node, node(m, owner4[rem4[k]]));
		ck_assert_int_eq(ch.bind, 0);
	}
	ch = choice(m, "INSERT INTO expedientes (titulo) VALUES ('x')", NULL, 0, 0, -1, PGMM_READ_LOCAL);
	ck_assert_int_eq(ch.kind, PGMM_CHOICE_BALANCED);
	ck_assert_int_eq(ch.node, -1);
	ck_assert_int_eq(ch.coloc, m->tables[pgmm_map_find_table(m, NULL, "expedientes")].coloc);
	ch = choice(m, "UPDATE expedientes SET titulo = 'x'", NULL, 0, 0, -1, PGMM_READ_LOCAL);
	ck_assert_int_eq(ch.kind, PGMM_CHOICE_BROADCAST);
	ch = choice(m, "UPDATE estados SET nombre = 'x'", NULL, 0, 0, -1, PGMM_READ_LOCAL);
	ck_assert_int_eq(ch.kind, PGMM_CHOICE_NODE);
	ck_assert_int_eq(ch.node, node(m, "m2"));
	/* Reads: local = home then any; any = balanced; owner = the key's owner. */
	v[0] = "2";
	ch = choice(m, "SELECT * FROM expedientes WHERE id = $1", v, 1, 0, -1, PGMM_READ_LOCAL);
	ck_assert_int_eq(ch.kind, PGMM_CHOICE_BALANCED);
	ck_assert_int_eq(ch.node, m->local);
	ck_assert_int_eq(ch.coloc, -1);
	ch = choice(m, "SELECT * FROM expedientes WHERE id = $1", v, 1, 0, -1, PGMM_READ_ANY);
	ck_assert_int_eq(ch.kind, PGMM_CHOICE_BALANCED);
	ck_assert_int_eq(ch.node, -1);
	ch = choice(m, "SELECT * FROM expedientes WHERE id = $1", v, 1, 0, -1, PGMM_READ_OWNER);
	ck_assert_int_eq(ch.kind, PGMM_CHOICE_NODE);
	ck_assert_int_eq(ch.node, node(m, owner4[rem4[2]]));
	ch = choice(m, "SELECT * FROM expedientes WHERE id = $1 FOR UPDATE", v, 1, 0, -1, PGMM_READ_LOCAL);
	ck_assert_int_eq(ch.kind, PGMM_CHOICE_NODE);
	ck_assert_int_eq(ch.node, node(m, owner4[rem4[2]]));
	/* A table pgmm does not manage under pgmm_read=any: home first. */
	ch = choice(m, "SELECT * FROM other", NULL, 0, 0, -1, PGMM_READ_ANY);
	ck_assert_int_eq(ch.kind, PGMM_CHOICE_BALANCED);
	ck_assert_int_eq(ch.node, m->local);
	pgmm_map_free(m);
}
END_TEST

START_TEST(test_choice_in_txn)
{
	pgmm_map *m = fixture();
	int m1 = node(m, "m1"), m2 = node(m, "m2");
	const char *v[1] = {"2"};		/* owner m3 (remainder 2) */
	pgmm_choice ch;

	/* Bound to m1: a write for m3 is PM002 naming both. */
	ch = choice(m, "INSERT INTO expedientes (id) VALUES ($1)", v, 1, 1, m1, PGMM_READ_LOCAL);
	ck_assert_int_eq(ch.kind, PGMM_CHOICE_ERROR);
	ck_assert_str_eq(ch.err.sqlstate, PGMM_SQLSTATE_CROSS_OWNER);
	ck_assert_str_eq(ch.err.detail, "bound=m1 needed=m3");
	ck_assert_ptr_nonnull(strstr(ch.err.message, "this write"));
	v[0] = "1";						/* owner m1 */
	ch = choice(m, "INSERT INTO expedientes (id) VALUES ($1)", v, 1, 1, m1, PGMM_READ_LOCAL);
	ck_assert_int_eq(ch.kind, PGMM_CHOICE_NODE);
	ck_assert_int_eq(ch.node, m1);
	ck_assert_int_eq(ch.bind, 0);
	/* Bound: a broadcast over several owners fails; over the bound one only, runs. */
	ch = choice(m, "DELETE FROM expedientes", NULL, 0, 1, m1, PGMM_READ_LOCAL);
	ck_assert_int_eq(ch.kind, PGMM_CHOICE_ERROR);
	ck_assert_str_eq(ch.err.detail, "bound=m1 needed=m2");
	ch = choice(m, "DELETE FROM solo", NULL, 0, 1, m2, PGMM_READ_LOCAL);
	ck_assert_int_eq(ch.kind, PGMM_CHOICE_NODE);
	ck_assert_int_eq(ch.node, m2);
	/* Unbound: the first statement binds. */
	ch = choice(m, "DELETE FROM solo", NULL, 0, 1, -1, PGMM_READ_LOCAL);
	ck_assert_int_eq(ch.kind, PGMM_CHOICE_NODE);
	ck_assert_int_eq(ch.node, m2);
	ck_assert_int_eq(ch.bind, 1);
	ch = choice(m, "DELETE FROM expedientes", NULL, 0, 1, -1, PGMM_READ_LOCAL);
	ck_assert_int_eq(ch.kind, PGMM_CHOICE_ERROR);
	ck_assert_str_eq(ch.err.sqlstate, PGMM_SQLSTATE_CROSS_OWNER);
	v[0] = "2";
	ch = choice(m, "SELECT * FROM expedientes WHERE id = $1", v, 1, 1, -1, PGMM_READ_LOCAL);
	ck_assert_int_eq(ch.kind, PGMM_CHOICE_NODE);	/* a keyed read binds to the owner */
	ck_assert_int_eq(ch.node, node(m, "m3"));
	ck_assert_int_eq(ch.bind, 1);
	ch = choice(m, "SELECT * FROM estados", NULL, 0, 1, -1, PGMM_READ_LOCAL);
	ck_assert_int_eq(ch.kind, PGMM_CHOICE_NODE);	/* reference: home */
	ck_assert_int_eq(ch.node, m->local);
	ch = choice(m, "INSERT INTO expedientes (titulo) VALUES ('x')", NULL, 0, 1, -1, PGMM_READ_LOCAL);
	ck_assert_int_eq(ch.kind, PGMM_CHOICE_BALANCED);
	ck_assert_int_eq(ch.bind, 1);
	pgmm_map_free(m);
}
END_TEST

/* Balanced order: round-robin from rr, masters up first, down ones last. */
/* A master the catalog no longer calls active ('failed' after `pgmm
 * failover`, 'disabled'): nothing is ever routed there. */
START_TEST(test_choice_inactive_master)
{
	pgmm_map *m = fixture();
	int m1 = node(m, "m1"), g = m->tables[pgmm_map_find_table(m, NULL, "names")].coloc;
	const char *v[1] = {"1"};		/* owner m1 */
	unsigned char usable[3] = {1, 1, 1};
	int order[4], n, k;
	long rr_of[4];
	pgmm_choice ch;

	m->nodes[m1].active = 0;
	ch = choice(m, "INSERT INTO expedientes (id) VALUES ($1)", v, 1, 0, -1, PGMM_READ_LOCAL);
	ck_assert_int_eq(ch.kind, PGMM_CHOICE_ERROR);
	ck_assert_str_eq(ch.err.sqlstate, PGMM_SQLSTATE_NODE_DOWN);
	ck_assert_ptr_nonnull(strstr(ch.err.message, "master m1 is not active"));
	/* in a transaction too, before it binds */
	ch = choice(m, "INSERT INTO expedientes (id) VALUES ($1)", v, 1, 1, -1, PGMM_READ_LOCAL);
	ck_assert_int_eq(ch.kind, PGMM_CHOICE_ERROR);
	ck_assert_str_eq(ch.err.sqlstate, PGMM_SQLSTATE_NODE_DOWN);
	/* a keyed read for its rows goes to another master (every one has them) */
	ch = choice(m, "SELECT * FROM expedientes WHERE id = $1", v, 1, 0, -1, PGMM_READ_OWNER);
	ck_assert_int_eq(ch.kind, PGMM_CHOICE_BALANCED);
	n = pgmm_choice_order(m, &ch, 0, usable, order, rr_of);
	ck_assert_int_eq(n, 2);
	for (k = 0; k < n; k++)
		ck_assert_int_ne(order[k], m1);
	/* a locking read needs the owner: refused */
	ch = choice(m, "SELECT * FROM expedientes WHERE id = $1 FOR UPDATE", v, 1, 0, -1, PGMM_READ_LOCAL);
	ck_assert_int_eq(ch.kind, PGMM_CHOICE_ERROR);
	/* a broadcast over a group it still owns shards of: refused at once */
	ch = choice(m, "UPDATE expedientes SET titulo = 'x'", NULL, 0, 0, -1, PGMM_READ_LOCAL);
	ck_assert_int_eq(ch.kind, PGMM_CHOICE_ERROR);
	ck_assert_str_eq(ch.err.sqlstate, PGMM_SQLSTATE_NODE_DOWN);
	/* balanced choices (keyless INSERT over the owners, home first) skip it,
	 * usable or not */
	memset(&ch, 0, sizeof ch);
	ch.kind = PGMM_CHOICE_BALANCED;
	ch.node = m1;
	ch.coloc = g;
	for (k = 0; k < 2; k++)
	{
		int j;

		usable[m1] = (unsigned char) k;
		n = pgmm_choice_order(m, &ch, 0, usable, order, rr_of);
		ck_assert_int_eq(n, 2);
		for (j = 0; j < n; j++)
			ck_assert_int_ne(order[j], m1);
	}
	pgmm_map_free(m);
}
END_TEST

START_TEST(test_choice_order)
{
	pgmm_map *m = fixture();
	unsigned char usable[3] = {1, 1, 1};
	int order[4], n, g = m->tables[pgmm_map_find_table(m, NULL, "names")].coloc;
	long rr_of[4];
	pgmm_choice ch;

	memset(&ch, 0, sizeof ch);
	ch.kind = PGMM_CHOICE_BALANCED;
	ch.node = -1;
	ch.coloc = g;					/* owners m1 m2 m3 */
	n = pgmm_choice_order(m, &ch, 1, usable, order, rr_of);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(order[0], m->colocs[g].owners[1]);
	ck_assert_int_eq(rr_of[0], 2);
	ck_assert_int_eq(order[2], m->colocs[g].owners[0]);
	ck_assert_int_eq(rr_of[2], 1);
	usable[m->colocs[g].owners[1]] = 0;	/* recently down: tried last */
	n = pgmm_choice_order(m, &ch, 1, usable, order, rr_of);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(order[0], m->colocs[g].owners[2]);
	ck_assert_int_eq(order[2], m->colocs[g].owners[1]);
	/* Home first, then every master but home. */
	ch.node = m->local;
	ch.coloc = -1;
	n = pgmm_choice_order(m, &ch, 0, usable, order, rr_of);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(order[0], m->local);
	ck_assert_int_eq(rr_of[0], -1);
	/* Home first -- unless it is marked down (pgmm_timeout): then the
	 * masters that are up first, home last, once. */
	usable[m->local] = 0;
	usable[m->colocs[g].owners[1]] = 1;
	n = pgmm_choice_order(m, &ch, 0, usable, order, rr_of);
	ck_assert_int_eq(n, 3);
	ck_assert_int_ne(order[0], m->local);
	ck_assert_int_ne(order[1], m->local);
	ck_assert_int_ne(order[0], order[1]);
	ck_assert_int_eq(order[2], m->local);
	ck_assert_int_eq(rr_of[2], -1);
	ck_assert_int_ge(rr_of[0], 0);
	usable[m->local] = 1;
	/* NODE: that master, up or not. */
	ch.kind = PGMM_CHOICE_NODE;
	ch.node = 1;
	usable[1] = 0;
	ck_assert_int_eq(pgmm_choice_order(m, &ch, 0, usable, order, rr_of), 1);
	ck_assert_int_eq(order[0], 1);
	pgmm_map_free(m);
}
END_TEST

/* pgmm_link_connect sets connect_timeout, keepalives* and tcp_user_timeout
 * from pgmm_timeout unless the conninfo sets them (a refused local port:
 * no server needed). */
static const char *
opt_of(PGconn *pq, const char *key, char *buf, size_t cap)
{
	PQconninfoOption *o = PQconninfo(pq), *p;

	buf[0] = '\0';
	for (p = o; p && p->keyword; p++)
		if (strcmp(p->keyword, key) == 0 && p->val)
			snprintf(buf, cap, "%s", p->val);
	PQconninfoFree(o);
	return buf;
}

START_TEST(test_link_connect_settings)
{
	char b[64];
	int to;
	PGconn *pq = pgmm_link_connect("host=127.0.0.1 port=1 dbname=x", 2500, &to);

	ck_assert_ptr_nonnull(pq);
	ck_assert_int_eq(to, 0);
	ck_assert_int_ne(PQstatus(pq), CONNECTION_OK);
	ck_assert_str_eq(opt_of(pq, "connect_timeout", b, sizeof b), "3");
	ck_assert_str_eq(opt_of(pq, "tcp_user_timeout", b, sizeof b), "2500");
	ck_assert_str_eq(opt_of(pq, "keepalives", b, sizeof b), "1");
	ck_assert_str_eq(opt_of(pq, "keepalives_idle", b, sizeof b), "3");
	ck_assert_str_eq(opt_of(pq, "dbname", b, sizeof b), "x");
	PQfinish(pq);
	/* The user's own values win; a URI works too. */
	pq = pgmm_link_connect("postgresql://127.0.0.1:1/y?connect_timeout=7&keepalives=0&tcp_user_timeout=9", 2500, &to);
	ck_assert_ptr_nonnull(pq);
	ck_assert_str_eq(opt_of(pq, "connect_timeout", b, sizeof b), "7");
	ck_assert_str_eq(opt_of(pq, "keepalives", b, sizeof b), "0");
	ck_assert_str_eq(opt_of(pq, "tcp_user_timeout", b, sizeof b), "9");
	ck_assert_str_eq(opt_of(pq, "dbname", b, sizeof b), "y");
	PQfinish(pq);
	/* 0: no timeouts set, keepalives still on. */
	pq = pgmm_link_connect("host=127.0.0.1 port=1", 0, &to);
	ck_assert_ptr_nonnull(pq);
	ck_assert_str_eq(opt_of(pq, "connect_timeout", b, sizeof b), "");
	ck_assert_str_eq(opt_of(pq, "keepalives", b, sizeof b), "1");
	PQfinish(pq);
}
END_TEST

/* Issue #7 (bug 7): a balanced choice over every master considered only the
 * first 256 (pick_any's fixed array); with 300 masters of which only #280
 * is up, that one must be found first. */
START_TEST(test_choice_many_masters)
{
	pgmm_map *m = pgmm_map_new();
	pgmm_buf err;
	unsigned char *usable;
	int *order, n, i;
	long *rr_of;
	pgmm_choice ch;

	pgmm_buf_init(&err);
	for (i = 0; i < 300; i++)
	{
		char name[16];

		snprintf(name, sizeof name, "m%d", i);
		ck_assert_int_eq(pgmm_map_add_node(m, name, "host=x", i + 1, 1, &err), 0);
	}
	ck_assert_int_eq(pgmm_map_add_coloc(m, 1, "int8", 300, &err), 0);
	for (i = 0; i < 300; i++)
	{
		char name[16];

		snprintf(name, sizeof name, "m%d", i);
		ck_assert_int_eq(pgmm_map_set_shard(m, 1, i, name, &err), 0);
	}
	ck_assert_msg(pgmm_map_finish(m, 1, 300, "m0", &err) == 0, "%s", pgmm_buf_str(&err));
	usable = calloc(300, 1);
	order = calloc(301, sizeof *order);
	rr_of = calloc(301, sizeof *rr_of);
	ck_assert(usable && order && rr_of);
	usable[280] = 1;
	memset(&ch, 0, sizeof ch);
	ch.kind = PGMM_CHOICE_BALANCED;
	ch.node = -1;
	ch.coloc = -1;					/* every active master */
	n = pgmm_choice_order(m, &ch, 0, usable, order, rr_of);
	ck_assert_int_eq(n, 300);
	ck_assert_int_eq(order[0], 280);
	ck_assert_int_eq(rr_of[0], 281);
	ch.coloc = 0;					/* the group's 300 owners */
	n = pgmm_choice_order(m, &ch, 0, usable, order, rr_of);
	ck_assert_int_eq(n, 300);
	ck_assert_int_eq(order[0], 280);
	free(usable);
	free(order);
	free(rr_of);
	pgmm_map_free(m);
	pgmm_buf_free(&err);
}
END_TEST

/* ---------------------------------------------------------------- conninfo */

/* Another master's conninfo = the catalog's, with the caller's credentials
 * added where the catalog has none; host lists pass through untouched. */
START_TEST(test_conninfo_merge_multihost)
{
	static const char *const keys[] = {"user", "password", "connect_timeout", "options", NULL};
	pgmm_buf err;
	char *m;
	PQconninfoOption *o, *x;
	int seen = 0;

	pgmm_buf_init(&err);
	m = pgmm_conninfo_merge("host=a.example,b.example port=5432,5433 dbname=app target_session_attrs=read-write",
	                        "host=home port=1 user=alice password='s3 cret' dbname=other connect_timeout=3",
	                        keys, &err);
	ck_assert_msg(m != NULL, "%s", pgmm_buf_str(&err));
	o = PQconninfoParse(m, NULL);
	ck_assert_ptr_nonnull(o);
	for (x = o; x->keyword; x++)
	{
		if (x->val == NULL)
			continue;
		if (strcmp(x->keyword, "host") == 0)
			{ ck_assert_str_eq(x->val, "a.example,b.example"); seen++; }
		else if (strcmp(x->keyword, "port") == 0)
			{ ck_assert_str_eq(x->val, "5432,5433"); seen++; }
		else if (strcmp(x->keyword, "dbname") == 0)
			{ ck_assert_str_eq(x->val, "app"); seen++; }
		else if (strcmp(x->keyword, "target_session_attrs") == 0)
			{ ck_assert_str_eq(x->val, "read-write"); seen++; }
		else if (strcmp(x->keyword, "user") == 0)
			{ ck_assert_str_eq(x->val, "alice"); seen++; }
		else if (strcmp(x->keyword, "password") == 0)
			{ ck_assert_str_eq(x->val, "s3 cret"); seen++; }
		else if (strcmp(x->keyword, "connect_timeout") == 0)
			{ ck_assert_str_eq(x->val, "3"); seen++; }
	}
	ck_assert_int_eq(seen, 7);
	PQconninfoFree(o);
	free(m);
	pgmm_buf_free(&err);
}
END_TEST

/* ---------------------------------------------------------------- IDs */

START_TEST(test_idpool)
{
	pgmm_map *m = fixture();
	const pgmm_map_table *t = &m->tables[pgmm_map_find_table(m, NULL, "expedientes")];
	const pgmm_map_table *solo = &m->tables[pgmm_map_find_table(m, NULL, "solo")];
	pgmm_idpool p;
	int64_t ids[12], id;
	int k, seen[13] = {0};

	for (k = 0; k < 12; k++)
		ids[k] = k + 1;
	pgmm_idpool_init(&p);
	ck_assert_int_eq(pgmm_idpool_add(&p, ids, 12), 0);
	/* Oldest first when any owner will do. */
	ck_assert_int_eq(pgmm_idpool_take(&p, m, t, -1, &id), 0);
	ck_assert_int_eq(id, 1);
	seen[1] = 1;
	/* An ID of m3 (remainder 2): keys 2 only among 1..12. */
	ck_assert_int_eq(pgmm_idpool_take(&p, m, t, node(m, "m3"), &id), 0);
	ck_assert_int_eq(id, 2);
	seen[2] = 1;
	ck_assert_int_eq(pgmm_idpool_take(&p, m, t, node(m, "m3"), &id), 1);
	/* m2 owns remainder 1: keys 3, 5, 8, 9, 11. */
	ck_assert_int_eq(pgmm_idpool_take(&p, m, t, node(m, "m2"), &id), 0);
	ck_assert_int_eq(id, 3);
	seen[3] = 1;
	ck_assert_int_eq(p.n, 9);
	/* The rest, never twice. */
	while (pgmm_idpool_take(&p, m, NULL, -1, &id) == 0)
	{
		ck_assert(id >= 1 && id <= 12);
		ck_assert(!seen[id]);
		seen[id] = 1;
	}
	for (k = 1; k <= 12; k++)
		ck_assert(seen[k]);
	/* Range of an int4 key. */
	ids[0] = INT64_C(3000000000);
	ids[1] = 8;
	ck_assert_int_eq(pgmm_idpool_add(&p, ids, 2), 0);
	ck_assert_int_eq(pgmm_idpool_take(&p, m, solo, -1, &id), 0);
	ck_assert_int_eq(id, 8);
	ck_assert_int_eq(pgmm_id_owner(m, solo, INT64_C(3000000000)), -1);
	/* Trim keeps the newest. */
	for (k = 0; k < 12; k++)
		ids[k] = 100 + k;
	ck_assert_int_eq(pgmm_idpool_add(&p, ids, 12), 0);
	pgmm_idpool_trim(&p, 4);
	ck_assert_int_eq(p.n, 4);
	ck_assert_int_eq(pgmm_idpool_take(&p, m, NULL, -1, &id), 0);
	ck_assert_int_eq(id, 108);
	ck_assert_int_eq(pgmm_idpool_add(&p, ids, 0), 0);
	pgmm_idpool_free(&p);
	pgmm_map_free(m);
}
END_TEST

/* ---------------------------------------------------------------- cost */

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *) a, y = *(const long long *) b;

	return (x > y) - (x < y);
}

/*
 * The hot path of a cached parameterised statement: cache lookup by text,
 * hash of the key parameter, remainder, owner.  Median of 7 runs printed.
 */
START_TEST(test_routing_cost)
{
	static const char sql[] = "INSERT INTO expedientes (id, estado_id, titulo) VALUES ($1, $2, $3)";
	pgmm_map *m = fixture();
	pgmm_cache *cache = pgmm_cache_new(1024, (pgmm_cache_free_fn) pgmm_plan_free);
	pgmm_buf err;
	pgmm_plan *p;
	long long runs[7];
	int run, i, iters = 50000;
	unsigned sink = 0;

	pgmm_buf_init(&err);
	p = pgmm_plan_build(m, sql, sizeof sql - 1, &err);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(pgmm_cache_put(cache, sql, sizeof sql - 1, p), 0);
	for (run = 0; run < 7; run++)
	{
		struct timespec a, b;

		clock_gettime(CLOCK_MONOTONIC, &a);
		for (i = 0; i < iters; i++)
		{
			char key[24];
			const char *vals[3] = {key, "1", "t"};
			pgmm_params pp;
			pgmm_target t;
			pgmm_plan *q;

			snprintf(key, sizeof key, "%d", i + 1);
			q = pgmm_cache_get(cache, sql, sizeof sql - 1);
			memset(&pp, 0, sizeof pp);
			pp.n = 3;
			pp.values = vals;
			pgmm_plan_target(m, q, &pp, &t);
			sink += (unsigned) t.node;
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		runs[run] = ((long long) (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec)) / iters;
	}
	qsort(runs, 7, sizeof runs[0], cmp_ll);
	printf("routing cost (cache lookup + key hash + owner, incl. snprintf of the key): median %lld ns/statement "
	       "(min %lld, max %lld) [sink %u]\n", runs[3], runs[0], runs[6], sink);
	ck_assert_int_lt(runs[3], 20000);
	pgmm_cache_free(cache);
	pgmm_buf_free(&err);
	pgmm_map_free(m);
}
END_TEST

/* ---------------------------------------------------------------- OOM */

/*
 * The test binary is linked with -Wl,--wrap for the allocation functions,
 * so calls from the library's objects come here: allocation number
 * oom_fail_at (1 = the next) and all later ones fail while it is set.
 */
static unsigned long oom_fail_at, oom_count;
static int oom_bad_message;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static int
oom_now(void)
{
	return oom_fail_at && ++oom_count >= oom_fail_at;
}

void *__wrap_malloc(size_t n) { return oom_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) { return oom_now() ? NULL : __real_calloc(n, m); }
void *__wrap_realloc(void *p, size_t n) { return oom_now() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return oom_now() ? NULL : __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n) { return oom_now() ? NULL : __real_strndup(s, n); }

/* The fixture's map, without assertions: NULL when anything failed. */
static pgmm_map *
small_map(void)
{
	pgmm_map *m = pgmm_map_new();
	pgmm_buf err;
	const char *path[] = {"public"};
	int ok;

	if (m == NULL)
		return NULL;
	pgmm_buf_init(&err);
	ok = pgmm_map_add_node(m, "m1", "host=a", 1, 1, &err) == 0 &&
		pgmm_map_add_node(m, "m2", "host=b", 2, 1, &err) == 0 &&
		pgmm_map_add_coloc(m, 1, "int8", 4, &err) == 0 &&
		pgmm_map_set_shard(m, 1, 0, "m1", &err) == 0 && pgmm_map_set_shard(m, 1, 1, "m2", &err) == 0 &&
		pgmm_map_set_shard(m, 1, 2, "m1", &err) == 0 && pgmm_map_set_shard(m, 1, 3, "m2", &err) == 0 &&
		pgmm_map_add_table(m, "public", "expedientes", "distributed", "id", "int8", -1, 1, 1, NULL, &err) == 0 &&
		pgmm_map_add_table(m, "public", "estados", "reference", NULL, NULL, -1, 0, -1, "m2", &err) == 0 &&
		pgmm_map_set_search_path(m, path, 1, &err) == 0 &&
		pgmm_map_finish(m, 3, 10, "m1", &err) == 0;
	/* (No Check assertion while allocations fail: Check allocates too.) */
	if (!ok && strstr(pgmm_buf_str(&err), "out of memory") == NULL)
		oom_bad_message = 1;
	pgmm_buf_free(&err);
	if (!ok)
	{
		pgmm_map_free(m);
		return NULL;
	}
	return m;
}

/* Every allocation of map building, planning and the ID pool fails in
 * turn: each gives a clean error (ASan/LSan check for leaks and misuse). */
START_TEST(test_oom_sweep)
{
	static const char *const sqls[] = {
		"INSERT INTO expedientes (id, v) VALUES ($1, 'a'), (5, 'b')",
		"UPDATE expedientes SET v = 1 WHERE id = 3",
		"UPDATE expedientes SET id = 1",
		"SET search_path = public",
		"CREATE TABLE x (a int)",
		"SELECT * FROM estados",
		"INSERT INTO expedientes (id) VALUES ('abc')",
	};
	unsigned long n;
	int completed = 0;

	for (n = 1; n < 400 && !completed; n++)
	{
		pgmm_map *m;
		size_t i;
		int failed = 0;
		pgmm_idpool pool;
		int64_t ids[3] = {1, 2, 3};

		oom_count = 0;
		oom_fail_at = n;
		m = small_map();
		if (m == NULL)
		{
			oom_fail_at = 0;
			ck_assert_msg(!oom_bad_message, "allocation %lu: a failure that is not reported as out of memory", n);
			continue;
		}
		for (i = 0; i < sizeof sqls / sizeof sqls[0]; i++)
		{
			pgmm_buf err;
			pgmm_plan *p;

			pgmm_buf_init(&err);
			p = pgmm_plan_build(m, sqls[i], strlen(sqls[i]), &err);
			if (p == NULL)
			{
				failed = 1;
				if (strstr(pgmm_buf_str(&err), "out of memory") == NULL)
					oom_bad_message = 1;
			}
			pgmm_plan_free(p);
			pgmm_buf_free(&err);
		}
		pgmm_idpool_init(&pool);
		if (pgmm_idpool_add(&pool, ids, 3) < 0)
			failed = 1;
		pgmm_idpool_free(&pool);
		oom_fail_at = 0;
		pgmm_map_free(m);
		ck_assert_msg(!oom_bad_message, "allocation %lu: a failure that is not reported as out of memory", n);
		completed = !failed;
	}
	oom_fail_at = 0;
	ck_assert_msg(completed, "the sweep never got through without a failure");
	ck_assert_msg(n > 30, "only %lu allocations were swept", n);
}
END_TEST

void pgmm_sqlparse_fail_alloc(int n);
void pgmm_cache_test_fail_alloc(unsigned long n);

/* Plans under failing allocations in the parser: NULL or a plan, never a
 * crash (ASan checks the leaks). */
START_TEST(test_plan_oom)
{
	pgmm_map *m = fixture();
	int n;

	for (n = 1; n < 40; n++)
	{
		pgmm_buf err;
		pgmm_plan *p;
		static const char sql[] = "INSERT INTO expedientes (id, v) VALUES (1, 'a'), (5, 'b')";

		pgmm_buf_init(&err);
		pgmm_sqlparse_fail_alloc(n);
		p = pgmm_plan_build(m, sql, sizeof sql - 1, &err);
		pgmm_sqlparse_fail_alloc(0);
		if (p == NULL)
			ck_assert_ptr_nonnull(strstr(pgmm_buf_str(&err), "out of memory"));
		pgmm_plan_free(p);
		pgmm_buf_free(&err);
	}
	pgmm_map_free(m);
}
END_TEST

static Suite *
router_suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("map");

	tcase_add_test(tc, test_map_lookups);
	tcase_add_test(tc, test_map_search_path_change);
	tcase_add_test(tc, test_map_validation);
	tcase_add_test(tc, test_map_from_result);
	suite_add_tcase(s, tc);
	tc = tcase_create("owners");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_owner_vectors_s4);
	tcase_add_test(tc, test_owner_vectors_pg);
	suite_add_tcase(s, tc);
	tc = tcase_create("plans");
	tcase_add_test(tc, test_insert_routes);
	tcase_add_test(tc, test_param_errors);
	tcase_add_test(tc, test_update_delete_routes);
	tcase_add_test(tc, test_read_routes);
	tcase_add_test(tc, test_other_routes);
	tcase_add_test(tc, test_ddl_hint);
	tcase_add_test(tc, test_session_plans);
	tcase_add_test(tc, test_session_plans_quoted);
	tcase_add_test(tc, test_choice_outside_txn);
	tcase_add_test(tc, test_choice_in_txn);
	tcase_add_test(tc, test_choice_order);
	tcase_add_test(tc, test_choice_inactive_master);
	tcase_add_test(tc, test_link_connect_settings);
	tcase_add_test(tc, test_choice_many_masters);
	tcase_add_test(tc, test_chain_plans);
	tcase_add_test(tc, test_plan_oom);
	tcase_add_test(tc, test_oom_sweep);
	suite_add_tcase(s, tc);
	tc = tcase_create("ids");
	tcase_add_test(tc, test_idpool);
	tcase_add_test(tc, test_conninfo_merge_multihost);
	tcase_add_test(tc, test_error_sqlstate);
	suite_add_tcase(s, tc);
	tc = tcase_create("cost");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_routing_cost);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(router_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
