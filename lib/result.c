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
 *
 * The same accessors leave pgmm's own PL/pgSQL frames out of an error's
 * CONTEXT ("PL/pgSQL function pgmm.raise(...) line 4 at RAISE", the guard's
 * "PL/pgSQL function pgmm.guard() ...": PostgreSQL cannot be told to omit
 * them, see pgmm_context_strip in util.c); the cleaned context and message
 * are computed on first use and kept with the result.
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
	int   cleaned;        /* clean_context / clean_message computed */
	char *clean_context;  /* CONTEXT without pgmm's frames; NULL: unchanged */
	char *clean_message;  /* the error message with that context */
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
			free(ri->clean_context);
			free(ri->clean_message);
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

/* The result's error without pgmm's CONTEXT frames: ri (created when
 * needed) with clean_context/clean_message set when there was one; NULL
 * when the result has none (or on out of memory: then libpq's text is
 * shown unchanged, which loses nothing). */
static pgmm_resinfo *
cleaned_info(const PGresult *res)
{
	pgmm_resinfo *ri = info_of((PGresult *) res, 0);
	const char *ctx;
	char *clean = NULL;

	if (res == NULL || (ri && ri->message))
		return NULL;
	if (ri && ri->cleaned)
		return ri->clean_context ? ri : NULL;
	ctx = PQresultErrorField(res, PG_DIAG_CONTEXT);
	if (ctx == NULL || strstr(ctx, "pgmm.") == NULL || pgmm_context_strip(ctx, &clean) <= 0)
	{
		if (ri)
			ri->cleaned = 1;
		return NULL;
	}
	if (ri == NULL && (ri = info_of((PGresult *) res, 1)) == NULL)
	{
		free(clean);
		return NULL;
	}
	/* The message holds the context unless the connection's context
	 * visibility left it out; then the message is already clean. */
	if (strstr(PQresultErrorMessage(res), ctx) != NULL)
		ri->clean_message = pgmm_errmsg_replace_context(PQresultErrorMessage(res), ctx, clean);
	else
		ri->clean_message = strdup(PQresultErrorMessage(res));
	if (ri->clean_message == NULL)
	{
		free(clean);
		return NULL;      /* not cached: retried on the next call */
	}
	ri->clean_context = clean;
	ri->cleaned = 1;
	return ri;
}

char *
pgmm_result_error_message(const PGresult *res)
{
	pgmm_resinfo *ri = info_of((PGresult *) res, 0);

	if (ri && ri->message)
		return ri->message;
	if ((ri = cleaned_info(res)) != NULL)
		return ri->clean_message;
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
	if (fieldcode == PG_DIAG_CONTEXT && (ri = cleaned_info(res)) != NULL)
		return ri->clean_context[0] ? ri->clean_context : NULL;
	return PQresultErrorField(res, fieldcode);
}
