/*
 * sqlparse.h -- a small PostgreSQL-aware lexer and statement recogniser.
 *
 * Pure logic (no libpq).  It does not parse SQL fully: it finds what the
 * router needs -- the statement kind, the target table, the values that an
 * INSERT gives each column, the "column = value" terms AND-ed at the top of
 * a WHERE clause -- and says "unknown" for anything else.  The lexer knows
 * PostgreSQL's quoting: '' strings (with '' escapes), E'' strings (backslash
 * escapes), U&'' strings, B''/X'' bit strings, $tag$ dollar quoting, nested
 * C-style comments, -- comments, "quoted" identifiers (with "" escapes),
 * U&"" identifiers, $n parameters, :: casts.
 */
#ifndef PGMM_SQLPARSE_H
#define PGMM_SQLPARSE_H

#include <stddef.h>

typedef enum pgmm_stmt_kind
{
	PGMM_STMT_EMPTY = 0,     /* only blanks, comments and semicolons */
	PGMM_STMT_SELECT,        /* SELECT, VALUES, TABLE, SHOW, EXPLAIN (no ANALYZE) */
	PGMM_STMT_INSERT,
	PGMM_STMT_UPDATE,
	PGMM_STMT_DELETE,
	PGMM_STMT_BEGIN,         /* BEGIN, START TRANSACTION */
	PGMM_STMT_COMMIT,        /* COMMIT, END, COMMIT AND [NO] CHAIN (chain says which) */
	PGMM_STMT_ROLLBACK,      /* ROLLBACK, ABORT, ROLLBACK AND [NO] CHAIN (not ROLLBACK TO) */
	PGMM_STMT_TXN_OTHER,     /* SAVEPOINT, RELEASE, ROLLBACK TO, SET TRANSACTION, LOCK */
	PGMM_STMT_SESSION,       /* SET, RESET, DISCARD, PREPARE/DEALLOCATE (SQL level) */
	PGMM_STMT_DDL,           /* CREATE, ALTER, DROP, TRUNCATE, GRANT, REVOKE, COMMENT,
	                            SECURITY LABEL, REINDEX, CLUSTER, VACUUM, ANALYZE, REFRESH,
	                            IMPORT, PREPARE TRANSACTION, COMMIT/ROLLBACK PREPARED */
	PGMM_STMT_OTHER          /* anything else: WITH ..., COPY, CALL, DO, MERGE, LISTEN,
	                            EXPLAIN ANALYZE, unparseable text */
} pgmm_stmt_kind;

/* What a transaction-control, session or other statement is, in detail (so
 * that nobody re-reads the text). */
typedef enum pgmm_stmt_sub
{
	PGMM_SUB_NONE = 0,
	/* SESSION */
	PGMM_SUB_SET,            /* SET [SESSION] name ...: setting (to_default: TO/= DEFAULT) */
	PGMM_SUB_SET_LOCAL,      /* SET LOCAL name ...: setting */
	PGMM_SUB_RESET,          /* RESET name: setting */
	PGMM_SUB_RESET_ALL,      /* RESET ALL */
	PGMM_SUB_DISCARD,        /* DISCARD PLANS / SEQUENCES / TEMP */
	PGMM_SUB_DISCARD_ALL,    /* DISCARD ALL */
	PGMM_SUB_PREPARE,        /* SQL-level PREPARE name AS ... */
	PGMM_SUB_DEALLOCATE,     /* DEALLOCATE [PREPARE] name */
	PGMM_SUB_DEALLOCATE_ALL, /* DEALLOCATE [PREPARE] ALL */
	/* TXN_OTHER */
	PGMM_SUB_SAVEPOINT,
	PGMM_SUB_RELEASE,
	PGMM_SUB_ROLLBACK_TO,
	PGMM_SUB_SET_TRANSACTION,/* SET TRANSACTION / SET CONSTRAINTS */
	PGMM_SUB_LOCK,
	/* DDL: two-phase commit statements (they end or touch a transaction) */
	PGMM_SUB_PREPARE_TRANSACTION,
	PGMM_SUB_COMMIT_PREPARED,
	PGMM_SUB_ROLLBACK_PREPARED,
	/* OTHER */
	PGMM_SUB_COPY
} pgmm_stmt_sub;

typedef enum pgmm_val_kind
{
	PGMM_VAL_EXPR = 0,       /* anything pgmm does not evaluate (function call, arithmetic, subquery) */
	PGMM_VAL_STRING,         /* a string constant of any quoting; text = decoded content */
	PGMM_VAL_NUMBER,         /* a numeric constant, unary minus folded in: text = "-42", "1.5e3" */
	PGMM_VAL_PARAM,          /* $n; param = n (1-based) */
	PGMM_VAL_DEFAULT,        /* the keyword DEFAULT (INSERT VALUES only) */
	PGMM_VAL_NULL,           /* NULL */
	PGMM_VAL_BOOL            /* TRUE / FALSE: text = "true" / "false" */
} pgmm_val_kind;

typedef struct pgmm_value
{
	pgmm_val_kind kind;
	const char *text;        /* decoded constant, NUL-terminated (may contain no NUL); NULL unless STRING/NUMBER/BOOL */
	size_t      len;         /* bytes in text */
	int         param;       /* PARAM: n of $n */
	const char *cast;        /* lower-cased type after ::, CAST(x AS t), or a type-name prefix (int4 '5'); NULL if none */
} pgmm_value;

typedef struct pgmm_cond         /* one top-level  col = value  term of WHERE */
{
	const char *column;      /* folded to lower case unless quoted; qualifier (t.col) dropped */
	pgmm_value  value;
} pgmm_cond;

typedef struct pgmm_stmt
{
	pgmm_stmt_kind kind;
	int         nstatements;  /* statements in the text (>1: a multi-statement string; the
	                             fields below describe the FIRST one only) */
	size_t      first_end;    /* bytes from the start of the text to the end of the first
	                             statement, its ';' included (the text's length when it
	                             has no ';'): parse text + first_end for the next one */
	const char *schema;       /* target schema if qualified, else NULL */
	const char *table;        /* target table: INSERT INTO / UPDATE / DELETE FROM / the only
	                             table of a SELECT's FROM (NULL when several, a join, none) */
	/* INSERT */
	int         ncols;        /* -1 when no column list: values are in table column order */
	const char **cols;
	int         nrows;        /* rows of VALUES; 0 for DEFAULT VALUES; -1 for INSERT ... SELECT/query */
	int         nvals;        /* values per row (every row must have the same count, else kind OTHER) */
	pgmm_value *vals;         /* nrows * nvals, row-major */
	int         on_conflict;  /* ON CONFLICT present */
	/* UPDATE */
	int         nsets;
	const char **set_cols;    /* columns assigned by SET (also (a,b) = ... lists) */
	/* UPDATE / DELETE / SELECT */
	int         where_present;
	int         nconds;       /* top-level AND-ed equality terms (0 when WHERE has a top-level OR) */
	pgmm_cond  *conds;
	int         returning;    /* RETURNING present */
	int         locking;      /* SELECT ... FOR UPDATE/SHARE */
	int         max_param;    /* highest $n anywhere in the text (0 when none) */
	/* transaction control, session statements */
	pgmm_stmt_sub sub;        /* PGMM_SUB_NONE for everything else */
	int         chain;        /* COMMIT / ROLLBACK AND CHAIN */
	int         to_default;   /* SET name TO DEFAULT / = DEFAULT */
	const char *setting;      /* SET / SET LOCAL / RESET: the parameter's name, folded like an
	                             identifier ("quoted" or not) then lower-cased (the server
	                             compares them case-insensitively); dotted names kept
	                             ("myapp.x"); the special forms are given their parameter:
	                             TIME ZONE timezone, NAMES client_encoding, SCHEMA search_path,
	                             SESSION AUTHORIZATION session_authorization, ROLE role, XML
	                             OPTION xmloption, SESSION CHARACTERISTICS
	                             session_characteristics.  NULL otherwise (or unreadable) */
	const char *tag;          /* the command tag the server answers with ("SAVEPOINT",
	                             "RELEASE", "ROLLBACK", "SET", "LOCK TABLE", "BEGIN",
	                             "COMMIT", ...); a static string; "" when not known */
} pgmm_stmt;

/* Failures of pgmm_sql_parse (so that callers never read the message). */
#define PGMM_PARSE_ERROR  (-1)   /* bad arguments, or text the server would refuse too
                                    (unterminated quote or comment, over 1 GiB) */
#define PGMM_PARSE_ENOMEM (-2)   /* out of memory */

/*
 * Parse sql (len bytes; it need not be NUL-terminated).  On success returns 0
 * and a statement in ONE allocation (free it with pgmm_stmt_free; all
 * pointers point inside it) in *out.  Returns PGMM_PARSE_ENOMEM for out of
 * memory and PGMM_PARSE_ERROR for bad arguments or unterminated
 * quotes/comments (the server would refuse the text too), with a message in
 * err; text the recogniser does not understand is kind OTHER, not an error.
 *
 * Details a router may rely on (lib/sqlparse.c has the full list):
 *  - A NUL byte ends the text, as it does for libpq.  Texts over 1 GiB (the
 *    server's limit) are refused with -1.
 *  - The server is assumed to be PostgreSQL 16+ with UTF-8 encoding and
 *    standard_conforming_strings on; a constant whose meaning depends on the
 *    version (E'\v') is EXPR.
 *  - Kind INSERT / UPDATE / DELETE always comes with a table (three-part
 *    names, ragged VALUES, a SET list or INSERT shape not understood, and
 *    OVERRIDING USER VALUE make the statement OTHER).  SELECT ... INTO is
 *    DDL (it creates a table).  INSERT ... ON CONFLICT DO UPDATE also fills
 *    nsets/set_cols.
 *  - conds only holds terms whose value is a constant or parameter (never
 *    EXPR or DEFAULT) and whose column surely belongs to the target: a
 *    qualifier must be the table name (or its alias), and with UPDATE ...
 *    FROM / DELETE ... USING unqualified columns are left out.  A term in
 *    parentheses is unwrapped: WHERE (id = 1) gives id = 1.  A SELECT has
 *    conds only when table is set.
 *  - NUMBER text keeps the spelling (1.5e-3, .5) except that underscores
 *    are dropped (1_000 -> "1000") and 0x/0o/0b integers become decimal
 *    ("31"; EXPR beyond 64 bits).
 *  - cast is the type as written, lower-cased, single blanks, typmods
 *    without blanks, one "[]" for arrays, quoted names with their quotes:
 *    "int8", "pg_catalog.int8", "character varying(10)", "\"char\"".  Only
 *    one cast is understood ('5'::text::int8 is EXPR).  B'..'/X'..' are
 *    STRING with the bits as text and cast "bit"; N'..' has cast "bpchar".
 *  - max_param counts only parameter tokens $1..$65535 ($0, $70000 and
 *    $1abc are errors for the server and are not counted).
 *  - locking is set by FOR UPDATE/SHARE anywhere, subqueries included.
 */
int pgmm_sql_parse(const char *sql, size_t len, pgmm_stmt **out,
                   char *err, size_t errlen);
void pgmm_stmt_free(pgmm_stmt *st);

/*
 * Testing only: make the nth memory allocation made by pgmm_sql_parse from
 * now on (in this thread) fail, so tests can prove that every out-of-memory
 * path returns -1 cleanly; 0 switches it off.
 */
void pgmm_sqlparse_fail_alloc(int n);

#endif
