/*
 * sqlparse.h -- a small PostgreSQL-aware lexer and statement recogniser.
 *
 * Pure logic (no libpq).  It does not parse SQL fully: it finds what the
 * router needs -- the statement kind, the target table, the values that an
 * INSERT gives each column, the "column = value" terms AND-ed at the top of
 * a WHERE clause -- and says "unknown" for anything else.  The lexer knows
 * PostgreSQL's quoting: '' strings (with '' escapes), E'' strings (backslash
 * escapes), U&'' strings, B''/X'' bit strings, $tag$ dollar quoting, nested
 * /* comments *\/, -- comments, "quoted" identifiers (with "" escapes),
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
	PGMM_STMT_COMMIT,        /* COMMIT, END, COMMIT AND NO CHAIN */
	PGMM_STMT_ROLLBACK,      /* ROLLBACK, ABORT (not ROLLBACK TO) */
	PGMM_STMT_TXN_OTHER,     /* SAVEPOINT, RELEASE, ROLLBACK TO, SET TRANSACTION, LOCK */
	PGMM_STMT_SESSION,       /* SET, RESET, DISCARD, PREPARE/DEALLOCATE (SQL level) */
	PGMM_STMT_DDL,           /* CREATE, ALTER, DROP, TRUNCATE, GRANT, REVOKE, COMMENT,
	                            SECURITY LABEL, REINDEX, CLUSTER, VACUUM, ANALYZE, REFRESH,
	                            IMPORT, PREPARE TRANSACTION, COMMIT/ROLLBACK PREPARED */
	PGMM_STMT_OTHER          /* anything else: WITH ..., COPY, CALL, DO, MERGE, LISTEN,
	                            EXPLAIN ANALYZE, unparseable text */
} pgmm_stmt_kind;

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
} pgmm_stmt;

/*
 * Parse sql (len bytes; it need not be NUL-terminated).  On success returns a
 * statement in ONE allocation (free it with pgmm_stmt_free; all pointers
 * point inside it) and sets *out.  Returns -1 with a message in err only for
 * out of memory or unterminated quotes/comments (the server would refuse the
 * text too); text the recogniser does not understand is kind OTHER, not an
 * error.
 */
int pgmm_sql_parse(const char *sql, size_t len, pgmm_stmt **out,
                   char *err, size_t errlen);
void pgmm_stmt_free(pgmm_stmt *st);

#endif
