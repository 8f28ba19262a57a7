/*
 * broadcast.c -- UPDATE/DELETE without the key: on every master owning
 * shards of the table's group at once, each in a transaction whose guards
 * skip foreign rows, committed only when every master succeeded -- with
 * pgmm_2pc=1 through the two-phase-commit module (twophase.c), else with
 * parallel COMMITs -- and rolled back everywhere otherwise.  The results
 * are combined into one (RETURNING rows of all, total row count).
 *
 * Called by exec.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_int.h"
#include "twophase.h"

/* Combine the per-master results of a pgmm_broadcast; frees them. */
static PGresult *
broadcast_combine(PGMMconn *c, PGresult **res, int n)
{
	long long total = 0;
	char verb[32], status[64], tuples[24];
	PGresult *out;
	int k, row, f;

	for (k = 0; k < n; k++)
		total += atoll(PQcmdTuples(res[k]));
	snprintf(verb, sizeof verb, "%s", PQcmdStatus(res[0]));
	verb[strcspn(verb, " ")] = '\0';
	snprintf(status, sizeof status, "%s %lld", verb, total);
	snprintf(tuples, sizeof tuples, "%lld", total);
	if (PQresultStatus(res[0]) == PGRES_TUPLES_OK)
	{
		out = PQcopyResult(res[0], PG_COPYRES_ATTRS | PG_COPYRES_TUPLES | PG_COPYRES_EVENTS |
		                   PG_COPYRES_NOTICEHOOKS);
		for (k = 1; out && k < n; k++)
			for (row = 0; row < PQntuples(res[k]); row++)
			{
				int at = PQntuples(out);

				for (f = 0; f < PQnfields(out) && f < PQnfields(res[k]); f++)
					if (!PQsetvalue(out, at, f, PQgetisnull(res[k], row, f) ? NULL : PQgetvalue(res[k], row, f),
					                PQgetisnull(res[k], row, f) ? -1 : PQgetlength(res[k], row, f)))
					{
						PQclear(out);
						out = NULL;
						break;
					}
				if (out == NULL)
					break;
			}
		for (k = 0; k < n; k++)
			PQclear(res[k]);
	}
	else
	{
		out = res[0];
		for (k = 1; k < n; k++)
			PQclear(res[k]);
	}
	if (out == NULL)
		return pgmm_local_error(c, "53200", "pgmm: out of memory combining the results of a pgmm_broadcast", NULL);
	(void) pgmm_result_set_cmd(out, status, tuples);
	snprintf(c->last_tuples, sizeof c->last_tuples, "%s", tuples);
	return out;
}

/* The last result of a command sent with PQsend*, or its first error. */
static PGresult *
collect(PGconn *pq)
{
	PGresult *keep = NULL, *r;

	while ((r = PQgetResult(pq)) != NULL)
	{
		if (keep == NULL || (!pgmm_res_is_error(keep) && (pgmm_res_is_error(r) || pgmm_res_ok(r))))
		{
			PQclear(keep);
			keep = r;
		}
		else
			PQclear(r);
	}
	return keep;
}

/* collect() of master i's link, waiting at most until deadline (a hung
 * master is marked down: its part fails, so everything is rolled back). */
static PGresult *
collect_on(PGMMconn *c, int i, int64_t deadline)
{
	if (!pgmm_link_await(c, i, deadline))
		return pgmm_link_timeout_result(c, i);	/* PM005 naming it */
	return collect(c->links[i].pq);
}

/*
 * UPDATE/DELETE without the key: on every master owning shards of the
 * group, in a transaction whose guards skip foreign rows, committed only
 * when every master succeeded (two-phase with pgmm_2pc=1).
 */
PGresult *
pgmm_broadcast(PGMMconn *c, const pgmm_exec_req *rq, int coloc)
{
	const pgmm_map_coloc *g = &c->map->colocs[coloc];
	int n = g->nowners, k, ok = 1, sent_ok;
	PGresult **res = NULL, *fail = NULL;
	pgmm_buf why, down, twopc_err;
	int twopc_failed = 0;		/* 1 aborted, 2 in doubt (twopc_err says why) */
	int64_t deadline;			/* of each phase's replies: pgmm_timeout */

	pgmm_buf_init(&why);
	pgmm_buf_init(&down);
	for (k = 0; k < n; k++)
	{
		pgmm_buf_reset(&why);
		if (pgmm_link_get(c, g->owners[k], &why, NULL) == NULL)
			pgmm_buf_printf(&down, "%s%s", down.len ? "; " : "", pgmm_buf_str(&why));
	}
	pgmm_buf_free(&why);
	if (down.len)
	{
		PGresult *r = pgmm_down_error(c, "an UPDATE/DELETE without the key needs every master owning shards, "
		                         "and nothing was sent", &down);

		pgmm_buf_free(&down);
		return r;
	}
	pgmm_buf_free(&down);
	res = calloc((size_t) n, sizeof *res);
	if (res == NULL)
		return pgmm_local_error(c, "53200", "out of memory", NULL);
	/* Prepared statement: make sure each master has it (outside the transaction). */
	if (rq->mode == PGMM_EXEC_PREPARED)
		for (k = 0; k < n; k++)
		{
			PGresult *r = pgmm_prep_ensure(c, g->owners[k], rq->prep);

			if (r)
			{
				free(res);
				return r;
			}
		}
	/* 1: open the owned-rows-only transaction everywhere. */
	deadline = pgmm_link_deadline(c);
	for (k = 0; k < n && ok; k++)
		ok = PQsendQuery(c->links[g->owners[k]].pq, "BEGIN; SET LOCAL pgmm.foreign_rows = 'skip'");
	sent_ok = k - (ok ? 0 : 1);
	for (k = 0; k < sent_ok; k++)
	{
		PGresult *r = collect_on(c, g->owners[k], deadline);

		if (!pgmm_res_ok(r))
		{
			ok = 0;
			if (fail == NULL)
				fail = r;
			else
				PQclear(r);
		}
		else
			PQclear(r);
	}
	/* 2: the statement, on every master at once. */
	if (ok)
	{
		deadline = pgmm_link_deadline(c);
		for (k = 0; k < n && ok; k++)
		{
			PGconn *pq = c->links[g->owners[k]].pq;
			const pgmm_params *pp = &rq->params;

			if (rq->mode == PGMM_EXEC_SIMPLE)
				ok = PQsendQuery(pq, rq->sql);
			else if (rq->mode == PGMM_EXEC_PARAMS || rq->prep->name[0] == '\0')
				ok = PQsendQueryParams(pq, rq->mode == PGMM_EXEC_PARAMS ? rq->sql : rq->prep->sql, pp->n,
				                       rq->mode == PGMM_EXEC_PARAMS ? pp->types : rq->prep->types, pp->values,
				                       pp->lengths, pp->formats, rq->result_format);
			else
				ok = PQsendQueryPrepared(pq, rq->prep->name, pp->n, pp->values, pp->lengths, pp->formats,
				                         rq->result_format);
		}
		sent_ok = k - (ok ? 0 : 1);
		for (k = 0; k < sent_ok; k++)
		{
			res[k] = collect_on(c, g->owners[k], deadline);
			if (!pgmm_res_ok(res[k]))
				ok = 0;
		}
	}
	/* 3: commit everywhere, or roll back everywhere.  pgmm_2pc=1: through
	 * the one two-phase-commit module, participants in owner order (the
	 * last owner decides). */
	if (ok && c->opts.twopc)
	{
		pgmm_2pc_part *parts = calloc((size_t) n, sizeof *parts);
		pgmm_2pc t;
		pgmm_2pc_outcome o = PGMM_2PC_ABORTED;

		pgmm_buf_init(&twopc_err);
		if (parts == NULL)
			pgmm_buf_append(&twopc_err, "out of memory");
		else
		{
			for (k = 0; k < n; k++)
			{
				parts[k].conn = c->links[g->owners[k]].pq;
				parts[k].name = c->links[g->owners[k]].name;
			}
			if (pgmm_2pc_init(&t, PGMM_2PC_BROADCAST, 0, parts, n, &twopc_err) == 0)
			{
				o = pgmm_2pc_run(&t, &twopc_err);
				pgmm_2pc_free(&t);
			}
		}
		free(parts);
		if (o != PGMM_2PC_OK)
		{
			ok = 0;
			twopc_failed = o == PGMM_2PC_IN_DOUBT ? 2 : 1;
		}
		else
			pgmm_buf_free(&twopc_err);
	}
	else if (ok)
	{
		deadline = pgmm_link_deadline(c);
		for (k = 0; k < n; k++)
			if (!PQsendQuery(c->links[g->owners[k]].pq, "COMMIT"))
				ok = 0;
		for (k = 0; k < n; k++)
		{
			PGresult *r = collect_on(c, g->owners[k], deadline);

			if (!pgmm_res_ok(r) && fail == NULL)
				fail = r;
			else
				PQclear(r);
		}
	}
	if (!ok || fail)
	{
		for (k = 0; k < n; k++)
		{
			PGconn *pq = c->links[g->owners[k]].pq;

			if (pq && PQstatus(pq) == CONNECTION_OK && PQtransactionStatus(pq) != PQTRANS_IDLE)
				PQclear(PQexec(pq, "ROLLBACK"));
			else if (pq && PQstatus(pq) != CONNECTION_OK)
				c->need_refresh = 1;
			if (fail == NULL && res[k] && !pgmm_res_ok(res[k]))
			{
				fail = res[k];
				res[k] = NULL;
			}
		}
		for (k = 0; k < n; k++)
			PQclear(res[k]);
		free(res);
		pgmm_buf_reset(&c->last_node);
		for (k = 0; k < n; k++)
			pgmm_buf_printf(&c->last_node, "%s%s", k ? "," : "", c->links[g->owners[k]].name);
		if (twopc_failed)
		{
			pgmm_buf m;
			PGresult *r;

			pgmm_buf_init(&m);
			pgmm_buf_printf(&m, "pgmm: the two-phase commit of a pgmm_broadcast UPDATE/DELETE %s: %s",
			                twopc_failed == 2 ? "did not finish (its outcome is in doubt)" : "was rolled back",
			                pgmm_buf_str(&twopc_err));
			pgmm_buf_free(&twopc_err);
			PQclear(fail);
			r = pgmm_router_error(c, twopc_failed == 2 ? "40003" : "40000", pgmm_buf_str(&m), NULL,
			                 twopc_failed == 2 ? "`pgmm recover` finishes it once every master is reachable." : NULL);
			pgmm_buf_free(&m);
			return r;
		}
		if (fail == NULL)
			return pgmm_local_error(c, "08006", "pgmm: a pgmm_broadcast UPDATE/DELETE failed: a connection was lost", NULL);
		pgmm_conn_error_result(c, fail, NULL);
		return fail;
	}
	pgmm_buf_reset(&c->last_node);
	for (k = 0; k < n; k++)
		pgmm_buf_printf(&c->last_node, "%s%s", k ? "," : "", c->links[g->owners[k]].name);
	{
		PGresult *out = broadcast_combine(c, res, n);

		free(res);
		return out;
	}
}
