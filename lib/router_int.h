/*
 * router_int.h -- internal declarations of the router's pure modules and
 * of what compat.c needs.  Nothing here is public.  The cluster connection
 * itself (struct pgmm_conn and its files) is in conn_int.h.
 *
 * Split by concern, as libpq does:
 *   map.c     the partition map: masters, colocation groups, shard owners,
 *             tables, the home session's search_path; built from one
 *             catalog query or by hand (unit tests), validated, then looked
 *             up.  Pure logic apart from reading a PGresult.
 *   route.c   statement plans (parse once, keep in the SipHash-keyed cache)
 *             and the target of one execution (which master, given the
 *             parameters).  Pure logic.
 *   choose.c  the master(s) a target goes to, given the transaction and
 *             the read policy; the order balanced choices try.  Pure logic.
 *   ids.c     the ID pool behind pgmm_next_id.  Pure logic.
 *   result.c  pgmm's per-result data (broadcast totals, local errors) kept
 *             on PGresults through a libpq event procedure.
 *   compat.c  libpq-shaped shims used by pgmm_compat.h.
 */
#ifndef PGMM_ROUTER_INT_H
#define PGMM_ROUTER_INT_H

#include <stdint.h>
#include <libpq-fe.h>

#include "pgmm_int.h"
#include "pghash.h"
#include "plancache.h"
#include "sqlparse.h"

/* ------------------------------------------------------------ map.c */

enum { PGMM_TABLE_REFERENCE = 1, PGMM_TABLE_DISTRIBUTED = 2 };

typedef struct pgmm_map_node
{
	char   *name;
	char   *conninfo;        /* catalog conninfo (no secrets) */
	int     slot;
	int     active;          /* state = 'active' */
} pgmm_map_node;

typedef struct pgmm_map_coloc
{
	int          id;
	pgmm_keytype key_type;
	int          shards;
	int         *owner;      /* node index per remainder */
	int          nowners;    /* distinct owners */
	int         *owners;     /* their node indexes, ascending */
} pgmm_map_coloc;

typedef struct pgmm_map_table
{
	char        *schema;
	char        *name;
	int          kind;        /* PGMM_TABLE_* */
	char        *key_column;
	pgmm_keytype key_type;
	int32_t      key_typmod;  /* pg_attribute.atttypmod, -1 none */
	int          key_position;/* 1-based among live columns, 0 unknown */
	int          coloc;       /* index into colocs (distributed) */
	int          owner;       /* node index (reference) */
	int          coloc_id;    /* as read, resolved by pgmm_map_finish */
	char        *owner_name;  /* as read, resolved by pgmm_map_finish */
} pgmm_map_table;

typedef struct pgmm_map
{
	int64_t         epoch;
	int             stride;
	int             local;        /* node index of the master the map was read from */
	char           *local_name;
	pgmm_map_node  *nodes;
	int             nnodes;
	pgmm_map_coloc *colocs;
	int             ncolocs;
	pgmm_map_table *tables;
	int             ntables;
	char          **search_path;  /* schemas of current_schemas(true), in order */
	int             npath;
	pgmm_cache     *table_index;  /* "schema\0name" -> table index + 1 */
	int             finished;
} pgmm_map;

pgmm_map *pgmm_map_new(void);
void pgmm_map_free(pgmm_map *m);
/* Building blocks (unit tests build maps by hand with these); 0 / -1 (OOM
 * or a bad value, message in err). */
int pgmm_map_add_node(pgmm_map *m, const char *name, const char *conninfo, int slot, int active,
                      pgmm_buf *err);
int pgmm_map_add_coloc(pgmm_map *m, int id, const char *key_type, int shards, pgmm_buf *err);
int pgmm_map_set_shard(pgmm_map *m, int coloc_id, int remainder, const char *owner, pgmm_buf *err);
int pgmm_map_add_table(pgmm_map *m, const char *schema, const char *name, const char *kind,
                       const char *key_column, const char *key_type, int32_t key_typmod,
                       int key_position, int coloc_id, const char *owner, pgmm_buf *err);
int pgmm_map_set_search_path(pgmm_map *m, const char *const *schemas, int n, pgmm_buf *err);
/* Validate (every shard of every group owned by a known master, every table
 * in a known group of its key type, the local master known) and index.
 * A map that fails validation must not be used. */
int pgmm_map_finish(pgmm_map *m, int64_t epoch, int stride, const char *local, pgmm_buf *err);

/* The catalog query: one statement, one snapshot, one round trip. */
extern const char pgmm_map_query[];
extern const char pgmm_search_path_query[];
/* Build a map from the result of pgmm_map_query; NULL with err. */
pgmm_map *pgmm_map_from_result(const PGresult *res, pgmm_buf *err);
/* Replace the search path from the result of pgmm_search_path_query. */
int pgmm_map_search_path_from_result(pgmm_map *m, const PGresult *res, pgmm_buf *err);

int pgmm_map_node_index(const pgmm_map *m, const char *name);
/* Table by schema (NULL: resolve through the search path) and name; -1 when
 * pgmm does not manage it. */
int pgmm_map_find_table(const pgmm_map *m, const char *schema, const char *name);
/* Node owning remainder r of table t's group. */
static inline int
pgmm_map_shard_owner(const pgmm_map *m, const pgmm_map_table *t, uint32_t r)
{
	return m->colocs[t->coloc].owner[r];
}

/* ------------------------------------------------------------ route.c */

/* What a statement is, once (cached per text). */
typedef enum pgmm_route
{
	PGMM_ROUTE_EMPTY = 0,   /* blanks/comments: answered locally */
	PGMM_ROUTE_READ,        /* SELECT (read policy; locking reads are writes) */
	PGMM_ROUTE_WRITE,       /* INSERT/UPDATE/DELETE: target from the keys */
	PGMM_ROUTE_BEGIN,
	PGMM_ROUTE_COMMIT,
	PGMM_ROUTE_ROLLBACK,
	PGMM_ROUTE_TXN,         /* SAVEPOINT, RELEASE, ROLLBACK TO, SET TRANSACTION/CONSTRAINTS, LOCK */
	PGMM_ROUTE_SET,         /* SET / RESET / DISCARD: every connection, replayed later */
	PGMM_ROUTE_SET_LOCAL,   /* SET LOCAL: the transaction's master */
	PGMM_ROUTE_FALLBACK,    /* OTHER, SQL-level PREPARE/EXECUTE/DEALLOCATE: bound master, else home */
	PGMM_ROUTE_REFUSE       /* decided error (DDL, multi-statement, COPY, bad key literal) */
} pgmm_route;

typedef enum pgmm_keysrc_kind
{
	PGMM_KEY_NONE = 0,      /* the key is not given: its DEFAULT decides */
	PGMM_KEY_NODE,          /* owner known at plan time */
	PGMM_KEY_PARAM,         /* $n */
	PGMM_KEY_UNKNOWN        /* an expression pgmm does not evaluate */
} pgmm_keysrc_kind;

typedef struct pgmm_keysrc
{
	int kind;               /* pgmm_keysrc_kind */
	int node;               /* PGMM_KEY_NODE */
	int param;              /* PGMM_KEY_PARAM: 1-based */
} pgmm_keysrc;

/* Flags of a plan. */
#define PGMM_PF_LOCKING        0x0001  /* SELECT ... FOR UPDATE/SHARE */
#define PGMM_PF_SEARCH_PATH    0x0002  /* may change search_path: re-read it */
#define PGMM_PF_RESET_ALL      0x0004  /* RESET ALL / DISCARD ALL: forget replayed settings */
#define PGMM_PF_DEALLOCATE     0x0008  /* DEALLOCATE / DISCARD ALL: server prepared statements gone */
#define PGMM_PF_KEY_UPDATE     0x0010  /* UPDATE assigns the key column (newkey) */
#define PGMM_PF_INT_KEY        0x0020  /* the table's key is an integer (its DEFAULT picks an owned shard) */
#define PGMM_PF_BROADCAST_OK   0x0040  /* keyless UPDATE/DELETE of a distributed table */

typedef struct pgmm_plan
{
	pgmm_route  route;
	pgmm_stmt_kind kind;
	int         flags;
	int         table;        /* index into the map's tables, -1 when not a pgmm table */
	int         nkeys;        /* INSERT: one per row; UPDATE/DELETE/SELECT: 0 or 1 */
	pgmm_keysrc *keys;
	pgmm_keysrc newkey;       /* PGMM_PF_KEY_UPDATE */
	int         max_param;
	pgmm_stmt_sub sub;        /* the recogniser's sub-kind (SET, SAVEPOINT, LOCK, ...) */
	int         chain;        /* COMMIT / ROLLBACK AND CHAIN */
	int         to_default;   /* SET x TO DEFAULT: forget x, do not replay */
	const char *tag;          /* command tag of a locally answered statement (static) */
	char       *set_key;      /* ROUTE_SET: the setting's name (replay de-duplication) */
	/* ROUTE_REFUSE */
	char        sqlstate[6];
	char       *message;
	char       *detail;
	char       *hint;
} pgmm_plan;

/* Build the plan of one statement text against map (search_path resolved
 * there).  NULL only on out of memory (err set); statements pgmm refuses
 * get a ROUTE_REFUSE plan. */
pgmm_plan *pgmm_plan_build(const pgmm_map *map, const char *sql, size_t len, pgmm_buf *err);
/* Same from an already parsed statement (unit tests). */
pgmm_plan *pgmm_plan_from_stmt(const pgmm_map *map, const pgmm_stmt *st, const char *sql, size_t len,
                               pgmm_buf *err);
void pgmm_plan_free(pgmm_plan *p);

/* Parameters of one execution. */
typedef struct pgmm_params
{
	int                 n;
	int                 ntypes;   /* entries in types (may be fewer than n) */
	const Oid          *types;
	const char *const  *values;
	const int          *lengths;
	const int          *formats;
} pgmm_params;

/* An error pgmm decides before sending anything (a bad key, a refused
 * statement, a transaction bound elsewhere), with the fields the server's
 * own errors have. */
typedef struct pgmm_decided
{
	char    sqlstate[6];
	char    message[512];
	char    detail[256];
	char    hint[256];
} pgmm_decided;

/* Fill e (detail and hint may be NULL). */
void pgmm_decided_set(pgmm_decided *e, const char *sqlstate, const char *detail, const char *hint,
                      const char *fmt, ...) PGMM_PRINTF(5, 6);

/* Where one execution goes, before transaction rules. */
typedef enum pgmm_target_kind
{
	PGMM_TARGET_NODE = 0,   /* exactly this master (owner of the key / reference table) */
	PGMM_TARGET_OWNERS,     /* any master owning a shard of the group (INSERT without key) */
	PGMM_TARGET_UNKNOWN,    /* a write whose owner pgmm cannot know: the fallback master; a
	                           PM001 outside a transaction is redirected to the owner it names */
	PGMM_TARGET_BROADCAST,  /* every owner of the group, owned-rows-only mode */
	PGMM_TARGET_READ,       /* a read: read policy (node set when the owner is known) */
	PGMM_TARGET_ERROR       /* the statement fails: sqlstate/message */
} pgmm_target_kind;

typedef struct pgmm_target
{
	pgmm_target_kind kind;
	int     node;          /* NODE; READ: owner when known (else -1) */
	int     coloc;         /* OWNERS/BROADCAST: group index; -1 */
	pgmm_decided err;      /* ERROR */
} pgmm_target;

/* Evaluate plan p (a READ or WRITE plan) with params against map.
 * Pure: no I/O, no allocation. */
void pgmm_plan_target(const pgmm_map *map, const pgmm_plan *p, const pgmm_params *params,
                      pgmm_target *t);
/* Owner (node index) of a key given as text for table t; on failure a
 * negative pgmm_hash_status with err. */
int pgmm_key_owner_text(const pgmm_map *map, const pgmm_map_table *t, const char *val, size_t len,
                        char *err, size_t errlen);

/* ------------------------------------------------------------ choose.c */

/* Which master(s) one execution of a READ/WRITE plan goes to, given its
 * target, the transaction and the read policy: the ONE place that turns a
 * target into a master (exec.c runs the answer).  Pure: no I/O. */
typedef enum pgmm_choice_kind
{
	PGMM_CHOICE_NODE = 0,   /* exactly this master (its link is (re)connected at once) */
	PGMM_CHOICE_BALANCED,   /* node first when >= 0, then round-robin over the candidates:
	                           the owners of group coloc, or (coloc -1) every active master */
	PGMM_CHOICE_BROADCAST,  /* every owner of group coloc, owned-rows-only mode */
	PGMM_CHOICE_ERROR       /* the statement fails: sqlstate/message/detail/hint */
} pgmm_choice_kind;

typedef struct pgmm_choice
{
	pgmm_choice_kind kind;
	int         node;
	int         coloc;
	int         bind;         /* the open, unbound transaction binds to the chosen master */
	const char *down_what;    /* BALANCED: the message when no candidate is reachable */
	pgmm_decided err;         /* ERROR */
} pgmm_choice;

/* What the choice depends on besides the plan and its target. */
typedef struct pgmm_choice_ctx
{
	const pgmm_map *map;
	int         home;         /* node index of the home master */
	int         read_policy;  /* PGMM_READ_* */
	int         in_txn;       /* a transaction is open (and usable: not failed while unbound, not lost) */
	int         bound;        /* its master, -1 while unbound */
} pgmm_choice_ctx;

/* p is a READ or WRITE plan, t its target (pgmm_plan_target; not ERROR). */
void pgmm_choose(const pgmm_choice_ctx *x, const pgmm_plan *p, const pgmm_target *t, pgmm_choice *out);
/* The masters to try for choice ch, in order, into order (room for
 * map->nnodes + 1 entries): NODE: that one; BALANCED: node first, then the
 * candidates from round-robin position rr -- those usable now (usable[i]
 * non-zero: not recently failed) first, the others after.  *rr_of is set
 * parallel to order: the next round-robin position when that entry is
 * chosen (-1: it was not a round-robin pick).  Returns the count. */
int pgmm_choice_order(const pgmm_map *map, const pgmm_choice *ch, unsigned rr, const unsigned char *usable,
                      int *order, long *rr_of);

/* ------------------------------------------------------------ ids.c */

typedef struct pgmm_idpool
{
	int64_t *ids;
	int      n;
	int      cap;
} pgmm_idpool;

void pgmm_idpool_init(pgmm_idpool *p);
void pgmm_idpool_free(pgmm_idpool *p);
/* Append n IDs (a freshly reserved block); 0 / -1 OOM (nothing added). */
int pgmm_idpool_add(pgmm_idpool *p, const int64_t *ids, int n);
/* Take the oldest ID whose owner (for table t, key range checked) is node
 * want (-1: any owner, t may then be NULL).  0 and *id set; 1 none fits. */
int pgmm_idpool_take(pgmm_idpool *p, const pgmm_map *map, const pgmm_map_table *t, int want,
                     int64_t *id);
/* Keep at most max IDs (drop the oldest: gaps are harmless). */
void pgmm_idpool_trim(pgmm_idpool *p, int max);
/* The owner of an integer ID for table t; -1 when out of the key's range. */
int pgmm_id_owner(const pgmm_map *map, const pgmm_map_table *t, int64_t id);

/* ------------------------------------------------------------ result.c */

/* Register pgmm's event procedure on a new PGconn; 0 / -1. */
int pgmm_result_register(PGconn *pq);
/* Attach command status / tuples text to res (a result of a connection with
 * the event procedure, or made from one); 0 / -1. */
int pgmm_result_set_cmd(PGresult *res, const char *cmd_status, const char *cmd_tuples);
/* Attach a pgmm error (SQLSTATE, message) to a locally made result. */
int pgmm_result_set_error(PGresult *res, const char *sqlstate, const char *message);

/* ------------------------------------------------------------ link.c, for compat.c */

/* The home master's PGconn, connected when possible (else another one, else
 * whatever object exists); NULL when there is none. */
PGconn *pgmm_router_pq(PGMMconn *c);
/* Some existing PGconn of the cluster connection, without connecting. */
const PGconn *pgmm_router_pq_const(const PGMMconn *c);

#endif
