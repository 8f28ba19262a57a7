/*
 * conn_int.h -- the cluster connection (struct pgmm_conn) and the internal
 * calls between the files that implement it, as libpq keeps pg_conn in
 * libpq-int.h.  Nothing here is public; only lib/ includes it.
 *
 * The connection's files, and what each may be called for:
 *   conn.c      lifecycle: pgmm_connect / pgmm_finish / pgmm_reset, the map
 *               (load, install, refresh, search_path), operation start
 *               (pgmm_op_begin), map accessors, pgmm_key_owner
 *   link.c      the links to the masters: connect, liveness, reconnect,
 *               replay of session settings, running a choice (choose.c),
 *               per-link libpq settings (notice hooks, verbosity)
 *   txn.c       the transaction: deferred BEGIN, binding, the queue of
 *               statements waiting for the binding, state after a statement
 *   prepared.c  pgmm_prepare and preparing lazily on other masters
 *   broadcast.c UPDATE/DELETE without the key on every owner
 *   exec.c      the public exec entry points: plan -> target -> choice ->
 *               send -> result, the stale-map retry, SET / transaction
 *               control / fallback statements
 *   nextid.c    pgmm_next_id: reserving ID blocks (the pool is ids.c)
 *   errors.c    the connection's error (message + SQLSTATE) and the error
 *               results pgmm decides (raised on a master when one is up)
 * Pure modules they use (router_int.h): map.c, route.c, choose.c, ids.c,
 * result.c.  Include graph: conn_int.h -> router_int.h -> pgmm_int.h,
 * pghash.h, plancache.h, sqlparse.h; no file includes a .c's own header
 * back.
 */
#ifndef PGMM_CONN_INT_H
#define PGMM_CONN_INT_H

#include <stdint.h>
#include <libpq-fe.h>

#include "router_int.h"

enum { PGMM_TXN_NONE = 0, PGMM_TXN_OPEN = 1 };
enum { PGMM_EXEC_SIMPLE = 0, PGMM_EXEC_PARAMS = 1, PGMM_EXEC_PREPARED = 2 };

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
	pgmm_buf    err;            /* see pgmm_conn_error (errors.c) */
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
	int         epoch_check;    /* a master was found unreachable: ask another for the epoch */
	int64_t     epoch_checked_at; /* ms of the last such check (rate: pgmm_reconnect_interval) */
	unsigned    rr;             /* round-robin position of balanced choices */
	unsigned    gen_counter;
	/* transaction */
	int         txn;            /* PGMM_TXN_* */
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

/* One execution request (pgmm_exec / _params / _prepared). */
typedef struct pgmm_exec_req
{
	int         mode;           /* PGMM_EXEC_* */
	const char *sql;
	size_t      len;
	pgmm_prep  *prep;
	pgmm_params params;
	int         result_format;
} pgmm_exec_req;

/* ------------------------------------------------------------ errors.c */

/* The connection's error: cleared when an operation starts, then only
 * appended to (a line feed ends each message); sqlstate (NULL: none)
 * becomes the operation's SQLSTATE unless one is set already. */
void pgmm_conn_error_clear(PGMMconn *c);
void pgmm_conn_error(PGMMconn *c, const char *sqlstate, const char *fmt, ...) PGMM_PRINTF(3, 4);
/* Append the error of a failed result r (or of pq when r is NULL). */
void pgmm_conn_error_result(PGMMconn *c, const PGresult *r, PGconn *pq);
/* A statement text and parameter count as libpq would accept them; else
 * the connection's error is set and -1 returned. */
int pgmm_check_statement_args(PGMMconn *c, const char *sql, int nparams);
int pgmm_res_is_error(const PGresult *r);
int pgmm_res_ok(const PGresult *r);
int pgmm_res_sqlstate_is(const PGresult *r, const char *code);
/* Results made without a server round trip. */
PGresult *pgmm_local_ok(PGMMconn *c, ExecStatusType st, const char *cmd_status);
PGresult *pgmm_local_error(PGMMconn *c, const char *sqlstate, const char *message, PGconn *pq);
/* An error pgmm decides, raised on the transaction's master, else home,
 * else any master that is up (made locally when none is). */
PGresult *pgmm_router_error(PGMMconn *c, const char *sqlstate, const char *message, const char *detail,
                            const char *hint);
PGresult *pgmm_aborted_error(PGMMconn *c);
PGresult *pgmm_down_error(PGMMconn *c, const char *what, const pgmm_buf *why);

/* ------------------------------------------------------------ link.c */

int64_t pgmm_now_ms(void);
void pgmm_set_last_node(PGMMconn *c, int i);
/* The link to master i, (re)connected; NULL with err (and *lost when the
 * open transaction's connection was lost). */
PGconn *pgmm_link_get(PGMMconn *c, int i, pgmm_buf *err, int *lost);
/* Connect with the handshake bounded by timeout_ms (0: none), keepalives,
 * connect_timeout and tcp_user_timeout set unless conninfo sets them.  NULL:
 * out of memory, or *timed_out. */
PGconn *pgmm_link_connect(const char *conninfo, int timeout_ms, int *timed_out);
/* Cut master i's link (its PGconn becomes CONNECTION_BAD) and skip it for
 * pgmm_reconnect_interval. */
void pgmm_link_mark_down(PGMMconn *c, int i);
/* PQexec on link i bounded by pgmm_timeout; on timeout the master is
 * marked down and a PM005 result returned (pgmm_link_timeout_result). */
PGresult *pgmm_link_exec(PGMMconn *c, int i, const char *sql);
PGresult *pgmm_link_timeout_result(PGMMconn *c, int i);
/* The deadline (pgmm_now_ms) of a wait starting now; -1 none. */
int64_t pgmm_link_deadline(const PGMMconn *c);
/* Wait for link i's result until deadline; 0: timed out (master marked
 * down, link cut: reading its result fails at once). */
int pgmm_link_await(PGMMconn *c, int i, int64_t deadline);
/* send(pq, arg) (a PQsendQuery* call) on link i, result collected as PQexec
 * does, each wait bounded by pgmm_timeout; NULL with *timed_out on timeout. */
PGresult *pgmm_link_run(PGMMconn *c, int i, int (*send)(PGconn *, const void *), const void *arg,
                        int *timed_out);
/* A link any master can answer on: prefer, then home, then any other. */
int pgmm_link_any(PGMMconn *c, int prefer, pgmm_buf *err);
/* Some PGconn object (any state) to make local results with. */
PGconn *pgmm_link_some_pq(const PGMMconn *c);
/* Run a NODE/BALANCED choice: the first master of its order that answers. */
int pgmm_link_pick(PGMMconn *c, const pgmm_choice *ch, pgmm_buf *why);
void pgmm_settings_clear(PGMMconn *c);
void pgmm_settings_record(PGMMconn *c, const char *sql, const pgmm_plan *p);

/* ------------------------------------------------------------ txn.c */

void pgmm_txn_reset(PGMMconn *c);
int pgmm_txn_queue(PGMMconn *c, const char *sql, size_t len);
void pgmm_txn_sync(PGMMconn *c, int i);
PGresult *pgmm_txn_bind(PGMMconn *c, int i);

/* ------------------------------------------------------------ prepared.c */

void pgmm_prep_free(void *v);
int pgmm_prep_has(const pgmm_prep *p, unsigned gen);
int pgmm_prep_add(PGMMconn *c, pgmm_prep *p, unsigned gen);
PGresult *pgmm_prep_ensure(PGMMconn *c, int i, pgmm_prep *p);

/* ------------------------------------------------------------ broadcast.c */

PGresult *pgmm_broadcast(PGMMconn *c, const pgmm_exec_req *rq, int coloc);

/* ------------------------------------------------------------ conn.c */

/* Start of every operation: 0 ready, -1 unusable (error set). */
int pgmm_op_begin(PGMMconn *c);
void pgmm_plans_clear(PGMMconn *c);
int pgmm_map_load(PGMMconn *c, int i, pgmm_buf *err);
/* After a master was found unreachable: read the catalog epoch on another
 * active master (not avoid, not one down lately) and reload the map when it
 * moved -- a failover is learnt this way.  At most once per
 * pgmm_reconnect_interval unless force.  1 reloaded, 0 not. */
int pgmm_epoch_recheck(PGMMconn *c, int avoid, int force);
/* May master i be used at all (its catalog state is 'active')?  Links that
 * exist before the first map (the home's, at connect) may. */
int pgmm_link_active(const PGMMconn *c, int i);
void pgmm_reread_search_path(PGMMconn *c, int i);
int pgmm_resolve_table(PGMMconn *c, const char *table);

#endif
