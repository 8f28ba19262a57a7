/*
 * router.c -- the cluster connection: one libpq link per master, the map,
 * transactions, and the execution of each statement on the right master.
 *
 * Flow of one statement (pgmm_exec / pgmm_exec_params / pgmm_exec_prepared):
 *   plan   the cached plan of the text (route.c), built on a miss;
 *   target where the plan's keys say it goes (route.c, given the params);
 *   choose the transaction rules: outside a transaction the target itself;
 *          inside, the bound master (a statement for another one fails
 *          with PM002), binding the transaction on its first statement by
 *          sending the deferred BEGIN there;
 *   run    on that master's link, reconnecting it first if it was lost
 *          while idle (never inside a transaction); a write refused with
 *          PM001 outside a transaction refreshes the map and is retried
 *          (pgmm_retries); a connection lost while a statement ran is
 *          reported, never resent, and the map is marked for a refresh.
 *
 * Errors pgmm decides itself (PM002, PM004, PM005, invalid keys) are raised
 * by the server function pgmm.raise on a master that is up, so that they
 * are real libpq error results with every field set; and inside a
 * transaction they abort it, as PostgreSQL's own errors do.  Only when no
 * master is reachable is the error result made locally.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sodium.h>
#include <libpq-events.h>

#include "router_int.h"
#include "twophase.h"

/* Statement texts longer than this are planned but not cached. */
#define PLAN_CACHE_MAX_TEXT 65536
/* A link used this recently is not polled for liveness before a statement. */
#define LIVENESS_GRACE_MS 20

enum { TXN_NONE = 0, TXN_OPEN = 1 };
enum { EXEC_SIMPLE = 0, EXEC_PARAMS = 1, EXEC_PREPARED = 2 };

typedef struct pgmm_link
{
	char       *name;
	char       *conninfo;
	PGconn     *pq;             /* NULL until first used */
	unsigned    gen;            /* session id, new at every (re)connect; 0: none */
	int         down;           /* last connect failed */
	int64_t     down_at;        /* ms */
	int64_t     used_at;        /* ms: last statement (liveness checks skip fresh links) */
} pgmm_link;

typedef struct pgmm_setting
{
	char *key;                  /* NULL: not de-duplicated */
	char *sql;
} pgmm_setting;

typedef struct pgmm_prep
{
	char       *name;
	char       *sql;
	int         nparams;
	Oid        *types;
	pgmm_plan  *plan;
	unsigned    plan_gen;
	unsigned   *sessions;       /* link gens where the statement is prepared */
	int         nsessions;
} pgmm_prep;

struct pgmm_conn
{
	ConnStatusType status;
	pgmm_buf    err;            /* see conn_error */
	char        err_sqlstate[6];
	pgmm_options opts;
	char       *home_conninfo;
	char       *home_name;
	pgmm_map   *map;
	pgmm_link  *links;          /* parallel to map->nodes */
	int         nlinks;
	int         home;
	pgmm_cache *plans;
	unsigned    plan_gen;       /* bumped whenever cached plans are dropped */
	pgmm_cache *prepared;       /* name -> pgmm_prep */
	int         need_refresh;
	unsigned    rr;
	unsigned    gen_counter;
	/* transaction */
	int         txn;
	int         bound;          /* link index or -1 */
	int         txn_failed;     /* aborted while unbound (or its master was lost) */
	int         txn_lost;       /* the bound master's connection was lost */
	char       *begin_sql;
	char      **queue;          /* SAVEPOINT, SET LOCAL ... waiting for the binding */
	int         nqueue;
	/* session settings replayed on new connections */
	pgmm_setting *settings;
	int         nsettings;
	/* last statement */
	pgmm_buf    last_node;
	char        last_tuples[24];
	pgmm_idpool ids;
	/* hooks and per-connection libpq settings applied to every link */
	pgmm_map_hook_fn map_hook;
	void       *map_hook_arg;
	PQnoticeProcessor notice_proc;
	void       *notice_proc_arg;
	PQnoticeReceiver notice_recv;
	void       *notice_recv_arg;
	PGVerbosity verbosity;
	int         verbosity_set;
	PGContextVisibility show_context;
	int         show_context_set;
	/* key owner answer buffer */
	char        owner_buf[64];
};

typedef struct exec_req
{
	int         mode;
	const char *sql;
	size_t      len;
	pgmm_prep  *prep;
	pgmm_params params;
	int         result_format;
} exec_req;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The connection's error (pgmm_error_message, pgmm_error_sqlstate): one
 * buffer, cleared when an operation starts (conn_error_clear) and only
 * appended to after that, through conn_error.  sqlstate (NULL: none known)
 * becomes the operation's SQLSTATE unless an earlier error of the same
 * operation set one.  A line feed ends every message.
 */
static void
conn_error_clear(PGMMconn *c)
{
	pgmm_buf_reset(&c->err);
	c->err_sqlstate[0] = '\0';
}

static void
conn_error(PGMMconn *c, const char *sqlstate, const char *fmt, ...)
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

static void
set_last(PGMMconn *c, int i)
{
	pgmm_buf_reset(&c->last_node);
	if (i >= 0 && i < c->nlinks)
		pgmm_buf_append(&c->last_node, c->links[i].name);
}

static int
is_error(const PGresult *r)
{
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	return st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR;
}

static int
result_ok(const PGresult *r)
{
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY;
}

static int
sqlstate_is(const PGresult *r, const char *code)
{
	const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	return s && strcmp(s, code) == 0;
}

/* Did a catalog query fail because this database has no pgmm catalog
 * (schema pgmm missing: 3F000; a catalog table missing: 42P01)? */
static int
catalog_missing(const PGresult *r)
{
	return sqlstate_is(r, "3F000") || sqlstate_is(r, "42P01");
}

/* Keep the error text of a failed statement in the connection's buffer, as
 * libpq's PQerrorMessage does. */
static void
note_result_error(PGMMconn *c, const PGresult *r, PGconn *pq)
{
	if (r && !is_error(r))
		return;
	if (r)
		conn_error(c, PQresultErrorField(r, PG_DIAG_SQLSTATE), "%s", PQresultErrorMessage(r));
	else if (pq)
		conn_error(c, PQstatus(pq) == CONNECTION_OK ? "53200" : "08006", "%s", PQerrorMessage(pq));
	else
		conn_error(c, "53200", "out of memory");
}

static void
strv_free(char **v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
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
		PGresult *r = PQexec(c->links[i].pq, c->settings[k].sql);

		if (!result_ok(r))
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
 * The link to master i, connected.  A connection lost while idle is
 * reconnected (a new session: settings replayed, prepared statements gone)
 * unless it carries the open transaction (then *lost is set).  NULL with
 * err set when the master cannot be reached.
 */
static PGconn *
link_get(PGMMconn *c, int i, pgmm_buf *err, int *lost)
{
	pgmm_link *l = &c->links[i];

	if (lost)
		*lost = 0;
	if (l->pq && PQstatus(l->pq) == CONNECTION_OK)
	{
		/* A session used within the last moment cannot have gone through
		 * a server restart unnoticed; others are checked (one poll). */
		int64_t t = now_ms();

		if (t - l->used_at < LIVENESS_GRACE_MS || link_alive(l->pq))
		{
			l->used_at = t;
			return l->pq;
		}
	}
	if (c->txn == TXN_OPEN && c->bound == i && l->pq)
	{
		if (lost)
			*lost = 1;
		pgmm_buf_printf(err, "master %s: the connection of the open transaction was lost (", l->name);
		pgmm_buf_append_pqmsg(err, PQerrorMessage(l->pq));
		pgmm_buf_append(err, "); the transaction was rolled back by the server");
		return NULL;
	}
	if (l->pq)
		PQreset(l->pq);
	else
	{
		l->pq = PQconnectdb(l->conninfo);
		if (l->pq == NULL)
		{
			pgmm_buf_printf(err, "master %s: out of memory", l->name);
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
		l->down_at = now_ms();
		l->gen = 0;
		pgmm_buf_printf(err, "master %s (%s) is unreachable: ", l->name, d ? d : "?");
		pgmm_buf_append_pqmsg(err, PQerrorMessage(l->pq));
		free(d);
		return NULL;
	}
	l->down = 0;
	l->used_at = now_ms();
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
static int
any_link(PGMMconn *c, int prefer, pgmm_buf *err)
{
	int order[3] = {prefer, c->home, -1}, k, i;

	for (k = 0; k < 2; k++)
	{
		i = order[k];
		if (i < 0 || i >= c->nlinks || (k == 1 && i == order[0]))
			continue;
		if (c->txn == TXN_OPEN && c->bound == i && c->links[i].pq &&
		    PQtransactionStatus(c->links[i].pq) != PQTRANS_INTRANS)
			continue;
		if (link_get(c, i, err, NULL))
			return i;
	}
	for (i = 0; i < c->nlinks; i++)
	{
		if (i == prefer || i == c->home || (c->txn == TXN_OPEN && c->bound == i))
			continue;
		if (c->links[i].down && now_ms() - c->links[i].down_at < c->opts.reconnect_interval)
			continue;
		if (link_get(c, i, err, NULL))
			return i;
	}
	return -1;
}

/* Some PGconn object (any state) to make local results with. */
static PGconn *
some_pq(const PGMMconn *c)
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

static PGresult *
local_ok(PGMMconn *c, ExecStatusType st, const char *cmd_status)
{
	PGresult *r = make_result(some_pq(c), st);

	if (r == NULL)
	{
		conn_error(c, "53200", "out of memory");
		return NULL;
	}
	if (cmd_status)
		(void) pgmm_result_set_cmd(r, cmd_status, "");
	return r;
}

/* An error result made without any master (none reachable). */
static PGresult *
local_error(PGMMconn *c, const char *sqlstate, const char *message, PGconn *pq)
{
	PGresult *r = make_result(pq ? pq : some_pq(c), PGRES_FATAL_ERROR);

	/* message may be the connection's own error text (already there). */
	if (message == c->err.data)
		conn_error(c, sqlstate, "%s", "");
	else
		conn_error(c, sqlstate, "%s", message);
	if (r == NULL)
		return NULL;
	(void) pgmm_result_set_error(r, sqlstate, message);
	return r;
}

static void txn_reset(PGMMconn *c);

/*
 * An error pgmm decides: raised by pgmm.raise on the transaction's master
 * (which aborts the transaction, as any error does), else on the home
 * master or any master that is up; made locally when none is.
 */
static PGresult *
router_error(PGMMconn *c, const char *sqlstate, const char *message, const char *detail, const char *hint)
{
	const char *vals[4];
	pgmm_buf why;
	PGresult *r;
	int i = -1;

	pgmm_buf_init(&why);
	if (c->txn == TXN_OPEN && c->bound >= 0 && !c->txn_lost)
	{
		int lost;

		if (link_get(c, c->bound, &why, &lost))
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
		i = any_link(c, c->home, &why);
	}
	if (c->txn == TXN_OPEN && (c->bound < 0 || i != c->bound))
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
		r = local_error(c, sqlstate, pgmm_buf_str(&msg), NULL);
		pgmm_buf_free(&msg);
		pgmm_buf_free(&why);
		return r;
	}
	pgmm_buf_free(&why);
	vals[0] = sqlstate;
	vals[1] = message;
	vals[2] = detail && detail[0] ? detail : NULL;
	vals[3] = hint && hint[0] ? hint : NULL;
	r = PQexecParams(c->links[i].pq, "SELECT pgmm.raise($1, $2, $3, $4)", 4, NULL, vals, NULL, NULL, 0);
	note_result_error(c, r, c->links[i].pq);
	if (r && !is_error(r))
	{
		/* pgmm.raise always raises; a result without error is a broken catalog. */
		PQclear(r);
		r = local_error(c, sqlstate, message, NULL);
	}
	return r;
}

/* 25P02, the answer to anything but ROLLBACK inside an aborted transaction. */
static PGresult *
aborted_error(PGMMconn *c)
{
	return router_error(c, "25P02", "current transaction is aborted, commands ignored until end of transaction block",
	                    NULL, NULL);
}

static PGresult *
down_error(PGMMconn *c, const char *what, const pgmm_buf *why)
{
	pgmm_buf m;
	PGresult *r;

	pgmm_buf_init(&m);
	pgmm_buf_printf(&m, "pgmm: %s: %s (SQLSTATE %s)", what, pgmm_buf_str(why), PGMM_SQLSTATE_NODE_DOWN);
	r = router_error(c, PGMM_SQLSTATE_NODE_DOWN, pgmm_buf_str(&m), NULL,
	                 "Statements that need this master fail until it is back; the others keep working. "
	                 "pgmm reconnects on the next statement that needs it.");
	/* Keep the full story in the connection's message too. */
	if (pgmm_buf_ok(&m) && c->err.len == 0)
		conn_error(c, PGMM_SQLSTATE_NODE_DOWN, "%s", pgmm_buf_str(&m));
	pgmm_buf_free(&m);
	return r;
}

static void
plans_clear(PGMMconn *c)
{
	if (c->plans)
		pgmm_cache_clear(c->plans);
	c->plan_gen++;
}

/* Install map m (validated): links carried over by master name. */
static int
map_install(PGMMconn *c, pgmm_map *m, pgmm_buf *err)
{
	pgmm_link *links = calloc((size_t) m->nnodes, sizeof *links);
	int i, j, bound = -1, home = -1;
	int64_t old_epoch = c->map ? c->map->epoch : 0;

	if (links == NULL)
		goto oom;
	for (i = 0; i < m->nnodes; i++)
	{
		pgmm_map_node *n = &m->nodes[i];

		links[i].name = strdup(n->name);
		if (links[i].name == NULL)
			goto oom_links;
		for (j = 0; j < c->nlinks; j++)
			if (c->links[j].name && strcmp(c->links[j].name, n->name) == 0)
				break;
		if (c->home_name && strcmp(n->name, c->home_name) == 0)
		{
			home = i;
			links[i].conninfo = strdup(c->home_conninfo);
		}
		else if (j < c->nlinks && c->links[j].conninfo)
			links[i].conninfo = strdup(c->links[j].conninfo);
		else
			links[i].conninfo = pgmm_conninfo_merge(n->conninfo, c->home_conninfo, pgmm_conninfo_carry_keys, err);
		if (links[i].conninfo == NULL)
			goto oom_links;
	}
	if (home < 0)
	{
		pgmm_buf_printf(err, "catalog: the master this connection came through (%s) is no longer listed",
		                c->home_name ? c->home_name : "?");
		goto fail_links;
	}
	/* Carry the connections (the conninfo of a known master is kept as is). */
	for (i = 0; i < m->nnodes; i++)
		for (j = 0; j < c->nlinks; j++)
			if (c->links[j].name && strcmp(c->links[j].name, links[i].name) == 0)
			{
				links[i].pq = c->links[j].pq;
				links[i].gen = c->links[j].gen;
				links[i].down = c->links[j].down;
				links[i].down_at = c->links[j].down_at;
				links[i].used_at = c->links[j].used_at;
				c->links[j].pq = NULL;
				if (c->bound == j)
					bound = i;
			}
	for (j = 0; j < c->nlinks; j++)
	{
		if (c->links[j].pq)
			PQfinish(c->links[j].pq);
		free(c->links[j].name);
		free(c->links[j].conninfo);
	}
	free(c->links);
	c->links = links;
	c->nlinks = m->nnodes;
	c->home = home;
	if (c->txn == TXN_OPEN && c->bound >= 0)
	{
		c->bound = bound;
		if (bound < 0)
		{
			c->txn_lost = 1;
			c->txn_failed = 1;
		}
	}
	pgmm_map_free(c->map);
	c->map = m;
	plans_clear(c);
	if (c->map_hook && old_epoch != m->epoch)
		c->map_hook(c->map_hook_arg, old_epoch, m->epoch);
	return 0;

oom_links:
	pgmm_buf_append(err, "out of memory");
fail_links:
	for (i = 0; i < m->nnodes; i++)
	{
		free(links[i].name);
		free(links[i].conninfo);
	}
	free(links);
	return -1;
oom:
	pgmm_buf_append(err, "out of memory");
	return -1;
}

/* Read the catalog through link i and install it; 0 / -1 (old map kept). */
static int
map_load(PGMMconn *c, int i, pgmm_buf *err)
{
	PGresult *r = PQexec(c->links[i].pq, pgmm_map_query);
	pgmm_map *m;

	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
	{
		const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c->links[i].pq);

		if (catalog_missing(r))
			pgmm_buf_printf(err, "master %s is not part of a pgmm cluster (its pgmm catalog is missing); "
			                "run `pgmm init` first", c->links[i].name);
		else
		{
			pgmm_buf_printf(err, "master %s: reading the pgmm catalog failed: ", c->links[i].name);
			pgmm_buf_append_pqmsg(err, msg);
		}
		PQclear(r);
		return -1;
	}
	m = pgmm_map_from_result(r, err);
	PQclear(r);
	if (m == NULL)
		return -1;
	if (map_install(c, m, err) < 0)
	{
		pgmm_map_free(m);
		return -1;
	}
	return 0;
}

/* Compare the catalog epoch (via link prefer, else any) and reload when it
 * moved: 1 reloaded, 0 same, -1 failure, -2 no master reachable. */
static int
map_refresh(PGMMconn *c, int prefer, pgmm_buf *err)
{
	int i = any_link(c, prefer, err);
	PGresult *r;
	int64_t e;

	if (i < 0)
		return -2;
	r = PQexec(c->links[i].pq, "SELECT epoch FROM pgmm.cluster");
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
	{
		pgmm_buf_printf(err, "master %s: reading the catalog epoch failed: ", c->links[i].name);
		pgmm_buf_append_pqmsg(err, r ? PQresultErrorMessage(r) : PQerrorMessage(c->links[i].pq));
		PQclear(r);
		return -1;
	}
	e = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	if (e == c->map->epoch)
		return 0;
	return map_load(c, i, err) < 0 ? -1 : 1;
}

/* Before a statement: a refresh owed after an ambiguous failure. */
static void
maybe_refresh(PGMMconn *c)
{
	pgmm_buf ignore;

	if (!c->need_refresh || c->txn == TXN_OPEN)
		return;
	pgmm_buf_init(&ignore);
	if (map_refresh(c, c->home, &ignore) >= 0)
		c->need_refresh = 0;
	pgmm_buf_free(&ignore);
}

/* Re-read the home session's search_path (after SET search_path ...). */
static void
reread_search_path(PGMMconn *c, int i)
{
	PGresult *r;
	pgmm_buf ignore;

	if (i < 0 || c->links[i].pq == NULL)
		return;
	r = PQexec(c->links[i].pq, pgmm_search_path_query);
	pgmm_buf_init(&ignore);
	if (r && PQresultStatus(r) == PGRES_TUPLES_OK)
		(void) pgmm_map_search_path_from_result(c->map, r, &ignore);
	pgmm_buf_free(&ignore);
	PQclear(r);
	plans_clear(c);
}

static PGMMconn *
conn_new(void)
{
	PGMMconn *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	c->status = CONNECTION_BAD;
	pgmm_buf_init(&c->err);
	pgmm_buf_init(&c->last_node);
	pgmm_idpool_init(&c->ids);
	c->home = -1;
	c->bound = -1;
	return c;
}

static void prep_free(void *v);

PGMMconn *
pgmm_connect(const char *conninfo)
{
	PGMMconn *c = conn_new();
	PGconn *home;
	pgmm_buf err;
	int i;

	if (c == NULL)
		return NULL;
	if (pgmm_siphash_init() < 0)
	{
		conn_error(c, "58000", "libsodium could not be initialised");
		return c;
	}
	pgmm_buf_init(&err);
	if (pgmm_conninfo_split(conninfo, &c->home_conninfo, &c->opts, &err) < 0)
	{
		conn_error(c, "22023", "%s", pgmm_buf_str(&err));
		pgmm_buf_free(&err);
		return c;
	}
	home = PQconnectdb(c->home_conninfo);
	if (home == NULL)
	{
		conn_error(c, "53200", "out of memory");
		pgmm_buf_free(&err);
		return c;
	}
	if (PQstatus(home) != CONNECTION_OK)
	{
		conn_error(c, "08001", "%s", PQerrorMessage(home));
		PQfinish(home);
		pgmm_buf_free(&err);
		return c;
	}
	/* A temporary single link through which the first map is read. */
	c->links = calloc(1, sizeof *c->links);
	if (c->links == NULL || pgmm_result_register(home) < 0)
	{
		conn_error(c, "53200", "out of memory");
		PQfinish(home);
		pgmm_buf_free(&err);
		return c;
	}
	c->nlinks = 1;
	c->home = 0;
	c->links[0].pq = home;
	c->links[0].gen = ++c->gen_counter;
	c->links[0].name = strdup("(home)");
	c->links[0].conninfo = strdup(c->home_conninfo);
	{
		PGresult *r = PQexec(home, pgmm_map_query);
		pgmm_map *m = NULL;

		if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
		{
			const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(home);

			if (catalog_missing(r))
				conn_error(c, PQresultErrorField(r, PG_DIAG_SQLSTATE),
				           "this master is not part of a pgmm cluster (schema pgmm not found); run `pgmm init` first");
			else
				conn_error(c, r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : "08006",
				           "reading the pgmm catalog failed: %s", msg);
			PQclear(r);
			pgmm_buf_free(&err);
			return c;
		}
		m = pgmm_map_from_result(r, &err);
		PQclear(r);
		if (m == NULL)
		{
			conn_error(c, "XX000", "%s", pgmm_buf_str(&err));
			pgmm_buf_free(&err);
			return c;
		}
		c->home_name = strdup(m->local_name);
		free(c->links[0].name);
		c->links[0].name = strdup(m->local_name);
		if (c->home_name == NULL || c->links[0].name == NULL || map_install(c, m, &err) < 0)
		{
			if (err.len == 0)
				pgmm_buf_append(&err, "out of memory");
			conn_error(c, "XX000", "%s", pgmm_buf_str(&err));
			pgmm_map_free(m);
			pgmm_buf_free(&err);
			return c;
		}
	}
	if (c->opts.plan_cache > 0)
	{
		c->plans = pgmm_cache_new((size_t) c->opts.plan_cache, (pgmm_cache_free_fn) pgmm_plan_free);
		if (c->plans == NULL)
		{
			conn_error(c, "53200", "out of memory");
			pgmm_buf_free(&err);
			return c;
		}
	}
	c->prepared = pgmm_cache_new(0, prep_free);
	if (c->prepared == NULL)
	{
		conn_error(c, "53200", "out of memory");
		pgmm_buf_free(&err);
		return c;
	}
	if (!c->opts.lazy)
		for (i = 0; i < c->nlinks; i++)
		{
			pgmm_buf ignore;

			pgmm_buf_init(&ignore);
			(void) link_get(c, i, &ignore, NULL);
			pgmm_buf_free(&ignore);
		}
	pgmm_buf_free(&err);
	c->status = CONNECTION_OK;
	conn_error_clear(c);
	return c;
}

ConnStatusType
pgmm_status(const PGMMconn *c)
{
	return c ? c->status : CONNECTION_BAD;
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

static void
settings_clear(PGMMconn *c)
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

void
pgmm_finish(PGMMconn *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nlinks; i++)
	{
		if (c->links[i].pq)
			PQfinish(c->links[i].pq);
		free(c->links[i].name);
		if (c->links[i].conninfo)
		{
			/* It may carry the caller's password. */
			sodium_memzero(c->links[i].conninfo, strlen(c->links[i].conninfo));
			free(c->links[i].conninfo);
		}
	}
	free(c->links);
	if (c->plans)
		pgmm_cache_free(c->plans);
	if (c->prepared)
		pgmm_cache_free(c->prepared);
	pgmm_map_free(c->map);
	txn_reset(c);
	settings_clear(c);
	pgmm_idpool_free(&c->ids);
	pgmm_buf_free(&c->err);
	pgmm_buf_free(&c->last_node);
	if (c->home_conninfo)
	{
		sodium_memzero(c->home_conninfo, strlen(c->home_conninfo));
		free(c->home_conninfo);
	}
	free(c->home_name);
	free(c);
}

/* Start of every operation: 0 ready, -1 unusable (message set). */
static int
op_begin(PGMMconn *c)
{
	if (c == NULL)
		return -1;
	conn_error_clear(c);
	if (c->status != CONNECTION_OK)
	{
		conn_error(c, "08003", "pgmm: the connection is not usable (pgmm_connect failed or it was reset)");
		return -1;
	}
	c->last_tuples[0] = '\0';
	maybe_refresh(c);
	return 0;
}

static void
txn_reset(PGMMconn *c)
{
	c->txn = TXN_NONE;
	c->bound = -1;
	c->txn_failed = 0;
	c->txn_lost = 0;
	free(c->begin_sql);
	c->begin_sql = NULL;
	strv_free(c->queue, c->nqueue);
	c->queue = NULL;
	c->nqueue = 0;
}

static int
txn_queue(PGMMconn *c, const char *sql, size_t len)
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
static void
txn_sync(PGMMconn *c, int i)
{
	PGTransactionStatusType st;

	if (i < 0 || c->links[i].pq == NULL)
		return;
	st = PQtransactionStatus(c->links[i].pq);
	if (c->txn == TXN_OPEN && c->bound == i)
	{
		if (st == PQTRANS_IDLE)
			txn_reset(c);
		else if (st == PQTRANS_UNKNOWN)
		{
			c->txn_lost = 1;
			c->txn_failed = 1;
		}
	}
	else if (c->txn == TXN_NONE && (st == PQTRANS_INTRANS || st == PQTRANS_INERROR))
	{
		/* A statement pgmm did not recognise opened a transaction. */
		c->txn = TXN_OPEN;
		c->bound = i;
	}
}

/*
 * Bind the open transaction to master i: send the deferred BEGIN and the
 * statements queued since.  NULL on success; else the error result to
 * return (the transaction is then failed).
 */
static PGresult *
txn_bind(PGMMconn *c, int i)
{
	pgmm_buf why;
	PGconn *pq;
	PGresult *r;
	int k;

	pgmm_buf_init(&why);
	pq = link_get(c, i, &why, NULL);
	if (pq == NULL)
	{
		char what[120];

		snprintf(what, sizeof what, "the transaction's first statement needs master %s", c->links[i].name);
		r = down_error(c, what, &why);
		pgmm_buf_free(&why);
		return r;
	}
	pgmm_buf_free(&why);
	if (PQtransactionStatus(pq) != PQTRANS_IDLE)
	{
		/* Left in a transaction by something else: start clean. */
		PQclear(PQexec(pq, "ROLLBACK"));
	}
	r = PQexec(pq, c->begin_sql ? c->begin_sql : "BEGIN");
	if (!result_ok(r))
	{
		note_result_error(c, r, pq);
		c->txn_failed = 1;
		set_last(c, i);
		return r ? r : local_error(c, "08006", pgmm_buf_str(&c->err), pq);
	}
	PQclear(r);
	c->bound = i;
	for (k = 0; k < c->nqueue; k++)
	{
		r = PQexec(pq, c->queue[k]);
		if (!result_ok(r))
		{
			note_result_error(c, r, pq);
			set_last(c, i);
			txn_sync(c, i);
			return r ? r : local_error(c, "08006", pgmm_buf_str(&c->err), pq);
		}
		PQclear(r);
	}
	strv_free(c->queue, c->nqueue);
	c->queue = NULL;
	c->nqueue = 0;
	return NULL;
}

static void
prep_free(void *v)
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

static int
prep_has(const pgmm_prep *p, unsigned gen)
{
	int k;

	for (k = 0; k < p->nsessions; k++)
		if (p->sessions[k] == gen)
			return 1;
	return 0;
}

static int
prep_add(PGMMconn *c, pgmm_prep *p, unsigned gen)
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

/* Prepare p on link i if that session lacks it.  NULL, or an error result. */
static PGresult *
prep_ensure(PGMMconn *c, int i, pgmm_prep *p)
{
	PGresult *r;

	if (p->name[0] == '\0' || prep_has(p, c->links[i].gen))
		return NULL;
	r = PQprepare(c->links[i].pq, p->name, p->sql, p->nparams, p->types);
	if (!result_ok(r))
	{
		note_result_error(c, r, c->links[i].pq);
		return r ? r : local_error(c, "08006", pgmm_buf_str(&c->err), c->links[i].pq);
	}
	PQclear(r);
	if (prep_add(c, p, c->links[i].gen) < 0)
		return local_error(c, "53200", "out of memory", NULL);
	return NULL;
}

/*
 * Send rq on link i (connected) and wait.  *ambiguous is set when the
 * connection was lost while the statement was on its way: it may or may not
 * have run, so it is reported and never resent.
 */
static PGresult *
send_on(PGMMconn *c, int i, const exec_req *rq, int *ambiguous)
{
	PGconn *pq = c->links[i].pq;
	PGresult *r;
	const pgmm_params *pp = &rq->params;

	*ambiguous = 0;
	switch (rq->mode)
	{
		case EXEC_SIMPLE:
			r = PQexec(pq, rq->sql);
			break;
		case EXEC_PARAMS:
			r = PQexecParams(pq, rq->sql, pp->n, pp->types, pp->values, pp->lengths, pp->formats,
			                 rq->result_format);
			break;
		default:
			if (rq->prep->name[0] == '\0')
				r = PQexecParams(pq, rq->prep->sql, pp->n, rq->prep->types, pp->values, pp->lengths,
				                 pp->formats, rq->result_format);
			else
			{
				r = prep_ensure(c, i, rq->prep);
				if (r)
					return r;
				r = PQexecPrepared(pq, rq->prep->name, pp->n, pp->values, pp->lengths, pp->formats,
				                   rq->result_format);
			}
			break;
	}
	set_last(c, i);
	if (PQstatus(pq) != CONNECTION_OK)
	{
		*ambiguous = 1;
		c->need_refresh = 1;
		conn_error(c, "08006", "pgmm: master %s: the connection was lost while the statement ran; it may or may "
		           "not have been executed, and pgmm does not resend it: %s", c->links[i].name,
		           r ? PQresultErrorMessage(r) : PQerrorMessage(pq));
		if (c->txn == TXN_OPEN && c->bound == i)
		{
			c->txn_lost = 1;
			c->txn_failed = 1;
		}
		if (r == NULL)
			r = local_error(c, "08006", pgmm_buf_str(&c->err), pq);
		return r;
	}
	if (r == NULL)
	{
		note_result_error(c, NULL, pq);
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
		txn_sync(c, i);
		return router_error(c, PGMM_SQLSTATE_REFUSED, "pgmm: COPY is not supported through the router", NULL, NULL);
	}
	note_result_error(c, r, pq);
	if (!is_error(r))
	{
		const char *t = PQcmdTuples(r);
		size_t n = t ? strlen(t) : 0;

		if (n >= sizeof c->last_tuples)
			n = sizeof c->last_tuples - 1;
		memcpy(c->last_tuples, t ? t : "", n);
		c->last_tuples[n] = '\0';
	}
	txn_sync(c, i);
	return r;
}

/* Run rq on master i (transaction rules already applied). */
static PGresult *
run_on(PGMMconn *c, int i, const exec_req *rq, const char *what, int *ambiguous)
{
	pgmm_buf why;
	int lost;

	*ambiguous = 0;
	pgmm_buf_init(&why);
	if (link_get(c, i, &why, &lost) == NULL)
	{
		PGresult *r;

		if (lost)
		{
			c->txn_lost = 1;
			c->txn_failed = 1;
		}
		r = down_error(c, what, &why);
		pgmm_buf_free(&why);
		return r;
	}
	pgmm_buf_free(&why);
	return send_on(c, i, rq, ambiguous);
}

/*
 * Run choice ch (NODE or BALANCED) against the links: try the masters in
 * pgmm_choice_order's order and connect the first that answers.  -1 with
 * why when none does.
 */
static int
link_pick(PGMMconn *c, const pgmm_choice *ch, pgmm_buf *why)
{
	unsigned char *usable = malloc((size_t) c->nlinks + 1);
	int *order = malloc(((size_t) c->nlinks + 1) * sizeof *order);
	long *rr_of = malloc(((size_t) c->nlinks + 1) * sizeof *rr_of);
	int64_t now = now_ms();
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
		if (link_get(c, order[k], why, NULL))
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

/* Combine the per-master results of a broadcast; frees them. */
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
		return local_error(c, "53200", "pgmm: out of memory combining the results of a broadcast", NULL);
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
		if (keep == NULL || (!is_error(keep) && (is_error(r) || result_ok(r))))
		{
			PQclear(keep);
			keep = r;
		}
		else
			PQclear(r);
	}
	return keep;
}

/*
 * UPDATE/DELETE without the key: on every master owning shards of the
 * group, in a transaction whose guards skip foreign rows, committed only
 * when every master succeeded (two-phase with pgmm_2pc=1).
 */
static PGresult *
broadcast(PGMMconn *c, const exec_req *rq, int coloc)
{
	const pgmm_map_coloc *g = &c->map->colocs[coloc];
	int n = g->nowners, k, ok = 1, sent_ok;
	PGresult **res = NULL, *fail = NULL;
	pgmm_buf why, down, twopc_err;
	int twopc_failed = 0;		/* 1 aborted, 2 in doubt (twopc_err says why) */

	pgmm_buf_init(&why);
	pgmm_buf_init(&down);
	for (k = 0; k < n; k++)
	{
		pgmm_buf_reset(&why);
		if (link_get(c, g->owners[k], &why, NULL) == NULL)
			pgmm_buf_printf(&down, "%s%s", down.len ? "; " : "", pgmm_buf_str(&why));
	}
	pgmm_buf_free(&why);
	if (down.len)
	{
		PGresult *r = down_error(c, "an UPDATE/DELETE without the key needs every master owning shards, "
		                         "and nothing was sent", &down);

		pgmm_buf_free(&down);
		return r;
	}
	pgmm_buf_free(&down);
	res = calloc((size_t) n, sizeof *res);
	if (res == NULL)
		return local_error(c, "53200", "out of memory", NULL);
	/* Prepared statement: make sure each master has it (outside the transaction). */
	if (rq->mode == EXEC_PREPARED)
		for (k = 0; k < n; k++)
		{
			PGresult *r = prep_ensure(c, g->owners[k], rq->prep);

			if (r)
			{
				free(res);
				return r;
			}
		}
	/* 1: open the owned-rows-only transaction everywhere. */
	for (k = 0; k < n && ok; k++)
		ok = PQsendQuery(c->links[g->owners[k]].pq, "BEGIN; SET LOCAL pgmm.foreign_rows = 'skip'");
	sent_ok = k - (ok ? 0 : 1);
	for (k = 0; k < sent_ok; k++)
	{
		PGresult *r = collect(c->links[g->owners[k]].pq);

		if (!result_ok(r))
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
		for (k = 0; k < n && ok; k++)
		{
			PGconn *pq = c->links[g->owners[k]].pq;
			const pgmm_params *pp = &rq->params;

			if (rq->mode == EXEC_SIMPLE)
				ok = PQsendQuery(pq, rq->sql);
			else if (rq->mode == EXEC_PARAMS || rq->prep->name[0] == '\0')
				ok = PQsendQueryParams(pq, rq->mode == EXEC_PARAMS ? rq->sql : rq->prep->sql, pp->n,
				                       rq->mode == EXEC_PARAMS ? pp->types : rq->prep->types, pp->values,
				                       pp->lengths, pp->formats, rq->result_format);
			else
				ok = PQsendQueryPrepared(pq, rq->prep->name, pp->n, pp->values, pp->lengths, pp->formats,
				                         rq->result_format);
		}
		sent_ok = k - (ok ? 0 : 1);
		for (k = 0; k < sent_ok; k++)
		{
			res[k] = collect(c->links[g->owners[k]].pq);
			if (!result_ok(res[k]))
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
		for (k = 0; k < n; k++)
			if (!PQsendQuery(c->links[g->owners[k]].pq, "COMMIT"))
				ok = 0;
		for (k = 0; k < n; k++)
		{
			PGresult *r = collect(c->links[g->owners[k]].pq);

			if (!result_ok(r) && fail == NULL)
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
			if (fail == NULL && res[k] && !result_ok(res[k]))
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
			pgmm_buf_printf(&m, "pgmm: the two-phase commit of a broadcast UPDATE/DELETE %s: %s",
			                twopc_failed == 2 ? "did not finish (its outcome is in doubt)" : "was rolled back",
			                pgmm_buf_str(&twopc_err));
			pgmm_buf_free(&twopc_err);
			PQclear(fail);
			r = router_error(c, twopc_failed == 2 ? "40003" : "40000", pgmm_buf_str(&m), NULL,
			                 twopc_failed == 2 ? "`pgmm recover` finishes it once every master is reachable." : NULL);
			pgmm_buf_free(&m);
			return r;
		}
		if (fail == NULL)
			return local_error(c, "08006", "pgmm: a broadcast UPDATE/DELETE failed: a connection was lost", NULL);
		note_result_error(c, fail, NULL);
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

static const char *
rq_sql(const exec_req *rq)
{
	return rq->mode == EXEC_PREPARED ? rq->prep->sql : rq->sql;
}

/* The plan of rq; *transient when the caller must free it. */
static pgmm_plan *
plan_of(PGMMconn *c, const exec_req *rq, int *transient)
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

/* Parse "owner=NAME epoch=N" from a PM001's DETAIL. */
static void
parse_pm001(const PGresult *r, char *owner, size_t cap, int64_t *epoch)
{
	const char *d = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL), *p;

	owner[0] = '\0';
	*epoch = -1;
	if (d == NULL)
		return;
	if ((p = strstr(d, "owner=")) != NULL)
	{
		size_t n = strcspn(p + 6, " \t\n");

		if (n >= cap)
			n = cap - 1;
		memcpy(owner, p + 6, n);
		owner[n] = '\0';
	}
	if ((p = strstr(d, "epoch=")) != NULL)
		*epoch = strtoll(p + 6, NULL, 10);
}

/* A READ or WRITE plan: target (route.c), choice (choose.c), run. */
static PGresult *
exec_data(PGMMconn *c, const exec_req *rq, const pgmm_plan *p, int redirect, int *ran_on, int *unknown_target)
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
	pgmm_plan_target(c->map, p, &rq->params, &t);
	if (t.kind == PGMM_TARGET_ERROR)
		return router_error(c, t.sqlstate, t.message, t.detail, t.hint);
	if (t.kind == PGMM_TARGET_UNKNOWN)
	{
		*unknown_target = 1;
		if (redirect >= 0)
		{
			t.kind = PGMM_TARGET_NODE;
			t.node = redirect;
		}
	}
	if (c->txn == TXN_OPEN)
	{
		if (c->txn_failed && c->bound < 0)
			return aborted_error(c);
		if (c->txn_lost)
		{
			pgmm_buf m;

			pgmm_buf_init(&m);
			pgmm_buf_append(&m, "the connection of the open transaction was lost; roll it back");
			r = down_error(c, "this transaction", &m);
			pgmm_buf_free(&m);
			return r;
		}
	}
	x.map = c->map;
	x.home = c->home;
	x.read_policy = c->opts.read_policy;
	x.in_txn = c->txn == TXN_OPEN;
	x.bound = c->bound;
	pgmm_choose(&x, p, &t, &ch);
	switch (ch.kind)
	{
		case PGMM_CHOICE_ERROR:
			return router_error(c, ch.sqlstate, ch.message, ch.detail, ch.hint);
		case PGMM_CHOICE_BROADCAST:
			return broadcast(c, rq, ch.coloc);
		case PGMM_CHOICE_NODE:
			i = ch.node;
			break;
		default:
			pgmm_buf_init(&why);
			i = link_pick(c, &ch, &why);
			if (i < 0)
			{
				r = down_error(c, ch.down_what, &why);
				pgmm_buf_free(&why);
				return r;
			}
			pgmm_buf_free(&why);
			break;
	}
	if (ch.bind && (r = txn_bind(c, i)) != NULL)
		return r;
	r = run_on(c, i, rq, what, &ambiguous);
	*ran_on = i;
	return r;
}

static PGresult *run_plan(PGMMconn *c, const exec_req *rq, pgmm_plan *p, int transient);

/* One statement: its plan, then READ/WRITE with the stale-map retry, or
 * the other routes. */
static PGresult *
execute(PGMMconn *c, const exec_req *rq)
{
	int attempt = 0, redirect = -1, ran_on, unknown, transient;
	int outside = c->txn == TXN_NONE;
	pgmm_plan *p;
	PGresult *r;

	for (;;)
	{
		p = plan_of(c, rq, &transient);
		if (p == NULL)
			return local_error(c, "53200", "out of memory", NULL);
		if (p->route != PGMM_ROUTE_READ && p->route != PGMM_ROUTE_WRITE)
			return run_plan(c, rq, p, transient);
		r = exec_data(c, rq, p, redirect, &ran_on, &unknown);
		if (transient)
			pgmm_plan_free(p);
		p = NULL;				/* a map reload below frees cached plans */
		if (r == NULL || PQresultStatus(r) != PGRES_FATAL_ERROR || !sqlstate_is(r, PGMM_SQLSTATE_NOT_OWNER))
			return r;
		if (outside && attempt < c->opts.retries && ran_on >= 0 && c->txn == TXN_NONE)
		{
			char owner[64];
			int64_t epoch;
			pgmm_buf ignore;
			int changed = 0;

			parse_pm001(r, owner, sizeof owner, &epoch);
			pgmm_buf_init(&ignore);
			if (epoch > c->map->epoch)
				changed = map_load(c, ran_on, &ignore) == 0;
			pgmm_buf_free(&ignore);
			redirect = pgmm_map_node_index(c->map, owner);
			if (!changed && (!unknown || redirect < 0 || redirect == ran_on))
				return r;		/* the same map would send it to the same place */
			PQclear(r);
			conn_error_clear(c);		/* a new attempt */
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

/* Record a SET for the connections opened later (RESET x and SET x TO
 * DEFAULT forget x; RESET ALL / DISCARD ALL forget everything). */
static void
record_setting(PGMMconn *c, const char *sql, const pgmm_plan *p)
{
	const char *key = p->set_key;
	int k;
	pgmm_setting *s;

	if (p->flags & PGMM_PF_RESET_ALL)
	{
		settings_clear(c);
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

/* SET / RESET / DISCARD: every open connection; replayed on new ones. */
static PGresult *
exec_set(PGMMconn *c, const exec_req *rq, const pgmm_plan *p)
{
	int primary, i, ambiguous;
	int flags = p->flags;
	pgmm_buf why;
	PGresult *r;

	if (c->txn == TXN_OPEN && c->txn_failed && c->bound < 0)
		return aborted_error(c);
	pgmm_buf_init(&why);
	if (c->txn == TXN_OPEN && c->bound >= 0)
		primary = c->bound;
	else
		primary = any_link(c, c->home, &why);
	if (primary < 0)
	{
		r = down_error(c, "no master is reachable", &why);
		pgmm_buf_free(&why);
		return r;
	}
	pgmm_buf_free(&why);
	r = run_on(c, primary, rq, "this setting", &ambiguous);
	if (!result_ok(r))
		return r;
	record_setting(c, rq_sql(rq), p);
	/* The other open connections. */
	for (i = 0; i < c->nlinks; i++)
	{
		PGresult *x;

		if (i == primary || c->links[i].pq == NULL || PQstatus(c->links[i].pq) != CONNECTION_OK)
			continue;
		x = PQexec(c->links[i].pq, rq_sql(rq));
		if (!result_ok(x))
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
		reread_search_path(c, primary);
	set_last(c, primary);
	return r;
}

/* Every statement but READ/WRITE (frees p when transient). */
static PGresult *
run_plan(PGMMconn *c, const exec_req *rq, pgmm_plan *p, int transient)
{
	int i, ambiguous, route = p->route, chain = p->chain;
	pgmm_stmt_sub sub = p->sub;
	const char *tag = p->tag;		/* static */
	const char *sql = rq_sql(rq);
	size_t len = strlen(sql);
	pgmm_buf why;
	PGresult *r;

	if (route == PGMM_ROUTE_REFUSE)
	{
		r = router_error(c, p->sqlstate, p->message ? p->message : "pgmm: refused", p->detail, p->hint);
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
			return local_ok(c, PGRES_EMPTY_QUERY, NULL);
		case PGMM_ROUTE_BEGIN:
			if (c->txn == TXN_OPEN)
			{
				if (c->bound >= 0 && !c->txn_lost)
					return run_on(c, c->bound, rq, "this transaction", &ambiguous);
				return local_ok(c, PGRES_COMMAND_OK, "BEGIN");
			}
			txn_reset(c);
			c->begin_sql = strndup(sql, len);
			if (c->begin_sql == NULL)
				return local_error(c, "53200", "out of memory", NULL);
			c->txn = TXN_OPEN;
			return local_ok(c, PGRES_COMMAND_OK, "BEGIN");
		case PGMM_ROUTE_COMMIT:
		case PGMM_ROUTE_ROLLBACK:
		{
			const char *st = route == PGMM_ROUTE_COMMIT ? "COMMIT" : "ROLLBACK";

			if (c->txn == TXN_NONE)
			{
				if (chain)
				{
					char msg[80];

					/* As the server answers. */
					snprintf(msg, sizeof msg, "%s AND CHAIN can only be used in transaction blocks", st);
					return router_error(c, "25P01", msg, NULL, NULL);
				}
				return local_ok(c, PGRES_COMMAND_OK, st);
			}
			if (c->bound >= 0 && !c->txn_lost)
			{
				/* AND CHAIN: the server opens the next transaction at once;
				 * txn_sync (in send_on) sees it open and keeps the binding. */
				r = run_on(c, c->bound, rq, "this transaction", &ambiguous);
				if (ambiguous || c->txn_lost)
				{
					char *b = c->begin_sql;

					c->begin_sql = NULL;
					txn_reset(c);
					if (route == PGMM_ROUTE_ROLLBACK && !ambiguous)
					{
						/* The server rolled it back when the connection went;
						 * AND CHAIN: the next one starts deferred. */
						if (chain)
						{
							c->txn = TXN_OPEN;
							c->begin_sql = b;
							b = NULL;
						}
						free(b);
						PQclear(r);
						conn_error_clear(c);	/* nothing failed after all */
						return local_ok(c, PGRES_COMMAND_OK, "ROLLBACK");
					}
					free(b);
				}
				return r;
			}
			if (c->txn_lost && route == PGMM_ROUTE_COMMIT)
			{
				txn_reset(c);
				return local_error(c, "08006", "pgmm: the transaction's master was lost before COMMIT; nothing "
				                   "was committed", NULL);
			}
			if (c->txn_failed)
				st = "ROLLBACK";
			if (chain)
			{
				char *b = c->begin_sql;

				c->begin_sql = NULL;
				txn_reset(c);
				c->txn = TXN_OPEN;
				c->begin_sql = b;
			}
			else
				txn_reset(c);
			return local_ok(c, PGRES_COMMAND_OK, st);
		}
		case PGMM_ROUTE_TXN:
		case PGMM_ROUTE_SET_LOCAL:
		{
			if (c->txn == TXN_NONE)
			{
				pgmm_buf_init(&why);
				i = any_link(c, c->home, &why);
				if (i < 0)
				{
					r = down_error(c, "no master is reachable", &why);
					pgmm_buf_free(&why);
					return r;
				}
				pgmm_buf_free(&why);
				return run_on(c, i, rq, "this statement", &ambiguous);
			}
			if (c->bound >= 0 && !c->txn_lost)
				return run_on(c, c->bound, rq, "this transaction", &ambiguous);
			if (c->txn_lost)
				return aborted_error(c);
			if (sub == PGMM_SUB_LOCK)
			{
				if (c->txn_failed)
					return aborted_error(c);
				if ((r = txn_bind(c, c->home)) != NULL)
					return r;
				return run_on(c, c->home, rq, "this transaction", &ambiguous);
			}
			if (sub == PGMM_SUB_ROLLBACK_TO)
				c->txn_failed = 0;		/* ROLLBACK TO: nothing ran since */
			else if (c->txn_failed)
				return aborted_error(c);
			if (rq->mode != EXEC_SIMPLE && rq->params.n > 0)
				return router_error(c, PGMM_SQLSTATE_REFUSED,
				                    "pgmm: parameters in a transaction-control statement are not supported", NULL, NULL);
			if (txn_queue(c, sql, len) < 0)
				return local_error(c, "53200", "out of memory", NULL);
			return local_ok(c, PGRES_COMMAND_OK, tag);
		}
		default:				/* FALLBACK */
			if (c->txn == TXN_OPEN)
			{
				if (c->txn_lost || (c->txn_failed && c->bound < 0))
					return aborted_error(c);
				if (c->bound < 0 && (r = txn_bind(c, c->home)) != NULL)
					return r;
				return run_on(c, c->bound, rq, "this transaction", &ambiguous);
			}
			pgmm_buf_init(&why);
			i = any_link(c, c->home, &why);
			if (i < 0)
			{
				r = down_error(c, "no master is reachable", &why);
				pgmm_buf_free(&why);
				return r;
			}
			pgmm_buf_free(&why);
			return run_on(c, i, rq, "this statement", &ambiguous);
	}
}

PGresult *
pgmm_exec(PGMMconn *c, const char *sql)
{
	exec_req rq;

	if (op_begin(c) < 0)
		return NULL;
	if (sql == NULL)
	{
		conn_error(c, "22023", "pgmm: command string is a null pointer");
		return NULL;
	}
	memset(&rq, 0, sizeof rq);
	rq.mode = EXEC_SIMPLE;
	rq.sql = sql;
	rq.len = strlen(sql);
	return execute(c, &rq);
}

PGresult *
pgmm_exec_params(PGMMconn *c, const char *sql, int nParams, const Oid *paramTypes,
                 const char *const *paramValues, const int *paramLengths,
                 const int *paramFormats, int resultFormat)
{
	exec_req rq;

	if (op_begin(c) < 0)
		return NULL;
	if (sql == NULL)
	{
		conn_error(c, "22023", "pgmm: command string is a null pointer");
		return NULL;
	}
	if (nParams < 0 || nParams > 65535)
	{
		conn_error(c, "54023", "pgmm: number of parameters must be between 0 and 65535");
		return NULL;
	}
	memset(&rq, 0, sizeof rq);
	rq.mode = EXEC_PARAMS;
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
pgmm_prepare(PGMMconn *c, const char *name, const char *sql, int nParams, const Oid *paramTypes)
{
	pgmm_prep *p, *old;
	pgmm_buf why;
	PGresult *r;
	int i;

	if (op_begin(c) < 0)
		return NULL;
	if (sql == NULL)
	{
		conn_error(c, "22023", "pgmm: command string is a null pointer");
		return NULL;
	}
	if (nParams < 0 || nParams > 65535)
	{
		conn_error(c, "54023", "pgmm: number of parameters must be between 0 and 65535");
		return NULL;
	}
	if (name == NULL)
		name = "";
	p = calloc(1, sizeof *p);
	if (p == NULL || (p->name = strdup(name)) == NULL || (p->sql = strdup(sql)) == NULL ||
	    (nParams > 0 && paramTypes && (p->types = malloc((size_t) nParams * sizeof(Oid))) == NULL))
	{
		prep_free(p);
		return local_error(c, "53200", "out of memory", NULL);
	}
	p->nparams = paramTypes ? nParams : 0;
	if (p->types)
		memcpy(p->types, paramTypes, (size_t) nParams * sizeof(Oid));
	/* Prepare where the server can check it now: the transaction's master,
	 * else home (others are prepared when first used there). */
	pgmm_buf_init(&why);
	if (c->txn == TXN_OPEN && c->bound >= 0 && !c->txn_lost)
		i = link_get(c, c->bound, &why, NULL) ? c->bound : -1;
	else
		i = any_link(c, c->home, &why);
	if (i < 0)
	{
		r = down_error(c, "no master is reachable to prepare the statement", &why);
		pgmm_buf_free(&why);
		prep_free(p);
		return r;
	}
	pgmm_buf_free(&why);
	r = PQprepare(c->links[i].pq, p->name, p->sql, p->nparams, p->types);
	set_last(c, i);
	note_result_error(c, r, c->links[i].pq);
	txn_sync(c, i);
	if (!result_ok(r))
	{
		prep_free(p);
		return r;
	}
	if (p->name[0] && prep_add(c, p, c->links[i].gen) < 0)
	{
		prep_free(p);
		PQclear(r);
		return local_error(c, "53200", "out of memory", NULL);
	}
	old = pgmm_cache_get(c->prepared, p->name, strlen(p->name));
	if (old && old->name[0])
	{
		/* Redefined (its session on i was new): drop the old one elsewhere. */
		int k;

		for (k = 0; k < c->nlinks; k++)
			if (k != i && c->links[k].pq && prep_has(old, c->links[k].gen) &&
			    PQtransactionStatus(c->links[k].pq) == PQTRANS_IDLE)
			{
				pgmm_buf dealloc;

				pgmm_buf_init(&dealloc);
				pgmm_buf_append(&dealloc, "DEALLOCATE ");
				pgmm_buf_ident(&dealloc, old->name);
				PQclear(PQexec(c->links[k].pq, pgmm_buf_str(&dealloc)));
				pgmm_buf_free(&dealloc);
			}
	}
	if (pgmm_cache_put(c->prepared, p->name, strlen(p->name), p) < 0)
	{
		prep_free(p);
		PQclear(r);
		return local_error(c, "53200", "out of memory", NULL);
	}
	return r;
}

PGresult *
pgmm_exec_prepared(PGMMconn *c, const char *name, int nParams, const char *const *paramValues,
                   const int *paramLengths, const int *paramFormats, int resultFormat)
{
	exec_req rq;
	pgmm_prep *p;

	if (op_begin(c) < 0)
		return NULL;
	if (nParams < 0 || nParams > 65535)
	{
		conn_error(c, "54023", "pgmm: number of parameters must be between 0 and 65535");
		return NULL;
	}
	if (name == NULL)
		name = "";
	p = pgmm_cache_get(c->prepared, name, strlen(name));
	if (p == NULL)
	{
		char msg[200];

		snprintf(msg, sizeof msg, "prepared statement \"%.100s\" does not exist", name);
		return router_error(c, "26000", msg, NULL, "Prepare it with pgmm_prepare (PQprepare) on this connection.");
	}
	memset(&rq, 0, sizeof rq);
	rq.mode = EXEC_PREPARED;
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

PGTransactionStatusType
pgmm_transaction_status(const PGMMconn *c)
{
	PGTransactionStatusType st;

	if (c == NULL || c->status != CONNECTION_OK)
		return PQTRANS_UNKNOWN;
	if (c->txn == TXN_NONE)
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

const char *
pgmm_result_sqlstate(const PGresult *res)
{
	return res ? pgmm_result_error_field(res, PG_DIAG_SQLSTATE) : NULL;
}

/* "schema.table" or "table" (double quotes taken off) resolved in the map;
 * -1 with the error set. */
static int
resolve_table(PGMMconn *c, const char *table)
{
	char schema[128], name[128];
	const char *dot;
	int t;

	dot = table[0] == '"' ? strstr(table, "\".") : strchr(table, '.');
	if (dot && table[0] == '"')
		dot++;
	if (dot)
	{
		snprintf(schema, sizeof schema, "%.*s", (int) (dot - table), table);
		snprintf(name, sizeof name, "%s", dot + 1);
	}
	else
	{
		schema[0] = '\0';
		snprintf(name, sizeof name, "%s", table);
	}
	{
		char *parts[2] = {schema, name};
		int k;

		for (k = 0; k < 2; k++)
		{
			size_t n = strlen(parts[k]);

			if (n >= 2 && parts[k][0] == '"' && parts[k][n - 1] == '"')
			{
				memmove(parts[k], parts[k] + 1, n - 2);
				parts[k][n - 2] = '\0';
			}
			else
			{
				size_t j;

				for (j = 0; j < n; j++)
					parts[k][j] = (char) tolower((unsigned char) parts[k][j]);
			}
		}
	}
	t = pgmm_map_find_table(c->map, schema[0] ? schema : NULL, name);
	if (t < 0)
		conn_error(c, "42P01", "pgmm: table \"%s\" is not a pgmm table (not in the cluster catalog as resolved through the "
		       "search_path)\n", table);
	return t;
}

/* Reserve a block of IDs into the pool; 0 / -1. */
static int
reserve_block(PGMMconn *c)
{
	char n[16];
	const char *vals[1] = {n};
	pgmm_buf why;
	PGresult *r;
	int i, k, prefer = -1;
	int64_t *ids;

	snprintf(n, sizeof n, "%d", c->opts.id_block);
	pgmm_buf_init(&why);
	if (c->txn == TXN_OPEN && c->bound >= 0 && !c->txn_lost && c->links[c->bound].pq &&
	    PQtransactionStatus(c->links[c->bound].pq) == PQTRANS_INTRANS)
		prefer = c->bound;
	i = any_link(c, prefer >= 0 ? prefer : c->home, &why);
	if (i < 0)
	{
		conn_error(c, PGMM_SQLSTATE_NODE_DOWN, "pgmm: no master is reachable to reserve IDs (SQLSTATE %s): %s",
		           PGMM_SQLSTATE_NODE_DOWN,
		       pgmm_buf_str(&why));
		pgmm_buf_free(&why);
		return -1;
	}
	pgmm_buf_free(&why);
	r = PQexecParams(c->links[i].pq,
	                 "SELECT pg_catalog.nextval('pgmm.id_seq'::pg_catalog.regclass) "
	                 "FROM pg_catalog.generate_series(1, $1::pg_catalog.int4)", 1, NULL, vals, NULL, NULL, 0);
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
	{
		conn_error(c, r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : "08006",
		           "pgmm: master %s: reserving IDs failed: %s", c->links[i].name,
		       r ? PQresultErrorMessage(r) : PQerrorMessage(c->links[i].pq));
		PQclear(r);
		txn_sync(c, i);
		return -1;
	}
	ids = malloc((size_t) (PQntuples(r) ? PQntuples(r) : 1) * sizeof(int64_t));
	if (ids == NULL)
	{
		PQclear(r);
		conn_error(c, "53200", "out of memory");
		return -1;
	}
	for (k = 0; k < PQntuples(r); k++)
		ids[k] = strtoll(PQgetvalue(r, k, 0), NULL, 10);
	k = pgmm_idpool_add(&c->ids, ids, PQntuples(r));
	free(ids);
	PQclear(r);
	if (k < 0)
	{
		conn_error(c, "53200", "out of memory");
		return -1;
	}
	pgmm_idpool_trim(&c->ids, c->opts.id_block * 16 > 4096 ? c->opts.id_block * 16 : 4096);
	return 0;
}

static int
next_id(PGMMconn *c, const char *table, const char *node, int64_t *id)
{
	const pgmm_map_table *t = NULL;
	int want = -1, rounds;

	if (op_begin(c) < 0)
		return -1;
	if (id == NULL)
	{
		conn_error(c, "22023", "pgmm_next_id: id is a null pointer");
		return -1;
	}
	if (table)
	{
		int ti = resolve_table(c, table);

		if (ti < 0)
			return -1;
		t = &c->map->tables[ti];
		if (t->kind == PGMM_TABLE_DISTRIBUTED && t->key_type != PGMM_KEY_INT2 && t->key_type != PGMM_KEY_INT4 &&
		    t->key_type != PGMM_KEY_INT8)
		{
			conn_error(c, "0A000", "pgmm_next_id: table %s.%s is distributed by %s, a %s key: pgmm hands out integer IDs only\n",
			       t->schema, t->name, t->key_column, pgmm_keytype_name(t->key_type));
			return -1;
		}
	}
	if (node)
	{
		want = pgmm_map_node_index(c->map, node);
		if (want < 0)
		{
			conn_error(c, "42704", "pgmm_next_id: unknown master \"%s\"", node);
			return -1;
		}
	}
	else if (c->txn == TXN_OPEN && c->bound >= 0 && t && t->kind == PGMM_TABLE_DISTRIBUTED)
		want = c->bound;
	if (want >= 0 && t && t->kind == PGMM_TABLE_DISTRIBUTED)
	{
		const pgmm_map_coloc *g = &c->map->colocs[t->coloc];
		int k, owns = 0;

		for (k = 0; k < g->nowners; k++)
			owns |= g->owners[k] == want;
		if (!owns)
		{
			conn_error(c, PGMM_SQLSTATE_NO_SHARD, "pgmm_next_id: master %s owns no shard of %s.%s, so no ID of that table belongs to it "
			       "(SQLSTATE %s)\n", c->map->nodes[want].name, t->schema, t->name, PGMM_SQLSTATE_NO_SHARD);
			return -1;
		}
	}
	if (t == NULL || t->kind != PGMM_TABLE_DISTRIBUTED)
		want = -1;
	for (rounds = 0; rounds < 1000; rounds++)
	{
		if (pgmm_idpool_take(&c->ids, c->map, t, want, id) == 0)
			return 0;
		if (reserve_block(c) < 0)
			return -1;
	}
	conn_error(c, "2200H", "pgmm_next_id: no ID of table %s fits (its key range is exhausted?)\n", table ? table : "");
	return -1;
}

int
pgmm_next_id(PGMMconn *c, const char *table, int64_t *id)
{
	return next_id(c, table, NULL, id);
}

int
pgmm_next_id_for(PGMMconn *c, const char *table, const char *node, int64_t *id)
{
	return next_id(c, table, node, id);
}

int64_t
pgmm_map_epoch(const PGMMconn *c)
{
	return c && c->map ? c->map->epoch : -1;
}

int
pgmm_node_count(const PGMMconn *c)
{
	return c && c->map ? c->map->nnodes : 0;
}

const char *
pgmm_node_name(const PGMMconn *c, int i)
{
	if (c == NULL || c->map == NULL || i < 0 || i >= c->map->nnodes)
		return NULL;
	return c->map->nodes[i].name;
}

const char *
pgmm_home_node(const PGMMconn *c)
{
	return c && c->status == CONNECTION_OK ? c->home_name : NULL;
}

const char *
pgmm_key_owner(PGMMconn *c, const char *table, const char *key)
{
	char err[256];
	int ti, o;

	if (op_begin(c) < 0)
		return NULL;
	if (table == NULL)
	{
		conn_error(c, "22023", "pgmm_key_owner: table is a null pointer");
		return NULL;
	}
	ti = resolve_table(c, table);
	if (ti < 0)
		return NULL;
	o = pgmm_key_owner_text(c->map, &c->map->tables[ti], key, key ? strlen(key) : 0, err, sizeof err);
	if (o < 0)
	{
		const char *st = pgmm_hash_sqlstate(o);

		/* A key whose owner only the server can tell ('now', ...). */
		conn_error(c, st ? st : "0A000", "pgmm_key_owner: %s", err);
		return NULL;
	}
	snprintf(c->owner_buf, sizeof c->owner_buf, "%s", c->map->nodes[o].name);
	return c->owner_buf;
}

int
pgmm_refresh_map(PGMMconn *c)
{
	pgmm_buf err;
	int rc;

	if (op_begin(c) < 0)
		return -1;
	if (c->txn == TXN_OPEN)
	{
		conn_error(c, "25001", "pgmm_refresh_map: not inside a transaction (the map stays fixed until it ends)");
		return -1;
	}
	pgmm_buf_init(&err);
	rc = map_refresh(c, c->home, &err);
	if (rc < 0)
	{
		conn_error(c, rc == -2 ? PGMM_SQLSTATE_NODE_DOWN : "XX000", "%s", pgmm_buf_str(&err));
		rc = -1;
	}
	else
		c->need_refresh = 0;
	pgmm_buf_free(&err);
	return rc;
}

void
pgmm_set_map_hook(PGMMconn *c, pgmm_map_hook_fn fn, void *arg)
{
	if (c == NULL)
		return;
	c->map_hook = fn;
	c->map_hook_arg = arg;
}

PGconn *
pgmm_router_pq(PGMMconn *c)
{
	pgmm_buf ignore;
	int i;

	if (c == NULL || c->status != CONNECTION_OK)
		return NULL;
	pgmm_buf_init(&ignore);
	i = any_link(c, c->home, &ignore);
	pgmm_buf_free(&ignore);
	return i >= 0 ? c->links[i].pq : some_pq(c);
}

const PGconn *
pgmm_router_pq_const(const PGMMconn *c)
{
	if (c == NULL || c->status != CONNECTION_OK)
		return NULL;
	return some_pq(c);
}

PQnoticeProcessor
pgmm_set_notice_processor(PGMMconn *c, PQnoticeProcessor proc, void *arg)
{
	PQnoticeProcessor old;
	int i;

	if (c == NULL)
		return NULL;
	old = c->notice_proc;
	if (old == NULL && some_pq(c))
		old = PQsetNoticeProcessor(some_pq(c), NULL, NULL);	/* NULL proc: just returns the current one */
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
	if (old == NULL && some_pq(c))
		old = PQsetNoticeReceiver(some_pq(c), NULL, NULL);
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

void
pgmm_reset(PGMMconn *c)
{
	int i;

	if (c == NULL || c->status != CONNECTION_OK)
		return;
	conn_error_clear(c);
	txn_reset(c);
	for (i = 0; i < c->nlinks; i++)
		if (c->links[i].pq)
		{
			pgmm_buf ignore;

			PQfinish(c->links[i].pq);
			c->links[i].pq = NULL;
			c->links[i].gen = 0;
			pgmm_buf_init(&ignore);
			if (i == c->home)
				(void) link_get(c, i, &ignore, NULL);
			pgmm_buf_free(&ignore);
		}
}
