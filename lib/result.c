/*
 * result.c -- what pgmm knows about a PGresult that libpq does not.
 *
 * A broadcast UPDATE/DELETE returns one master's result, but its command
 * status should count the rows of every master; a deferred BEGIN returns a
 * result made locally, whose command status should still say BEGIN; when no
 * master is reachable, a local error result should still carry a SQLSTATE.
 * libpq offers no setter for these, so pgmm keeps them as instance data of
 * an event procedure registered on every connection it opens (libpq copies
 * the procedure onto each result and tells it when the result is cleared).
 * pgmm_result_cmd_status / _cmd_tuples / _error_message / _error_field
 * read them and fall back to libpq's own accessors.
 *
 * Called by link.c (registering the event procedure on each link),
 * errors.c / exec.c / broadcast.c (attaching data) and applications
 * (pgmm_result_* in pgmm.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-events.h>

#include "router_int.h"

typedef struct pgmm_resinfo
{
	char  cmd_status[64];
	char  cmd_tuples[24];
	int   has_cmd;
	char  sqlstate[6];
	char *message;        /* local error message (malloc'd) */
} pgmm_resinfo;

static int
pgmm_event_proc(PGEventId evtId, void *evtInfo, void *passThrough)
{
	(void) passThrough;
	if (evtId == PGEVT_RESULTDESTROY)
	{
		PGEventResultDestroy *e = evtInfo;
		pgmm_resinfo *ri = PQresultInstanceData(e->result, pgmm_event_proc);

		if (ri)
		{
			free(ri->message);
			free(ri);
		}
	}
	return 1;
}

int
pgmm_result_register(PGconn *pq)
{
	return PQregisterEventProc(pq, pgmm_event_proc, "pgmm", NULL) ? 0 : -1;
}

static pgmm_resinfo *
info_of(PGresult *res, int create)
{
	pgmm_resinfo *ri;

	if (res == NULL)
		return NULL;
	ri = PQresultInstanceData(res, pgmm_event_proc);
	if (ri || !create)
		return ri;
	ri = calloc(1, sizeof *ri);
	if (ri == NULL)
		return NULL;
	if (!PQresultSetInstanceData(res, pgmm_event_proc, ri))
	{
		free(ri);
		return NULL;
	}
	return ri;
}

int
pgmm_result_set_cmd(PGresult *res, const char *cmd_status, const char *cmd_tuples)
{
	pgmm_resinfo *ri = info_of(res, 1);

	if (ri == NULL)
		return -1;
	snprintf(ri->cmd_status, sizeof ri->cmd_status, "%s", cmd_status ? cmd_status : "");
	snprintf(ri->cmd_tuples, sizeof ri->cmd_tuples, "%s", cmd_tuples ? cmd_tuples : "");
	ri->has_cmd = 1;
	return 0;
}

int
pgmm_result_set_error(PGresult *res, const char *sqlstate, const char *message)
{
	pgmm_resinfo *ri = info_of(res, 1);
	size_t n;

	if (ri == NULL)
		return -1;
	snprintf(ri->sqlstate, sizeof ri->sqlstate, "%s", sqlstate ? sqlstate : "");
	free(ri->message);
	/* libpq's messages end with a newline: so do pgmm's. */
	n = message ? strlen(message) : 0;
	ri->message = malloc(n + 2);
	if (ri->message == NULL)
		return -1;
	memcpy(ri->message, message ? message : "", n);
	ri->message[n] = '\n';
	ri->message[n + 1] = '\0';
	return 0;
}

char *
pgmm_result_cmd_status(PGresult *res)
{
	pgmm_resinfo *ri = info_of(res, 0);

	if (ri && ri->has_cmd)
		return ri->cmd_status;
	return PQcmdStatus(res);
}

char *
pgmm_result_cmd_tuples(PGresult *res)
{
	pgmm_resinfo *ri = info_of(res, 0);

	if (ri && ri->has_cmd)
		return ri->cmd_tuples;
	return PQcmdTuples(res);
}

char *
pgmm_result_error_message(const PGresult *res)
{
	pgmm_resinfo *ri = info_of((PGresult *) res, 0);

	if (ri && ri->message)
		return ri->message;
	return PQresultErrorMessage(res);
}

char *
pgmm_result_error_field(const PGresult *res, int fieldcode)
{
	pgmm_resinfo *ri = info_of((PGresult *) res, 0);

	if (ri && ri->message)
	{
		if (fieldcode == PG_DIAG_SQLSTATE)
			return ri->sqlstate[0] ? ri->sqlstate : NULL;
		if (fieldcode == PG_DIAG_MESSAGE_PRIMARY)
			return ri->message;
		if (fieldcode == PG_DIAG_SEVERITY || fieldcode == PG_DIAG_SEVERITY_NONLOCALIZED)
			return (char *) "ERROR";
		return NULL;
	}
	return PQresultErrorField(res, fieldcode);
}
