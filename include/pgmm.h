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

PGMM_EXPORT const char *pgmm_version(void);

/* ------------------------------------------------------------------ router */

typedef struct pgmm_conn PGMMconn;  /* opaque */

/* Connect to any one master (libpq conninfo string, plus pgmm's own
 * options, see README); reads the cluster catalog. Never NULL unless out of
 * memory: check pgmm_status(). */
PGMM_EXPORT PGMMconn *pgmm_connect(const char *conninfo);
PGMM_EXPORT ConnStatusType pgmm_status(const PGMMconn *conn);
PGMM_EXPORT const char *pgmm_error_message(const PGMMconn *conn);
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
/* Name of the master that ran the last statement (NULL before any). */
PGMM_EXPORT const char *pgmm_last_node(const PGMMconn *conn);

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

/* Apply one SQL statement on every master in one two-phase commit. */
PGMM_EXPORT int pgmm_admin_ddl(PGMMadmin *adm, const char *sql) PGMM_WARN_UNUSED;
/* Make table a reference table written on owner (NULL: the master the
 * handle was connected through). */
PGMM_EXPORT int pgmm_admin_reference(PGMMadmin *adm, const char *table,
	const char *owner) PGMM_WARN_UNUSED;
/* Hash-distribute table by column into shards partitions (0: default 16),
 * or colocated with another distributed table (colocate_with, may be NULL). */
PGMM_EXPORT int pgmm_admin_distribute(PGMMadmin *adm, const char *table,
	const char *column, int shards, const char *colocate_with) PGMM_WARN_UNUSED;
/* Cluster status as text (json != 0: JSON); malloc'd, free() it; NULL on
 * failure (pgmm_admin_error). */
PGMM_EXPORT char *pgmm_admin_status(PGMMadmin *adm, int json);
/* Finish or undo two-phase transactions left prepared by a master that
 * failed mid-commit; *resolved gets how many (may be NULL). */
PGMM_EXPORT int pgmm_admin_recover(PGMMadmin *adm, int *resolved) PGMM_WARN_UNUSED;
/* Compare every pgmm table across masters (row count and content hash per
 * shard); a malloc'd report, *diverged set to the number of differences. */
PGMM_EXPORT char *pgmm_admin_verify(PGMMadmin *adm, int *diverged);
/* Remove pgmm from every reachable master: subscriptions, publication and
 * catalog (tables and their rows stay). */
PGMM_EXPORT int pgmm_admin_uninstall(PGMMadmin *adm) PGMM_WARN_UNUSED;

/* Optional progress messages of admin operations (NULL: silent). */
typedef void (*pgmm_notice_fn)(void *arg, const char *message);
PGMM_EXPORT void pgmm_admin_set_notice(PGMMadmin *adm, pgmm_notice_fn fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif /* PGMM_H */
