/*
 * pgmm_int.h -- internal declarations shared by the library's files.
 * Nothing here is part of the public interface.
 */
#ifndef PGMM_INT_H
#define PGMM_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "pgmm.h"

#if defined(__GNUC__)
#define PGMM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PGMM_PRINTF(f, a)
#endif

/* ------------------------------------------------------------ util.c */

/* A growable NUL-terminated string.  After an allocation failure the buffer
 * is "broken": len and further appends are ignored, pgmm_buf_ok() is 0. */
typedef struct pgmm_buf
{
	char   *data;
	size_t  len;
	size_t  cap;
	int     broken;
} pgmm_buf;

void pgmm_buf_init(pgmm_buf *b);
void pgmm_buf_reset(pgmm_buf *b);
void pgmm_buf_free(pgmm_buf *b);
int  pgmm_buf_ok(const pgmm_buf *b);
void pgmm_buf_append(pgmm_buf *b, const char *s);
void pgmm_buf_append_len(pgmm_buf *b, const char *s, size_t n);
void pgmm_buf_printf(pgmm_buf *b, const char *fmt, ...) PGMM_PRINTF(2, 3);
void pgmm_buf_vprintf(pgmm_buf *b, const char *fmt, va_list ap);
/* Append s as a SQL string literal / identifier (standard_conforming_strings). */
void pgmm_buf_literal(pgmm_buf *b, const char *s);
void pgmm_buf_ident(pgmm_buf *b, const char *s);
/* The data, or a fixed "out of memory" text when broken; never NULL. */
const char *pgmm_buf_str(const pgmm_buf *b);
/* Give away the data (malloc'd) and reset; NULL when broken. */
char *pgmm_buf_take(pgmm_buf *b);

/* strdup that accepts NULL. */
char *pgmm_strdup(const char *s);
/* Trailing newlines removed from a libpq message (in a static-free copy). */
void pgmm_buf_append_pqmsg(pgmm_buf *b, const char *msg);

/* Error CONTEXT without pgmm's own PL/pgSQL frames (pgmm.raise, pgmm.guard,
 * ... of lib/sql/: noise in an application's log).  pgmm_context_strip:
 * 1 and the remaining lines in *out (malloc'd, possibly "") when ctx had
 * such a frame, 0 (and *out NULL) when not, -1 when out of memory.
 * pgmm_errmsg_replace_context: an error message (PQresultErrorMessage)
 * with its context block ctx replaced by clean (NULL or "": the CONTEXT
 * line removed); malloc'd; NULL when ctx is not in msg or out of memory.
 * pgmm_buf_append_pqresult: append res's error message, cleaned so;
 * pgmm_buf_append_pqerror: the same, or conn's message when res is NULL. */
int   pgmm_context_strip(const char *ctx, char **out);
char *pgmm_errmsg_replace_context(const char *msg, const char *ctx, const char *clean);
void  pgmm_buf_append_pqresult(pgmm_buf *b, const PGresult *res);
void  pgmm_buf_append_pqerror(pgmm_buf *b, const PGresult *res, const PGconn *conn);

/* ------------------------------------------------------------ conninfo.c */

/* pgmm's own connection options, stripped before libpq sees the string. */
typedef struct pgmm_options
{
	int read_policy;      /* PGMM_READ_LOCAL / ANY / OWNER */
	int retries;          /* stale-map retries (default 1) */
	int id_block;         /* IDs reserved per round trip (default 100) */
	int plan_cache;       /* statement plans kept (default 1024) */
	int lazy;             /* open non-home connections lazily (default 1) */
	int reconnect_interval; /* ms a failed master is skipped by balanced choices (default 1000) */
	int twopc;            /* broadcast UPDATE/DELETE commit with two-phase commit (default 0) */
	int freeze_wait;      /* ms a write refused with PM006 (frozen table) is retried (default 5000) */
	int timeout;          /* ms one wait on one master may take, 0 none (default 10000) */
} pgmm_options;

enum { PGMM_READ_LOCAL = 0, PGMM_READ_ANY = 1, PGMM_READ_OWNER = 2 };

/* The one table of pgmm's conninfo options (as libpq's PQconninfoOptions):
 * parsing, defaults, error messages and docs/router.md all come from it. */
typedef enum pgmm_option_type
{
	PGMM_OPT_INT = 0,     /* an integer in [min, max] */
	PGMM_OPT_ENUM         /* one of choices; the value is its index */
} pgmm_option_type;

typedef struct pgmm_option_def
{
	const char       *name;      /* "pgmm_read" */
	pgmm_option_type  type;
	long              min, max;  /* INT */
	const char *const *choices;  /* ENUM: NULL-terminated */
	const char       *def;       /* the default, as it is written in a conninfo */
	size_t            offset;    /* of the int field in pgmm_options */
	const char       *meaning;   /* one line */
} pgmm_option_def;

/* Terminated by an entry with a NULL name. */
extern const pgmm_option_def pgmm_option_defs[];

/* Tokenise a keyword/value conninfo the way libpq does (key = value, values
 * bare or in single quotes with backslash escapes), calling fn for each
 * pair.  -1 with err on a syntax error or when fn fails. */
typedef int (*pgmm_kv_fn)(void *arg, const char *key, const char *val, pgmm_buf *err);
int pgmm_conninfo_scan(const char *conninfo, pgmm_kv_fn fn, void *arg, pgmm_buf *err);

/*
 * Split conninfo into libpq's part (a conninfo string, malloc'd, into
 * *libpq_part) and pgmm's options.  -1 with a message in err when the
 * string does not parse or an option is unknown/invalid.
 */
int pgmm_conninfo_split(const char *conninfo, char **libpq_part,
                        pgmm_options *opts, pgmm_buf *err);
/* conninfo without secrets (password, sslpassword, passfile values) and
 * without pgmm options; malloc'd; NULL with err set on parse failure. */
char *pgmm_conninfo_strip_secrets(const char *conninfo, pgmm_buf *err);
/* base conninfo (from the catalog) with the keys of overrides laid on top
 * (used to carry user/password of the -d string to the other masters).
 * Only keys listed in which[] (NULL-terminated) are taken from overrides. */
extern const char *const pgmm_conninfo_carry_keys[];   /* NULL-terminated */
char *pgmm_conninfo_merge(const char *base, const char *overrides,
                          const char *const *which, pgmm_buf *err);
/* Append " key='value'" (libpq quoting) to a conninfo being built. */
void pgmm_conninfo_append_kv(pgmm_buf *out, const char *key, const char *val);
/* Short human form "host=… port=… dbname=…" for messages; malloc'd. */
char *pgmm_conninfo_describe(const char *conninfo);

/* ------------------------------------------------------------ server-side SQL */

/* The files lib/sql/NAME.sql, made into one C string at build time by
 * lib/sql/gen-catalog-sql.sh (catalog_sql_gen.c); creates schema pgmm (run
 * it inside a transaction).  The SQL names the constants below (and the
 * SQLSTATEs of pgmm.h, the hash constants of pghash.h) as @NAME@: these
 * #defines are their only definition. */
extern const char pgmm_catalog_sql[];
#define PGMM_CATALOG_VERSION 2
#define PGMM_DEFAULT_STRIDE 10
#define PGMM_DEFAULT_SHARDS 16
#define PGMM_PUBLICATION "pgmm_pub"
/* Shard r of table T is the partition T<suffix>r ("expedientes_s5"). */
#define PGMM_SHARD_SUFFIX "_s"
/* A PM001's DETAIL is machine-readable: "owner=NAME epoch=N" (the guard
 * writes it, the router's parse_pm001 reads it). */
#define PGMM_PM001_DETAIL_OWNER "owner="
#define PGMM_PM001_DETAIL_EPOCH "epoch="

/* ------------------------------------------------------------ node set */

typedef struct pgmm_node
{
	char   *name;
	char   *conninfo;      /* what libpq gets (catalog conninfo + overrides) */
	int     slot;
	PGconn *conn;          /* NULL until opened */
	int     server_version;
} pgmm_node;

/* Run sql on conn expecting status want; on failure append
 * "master NAME: <what>: <server message>" to err and return NULL.
 * On success the caller owns the result. */
PGresult *pgmm_exec_check(PGconn *conn, const char *node, const char *sql,
                          ExecStatusType want, pgmm_buf *err);
/* As above for statements with no result worth keeping: 0 / -1. */
int pgmm_exec_cmd(PGconn *conn, const char *node, const char *sql, pgmm_buf *err);

#endif
