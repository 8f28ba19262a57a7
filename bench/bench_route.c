/*
 * bench_route -- the cost of classifying and routing one statement, in
 * process, no server: exactly the steps pgmm_exec/pgmm_exec_params take
 * before any I/O.
 *   cached:  plan-cache lookup of a parameterised text (SipHash), key
 *            hash of $1, remainder, owner -- the hot path of a repeated
 *            statement;
 *   literal: a text never seen before (lexer + recogniser + plan build +
 *            key hash + owner), as for statements with literal keys.
 * Prints the median over repeated runs (ns per statement).  A benchmark,
 * not a test: nothing here asserts a time.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "router_int.h"

#define RUNS 11

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;

	return x < y ? -1 : x > y;
}

static pgmm_map *
make_map(void)
{
	pgmm_map *m = pgmm_map_new();
	pgmm_buf err;
	const char *path[] = {"pg_catalog", "public"};
	int r;

	pgmm_buf_init(&err);
	if (m == NULL ||
	    pgmm_map_add_node(m, "m1", "host=a", 1, 1, &err) < 0 ||
	    pgmm_map_add_node(m, "m2", "host=b", 2, 1, &err) < 0 ||
	    pgmm_map_add_node(m, "m3", "host=c", 3, 1, &err) < 0 ||
	    pgmm_map_add_coloc(m, 1, "int8", 16, &err) < 0)
		goto fail;
	for (r = 0; r < 16; r++)
	{
		char n[4];

		snprintf(n, sizeof n, "m%d", r % 3 + 1);
		if (pgmm_map_set_shard(m, 1, r, n, &err) < 0)
			goto fail;
	}
	if (pgmm_map_add_table(m, "public", "bench_kv", "distributed", "id", "int8", -1, 1, 1, NULL, &err) < 0 ||
	    pgmm_map_set_search_path(m, path, 2, &err) < 0 ||
	    pgmm_map_finish(m, 1, 10, "m1", &err) < 0)
		goto fail;
	pgmm_buf_free(&err);
	return m;
fail:
	fprintf(stderr, "bench_route: map: %s\n", pgmm_buf_str(&err));
	exit(1);
}

int
main(void)
{
	static const char *const sqls[3] = {
		"INSERT INTO bench_kv (id, v, n) VALUES ($1, 'value', 0)",
		"UPDATE bench_kv SET n = n + 1 WHERE id = $1",
		"SELECT v, n FROM bench_kv WHERE id = $1",
	};
	static const char *const names[3] = {"INSERT", "UPDATE", "SELECT"};
	pgmm_map *m = make_map();
	pgmm_cache *cache = pgmm_cache_new(1024, (pgmm_cache_free_fn) pgmm_plan_free);
	double cached[3][RUNS], literal[3][RUNS];
	const int n_cached = 1000000, n_literal = 100000;
	long sink = 0;
	int k, run, i;

	if (cache == NULL || pgmm_siphash_init() < 0)
		return 1;
	for (k = 0; k < 3; k++)
	{
		pgmm_buf err;
		pgmm_plan *p;

		pgmm_buf_init(&err);
		p = pgmm_plan_build(m, sqls[k], strlen(sqls[k]), &err);
		if (p == NULL || pgmm_cache_put(cache, sqls[k], strlen(sqls[k]), p) < 0)
			return 1;
		pgmm_buf_free(&err);
	}
	for (run = 0; run < RUNS; run++)
		for (k = 0; k < 3; k++)
		{
			char key[32], sql[160];
			const char *vals[1] = {key};
			pgmm_params pp;
			pgmm_target t;
			double t0;

			memset(&pp, 0, sizeof pp);
			pp.n = 1;
			pp.values = vals;
			t0 = now_ns();
			for (i = 0; i < n_cached; i++)
			{
				const pgmm_plan *p;

				snprintf(key, sizeof key, "%d", i);
				p = pgmm_cache_get(cache, sqls[k], strlen(sqls[k]));
				pgmm_plan_target(m, p, &pp, &t);
				sink += t.node;
			}
			cached[k][run] = (now_ns() - t0) / n_cached;

			t0 = now_ns();
			for (i = 0; i < n_literal; i++)
			{
				pgmm_buf err;
				pgmm_plan *p;
				int len;

				if (k == 0)
					len = snprintf(sql, sizeof sql, "INSERT INTO bench_kv (id, v, n) VALUES (%d, 'value', 0)", i);
				else if (k == 1)
					len = snprintf(sql, sizeof sql, "UPDATE bench_kv SET n = n + 1 WHERE id = %d", i);
				else
					len = snprintf(sql, sizeof sql, "SELECT v, n FROM bench_kv WHERE id = %d", i);
				pgmm_buf_init(&err);
				p = pgmm_plan_build(m, sql, (size_t) len, &err);
				if (p == NULL)
					return 1;
				pgmm_plan_target(m, p, NULL, &t);
				sink += t.node;
				pgmm_plan_free(p);
				pgmm_buf_free(&err);
			}
			literal[k][run] = (now_ns() - t0) / n_literal;
		}
	printf("bench_route: classify + route per statement, median of %d runs (%d cached / %d literal statements each)\n",
	       RUNS, n_cached, n_literal);
	printf("%-8s %18s %22s\n", "op", "cached $1 (ns)", "new literal text (ns)");
	for (k = 0; k < 3; k++)
	{
		qsort(cached[k], RUNS, sizeof(double), cmp_double);
		qsort(literal[k], RUNS, sizeof(double), cmp_double);
		printf("%-8s %18.1f %22.1f\n", names[k], cached[k][RUNS / 2], literal[k][RUNS / 2]);
	}
	if (sink == 42)
		printf("\n");
	pgmm_cache_free(cache);
	pgmm_map_free(m);
	return 0;
}
