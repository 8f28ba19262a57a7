/*
 * link.c -- the links to the masters: one libpq connection per master,
 * opened when first needed, checked for liveness before a statement,
 * reconnected when lost while idle (the session's settings replayed), and
 * the execution of a choice (choose.c) against them.  Also the per-link
 * libpq settings (notice hooks, error verbosity) and the session settings
 * replayed on new links.
 *
 * Called by conn.c, txn.c, prepared.c, broadcast.c, exec.c, nextid.c,
 * errors.c (conn_int.h) and compat.c (pgmm_router_pq*, router_int.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include "conn_int.h"

/* A link used this recently is not polled for liveness before a statement. */
#define LIVENESS_GRACE_MS 20

int64_t
pgmm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
pgmm_set_last_node(PGMMconn *c, int i)
{
	pgmm_buf_reset(&c->last_node);
	if (i >= 0 && i < c->nlinks)
		pgmm_buf_append(&c->last_node, c->links[i].name);
}

static void
apply_link_settings(PGMMconn *c, PGconn *pq)
{
	if (c->notice_proc)
		PQsetNoticeProcessor(pq, c->notice_proc, c->notice_proc_arg);
	if (c->notice_recv)
		PQsetNoticeReceiver(pq, c->notice_recv, c->notice_recv_arg);
	if (c->verbosity_set)
		PQsetErrorVerbosity(pq, c->verbosity);
	if (c->show_context_set)
		PQsetErrorContextVisibility(pq, c->show_context);
}

/* Replay the session's settings on a fresh connection; 0 / -1 (err). */
static int
replay_settings(PGMMconn *c, int i, pgmm_buf *err)
{
	int k;

	for (k = 0; k < c->nsettings; k++)
	{
		PGresult *r = pgmm_link_exec(c, i, c->settings[k].sql);

		if (!pgmm_res_ok(r))
		{
			pgmm_buf_printf(err, "master %s: replaying \"%s\" on a new connection failed: ", c->links[i].name,
			                c->settings[k].sql);
			pgmm_buf_append_pqmsg(err, r ? PQresultErrorMessage(r) : PQerrorMessage(c->links[i].pq));
			PQclear(r);
			return -1;
		}
		PQclear(r);
	}
	return 0;
}

/*
 * Is an idle connection still there?  A server that shut down sends a
 * FATAL message and closes the socket: both are readable now, so a
 * restarted master is noticed before a statement is sent to the dead
 * session (which would be an ambiguous failure).
 */
static int
link_alive(PGconn *pq)
{
	struct pollfd p;
	int rounds;

	if (PQstatus(pq) != CONNECTION_OK)
		return 0;
	p.fd = PQsocket(pq);
	if (p.fd < 0)
		return 0;
	for (rounds = 0; rounds < 16; rounds++)
	{
		int r;

		p.events = POLLIN;
		p.revents = 0;
		r = poll(&p, 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (!PQconsumeInput(pq) || PQstatus(pq) != CONNECTION_OK)
			return 0;
		/* Drop notifications: LISTEN is not routed. */
		{
			PGnotify *n;

			while ((n = PQnotifies(pq)) != NULL)
				PQfreemem(n);
		}
	}
	return PQstatus(pq) == CONNECTION_OK;
}

/*
 * Wait for pq's socket to be ready for events, until deadline (ms of
 * pgmm_now_ms; < 0: no bound).  1 ready, 0 timed out, -1 error.
 */
static int
wait_socket(PGconn *pq, short events, int64_t deadline)
{
	struct pollfd p;

	p.fd = PQsocket(pq);
	if (p.fd < 0)
		return -1;
	for (;;)
	{
		int64_t left = deadline < 0 ? -1 : deadline - pgmm_now_ms();
		int r;

		if (deadline >= 0 && left <= 0)
			return 0;
		p.events = events;
		p.revents = 0;
		r = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int) left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			continue;			/* the deadline check above ends it */
		return 1;
	}
}

static int64_t
deadline_of(const PGMMconn *c)
{
	return c->opts.timeout > 0 ? pgmm_now_ms() + c->opts.timeout : -1;
}

/*
 * Connect to conninfo, the whole handshake bounded by timeout_ms (0: none).
 * connect_timeout, keepalives and tcp_user_timeout are set unless conninfo
 * sets them (libpq: parameters before an expanded dbname are overridden by
 * the string's).  A PGconn (check PQstatus), or NULL: out of memory, or
 * *timed_out when the bound was hit (the socket is closed).
 */
PGconn *
pgmm_link_connect(const char *conninfo, int timeout_ms, int *timed_out)
{
	char ct[16], idle[16], intvl[16], tut[16];
	const char *kw[8], *val[8];
	int n = 0;
	int64_t deadline = timeout_ms > 0 ? pgmm_now_ms() + timeout_ms : -1;
	PGconn *pq;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	*timed_out = 0;
	if (timeout_ms > 0)
	{
		/* libpq's connect_timeout is whole seconds, at least 2. */
		snprintf(ct, sizeof ct, "%d", timeout_ms < 2000 ? 2 : (timeout_ms + 999) / 1000);
		snprintf(tut, sizeof tut, "%d", timeout_ms);
		kw[n] = "connect_timeout", val[n++] = ct;
		kw[n] = "tcp_user_timeout", val[n++] = tut;
	}
	/* Keepalives: a half-open path is noticed even on an idle link. */
	snprintf(idle, sizeof idle, "%d", timeout_ms > 0 && timeout_ms < 30000 ? (timeout_ms + 999) / 1000 : 30);
	snprintf(intvl, sizeof intvl, "%d", timeout_ms > 0 && timeout_ms < 30000 ? (timeout_ms + 2999) / 3000 : 10);
	kw[n] = "keepalives", val[n++] = "1";
	kw[n] = "keepalives_idle", val[n++] = idle;
	kw[n] = "keepalives_interval", val[n++] = intvl;
	kw[n] = "keepalives_count", val[n++] = "3";
	kw[n] = "dbname", val[n++] = conninfo;
	kw[n] = NULL, val[n] = NULL;
	pq = PQconnectStartParams(kw, val, 1);
	if (pq == NULL || PQstatus(pq) == CONNECTION_BAD)
		return pq;
	for (;;)
	{
		int w;

		if (st == PGRES_POLLING_OK || st == PGRES_POLLING_FAILED)
			break;
		w = wait_socket(pq, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
		if (w == 0)
		{
			/* Hung (stopped, half-open path): close the socket. */
			*timed_out = 1;
			PQfinish(pq);
			return NULL;
		}
		if (w < 0)
			break;				/* PQconnectPoll reports the error */
		st = PQconnectPoll(pq);
	}
	return pq;
}

int
pgmm_link_active(const PGMMconn *c, int i)
{
	/* 'failed' (taken over by `pgmm failover`) or 'disabled': never used,
	 * whatever answers there (a failed master restarted before pgmm fenced
	 * it still believes it owns its shards). */
	return c->map == NULL || i < 0 || i >= c->map->nnodes || c->map->nodes[i].active;
}

/* Master i does not answer: cut its link (a statement on it may have run;
 * its session, and any transaction there, is gone) and skip it in balanced
 * choices for pgmm_reconnect_interval.  The PGconn stays (CONNECTION_BAD,
 * as after a lost connection, so callers holding it are safe) until the
 * next connection attempt replaces it. */
void
pgmm_link_mark_down(PGMMconn *c, int i)
{
	pgmm_link *l = &c->links[i];

	if (l->pq)
	{
		if (PQsocket(l->pq) >= 0)
			(void) shutdown(PQsocket(l->pq), SHUT_RDWR);
		while (PQstatus(l->pq) == CONNECTION_OK && PQconsumeInput(l->pq))
			if (wait_socket(l->pq, POLLIN, pgmm_now_ms() + 100) <= 0)
				break;
	}
	l->gen = 0;
	l->down = 1;
	l->down_at = pgmm_now_ms();
	c->epoch_check = 1;			/* was it failed over? ask another master */
	if (c->txn == PGMM_TXN_OPEN && c->bound == i)
	{
		c->txn_lost = 1;		/* its session is gone */
		c->txn_failed = 1;
	}
}

/* The deadline of a wait that starts now (-1: pgmm_timeout=0, none). */
int64_t
pgmm_link_deadline(const PGMMconn *c)
{
	return deadline_of(c);
}

/* Wait until link i's pending result can be read without blocking, or
 * deadline: 1 ready (or the connection failed: reading reports it), 0 timed
 * out -- then the master is marked down and its link cut, so reading fails
 * at once. */
int
pgmm_link_await(PGMMconn *c, int i, int64_t deadline)
{
	PGconn *pq = c->links[i].pq;

	if (pq == NULL)
		return 1;
	while (PQstatus(pq) == CONNECTION_OK && PQisBusy(pq))
	{
		int w = wait_socket(pq, POLLIN, deadline);

		if (w == 0)
		{
			pgmm_link_mark_down(c, i);
			return 0;
		}
		if (w < 0 || !PQconsumeInput(pq))
			break;
	}
	return 1;
}

static int
send_simple(PGconn *pq, const void *sql)
{
	return PQsendQuery(pq, sql);
}

/* PQexec of sql on link i (connected), bounded by pgmm_timeout: on timeout
 * the master is marked down and a PM005 result made here is returned. */
PGresult *
pgmm_link_exec(PGMMconn *c, int i, const char *sql)
{
	int timed_out;
	PGresult *r = pgmm_link_run(c, i, send_simple, sql, &timed_out);

	if (timed_out)
		r = pgmm_link_timeout_result(c, i);
	return r;
}

/* The master i did not answer in time: mark it down; a PM005 result. */
PGresult *
pgmm_link_timeout_result(PGMMconn *c, int i)
{
	char msg[300];

	pgmm_link_mark_down(c, i);
	snprintf(msg, sizeof msg, "pgmm: master %s did not answer within pgmm_timeout=%d ms (SQLSTATE %s)",
	         c->links[i].name, c->opts.timeout, PGMM_SQLSTATE_NODE_DOWN);
	return pgmm_local_error(c, PGMM_SQLSTATE_NODE_DOWN, msg, c->links[i].pq);
}

/*
 * Send one statement on link i (connected) with send(pq, arg) -- a
 * PQsendQuery* call -- and collect its result as PQexec does (the last one),
 * every wait bounded by pgmm_timeout.  NULL with *timed_out set when the
 * master did not answer in time (the link is still open: the caller reports
 * and calls pgmm_link_mark_down); NULL otherwise when sending failed (see
 * PQerrorMessage).
 */
PGresult *
pgmm_link_run(PGMMconn *c, int i, int (*send)(PGconn *, const void *), const void *arg, int *timed_out)
{
	PGconn *pq = c->links[i].pq;
	int64_t deadline = deadline_of(c);
	PGresult *last = NULL, *r;
	int f;

	*timed_out = 0;
	if (PQsetnonblocking(pq, 1) != 0)
		return NULL;
	if (!send(pq, arg))
	{
		PQsetnonblocking(pq, 0);
		return NULL;
	}
	while ((f = PQflush(pq)) > 0)
	{
		int w = wait_socket(pq, POLLOUT | POLLIN, deadline);

		if (w == 0)
		{
			*timed_out = 1;
			return NULL;
		}
		if (w < 0)
			break;
		if (!PQconsumeInput(pq))
			break;
	}
	for (;;)
	{
		while (PQisBusy(pq) && PQstatus(pq) == CONNECTION_OK)
		{
			int w = wait_socket(pq, POLLIN, deadline);

			if (w == 0)
			{
				PQclear(last);
				*timed_out = 1;
				return NULL;
			}
			if (w < 0 || !PQconsumeInput(pq))
				break;
		}
		r = PQgetResult(pq);
		if (r == NULL)
			break;
		PQclear(last);
		last = r;
		if (PQresultStatus(r) == PGRES_COPY_IN || PQresultStatus(r) == PGRES_COPY_OUT ||
		    PQresultStatus(r) == PGRES_COPY_BOTH || PQstatus(pq) == CONNECTION_BAD)
			break;
	}
	PQsetnonblocking(pq, 0);
	c->links[i].used_at = pgmm_now_ms();
	return last;
}

/*
 * The link to master i, connected.  A connection lost while idle is
 * reconnected (a new session: settings replayed, prepared statements gone)
 * unless it carries the open transaction (then *lost is set).  NULL with
 * err set when the master cannot be reached.
 */
PGconn *
pgmm_link_get(PGMMconn *c, int i, pgmm_buf *err, int *lost)
{
	pgmm_link *l = &c->links[i];

	if (lost)
		*lost = 0;
	if (l->pq && PQstatus(l->pq) == CONNECTION_OK)
	{
		/* A session used within the last moment cannot have gone through
		 * a server restart unnoticed; others are checked (one poll). */
		int64_t t = pgmm_now_ms();

		if (t - l->used_at < LIVENESS_GRACE_MS || link_alive(l->pq))
		{
			l->used_at = t;
			return l->pq;
		}
	}
	if (c->txn == PGMM_TXN_OPEN && c->bound == i && l->pq)
	{
		if (lost)
			*lost = 1;
		pgmm_buf_printf(err, "master %s: the connection of the open transaction was lost (", l->name);
		pgmm_buf_append_pqmsg(err, PQerrorMessage(l->pq));
		pgmm_buf_append(err, "); the transaction was rolled back by the server");
		return NULL;
	}
	{
		int timed_out;

		if (l->pq)
		{
			/* A new session (PQreset would wait without bound). */
			PQfinish(l->pq);
			l->pq = NULL;
		}
		l->pq = pgmm_link_connect(l->conninfo, c->opts.timeout, &timed_out);
		if (l->pq == NULL)
		{
			char *d = pgmm_conninfo_describe(l->conninfo);

			if (timed_out)
			{
				pgmm_link_mark_down(c, i);
				pgmm_buf_printf(err, "master %s (%s) is unreachable: no answer within pgmm_timeout=%d ms while "
				                "connecting", l->name, d ? d : "?", c->opts.timeout);
			}
			else
				pgmm_buf_printf(err, "master %s: out of memory", l->name);
			free(d);
			return NULL;
		}
		if (pgmm_result_register(l->pq) < 0)
		{
			pgmm_buf_printf(err, "master %s: cannot register pgmm's result events", l->name);
			PQfinish(l->pq);
			l->pq = NULL;
			return NULL;
		}
	}
	if (PQstatus(l->pq) != CONNECTION_OK)
	{
		char *d = pgmm_conninfo_describe(l->conninfo);

		l->down = 1;
		l->down_at = pgmm_now_ms();
		l->gen = 0;
		c->epoch_check = 1;		/* was it failed over? ask another master */
		pgmm_buf_printf(err, "master %s (%s) is unreachable: ", l->name, d ? d : "?");
		pgmm_buf_append_pqmsg(err, PQerrorMessage(l->pq));
		free(d);
		return NULL;
	}
	l->down = 0;
	l->used_at = pgmm_now_ms();
	l->gen = ++c->gen_counter;
	if (l->gen == 0)
		l->gen = ++c->gen_counter;
	apply_link_settings(c, l->pq);
	if (replay_settings(c, i, err) < 0)
	{
		PQfinish(l->pq);
		l->pq = NULL;
		l->gen = 0;
		return NULL;
	}
	return l->pq;
}

/* A link to use for something any master can answer: prefer, then home,
 * then any other; never one carrying a failed transaction. */
int
pgmm_link_any(PGMMconn *c, int prefer, pgmm_buf *err)
{
	int order[5] = {prefer, c->home, -1, prefer, c->home}, k, i;
	int64_t now = pgmm_now_ms();

	/* prefer and home, unless marked down lately: then after the others. */
	for (k = 0; k < 5; k++)
	{
		if (k == 2)
		{
			for (i = 0; i < c->nlinks; i++)
			{
				if (i == prefer || i == c->home || (c->txn == PGMM_TXN_OPEN && c->bound == i) ||
				    !pgmm_link_active(c, i))
					continue;
				if (c->links[i].down && now - c->links[i].down_at < c->opts.reconnect_interval)
					continue;
				if (pgmm_link_get(c, i, err, NULL))
					return i;
			}
			continue;
		}
		i = order[k];
		if (i < 0 || i >= c->nlinks || ((k == 1 || k == 4) && i == order[0]) || !pgmm_link_active(c, i))
			continue;
		if ((k < 2) == (c->links[i].down && now - c->links[i].down_at < c->opts.reconnect_interval))
			continue;
		if (c->txn == PGMM_TXN_OPEN && c->bound == i && c->links[i].pq &&
		    PQtransactionStatus(c->links[i].pq) != PQTRANS_INTRANS)
			continue;
		if (pgmm_link_get(c, i, err, NULL))
			return i;
	}
	return -1;
}

/* Some PGconn object (any state) to make local results with. */
PGconn *
pgmm_link_some_pq(const PGMMconn *c)
{
	int i;

	if (c->home >= 0 && c->home < c->nlinks && c->links[c->home].pq)
		return c->links[c->home].pq;
	for (i = 0; i < c->nlinks; i++)
		if (c->links[i].pq)
			return c->links[i].pq;
	return NULL;
}

/*
 * Run choice ch (NODE or BALANCED) against the links: try the masters in
 * pgmm_choice_order's order and connect the first that answers.  -1 with
 * why when none does.
 */
int
pgmm_link_pick(PGMMconn *c, const pgmm_choice *ch, pgmm_buf *why)
{
	unsigned char *usable = malloc((size_t) c->nlinks + 1);
	int *order = malloc(((size_t) c->nlinks + 1) * sizeof *order);
	long *rr_of = malloc(((size_t) c->nlinks + 1) * sizeof *rr_of);
	int64_t now = pgmm_now_ms();
	int i, k, n, chosen = -1;

	if (usable == NULL || order == NULL || rr_of == NULL)
	{
		pgmm_buf_append(why, "out of memory");
		free(usable);
		free(order);
		free(rr_of);
		return -1;
	}
	for (i = 0; i < c->nlinks; i++)
		usable[i] = !(c->links[i].down && now - c->links[i].down_at < c->opts.reconnect_interval);
	n = pgmm_choice_order(c->map, ch, c->rr, usable, order, rr_of);
	for (k = 0; k < n && chosen < 0; k++)
	{
		if (k > 0)
			pgmm_buf_append(why, "; ");
		if (pgmm_link_get(c, order[k], why, NULL))
		{
			chosen = order[k];
			if (rr_of[k] >= 0)
				c->rr = (unsigned) rr_of[k];
		}
	}
	free(usable);
	free(order);
	free(rr_of);
	return chosen;
}

void
pgmm_settings_clear(PGMMconn *c)
{
	int i;

	for (i = 0; i < c->nsettings; i++)
	{
		free(c->settings[i].key);
		free(c->settings[i].sql);
	}
	free(c->settings);
	c->settings = NULL;
	c->nsettings = 0;
}

/* Record a SET for the connections opened later (RESET x and SET x TO
 * DEFAULT forget x; RESET ALL / DISCARD ALL forget everything). */
void
pgmm_settings_record(PGMMconn *c, const char *sql, const pgmm_plan *p)
{
	const char *key = p->set_key;
	int k;
	pgmm_setting *s;

	if (p->flags & PGMM_PF_RESET_ALL)
	{
		pgmm_settings_clear(c);
		return;
	}
	for (k = 0; key && k < c->nsettings;)
	{
		if (c->settings[k].key && strcmp(c->settings[k].key, key) == 0)
		{
			free(c->settings[k].key);
			free(c->settings[k].sql);
			memmove(&c->settings[k], &c->settings[k + 1], (size_t) (c->nsettings - k - 1) * sizeof *c->settings);
			c->nsettings--;
		}
		else
			k++;
	}
	if (p->sub != PGMM_SUB_SET || p->to_default)
		return;
	s = realloc(c->settings, (size_t) (c->nsettings + 1) * sizeof *s);
	if (s == NULL)
		return;
	c->settings = s;
	s[c->nsettings].key = key ? strdup(key) : NULL;
	s[c->nsettings].sql = strdup(sql);
	if (s[c->nsettings].sql == NULL || (key && s[c->nsettings].key == NULL))
	{
		free(s[c->nsettings].key);
		free(s[c->nsettings].sql);
		return;
	}
	c->nsettings++;
}

PGconn *
pgmm_router_pq(PGMMconn *c)
{
	pgmm_buf ignore;
	int i;

	if (c == NULL || c->status != CONNECTION_OK)
		return NULL;
	pgmm_buf_init(&ignore);
	i = pgmm_link_any(c, c->home, &ignore);
	pgmm_buf_free(&ignore);
	return i >= 0 ? c->links[i].pq : pgmm_link_some_pq(c);
}

const PGconn *
pgmm_router_pq_const(const PGMMconn *c)
{
	if (c == NULL || c->status != CONNECTION_OK)
		return NULL;
	return pgmm_link_some_pq(c);
}

PQnoticeProcessor
pgmm_set_notice_processor(PGMMconn *c, PQnoticeProcessor proc, void *arg)
{
	PQnoticeProcessor old;
	int i;

	if (c == NULL)
		return NULL;
	old = c->notice_proc;
	if (old == NULL && pgmm_link_some_pq(c))
		old = PQsetNoticeProcessor(pgmm_link_some_pq(c), NULL, NULL);	/* NULL proc: just returns the current one */
	if (proc == NULL)
		return old;
	c->notice_proc = proc;
	c->notice_proc_arg = arg;
	for (i = 0; i < c->nlinks; i++)
		if (c->links[i].pq)
			PQsetNoticeProcessor(c->links[i].pq, proc, arg);
	return old;
}

PQnoticeReceiver
pgmm_set_notice_receiver(PGMMconn *c, PQnoticeReceiver proc, void *arg)
{
	PQnoticeReceiver old;
	int i;

	if (c == NULL)
		return NULL;
	old = c->notice_recv;
	if (old == NULL && pgmm_link_some_pq(c))
		old = PQsetNoticeReceiver(pgmm_link_some_pq(c), NULL, NULL);
	if (proc == NULL)
		return old;
	c->notice_recv = proc;
	c->notice_recv_arg = arg;
	for (i = 0; i < c->nlinks; i++)
		if (c->links[i].pq)
			PQsetNoticeReceiver(c->links[i].pq, proc, arg);
	return old;
}

PGVerbosity
pgmm_set_error_verbosity(PGMMconn *c, PGVerbosity v)
{
	PGVerbosity old = PQERRORS_DEFAULT;
	int i;

	if (c == NULL)
		return old;
	if (c->verbosity_set)
		old = c->verbosity;
	c->verbosity = v;
	c->verbosity_set = 1;
	for (i = 0; i < c->nlinks; i++)
		if (c->links[i].pq)
			PQsetErrorVerbosity(c->links[i].pq, v);
	return old;
}

PGContextVisibility
pgmm_set_error_context_visibility(PGMMconn *c, PGContextVisibility v)
{
	PGContextVisibility old = PQSHOW_CONTEXT_ERRORS;
	int i;

	if (c == NULL)
		return old;
	if (c->show_context_set)
		old = c->show_context;
	c->show_context = v;
	c->show_context_set = 1;
	for (i = 0; i < c->nlinks; i++)
		if (c->links[i].pq)
			PQsetErrorContextVisibility(c->links[i].pq, v);
	return old;
}
