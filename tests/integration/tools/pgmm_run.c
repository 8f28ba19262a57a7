/*
 * pgmm_run -- run statements through libpgmm, for tests that need a real
 * client process (one they can kill, or preload a shim into).
 *
 *   pgmm_run CONNINFO SQL [SQL ...]
 *
 * Prints one line per statement: the result status, the command status
 * and, on error, the SQLSTATE and message.  Exits 0 when every statement
 * succeeded, 1 when one failed (it goes on with the next), 2 on usage or
 * connection errors.
 */
#include <stdio.h>
#include <string.h>

#include "pgmm.h"

int
main(int argc, char **argv)
{
	PGMMconn *c;
	int i, rc = 0;

	if (argc < 3)
	{
		fprintf(stderr, "usage: pgmm_run CONNINFO SQL [SQL ...]\n");
		return 2;
	}
	c = pgmm_connect(argv[1]);
	if (pgmm_status(c) != CONNECTION_OK)
	{
		fprintf(stderr, "pgmm_run: %s\n", pgmm_error_message(c));
		pgmm_finish(c);
		return 2;
	}
	for (i = 2; i < argc; i++)
	{
		PGresult *r = pgmm_exec(c, argv[i]);
		ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY)
			printf("%s %s\n", PQresStatus(st), r ? PQcmdStatus(r) : "");
		else
		{
			const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

			printf("%s %s %s", PQresStatus(st), state ? state : "-",
			       r ? PQresultErrorMessage(r) : pgmm_error_message(c));
			rc = 1;
		}
		fflush(stdout);
		PQclear(r);
	}
	pgmm_finish(c);
	return rc;
}
