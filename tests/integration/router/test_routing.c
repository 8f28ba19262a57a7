/*
 * test_routing.c -- every routed statement lands on the owner of its row.
 *
 * Keys of types int4, int8, text and uuid, through literals, text
 * parameters, binary parameters and prepared statements; INSERT without
 * the key (balanced); reference tables; reads under each policy;
 * broadcast UPDATE/DELETE and their totals; SET replayed on masters
 * connected later; search_path changes.  For every write the row is found
 * on the master pgmm_last_node names, in a shard the catalog says that
 * master owns (tableoid), and no PM001 ever reaches the caller.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_common.h"

/* The row of table WHERE cond is on the master that ran the statement,
 * in a shard it owns. */
static void
check_on_owner(PGMMconn *c, const char *table, const char *cond)
{
	const char *ran = pgmm_last_node(c);
	char *owner;
	int i;

	ck_assert_msg(ran != NULL, "no last node after a write to %s", table);
	i = rt_index(ran);
	ck_assert_int_ge(i, 0);
	owner = rt_row_owner(i, table, cond);
	ck_assert_msg(owner != NULL, "%s WHERE %s: no row on %s, which ran the statement", table, cond, ran);
	ck_assert_msg(strcmp(owner, ran) == 0, "%s WHERE %s: written on %s but its shard is owned by %s", table, cond,
	              ran, owner);
	free(owner);
}

static void
key_cond(char *buf, size_t cap, const char *col, const char *literal)
{
	snprintf(buf, cap, "%s = %s", col, literal);
}

/* SQL literal of s (quotes doubled) into buf. */
static void
lit(char *buf, size_t cap, const char *s)
{
	size_t k = 0;

	buf[k++] = '\'';
	for (; *s && k + 3 < cap; s++)
	{
		if (*s == '\'')
			buf[k++] = '\'';
		buf[k++] = *s;
	}
	buf[k++] = '\'';
	buf[k] = '\0';
}

static const char *const text_keys[] = {
	"", "a", "hello", "hello ", " hello", "it's", "héllo wörld", "emoji 😀", "trailing  ", "Z",
	"user100@example.org", "0", "-1", "a\\b", NULL
};

static void
int_keys(long long *out, int *n, int is4)
{
	static const long long base[] = {0, 1, 2, 3, 42, -1, -42, 1000, 123456789};
	int k = 0, i;

	for (i = 0; i < (int) (sizeof base / sizeof base[0]); i++)
		out[k++] = base[i];
	if (is4)
	{
		out[k++] = 2147483647LL;
		out[k++] = -2147483647LL - 1;
	}
	else
	{
		out[k++] = 9223372036854775807LL;
		out[k++] = -9223372036854775807LL - 1;
		out[k++] = 4294967296LL;
	}
	for (i = 0; i < 12; i++)
		out[k++] = 7000 + i * 13;
	*n = k;
}

static void
uuid_key(char *buf, size_t cap, int i)
{
	snprintf(buf, cap, "%08x-%04x-4%03x-8%03x-%012x", (unsigned) (i * 2654435761u), (unsigned) (i * 7) & 0xffff,
	         (unsigned) i & 0xfff, (unsigned) (i * 3) & 0xfff, (unsigned) (i * 40503u));
}

static void
uuid_bin(unsigned char out[16], const char *s)
{
	int k = 0;

	while (*s && k < 16)
	{
		unsigned v;

		if (*s == '-')
		{
			s++;
			continue;
		}
		sscanf(s, "%2x", &v);
		out[k++] = (unsigned char) v;
		s += 2;
	}
}

/* ---------------------------------------------------------------- literals */

START_TEST(test_literal_keys)
{
	PGMMconn *c = rt_connect(NULL);
	long long keys[32];
	char sql[512], cond[256], l[128];
	int n, i, t;

	for (t = 0; t < 2; t++)
	{
		const char *table = t ? "t8" : "t4";

		int_keys(keys, &n, !t);
		for (i = 0; i < n; i++)
		{
			snprintf(sql, sizeof sql, "INSERT INTO %s (id, v) VALUES (%lld, 'lit')", table, keys[i]);
			rt_run(c, sql);
			snprintf(cond, sizeof cond, "id = %lld", keys[i]);
			check_on_owner(c, table, cond);
			snprintf(sql, sizeof sql, "UPDATE %s SET v = 'lit2' WHERE id = %lld", table, keys[i]);
			rt_run(c, sql);
			ck_assert_str_eq(pgmm_cmd_tuples(c), "1");
			check_on_owner(c, table, cond);
		}
	}
	for (i = 0; text_keys[i]; i++)
	{
		lit(l, sizeof l, text_keys[i]);
		snprintf(sql, sizeof sql, "INSERT INTO tt (k, v) VALUES (%s, 'lit')", l);
		rt_run(c, sql);
		key_cond(cond, sizeof cond, "k", l);
		check_on_owner(c, "tt", cond);
		snprintf(sql, sizeof sql, "DELETE FROM tt WHERE k = %s", l);
		rt_run(c, sql);
		ck_assert_str_eq(pgmm_cmd_tuples(c), "1");
	}
	for (i = 0; i < 25; i++)
	{
		char u[40];

		uuid_key(u, sizeof u, i + 1);
		snprintf(sql, sizeof sql, "INSERT INTO tu (k, v) VALUES ('%s', 'lit')", u);
		rt_run(c, sql);
		snprintf(cond, sizeof cond, "k = '%s'", u);
		check_on_owner(c, "tu", cond);
	}
	pgmm_finish(c);
}
END_TEST

/* ---------------------------------------------------------------- text params */

START_TEST(test_text_params)
{
	PGMMconn *c = rt_connect(NULL);
	long long keys[32];
	char cond[256], val[64], l[128];
	int n, i;

	int_keys(keys, &n, 0);
	for (i = 0; i < n; i++)
	{
		const char *v[2];
		PGresult *r;

		snprintf(val, sizeof val, "%lld", keys[i] ^ 0x5555);
		v[0] = val;
		v[1] = "param";
		r = pgmm_exec_params(c, "INSERT INTO t8 (id, v) VALUES ($1, $2)", 2, NULL, v, NULL, NULL, 0);
		rt_ok(r, c);
		PQclear(r);
		snprintf(cond, sizeof cond, "id = %s", val);
		check_on_owner(c, "t8", cond);
		r = pgmm_exec_params(c, "SELECT v FROM t8 WHERE id = $1", 1, NULL, v, NULL, NULL, 0);
		rt_ok(r, c);
		PQclear(r);
	}
	for (i = 0; text_keys[i]; i++)
	{
		const char *v[1] = {text_keys[i]};
		PGresult *r = pgmm_exec_params(c, "INSERT INTO tt (k, v) VALUES ($1, 'param')", 1, NULL, v, NULL, NULL, 0);

		rt_ok(r, c);
		PQclear(r);
		lit(l, sizeof l, text_keys[i]);
		key_cond(cond, sizeof cond, "k", l);
		check_on_owner(c, "tt", cond);
		r = pgmm_exec_params(c, "UPDATE tt SET v = 'p2' WHERE k = $1", 1, NULL, v, NULL, NULL, 0);
		rt_ok(r, c);
		ck_assert_str_eq(pgmm_result_cmd_tuples(r), "1");
		PQclear(r);
		check_on_owner(c, "tt", cond);
	}
	for (i = 100; i < 120; i++)
	{
		char u[40];
		const char *v[1] = {u};
		PGresult *r;

		uuid_key(u, sizeof u, i);
		r = pgmm_exec_params(c, "INSERT INTO tu (k, v) VALUES ($1, 'param')", 1, NULL, v, NULL, NULL, 0);
		rt_ok(r, c);
		PQclear(r);
		snprintf(cond, sizeof cond, "k = '%s'", u);
		check_on_owner(c, "tu", cond);
	}
	pgmm_finish(c);
}
END_TEST

/* ---------------------------------------------------------------- binary params */

START_TEST(test_binary_params)
{
	PGMMconn *c = rt_connect(NULL);
	long long keys[32];
	char cond[256];
	int n, i, k;

	/* int4 */
	int_keys(keys, &n, 1);
	for (i = 0; i < n; i++)
	{
		uint32_t be;
		const char *v[1] = {(const char *) &be};
		int len[1] = {4}, fmt[1] = {1};
		Oid type[1] = {23};
		PGresult *r;

		if (keys[i] + 17 > 2147483647LL)
			continue;
		be = htonl((uint32_t) (int32_t) (keys[i] + 17));
		r = pgmm_exec_params(c, "INSERT INTO t4 (id, v) VALUES ($1, 'bin')", 1, type, v, len, fmt, 0);
		rt_ok(r, c);
		PQclear(r);
		snprintf(cond, sizeof cond, "id = %lld", keys[i] + 17);
		check_on_owner(c, "t4", cond);
	}
	/* int8, typed and untyped (0 = the key's type) */
	int_keys(keys, &n, 0);
	for (i = 0; i < n; i++)
	{
		unsigned char be[8];
		long long key = keys[i] ^ 0x7777;
		const char *v[1] = {(const char *) be};
		int len[1] = {8}, fmt[1] = {1};
		Oid type[1] = {i % 2 ? 20 : 0};
		PGresult *r;

		for (k = 0; k < 8; k++)
			be[k] = (unsigned char) ((unsigned long long) key >> (56 - 8 * k));
		r = pgmm_exec_params(c, "INSERT INTO t8 (id, v) VALUES ($1, 'bin')", 1, type, v, len, fmt, 0);
		rt_ok(r, c);
		PQclear(r);
		snprintf(cond, sizeof cond, "id = %lld", key);
		check_on_owner(c, "t8", cond);
	}
	/* text */
	for (i = 0; text_keys[i]; i++)
	{
		char key[64], l[128];
		const char *v[1] = {key};
		int len[1], fmt[1] = {1};
		Oid type[1] = {25};
		PGresult *r;

		snprintf(key, sizeof key, "bin:%s", text_keys[i]);
		len[0] = (int) strlen(key);
		r = pgmm_exec_params(c, "INSERT INTO tt (k, v) VALUES ($1, 'bin')", 1, type, v, len, fmt, 0);
		rt_ok(r, c);
		PQclear(r);
		lit(l, sizeof l, key);
		key_cond(cond, sizeof cond, "k", l);
		check_on_owner(c, "tt", cond);
	}
	/* uuid */
	for (i = 200; i < 220; i++)
	{
		char u[40];
		unsigned char b[16];
		const char *v[1] = {(const char *) b};
		int len[1] = {16}, fmt[1] = {1};
		Oid type[1] = {2950};
		PGresult *r;

		uuid_key(u, sizeof u, i);
		uuid_bin(b, u);
		r = pgmm_exec_params(c, "INSERT INTO tu (k, v) VALUES ($1, 'bin')", 1, type, v, len, fmt, 0);
		rt_ok(r, c);
		PQclear(r);
		snprintf(cond, sizeof cond, "k = '%s'", u);
		check_on_owner(c, "tu", cond);
	}
	pgmm_finish(c);
}
END_TEST

/* ---------------------------------------------------------------- prepared */

START_TEST(test_prepared)
{
	PGMMconn *c = rt_connect(NULL);
	PGresult *r;
	char val[32], cond[64];
	int i, used[RT_MAX_NODES] = {0}, nused = 0;

	r = pgmm_prepare(c, "ins", "INSERT INTO t8 (id, v) VALUES ($1, $2)", 2, NULL);
	rt_ok(r, c);
	PQclear(r);
	r = pgmm_prepare(c, "upd", "UPDATE t8 SET v = $2 WHERE id = $1", 0, NULL);
	rt_ok(r, c);
	PQclear(r);
	r = pgmm_prepare(c, "sel", "SELECT v FROM t8 WHERE id = $1", 0, NULL);
	rt_ok(r, c);
	PQclear(r);
	/* A bad statement fails at prepare time, as with libpq. */
	r = pgmm_prepare(c, "bad", "SELEC 1", 0, NULL);
	rt_fails(r, "42601");
	PQclear(r);
	/* The same name twice: the server's error. */
	r = pgmm_prepare(c, "ins", "SELECT 1", 0, NULL);
	rt_fails(r, "42P05");
	PQclear(r);
	for (i = 0; i < 40; i++)
	{
		const char *v[2] = {val, "prep"};
		int k;

		snprintf(val, sizeof val, "%d", 50000 + i);
		r = pgmm_exec_prepared(c, "ins", 2, v, NULL, NULL, 0);
		rt_ok(r, c);
		PQclear(r);
		snprintf(cond, sizeof cond, "id = %s", val);
		check_on_owner(c, "t8", cond);
		k = rt_index(pgmm_last_node(c));
		if (!used[k]++)
			nused++;
		v[1] = "prep2";
		r = pgmm_exec_prepared(c, "upd", 2, v, NULL, NULL, 0);
		rt_ok(r, c);
		ck_assert_str_eq(PQcmdTuples(r), "1");
		PQclear(r);
		check_on_owner(c, "t8", cond);
	}
	ck_assert_int_eq(nused, rt.n);	/* 40 keys reach every owner */
	/* Unknown name: the server's 26000. */
	r = pgmm_exec_prepared(c, "nosuch", 0, NULL, NULL, NULL, 0);
	rt_fails(r, "26000");
	PQclear(r);
	/* Unnamed statement. */
	r = pgmm_prepare(c, "", "INSERT INTO t8 (id, v) VALUES ($1, 'unnamed')", 1, NULL);
	rt_ok(r, c);
	PQclear(r);
	{
		const char *v[1] = {"60001"};

		r = pgmm_exec_prepared(c, "", 1, v, NULL, NULL, 0);
		rt_ok(r, c);
		PQclear(r);
		check_on_owner(c, "t8", "id = 60001");
	}
	pgmm_finish(c);
}
END_TEST

/* ---------------------------------------------------------------- no key */

START_TEST(test_insert_without_key)
{
	PGMMconn *c = rt_connect(NULL);
	int used[RT_MAX_NODES] = {0}, nused = 0, i;

	for (i = 0; i < 3 * rt.n; i++)
	{
		PGresult *r = pgmm_exec(c, "INSERT INTO tn (v) VALUES ('nokey') RETURNING id");
		char cond[64];
		int k;

		rt_ok(r, c);
		ck_assert_int_eq(PQntuples(r), 1);
		snprintf(cond, sizeof cond, "id = %s", PQgetvalue(r, 0, 0));
		PQclear(r);
		check_on_owner(c, "tn", cond);
		k = rt_index(pgmm_last_node(c));
		if (!used[k]++)
			nused++;
	}
	/* Balanced: every master took some, none took them all. */
	ck_assert_int_eq(nused, rt.n);
	for (i = 0; i < rt.n; i++)
		ck_assert_int_eq(used[i], 3);
	/* DEFAULT VALUES and an explicit DEFAULT too. */
	rt_run(c, "INSERT INTO tn DEFAULT VALUES");
	rt_run(c, "INSERT INTO tn (id, v) VALUES (DEFAULT, 'd'), (DEFAULT, 'e')");
	pgmm_finish(c);
}
END_TEST

/* ---------------------------------------------------------------- reference */

START_TEST(test_reference_table)
{
	PGMMconn *c = rt_connect(NULL);
	const char *owner = rt.name[1];
	char *v;

	rt_run(c, "INSERT INTO estados (id, nombre) VALUES (10, 'Jalisco')");
	ck_assert_str_eq(pgmm_last_node(c), owner);
	rt_run(c, "UPDATE estados SET nombre = 'Nayarit' WHERE id = 10");
	ck_assert_str_eq(pgmm_last_node(c), owner);
	v = rt_value(1, "SELECT nombre FROM estados WHERE id = 10");
	ck_assert_str_eq(v, "Nayarit");
	free(v);
	/* Replicated to every master. */
	ck_assert(rt_wait_value(0, "SELECT nombre FROM estados WHERE id = 10", "Nayarit", 20000));
	ck_assert(rt_wait_value(rt.n - 1, "SELECT nombre FROM estados WHERE id = 10", "Nayarit", 20000));
	rt_run(c, "DELETE FROM estados WHERE id = 10");
	ck_assert_str_eq(pgmm_last_node(c), owner);
	ck_assert_str_eq(pgmm_cmd_tuples(c), "1");
	pgmm_finish(c);
}
END_TEST

/* ---------------------------------------------------------------- reads */

START_TEST(test_read_policies)
{
	PGMMconn *c;
	PGresult *r;
	int used[RT_MAX_NODES] = {0}, nused = 0, i;
	char *owner;

	rt_run(c = rt_connect(NULL), "INSERT INTO t8 (id, v) VALUES (777001, 'read')");
	pgmm_finish(c);
	/* local (default): the home master. */
	c = rt_connect(NULL);
	for (i = 0; i < 4; i++)
	{
		r = pgmm_exec(c, "SELECT count(*) FROM t8");
		rt_ok(r, c);
		PQclear(r);
		ck_assert_str_eq(pgmm_last_node(c), rt.name[0]);
	}
	r = pgmm_exec(c, "SELECT 1");
	rt_ok(r, c);
	PQclear(r);
	ck_assert_str_eq(pgmm_last_node(c), rt.name[0]);
	pgmm_finish(c);
	/* any: round-robin over the masters. */
	c = rt_connect("pgmm_read=any");
	for (i = 0; i < 2 * rt.n; i++)
	{
		int k;

		r = pgmm_exec(c, "SELECT count(*) FROM t8");
		rt_ok(r, c);
		PQclear(r);
		k = rt_index(pgmm_last_node(c));
		if (!used[k]++)
			nused++;
	}
	ck_assert_int_eq(nused, rt.n);
	/* Statements on tables pgmm does not manage stay home. */
	r = pgmm_exec(c, "SELECT count(*) FROM pg_class");
	rt_ok(r, c);
	PQclear(r);
	ck_assert_str_eq(pgmm_last_node(c), rt.name[0]);
	pgmm_finish(c);
	/* owner: read-your-writes by key. */
	c = rt_connect("pgmm_read=owner");
	r = pgmm_exec(c, "SELECT v FROM t8 WHERE id = 777001");
	rt_ok(r, c);
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "read");
	PQclear(r);
	owner = rt_row_owner(rt_index(pgmm_last_node(c)), "t8", "id = 777001");
	ck_assert_ptr_nonnull(owner);
	ck_assert_str_eq(owner, pgmm_last_node(c));
	free(owner);
	{
		const char *v[1] = {"777001"};

		r = pgmm_exec_params(c, "SELECT v FROM t8 WHERE id = $1", 1, NULL, v, NULL, NULL, 0);
		rt_ok(r, c);
		ck_assert_int_eq(PQntuples(r), 1);
		PQclear(r);
	}
	r = pgmm_exec(c, "SELECT * FROM estados");
	rt_ok(r, c);
	PQclear(r);
	ck_assert_str_eq(pgmm_last_node(c), rt.name[1]);
	/* No key: home. */
	r = pgmm_exec(c, "SELECT count(*) FROM t8");
	rt_ok(r, c);
	PQclear(r);
	ck_assert_str_eq(pgmm_last_node(c), rt.name[0]);
	pgmm_finish(c);
}
END_TEST

/* ---------------------------------------------------------------- broadcast */

START_TEST(test_broadcast)
{
	PGMMconn *c = rt_connect(NULL);
	PGresult *r;
	char sql[256], want[32];
	int i, nb = 0;

	rt_run(c, "INSERT INTO t8 (id, v) SELECT g, 'seed' FROM generate_series(1, 0) g");	/* nothing, fallback */
	for (i = 0; i < 30; i++)
	{
		snprintf(sql, sizeof sql, "INSERT INTO t8 (id, v, n) VALUES (%d, '%s', 0)", 900000 + i, i % 3 ? "bc" : "bd");
		rt_run(c, sql);
		nb += i % 3 != 0;
	}
	/* UPDATE without key: every owner, total reported three ways. */
	r = pgmm_exec(c, "UPDATE t8 SET n = n + 1 WHERE v = 'bc'");
	rt_ok(r, c);
	snprintf(want, sizeof want, "%d", nb);
	ck_assert_str_eq(pgmm_result_cmd_tuples(r), want);
	ck_assert_str_eq(pgmm_cmd_tuples(c), want);
	snprintf(sql, sizeof sql, "UPDATE %d", nb);
	ck_assert_str_eq(pgmm_result_cmd_status(r), sql);
	PQclear(r);
	ck_assert_ptr_nonnull(strchr(pgmm_last_node(c), ','));
	/* Every master agrees once replication caught up. */
	snprintf(want, sizeof want, "%d", nb);
	for (i = 0; i < rt.n; i++)
		ck_assert(rt_wait_value(i, "SELECT count(*) FROM t8 WHERE v = 'bc' AND n = 1", want, 20000));
	/* With RETURNING: the rows of every master in one result. */
	r = pgmm_exec(c, "UPDATE t8 SET n = 7 WHERE v = 'bc' RETURNING id, n");
	rt_ok(r, c);
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	ck_assert_int_eq(PQntuples(r), nb);
	ck_assert_int_eq(PQnfields(r), 2);
	ck_assert_str_eq(PQgetvalue(r, 0, 1), "7");
	ck_assert_str_eq(pgmm_result_cmd_tuples(r), want);
	PQclear(r);
	/* With a parameter, and DELETE. */
	{
		const char *v[1] = {"bd"};

		r = pgmm_exec_params(c, "DELETE FROM t8 WHERE v = $1", 1, NULL, v, NULL, NULL, 0);
		rt_ok(r, c);
		snprintf(want, sizeof want, "%d", 30 - nb);
		ck_assert_str_eq(pgmm_result_cmd_tuples(r), want);
		PQclear(r);
	}
	/* A broadcast that fails on one master rolls back on all. */
	r = pgmm_exec(c, "UPDATE t8 SET n = 1 / (n - 7) WHERE v = 'bc'");
	rt_fails(r, "22012");
	PQclear(r);
	for (i = 0; i < rt.n; i++)
	{
		snprintf(want, sizeof want, "%d", nb);
		ck_assert(rt_wait_value(i, "SELECT count(*) FROM t8 WHERE v = 'bc' AND n = 7", want, 20000));
	}
	ck_assert_int_eq(pgmm_transaction_status(c), PQTRANS_IDLE);
	pgmm_finish(c);
}
END_TEST

/* Two-phase broadcast (pgmm_2pc=1). */
START_TEST(test_broadcast_2pc)
{
	PGMMconn *c = rt_connect("pgmm_2pc=1");
	PGresult *r;
	int i;

	for (i = 0; i < 9; i++)
	{
		char sql[128];

		snprintf(sql, sizeof sql, "INSERT INTO t8 (id, v, n) VALUES (%d, 'twopc', 0)", 910000 + i);
		rt_run(c, sql);
	}
	r = pgmm_exec(c, "UPDATE t8 SET n = 2 WHERE v = 'twopc'");
	rt_ok(r, c);
	ck_assert_str_eq(pgmm_result_cmd_tuples(r), "9");
	PQclear(r);
	for (i = 0; i < rt.n; i++)
	{
		/* Nothing left prepared, neither under the module's ids nor the old ones. */
		char *v = rt_value(i, "SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'pgmm:%' OR gid LIKE 'pgmm_bc:%'");

		ck_assert_str_eq(v, "0");
		free(v);
	}
	pgmm_finish(c);
}
END_TEST

/* Issue #7: with pgmm_2pc=1 a broadcast commits through the two-phase-commit
 * module.  One owner refuses at PREPARE (a deferred constraint trigger
 * there fails): the module rolls every master back and the router answers
 * 40000 naming the two-phase commit -- nothing changed anywhere, nothing
 * left prepared.  (Its own PREPARE loop returned that master's error.) */
static void
direct_ok(int i, const char *sql)
{
	PGconn *d = rt_direct(i);
	PGresult *r = PQexec(d, sql);

	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s on %s: %s", sql, rt.name[i], PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(d);
}

START_TEST(test_broadcast_2pc_refused)
{
	PGMMconn *c = rt_connect("pgmm_2pc=1");
	const char *o;
	PGresult *r;
	int i, x;

	for (i = 0; i < 9; i++)
	{
		char sql[128];

		snprintf(sql, sizeof sql, "INSERT INTO t8 (id, v, n) VALUES (%d, 'twopc_fail', 0)", 920000 + i);
		rt_run(c, sql);
	}
	o = pgmm_key_owner(c, "t8", "920000");
	ck_assert_ptr_nonnull(o);
	x = rt_index(o);
	direct_ok(x, "CREATE FUNCTION public.rt_fail_at_prepare() RETURNS trigger LANGUAGE plpgsql AS "
	          "$$BEGIN RAISE EXCEPTION 'rt: refused at PREPARE'; END$$");
	direct_ok(x, "CREATE CONSTRAINT TRIGGER rt_fail_at_prepare AFTER UPDATE ON public.t8 DEFERRABLE INITIALLY "
	          "DEFERRED FOR EACH ROW WHEN (NEW.v = 'twopc_fail') EXECUTE FUNCTION public.rt_fail_at_prepare()");
	r = pgmm_exec(c, "UPDATE t8 SET n = 5 WHERE v = 'twopc_fail'");
	rt_fails(r, "40000");
	ck_assert_msg(strstr(PQresultErrorMessage(r), "two-phase commit") != NULL, "%s", PQresultErrorMessage(r));
	PQclear(r);
	ck_assert_str_eq(pgmm_error_sqlstate(c), "40000");
	for (i = 0; i < rt.n; i++)
	{
		char *v = rt_value(i, "SELECT count(*) FROM t8 WHERE v = 'twopc_fail' AND n = 5");

		ck_assert_str_eq(v, "0");
		free(v);
		v = rt_value(i, "SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'pgmm:%'");
		ck_assert_str_eq(v, "0");
		free(v);
	}
	direct_ok(x, "DROP TRIGGER rt_fail_at_prepare ON public.t8");
	direct_ok(x, "DROP FUNCTION public.rt_fail_at_prepare()");
	/* Without the failing trigger the same broadcast commits everywhere. */
	r = pgmm_exec(c, "UPDATE t8 SET n = 5 WHERE v = 'twopc_fail'");
	rt_ok(r, c);
	ck_assert_str_eq(pgmm_result_cmd_tuples(r), "9");
	PQclear(r);
	pgmm_finish(c);
}
END_TEST

/* ---------------------------------------------------------------- session */

START_TEST(test_set_replay)
{
	PGMMconn *c = rt_connect("pgmm_read=any");
	int i, seen = 0;

	/* Before any other master is connected. */
	rt_run(c, "SET statement_timeout = '12345ms'");
	rt_run(c, "SET application_name = 'first'");
	rt_run(c, "SET application_name = 'pgmm_test'");	/* replaces the first */
	for (i = 0; i < 2 * rt.n; i++)
	{
		PGresult *r = pgmm_exec(c, "SELECT current_setting('statement_timeout'), current_setting('application_name'), "
		                        "count(*) FROM estados");

		rt_ok(r, c);
		if (PQntuples(r) == 1)
		{
			ck_assert_str_eq(PQgetvalue(r, 0, 0), "12345ms");
			ck_assert_str_eq(PQgetvalue(r, 0, 1), "pgmm_test");
			seen++;
		}
		PQclear(r);
	}
	ck_assert_int_eq(seen, 2 * rt.n);
	/* RESET forgets it everywhere. */
	rt_run(c, "RESET statement_timeout");
	for (i = 0; i < 2 * rt.n; i++)
	{
		PGresult *r = pgmm_exec(c, "SELECT current_setting('statement_timeout'), count(*) FROM estados");

		rt_ok(r, c);
		if (PQntuples(r) == 1)
			ck_assert_str_eq(PQgetvalue(r, 0, 0), "0");
		PQclear(r);
	}
	pgmm_finish(c);
}
END_TEST

START_TEST(test_search_path)
{
	PGMMconn *c = rt_connect(NULL);
	PGresult *r;

	rt_run(c, "SET search_path = pg_catalog");
	r = pgmm_exec(c, "INSERT INTO t8 (id, v) VALUES (31337, 'sp')");
	rt_fails(r, "42P01");
	PQclear(r);
	rt_run(c, "SET search_path = public");
	rt_run(c, "INSERT INTO t8 (id, v) VALUES (31337, 'sp')");
	check_on_owner(c, "t8", "id = 31337");
	/* Qualified names never depend on it. */
	rt_run(c, "SET search_path = pg_catalog");
	rt_run(c, "UPDATE public.t8 SET v = 'sp2' WHERE id = 31337");
	check_on_owner(c, "t8", "id = 31337");
	pgmm_finish(c);
}
END_TEST

/* Issue #7 (bug 3): SET "search_path" (quoted name) is a search_path
 * change like the unquoted one: re-read, and forgotten by RESET. */
START_TEST(test_search_path_quoted)
{
	PGMMconn *c = rt_connect(NULL);
	char home[64];			/* a copy: c is finished and reconnected below */
	long long k;
	char sql[128], *v;
	PGresult *r;

	snprintf(home, sizeof home, "%s", pgmm_home_node(c));

	for (k = 41000; k < 42000; k++)
	{
		const char *o;

		snprintf(sql, sizeof sql, "%lld", k);
		o = pgmm_key_owner(c, "t8", sql);
		ck_assert_msg(o != NULL, "%s", pgmm_error_message(c));
		if (strcmp(o, home) != 0)
			break;
	}
	rt_run(c, "SET search_path = pg_catalog");
	rt_run(c, "SET \"search_path\" = public");
	/* In a transaction nothing is redirected: the router itself must know
	 * that t8 is public.t8 again and send the row to its owner. */
	rt_run(c, "BEGIN");
	snprintf(sql, sizeof sql, "INSERT INTO t8 (id, v) VALUES (%lld, 'qsp')", k);
	r = pgmm_exec(c, sql);
	rt_ok(r, c);
	PQclear(r);
	ck_assert_str_ne(pgmm_last_node(c), home);
	rt_run(c, "COMMIT");
	snprintf(sql, sizeof sql, "id = %lld", k);
	check_on_owner(c, "t8", sql);
	pgmm_finish(c);

	/* RESET "search_path" forgets the replayed SET: a master connected
	 * afterwards has the default path. */
	c = rt_connect(NULL);
	rt_run(c, "SET \"search_path\" = pg_catalog, public");
	rt_run(c, "RESET search_path");
	for (k = 42000; k < 43000; k++)
	{
		const char *o;

		snprintf(sql, sizeof sql, "%lld", k);
		o = pgmm_key_owner(c, "t8", sql);
		if (o && strcmp(o, home) != 0)
			break;
	}
	snprintf(sql, sizeof sql, "SELECT current_setting('search_path') FROM t8 WHERE id = %lld FOR UPDATE", k);
	r = pgmm_exec(c, sql);
	rt_ok(r, c);
	PQclear(r);
	ck_assert_str_ne(pgmm_last_node(c), home);
	r = pgmm_exec(c, "BEGIN");
	PQclear(r);
	snprintf(sql, sizeof sql, "INSERT INTO t8 (id, v) VALUES (%lld, current_setting('search_path'))", k);
	rt_run(c, sql);
	rt_run(c, "COMMIT");
	snprintf(sql, sizeof sql, "SELECT v FROM t8 WHERE id = %lld", k);
	v = rt_value(rt_index(pgmm_last_node(c)), sql);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "\"$user\", public");
	free(v);
	pgmm_finish(c);
}
END_TEST

/* No plan cache at all: the same routing. */
START_TEST(test_no_plan_cache)
{
	PGMMconn *c = rt_connect("pgmm_plan_cache=0 pgmm_lazy=0");
	int i;

	for (i = 0; i < 10; i++)
	{
		char val[16], cond[32];
		const char *v[1] = {val};
		PGresult *r;

		snprintf(val, sizeof val, "%d", 333000 + i);
		r = pgmm_exec_params(c, "INSERT INTO t8 (id, v) VALUES ($1, 'nc')", 1, NULL, v, NULL, NULL, 0);
		rt_ok(r, c);
		PQclear(r);
		snprintf(cond, sizeof cond, "id = %s", val);
		check_on_owner(c, "t8", cond);
	}
	pgmm_finish(c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("router-routing");
	TCase *tc = tcase_create("routing");
	int failed;

	rt_setup("rt_routing");
	rt_ddl("CREATE TABLE public.estados (id int PRIMARY KEY, nombre text NOT NULL)");
	rt_ddl("CREATE TABLE public.t4 (id int4 PRIMARY KEY, v text)");
	rt_ddl("CREATE TABLE public.t8 (id int8 PRIMARY KEY, v text, n int DEFAULT 0)");
	rt_ddl("CREATE TABLE public.tt (k text PRIMARY KEY, v text)");
	rt_ddl("CREATE TABLE public.tn (id int8 PRIMARY KEY, v text)");
	rt_ddl("CREATE TABLE public.tu (k uuid PRIMARY KEY, v text)");
	rt_reference("public.estados", rt.name[1]);
	rt_distribute("public.t4", "id", 8, NULL);
	rt_distribute("public.t8", "id", 16, NULL);
	rt_distribute("public.tt", "k", 6, NULL);
	rt_distribute("public.tu", "k", 5, NULL);
	rt_distribute("public.tn", "id", 16, NULL);

	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_literal_keys);
	tcase_add_test(tc, test_text_params);
	tcase_add_test(tc, test_binary_params);
	tcase_add_test(tc, test_prepared);
	tcase_add_test(tc, test_insert_without_key);
	tcase_add_test(tc, test_reference_table);
	tcase_add_test(tc, test_read_policies);
	tcase_add_test(tc, test_broadcast);
	tcase_add_test(tc, test_broadcast_2pc);
	tcase_add_test(tc, test_broadcast_2pc_refused);
	tcase_add_test(tc, test_set_replay);
	tcase_add_test(tc, test_search_path);
	tcase_add_test(tc, test_search_path_quoted);
	tcase_add_test(tc, test_no_plan_cache);
	suite_add_tcase(s, tc);
	failed = rt_main(s);
	rt_teardown();
	return failed ? 1 : 0;
}
