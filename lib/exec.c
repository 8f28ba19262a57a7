/*
 * exec.c -- the public exec entry points (pgmm_exec, pgmm_exec_params,
 * pgmm_exec_prepared) and the path of one statement, read straight through:
 *   plan    the cached plan of the text (route.c), built on a miss;
 *   target  where the plan's keys say it goes, given the params (route.c);
 *   choice  the master(s), with the transaction and the read policy
 *           (choose.c), run against the links (link.c), binding an
 *           unbound transaction (txn.c) or broadcasting (broadcast.c);
 *   send    on that master's link; a write refused with PM001 outside a
 *           transaction refreshes the map and is retried (pgmm_retries); a
 *           connection lost while a statement ran is reported, never
 *           resent, and the map is marked for a refresh;
 *   result  a libpq PGresult (errors pgmm decides: errors.c).
 * SET / RESET / DISCARD, transaction control and fallback statements take
 * their own short paths (run_plan).
 *
 * Called by applications (pgmm.h) and compat.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn_int.h"

/* Statement texts longer than this are planned but not cached. */
#define PLAN_CACHE_MAX_TEXT 65536

static int
send_text(PGconn *pq, const void *sql)
{
	return PQsendQuery(pq, sql);
}

static int
send_rq(PGconn *pq, const void *arg)
{
	const pgmm_exec_req *rq = arg;
	const pgmm_params *pp = &rq->params;

	switch (rq->mode)
	{
		case PGMM_EXEC_SIMPLE:
			return PQsendQuery(pq, rq->sql);
		case PGMM_EXEC_PARAMS:
			return PQsendQueryParams(pq, rq->sql, pp->n, pp->types, pp->values, pp->lengths, pp->formats,
			                         rq->result_format);
		default:
			if (rq->prep->name[0] == '\0')
				return PQsendQueryParams(pq, rq->prep->sql, pp->n, rq->prep->types, pp->values, pp->lengths,
				                         pp->formats, rq->result_format);
			return PQsendQueryPrepared(pq, rq->prep->name, pp->n, pp->values, pp->lengths, pp->formats,
			                           rq->result_format);
	}
}

/*
 * Send rq on link i (connected) and wait (at most pgmm_timeout).
 * *ambiguous is set when the connection was lost, or the master did not
 * answer in time, while the statement was on its way: it may or may not
 * have run, so it is reported and never resent.
 */
static PGresult *
send_on(PGMMconn *c, int i, const pgmm_exec_req *rq, int *ambiguous)
{
	PGconn *pq = c->links[i].pq;
	PGresult *r;
	int timed_out;

	*ambiguous = 0;
	if (rq->mode == PGMM_EXEC_PREPARED && rq->prep->name[0] != '\0' && (r = pgmm_prep_ensure(c, i, rq->prep)))
		return r;
	r = pgmm_link_run(c, i, send_rq, rq, &timed_out);
	if (timed_out)
	{
		*ambiguous = 1;
		pgmm_set_last_node(c, i);
		pgmm_link_mark_down(c, i);
		if (c->txn == PGMM_TXN_OPEN && c->bound == i)
		{
			c->txn_lost = 1;
			c->txn_failed = 1;
		}
		{
			pgmm_buf why;

			pgmm_buf_init(&why);
			pgmm_buf_printf(&why, "master %s did not answer within pgmm_timeout=%d ms; the statement may or may "
			                "not have been executed, and pgmm does not resend it", c->links[i].name,
			                c->opts.timeout);
			r = pgmm_down_error(c, "this statement", &why);
			pgmm_buf_free(&why);
		}
		return r;
	}
	pgmm_set_last_node(c, i);
	if (PQstatus(pq) != CONNECTION_OK)
	{
		*ambiguous = 1;
		c->need_refresh = 1;
		pgmm_conn_error(c, "08006", "pgmm: master %s: the connection was lost while the statement ran; it may or may "
		           "not have been executed, and pgmm does not resend it: %s", c->links[i].name,
		           r ? PQresultErrorMessage(r) : PQerrorMessage(pq));
		if (c->txn == PGMM_TXN_OPEN && c->bound == i)
		{
			c->txn_lost = 1;
			c->txn_failed = 1;
		}
		if (r == NULL)
			r = pgmm_local_error(c, "08006", pgmm_buf_str(&c->err), pq);
		return r;
	}
	if (r == NULL)
	{
		pgmm_conn_error_result(c, NULL, pq);
		return NULL;
	}
	if (PQresultStatus(r) == PGRES_COPY_IN || PQresultStatus(r) == PGRES_COPY_OUT ||
	    PQresultStatus(r) == PGRES_COPY_BOTH)
	{
		/* COPY sneaked in (inside a statement pgmm could not classify):
		 * end it so the connection stays usable, and refuse. */
		PGresult *x;

		PQclear(r);
		if (PQputCopyEnd(pq, "pgmm: COPY is not supported through the router") == 1)
		{
			char *buf;

			while (PQgetCopyData(pq, &buf, 0) > 0)
				PQfreemem(buf);
		}
		while ((x = PQgetResult(pq)) != NULL)
			PQclear(x);
		pgmm_txn_sync(c, i);
		return pgmm_router_error(c, PGMM_SQLSTATE_REFUSED, "pgmm: COPY is not supported through the router", NULL, NULL);
	}
	pgmm_conn_error_result(c, r, pq);
	if (!pgmm_res_is_error(r))
	{
		const char *t = PQcmdTuples(r);
		size_t n = t ? strlen(t) : 0;

		if (n >= sizeof c->last_tuples)
			n = sizeof c->last_tuples - 1;
		memcpy(c->last_tuples, t ? t : "", n);
		c->last_tuples[n] = '\0';
	}
	pgmm_txn_sync(c, i);
	return r;
}

/* Run rq on master i (transaction rules already applied). */
static PGresult *
run_on(PGMMconn *c, int i, const pgmm_exec_req *rq, const char *what, int *ambiguous)
{
	pgmm_buf why;
	int lost;

	*ambiguous = 0;
	pgmm_buf_init(&why);
	if (pgmm_link_get(c, i, &why, &lost) == NULL)
	{
		PGresult *r;

		if (lost)
		{
			c->txn_lost = 1;
			c->txn_failed = 1;
		}
		r = pgmm_down_error(c, what, &why);
		pgmm_buf_free(&why);
		return r;
	}
	pgmm_buf_free(&why);
	return send_on(c, i, rq, ambiguous);
}

/* Run rq outside a transaction on any master that is up, home first
 * (statements with no target: SET, transaction control, fallback). */
static PGresult *
run_on_any(PGMMconn *c, const pgmm_exec_req *rq)
{
	pgmm_buf why;
	PGresult *r;
	int i, ambiguous;

	pgmm_buf_init(&why);
	i = pgmm_link_any(c, c->home, &why);
	r = i < 0 ? pgmm_down_error(c, "no master is reachable", &why) : NULL;
	pgmm_buf_free(&why);
	return r ? r : run_on(c, i, rq, "this statement", &ambiguous);
}

static const char *
rq_sql(const pgmm_exec_req *rq)
{
	return rq->mode == PGMM_EXEC_PREPARED ? rq->prep->sql : rq->sql;
}

/* The plan of rq; *transient when the caller must free it. */
static pgmm_plan *
plan_of(PGMMconn *c, const pgmm_exec_req *rq, int *transient)
{
	pgmm_plan *p;
	pgmm_buf err;

	*transient = 0;
	if (rq->prep)
	{
		pgmm_prep *pr = rq->prep;

		if (pr->plan && pr->plan_gen == c->plan_gen)
			return pr->plan;
		pgmm_buf_init(&err);
		p = pgmm_plan_build(c->map, pr->sql, strlen(pr->sql), &err);
		pgmm_buf_free(&err);
		if (p == NULL)
			return NULL;
		pgmm_plan_free(pr->plan);
		pr->plan = p;
		pr->plan_gen = c->plan_gen;
		return p;
	}
	if (c->plans && rq->len <= PLAN_CACHE_MAX_TEXT)
	{
		p = pgmm_cache_get(c->plans, rq->sql, rq->len);
		if (p)
			return p;
	}
	pgmm_buf_init(&err);
	p = pgmm_plan_build(c->map, rq->sql, rq->len, &err);
	pgmm_buf_free(&err);
	if (p == NULL)
		return NULL;
	if (c->plans == NULL || rq->len > PLAN_CACHE_MAX_TEXT || pgmm_cache_put(c->plans, rq->sql, rq->len, p) < 0)
		*transient = 1;
	return p;
}

/* Parse "owner=NAME epoch=N" (PGMM_PM001_DETAIL_*, the guard's format) from
 * a PM001's DETAIL. */
static void
parse_pm001(const PGresult *r, char *owner, size_t cap, int64_t *epoch)
{
	const char *d = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL), *p;
	const size_t ko = strlen(PGMM_PM001_DETAIL_OWNER), ke = strlen(PGMM_PM001_DETAIL_EPOCH);

	owner[0] = '\0';
	*epoch = -1;
	if (d == NULL)
		return;
	if ((p = strstr(d, PGMM_PM001_DETAIL_OWNER)) != NULL)
	{
		size_t n = strcspn(p + ko, " \t\n");

		if (n >= cap)
			n = cap - 1;
		memcpy(owner, p + ko, n);
		owner[n] = '\0';
	}
	if ((p = strstr(d, PGMM_PM001_DETAIL_EPOCH)) != NULL)
		*epoch = strtoll(p + ke, NULL, 10);
}

/* A READ or WRITE plan: target (route.c), choice (choose.c), run. */
static PGresult *
exec_data(PGMMconn *c, const pgmm_exec_req *rq, const pgmm_plan *p, int redirect, int *ran_on, int *unknown_target,
          int *unsent)
{
	pgmm_target t;
	pgmm_choice ch;
	pgmm_choice_ctx x;
	pgmm_buf why;
	int i, ambiguous;
	PGresult *r;
	const char *what = p->route == PGMM_ROUTE_READ ? "this read" : "this write";

	*ran_on = -1;
	*unknown_target = 0;
	*unsent = 0;
	pgmm_plan_target(c->map, p, &rq->params, &t);
	if (t.kind == PGMM_TARGET_ERROR)
		return pgmm_router_error(c, t.err.sqlstate, t.err.message, t.err.detail, t.err.hint);
	if (t.kind == PGMM_TARGET_UNKNOWN)
	{
		*unknown_target = 1;
		if (redirect >= 0)
		{
			t.kind = PGMM_TARGET_NODE;
			t.node = redirect;
		}
	}
	if (c->txn == PGMM_TXN_OPEN)
	{
		if (c->txn_failed && c->bound < 0)
			return pgmm_aborted_error(c);
		if (c->txn_lost)
		{
			pgmm_buf m;

			pgmm_buf_init(&m);
			pgmm_buf_append(&m, "the connection of the open transaction was lost; roll it back");
			r = pgmm_down_error(c, "this transaction", &m);
			pgmm_buf_free(&m);
			return r;
		}
	}
	x.map = c->map;
	x.home = c->home;
	x.read_policy = c->opts.read_policy;
	x.in_txn = c->txn == PGMM_TXN_OPEN;
	x.bound = c->bound;
	pgmm_choose(&x, p, &t, &ch);
	switch (ch.kind)
	{
		case PGMM_CHOICE_ERROR:
			*unsent = 1;
			return pgmm_router_error(c, ch.err.sqlstate, ch.err.message, ch.err.detail, ch.err.hint);
		case PGMM_CHOICE_BROADCAST:
			return pgmm_broadcast(c, rq, ch.coloc);
		case PGMM_CHOICE_NODE:
			i = ch.node;
			break;
		default:
			pgmm_buf_init(&why);
			i = pgmm_link_pick(c, &ch, &why);
			if (i < 0)
			{
				*unsent = 1;
				r = pgmm_down_error(c, ch.down_what, &why);
				pgmm_buf_free(&why);
				return r;
			}
			pgmm_buf_free(&why);
			break;
	}
	if (ch.bind && (r = pgmm_txn_bind(c, i)) != NULL)
		return r;
	r = run_on(c, i, rq, what, &ambiguous);
	*ran_on = i;
	/* Not connected at all (run_on sent nothing): safe to run elsewhere. */
	*unsent = !ambiguous && c->links[i].down && r != NULL && pgmm_res_sqlstate_is(r, PGMM_SQLSTATE_NODE_DOWN);
	return r;
}

static PGresult *run_plan(PGMMconn *c, const pgmm_exec_req *rq, pgmm_plan *p, int transient);

/*
 * A write refused with PM006: its table is frozen for a catalog change
 * (pgmm ddl, distribute, reference).  The guard refused it before anything
 * was written and, outside a transaction, the statement's own transaction
 * rolled back, so running it again is safe.  Sleep a little (5 ms, doubling
 * up to 100 ms) and say 1 while pgmm_freeze_wait has not run out since the
 * first refusal; 0 when the caller should return the error.
 */
static int
freeze_pause(PGMMconn *c, int64_t *since, int *pause)
{
	int64_t now = pgmm_now_ms(), left;
	struct timespec ts;

	if (*since < 0)
		*since = now;
	left = (int64_t) c->opts.freeze_wait - (now - *since);
	if (left <= 0)
		return 0;
	*pause = *pause <= 0 ? 5 : (*pause >= 50 ? 100 : *pause * 2);
	if (*pause > left)
		*pause = (int) left;
	ts.tv_sec = *pause / 1000;
	ts.tv_nsec = (long) (*pause % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	return 1;
}

/* One statement: its plan, then READ/WRITE with the stale-map retry, or
 * the other routes. */
static PGresult *
execute(PGMMconn *c, const pgmm_exec_req *rq)
{
	int attempt = 0, redirect = -1, ran_on, unknown, transient, unsent, down_retried = 0;
	int outside = c->txn == PGMM_TXN_NONE;
	int64_t frozen_since = -1;
	int pause = 0;
	/* The first statement of a deferred transaction (nothing queued): if a
	 * freeze refuses it, nothing ran in the transaction yet, so it can be
	 * rolled back, begun again and the statement retried. */
	int first_in_txn = c->txn == PGMM_TXN_OPEN && c->bound < 0 && c->nqueue == 0 && !c->txn_failed;
	pgmm_plan *p;
	PGresult *r;

	for (;;)
	{
		p = plan_of(c, rq, &transient);
		if (p == NULL)
			return pgmm_local_error(c, "53200", "out of memory", NULL);
		if (p->route != PGMM_ROUTE_READ && p->route != PGMM_ROUTE_WRITE)
			return run_plan(c, rq, p, transient);
		r = exec_data(c, rq, p, redirect, &ran_on, &unknown, &unsent);
		if (transient)
			pgmm_plan_free(p);
		p = NULL;				/* a map reload below frees cached plans */
		if (r != NULL && unsent && !down_retried && outside && c->txn == PGMM_TXN_NONE &&
		    PQresultStatus(r) == PGRES_FATAL_ERROR && pgmm_res_sqlstate_is(r, PGMM_SQLSTATE_NODE_DOWN))
		{
			/* The master it needs is down, and nothing was sent: if it was
			 * failed over, another master has the newer catalog (checked at
			 * most once per pgmm_reconnect_interval), and the statement goes
			 * to the new owner.  A statement that may have run is never
			 * here (unsent is 0 then). */
			down_retried = 1;
			if (pgmm_epoch_recheck(c, ran_on, 0) == 1)
			{
				PQclear(r);
				pgmm_conn_error_clear(c);		/* a new attempt */
				redirect = -1;
				continue;
			}
			return r;
		}
		if (r != NULL && PQresultStatus(r) == PGRES_FATAL_ERROR && pgmm_res_sqlstate_is(r, PGMM_SQLSTATE_FROZEN))
		{
			if (ran_on >= 0 && ((outside && c->txn == PGMM_TXN_NONE) ||
			                    (first_in_txn && c->txn == PGMM_TXN_OPEN && c->bound == ran_on)) &&
			    freeze_pause(c, &frozen_since, &pause))
			{
				if (!outside)
				{
					PGresult *x = PQexec(c->links[ran_on].pq, "ROLLBACK");
					int rolled = pgmm_res_ok(x);

					PQclear(x);
					if (!rolled)
						return r;
					c->bound = -1;		/* begun again by the next attempt */
					c->txn_failed = 0;
				}
				PQclear(r);
				pgmm_conn_error_clear(c);		/* a new attempt */
				continue;
			}
			return r;
		}
		if (r == NULL || PQresultStatus(r) != PGRES_FATAL_ERROR || !pgmm_res_sqlstate_is(r, PGMM_SQLSTATE_NOT_OWNER))
			return r;
		if (outside && attempt < c->opts.retries && ran_on >= 0 && c->txn == PGMM_TXN_NONE)
		{
			char owner[64];
			int64_t epoch;
			pgmm_buf ignore;
			int changed = 0;

			parse_pm001(r, owner, sizeof owner, &epoch);
			pgmm_buf_init(&ignore);
			if (epoch > c->map->epoch)
				changed = pgmm_map_load(c, ran_on, &ignore) == 0;
			pgmm_buf_free(&ignore);
			redirect = pgmm_map_node_index(c->map, owner);
			if (!changed && (!unknown || redirect < 0 || redirect == ran_on))
				return r;		/* the same map would send it to the same place */
			PQclear(r);
			pgmm_conn_error_clear(c);		/* a new attempt */
			attempt++;
			continue;
		}
		{
			char owner[64];
			int64_t epoch;

			parse_pm001(r, owner, sizeof owner, &epoch);
			if (epoch > c->map->epoch)
				c->need_refresh = 1;
		}
		return r;
	}
}

/* SET / RESET / DISCARD: every open connection; replayed on new ones. */
static PGresult *
exec_set(PGMMconn *c, const pgmm_exec_req *rq, const pgmm_plan *p)
{
	int primary, i, ambiguous;
	int flags = p->flags;
	pgmm_buf why;
	PGresult *r;

	if (c->txn == PGMM_TXN_OPEN && c->txn_failed && c->bound < 0)
		return pgmm_aborted_error(c);
	pgmm_buf_init(&why);
	if (c->txn == PGMM_TXN_OPEN && c->bound >= 0)
		primary = c->bound;
	else
		primary = pgmm_link_any(c, c->home, &why);
	if (primary < 0)
	{
		r = pgmm_down_error(c, "no master is reachable", &why);
		pgmm_buf_free(&why);
		return r;
	}
	pgmm_buf_free(&why);
	r = run_on(c, primary, rq, "this setting", &ambiguous);
	if (!pgmm_res_ok(r))
		return r;
	pgmm_settings_record(c, rq_sql(rq), p);
	/* The other open connections. */
	for (i = 0; i < c->nlinks; i++)
	{
		PGresult *x;

		if (i == primary || c->links[i].pq == NULL || PQstatus(c->links[i].pq) != CONNECTION_OK)
			continue;
		{
			int timed_out;

			x = pgmm_link_run(c, i, send_text, rq_sql(rq), &timed_out);
			if (timed_out)
				pgmm_link_mark_down(c, i);	/* x is NULL: the link is dropped below */
		}
		if (!pgmm_res_ok(x))
		{
			/* Start that session afresh: the replay makes it agree. */
			PQfinish(c->links[i].pq);
			c->links[i].pq = NULL;
			c->links[i].gen = 0;
		}
		PQclear(x);
		if (flags & PGMM_PF_DEALLOCATE)
			c->links[i].gen = c->links[i].pq ? ++c->gen_counter : 0;
	}
	if (flags & PGMM_PF_DEALLOCATE)
		c->links[primary].gen = ++c->gen_counter;
	if (flags & PGMM_PF_SEARCH_PATH)
		pgmm_reread_search_path(c, primary);
	pgmm_set_last_node(c, primary);
	return r;
}

/* Every statement but READ/WRITE (frees p when transient). */
static PGresult *
run_plan(PGMMconn *c, const pgmm_exec_req *rq, pgmm_plan *p, int transient)
{
	int ambiguous, route = p->route, chain = p->chain;
	pgmm_stmt_sub sub = p->sub;
	const char *tag = p->tag;		/* static */
	const char *sql = rq_sql(rq);
	size_t len = strlen(sql);
	PGresult *r;

	if (route == PGMM_ROUTE_REFUSE)
	{
		r = pgmm_router_error(c, p->sqlstate, p->message ? p->message : "pgmm: refused", p->detail, p->hint);
		if (transient)
			pgmm_plan_free(p);
		return r;
	}
	if (route == PGMM_ROUTE_SET)
	{
		r = exec_set(c, rq, p);
		if (transient)
			pgmm_plan_free(p);
		return r;
	}
	if (transient)
		pgmm_plan_free(p);
	p = NULL;
	pgmm_buf_reset(&c->last_node);
	switch (route)
	{
		case PGMM_ROUTE_EMPTY:
			return pgmm_local_ok(c, PGRES_EMPTY_QUERY, NULL);
		case PGMM_ROUTE_BEGIN:
			if (c->txn == PGMM_TXN_OPEN)
			{
				if (c->bound >= 0 && !c->txn_lost)
					return run_on(c, c->bound, rq, "this transaction", &ambiguous);
				return pgmm_local_ok(c, PGRES_COMMAND_OK, "BEGIN");
			}
			pgmm_txn_reset(c);
			c->begin_sql = strndup(sql, len);
			if (c->begin_sql == NULL)
				return pgmm_local_error(c, "53200", "out of memory", NULL);
			c->txn = PGMM_TXN_OPEN;
			return pgmm_local_ok(c, PGRES_COMMAND_OK, "BEGIN");
		case PGMM_ROUTE_COMMIT:
		case PGMM_ROUTE_ROLLBACK:
		{
			const char *st = route == PGMM_ROUTE_COMMIT ? "COMMIT" : "ROLLBACK";

			if (c->txn == PGMM_TXN_NONE)
			{
				if (chain)
				{
					char msg[80];

					/* As the server answers. */
					snprintf(msg, sizeof msg, "%s AND CHAIN can only be used in transaction blocks", st);
					return pgmm_router_error(c, "25P01", msg, NULL, NULL);
				}
				return pgmm_local_ok(c, PGRES_COMMAND_OK, st);
			}
			if (c->bound >= 0 && !c->txn_lost)
			{
				/* AND CHAIN: the server opens the next transaction at once;
				 * pgmm_txn_sync (in send_on) sees it open and keeps the binding. */
				r = run_on(c, c->bound, rq, "this transaction", &ambiguous);
				if (ambiguous || c->txn_lost)
				{
					char *b = c->begin_sql;

					c->begin_sql = NULL;
					pgmm_txn_reset(c);
					if (route == PGMM_ROUTE_ROLLBACK && !ambiguous)
					{
						/* The server rolled it back when the connection went;
						 * AND CHAIN: the next one starts deferred. */
						if (chain)
						{
							c->txn = PGMM_TXN_OPEN;
							c->begin_sql = b;
							b = NULL;
						}
						free(b);
						PQclear(r);
						pgmm_conn_error_clear(c);	/* nothing failed after all */
						return pgmm_local_ok(c, PGRES_COMMAND_OK, "ROLLBACK");
					}
					free(b);
				}
				else if (chain && c->txn == PGMM_TXN_OPEN && pgmm_res_ok(r))
					c->txn_failed = 0;	/* a fresh transaction on the same master */
				return r;
			}
			if (c->txn_lost && route == PGMM_ROUTE_COMMIT)
			{
				pgmm_txn_reset(c);
				return pgmm_local_error(c, "08006", "pgmm: the transaction's master was lost before COMMIT; nothing "
				                   "was committed", NULL);
			}
			if (c->txn_failed)
				st = "ROLLBACK";
			if (chain)
			{
				char *b = c->begin_sql;

				c->begin_sql = NULL;
				pgmm_txn_reset(c);
				c->txn = PGMM_TXN_OPEN;
				c->begin_sql = b;
			}
			else
				pgmm_txn_reset(c);
			return pgmm_local_ok(c, PGRES_COMMAND_OK, st);
		}
		case PGMM_ROUTE_TXN:
		case PGMM_ROUTE_SET_LOCAL:
		{
			if (c->txn == PGMM_TXN_NONE)
			{
				return run_on_any(c, rq);
			}
			if (c->bound >= 0 && !c->txn_lost)
				return run_on(c, c->bound, rq, "this transaction", &ambiguous);
			if (c->txn_lost)
				return pgmm_aborted_error(c);
			if (sub == PGMM_SUB_LOCK)
			{
				if (c->txn_failed)
					return pgmm_aborted_error(c);
				if ((r = pgmm_txn_bind(c, c->home)) != NULL)
					return r;
				return run_on(c, c->home, rq, "this transaction", &ambiguous);
			}
			if (sub == PGMM_SUB_ROLLBACK_TO)
				c->txn_failed = 0;		/* ROLLBACK TO: nothing ran since */
			else if (c->txn_failed)
				return pgmm_aborted_error(c);
			if (rq->mode != PGMM_EXEC_SIMPLE && rq->params.n > 0)
				return pgmm_router_error(c, PGMM_SQLSTATE_REFUSED,
				                    "pgmm: parameters in a transaction-control statement are not supported", NULL, NULL);
			if (pgmm_txn_queue(c, sql, len) < 0)
				return pgmm_local_error(c, "53200", "out of memory", NULL);
			return pgmm_local_ok(c, PGRES_COMMAND_OK, tag);
		}
		default:				/* FALLBACK */
			if (c->txn == PGMM_TXN_OPEN)
			{
				if (c->txn_lost || (c->txn_failed && c->bound < 0))
					return pgmm_aborted_error(c);
				if (c->bound < 0 && (r = pgmm_txn_bind(c, c->home)) != NULL)
					return r;
				return run_on(c, c->bound, rq, "this transaction", &ambiguous);
			}
			return run_on_any(c, rq);
	}
}

PGresult *
pgmm_exec(PGMMconn *c, const char *sql)
{
	pgmm_exec_req rq;

	if (pgmm_op_begin(c) < 0 || pgmm_check_statement_args(c, sql, 0) < 0)
		return NULL;
	memset(&rq, 0, sizeof rq);
	rq.mode = PGMM_EXEC_SIMPLE;
	rq.sql = sql;
	rq.len = strlen(sql);
	return execute(c, &rq);
}

PGresult *
pgmm_exec_params(PGMMconn *c, const char *sql, int nParams, const Oid *paramTypes,
                 const char *const *paramValues, const int *paramLengths,
                 const int *paramFormats, int resultFormat)
{
	pgmm_exec_req rq;

	if (pgmm_op_begin(c) < 0)
		return NULL;
	if (pgmm_check_statement_args(c, sql, nParams) < 0)
		return NULL;
	memset(&rq, 0, sizeof rq);
	rq.mode = PGMM_EXEC_PARAMS;
	rq.sql = sql;
	rq.len = strlen(sql);
	rq.params.n = nParams;
	rq.params.ntypes = paramTypes ? nParams : 0;
	rq.params.types = paramTypes;
	rq.params.values = paramValues;
	rq.params.lengths = paramLengths;
	rq.params.formats = paramFormats;
	rq.result_format = resultFormat;
	return execute(c, &rq);
}

PGresult *
pgmm_exec_prepared(PGMMconn *c, const char *name, int nParams, const char *const *paramValues,
                   const int *paramLengths, const int *paramFormats, int resultFormat)
{
	pgmm_exec_req rq;
	pgmm_prep *p;

	if (pgmm_op_begin(c) < 0)
		return NULL;
	if (nParams < 0 || nParams > 65535)
	{
		pgmm_conn_error(c, "54023", "pgmm: number of parameters must be between 0 and 65535");
		return NULL;
	}
	if (name == NULL)
		name = "";
	p = pgmm_cache_get(c->prepared, name, strlen(name));
	if (p == NULL)
	{
		char msg[200];

		snprintf(msg, sizeof msg, "prepared statement \"%.100s\" does not exist", name);
		return pgmm_router_error(c, "26000", msg, NULL, "Prepare it with pgmm_prepare (PQprepare) on this connection.");
	}
	memset(&rq, 0, sizeof rq);
	rq.mode = PGMM_EXEC_PREPARED;
	rq.prep = p;
	rq.sql = p->sql;
	rq.len = strlen(p->sql);
	rq.params.n = nParams;
	rq.params.ntypes = p->types ? p->nparams : 0;
	rq.params.types = p->types;
	rq.params.values = paramValues;
	rq.params.lengths = paramLengths;
	rq.params.formats = paramFormats;
	rq.result_format = resultFormat;
	return execute(c, &rq);
}

const char *
pgmm_last_node(const PGMMconn *c)
{
	if (c == NULL || c->last_node.len == 0 || !pgmm_buf_ok(&c->last_node))
		return NULL;
	return c->last_node.data;
}

const char *
pgmm_cmd_tuples(const PGMMconn *c)
{
	return c ? c->last_tuples : "";
}
