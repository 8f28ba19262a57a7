/*
 * pgmm.h -- public interface of libpgmm.
 *
 * libpgmm makes several stock PostgreSQL servers ("masters") work as one
 * write-scalable multi-master cluster.  Tables are hash-partitioned, each
 * partition ("shard") is written by exactly one master, and native logical
 * replication copies every master's shards to every other master.  The
 * library routes each statement straight to the master that owns the row.
 *
 * Two halves:
 *   - the router (pgmm_connect, pgmm_exec, ...): a libpq-like client whose
 *     results are real libpq PGresult objects;
 *   - the admin API (pgmm_admin_*): installs and changes the cluster; the
 *     `pgmm` command is a thin layer over it.
 *
 * Conventions (as in libpq and libsodium): functions that return an int
 * return 0 on success and -1 on failure, with the reason in the handle's
 * error message; a connect call always returns a handle (NULL only when out
 * of memory) that the caller checks and frees.
 */
#ifndef PGMM_H
#define PGMM_H

#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(PGMM_BUILDING) && defined(__GNUC__)
#define PGMM_EXPORT __attribute__((visibility("default")))
#else
#define PGMM_EXPORT
#endif

#if defined(__GNUC__)
#define PGMM_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define PGMM_WARN_UNUSED
#endif

#define PGMM_VERSION_STRING "0.1.0"

/* SQLSTATEs raised by pgmm (class PM). */
#define PGMM_SQLSTATE_NOT_OWNER   "PM001"  /* write on a master that does not own the shard */
#define PGMM_SQLSTATE_CROSS_OWNER "PM002"  /* transaction bound to one master, write needs another */
#define PGMM_SQLSTATE_NO_SHARD    "PM003"  /* master owns no shard to draw an ID for */
#define PGMM_SQLSTATE_REFUSED     "PM004"  /* statement pgmm refuses (DDL, split multi-row INSERT, ...) */
#define PGMM_SQLSTATE_NODE_DOWN   "PM005"  /* the master the statement needs is unreachable */
#define PGMM_SQLSTATE_FROZEN      "PM006"  /* retryable: the table is frozen by a catalog change in progress */

PGMM_EXPORT const char *pgmm_version(void);

/* ------------------------------------------------------------------ router */

typedef struct pgmm_conn PGMMconn;  /* opaque */

/*
 * Connect to any one master ("home": a libpq conninfo string or URI, plus
 * pgmm's own options below); reads the cluster catalog in one round trip and
 * learns the other masters, which are connected lazily (with the home
 * string's user, password, SSL and timeout settings laid over the catalog's
 * conninfo; a multi-host conninfo such as host=a,b
 * target_session_attrs=read-write is passed to libpq unchanged).  Never NULL
 * unless out of memory: check pgmm_status().
 *
 * pgmm's options (all start with "pgmm_", are removed before libpq sees the
 * string, and an unknown one is an error):
 *   pgmm_read=local|any|owner  where SELECTs go outside a transaction:
 *       local (default) the home master; any: round-robin over the masters
 *       that are up (only for statements on pgmm tables); owner: the owner
 *       of the key when the WHERE clause gives it (read-your-writes), the
 *       owner of a reference table, else the home master.
 *   pgmm_retries=N (0..10, default 1)  how often a write refused with PM001
 *       outside a transaction is retried after refreshing the map.
 *   pgmm_id_block=N (default 100)  IDs reserved per round trip by
 *       pgmm_next_id.
 *   pgmm_plan_cache=N (default 1024; 0 disables)  statement plans kept.
 *   pgmm_lazy=0|1 (default 1)  0 connects every master at pgmm_connect.
 *   pgmm_reconnect_interval=MS (default 1000)  a master that failed to
 *       connect is skipped by balanced choices (INSERT without key, reads
 *       under pgmm_read=any/local fallback) for this long; a statement that
 *       needs that master always tries to reconnect at once.
 *   pgmm_2pc=0|1 (default 0)  commit a broadcast UPDATE/DELETE with
 *       two-phase commit, so it is atomic across masters (needs
 *       max_prepared_transactions > 0, which `pgmm init` checks).
 */
PGMM_EXPORT PGMMconn *pgmm_connect(const char *conninfo);
/* Keyword/value form (as PQconnectdbParams; pgmm_* keywords allowed). */
PGMM_EXPORT PGMMconn *pgmm_connect_params(const char *const *keywords, const char *const *values,
	int expand_dbname);
PGMM_EXPORT ConnStatusType pgmm_status(const PGMMconn *conn);
PGMM_EXPORT const char *pgmm_error_message(const PGMMconn *conn);
/* The SQLSTATE of the last failing pgmm call on conn (like libpq's
 * PG_DIAG_SQLSTATE, for calls that return no PGresult: pgmm_connect,
 * pgmm_next_id, pgmm_key_owner, pgmm_refresh_map, ...; for a failed
 * statement, its result's SQLSTATE).  Set by every failing call, cleared
 * when a call starts; NULL when the last call did not fail or no SQLSTATE
 * applies.  PM005 when a master it needed was unreachable. */
PGMM_EXPORT const char *pgmm_error_sqlstate(const PGMMconn *conn);
PGMM_EXPORT void pgmm_finish(PGMMconn *conn);

PGMM_EXPORT PGresult *pgmm_exec(PGMMconn *conn, const char *sql);
PGMM_EXPORT PGresult *pgmm_exec_params(PGMMconn *conn, const char *sql, int nParams,
	const Oid *paramTypes, const char *const *paramValues,
	const int *paramLengths, const int *paramFormats, int resultFormat);
PGMM_EXPORT PGresult *pgmm_prepare(PGMMconn *conn, const char *stmtName, const char *sql,
	int nParams, const Oid *paramTypes);
PGMM_EXPORT PGresult *pgmm_exec_prepared(PGMMconn *conn, const char *stmtName, int nParams,
	const char *const *paramValues, const int *paramLengths,
	const int *paramFormats, int resultFormat);
PGMM_EXPORT PGTransactionStatusType pgmm_transaction_status(const PGMMconn *conn);
/* Reserve IDs for table's key locally (block size: conninfo option
 * pgmm_id_block); 0 / -1. */
PGMM_EXPORT int pgmm_next_id(PGMMconn *conn, const char *table, int64_t *id) PGMM_WARN_UNUSED;
/* Name of the master that ran the last statement: NULL before any and when
 * pgmm answered without a master (a deferred BEGIN, an empty query, a
 * refusal); a comma-separated list for a broadcast UPDATE/DELETE. */
PGMM_EXPORT const char *pgmm_last_node(const PGMMconn *conn);

/*
 * Routing rules in brief (docs/router.md has them all):
 *   - INSERT/UPDATE/DELETE whose key is given (literal or $n, text or binary
 *     parameter): the owner of the key's shard; a reference table: its owner;
 *     INSERT without the key: round-robin over the up masters owning shards
 *     (the key's DEFAULT picks an owned shard); UPDATE/DELETE without the
 *     key: every owner in owned-rows-only mode, the affected rows added up
 *     (pgmm_cmd_tuples / pgmm_result_cmd_tuples).
 *   - Refused with SQLSTATE PM004: DDL (use pgmm_admin_ddl), a multi-row
 *     INSERT whose rows have different owners, an UPDATE of the key column,
 *     COPY, a string holding several statements.  A key that is not a valid
 *     value of the key type fails before anything is sent (22P02 etc.).
 *   - BEGIN is deferred: the transaction binds to the master of its first
 *     statement that needs one; a later statement for another master fails
 *     with PM002 naming both.  SET/RESET apply to every connection (and are
 *     replayed on connections opened later); SET LOCAL, SAVEPOINT etc. go
 *     to the transaction's master.
 *   - Statements pgmm cannot classify (WITH, CALL, DO, MERGE, EXPLAIN
 *     ANALYZE, ...) run on the transaction's master, else on the home
 *     master.
 *   - A master that is down makes the statements that need it fail at once
 *     with PM005 naming it; the next statement that needs it reconnects.
 */

/* Affected rows of the last statement as text ("" when none): for a
 * broadcast UPDATE/DELETE, the total over every master. */
PGMM_EXPORT const char *pgmm_cmd_tuples(const PGMMconn *conn);

/* Result accessors that know pgmm's additions: the command status and row
 * count of a broadcast (total over the masters) or of a deferred BEGIN, and
 * the SQLSTATE/message of an error made without any master reachable.  For
 * every other result they return what libpq's PQcmdStatus, PQcmdTuples,
 * PQresultErrorMessage and PQresultErrorField return. */
PGMM_EXPORT char *pgmm_result_cmd_status(PGresult *res);
PGMM_EXPORT char *pgmm_result_cmd_tuples(PGresult *res);
PGMM_EXPORT char *pgmm_result_error_message(const PGresult *res);
PGMM_EXPORT char *pgmm_result_error_field(const PGresult *res, int fieldcode);
/* Shorthand: the SQLSTATE of an error result (NULL when none). */
PGMM_EXPORT const char *pgmm_result_sqlstate(const PGresult *res);

/* Like pgmm_next_id, but an ID whose shard is owned by master node (NULL:
 * the master the transaction is bound to, else any). */
PGMM_EXPORT int pgmm_next_id_for(PGMMconn *conn, const char *table, const char *node,
	int64_t *id) PGMM_WARN_UNUSED;

/* The map: its epoch, the masters, the owner of a key. */
PGMM_EXPORT int64_t pgmm_map_epoch(const PGMMconn *conn);
PGMM_EXPORT int pgmm_node_count(const PGMMconn *conn);
PGMM_EXPORT const char *pgmm_node_name(const PGMMconn *conn, int i);
PGMM_EXPORT const char *pgmm_home_node(const PGMMconn *conn);
/* Name of the master owning the row of table with key (text form; NULL
 * key: a SQL NULL); for a reference table its owner.  NULL on error. */
PGMM_EXPORT const char *pgmm_key_owner(PGMMconn *conn, const char *table, const char *key);
/* Compare the catalog epoch with the map's and reload the map when it
 * changed: 1 reloaded, 0 unchanged, -1 failure (the old map is kept). */
PGMM_EXPORT int pgmm_refresh_map(PGMMconn *conn);
/* Called after a new map was installed (tests, bindings). */
typedef void (*pgmm_map_hook_fn)(void *arg, int64_t old_epoch, int64_t new_epoch);
PGMM_EXPORT void pgmm_set_map_hook(PGMMconn *conn, pgmm_map_hook_fn fn, void *arg);

/* ------------------------------------------------- libpq-shaped helpers
 * The libpq calls of the same name, applied to the cluster connection (most
 * answer for the home master).  pgmm_compat.h maps libpq's names onto them. */
PGMM_EXPORT PGMMconn *pgmm_setdb_login(const char *pghost, const char *pgport,
	const char *pgoptions, const char *pgtty, const char *dbName,
	const char *login, const char *pwd);
PGMM_EXPORT char *pgmm_conn_error_message(const PGMMconn *conn);
PGMM_EXPORT int pgmm_server_version(const PGMMconn *conn);
PGMM_EXPORT int pgmm_protocol_version(const PGMMconn *conn);
PGMM_EXPORT const char *pgmm_parameter_status(const PGMMconn *conn, const char *paramName);
PGMM_EXPORT char *pgmm_conn_db(const PGMMconn *conn);
PGMM_EXPORT char *pgmm_conn_user(const PGMMconn *conn);
PGMM_EXPORT char *pgmm_conn_pass(const PGMMconn *conn);
PGMM_EXPORT char *pgmm_conn_host(const PGMMconn *conn);
PGMM_EXPORT char *pgmm_conn_port(const PGMMconn *conn);
PGMM_EXPORT char *pgmm_conn_options(const PGMMconn *conn);
PGMM_EXPORT int pgmm_backend_pid(const PGMMconn *conn);
PGMM_EXPORT int pgmm_client_encoding(const PGMMconn *conn);
PGMM_EXPORT int pgmm_set_client_encoding(PGMMconn *conn, const char *encoding);
PGMM_EXPORT int pgmm_connection_needs_password(const PGMMconn *conn);
PGMM_EXPORT int pgmm_connection_used_password(const PGMMconn *conn);
PGMM_EXPORT int pgmm_ssl_in_use(const PGMMconn *conn);
PGMM_EXPORT void pgmm_reset(PGMMconn *conn);
PGMM_EXPORT char *pgmm_escape_literal(PGMMconn *conn, const char *str, size_t len);
PGMM_EXPORT char *pgmm_escape_identifier(PGMMconn *conn, const char *str, size_t len);
PGMM_EXPORT size_t pgmm_escape_string_conn(PGMMconn *conn, char *to, const char *from,
	size_t length, int *error);
PGMM_EXPORT unsigned char *pgmm_escape_bytea_conn(PGMMconn *conn, const unsigned char *from,
	size_t from_length, size_t *to_length);
PGMM_EXPORT PGresult *pgmm_make_empty_result(PGMMconn *conn, ExecStatusType status);
PGMM_EXPORT PQnoticeProcessor pgmm_set_notice_processor(PGMMconn *conn, PQnoticeProcessor proc,
	void *arg);
PGMM_EXPORT PQnoticeReceiver pgmm_set_notice_receiver(PGMMconn *conn, PQnoticeReceiver proc,
	void *arg);
PGMM_EXPORT PGVerbosity pgmm_set_error_verbosity(PGMMconn *conn, PGVerbosity verbosity);
PGMM_EXPORT PGContextVisibility pgmm_set_error_context_visibility(PGMMconn *conn,
	PGContextVisibility show_context);

/* ------------------------------------------------------------------ admin */

typedef struct pgmm_admin PGMMadmin;  /* opaque */

/* Install a new cluster on the masters given as "NAME=CONNINFO" strings
 * (at least 2).  stride: allocator stride (IDs of master k are
 * k, k+stride, ...); 0 for the default (10).  On failure returns -1 and,
 * when errmsg is not NULL, a malloc'd message in *errmsg (free it). */
PGMM_EXPORT int pgmm_admin_init(const char *const *nodes, int nnodes, int stride,
	char **errmsg) PGMM_WARN_UNUSED;

/* Connect to the cluster through any one master; reaches the others through
 * the catalog.  Never NULL unless out of memory; check pgmm_admin_ok(). */
PGMM_EXPORT PGMMadmin *pgmm_admin_connect(const char *conninfo);
PGMM_EXPORT int pgmm_admin_ok(const PGMMadmin *adm);
PGMM_EXPORT const char *pgmm_admin_error(const PGMMadmin *adm);
PGMM_EXPORT void pgmm_admin_finish(PGMMadmin *adm);

/* Apply one SQL statement on every master in one two-phase commit.  When
 * the body names a managed table, its writes are frozen first on every
 * master (PM006), the subscriptions catch up, the DDL commits everywhere,
 * then the table is unfrozen (three catalog changes); if the catch-up or
 * the DDL fails, the table is unfrozen and nothing changed. */
PGMM_EXPORT int pgmm_admin_ddl(PGMMadmin *adm, const char *sql) PGMM_WARN_UNUSED;
/* How long pgmm_admin_ddl waits (ms, at least 1; default 30000) for every
 * subscription to apply what was written before it froze the tables the
 * body names; 0 / -1. */
PGMM_EXPORT int pgmm_admin_set_catchup_wait(PGMMadmin *adm, int ms);
/* Make table a reference table written on owner (NULL: the master the
 * handle was connected through). */
PGMM_EXPORT int pgmm_admin_reference(PGMMadmin *adm, const char *table,
	const char *owner) PGMM_WARN_UNUSED;
/* Hash-distribute table by column into shards partitions (0: default 16),
 * or colocated with another distributed table (colocate_with, may be NULL). */
PGMM_EXPORT int pgmm_admin_distribute(PGMMadmin *adm, const char *table,
	const char *column, int shards, const char *colocate_with) PGMM_WARN_UNUSED;
/* Drop pgmm tables on every master in one catalog change: the tables, their
 * shards, guards, publication entries and catalog rows.  Tables colocated
 * with one of them must be in the list too.  Writes to them are locked out
 * and the subscriptions allowed to catch up before the drop. */
PGMM_EXPORT int pgmm_admin_drop(PGMMadmin *adm, const char *const *tables, int ntables) PGMM_WARN_UNUSED;
/* Cluster status as text (json != 0: JSON); malloc'd, free() it; NULL on
 * failure (pgmm_admin_error). */
PGMM_EXPORT char *pgmm_admin_status(PGMMadmin *adm, int json);
/* Finish or undo two-phase transactions left prepared by a master that
 * failed mid-commit; *resolved gets how many (may be NULL). */
PGMM_EXPORT int pgmm_admin_recover(PGMMadmin *adm, int *resolved) PGMM_WARN_UNUSED;
/* Compare every pgmm table across masters (row count and content hash per
 * shard); a malloc'd report, *diverged set to the number of differences. */
PGMM_EXPORT char *pgmm_admin_verify(PGMMadmin *adm, int *diverged);
/* The same as JSON when json is non-zero: {"tables": [{"table", "differences":
 * [{"shard", "owner", "master", "owner_rows", "master_rows", "differing_rows",
 * "first_keys": [...]}], "rows", "shards", "identical"}], "masters",
 * "differences"}.  A shard's copy on each master is compared with its
 * owner's; the keys are the distribution key, else the primary key, else
 * the whole row. */
PGMM_EXPORT char *pgmm_admin_verify_json(PGMMadmin *adm, int json, int *diverged);
/* Make every master's copy of every pgmm table (tables, ntables: only
 * these; names as SQL spells them) equal to its owner's, shard by shard:
 * the owner is the truth and is never changed.  The tables are frozen
 * (writes refused with PM006; libpgmm waits them out) while the
 * subscriptions catch up and the copies are mended; a stalled subscription
 * (its apply worker failing for ever on one transaction) is cleared by
 * skipping that transaction, whose rows the repair then copies.  dry_run:
 * compare and list only, change nothing.  Returns a malloc'd report (JSON
 * when json is non-zero: {"dry_run", "tables", "shards", "masters": [{"name",
 * "inserted", "deleted", "updated"}], "differences": [{"table", "shard",
 * "owner", "master", "missing", "extra", "changed", "keys"}], "stalled":
 * [...], "not_repaired"}), *differing the number of differing copies (and,
 * dry run, stalled subscriptions); NULL on failure. */
PGMM_EXPORT char *pgmm_admin_repair(PGMMadmin *adm, const char *const *tables, int ntables, int dry_run,
	int json, int *differing);
/* Bring failed master node back as an active master that owns nothing:
 * fence it, write every row of its copies that is on no live master or
 * differs there to rows_file (NULL or "": pgmm-rejoin-NODE-epochE-TIME.jsonl in
 * the current directory; one JSON object a line: table, relation, kind
 * "extra" or "changed", key, row), empty its copies and copy them again
 * from the live owners (subscriptions WITH copy_data), subscribe the live
 * masters to it, and mark it active with a new allocator slot in one
 * catalog change.  A malloc'd report, NULL on failure (a node that never
 * failed, unknown, unreachable...). */
PGMM_EXPORT char *pgmm_admin_rejoin(PGMMadmin *adm, const char *node, const char *rows_file);
/* Remove pgmm from every reachable master: subscriptions, publication and
 * catalog (tables and their rows stay). */
PGMM_EXPORT int pgmm_admin_uninstall(PGMMadmin *adm) PGMM_WARN_UNUSED;
/* Zero-loss mode: mode is "off", "any N" (1 <= N < masters) or "all".  A
 * commit on a master is acknowledged only once N (every) other live
 * master's apply worker has flushed it (synchronous_standby_names naming
 * the subscriptions, which get synchronous_commit = local).  0 / -1. */
PGMM_EXPORT int pgmm_admin_durability(PGMMadmin *adm, const char *mode) PGMM_WARN_UNUSED;
/* Fail over master node, which is down: the live masters (every other one
 * must be up) take its shards and reference tables (to the masters in to[]
 * when nto > 0, else all of them), balanced per colocation group, after
 * every survivor's copy of them is made equal to the one that applied most
 * of node's history; node is marked failed (its ID slot retired), the
 * survivors stop subscribing to it.  A node that still answers is refused
 * unless yes (the operator says it is cut off; it is fenced at once).  A
 * summary (text, or JSON when json), malloc'd; NULL on failure with the
 * error saying whether anything changed. */
PGMM_EXPORT char *pgmm_admin_failover(PGMMadmin *adm, const char *node, const char *const *to, int nto,
                                      int yes, int json);

/* Optional progress messages of admin operations (NULL: silent). */
typedef void (*pgmm_notice_fn)(void *arg, const char *message);
PGMM_EXPORT void pgmm_admin_set_notice(PGMMadmin *adm, pgmm_notice_fn fn, void *arg);

/* The lock_timeout (milliseconds, 1 .. 3600000; default
 * PGMM_ADMIN_LOCK_TIMEOUT_DEFAULT) of every statement pgmm runs for a
 * catalog change: a lock held longer (a transaction left prepared, a
 * session in a long transaction) makes the change fail with an error naming
 * the holders instead of waiting.  0 ok, -1 for a value out of range (the
 * handle's error says why; the setting is unchanged). */
#define PGMM_ADMIN_LOCK_TIMEOUT_DEFAULT 10000
PGMM_EXPORT int pgmm_admin_set_lock_timeout(PGMMadmin *adm, int ms) PGMM_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif /* PGMM_H */
