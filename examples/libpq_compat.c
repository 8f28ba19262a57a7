/*
 * libpq_compat.c -- an ordinary libpq program: nothing in it knows pgmm.
 *
 * Built normally it talks to one PostgreSQL server.  Built with
 *     cc -include pgmm_compat.h libpq_compat.c $(pkg-config --cflags --libs pgmm)
 * the same source talks to a pgmm cluster: each INSERT/UPDATE goes to the
 * master that owns its row, the transaction runs on one master, and the
 * UPDATE without a key reaches every master, its PQcmdTuples counting them
 * all.
 *
 * Usage: libpq_compat CONNINFO [FIRST_KEY [COUNT]]
 * Against a cluster, add pgmm_read=owner to CONNINFO: the program reads its
 * own writes right away, so reads must go to the owner of each row (the
 * default, pgmm_read=local, reads the home master, which receives other
 * masters' rows by replication a moment later).
 * Needs a table public.items (id bigint PRIMARY KEY, name text, qty int)
 * (in a pgmm cluster: distributed by id).  Exit status 0 when every step
 * gave the expected answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

static int failures;

static void
fail(PGconn *conn, PGresult *res, const char *what)
{
	fprintf(stderr, "libpq_compat: %s failed: %s", what,
	        res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
	failures++;
}

static int
command_ok(PGconn *conn, PGresult *res, const char *what)
{
	if (res == NULL || (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK))
	{
		fail(conn, res, what);
		PQclear(res);
		return 0;
	}
	return 1;
}

int
main(int argc, char **argv)
{
	const char *conninfo = argc > 1 ? argv[1] : "";
	long long first = argc > 2 ? atoll(argv[2]) : 1000;
	int count = argc > 3 ? atoi(argv[3]) : 20;
	PGconn *conn;
	PGresult *res;
	char key[32], qty[32], *lit;
	const char *params[3];
	long long total = 0;
	int i;

	conn = PQconnectdb(conninfo);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "libpq_compat: connection failed: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return 1;
	}
	printf("connected, server version %d\n", PQserverVersion(conn));

	/* Rows one by one, with parameters. */
	for (i = 0; i < count; i++)
	{
		snprintf(key, sizeof key, "%lld", first + i);
		snprintf(qty, sizeof qty, "%d", i + 1);
		params[0] = key;
		params[1] = "widget";
		params[2] = qty;
		res = PQexecParams(conn, "INSERT INTO items (id, name, qty) VALUES ($1, $2, $3)", 3, NULL, params,
		                   NULL, NULL, 0);
		if (!command_ok(conn, res, "INSERT"))
			continue;
		if (strcmp(PQcmdTuples(res), "1") != 0)
			fail(conn, res, "INSERT row count");
		PQclear(res);
		total += i + 1;
	}
	printf("inserted %d rows\n", count);

	/* A prepared UPDATE and a transaction. */
	res = PQprepare(conn, "bump", "UPDATE items SET qty = qty + 1 WHERE id = $1", 1, NULL);
	if (command_ok(conn, res, "PREPARE"))
		PQclear(res);
	res = PQexec(conn, "BEGIN");
	if (command_ok(conn, res, "BEGIN"))
		PQclear(res);
	if (PQtransactionStatus(conn) != PQTRANS_INTRANS)
		fail(conn, NULL, "transaction status after BEGIN");
	snprintf(key, sizeof key, "%lld", first);
	params[0] = key;
	res = PQexecPrepared(conn, "bump", 1, params, NULL, NULL, 0);
	if (command_ok(conn, res, "EXECUTE bump"))
	{
		if (strcmp(PQcmdTuples(res), "1") != 0)
			fail(conn, res, "UPDATE row count");
		PQclear(res);
		total += 1;
	}
	res = PQexec(conn, "COMMIT");
	if (command_ok(conn, res, "COMMIT"))
		PQclear(res);
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		fail(conn, NULL, "transaction status after COMMIT");

	/* Read back by key, with an escaped literal. */
	lit = PQescapeLiteral(conn, "widget", 6);
	for (i = 0; lit && i < count; i++)
	{
		char sql[256];

		snprintf(sql, sizeof sql, "SELECT name, qty FROM items WHERE id = %lld AND name = %s", first + i, lit);
		res = PQexec(conn, sql);
		if (!command_ok(conn, res, "SELECT"))
			continue;
		if (PQntuples(res) != 1 || atoi(PQgetvalue(res, 0, 1)) != i + 1 + (i == 0))
		{
			fprintf(stderr, "libpq_compat: row %lld: got %d rows\n", first + i, PQntuples(res));
			failures++;
		}
		PQclear(res);
	}
	PQfreemem(lit);
	printf("read back %d rows, qty total %lld\n", count, total);

	/* An UPDATE without the key: every row, wherever it is. */
	snprintf(key, sizeof key, "%lld", first);
	snprintf(qty, sizeof qty, "%lld", first + count - 1);
	params[0] = key;
	params[1] = qty;
	res = PQexecParams(conn, "UPDATE items SET name = 'gadget' WHERE id BETWEEN $1 AND $2", 2, NULL, params,
	                   NULL, NULL, 0);
	if (command_ok(conn, res, "UPDATE without key"))
	{
		printf("renamed %s rows\n", PQcmdTuples(res));
		if (atoi(PQcmdTuples(res)) != count)
			fail(conn, res, "UPDATE without key row count");
		PQclear(res);
	}

	/* Errors still come back as errors. */
	res = PQexec(conn, "SELECT * FROM no_such_table");
	if (PQresultStatus(res) != PGRES_FATAL_ERROR)
		fail(conn, res, "an error for a missing table");
	else
		printf("missing table reported: %s", PQerrorMessage(conn));
	PQclear(res);

	PQfinish(conn);
	if (failures)
	{
		fprintf(stderr, "libpq_compat: %d failures\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
