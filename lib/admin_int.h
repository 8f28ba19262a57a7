/*
 * admin_int.h -- internal interface of the admin API's files (admin_*.c).
 *
 * Included only by lib/admin_frame.c, admin_init.c, admin_tables.c,
 * admin_report.c and the unit tests (tests/unit/check_admin.c).  It
 * includes pgmm_int.h and twophase.h, neither of which includes it back.
 *
 *   admin_frame.c   the admin handle and its node set (connect, reconnect,
 *                   run a statement on a master), statement lists, and the
 *                   catalog-change frame (one two-phase commit over every
 *                   master, through twophase.c)
 *   admin_init.c    init, uninstall (and the mesh of subscriptions)
 *   admin_tables.c  ddl, reference, distribute
 *   admin_report.c  status (gathered into a struct, rendered as text or
 *                   JSON), verify, recover
 *   admin_copy.c    equalize one relation between two masters (by primary
 *                   key, in batches), repair, rejoin
 *   admin_ha.c      failover of a dead master, fencing of a failed one
 *
 * The builders (admin_build_*) are pure: they turn what was learnt from the
 * masters into the SQL each master will run, touching no server, so the
 * unit tests check them directly.
 */
#ifndef PGMM_ADMIN_INT_H
#define PGMM_ADMIN_INT_H

#include <libpq-fe.h>

#include "pgmm_int.h"
#include "pghash.h"
#include "twophase.h"

/* How far pgmm got in fencing a failed master (admin_ha.c). */
typedef enum admin_fence
{
	ADMIN_FENCE_NOT_TRIED = 0,
	ADMIN_FENCE_UNREACHABLE,    /* could not connect (short connect timeout) */
	ADMIN_FENCE_DONE,           /* its catalog is the survivors', guards on everything */
	ADMIN_FENCE_FAILED          /* reachable but fencing failed: it may accept writes */
} admin_fence;

/* A master the catalog marks failed: out of a->nodes (no catalog change
 * includes it), kept here so pgmm can fence it whenever it is reachable. */
typedef struct admin_failed_node
{
	pgmm_node   node;           /* name, conninfo, slot; conn open when reached */
	long long   failed_epoch;   /* the epoch of its failover */
	admin_fence fence;
	char       *note;           /* why fencing failed, or what fencing did; NULL */
	int         fenced_now;     /* this handle changed its catalog/guards */
} admin_failed_node;

struct pgmm_admin
{
	int         ok;
	pgmm_buf    err;
	pgmm_node  *nodes;          /* the usable (active) masters, in catalog order (by name) */
	int         nnodes;
	admin_failed_node *failed;  /* masters marked failed, in catalog order */
	int         nfailed;
	int         fence_tried;    /* admin_fence_failed ran on this handle */
	int         home;           /* index of the master we came in through */
	char       *home_conninfo;  /* libpq part of the caller's conninfo */
	pgmm_notice_fn notice;
	void       *notice_arg;
	int         in_txn;         /* BEGIN sent on every node */
	int         catchup_wait_ms;/* ddl: bound on the subscriptions' catch-up (0: default 30 s) */
	int         lock_timeout_ms;/* lock_timeout of catalog-change statements */
	int         lock_blocked;   /* master whose statement hit lock_timeout (55P03), else -1 */
	int         change_lock_blocked; /* the last catalog change failed on a lock_timeout */
	int         change_deadlocked;   /* ... or on a deadlock (40P01) */
};

/* ------------------------------------------------------------ admin_frame.c */

void admin_notice(PGMMadmin *a, const char *fmt, ...) PGMM_PRINTF(2, 3);
/* Replace the handle's error message. */
void admin_seterr(PGMMadmin *a, const char *fmt, ...) PGMM_PRINTF(2, 3);
void admin_free_nodes(pgmm_node *nodes, int n);
/* Open a connection to one master; NULL with "master NAME (...) is
 * unreachable: ..." appended to err. */
PGconn *admin_connect_node(const char *name, const char *conninfo, pgmm_buf *err);
/* The same with connect_timeout set to timeout_s seconds (a failed or
 * suspect master must not hold pgmm up). */
PGconn *admin_connect_node_timeout(const char *name, const char *conninfo, int timeout_s, pgmm_buf *err);
/* 1 when every master is connected (reconnecting those that dropped),
 * else 0 with the error set: catalog changes need every master. */
int admin_require_all(PGMMadmin *a);
/* Record that master i's statement failed with result r (NULL: no
 * answer): a lock_timeout (55P03) marks it in a->lock_blocked. */
void admin_note_failure(PGMMadmin *a, int i, const PGresult *r);
/* Master i's statement failed with result r (NULL: no answer): note it
 * (admin_note_failure), describe it in a->err as "master NAME: <server
 * message>" and free r. */
void admin_fail(PGMMadmin *a, int i, PGresult *r);
/* Append to out who holds locks on master i in this database (pgmm and
 * other prepared transactions with gid, age and tables; sessions with pid,
 * application, state and query); nothing when nobody does.  Run it on an
 * idle connection (after the rollback). */
void admin_describe_lock_holders(PGMMadmin *a, int i, pgmm_buf *out);
/* Index of the master called name; -1 when there is none. */
int admin_node_index(const PGMMadmin *a, const char *name);

/* Run on master i, reporting failures as "master NAME: <server message>"
 * into the handle's error:
 *   admin_query        a query expecting status want; the result, or NULL
 *   admin_query_params the same with text parameters $1..$n (rows or command)
 *   admin_run          a command (or several); 0 / -1
 *   admin_run_all      one command on every master in turn; 0 / -1 */
PGresult *admin_query(PGMMadmin *a, int i, const char *sql, ExecStatusType want);
PGresult *admin_query_params(PGMMadmin *a, int i, const char *sql, int n, const char *const *vals);
int admin_run(PGMMadmin *a, int i, const char *sql);
int admin_run_all(PGMMadmin *a, const char *sql);

/* A list of SQL statements, built first and run after.  An allocation
 * failure marks the list broken (admin_stmts_ok() 0); adding to a broken
 * list does nothing. */
typedef struct admin_stmts
{
	char **sql;
	int    n;
	int    cap;
	int    broken;
} admin_stmts;

void admin_stmts_init(admin_stmts *s);
void admin_stmts_free(admin_stmts *s);
int  admin_stmts_ok(const admin_stmts *s);
void admin_stmts_add(admin_stmts *s, const char *sql);
void admin_stmts_addf(admin_stmts *s, const char *fmt, ...) PGMM_PRINTF(2, 3);
/* Run every statement on every master (statement by statement, each on
 * all masters before the next); 0 / -1 (out of memory: an error too). */
int admin_stmts_run_all(PGMMadmin *a, const admin_stmts *s);
/* Run every statement on master i; 0 / -1. */
int admin_stmts_run_on(PGMMadmin *a, int i, const admin_stmts *s);

/* The statements of the frame every catalog change runs on each master. */
extern const char admin_sql_lock_epoch[];   /* SELECT epoch ... FOR UPDATE */
extern const char admin_sql_bump_epoch[];
extern const char admin_sql_sync_local[];
extern const char admin_sql_unfreeze[];
extern const char admin_sql_list_subscriptions[];

/*
 * One catalog change: BEGIN on every master, lock the cluster row (every
 * epoch must agree), body, epoch + 1, pgmm.sync_local(), then one
 * two-phase commit (twophase.c, kind catalog, label the new epoch,
 * participants every master in catalog order).  0 committed everywhere;
 * -1 with the error saying whether nothing changed (ABORTED) or the change
 * is decided but unfinished (IN DOUBT: `pgmm recover`).
 */
typedef int (*admin_txn_body)(PGMMadmin *a, void *arg);
int admin_catalog_change(PGMMadmin *a, admin_txn_body body, void *arg);
/* ROLLBACK every master inside a transaction. */
void admin_rollback_all(PGMMadmin *a);
/* BEGIN on every master; 0 / -1 (then everything is rolled back). */
int admin_begin_all(PGMMadmin *a);
/* Every master is inside its transaction with the change done: commit it
 * everywhere with twophase.c (kind catalog, label = the epoch the change
 * commits, participants every master in catalog order, i.e. by name, the
 * last deciding).
 * 0 / -1, the error saying ABORTED (nothing changed) or IN DOUBT. */
int admin_commit_everywhere(PGMMadmin *a, long long epoch);
/* REFRESH PUBLICATION on every pgmm subscription of every master. */
int admin_refresh_subscriptions(PGMMadmin *a);
/* Refresh, then unfreeze the tables just added (a second catalog change). */
int admin_refresh_and_unfreeze(PGMMadmin *a);
/* Every master as two-phase-commit participants (conn NULL when down);
 * malloc'd, NULL when out of memory. */
pgmm_2pc_part *admin_parts(const PGMMadmin *a);

/* ------------------------------------------------------------ admin_ha.c */

/* Free a->failed. */
void admin_free_failed(PGMMadmin *a);
/* Index in a->failed of the failed master called name; -1 when none. */
int admin_failed_index(const PGMMadmin *a, const char *name);
/* Move master v (not the home one) out of the node set into a->failed
 * (its connection kept); 0 / -1 out of memory. */
int admin_set_aside(PGMMadmin *a, int v, long long failed_epoch);
/* Reach every failed master (short connect timeout) and fence the ones
 * that answer: their catalog overwritten with the home master's (so
 * pgmm.sync_local() there puts guards on every shard and empties the
 * publication), their subscriptions disabled; on every usable master, drop
 * what still subscribes to a failed master or keeps a slot for it.  Sets
 * each one's fence state; best effort, never fails. */
void admin_fence_failed(PGMMadmin *a);
/* Balance n shards of one colocation group over ntargets masters holding
 * count[t] shards of it already: out[k] the target of shard k (the one
 * with the fewest so far, the first in order on a tie); count updated. */
void admin_failover_assign(int *count, int ntargets, int n, int *out);

/* ------------------------------------------------------------ admin_init.c builders */

/* Subscription and slot names of publisher -> subscriber. */
void admin_build_sub_name(pgmm_buf *b, const char *publisher, const char *subscriber);
/* CREATE SUBSCRIPTION on subscriber for publisher's publication
 * (origin = none on PostgreSQL 16+). */
void admin_build_subscription(pgmm_buf *b, const char *publisher, const char *subscriber,
                              const char *publisher_conninfo, const char *cluster_id,
                              int subscriber_version);
/* What init installs on master `me` after the catalog SQL: the cluster
 * row, every master, pgmm.local, the ID sequence, the publication and the
 * first sync. */
void admin_build_install(admin_stmts *s, const pgmm_node *nodes, int n, int me,
                         const char *cluster_id, int stride);

/* ------------------------------------------------------------ admin_tables.c builders */

/* ddl on managed tables: 1 when name occurs in body as a whole word
 * (case-insensitively); the freeze reason ("pgmm ddl: " + body, squeezed,
 * cut) appended to b. */
int  admin_ddl_mentions(const char *body, const char *name);
void admin_ddl_reason(pgmm_buf *b, const char *body);

/* The freeze (PM006) of ddl, shared with repair: one catalog change each,
 * on the pgmm.tables rows matching where (SQL, e.g. "(schema_name,
 * table_name) IN (('public', 't'))"); reason goes to frozen_reason.  The
 * guards then refuse writes to those tables on every master (libpgmm waits
 * them out).  0 / -1. */
int admin_freeze(PGMMadmin *a, const char *where, const char *reason);
int admin_unfreeze(PGMMadmin *a, const char *where);
/* Called by admin_wait_catchup on every look at a subscription that has
 * not caught up (publisher, subscriber: master indexes; sub: its name):
 * -1 stops the wait (error set), 0 waits on, 1 waits on with the clock
 * restarted (it mended something), 2 stops waiting for this one. */
typedef int (*admin_behind_fn)(PGMMadmin *a, int publisher, int subscriber, const char *sub, void *arg);
/* Wait until every subscription has applied everything its publisher had
 * written when the wait began (bounded by --catchup-wait, default 30 s);
 * behind may be NULL.  0 / -1 (error names who did not catch up). */
int admin_wait_catchup(PGMMadmin *a, admin_behind_fn behind, void *arg);
void admin_sleep_ms(int ms);
long long admin_now_ms(void);	/* monotonic */

/* INSERT of a reference table into pgmm.tables (frozen until refreshed). */
void admin_build_reference(pgmm_buf *b, const char *schema, const char *table, const char *owner);

/* What distribute learnt from the home master about the table. */
typedef struct admin_dist_input
{
	const char *schema;
	const char *table;
	const char *qualified;     /* "schema"."table" */
	const char *column;
	const char *old_name;      /* temporary name of the old table (unquoted) */
	pgmm_keytype keytype;
	int         key_position;
	int         shards;
	char        replident;     /* 'f': REPLICA IDENTITY FULL carried over */
	int         colocation;    /* the group */
	int         new_colocation;/* 1: create the group and its shard owners */
	const char *const *owner_names;  /* masters, catalog order (new group) */
	int         nowners;
	/* Foreign keys pointing at the table: referencing table, constraint
	 * name (quoted), definition; its own foreign keys: name, definition;
	 * sequences owned by its columns: sequence, column (quoted); its
	 * indexes: qualified name, oid. */
	const char *const *fk_in;  int nfk_in;   /* 3 per entry */
	const char *const *fk_own; int nfk_own;  /* 2 per entry */
	const char *const *seqs;   int nseqs;    /* 2 per entry */
	const char *const *idx;    int nidx;     /* 2 per entry */
} admin_dist_input;

/* The statements distribute runs on every master: `before` (rename the
 * old table, create the partitioned one and its shards) and, after the
 * rows are copied, `after` (sequences, drop the old table, foreign keys,
 * catalog rows).  -1 with err set when the input cannot be built (a
 * shard name over 63 bytes, ...). */
int admin_build_distribute(const admin_dist_input *in, admin_stmts *before, admin_stmts *after, pgmm_buf *err);
/* The ID sequence value that puts master `slot`'s next ID past maxkey
 * (stride apart); 0 when its sequence needs no move (maxkey < slot). */
long long admin_id_seq_floor(long long maxkey, int slot, long long stride);

/* Check the body of `pgmm ddl` before anything runs: split it into
 * statements with the lexer and refuse any that would end or split pgmm's
 * own transaction (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE, ROLLBACK
 * TO, PREPARE TRANSACTION, COMMIT/ROLLBACK PREPARED) or that the lexer
 * cannot read.  0 when the body may run, else -1 with err set. */
int admin_ddl_check_body(const char *sql, pgmm_buf *err);

/* drop: DROP TABLE of the n tables (schema, name; unquoted; only when
 * drop is non-zero) and their catalog rows; a colocation group left
 * without tables goes with its shards. */
void admin_build_drop_tables(admin_stmts *s, const char *const *schemas, const char *const *names, int n, int drop);

/* ------------------------------------------------------------ admin_durability.c */

enum { ADMIN_DURABILITY_OFF = 0, ADMIN_DURABILITY_ANY = 1, ADMIN_DURABILITY_ALL = 2 };

typedef struct admin_durability
{
	int mode;       /* ADMIN_DURABILITY_* */
	int n;          /* ANY n */
} admin_durability;

/* Parse "off", "any N" (1 <= N < nmasters) or "all" (nmasters >= 2),
 * spaces and case ignored; 0 / -1 with a message in err. */
int admin_durability_parse(const char *text, int nmasters, admin_durability *d, pgmm_buf *err);
/* The catalog's spelling: "off", "any N", "all". */
void admin_durability_text(const admin_durability *d, pgmm_buf *b);
/* synchronous_standby_names for a master whose subscribers' apply workers
 * are names[0..n): '' (nothing appended) for off or no subscriber,
 * ANY min(N, n) ("a", "b") or FIRST n (...) for all. */
void admin_build_standby_names(pgmm_buf *b, const admin_durability *d, const char *const *names, int n);
/* Write synchronous_standby_names on every live master from the catalog's
 * durability mode (pgmm.cluster.durability: 'off', 'any N', 'all') and the
 * live masters' subscriptions (ALTER SYSTEM + pg_reload_conf, outside any
 * transaction); a failed/dead master's subscriptions are left out so a
 * commit never waits for it.  0 / -1. */
int admin_durability_apply(PGMMadmin *a);
/* Is the catalog's durability mode (home master) other than off?  0 when
 * it cannot be read. */
int admin_durability_on(PGMMadmin *a);
/* Every master's commits stop waiting for subscribers (synchronous_standby_names
 * reset; best effort): see admin_catalog_change. */
void admin_durability_relax(PGMMadmin *a);
/* uninstall: reset synchronous_standby_names on master i when the catalog
 * there says durability is not off (best effort, a notice on failure). */
void admin_durability_reset(PGMMadmin *a, int i);

/* ------------------------------------------------------------ admin_report.c */

typedef struct admin_master_report
{
	char *name;
	int   slot;
	int   up;
	int   home;
	char *epoch;        /* NULL unknown */
	char *version;
	char *address;
	char *error;        /* why it is down or unreadable; NULL when fine */
	char *sync_names;   /* its synchronous_standby_names (durability); NULL unknown */
	long  sync_waiting; /* sessions waiting for a subscriber to confirm a commit (SyncRep) */
	/* a master the catalog marks failed (listed after the usable ones) */
	int   failed;
	long long failed_epoch;
	admin_fence fence;
} admin_master_report;

typedef struct admin_table_report
{
	char *schema, *table, *kind, *key, *key_type, *owner;
	int   colocation;   /* 0 for a reference table */
	int   shards;
	int   frozen;
} admin_table_report;

typedef struct admin_shard_count
{
	int   colocation;
	char *owner;
	int   count;
} admin_shard_count;

typedef struct admin_sub_report
{
	char  *name;
	char  *slot;
	int    subscriber;      /* master index */
	int    publisher;       /* master index, -1 unknown */
	int    enabled;
	int    worker;
	long long apply_errors;
	long long sync_errors;
	long long not_ready;
	int    slot_found;
	int    slot_active;
	long long lag_bytes;    /* -1 unknown */
	double lag_seconds;     /* -1 unknown */
	/* what happens now: a second sample sample_seconds after the first */
	double sample_seconds;  /* 0: one sample only (the fields below unknown) */
	long long new_errors;   /* apply errors during the sample; -1 unknown */
	long long flushed;      /* bytes the subscriber confirmed during the sample; -1 unknown */
	double last_error_age;  /* seconds since an error was last seen during a sample; -1 none seen */
	char  *stats_reset;     /* when the error counters were last reset ("" never) */
	/* sampling state */
	long long flush_pos;    /* slot's confirmed_flush_lsn as a number; -1 unknown */
	long long flush_at_start;
	long long errors_at_start;
	double error_seen_at;   /* seconds into the sample; 0 none */
} admin_sub_report;

typedef struct admin_prepared_report
{
	int    master;          /* index */
	char  *gid;
	char   kind;            /* pgmm_2pc_kind, 0 when the gid does not parse */
	long long label;
	char  *decider;
	double age_seconds;
	char  *locks;           /* "public.t, public.t_s1" or "" */
} admin_prepared_report;

typedef struct admin_report
{
	admin_master_report   *masters;  int nmasters;
	admin_table_report    *tables;   int ntables;
	admin_shard_count     *shards;   int nshards;
	admin_sub_report      *subs;     int nsubs;
	admin_prepared_report *prepared; int nprepared;
	char                  *durability; /* the catalog's mode (home master); NULL unknown */
} admin_report;

void admin_report_free(admin_report *r);
/* "streaming", "syncing", "down", "STALLED", "disabled".  STALLED is decided
 * from what happens now: the apply worker failed during the sample, or it
 * failed before and the subscriber has not confirmed a byte of its lag
 * during the sample (a cumulative error count alone never makes it). */
const char *admin_sub_state(const admin_sub_report *s);
/* A failed master's fence state for people: "FENCED", "FAILED, not
 * fenced: unreachable", "STALE, not fenced: may accept writes". */
const char *admin_fence_label(admin_fence f);
/* Render r (text for people, JSON for tools) onto out. */
void admin_report_text(const admin_report *r, pgmm_buf *out);
void admin_report_json(const admin_report *r, pgmm_buf *out);
/* Append s as a JSON string. */
void admin_json_str(pgmm_buf *b, const char *s);

/* verify: the per-shard checksum query of a table (qualified, quoted), and
 * the per-row (key text, row md5) query of one shard (keys: key column
 * names, unquoted; none: the whole row is the key). */
void admin_build_verify_checksum(pgmm_buf *b, const char *qualified);
void admin_build_verify_rows(pgmm_buf *b, const char *shard, const char *const *keys, int nkeys);
/* The hash of one row of relation alias r, the same for verify and
 * equalize: the md5 of its whole-row value (a two-part name is always the
 * relation's, so no column can take the row's place). */
#define ADMIN_ROW_HASH "pg_catalog.md5(ROW(r.*)::text)"
/* The key of one row of alias r as text in the C collation (keys: the key
 * columns, unquoted; none: the whole row), parenthesised. */
void admin_build_key_text(pgmm_buf *b, const char *const *keys, int nkeys);
/* Merge two (key, hash) lists sorted by key (strcmp; NULL keys as ""): the
 * number of keys whose rows differ (missing on one side or another hash),
 * and the first maxkeys of them in first (pointers into ka/kb). */
int admin_verify_diff(const char *const *ka, const char *const *ha, int na,
                      const char *const *kb, const char *const *hb, int nb,
                      int maxkeys, const char **first, int *nfirst);

/* ------------------------------------------------------------ admin_copy.c */

typedef struct admin_diff
{
	long long missing;   /* rows src has and dst lacks */
	long long extra;     /* rows dst has and src lacks */
	long long changed;   /* same key, different row */
	pgmm_buf  keys;      /* the first differing keys, as text, ", "-separated */
	int       nkeys;     /* how many keys are in `keys` (at most 10) */
} admin_diff;
void admin_diff_init(admin_diff *d);
void admin_diff_free(admin_diff *d);
/* Make master dst's copy of relation schema.rel (a shard partition or a
 * reference table; rows matched by the primary key) equal to master src's.
 * src and dst are indexes into a->nodes.  Runs on dst in its own transaction
 * with session_replication_role = replica (guards do not fire, nothing is
 * published: dst publishes only what it owns), committed before it returns;
 * dry_run: compare only, change nothing.  Nothing is ever changed on src.
 * Not for use inside admin_catalog_change (a->in_txn). 0 / -1 (error set). */
int admin_equalize(PGMMadmin *a, int src, int dst, const char *schema, const char *rel,
                   int dry_run, admin_diff *d);

/* admin_equalize that also hands every row of dst that differs (kind
 * "extra": src lacks the key; "changed": src's row differs) to fn, with
 * its key and whole-row text, before anything is mended (dry_run: nothing
 * is).  fn NULL: admin_equalize. */
typedef void (*admin_row_fn)(void *arg, const char *kind, const char *key, const char *row);
int admin_equalize_rows(PGMMadmin *a, int src, int dst, const char *schema, const char *rel,
                        int dry_run, admin_diff *d, admin_row_fn fn, void *fn_arg);

/* equalize's SQL (rel: the relation, quoted and qualified; keys: primary
 * key columns, unquoted, with their types as format_type() gives them;
 * none: the whole row is the key):
 *   rows    key text (C collation), row hash (ADMIN_ROW_HASH), each key
 *           column as text; ordered by key then hash
 *   fetch   the whole-row text and key text of every row whose key is
 *           among the text[] parameters $1..$nkeys (none: whose row text
 *           is among $1)
 *   delete  the same rows, deleted
 *   insert  the rows whose whole-row texts are in $1, into the columns
 *           cols (the relation's columns that are not generated) */
void admin_build_equalize_rows(pgmm_buf *b, const char *rel, const char *const *keys, int nkeys);
void admin_build_equalize_fetch(pgmm_buf *b, const char *rel, const char *const *keys,
                                const char *const *types, int nkeys);
void admin_build_equalize_delete(pgmm_buf *b, const char *rel, const char *const *keys,
                                 const char *const *types, int nkeys);
void admin_build_equalize_insert(pgmm_buf *b, const char *rel, const char *const *cols, int ncols);
/* rejoin's CREATE SUBSCRIPTION: init's, with copy_data = true when copy_data. */
void admin_build_rejoin_subscription(pgmm_buf *b, const char *publisher, const char *subscriber,
                                     const char *publisher_conninfo, const char *cluster_id,
                                     int subscriber_version, int copy_data);
/* Append a text[] literal of the n strings v (none NULL). */
void admin_build_text_array(pgmm_buf *b, const char *const *v, int n);

#endif
