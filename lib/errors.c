/*
 * errors.c -- the errors pgmm decides and the connection's error.
 *
 * One error buffer per connection (pgmm_error_message) with the SQLSTATE
 * of the failing call (pgmm_error_sqlstate): cleared when an operation
 * starts (pgmm_op_begin), then only appended to, through pgmm_conn_error.
 * Errors pgmm decides itself (PM002, PM004, PM005, invalid keys, 25P02)
 * are raised by the server function pgmm.raise on a master that is up, so
 * they are real libpq error results with every field set and abort a
 * transaction as PostgreSQL's own errors do; only when no master is
 * reachable is the result made locally.
 *
 * Called by every file of the connection (conn_int.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-events.h>

#include "conn_int.h"

/*
 * The connection's error (pgmm_error_message, pgmm_error_sqlstate): one
 * buffer, cleared when an operation starts (pgmm_conn_error_clear) and only
 * appended to after that, through pgmm_conn_error.  sqlstate (NULL: none known)
 * becomes the operation's SQLSTATE unless an earlier error of the same
 * operation set one.  A line feed ends every message.
 */
void
pgmm_conn_error_clear(PGMMconn *c)
{
	pgmm_buf_reset(&c->err);
	c->err_sqlstate[0] = '\0';
}

void
pgmm_conn_error(PGMMconn *c, const char *sqlstate, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pgmm_buf_vprintf(&c->err, fmt, ap);
	va_end(ap);
	if (c->err.len > 0 && pgmm_buf_ok(&c->err) && c->err.data[c->err.len - 1] != '\n')
		pgmm_buf_append(&c->err, "\n");
	if (sqlstate && sqlstate[0] && c->err_sqlstate[0] == '\0')
		snprintf(c->err_sqlstate, sizeof c->err_sqlstate, "%s", sqlstate);
}

int
pgmm_res_is_error(const PGresult *r)
{
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	return st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR;
}

int
pgmm_res_ok(const PGresult *r)
{
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY;
}

int
pgmm_res_sqlstate_is(const PGresult *r, const char *code)
{
	const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	return s && strcmp(s, code) == 0;
}

/* Keep the error text of a failed statement in the connection's buffer, as
 * libpq's PQerrorMessage does. */
void
pgmm_conn_error_result(PGMMconn *c, const PGresult *r, PGconn *pq)
{
	if (r && !pgmm_res_is_error(r))
		return;
	if (r)
		pgmm_conn_error(c, PQresultErrorField(r, PG_DIAG_SQLSTATE), "%s", pgmm_result_error_message(r));
	else if (pq)
		pgmm_conn_error(c, PQstatus(pq) == CONNECTION_OK ? "53200" : "08006", "%s", PQerrorMessage(pq));
	else
		pgmm_conn_error(c, "53200", "out of memory");
}

/*
 * An empty result carrying pgmm's event procedure (so that instance data
 * attached to it is freed by PQclear: libpq only tells procedures whose
 * create event has fired).
 */
static PGresult *
make_result(PGconn *pq, ExecStatusType st)
{
	PGresult *r = PQmakeEmptyPGresult(pq, st);

	if (r && pq && !PQfireResultCreateEvents(pq, r))
	{
		PQclear(r);
		return NULL;
	}
	return r;
}

PGresult *
pgmm_local_ok(PGMMconn *c, ExecStatusType st, const char *cmd_status)
{
	PGresult *r = make_result(pgmm_link_some_pq(c), st);

	if (r == NULL)
	{
		pgmm_conn_error(c, "53200", "out of memory");
		return NULL;
	}
	if (cmd_status)
		(void) pgmm_result_set_cmd(r, cmd_status, "");
	return r;
}

/* An error result made without any master (none reachable). */
PGresult *
pgmm_local_error(PGMMconn *c, const char *sqlstate, const char *message, PGconn *pq)
{
	PGresult *r = make_result(pq ? pq : pgmm_link_some_pq(c), PGRES_FATAL_ERROR);

	/* First the result (message may be the connection's own error text,
	 * which appending could move). */
	if (r)
		(void) pgmm_result_set_error(r, sqlstate, message);
	if (message == c->err.data)
	{
		/* Already in the buffer: only the SQLSTATE is new. */
		if (sqlstate && c->err_sqlstate[0] == '\0')
			snprintf(c->err_sqlstate, sizeof c->err_sqlstate, "%s", sqlstate);
	}
	else
		pgmm_conn_error(c, sqlstate, "%s", message);
	return r;
}

/*
 * An error pgmm decides: raised by pgmm.raise on the transaction's master
 * (which aborts the transaction, as any error does), else on the home
 * master or any master that is up; made locally when none is.
 */
static int
send_raise(PGconn *pq, const void *arg)
{
	return PQsendQueryParams(pq, "SELECT pgmm.raise($1, $2, $3, $4)", 4, NULL, (const char *const *) arg, NULL,
	                         NULL, 0);
}

PGresult *
pgmm_router_error(PGMMconn *c, const char *sqlstate, const char *message, const char *detail, const char *hint)
{
	const char *vals[4];
	pgmm_buf why;
	PGresult *r;
	int i = -1;

	pgmm_buf_init(&why);
	if (c->txn == PGMM_TXN_OPEN && c->bound >= 0 && !c->txn_lost)
	{
		int lost;

		if (pgmm_link_get(c, c->bound, &why, &lost))
			i = c->bound;
		else if (lost)
		{
			c->txn_lost = 1;
			c->txn_failed = 1;
		}
	}
	if (i < 0)
	{
		pgmm_buf_reset(&why);
		i = pgmm_link_any(c, c->home, &why);
	}
	if (c->txn == PGMM_TXN_OPEN && (c->bound < 0 || i != c->bound))
		c->txn_failed = 1;
	pgmm_buf_reset(&c->last_node);
	if (i < 0)
	{
		pgmm_buf msg;

		pgmm_buf_init(&msg);
		pgmm_buf_append(&msg, message);
		if (detail && detail[0])
			pgmm_buf_printf(&msg, "\nDETAIL:  %s", detail);
		pgmm_buf_printf(&msg, "\n(no master is reachable to report this error: %s)", pgmm_buf_str(&why));
		r = pgmm_local_error(c, sqlstate, pgmm_buf_str(&msg), NULL);
		pgmm_buf_free(&msg);
		pgmm_buf_free(&why);
		return r;
	}
	pgmm_buf_free(&why);
	vals[0] = sqlstate;
	vals[1] = message;
	vals[2] = detail && detail[0] ? detail : NULL;
	vals[3] = hint && hint[0] ? hint : NULL;
	{
		int timed_out;

		r = pgmm_link_run(c, i, send_raise, vals, &timed_out);
		if (timed_out)
		{
			/* That master hung: pgmm decides the error alone. */
			pgmm_link_mark_down(c, i);
			return pgmm_local_error(c, sqlstate, message, NULL);
		}
	}
	pgmm_conn_error_result(c, r, c->links[i].pq);
	if (r && !pgmm_res_is_error(r))
	{
		/* pgmm.raise always raises; a result without error is a broken catalog. */
		PQclear(r);
		r = pgmm_local_error(c, sqlstate, message, NULL);
	}
	return r;
}

/* 25P02, the answer to anything but ROLLBACK inside an aborted transaction. */
PGresult *
pgmm_aborted_error(PGMMconn *c)
{
	return pgmm_router_error(c, "25P02", "current transaction is aborted, commands ignored until end of transaction block",
	                    NULL, NULL);
}

PGresult *
pgmm_down_error(PGMMconn *c, const char *what, const pgmm_buf *why)
{
	pgmm_buf m;
	PGresult *r;

	pgmm_buf_init(&m);
	pgmm_buf_printf(&m, "pgmm: %s: %s (SQLSTATE %s)", what, pgmm_buf_str(why), PGMM_SQLSTATE_NODE_DOWN);
	r = pgmm_router_error(c, PGMM_SQLSTATE_NODE_DOWN, pgmm_buf_str(&m), NULL,
	                 "Statements that need this master fail until it is back; the others keep working. "
	                 "pgmm reconnects on the next statement that needs it.");
	/* Keep the full story in the connection's message too. */
	if (pgmm_buf_ok(&m) && c->err.len == 0)
		pgmm_conn_error(c, PGMM_SQLSTATE_NODE_DOWN, "%s", pgmm_buf_str(&m));
	pgmm_buf_free(&m);
	return r;
}

const char *
pgmm_error_sqlstate(const PGMMconn *c)
{
	if (c == NULL || c->err_sqlstate[0] == '\0')
		return NULL;
	return c->err_sqlstate;
}

const char *
pgmm_error_message(const PGMMconn *c)
{
	if (c == NULL)
		return "pgmm: no connection (NULL handle; out of memory?)\n";
	return pgmm_buf_str(&c->err);
}

const char *
pgmm_result_sqlstate(const PGresult *res)
{
	return res ? pgmm_result_error_field(res, PG_DIAG_SQLSTATE) : NULL;
}

int
pgmm_check_statement_args(PGMMconn *c, const char *sql, int nparams)
{
	if (sql == NULL)
	{
		pgmm_conn_error(c, "22023", "pgmm: command string is a null pointer");
		return -1;
	}
	if (nparams < 0 || nparams > 65535)
	{
		pgmm_conn_error(c, "54023", "pgmm: number of parameters must be between 0 and 65535");
		return -1;
	}
	return 0;
}
