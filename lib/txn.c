/*
 * txn.c -- the transaction: BEGIN is deferred (its text kept) until the
 * first statement that needs a master, which binds it there (BEGIN and the
 * queued SAVEPOINT / SET LOCAL / ... sent first); afterwards the state
 * follows the bound master's (pgmm_txn_sync after every statement).
 *
 * Called by exec.c, prepared.c, conn.c, nextid.c, errors.c (conn_int.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_int.h"

static void
strv_free(char **v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
pgmm_txn_reset(PGMMconn *c)
{
	c->txn = PGMM_TXN_NONE;
	c->bound = -1;
	c->txn_failed = 0;
	c->txn_lost = 0;
	free(c->begin_sql);
	c->begin_sql = NULL;
	strv_free(c->queue, c->nqueue);
	c->queue = NULL;
	c->nqueue = 0;
}

int
pgmm_txn_queue(PGMMconn *c, const char *sql, size_t len)
{
	char **q = realloc(c->queue, (size_t) (c->nqueue + 1) * sizeof(char *));

	if (q == NULL)
		return -1;
	c->queue = q;
	q[c->nqueue] = strndup(sql, len);
	if (q[c->nqueue] == NULL)
		return -1;
	c->nqueue++;
	return 0;
}

/* After a statement ran on link i: follow its transaction state. */
void
pgmm_txn_sync(PGMMconn *c, int i)
{
	PGTransactionStatusType st;

	if (i < 0 || c->links[i].pq == NULL)
		return;
	st = PQtransactionStatus(c->links[i].pq);
	if (c->txn == PGMM_TXN_OPEN && c->bound == i)
	{
		if (st == PQTRANS_IDLE)
			pgmm_txn_reset(c);
		else if (st == PQTRANS_UNKNOWN)
		{
			c->txn_lost = 1;
			c->txn_failed = 1;
		}
	}
	else if (c->txn == PGMM_TXN_NONE && (st == PQTRANS_INTRANS || st == PQTRANS_INERROR))
	{
		/* A statement pgmm did not recognise opened a transaction. */
		c->txn = PGMM_TXN_OPEN;
		c->bound = i;
	}
}

/*
 * Bind the open transaction to master i: send the deferred BEGIN and the
 * statements queued since.  NULL on success; else the error result to
 * return (the transaction is then failed).
 */
PGresult *
pgmm_txn_bind(PGMMconn *c, int i)
{
	pgmm_buf why;
	PGconn *pq;
	PGresult *r;
	int k;

	pgmm_buf_init(&why);
	pq = pgmm_link_get(c, i, &why, NULL);
	if (pq == NULL)
	{
		char what[120];

		snprintf(what, sizeof what, "the transaction's first statement needs master %s", c->links[i].name);
		r = pgmm_down_error(c, what, &why);
		pgmm_buf_free(&why);
		return r;
	}
	pgmm_buf_free(&why);
	if (PQtransactionStatus(pq) != PQTRANS_IDLE)
	{
		/* Left in a transaction by something else: start clean. */
		PQclear(pgmm_link_exec(c, i, "ROLLBACK"));
	}
	r = PQstatus(pq) == CONNECTION_OK ? pgmm_link_exec(c, i, c->begin_sql ? c->begin_sql : "BEGIN") : NULL;
	if (!pgmm_res_ok(r))
	{
		if (!(r && pgmm_result_sqlstate(r) && strcmp(pgmm_result_sqlstate(r), PGMM_SQLSTATE_NODE_DOWN) == 0))
			pgmm_conn_error_result(c, r, pq);	/* (a timeout's PM005 is in it already) */
		c->txn_failed = 1;
		pgmm_set_last_node(c, i);
		return r ? r : pgmm_local_error(c, "08006", pgmm_buf_str(&c->err), pq);
	}
	PQclear(r);
	c->bound = i;
	for (k = 0; k < c->nqueue; k++)
	{
		r = pgmm_link_exec(c, i, c->queue[k]);
		if (!pgmm_res_ok(r))
		{
			pgmm_conn_error_result(c, r, pq);
			pgmm_set_last_node(c, i);
			pgmm_txn_sync(c, i);
			return r ? r : pgmm_local_error(c, "08006", pgmm_buf_str(&c->err), pq);
		}
		PQclear(r);
	}
	strv_free(c->queue, c->nqueue);
	c->queue = NULL;
	c->nqueue = 0;
	return NULL;
}

PGTransactionStatusType
pgmm_transaction_status(const PGMMconn *c)
{
	PGTransactionStatusType st;

	if (c == NULL || c->status != CONNECTION_OK)
		return PQTRANS_UNKNOWN;
	if (c->txn == PGMM_TXN_NONE)
		return PQTRANS_IDLE;
	if (c->txn_failed || c->txn_lost)
		return PQTRANS_INERROR;
	if (c->bound < 0)
		return PQTRANS_INTRANS;
	st = PQtransactionStatus(c->links[c->bound].pq);
	if (st == PQTRANS_UNKNOWN || st == PQTRANS_IDLE)
		return PQTRANS_INERROR;
	return st;
}
