/*
 * test_ids.c -- pgmm_next_id: blocks reserved in one round trip from a
 * master's offset sequence, handed out locally; IDs never repeat across
 * connections, masters or reconnections; IDs of a chosen master; rows
 * inserted with them land on their owners; integer key ranges respected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_common.h"

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

START_TEST(test_unique_across_connections)
{
	char *ci1 = rt_conninfo(0, "pgmm_id_block=7"), *ci2 = rt_conninfo(1, "pgmm_id_block=13");
	PGMMconn *c1 = pgmm_connect(ci1), *c2 = pgmm_connect(ci2), *c3;
	enum { N = 3000 };
	int64_t *ids = malloc(sizeof(int64_t) * (3 * N + 10));
	int n = 0, i;
	char *stride_s = rt_value(0, "SELECT stride FROM pgmm.cluster");
	int stride = atoi(stride_s);

	free(stride_s);
	ck_assert_ptr_nonnull(ids);
	ck_assert_msg(pgmm_status(c1) == CONNECTION_OK, "%s", pgmm_error_message(c1));
	ck_assert_msg(pgmm_status(c2) == CONNECTION_OK, "%s", pgmm_error_message(c2));
	for (i = 0; i < N; i++)
	{
		ck_assert_msg(pgmm_next_id(c1, "t8", &ids[n]) == 0, "%s", pgmm_error_message(c1));
		/* Blocks come from the home master's sequence: slot 1 or 2 mod stride. */
		ck_assert_int_eq(ids[n] % stride, 1);
		n++;
		ck_assert_msg(pgmm_next_id(c2, "t8", &ids[n]) == 0, "%s", pgmm_error_message(c2));
		ck_assert_int_eq(ids[n] % stride, 2);
		n++;
	}
	/* A new connection after the others are gone (a "restart"). */
	pgmm_finish(c1);
	c3 = pgmm_connect(ci1);
	for (i = 0; i < N; i++)
		ck_assert_int_eq(pgmm_next_id(c3, "t8", &ids[n++]), 0);
	pgmm_finish(c3);
	pgmm_finish(c2);
	qsort(ids, (size_t) n, sizeof ids[0], cmp64);
	for (i = 1; i < n; i++)
		ck_assert_msg(ids[i] != ids[i - 1], "ID %lld handed out twice", (long long) ids[i]);
	ck_assert_int_gt(ids[0], 0);
	free(ids);
	free(ci1);
	free(ci2);
}
END_TEST

START_TEST(test_ids_insert_on_owner)
{
	PGMMconn *c = rt_connect("pgmm_id_block=50");
	int i;

	for (i = 0; i < 60; i++)
	{
		int64_t id;
		char sql[128], cond[64], *owner;

		ck_assert_int_eq(pgmm_next_id(c, "t8", &id), 0);
		snprintf(sql, sizeof sql, "INSERT INTO t8 (id, v) VALUES (%lld, 'id')", (long long) id);
		rt_run(c, sql);
		snprintf(cond, sizeof cond, "id = %lld", (long long) id);
		owner = rt_row_owner(rt_index(pgmm_last_node(c)), "t8", cond);
		ck_assert_ptr_nonnull(owner);
		ck_assert_str_eq(owner, pgmm_last_node(c));
		free(owner);
	}
	/* int4 key: fits; chosen owner honoured. */
	for (i = 0; i < rt.n; i++)
	{
		int64_t id;
		char buf[32];

		ck_assert_int_eq(pgmm_next_id_for(c, "t4", rt.name[i], &id), 0);
		ck_assert(id > 0 && id <= 2147483647);
		snprintf(buf, sizeof buf, "%lld", (long long) id);
		ck_assert_str_eq(pgmm_key_owner(c, "t4", buf), rt.name[i]);
	}
	/* The key DEFAULT and pgmm_next_id share the sequence: no clash. */
	for (i = 0; i < 20; i++)
	{
		int64_t id;
		char sql[128];

		rt_run(c, "INSERT INTO t8 (v) VALUES ('default')");
		ck_assert_int_eq(pgmm_next_id(c, "t8", &id), 0);
		snprintf(sql, sizeof sql, "INSERT INTO t8 (id, v) VALUES (%lld, 'mixed')", (long long) id);
		rt_run(c, sql);
	}
	pgmm_finish(c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("router-ids");
	TCase *tc = tcase_create("ids");
	int failed;

	rt_setup("rt_ids");
	rt_ddl("CREATE TABLE public.t8 (id int8 PRIMARY KEY, v text)");
	rt_ddl("CREATE TABLE public.t4 (id int4 PRIMARY KEY, v text)");
	rt_distribute("public.t8", "id", 12, NULL);
	rt_distribute("public.t4", "id", 5, NULL);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_unique_across_connections);
	tcase_add_test(tc, test_ids_insert_on_owner);
	suite_add_tcase(s, tc);
	failed = rt_main(s);
	rt_teardown();
	return failed ? 1 : 0;
}
