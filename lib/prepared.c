/*
 * prepared.c -- pgmm_prepare: prepared at once on the transaction's master
 * (else home) so errors show as with PQprepare; the plan is kept, and the
 * statement is prepared on other masters the first time it runs there
 * (again after a reconnection: sessions are told apart by link gen).
 *
 * Called by applications (pgmm_prepare) and by exec.c / broadcast.c
 * (pgmm_prep_ensure) and conn.c (pgmm_prep_free).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_int.h"

void
pgmm_prep_free(void *v)
{
	pgmm_prep *p = v;

	if (p == NULL)
		return;
	free(p->name);
	free(p->sql);
	free(p->types);
	pgmm_plan_free(p->plan);
	free(p->sessions);
	free(p);
}

int
pgmm_prep_has(const pgmm_prep *p, unsigned gen)
{
	int k;

	for (k = 0; k < p->nsessions; k++)
		if (p->sessions[k] == gen)
			return 1;
	return 0;
}

int
pgmm_prep_add(PGMMconn *c, pgmm_prep *p, unsigned gen)
{
	unsigned *s;
	int k, j;

	if (p->nsessions >= 2 * c->nlinks + 4)
	{
		/* Forget sessions that no longer exist. */
		for (k = j = 0; k < p->nsessions; k++)
		{
			int i, live = 0;

			for (i = 0; i < c->nlinks; i++)
				live |= c->links[i].gen == p->sessions[k];
			if (live)
				p->sessions[j++] = p->sessions[k];
		}
		p->nsessions = j;
	}
	s = realloc(p->sessions, (size_t) (p->nsessions + 1) * sizeof(unsigned));
	if (s == NULL)
		return -1;
	p->sessions = s;
	s[p->nsessions++] = gen;
	return 0;
}

static int
send_prepare(PGconn *pq, const void *arg)
{
	const pgmm_prep *p = arg;

	return PQsendPrepare(pq, p->name, p->sql, p->nparams, p->types);
}

/* Prepare p on link i if that session lacks it.  NULL, or an error result. */
PGresult *
pgmm_prep_ensure(PGMMconn *c, int i, pgmm_prep *p)
{
	PGresult *r;

	if (p->name[0] == '\0' || pgmm_prep_has(p, c->links[i].gen))
		return NULL;
	{
		int timed_out;

		r = pgmm_link_run(c, i, send_prepare, p, &timed_out);
		if (timed_out)
			r = pgmm_link_timeout_result(c, i);
	}
	if (!pgmm_res_ok(r))
	{
		pgmm_conn_error_result(c, r, c->links[i].pq);
		return r ? r : pgmm_local_error(c, "08006", pgmm_buf_str(&c->err), c->links[i].pq);
	}
	PQclear(r);
	if (pgmm_prep_add(c, p, c->links[i].gen) < 0)
		return pgmm_local_error(c, "53200", "out of memory", NULL);
	return NULL;
}

PGresult *
pgmm_prepare(PGMMconn *c, const char *name, const char *sql, int nParams, const Oid *paramTypes)
{
	pgmm_prep *p, *old;
	pgmm_buf why;
	PGresult *r;
	int i;

	if (pgmm_op_begin(c) < 0)
		return NULL;
	if (pgmm_check_statement_args(c, sql, nParams) < 0)
		return NULL;
	if (name == NULL)
		name = "";
	p = calloc(1, sizeof *p);
	if (p == NULL || (p->name = strdup(name)) == NULL || (p->sql = strdup(sql)) == NULL ||
	    (nParams > 0 && paramTypes && (p->types = malloc((size_t) nParams * sizeof(Oid))) == NULL))
	{
		pgmm_prep_free(p);
		return pgmm_local_error(c, "53200", "out of memory", NULL);
	}
	p->nparams = paramTypes ? nParams : 0;
	if (p->types)
		memcpy(p->types, paramTypes, (size_t) nParams * sizeof(Oid));
	/* Prepare where the server can check it now: the transaction's master,
	 * else home (others are prepared when first used there). */
	pgmm_buf_init(&why);
	if (c->txn == PGMM_TXN_OPEN && c->bound >= 0 && !c->txn_lost)
		i = pgmm_link_get(c, c->bound, &why, NULL) ? c->bound : -1;
	else
		i = pgmm_link_any(c, c->home, &why);
	if (i < 0)
	{
		r = pgmm_down_error(c, "no master is reachable to prepare the statement", &why);
		pgmm_buf_free(&why);
		pgmm_prep_free(p);
		return r;
	}
	pgmm_buf_free(&why);
	{
		int timed_out;

		r = pgmm_link_run(c, i, send_prepare, p, &timed_out);
		if (timed_out)
		{
			if (c->txn == PGMM_TXN_OPEN && c->bound == i)
			{
				c->txn_lost = 1;
				c->txn_failed = 1;
			}
			pgmm_set_last_node(c, i);
			pgmm_prep_free(p);
			return pgmm_link_timeout_result(c, i);
		}
	}
	pgmm_set_last_node(c, i);
	pgmm_conn_error_result(c, r, c->links[i].pq);
	pgmm_txn_sync(c, i);
	if (!pgmm_res_ok(r))
	{
		pgmm_prep_free(p);
		return r;
	}
	if (p->name[0] && pgmm_prep_add(c, p, c->links[i].gen) < 0)
	{
		pgmm_prep_free(p);
		PQclear(r);
		return pgmm_local_error(c, "53200", "out of memory", NULL);
	}
	old = pgmm_cache_get(c->prepared, p->name, strlen(p->name));
	if (old && old->name[0])
	{
		/* Redefined (its session on i was new): drop the old one elsewhere. */
		int k;

		for (k = 0; k < c->nlinks; k++)
			if (k != i && c->links[k].pq && pgmm_prep_has(old, c->links[k].gen) &&
			    PQtransactionStatus(c->links[k].pq) == PQTRANS_IDLE)
			{
				pgmm_buf dealloc;

				pgmm_buf_init(&dealloc);
				pgmm_buf_append(&dealloc, "DEALLOCATE ");
				pgmm_buf_ident(&dealloc, old->name);
				PQclear(pgmm_link_exec(c, k, pgmm_buf_str(&dealloc)));
				pgmm_buf_free(&dealloc);
			}
	}
	if (pgmm_cache_put(c->prepared, p->name, strlen(p->name), p) < 0)
	{
		pgmm_prep_free(p);
		PQclear(r);
		return pgmm_local_error(c, "53200", "out of memory", NULL);
	}
	return r;
}
