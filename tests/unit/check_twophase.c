/*
 * Unit tests (no server) for the two-phase-commit module's global ids:
 * every gid pgmm makes parses back to the same fields, fits PostgreSQL's
 * 200-byte limit, and anything else -- other tools' gids, truncated or
 * padded fields, overflowing numbers, hostile names -- is not taken for
 * one of pgmm's (recover must never touch a transaction it did not make).
 * The protocol itself runs against real masters (tests/integration).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twophase.h"

static pgmm_2pc_gid
sample(void)
{
	pgmm_2pc_gid g;

	memset(&g, 0, sizeof g);
	g.kind = PGMM_2PC_CATALOG;
	g.label = 42;
	strcpy(g.id, "0123456789abcdef");
	g.pos = 1;
	g.n = 3;
	strcpy(g.decider, "m3");
	return g;
}

START_TEST(test_format_parse_roundtrip)
{
	pgmm_2pc_gid g = sample(), back;
	char buf[PGMM_2PC_GID_MAX];

	ck_assert_int_eq(pgmm_2pc_gid_format(buf, sizeof buf, &g), 0);
	ck_assert_str_eq(buf, "pgmm:c:42:0123456789abcdef:1/3:m3");
	ck_assert_int_eq(pgmm_2pc_gid_parse(buf, &back), 0);
	ck_assert_int_eq(back.kind, 'c');
	ck_assert_int_eq(back.label, 42);
	ck_assert_str_eq(back.id, g.id);
	ck_assert_int_eq(back.pos, 1);
	ck_assert_int_eq(back.n, 3);
	ck_assert_str_eq(back.decider, "m3");

	g.kind = PGMM_2PC_BROADCAST;
	g.label = 0;
	g.pos = 0;
	g.n = 1;
	strcpy(g.decider, "node_with_a_long_name_23");
	ck_assert_int_eq(pgmm_2pc_gid_format(buf, sizeof buf, &g), 0);
	ck_assert_int_eq(pgmm_2pc_gid_parse(buf, &back), 0);
	ck_assert_int_eq(back.kind, 'b');
	ck_assert_str_eq(back.decider, "node_with_a_long_name_23");
}
END_TEST

START_TEST(test_longest_fits)
{
	pgmm_2pc_gid g = sample(), back;
	char buf[PGMM_2PC_GID_MAX];

	g.label = INT64_MAX;
	g.pos = 999999;
	g.n = 1000000;
	memset(g.decider, 'z', sizeof g.decider - 1);
	g.decider[sizeof g.decider - 1] = '\0';
	ck_assert_int_eq(pgmm_2pc_gid_format(buf, sizeof buf, &g), 0);
	ck_assert_int_lt((int) strlen(buf), PGMM_2PC_GID_MAX);
	ck_assert_int_eq(pgmm_2pc_gid_parse(buf, &back), 0);
	ck_assert_int_eq(back.label, INT64_MAX);
	ck_assert_int_eq(back.n, 1000000);
	/* too small a buffer: refused, empty */
	ck_assert_int_eq(pgmm_2pc_gid_format(buf, 20, &g), -1);
	ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(test_format_refuses_bad_fields)
{
	pgmm_2pc_gid g;
	char buf[PGMM_2PC_GID_MAX];

	g = sample(); g.pos = 3;                 ck_assert_int_eq(pgmm_2pc_gid_format(buf, sizeof buf, &g), -1);
	g = sample(); g.pos = -1;                ck_assert_int_eq(pgmm_2pc_gid_format(buf, sizeof buf, &g), -1);
	g = sample(); g.n = 0; g.pos = 0;        ck_assert_int_eq(pgmm_2pc_gid_format(buf, sizeof buf, &g), -1);
	g = sample(); g.label = -1;              ck_assert_int_eq(pgmm_2pc_gid_format(buf, sizeof buf, &g), -1);
	g = sample(); g.kind = 'C';              ck_assert_int_eq(pgmm_2pc_gid_format(buf, sizeof buf, &g), -1);
	g = sample(); strcpy(g.id, "0123456789ABCDEF"); ck_assert_int_eq(pgmm_2pc_gid_format(buf, sizeof buf, &g), -1);
	g = sample(); strcpy(g.decider, "");     ck_assert_int_eq(pgmm_2pc_gid_format(buf, sizeof buf, &g), -1);
	/* a quote or a colon in a name would break the SQL or the parse */
	g = sample(); strcpy(g.decider, "m'3");  ck_assert_int_eq(pgmm_2pc_gid_format(buf, sizeof buf, &g), -1);
	g = sample(); strcpy(g.decider, "a:b");  ck_assert_int_eq(pgmm_2pc_gid_format(buf, sizeof buf, &g), -1);
	ck_assert_int_eq(pgmm_2pc_gid_format(NULL, 10, &g), -1);
	ck_assert_int_eq(pgmm_2pc_gid_format(buf, sizeof buf, NULL), -1);
}
END_TEST

START_TEST(test_parse_refuses_others)
{
	static const char *const bad[] = {
		"",
		"pgmm:",
		"pgmm_bc:0123456789abcdef",              /* the router's old broadcast ids */
		"pgmm:42:1a2b3c4d",                      /* the admin's old catalog ids */
		"pgmm:c:42:0123456789abcdef:1/3",        /* no decider */
		"pgmm:c:42:0123456789abcdef:1/3:",       /* empty decider */
		"pgmm:c:42:0123456789abcdef:3/3:m3",     /* pos >= n */
		"pgmm:c:42:0123456789abcdef:0/0:m3",
		"pgmm:c:042:0123456789abcdef:1/3:m3",    /* leading zero */
		"pgmm:c:-1:0123456789abcdef:1/3:m3",
		"pgmm:c:+1:0123456789abcdef:1/3:m3",
		"pgmm:c:99999999999999999999:0123456789abcdef:1/3:m3",  /* overflow */
		"pgmm:c:42:0123456789abcde:1/3:m3",      /* 15 hex digits */
		"pgmm:c:42:0123456789abcdefa:1/3:m3",    /* 17 */
		"pgmm:c:42:0123456789ABCDEF:1/3:m3",
		"pgmm:c:42:0123456789abcdef:1/3:m 3",
		"pgmm:c:42:0123456789abcdef:1/3:m3'; DROP TABLE x; --",
		"pgmm:cc:42:0123456789abcdef:1/3:m3",
		"pgmm:C:42:0123456789abcdef:1/3:m3",
		"pgmm::42:0123456789abcdef:1/3:m3",
		"pgmm:c:42:0123456789abcdef:1/9999999:m3",
		"PGMM:c:42:0123456789abcdef:1/3:m3",
		"xpgmm:c:42:0123456789abcdef:1/3:m3",
		"pgmm:c:42:0123456789abcdef:1/3:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	pgmm_2pc_gid g;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(pgmm_2pc_gid_parse(bad[i], &g) == -1, "took \"%s\" for a pgmm gid", bad[i]);
	ck_assert_int_eq(pgmm_2pc_gid_parse(NULL, &g), -1);
	ck_assert_int_eq(pgmm_2pc_gid_parse("pgmm:c:42:0123456789abcdef:1/3:m3", NULL), -1);
}
END_TEST

/* pgmm_2pc_init: one random id shared by every participant, the last
 * participant decides, each position gets its own gid. */
START_TEST(test_init_gids)
{
	pgmm_2pc_part parts[3] = { { NULL, "m1" }, { NULL, "m2" }, { NULL, "m3" } };
	pgmm_2pc t, t2;
	pgmm_buf err;
	char a[PGMM_2PC_GID_MAX], b[PGMM_2PC_GID_MAX];
	pgmm_2pc_gid ga, gb;

	pgmm_buf_init(&err);
	ck_assert_int_eq(pgmm_2pc_init(&t, PGMM_2PC_BROADCAST, 0, parts, 3, &err), 0);
	pgmm_2pc_gid_of(&t, 0, a, sizeof a);
	pgmm_2pc_gid_of(&t, 2, b, sizeof b);
	ck_assert_int_eq(pgmm_2pc_gid_parse(a, &ga), 0);
	ck_assert_int_eq(pgmm_2pc_gid_parse(b, &gb), 0);
	ck_assert_str_eq(ga.id, gb.id);
	ck_assert_int_eq(ga.pos, 0);
	ck_assert_int_eq(gb.pos, 2);
	ck_assert_str_eq(ga.decider, "m3");
	ck_assert_int_eq(ga.n, 3);
	ck_assert_int_eq(t.state[0], PGMM_2PC_OPEN);
	ck_assert_int_eq(pgmm_2pc_init(&t2, PGMM_2PC_BROADCAST, 0, parts, 3, &err), 0);
	ck_assert_str_ne(t.gid.id, t2.gid.id);
	pgmm_2pc_free(&t);
	pgmm_2pc_free(&t2);
	pgmm_2pc_free(&t2);   /* twice: harmless */

	/* no participant, a name that cannot go in a gid */
	ck_assert_int_eq(pgmm_2pc_init(&t, PGMM_2PC_CATALOG, 1, parts, 0, &err), -1);
	parts[2].name = "bad'name";
	pgmm_buf_reset(&err);
	ck_assert_int_eq(pgmm_2pc_init(&t, PGMM_2PC_CATALOG, 1, parts, 3, &err), -1);
	ck_assert_ptr_nonnull(strstr(pgmm_buf_str(&err), "bad'name"));
	pgmm_buf_free(&err);
	ck_assert_str_eq(pgmm_2pc_kind_name('c'), "catalog change");
	ck_assert_str_eq(pgmm_2pc_kind_name('b'), "broadcast");
	ck_assert_str_eq(pgmm_2pc_kind_name('?'), "unknown");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("twophase");
	TCase *tc = tcase_create("gid");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_format_parse_roundtrip);
	tcase_add_test(tc, test_longest_fits);
	tcase_add_test(tc, test_format_refuses_bad_fields);
	tcase_add_test(tc, test_parse_refuses_others);
	tcase_add_test(tc, test_init_gids);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
