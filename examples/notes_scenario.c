/*
 * notes_scenario.c -- the course notes' scenario on a pgmm cluster.
 *
 *   estados      a small reference table (one owner, copied to every master)
 *   expedientes  distributed by id
 *   documentos   distributed by expediente_id, colocated with expedientes:
 *                an expediente and its documentos live on the same master,
 *                so they are written in one local transaction.
 *
 * The program creates the schema when it is missing (admin API), then
 * through the router: inserts the estados, creates expedientes with IDs from
 * pgmm_next_id together with their documentos (one transaction each),
 * updates and reads them by key, and prints which master ran each
 * statement.  It exits non-zero on any unexpected result, so it doubles as
 * a smoke test.
 *
 * Usage: notes_scenario [CONNINFO]     (default: $PGMM_CONNINFO)
 * Build: see examples/Makefile (pkg-config pgmm).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pgmm.h>

static int failures;

#define CHECK(cond, ...) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "notes_scenario: unexpected: " __VA_ARGS__); \
			fputc('\n', stderr); \
			failures++; \
		} \
	} while (0)

/* Run sql (with text params), print where it ran; NULL on error. */
static PGresult *
run(PGMMconn *c, const char *label, const char *sql, int n, const char *const *params)
{
	PGresult *r = pgmm_exec_params(c, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
	{
		fprintf(stderr, "notes_scenario: %s failed: %s", label,
		        r ? pgmm_result_error_message(r) : pgmm_error_message(c));
		failures++;
		PQclear(r);
		return NULL;
	}
	printf("  %-44s -> %s\n", label, pgmm_last_node(c) ? pgmm_last_node(c) : "(no master: deferred)");
	return r;
}

static void
run0(PGMMconn *c, const char *label, const char *sql, int n, const char *const *params)
{
	PQclear(run(c, label, sql, n, params));
}

/* Create and distribute the tables unless the catalog already has them. */
static int
ensure_schema(const char *conninfo)
{
	PGMMconn *c = pgmm_connect(conninfo);
	PGresult *r;
	PGMMadmin *a;
	int have;

	if (pgmm_status(c) != CONNECTION_OK)
	{
		fprintf(stderr, "notes_scenario: %s", pgmm_error_message(c));
		pgmm_finish(c);
		return -1;
	}
	r = pgmm_exec(c, "SELECT count(*) FROM pgmm.tables WHERE table_name IN ('estados', 'expedientes', 'documentos')");
	have = r && PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
	PQclear(r);
	pgmm_finish(c);
	if (have == 3)
		return 0;
	if (have != 0)
	{
		fprintf(stderr, "notes_scenario: the cluster has part of the schema (%d of 3 tables); drop it first\n", have);
		return -1;
	}
	printf("creating the schema on every master\n");
	a = pgmm_admin_connect(conninfo);
	if (!pgmm_admin_ok(a) ||
	    pgmm_admin_ddl(a, "CREATE TABLE public.estados (id int PRIMARY KEY, nombre text NOT NULL)") != 0 ||
	    pgmm_admin_ddl(a, "CREATE TABLE public.expedientes (id bigint PRIMARY KEY, "
	                   "estado_id int NOT NULL REFERENCES public.estados (id), titulo text NOT NULL, "
	                   "creado timestamptz NOT NULL DEFAULT now())") != 0 ||
	    pgmm_admin_ddl(a, "CREATE TABLE public.documentos (expediente_id bigint NOT NULL "
	                   "REFERENCES public.expedientes (id), id bigint NOT NULL, nombre text NOT NULL, "
	                   "PRIMARY KEY (expediente_id, id))") != 0 ||
	    pgmm_admin_reference(a, "public.estados", NULL) != 0 ||
	    pgmm_admin_distribute(a, "public.expedientes", "id", 16, NULL) != 0 ||
	    pgmm_admin_distribute(a, "public.documentos", "expediente_id", 0, "public.expedientes") != 0)
	{
		fprintf(stderr, "notes_scenario: schema setup failed: %s\n", pgmm_admin_error(a));
		pgmm_admin_finish(a);
		return -1;
	}
	pgmm_admin_finish(a);
	return 0;
}

/* Reference rows are written on their owner and replicated: wait until
 * every master has them (reads under pgmm_read=any visit each master). */
static void
wait_estados(const char *conninfo, int want)
{
	char ci[2048];
	PGMMconn *c;
	int ok = 0, tries;

	snprintf(ci, sizeof ci, "%s pgmm_read=any", conninfo);
	c = pgmm_connect(ci);
	for (tries = 0; tries < 400 && ok < 2 * pgmm_node_count(c); tries++)
	{
		PGresult *r = pgmm_exec(c, "SELECT count(*) FROM estados");

		if (r && PQresultStatus(r) == PGRES_TUPLES_OK && atoi(PQgetvalue(r, 0, 0)) >= want)
			ok++;
		else
		{
			struct timespec ts = {0, 50 * 1000 * 1000};

			ok = 0;
			nanosleep(&ts, NULL);
		}
		PQclear(r);
	}
	CHECK(ok >= 2 * pgmm_node_count(c), "estados did not reach every master");
	pgmm_finish(c);
}

int
main(int argc, char **argv)
{
	const char *conninfo = argc > 1 ? argv[1] : getenv("PGMM_CONNINFO");
	static const char *const estados[] = {"Aguascalientes", "Jalisco", "Nuevo León", "Oaxaca", "Yucatán"};
	char ci[2048];
	PGMMconn *c;
	PGresult *r;
	int64_t exp_ids[6];
	int i, j;

	if (conninfo == NULL)
	{
		fprintf(stderr, "usage: notes_scenario CONNINFO (or set PGMM_CONNINFO)\n");
		return 2;
	}
	if (ensure_schema(conninfo) < 0)
		return 1;
	/* Read-your-writes: reads by key go to the key's owner. */
	snprintf(ci, sizeof ci, "%s pgmm_read=owner", conninfo);
	c = pgmm_connect(ci);
	if (pgmm_status(c) != CONNECTION_OK)
	{
		fprintf(stderr, "notes_scenario: %s", pgmm_error_message(c));
		pgmm_finish(c);
		return 1;
	}
	printf("connected through %s; %d masters, map epoch %" PRId64 "\n", pgmm_home_node(c), pgmm_node_count(c),
	       pgmm_map_epoch(c));

	printf("estados (reference table: written on its owner)\n");
	for (i = 0; i < 5; i++)
	{
		char id[8];
		const char *p[2] = {id, estados[i]};

		snprintf(id, sizeof id, "%d", i + 1);
		run0(c, "INSERT estado", "INSERT INTO estados (id, nombre) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
		     2, p);
	}
	wait_estados(conninfo, 5);

	printf("expedientes with their documentos, one transaction each\n");
	for (i = 0; i < 6; i++)
	{
		char id[24], estado[8], titulo[64], bound[64];

		if (pgmm_next_id(c, "expedientes", &exp_ids[i]) != 0)
		{
			fprintf(stderr, "notes_scenario: pgmm_next_id: %s", pgmm_error_message(c));
			failures++;
			break;
		}
		snprintf(id, sizeof id, "%" PRId64, exp_ids[i]);
		snprintf(estado, sizeof estado, "%d", i % 5 + 1);
		snprintf(titulo, sizeof titulo, "Expediente %d", i + 1);
		run0(c, "BEGIN", "BEGIN", 0, NULL);
		{
			const char *p[3] = {id, estado, titulo};

			run0(c, "INSERT expediente (binds the transaction)",
			     "INSERT INTO expedientes (id, estado_id, titulo) VALUES ($1, $2, $3)", 3, p);
		}
		snprintf(bound, sizeof bound, "%s", pgmm_last_node(c) ? pgmm_last_node(c) : "?");
		CHECK(strcmp(bound, pgmm_key_owner(c, "expedientes", id)) == 0, "expediente %s not on its owner", id);
		for (j = 0; j < 3; j++)
		{
			int64_t doc;
			char did[24], nombre[64];
			const char *p[3] = {id, did, nombre};

			/* Any unique number will do for a document's own id. */
			if (pgmm_next_id(c, NULL, &doc) != 0)
			{
				failures++;
				break;
			}
			snprintf(did, sizeof did, "%" PRId64, doc);
			snprintf(nombre, sizeof nombre, "documento %d.%d", i + 1, j + 1);
			run0(c, "  INSERT documento (colocated)",
			     "INSERT INTO documentos (expediente_id, id, nombre) VALUES ($1, $2, $3)", 3, p);
			CHECK(pgmm_last_node(c) && strcmp(pgmm_last_node(c), bound) == 0, "documento left the transaction's master");
		}
		run0(c, "COMMIT", "COMMIT", 0, NULL);
		CHECK(pgmm_transaction_status(c) == PQTRANS_IDLE, "transaction still open after COMMIT");
	}

	printf("updates and reads by key\n");
	for (i = 0; i < 6; i++)
	{
		char id[24], titulo[64];
		const char *p[2] = {id, titulo};

		snprintf(id, sizeof id, "%" PRId64, exp_ids[i]);
		snprintf(titulo, sizeof titulo, "Expediente %d (revisado)", i + 1);
		r = run(c, "UPDATE expediente by id", "UPDATE expedientes SET titulo = $2 WHERE id = $1", 2, p);
		CHECK(r && strcmp(PQcmdTuples(r), "1") == 0, "UPDATE of expediente %s changed %s rows", id,
		      r ? PQcmdTuples(r) : "?");
		PQclear(r);
		r = run(c, "SELECT expediente by id", "SELECT titulo, estado_id FROM expedientes WHERE id = $1", 1, p);
		CHECK(r && PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), titulo) == 0, "expediente %s reads back wrong", id);
		PQclear(r);
		r = run(c, "SELECT its documentos", "SELECT count(*) FROM documentos WHERE expediente_id = $1", 1, p);
		CHECK(r && strcmp(PQgetvalue(r, 0, 0), "3") == 0, "expediente %s has %s documentos", id,
		      r ? PQgetvalue(r, 0, 0) : "?");
		PQclear(r);
	}

	printf("a join inside a transaction, on the expediente's master\n");
	{
		char id[24];
		const char *p[1] = {id};

		snprintf(id, sizeof id, "%" PRId64, exp_ids[0]);
		run0(c, "BEGIN", "BEGIN", 0, NULL);
		run0(c, "SELECT ... FOR UPDATE (binds)", "SELECT id FROM expedientes WHERE id = $1 FOR UPDATE", 1, p);
		r = run(c, "SELECT join with estados and documentos",
		        "SELECT e.titulo, s.nombre, count(d.id) FROM expedientes e JOIN estados s ON s.id = e.estado_id "
		        "JOIN documentos d ON d.expediente_id = e.id WHERE e.id = $1 GROUP BY 1, 2", 1, p);
		CHECK(r && PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 2), "3") == 0, "join of expediente %s", id);
		if (r && PQntuples(r) == 1)
			printf("    %s, %s: %s documentos\n", PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2));
		PQclear(r);
		run0(c, "COMMIT", "COMMIT", 0, NULL);
	}

	printf("a write for two owners in one transaction is refused\n");
	{
		int64_t other;
		char id0[24], id1[24];
		const char *p0[1] = {id0}, *p1[1] = {id1};

		char owner0[64];

		snprintf(id0, sizeof id0, "%" PRId64, exp_ids[0]);
		snprintf(owner0, sizeof owner0, "%s", pgmm_key_owner(c, "expedientes", id0));
		other = 0;
		for (i = 1; i < 6 && other == 0; i++)
		{
			snprintf(id1, sizeof id1, "%" PRId64, exp_ids[i]);
			if (strcmp(pgmm_key_owner(c, "expedientes", id1), owner0) != 0)
				other = exp_ids[i];
		}
		run0(c, "BEGIN", "BEGIN", 0, NULL);
		run0(c, "UPDATE expediente 1", "UPDATE expedientes SET titulo = titulo WHERE id = $1", 1, p0);
		if (other)
		{
			r = pgmm_exec_params(c, "UPDATE expedientes SET titulo = titulo WHERE id = $1", 1, NULL, p1, NULL, NULL, 0);
			CHECK(r && pgmm_result_sqlstate(r) && strcmp(pgmm_result_sqlstate(r), PGMM_SQLSTATE_CROSS_OWNER) == 0,
			      "expected PM002");
			printf("  %-44s -> refused: %s", "UPDATE expediente of another master",
			       r ? pgmm_result_error_message(r) : "?\n");
			PQclear(r);
			CHECK(pgmm_transaction_status(c) == PQTRANS_INERROR, "transaction not failed after PM002");
		}
		run0(c, "ROLLBACK", "ROLLBACK", 0, NULL);
	}

	pgmm_finish(c);
	if (failures)
	{
		fprintf(stderr, "notes_scenario: %d unexpected results\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
