/*
 * sqlparse.c -- a small PostgreSQL-aware lexer and statement recogniser
 * (interface and field meanings in sqlparse.h).
 *
 * Two stages.  The lexer walks the whole text once and follows the rules of
 * PostgreSQL's scan.l (version 16) closely enough that token boundaries are
 * always the server's: that is what makes a routing decision trustworthy.
 * It splits statements the way psql does, counts them, records the highest
 * $n and keeps the tokens of the first statement as spans into the text (no
 * copies).  The recogniser then matches those tokens against a few
 * hand-written patterns; anything that does not match a pattern exactly is
 * reported as unknown (kind OTHER, no table, no condition, value EXPR),
 * because a wrong answer routes a row to the wrong master while "unknown"
 * only costs a broadcast.
 *
 * Values and names are decoded only when they are reported, straight into a
 * scratch pool; at the end everything is copied into one allocation.  The
 * scratch space lives on the stack for ordinary statements, so a typical
 * statement costs exactly one malloc.
 *
 * Choices the header leaves open (documented here once):
 *  - The server is assumed to run PostgreSQL 16 or later with
 *    standard_conforming_strings on and UTF-8 encoding.  Where the meaning
 *    of a constant differs between versions (E'\v') the value is EXPR.
 *  - Hexadecimal, octal and binary integers (0x1F, PG16) are given as plain
 *    decimal text ("31") when they fit in 64 bits, else EXPR; underscores
 *    (1_000, PG16) are dropped ("1000").  Other numbers keep their spelling.
 *  - A fully parenthesised term, WHERE (id = 1) or WHERE (a = 1 AND b = 2),
 *    is unwrapped (up to 16 levels of nested AND groups).
 *  - A condition is reported only when its value is a constant or
 *    parameter (never EXPR), and only when its column surely belongs to the
 *    target table: a qualifier must name the table (or its alias), and with
 *    UPDATE ... FROM / DELETE ... USING unqualified columns are not trusted.
 *  - cast is the type as written, lower-cased, words joined by one blank,
 *    typmods without blanks, arrays as one "[]": "int8", "pg_catalog.int8",
 *    "character varying(10)", "timestamp(3) with time zone", "int4[]".
 *    Quoted type names keep their double quotes ("\"char\"" is not char).
 *    At most one cast is understood: '5'::text::int8 is EXPR.
 *  - B'..' and X'..' are STRING with the bits as text ("00011111" for
 *    X'1F') and cast "bit"; N'..' is STRING with cast "bpchar"; any further
 *    cast of those makes them EXPR.
 *  - SELECT ... INTO (which creates a table) is DDL.
 *  - set_cols is also filled for INSERT ... ON CONFLICT DO UPDATE SET.
 *  - A NUL byte ends the text (libpq stops there too).
 */
#include "sqlparse.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAMEDATALEN		64		/* identifiers keep at most 63 bytes */
#define MAX_TEXT_LEN	((size_t) 0x3FFFFFFF)	/* the server's MaxAllocSize */
#define MAX_PARAM		65535	/* the protocol counts parameters in an int16 */
#define MAX_OP_SCAN		(NAMEDATALEN + 1)
#define MAX_WHERE_DEPTH	16
#define NONE32			UINT32_MAX
#define NONE			SIZE_MAX

/* ------------------------------------------------------------------ tokens */

enum tok_type
{
	T_IDENT = 1,		/* unquoted word (keywords included) */
	T_QIDENT,			/* "quoted" identifier */
	T_UIDENT,			/* U&"quoted" identifier */
	T_STRING,
	T_NUMBER,
	T_PARAM,
	T_OP,				/* operator, including one-character + - * / % ^ < > = */
	T_PUNCT,			/* ( ) [ ] , ; . :   (the character is in sub) */
	T_CAST,				/* :: */
	T_OTHER				/* := .. a lone $ and anything the server rejects */
};

enum str_sub
{
	S_PLAIN = 1, S_E, S_N, S_U, S_B, S_X, S_DOLLAR
};

enum num_sub
{
	N_DEC = 1, N_HEX, N_OCT, N_BIN
};

/* The server would reject the token, or its value depends on the version. */
#define F_BAD	1

typedef struct tok
{
	uint32_t	start;		/* byte span in the text */
	uint32_t	end;
	uint32_t	match;		/* ( and [: index of the partner, else NONE32 */
	uint8_t		type;
	uint8_t		sub;
	uint8_t		flags;
	uint8_t		esc;		/* U& escape character */
} tok;

/* ------------------------------------------------------------ scratch space */

/* A growable array that starts in caller-provided (stack) storage. */
typedef struct vec
{
	void	   *p;
	void	   *inl;
	size_t		n;
	size_t		cap;
	size_t		esz;
} vec;

/* A value while parsing: strings are pool offsets, not pointers, because the
 * pool moves when it grows. */
typedef struct sval
{
	int			kind;
	int			param;
	size_t		text;
	size_t		tlen;
	size_t		cast;
} sval;

typedef struct scond
{
	size_t		col;
	sval		v;
} scond;

typedef struct ctx
{
	const unsigned char *s;
	size_t		len;
	int			oom;

	/* lexer results */
	vec			toks;
	tok		   *t;
	uint32_t	nt;
	int			nstatements;
	size_t		first_end;
	int			max_param;

	/* recogniser results */
	pgmm_stmt_kind kind;
	size_t		schema;
	size_t		table;
	size_t		alias;
	int			has_from;		/* other relations are in scope (FROM / USING) */
	int			ncols;
	int			nrows;
	int			nvals;
	int			on_conflict;
	int			where_present;
	int			returning;
	int			locking;
	pgmm_stmt_sub sub;
	int			chain;
	int			to_default;
	size_t		setting;		/* pool offset or NONE */
	const char *tag;
	vec			cols;			/* size_t pool offsets */
	vec			sets;			/* size_t pool offsets */
	vec			vals;			/* sval */
	vec			conds;			/* scond */
	vec			pool;			/* char */

	tok			tok_inl[128];
	char		pool_inl[768];
	size_t		cols_inl[16];
	size_t		sets_inl[16];
	sval		vals_inl[32];
	scond		conds_inl[8];
} ctx;

/* Test hook: fail the Nth allocation from now (per thread). */
static _Thread_local long fail_alloc_countdown;

void
pgmm_sqlparse_fail_alloc(int n)
{
	fail_alloc_countdown = n > 0 ? n : 0;
}

static int
alloc_should_fail(void)
{
	if (fail_alloc_countdown > 0 && --fail_alloc_countdown == 0)
		return 1;
	return 0;
}

static void *
xmalloc(size_t n)
{
	return alloc_should_fail() ? NULL : malloc(n);
}

static void *
xrealloc(void *p, size_t n)
{
	return alloc_should_fail() ? NULL : realloc(p, n);
}

static void
vec_init(vec *v, void *inl, size_t cap, size_t esz)
{
	v->p = v->inl = inl;
	v->n = 0;
	v->cap = cap;
	v->esz = esz;
}

static void
vec_free(vec *v)
{
	if (v->p != v->inl)
		free(v->p);
}

/* Room for extra more elements; sets c->oom and returns -1 when there is none. */
static int
vec_reserve(ctx *c, vec *v, size_t extra)
{
	size_t		need;
	size_t		ncap;
	void	   *np;

	if (c->oom)
		return -1;
	if (extra <= v->cap - v->n)
		return 0;
	if (extra > SIZE_MAX / v->esz - v->n)
		goto oom;
	need = v->n + extra;
	ncap = v->cap;
	while (ncap < need)
		ncap = (ncap > SIZE_MAX / v->esz / 2) ? need : ncap * 2;
	if (v->p == v->inl)
	{
		np = xmalloc(ncap * v->esz);
		if (!np)
			goto oom;
		if (v->n)
			memcpy(np, v->p, v->n * v->esz);
	}
	else
	{
		np = xrealloc(v->p, ncap * v->esz);
		if (!np)
			goto oom;
	}
	v->p = np;
	v->cap = ncap;
	return 0;
oom:
	c->oom = 1;
	return -1;
}

static inline void *
vec_push(ctx *c, vec *v)
{
	if (v->n == v->cap && vec_reserve(c, v, 1) < 0)
		return NULL;
	return (char *) v->p + v->esz * v->n++;
}

static int
push_off(ctx *c, vec *v, size_t off)
{
	size_t	   *p = vec_push(c, v);

	if (!p)
		return -1;
	*p = off;
	return 0;
}

/* Space for n more bytes at the end of the pool (not yet counted in it). */
static char *
pool_reserve(ctx *c, size_t n)
{
	if (vec_reserve(c, &c->pool, n) < 0)
		return NULL;
	return (char *) c->pool.p + c->pool.n;
}

static const char *
pool_str(const ctx *c, size_t off)
{
	return (const char *) c->pool.p + off;
}

/* Append n bytes (no NUL). */
static void
pool_app(ctx *c, const char *src, size_t n)
{
	char	   *o = pool_reserve(c, n);

	if (!o)
		return;
	memcpy(o, src, n);
	c->pool.n += n;
}

static void
pool_apps(ctx *c, const char *src)
{
	pool_app(c, src, strlen(src));
}

/* Append a NUL-terminated copy; returns its offset (NONE on OOM). */
static size_t
pool_add(ctx *c, const char *src, size_t n)
{
	size_t		off = c->pool.n;
	char	   *o = pool_reserve(c, n + 1);

	if (!o)
		return NONE;
	memcpy(o, src, n);
	o[n] = '\0';
	c->pool.n += n + 1;
	return off;
}

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list		ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------ character classes */

static inline int
is_space(unsigned ch)
{
	return ch == ' ' || (ch >= '\t' && ch <= '\r');		/* \t \n \v \f \r */
}

static inline int
is_digit(unsigned ch)
{
	return ch - '0' < 10u;
}

static inline int
is_alpha(unsigned ch)
{
	return ((ch | 0x20) - 'a') < 26u;
}

/* PostgreSQL treats every byte >= 0x80 as a letter. */
static inline int
is_idstart(unsigned ch)
{
	return is_alpha(ch) || ch == '_' || ch >= 0x80;
}

static inline int
is_idcont(unsigned ch)
{
	return is_idstart(ch) || is_digit(ch) || ch == '$';
}

/* Dollar-quote tags are identifiers without '$'. */
static inline int
is_dolq_cont(unsigned ch)
{
	return is_idstart(ch) || is_digit(ch);
}

static inline int
hexval(unsigned ch)
{
	if (is_digit(ch))
		return (int) (ch - '0');
	ch |= 0x20;
	if (ch >= 'a' && ch <= 'f')
		return (int) (ch - 'a' + 10);
	return -1;
}

static inline int
is_opchar(unsigned ch)
{
	switch (ch)
	{
		case '~': case '!': case '@': case '#': case '^': case '&':
		case '|': case '`': case '?': case '+': case '-': case '*':
		case '/': case '%': case '<': case '>': case '=':
			return 1;
		default:
			return 0;
	}
}

/* Characters that let a multi-character operator end in + or -. */
static inline int
is_op_nonsql(unsigned ch)
{
	switch (ch)
	{
		case '~': case '!': case '@': case '#': case '^': case '&':
		case '|': case '`': case '?': case '%':
			return 1;
		default:
			return 0;
	}
}

/* ----------------------------------------------------------------- UTF-8 */

static size_t
utf8_put(uint32_t cp, char *o)
{
	if (cp < 0x80)
	{
		o[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		o[0] = (char) (0xC0 | (cp >> 6));
		o[1] = (char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		o[0] = (char) (0xE0 | (cp >> 12));
		o[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char) (0xF0 | (cp >> 18));
	o[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}

/* Strict UTF-8 (no overlongs, surrogates or NUL), as the server verifies a
 * literal whose escapes produced non-ASCII bytes. */
static int
utf8_valid(const unsigned char *p, size_t n)
{
	size_t		i = 0;

	while (i < n)
	{
		unsigned	c0 = p[i];
		uint32_t	cp;
		size_t		k,
					need;

		if (c0 == 0)
			return 0;
		if (c0 < 0x80)
		{
			i++;
			continue;
		}
		if (c0 >= 0xC2 && c0 <= 0xDF)
		{
			need = 1;
			cp = c0 & 0x1F;
		}
		else if (c0 >= 0xE0 && c0 <= 0xEF)
		{
			need = 2;
			cp = c0 & 0x0F;
		}
		else if (c0 >= 0xF0 && c0 <= 0xF4)
		{
			need = 3;
			cp = c0 & 0x07;
		}
		else
			return 0;
		if (n - i - 1 < need)
			return 0;
		for (k = 1; k <= need; k++)
		{
			if ((p[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
			cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += need + 1;
	}
	return 1;
}

static inline int
is_surrogate_first(uint32_t cp)
{
	return cp >= 0xD800 && cp <= 0xDBFF;
}

static inline int
is_surrogate_second(uint32_t cp)
{
	return cp >= 0xDC00 && cp <= 0xDFFF;
}

static inline uint32_t
surrogate_pair(uint32_t first, uint32_t second)
{
	return ((first & 0x3FF) << 10) + 0x10000 + (second & 0x3FF);
}

/* Reads n hex digits at p (bounded by len); -1 if they are not all there. */
static int64_t
hex_digits(const unsigned char *s, size_t len, size_t p, int n)
{
	int64_t		v = 0;
	int			k;

	if (p > len || len - p < (size_t) n)
		return -1;
	for (k = 0; k < n; k++)
	{
		int			h = hexval(s[p + k]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/*
 * Undo U& escapes in place (the escape character doubled, \XXXX, \+XXXXXX,
 * surrogate pairs), as the server does after the lexer has undoubled the
 * quotes.  Returns the new length, -1 when the server would refuse it.  The
 * output is never longer than the input.
 */
static long
udeescape(char *buf, size_t n, unsigned esc)
{
	const unsigned char *u = (const unsigned char *) buf;
	size_t		i = 0,
				w = 0;
	uint32_t	pair = 0;

	while (i < n)
	{
		int64_t		v;
		uint32_t	cp;

		if (u[i] != esc)
		{
			if (pair)
				return -1;
			buf[w++] = buf[i++];
			continue;
		}
		if (i + 1 < n && u[i + 1] == esc)
		{
			if (pair)
				return -1;
			buf[w++] = (char) esc;
			i += 2;
			continue;
		}
		if ((v = hex_digits(u, n, i + 1, 4)) >= 0)
			i += 5;
		else if (i + 1 < n && u[i + 1] == '+' && (v = hex_digits(u, n, i + 2, 6)) >= 0)
			i += 8;
		else
			return -1;
		cp = (uint32_t) v;
		if (cp == 0 || cp > 0x10FFFF)
			return -1;
		if (pair)
		{
			if (!is_surrogate_second(cp))
				return -1;
			cp = surrogate_pair(pair, cp);
			pair = 0;
		}
		else if (is_surrogate_second(cp))
			return -1;
		else if (is_surrogate_first(cp))
		{
			pair = cp;
			continue;
		}
		w += utf8_put(cp, buf + w);
	}
	if (pair)
		return -1;
	return (long) w;
}

/*
 * The longest prefix of at most 63 bytes that does not cut a character,
 * walking characters by their lead byte as the server's pg_mbcliplen does
 * (so even invalid UTF-8 is cut where the server cuts it).
 */
static size_t
clip_ident(const char *b, size_t n)
{
	size_t		w = 0;

	if (n < NAMEDATALEN)
		return n;
	for (;;)
	{
		unsigned	ch = (unsigned char) b[w];
		size_t		l = (ch & 0xE0) == 0xC0 ? 2 : (ch & 0xF0) == 0xE0 ? 3 :
			(ch & 0xF8) == 0xF0 ? 4 : 1;

		if (w + l > NAMEDATALEN - 1)
			return w;
		w += l;
	}
}

/* ------------------------------------------------------------------- lexer */

static void
lex_error(char *err, size_t errlen, const char *what, size_t at)
{
	set_err(err, errlen, "%s at offset %zu", what, at);
}

/*
 * Skip blanks and comments from p.  Returns the new position, or NONE when a
 * C-style comment is not closed (*at then holds its offset).
 */
static size_t
skip_ws(const ctx *c, size_t p, size_t *at)
{
	const unsigned char *s = c->s;
	size_t		len = c->len;

	while (p < len)
	{
		unsigned	ch = s[p];

		if (is_space(ch))
			p++;
		else if (ch == '-' && p + 1 < len && s[p + 1] == '-')
		{
			p += 2;
			while (p < len && s[p] != '\n' && s[p] != '\r')
				p++;
		}
		else if (ch == '/' && p + 1 < len && s[p + 1] == '*')
		{
			size_t		start = p;
			long		depth = 0;

			p += 2;
			for (;;)
			{
				if (p + 1 >= len)
				{
					if (at)
						*at = start;
					return NONE;
				}
				if (s[p] == '*' && s[p + 1] == '/')
				{
					p += 2;
					if (depth-- == 0)
						break;
				}
				else if (s[p] == '/' && s[p + 1] == '*')
				{
					p += 2;
					depth++;
				}
				else
					p++;
			}
		}
		else
			break;
	}
	return p;
}

/*
 * After a closing quote, at p: is there a continuation of the string, i.e.
 * blanks and -- comments with at least one newline, then another quote?
 * ('a'\n'b' is 'ab'; C-style comments do not count.)  Returns the position of the
 * quote that continues the string, or NONE.
 */
static size_t
quote_continue(const ctx *c, size_t p)
{
	const unsigned char *s = c->s;
	size_t		len = c->len;

	for (;;)
	{
		if (p < len && (s[p] == ' ' || s[p] == '\t' || s[p] == '\f' || s[p] == '\v'))
			p++;
		else if (p + 1 < len && s[p] == '-' && s[p + 1] == '-')
		{
			p += 2;
			while (p < len && s[p] != '\n' && s[p] != '\r')
				p++;
		}
		else
			break;
	}
	if (p >= len || (s[p] != '\n' && s[p] != '\r'))
		return NONE;
	p++;
	for (;;)
	{
		if (p < len && is_space(s[p]))
			p++;
		else if (p + 1 < len && s[p] == '-' && s[p + 1] == '-')
		{
			p += 2;
			while (p < len && s[p] != '\n' && s[p] != '\r')
				p++;
			if (p >= len)
				return NONE;
			p++;
		}
		else
			break;
	}
	return (p < len && s[p] == '\'') ? p : NONE;
}

/*
 * A '...' string of any flavour with its opening quote at p.  Returns the
 * position after the final closing quote (following continuations), NONE
 * when it is not closed.
 */
static size_t
scan_squote(const ctx *c, size_t p, int sub, int *cont)
{
	const unsigned char *s = c->s;
	size_t		len = c->len;

	p++;
	for (;;)
	{
		size_t		nq;

		for (;;)
		{
			if (sub == S_E)
			{
				while (p < len && s[p] != '\'' && s[p] != '\\')
					p++;
				if (p >= len)
					return NONE;
				if (s[p] == '\\')
				{
					p += 2;		/* whatever follows is escaped, a quote too */
					continue;
				}
			}
			else
			{
				const unsigned char *q = p < len ? memchr(s + p, '\'', len - p) : NULL;

				if (!q)
					return NONE;
				p = (size_t) (q - s);
			}
			/* bit strings take '' as the end and a new string */
			if (sub != S_B && sub != S_X && p + 1 < len && s[p + 1] == '\'')
			{
				p += 2;
				continue;
			}
			break;
		}
		nq = quote_continue(c, p + 1);
		if (nq == NONE)
			return p + 1;
		*cont = 1;
		p = nq + 1;
	}
}

/* A "..." identifier with its opening quote at p; NONE when not closed. */
static size_t
scan_dquote(const ctx *c, size_t p)
{
	const unsigned char *s = c->s;
	size_t		len = c->len;

	p++;
	for (;;)
	{
		const unsigned char *q = p < len ? memchr(s + p, '"', len - p) : NULL;

		if (!q)
			return NONE;
		p = (size_t) (q - s);
		if (p + 1 < len && s[p + 1] == '"')
		{
			p += 2;
			continue;
		}
		return p + 1;
	}
}

static int
ci_eq(const unsigned char *p, const char *word, size_t n)
{
	size_t		k;

	for (k = 0; k < n; k++)
	{
		unsigned	ch = p[k];

		if (ch - 'A' < 26u)
			ch += 32;
		if (ch != (unsigned char) word[k])
			return 0;
	}
	return 1;
}

/*
 * After a U& string or identifier: an optional UESCAPE 'c' clause, which
 * the server reads as part of it.  A valid clause is absorbed into the token
 * (esc set); a malformed one marks the token bad.
 */
static void
uescape_lookahead(const ctx *c, tok *t)
{
	const unsigned char *s = c->s;
	size_t		len = c->len;
	size_t		q,
				r,
				e;
	int			cont = 0;
	unsigned	esc;

	q = skip_ws(c, t->end, NULL);
	if (q == NONE || len - q < 7 || !ci_eq(s + q, "uescape", 7) ||
		(q + 7 < len && is_idcont(s[q + 7])))
		return;
	/* t->end covers the word UESCAPE from here on */
	r = skip_ws(c, q + 7, NULL);
	if (r == NONE || r >= len || s[r] != '\'')
	{
		t->flags |= F_BAD;
		t->end = (uint32_t) (q + 7);
		return;
	}
	e = scan_squote(c, r, S_PLAIN, &cont);
	if (e == NONE)
	{
		/* leave the unterminated string to the main loop's error */
		t->flags |= F_BAD;
		t->end = (uint32_t) (q + 7);
		return;
	}
	t->end = (uint32_t) e;
	if (cont || e != r + 3)
	{
		t->flags |= F_BAD;		/* not exactly one byte */
		return;
	}
	esc = s[r + 1];
	if (hexval(esc) >= 0 || esc == '+' || esc == '\'' || esc == '"' || is_space(esc))
	{
		t->flags |= F_BAD;
		return;
	}
	t->esc = (uint8_t) esc;
}

/* decinteger: digits with single underscores between them (PG16). */
static size_t
scan_decint(const ctx *c, size_t q)
{
	const unsigned char *s = c->s;
	size_t		len = c->len;

	while (q < len)
	{
		if (is_digit(s[q]))
			q++;
		else if (s[q] == '_' && q + 1 < len && is_digit(s[q + 1]))
			q++;
		else
			break;
	}
	return q;
}

static int
digit_in_base(unsigned ch, int base)
{
	if (base == 16)
		return hexval(ch) >= 0;
	if (base == 8)
		return ch >= '0' && ch <= '7';
	return ch == '0' || ch == '1';
}

static void
lex_number(const ctx *c, size_t p, tok *t)
{
	const unsigned char *s = c->s;
	size_t		len = c->len;
	size_t		q = p;

	t->type = T_NUMBER;
	t->sub = N_DEC;
	if (s[p] == '0' && p + 1 < len &&
		((s[p + 1] | 0x20) == 'x' || (s[p + 1] | 0x20) == 'o' || (s[p + 1] | 0x20) == 'b'))
	{
		unsigned	k = s[p + 1] | 0x20;
		int			base = k == 'x' ? 16 : k == 'o' ? 8 : 2;
		size_t		nd = 0;

		t->sub = base == 16 ? N_HEX : base == 8 ? N_OCT : N_BIN;
		q = p + 2;
		for (;;)
		{
			if (q + 1 < len && s[q] == '_' && digit_in_base(s[q + 1], base))
				q++;
			if (q < len && digit_in_base(s[q], base))
			{
				q++;
				nd++;
			}
			else
				break;
		}
		if (nd == 0)
			t->flags |= F_BAD;	/* "invalid hexadecimal integer" */
	}
	else
	{
		if (is_digit(s[q]))
			q = scan_decint(c, q);
		/* 1..10 is 1, .., 10 */
		if (q < len && s[q] == '.' && !(q + 1 < len && s[q + 1] == '.'))
		{
			q++;
			if (q < len && is_digit(s[q]))
				q = scan_decint(c, q);
		}
		if (q < len && (s[q] == 'e' || s[q] == 'E'))
		{
			size_t		r = q + 1;

			if (r < len && (s[r] == '+' || s[r] == '-'))
				r++;
			if (r < len && is_digit(s[r]))
				q = scan_decint(c, r);
			else
			{
				t->flags |= F_BAD;	/* "trailing junk after numeric literal" */
				q = r;
			}
		}
	}
	/* 123abc is an error since PostgreSQL 15 (it used to mean 123 AS abc) */
	if (q < len && is_idstart(s[q]))
	{
		t->flags |= F_BAD;
		while (q < len && is_idcont(s[q]))
			q++;
	}
	t->end = (uint32_t) q;
}

/* Length of the operator starting at p, following scan.l's rules. */
static size_t
lex_op(const ctx *c, size_t p)
{
	const unsigned char *s = c->s;
	size_t		len = c->len;
	size_t		q = p,
				n,
				k;

	/*
	 * Longer runs are "operator too long" errors for the server; bounding the
	 * scan keeps runs like <+++...+ from costing quadratic time, and yields
	 * the server's split whenever the server accepts the text.
	 */
	while (q < len && q - p < MAX_OP_SCAN && is_opchar(s[q]))
		q++;
	n = q - p;
	/*
	 * A comment start inside the run ends the operator.  The pair may
	 * straddle the end of a bounded scan: look one byte further, or the
	 * comment would be read as code.
	 */
	for (k = p + 1; k < q && k + 1 < len; k++)
	{
		if ((s[k] == '/' && s[k + 1] == '*') || (s[k] == '-' && s[k + 1] == '-'))
		{
			n = k - p;
			break;
		}
	}
	/* '=-' is '=' then '-': trailing + and - only stay with unusual chars */
	if (n > 1 && (s[p + n - 1] == '+' || s[p + n - 1] == '-'))
	{
		int			keep = 0;

		for (k = 0; k + 1 < n; k++)
		{
			if (is_op_nonsql(s[p + k]))
			{
				keep = 1;
				break;
			}
		}
		if (!keep)
		{
			while (n > 1 && (s[p + n - 1] == '+' || s[p + n - 1] == '-'))
				n--;
		}
	}
	return p + n;
}

/*
 * One token starting at p (not a blank or comment).  Returns 0, or -1 with
 * the error set for an unterminated quote.
 */
static int
lex_one(ctx *c, size_t p, tok *t, char *err, size_t errlen)
{
	const unsigned char *s = c->s;
	size_t		len = c->len;
	unsigned	ch = s[p];
	unsigned	c1 = p + 1 < len ? s[p + 1] : 0;
	size_t		q;
	int			cont = 0;
	int			sub = 0;

	t->start = (uint32_t) p;
	t->match = NONE32;
	t->sub = 0;
	t->flags = 0;
	t->esc = 0;

	if (ch == '\'')
	{
		sub = S_PLAIN;
		q = p;
		goto squote;
	}
	if (ch == '"')
	{
		q = scan_dquote(c, p);
		if (q == NONE)
		{
			lex_error(err, errlen, "unterminated quoted identifier", p);
			return -1;
		}
		t->type = T_QIDENT;
		t->end = (uint32_t) q;
		return 0;
	}
	if (ch == '$')
	{
		if (is_digit(c1))
		{
			/* $n: the value is checked here so max_param covers every statement */
			long		n = 0;

			q = p + 1;
			while (q < len && is_digit(s[q]))
			{
				if (n <= MAX_PARAM)
					n = n * 10 + (s[q] - '0');
				q++;
			}
			t->type = T_PARAM;
			if (q < len && is_idstart(s[q]))
			{
				t->flags |= F_BAD;	/* "trailing junk after parameter" */
				while (q < len && is_idcont(s[q]))
					q++;
			}
			if (n < 1 || n > MAX_PARAM)
				t->flags |= F_BAD;
			else if (!(t->flags & F_BAD) && n > c->max_param)
				c->max_param = (int) n;
			t->end = (uint32_t) q;
			return 0;
		}
		if (c1 == '$' || is_idstart(c1))
		{
			q = p + 1;
			while (q < len && is_dolq_cont(s[q]))
				q++;
			if (q < len && s[q] == '$')
			{
				size_t		dl = q - p + 1;		/* delimiter length, both $ included */
				size_t		x = q + 1;

				for (;;)
				{
					const unsigned char *d = x < len ? memchr(s + x, '$', len - x) : NULL;

					if (!d)
					{
						lex_error(err, errlen, "unterminated dollar-quoted string", p);
						return -1;
					}
					x = (size_t) (d - s);
					if (len - x >= dl && memcmp(s + x, s + p, dl) == 0)
						break;
					x++;
				}
				t->type = T_STRING;
				t->sub = S_DOLLAR;
				t->end = (uint32_t) (x + dl);
				return 0;
			}
		}
		t->type = T_OTHER;		/* a lone $ */
		t->end = (uint32_t) (p + 1);
		return 0;
	}
	if (is_digit(ch) || (ch == '.' && is_digit(c1)))
	{
		lex_number(c, p, t);
		return 0;
	}
	if (is_idstart(ch))
	{
		if (c1 == '\'')
		{
			switch (ch | 0x20)
			{
				case 'b': sub = S_B; break;
				case 'x': sub = S_X; break;
				case 'e': sub = S_E; break;
				case 'n': sub = S_N; break;
				default: break;
			}
			if (sub)
			{
				q = p + 1;
				goto squote;
			}
		}
		if ((ch | 0x20) == 'u' && c1 == '&' && p + 2 < len)
		{
			if (s[p + 2] == '\'')
			{
				sub = S_U;
				q = p + 2;
				goto squote;
			}
			if (s[p + 2] == '"')
			{
				q = scan_dquote(c, p + 2);
				if (q == NONE)
				{
					lex_error(err, errlen, "unterminated quoted identifier", p);
					return -1;
				}
				t->type = T_UIDENT;
				t->esc = '\\';
				t->end = (uint32_t) q;
				uescape_lookahead(c, t);
				return 0;
			}
		}
		q = p + 1;
		while (q < len && is_idcont(s[q]))
			q++;
		t->type = T_IDENT;
		t->end = (uint32_t) q;
		return 0;
	}
	if (is_opchar(ch))
	{
		t->type = T_OP;
		t->end = (uint32_t) lex_op(c, p);
		return 0;
	}
	t->end = (uint32_t) (p + 1);
	switch (ch)
	{
		case '(': case ')': case '[': case ']': case ',': case ';':
			t->type = T_PUNCT;
			t->sub = (uint8_t) ch;
			break;
		case '.':
			if (c1 == '.')
			{
				t->type = T_OTHER;
				t->end = (uint32_t) (p + 2);
			}
			else
			{
				t->type = T_PUNCT;
				t->sub = '.';
			}
			break;
		case ':':
			if (c1 == ':')
			{
				t->type = T_CAST;
				t->end = (uint32_t) (p + 2);
			}
			else if (c1 == '=')
			{
				t->type = T_OTHER;
				t->end = (uint32_t) (p + 2);
			}
			else
			{
				t->type = T_PUNCT;
				t->sub = ':';
			}
			break;
		default:
			t->type = T_OTHER;
			break;
	}
	return 0;

squote:
	{
		size_t		e = scan_squote(c, q, sub, &cont);

		if (e == NONE)
		{
			lex_error(err, errlen,
					  sub == S_B ? "unterminated bit string literal" :
					  sub == S_X ? "unterminated hexadecimal string literal" :
					  "unterminated quoted string", p);
			return -1;
		}
		t->type = T_STRING;
		t->sub = (uint8_t) sub;
		t->end = (uint32_t) e;
		if (sub == S_U)
		{
			t->esc = '\\';
			uescape_lookahead(c, t);
		}
		return 0;
	}
}

/*
 * Is t the unquoted word kw (given in lower case, n bytes)?  Keywords are
 * compared a lot; the length check first makes most comparisons free, and
 * the macros take the length of a literal at compile time.
 */
static inline int
word_is(const ctx *c, const tok *t, const char *kw, size_t n)
{
	return t->type == T_IDENT && t->end - t->start == n && ci_eq(c->s + t->start, kw, n);
}

#define tok_word_is(c, t, kw)	word_is((c), (t), "" kw, sizeof(kw) - 1)

/*
 * Lex the whole text: count statements, find the highest parameter and keep
 * the tokens of the first non-empty statement.  Statements end at ';'
 * outside parentheses, and not inside the BEGIN ... END body of CREATE
 * FUNCTION / PROCEDURE (psql's rule, which matches how the server reads
 * BEGIN ATOMIC bodies).
 */
static int
lex_all(ctx *c, char *err, size_t errlen)
{
	size_t		p = 0;
	size_t		at = 0;
	int			storing = 1;
	long		ntok = 0;			/* tokens in the current statement */
	long		depth = 0;
	long		begin_depth = 0;
	long		idcount = 0;
	char		ids[4] = {0, 0, 0, 0};

	for (;;)
	{
		tok			t;

		p = skip_ws(c, p, &at);
		if (p == NONE)
		{
			lex_error(err, errlen, "unterminated /* comment", at);
			return -1;
		}
		if (p >= c->len)
			break;
		if (lex_one(c, p, &t, err, errlen) < 0)
			return -1;
		p = t.end;

		if (t.type == T_PUNCT && t.sub == ';' && depth == 0 && begin_depth == 0)
		{
			if (ntok > 0)
			{
				if (storing)
					c->first_end = t.end;
				c->nstatements++;
				storing = 0;
			}
			ntok = depth = begin_depth = idcount = 0;
			memset(ids, 0, sizeof ids);
			continue;
		}
		ntok++;
		if (t.type == T_PUNCT && t.sub == '(')
			depth++;
		else if (t.type == T_PUNCT && t.sub == ')' && depth > 0)
			depth--;
		else if (t.type == T_IDENT)
		{
			if (idcount < 4)
			{
				if (tok_word_is(c, &t, "create") || tok_word_is(c, &t, "function") ||
					tok_word_is(c, &t, "procedure") || tok_word_is(c, &t, "or") ||
					tok_word_is(c, &t, "replace"))
					ids[idcount] = (char) (c->s[t.start] | 0x20);
			}
			idcount++;
			if (ids[0] == 'c' &&
				(ids[1] == 'f' || ids[1] == 'p' ||
				 (ids[1] == 'o' && ids[2] == 'r' && (ids[3] == 'f' || ids[3] == 'p'))) &&
				depth == 0)
			{
				if (tok_word_is(c, &t, "begin"))
					begin_depth++;
				else if (tok_word_is(c, &t, "case") && begin_depth >= 1)
					begin_depth++;
				else if (tok_word_is(c, &t, "end") && begin_depth > 0)
					begin_depth--;
			}
		}
		if (storing)
		{
			tok		   *slot = vec_push(c, &c->toks);

			if (!slot)
			{
				set_err(err, errlen, "out of memory");
				return -1;
			}
			*slot = t;
		}
	}
	if (ntok > 0)
		c->nstatements++;
	c->t = c->toks.p;
	c->nt = (uint32_t) c->toks.n;
	return 0;
}

/*
 * Pair ( with ) and [ with ] in the first statement.  A closer that does not
 * fit the innermost opener stays unpaired, so a pair never straddles another
 * pair and the recogniser can jump from an opener to its partner.  The
 * stack is threaded through the match fields: no recursion, no extra memory.
 */
static void
match_groups(ctx *c)
{
	uint32_t	top = NONE32;
	uint32_t	i;

	for (i = 0; i < c->nt; i++)
	{
		tok		   *t = &c->t[i];

		t->match = NONE32;
		if (t->type != T_PUNCT)
			continue;
		if (t->sub == '(' || t->sub == '[')
		{
			t->match = top;
			top = i;
		}
		else if ((t->sub == ')' || t->sub == ']') && top != NONE32 &&
				 c->t[top].sub == (t->sub == ')' ? '(' : '['))
		{
			uint32_t	prev = c->t[top].match;

			c->t[top].match = i;
			t->match = top;
			top = prev;
		}
	}
	while (top != NONE32)
	{
		uint32_t	prev = c->t[top].match;

		c->t[top].match = NONE32;
		top = prev;
	}
}

/* ---------------------------------------------------------- token helpers */

static inline int
tk_punct(const ctx *c, uint32_t i, uint32_t b, char ch)
{
	return i < b && c->t[i].type == T_PUNCT && c->t[i].sub == (uint8_t) ch;
}

/* An operator token spelled exactly op. */
static int
tk_op(const ctx *c, uint32_t i, uint32_t b, const char *op)
{
	size_t		n;

	if (i >= b || c->t[i].type != T_OP)
		return 0;
	n = c->t[i].end - c->t[i].start;
	return strlen(op) == n && memcmp(c->s + c->t[i].start, op, n) == 0;
}

/* Token i (below b) is the unquoted word kw (lower case), ignoring case. */
static inline int
tk_kw_n(const ctx *c, uint32_t i, uint32_t b, const char *kw, size_t n)
{
	return i < b && word_is(c, &c->t[i], kw, n);
}

#define tk_kw(c, i, b, kw)	tk_kw_n((c), (i), (b), "" kw, sizeof(kw) - 1)

/* Index after the token at i, jumping over a whole (...) or [...] group. */
static inline uint32_t
skip1(const ctx *c, uint32_t i, uint32_t b)
{
	const tok  *t = &c->t[i];

	if (t->type == T_PUNCT && (t->sub == '(' || t->sub == '[') &&
		t->match != NONE32 && t->match < b)
		return t->match + 1;
	return i + 1;
}

/* Reserved and type/function-name keywords: never a table or column name
 * when unquoted.  Sorted for bsearch. */
static const char *const non_colid_words[] = {
	"all", "analyse", "analyze", "and", "any", "array",
	"as", "asc", "asymmetric", "authorization", "binary", "both",
	"case", "cast", "check", "collate", "collation", "column",
	"concurrently", "constraint", "create", "cross", "current_catalog", "current_date",
	"current_role", "current_schema", "current_time", "current_timestamp", "current_user", "default",
	"deferrable", "desc", "distinct", "do", "else", "end",
	"except", "false", "fetch", "for", "foreign", "freeze",
	"from", "full", "grant", "group", "having", "ilike",
	"in", "initially", "inner", "intersect", "into", "is",
	"isnull", "join", "lateral", "leading", "left", "like",
	"limit", "localtime", "localtimestamp", "natural", "not", "notnull",
	"null", "offset", "on", "only", "or", "order",
	"outer", "overlaps", "placing", "primary", "references", "returning",
	"right", "select", "session_user", "similar", "some", "symmetric",
	"system_user", "table", "tablesample", "then", "to", "trailing",
	"true", "union", "unique", "user", "using", "variadic",
	"verbose", "when", "where", "window", "with",
};

static int
cmp_word(const void *a, const void *b)
{
	return strcmp((const char *) a, *(const char *const *) b);
}

static int
is_non_colid(const ctx *c, uint32_t i)
{
	const tok  *t = &c->t[i];
	size_t		n = t->end - t->start,
				k;
	char		buf[20];

	if (t->type != T_IDENT || n >= sizeof buf)
		return 0;
	for (k = 0; k < n; k++)
	{
		unsigned	ch = c->s[t->start + k];

		buf[k] = (char) (ch - 'A' < 26u ? ch + 32 : ch);
	}
	buf[n] = '\0';
	return bsearch(buf, non_colid_words, sizeof non_colid_words / sizeof non_colid_words[0],
				   sizeof non_colid_words[0], cmp_word) != NULL;
}

/* Any identifier token (after a dot, even reserved words are names). */
static inline int
is_name(const ctx *c, uint32_t i, uint32_t b)
{
	return i < b && (c->t[i].type == T_IDENT || c->t[i].type == T_QIDENT ||
					 c->t[i].type == T_UIDENT);
}

/* An identifier usable as a table, alias or column name on its own. */
static int
is_colid(const ctx *c, uint32_t i, uint32_t b)
{
	if (i >= b)
		return 0;
	if (c->t[i].type == T_QIDENT || c->t[i].type == T_UIDENT)
		return 1;
	return c->t[i].type == T_IDENT && !is_non_colid(c, i);
}

/* ------------------------------------------------------------ decoding */

/*
 * Append the name at token i to the pool (folded to lower case unless
 * quoted, U& escapes undone, clipped to 63 bytes), NUL-terminated when nul.
 * Returns its offset, NONE if it is invalid (empty, bad escape) or on OOM.
 */
static size_t
pool_name(ctx *c, uint32_t i, int nul)
{
	const tok  *t = &c->t[i];
	const unsigned char *s = c->s;
	size_t		off = c->pool.n;
	size_t		n = t->end - t->start,
				w = 0,
				p,
				k;
	char	   *o = pool_reserve(c, n + 1);

	if (!o)
		return NONE;
	switch (t->type)
	{
		case T_IDENT:
			/* ASCII-only folding, as the server does for UTF-8 */
			for (k = 0; k < n; k++)
			{
				unsigned	ch = s[t->start + k];

				o[w++] = (char) (ch - 'A' < 26u ? ch + 32 : ch);
			}
			break;
		case T_QIDENT:
		case T_UIDENT:
			if (t->flags & F_BAD)
				return NONE;
			p = t->start + (t->type == T_UIDENT ? 3 : 1);
			for (;;)
			{
				if (p >= t->end)
					return NONE;
				if (s[p] == '"')
				{
					if (p + 1 < t->end && s[p + 1] == '"')
					{
						o[w++] = '"';
						p += 2;
						continue;
					}
					break;
				}
				o[w++] = (char) s[p++];
			}
			if (t->type == T_UIDENT)
			{
				long		r = udeescape(o, w, t->esc);

				if (r < 0)
					return NONE;
				w = (size_t) r;
			}
			if (w == 0)
				return NONE;	/* "zero-length delimited identifier" */
			break;
		default:
			return NONE;
	}
	w = clip_ident(o, w);
	if (nul)
		o[w++] = '\0';
	c->pool.n += w;
	return off;
}

static int
pool_eq(const ctx *c, size_t a, size_t b)
{
	return a != NONE && b != NONE && strcmp(pool_str(c, a), pool_str(c, b)) == 0;
}

/*
 * One backslash escape of an E'' string, at *pp.  Appends the bytes to o.
 * Returns -1 for escapes the server refuses (or reads differently by
 * version).
 */
static int
e_escape(const ctx *c, size_t *pp, char *o, size_t *pw, int *saw_hi)
{
	const unsigned char *s = c->s;
	size_t		len = c->len;
	size_t		p = *pp;
	unsigned	ch;

	if (p + 1 >= len)
		return -1;
	ch = s[p + 1];
	switch (ch)
	{
		case 'b': o[(*pw)++] = '\b'; p += 2; break;
		case 'f': o[(*pw)++] = '\f'; p += 2; break;
		case 'n': o[(*pw)++] = '\n'; p += 2; break;
		case 'r': o[(*pw)++] = '\r'; p += 2; break;
		case 't': o[(*pw)++] = '\t'; p += 2; break;
		case 'v':
			/* a vertical tab since PostgreSQL 16, the letter v before */
			return -1;
		case '0': case '1': case '2': case '3':
		case '4': case '5': case '6': case '7':
			{
				unsigned	v = 0;
				size_t		k = p + 1;

				while (k < p + 4 && k < len && s[k] >= '0' && s[k] <= '7')
					v = v * 8 + (s[k++] - '0');
				v &= 0xFF;
				if (v == 0 || v >= 0x80)
					*saw_hi = 1;
				o[(*pw)++] = (char) v;
				p = k;
				break;
			}
		case 'x':
			if (p + 2 < len && hexval(s[p + 2]) >= 0)
			{
				unsigned	v = (unsigned) hexval(s[p + 2]);
				size_t		k = p + 3;

				if (k < len && hexval(s[k]) >= 0)
					v = v * 16 + (unsigned) hexval(s[k++]);
				if (v == 0 || v >= 0x80)
					*saw_hi = 1;
				o[(*pw)++] = (char) v;
				p = k;
			}
			else
			{
				o[(*pw)++] = 'x';
				p += 2;
			}
			break;
		case 'u':
		case 'U':
			{
				int			nd = ch == 'u' ? 4 : 8;
				int64_t		v = hex_digits(s, len, p + 2, nd);
				uint32_t	cp;

				if (v < 0)
					return -1;
				cp = (uint32_t) v;
				p += 2 + (size_t) nd;
				if (is_surrogate_first(cp))
				{
					int64_t		v2 = -1;

					if (p + 1 < len && s[p] == '\\' && s[p + 1] == 'u')
					{
						v2 = hex_digits(s, len, p + 2, 4);
						p += 6;
					}
					else if (p + 1 < len && s[p] == '\\' && s[p + 1] == 'U')
					{
						v2 = hex_digits(s, len, p + 2, 8);
						p += 10;
					}
					if (v2 < 0 || !is_surrogate_second((uint32_t) v2))
						return -1;
					cp = surrogate_pair(cp, (uint32_t) v2);
				}
				else if (is_surrogate_second(cp))
					return -1;
				if (cp == 0 || cp > 0x10FFFF)
					return -1;
				*pw += utf8_put(cp, o + *pw);
				break;
			}
		default:
			if (ch >= 0x80)
				*saw_hi = 1;
			o[(*pw)++] = (char) ch;
			p += 2;
			break;
	}
	*pp = p;
	return 0;
}

/*
 * Decode the string token t into the pool (NUL-terminated).  Returns 0, or
 * -1 when the server would refuse the constant (or OOM, with c->oom set).
 */
static int
decode_string(ctx *c, const tok *t, size_t *off, size_t *olen)
{
	const unsigned char *s = c->s;
	size_t		n = t->end - t->start;
	size_t		p,
				w = 0;
	int			saw_hi = 0;
	char	   *o;

	if (t->flags & F_BAD)
		return -1;
	if (t->sub == S_DOLLAR)
	{
		size_t		q = t->start + 1,
					dl;

		while (s[q] != '$')
			q++;
		dl = q - t->start + 1;
		*off = pool_add(c, (const char *) s + t->start + dl, n - 2 * dl);
		*olen = n - 2 * dl;
		return *off == NONE ? -1 : 0;
	}
	/* X'..' expands each digit to four bits; everything else only shrinks */
	if (t->sub == S_X && n > (SIZE_MAX - 1) / 4)
		return -1;
	o = pool_reserve(c, (t->sub == S_X ? 4 * n : n) + 1);
	if (!o)
		return -1;
	p = t->start + (t->sub == S_PLAIN ? 0 : t->sub == S_U ? 2 : 1) + 1;
	for (;;)
	{
		size_t		nq;

		for (;;)
		{
			unsigned	ch;

			if (p >= t->end)
				return -1;
			ch = s[p];
			if (ch == '\'')
			{
				if (t->sub != S_B && t->sub != S_X && p + 1 < t->end && s[p + 1] == '\'')
				{
					o[w++] = '\'';
					p += 2;
					continue;
				}
				break;
			}
			if (t->sub == S_E && ch == '\\')
			{
				if (e_escape(c, &p, o, &w, &saw_hi) < 0)
					return -1;
				continue;
			}
			if (t->sub == S_B)
			{
				if (ch != '0' && ch != '1')
					return -1;
				o[w++] = (char) ch;
			}
			else if (t->sub == S_X)
			{
				int			h = hexval(ch),
							k;

				if (h < 0)
					return -1;
				for (k = 3; k >= 0; k--)
					o[w++] = (char) ('0' + ((h >> k) & 1));
			}
			else
				o[w++] = (char) ch;
			p++;
		}
		nq = quote_continue(c, p + 1);
		if (nq == NONE || nq >= t->end)
			break;
		p = nq + 1;
	}
	if (t->sub == S_U)
	{
		long		r = udeescape(o, w, t->esc);

		if (r < 0)
			return -1;
		w = (size_t) r;
	}
	if (saw_hi && !utf8_valid((const unsigned char *) o, w))
		return -1;
	o[w] = '\0';
	*off = c->pool.n;
	*olen = w;
	c->pool.n += w + 1;
	return 0;
}

/*
 * Decode the number token t, with a folded unary minus, as decimal text.
 * Returns 0 or -1 (bad token, or a non-decimal integer beyond 64 bits).
 */
static int
decode_number(ctx *c, const tok *t, int neg, size_t *off, size_t *olen)
{
	const unsigned char *s = c->s;
	size_t		n = t->end - t->start,
				w = 0,
				k;
	char	   *o;

	if (t->flags & F_BAD)
		return -1;
	o = pool_reserve(c, n + 24);
	if (!o)
		return -1;
	if (neg)
		o[w++] = '-';
	if (t->sub == N_DEC)
	{
		for (k = 0; k < n; k++)
			if (s[t->start + k] != '_')
				o[w++] = (char) s[t->start + k];
	}
	else
	{
		unsigned	base = t->sub == N_HEX ? 16 : t->sub == N_OCT ? 8 : 2;
		uint64_t	v = 0;
		char		digits[24];
		int			nd = 0;

		for (k = 2; k < n; k++)
		{
			unsigned	ch = s[t->start + k];

			if (ch == '_')
				continue;
			if (v > (UINT64_MAX - (unsigned) hexval(ch)) / base)
				return -1;
			v = v * base + (unsigned) hexval(ch);
		}
		do
		{
			digits[nd++] = (char) ('0' + v % 10);
			v /= 10;
		} while (v);
		while (nd > 0)
			o[w++] = digits[--nd];
	}
	o[w] = '\0';
	*off = c->pool.n;
	*olen = w;
	c->pool.n += w + 1;
	return 0;
}

/* ------------------------------------------------------------- type names */

static void
emit_word(ctx *c, uint32_t i)
{
	(void) pool_name(c, i, 0);
}

/* A name inside a type: quoted names keep their quotes ("char" is not char). */
static int
emit_type_name(ctx *c, uint32_t i)
{
	size_t		off = c->pool.n;
	size_t		n,
				q,
				k;
	char	   *base;

	if (pool_name(c, i, 0) == NONE)
		return -1;
	if (c->t[i].type == T_IDENT)
		return 0;
	n = c->pool.n - off;
	if (!pool_reserve(c, 2 * n + 2))
		return -1;
	base = (char *) c->pool.p;
	q = off + n;
	base[q++] = '"';
	for (k = 0; k < n; k++)
	{
		if (base[off + k] == '"')
			base[q++] = '"';
		base[q++] = base[off + k];
	}
	base[q++] = '"';
	memmove(base + off, base + off + n, q - off - n);
	c->pool.n = off + (q - off - n);
	return 0;
}

/* Optional (n[, m]) after a type name. */
static uint32_t
typmod(ctx *c, uint32_t i, uint32_t b, int emit)
{
	uint32_t	m,
				k;

	if (!tk_punct(c, i, b, '('))
		return i;
	m = c->t[i].match;
	if (m == NONE32 || m >= b || m == i + 1)
		return NONE32;
	if (emit)
		pool_apps(c, "(");
	for (k = i + 1; k < m;)
	{
		const tok  *t = &c->t[k];

		if (t->type == T_NUMBER && !(t->flags & F_BAD))
		{
			if (emit)
			{
				size_t		off,
							olen;

				if (decode_number(c, t, 0, &off, &olen) < 0)
					return NONE32;
				c->pool.n--;	/* drop its NUL: the type continues */
			}
		}
		else if (t->type == T_IDENT && !is_non_colid(c, k))
		{
			if (emit)
				emit_word(c, k);
		}
		else
			return NONE32;
		k++;
		if (k < m)
		{
			if (!tk_punct(c, k, m, ',') || k + 1 == m)
				return NONE32;
			if (emit)
				pool_apps(c, ",");
			k++;
		}
	}
	if (emit)
		pool_apps(c, ")");
	return m + 1;
}

/* [] or [n] */
static uint32_t
array_dim(const ctx *c, uint32_t i, uint32_t b)
{
	uint32_t	m = c->t[i].match;

	if (m == NONE32 || m >= b)
		return NONE32;
	if (m == i + 1 || (m == i + 2 && c->t[i + 1].type == T_NUMBER))
		return m + 1;
	return NONE32;
}

/*
 * A type name as written after :: or AS in CAST(), or before a string
 * constant.  Returns the index after it, NONE32 when it is not one we
 * understand.  With emit, appends its normalised spelling to the pool.
 */
static uint32_t
typename_(ctx *c, uint32_t i, uint32_t b, int emit)
{
	int			parts = 1,
				dims = 0;

	if (i >= b)
		return NONE32;
	if (c->t[i].type == T_IDENT)
	{
		if (tk_kw(c, i, b, "double"))
		{
			if (!tk_kw(c, i + 1, b, "precision"))
				return NONE32;
			if (emit)
				pool_apps(c, "double precision");
			i += 2;
			goto arrays;
		}
		if (tk_kw(c, i, b, "national"))
		{
			if (!tk_kw(c, i + 1, b, "character") && !tk_kw(c, i + 1, b, "char"))
				return NONE32;
			if (emit)
			{
				pool_apps(c, "national ");
				emit_word(c, i + 1);
			}
			i += 2;
			goto varying;
		}
		if (tk_kw(c, i, b, "character") || tk_kw(c, i, b, "char") ||
			tk_kw(c, i, b, "nchar") || tk_kw(c, i, b, "bit"))
		{
			if (emit)
				emit_word(c, i);
			i++;
			goto varying;
		}
		if (tk_kw(c, i, b, "time") || tk_kw(c, i, b, "timestamp"))
		{
			if (emit)
				emit_word(c, i);
			i = typmod(c, i + 1, b, emit);
			if (i == NONE32)
				return NONE32;
			if ((tk_kw(c, i, b, "with") || tk_kw(c, i, b, "without")) &&
				tk_kw(c, i + 1, b, "time") && tk_kw(c, i + 2, b, "zone"))
			{
				if (emit)
					pool_apps(c, tk_kw(c, i, b, "with") ? " with time zone" : " without time zone");
				i += 3;
			}
			goto arrays;
		}
		if (is_non_colid(c, i))
			return NONE32;
	}
	else if (c->t[i].type != T_QIDENT && c->t[i].type != T_UIDENT)
		return NONE32;

	/* a generic name, possibly qualified */
	if (emit && emit_type_name(c, i) < 0)
		return NONE32;
	if (!emit && (c->t[i].flags & F_BAD))
		return NONE32;
	i++;
	while (tk_punct(c, i, b, '.') && is_name(c, i + 1, b))
	{
		if (++parts > 3 || (c->t[i + 1].flags & F_BAD))
			return NONE32;
		if (emit)
		{
			pool_apps(c, ".");
			if (emit_type_name(c, i + 1) < 0)
				return NONE32;
		}
		i += 2;
	}
	goto typmod_arrays;

varying:
	if (tk_kw(c, i, b, "varying"))
	{
		if (emit)
			pool_apps(c, " varying");
		i++;
	}
typmod_arrays:
	i = typmod(c, i, b, emit);
	if (i == NONE32)
		return NONE32;
arrays:
	if (tk_kw(c, i, b, "array"))
	{
		i++;
		if (tk_punct(c, i, b, '['))
		{
			i = array_dim(c, i, b);
			if (i == NONE32)
				return NONE32;
		}
		dims = 1;
	}
	else
	{
		while (tk_punct(c, i, b, '['))
		{
			i = array_dim(c, i, b);
			if (i == NONE32)
				return NONE32;
			dims++;
		}
	}
	if (dims && emit)
		pool_apps(c, "[]");
	return i;
}

/* Any number of ::type after a value; counts them in *ncast. */
static uint32_t
parse_casts(ctx *c, uint32_t i, uint32_t b, int *ncast, uint32_t *ca, uint32_t *cb)
{
	while (i < b && c->t[i].type == T_CAST)
	{
		uint32_t	k = typename_(c, i + 1, b, 0);

		if (k == NONE32)
			return NONE32;
		(*ncast)++;
		*ca = i + 1;
		*cb = k;
		i = k;
	}
	return i;
}

/* ------------------------------------------------------------------ values */

static void
sval_expr(sval *v)
{
	v->kind = PGMM_VAL_EXPR;
	v->param = 0;
	v->text = NONE;
	v->tlen = 0;
	v->cast = NONE;
}

/*
 * The value of the expression in tokens [a, b) when it is a constant or a
 * parameter, with at most one cast: 42, -42, 'x', E'..', $$..$$, $1, NULL,
 * TRUE, (5), '5'::int8, CAST($1 AS bigint), int8 '9', and DEFAULT where
 * allowed.  Anything else is EXPR.
 */
static void
parse_value(ctx *c, uint32_t a, uint32_t b, int allow_default, sval *v)
{
	size_t		mark = c->pool.n;
	int			ncast = 0,
				neg = 0,
				implicit = 0;
	uint32_t	ca = NONE32,
				cb = NONE32,
				k,
				m;
	const tok  *t;

	sval_expr(v);
	if (a >= b)
		return;
	if (allow_default && b == a + 1 && tk_kw(c, a, b, "default"))
	{
		v->kind = PGMM_VAL_DEFAULT;
		return;
	}
	/* peel (...)::type and CAST(... AS type) wrappers, outermost first */
	for (;;)
	{
		if (a >= b)
			return;
		if (tk_punct(c, a, b, '('))
		{
			m = c->t[a].match;
			if (m == NONE32 || m >= b)
				return;
			k = parse_casts(c, m + 1, b, &ncast, &ca, &cb);
			if (k != b || ncast > 1)
				return;
			a++;
			b = m;
			continue;
		}
		if (tk_kw(c, a, b, "cast") && tk_punct(c, a + 1, b, '('))
		{
			m = c->t[a + 1].match;
			if (m == NONE32 || m >= b)
				return;
			k = parse_casts(c, m + 1, b, &ncast, &ca, &cb);
			if (k != b || ++ncast > 1)
				return;
			for (k = a + 2; k < m && !tk_kw(c, k, m, "as"); k = skip1(c, k, m))
				;
			if (k >= m || typename_(c, k + 1, m, 0) != m)
				return;
			ca = k + 1;
			cb = m;
			a += 2;
			b = k;
			continue;
		}
		break;
	}

	t = &c->t[a];
	if (t->type == T_OP && t->end - t->start == 1 && c->s[t->start] == '-' &&
		a + 1 < b && c->t[a + 1].type == T_NUMBER)
	{
		neg = 1;				/* the server folds -constant into the constant */
		t = &c->t[++a];
	}
	if (t->type == T_NUMBER || t->type == T_STRING || t->type == T_PARAM ||
		tk_kw(c, a, b, "null") || tk_kw(c, a, b, "true") || tk_kw(c, a, b, "false"))
		k = a + 1;
	else
	{
		/* a typed constant: int8 '9', double precision '1.5' */
		k = typename_(c, a, b, 0);
		if (k == NONE32 || k >= b || c->t[k].type != T_STRING)
			return;
		t = &c->t[k];
		if (t->sub != S_PLAIN && t->sub != S_E && t->sub != S_U && t->sub != S_DOLLAR)
			return;
		if (++ncast > 1)
			return;
		ca = a;
		cb = k;
		k++;
	}
	k = parse_casts(c, k, b, &ncast, &ca, &cb);
	if (k != b || ncast > 1)
		return;
	if (t->type == T_STRING && (t->sub == S_B || t->sub == S_X || t->sub == S_N))
	{
		if (ncast)
			return;			/* its own type, then another: the value may change */
		implicit = 1;
	}

	switch (t->type)
	{
		case T_NUMBER:
			if (decode_number(c, t, neg, &v->text, &v->tlen) < 0)
				goto fail;
			v->kind = PGMM_VAL_NUMBER;
			break;
		case T_STRING:
			if (decode_string(c, t, &v->text, &v->tlen) < 0)
				goto fail;
			v->kind = PGMM_VAL_STRING;
			break;
		case T_PARAM:
			{
				long		n = 0;
				uint32_t	q;

				if (t->flags & F_BAD)
					goto fail;
				for (q = t->start + 1; q < t->end; q++)
					n = n * 10 + (c->s[q] - '0');
				v->kind = PGMM_VAL_PARAM;
				v->param = (int) n;
				break;
			}
		default:
			if (tk_kw(c, a, b, "null"))
				v->kind = PGMM_VAL_NULL;
			else
			{
				int			tr = tk_kw(c, a, b, "true");

				v->text = pool_add(c, tr ? "true" : "false", tr ? 4 : 5);
				v->tlen = tr ? 4 : 5;
				v->kind = PGMM_VAL_BOOL;
			}
			break;
	}
	if (ncast == 1)
	{
		v->cast = c->pool.n;
		if (typename_(c, ca, cb, 1) != cb)
			goto fail;
		pool_app(c, "", 1);
	}
	else if (implicit)
		v->cast = pool_add(c, t->sub == S_N ? "bpchar" : "bit", t->sub == S_N ? 6 : 3);
	if (c->oom)
		goto fail;
	return;
fail:
	c->pool.n = mark;
	sval_expr(v);
}

/* ---------------------------------------------------------- names, clauses */

/*
 * name or schema.name at i.  Three-part names are refused: their first part
 * would have to be checked against the current database.  Returns the index
 * after the name or NONE32.
 */
static uint32_t
qualified_name(ctx *c, uint32_t i, uint32_t b, size_t *schema, size_t *table)
{
	*schema = *table = NONE;
	if (!is_colid(c, i, b))
		return NONE32;
	if (tk_punct(c, i + 1, b, '.'))
	{
		if (!is_name(c, i + 2, b) || tk_punct(c, i + 3, b, '.'))
			return NONE32;
		*schema = pool_name(c, i, 1);
		*table = pool_name(c, i + 2, 1);
		if (*schema == NONE || *table == NONE)
			return NONE32;
		return i + 3;
	}
	*table = pool_name(c, i, 1);
	return *table == NONE ? NONE32 : i + 1;
}

/* [AS] alias after a relation.  In UPDATE a bare SET is the clause. */
static uint32_t
opt_alias(ctx *c, uint32_t i, uint32_t b, int in_update)
{
	c->alias = NONE;
	if (tk_kw(c, i, b, "as"))
	{
		if (!is_colid(c, i + 1, b))
			return NONE32;
		c->alias = pool_name(c, i + 1, 1);
		return c->alias == NONE ? NONE32 : i + 2;
	}
	if (is_colid(c, i, b) && !(in_update && tk_kw(c, i, b, "set")))
	{
		c->alias = pool_name(c, i, 1);
		return c->alias == NONE ? NONE32 : i + 1;
	}
	return i;
}

/*
 * col, rel.col or schema.rel.col naming a column of the target relation.
 * Returns the pool offset of the column name, or NONE.
 */
static size_t
colref(ctx *c, uint32_t a, uint32_t b)
{
	size_t		mark = c->pool.n;
	size_t		q1,
				q2,
				col;

	if (b - a == 1)
	{
		if (!is_colid(c, a, b) || c->has_from)
			return NONE;
		return pool_name(c, a, 1);
	}
	if (b - a == 3)
	{
		if (!is_colid(c, a, b) || !tk_punct(c, a + 1, b, '.') || !is_name(c, a + 2, b))
			return NONE;
		q1 = pool_name(c, a, 1);
		col = pool_name(c, a + 2, 1);
		if (col != NONE && pool_eq(c, q1, c->alias != NONE ? c->alias : c->table))
			return col;
	}
	else if (b - a == 5)
	{
		if (!is_colid(c, a, b) || !tk_punct(c, a + 1, b, '.') || !is_name(c, a + 2, b) ||
			!tk_punct(c, a + 3, b, '.') || !is_name(c, a + 4, b))
			return NONE;
		q1 = pool_name(c, a, 1);
		q2 = pool_name(c, a + 2, 1);
		col = pool_name(c, a + 4, 1);
		if (col != NONE && c->alias == NONE && pool_eq(c, q1, c->schema) &&
			pool_eq(c, q2, c->table))
			return col;
	}
	c->pool.n = mark;
	return NONE;
}

/* One AND-ed term: col = constant or constant = col, nothing else. */
static void
try_cond(ctx *c, uint32_t a, uint32_t b)
{
	uint32_t	eq = NONE32,
				i;
	size_t		mark = c->pool.n;
	size_t		col;
	sval		v;
	scond	   *sc;

	for (i = a; i < b; i = skip1(c, i, b))
	{
		if (tk_op(c, i, b, "="))
		{
			if (eq != NONE32)
				return;
			eq = i;
		}
	}
	if (eq == NONE32 || eq == a || eq + 1 >= b)
		return;
	col = colref(c, a, eq);
	if (col != NONE)
		parse_value(c, eq + 1, b, 0, &v);
	else
	{
		col = colref(c, eq + 1, b);
		if (col == NONE)
			return;
		parse_value(c, a, eq, 0, &v);
	}
	if (v.kind == PGMM_VAL_EXPR || !(sc = vec_push(c, &c->conds)))
	{
		c->pool.n = mark;
		return;
	}
	sc->col = col;
	sc->v = v;
}

static void where_terms(ctx *c, uint32_t a, uint32_t b, int depth);

static void
where_term(ctx *c, uint32_t a, uint32_t b, int depth)
{
	if (a >= b)
		return;
	if (tk_punct(c, a, b, '(') && c->t[a].match == b - 1)
	{
		if (depth < MAX_WHERE_DEPTH)
			where_terms(c, a, b, depth + 1);
		return;
	}
	try_cond(c, a, b);
}

/*
 * The AND-ed terms of a WHERE clause in [a, b).  A top-level OR means no
 * term holds for every row: nothing is reported.  The AND of
 * BETWEEN x AND y and those inside CASE ... END do not split terms.
 */
static void
where_terms(ctx *c, uint32_t a, uint32_t b, int depth)
{
	uint32_t	i,
				start;
	long		cased = 0;
	int			between = 0,
				nterms = 0;

	while (b - a >= 2 && tk_punct(c, a, b, '(') && c->t[a].match == b - 1)
	{
		a++;
		b--;
	}
	if (a >= b)
		return;
	for (i = a; i < b; i = skip1(c, i, b))
	{
		if (c->t[i].type != T_IDENT)
			continue;
		if (tk_kw(c, i, b, "case"))
			cased++;
		else if (cased > 0 && tk_kw(c, i, b, "end"))
			cased--;
		else if (cased == 0 && tk_kw(c, i, b, "or"))
			return;
		else if (cased == 0 && tk_kw(c, i, b, "and"))
			nterms++;
	}
	if (nterms == 0)
	{
		try_cond(c, a, b);
		return;
	}
	cased = 0;
	start = a;
	for (i = a; i < b; i = skip1(c, i, b))
	{
		if (c->t[i].type != T_IDENT)
			continue;
		if (tk_kw(c, i, b, "case"))
			cased++;
		else if (cased > 0 && tk_kw(c, i, b, "end"))
			cased--;
		else if (cased == 0 && tk_kw(c, i, b, "between"))
			between = 1;
		else if (cased == 0 && tk_kw(c, i, b, "and"))
		{
			if (between)
				between = 0;
			else
			{
				where_term(c, start, i, depth);
				start = i + 1;
			}
		}
	}
	where_term(c, start, b, depth);
}

static int
is_select_tail(const ctx *c, uint32_t i, uint32_t b)
{
	return tk_kw(c, i, b, "group") || tk_kw(c, i, b, "having") ||
		tk_kw(c, i, b, "window") || tk_kw(c, i, b, "order") ||
		tk_kw(c, i, b, "limit") || tk_kw(c, i, b, "offset") ||
		tk_kw(c, i, b, "fetch") || tk_kw(c, i, b, "for");
}

/*
 * WHERE clause starting at a (after the keyword).  Returns the index of
 * the clause that ends it: RETURNING for UPDATE/DELETE, GROUP/ORDER/...
 * for SELECT, or b.
 */
static uint32_t
where_clause(ctx *c, uint32_t a, uint32_t b, int in_select)
{
	uint32_t	e;

	c->where_present = 1;
	for (e = a; e < b; e = skip1(c, e, b))
	{
		if (in_select ? is_select_tail(c, e, b) : tk_kw(c, e, b, "returning"))
			break;
	}
	/* WHERE CURRENT OF cursor names no value */
	if (!(tk_kw(c, a, e, "current") && tk_kw(c, a + 1, e, "of")))
		where_terms(c, a, e, 0);
	return e;
}

/* A target of SET: col, col.field or col[sub]; records the column. */
static uint32_t
set_target(ctx *c, uint32_t i, uint32_t b)
{
	size_t		off;

	if (!is_colid(c, i, b))
		return NONE32;
	off = pool_name(c, i, 1);
	if (off == NONE || push_off(c, &c->sets, off) < 0)
		return NONE32;
	i++;
	for (;;)
	{
		if (tk_punct(c, i, b, '.') && is_name(c, i + 1, b))
			i += 2;
		else if (tk_punct(c, i, b, '[') && c->t[i].match != NONE32 && c->t[i].match < b)
			i = c->t[i].match + 1;
		else
			return i;
	}
}

/* SET a = x, (b, c) = (y, z), ... in [a, b).  0, or -1 if not understood. */
static int
parse_set_list(ctx *c, uint32_t a, uint32_t b)
{
	uint32_t	k = a;

	if (a >= b)
		return -1;
	while (k < b)
	{
		uint32_t	e = k,
					j,
					m;

		while (e < b && !tk_punct(c, e, b, ','))
			e = skip1(c, e, b);
		if (tk_punct(c, k, e, '('))
		{
			m = c->t[k].match;
			if (m == NONE32 || m >= e || m == k + 1)
				return -1;
			for (j = k + 1; j < m;)
			{
				j = set_target(c, j, m);
				if (j == NONE32)
					return -1;
				if (j < m)
				{
					if (!tk_punct(c, j, m, ',') || j + 1 == m)
						return -1;
					j++;
				}
			}
			j = m + 1;
		}
		else
		{
			j = set_target(c, k, e);
			if (j == NONE32)
				return -1;
		}
		if (!tk_op(c, j, e, "=") || j + 1 >= e)
			return -1;
		if (e < b && e + 1 == b)
			return -1;			/* trailing comma */
		k = e + 1;
	}
	return 0;
}

/* Forget everything recognised: the statement is OTHER. */
static void
set_other(ctx *c)
{
	c->kind = PGMM_STMT_OTHER;
	c->schema = c->table = c->alias = NONE;
	c->has_from = 0;
	c->ncols = c->nrows = c->nvals = 0;
	c->on_conflict = c->where_present = c->returning = c->locking = 0;
	c->cols.n = c->sets.n = c->vals.n = c->conds.n = 0;
	c->pool.n = 0;
	c->sub = PGMM_SUB_NONE;
	c->chain = c->to_default = 0;
	c->setting = NONE;
	c->tag = "";
}

/* Row locks anywhere, subqueries included: FOR UPDATE / SHARE / NO KEY
 * UPDATE / KEY SHARE. */
static int
has_locking(const ctx *c)
{
	uint32_t	i;
	uint32_t	b = c->nt;

	for (i = 0; i + 1 < b; i++)
	{
		if (tk_kw(c, i, b, "for") &&
			(tk_kw(c, i + 1, b, "update") || tk_kw(c, i + 1, b, "share") ||
			 (tk_kw(c, i + 1, b, "no") && tk_kw(c, i + 2, b, "key")) ||
			 (tk_kw(c, i + 1, b, "key") && tk_kw(c, i + 2, b, "share"))))
			return 1;
	}
	return 0;
}

/* A query where INSERT expects its rows: SELECT, VALUES, WITH, TABLE, (...). */
static int
starts_query(const ctx *c, uint32_t i, uint32_t b)
{
	return tk_kw(c, i, b, "select") || tk_kw(c, i, b, "values") ||
		tk_kw(c, i, b, "with") || tk_kw(c, i, b, "table") || tk_punct(c, i, b, '(');
}

/* ---------------------------------------------------------------- statements */

static void
do_select(ctx *c)
{
	uint32_t	b = c->nt,
				from = NONE32,
				k;
	size_t		schema,
				table;

	c->kind = PGMM_STMT_SELECT;
	c->locking = has_locking(c);
	for (k = 1; k < b; k = skip1(c, k, b))
	{
		if (tk_kw(c, k, b, "into"))
		{
			/* SELECT ... INTO new_table is CREATE TABLE AS */
			c->kind = PGMM_STMT_DDL;
			c->locking = 0;
			return;
		}
		if (tk_kw(c, k, b, "union") || tk_kw(c, k, b, "intersect") || tk_kw(c, k, b, "except"))
			from = b;			/* several queries: no single table */
		if (from == NONE32 && tk_kw(c, k, b, "from") && !tk_kw(c, k - 1, b, "distinct"))
			from = k;
	}
	if (from == NONE32 || from == b)
		return;
	k = from + 1;
	if (tk_kw(c, k, b, "only"))
		k++;
	k = qualified_name(c, k, b, &schema, &table);
	if (k == NONE32)
		return;
	if (tk_op(c, k, b, "*"))
		k++;
	k = opt_alias(c, k, b, 0);
	/* anything else after the table (a join, another table, column aliases,
	 * TABLESAMPLE) means the FROM is not a single plain table */
	if (k == NONE32 || !(k == b || tk_kw(c, k, b, "where") || is_select_tail(c, k, b)))
	{
		c->alias = NONE;
		return;
	}
	c->schema = schema;
	c->table = table;
	if (tk_kw(c, k, b, "where"))
		where_clause(c, k + 1, b, 1);
}

static void
do_table(ctx *c)
{
	uint32_t	b = c->nt,
				k = 1;
	size_t		schema,
				table;

	c->kind = PGMM_STMT_SELECT;
	c->locking = has_locking(c);
	for (k = 1; k < b; k = skip1(c, k, b))
		if (tk_kw(c, k, b, "union") || tk_kw(c, k, b, "intersect") || tk_kw(c, k, b, "except"))
			return;
	k = 1;
	if (tk_kw(c, k, b, "only"))
		k++;
	k = qualified_name(c, k, b, &schema, &table);
	if (k == NONE32)
		return;
	if (tk_op(c, k, b, "*"))
		k++;
	if (k == b || is_select_tail(c, k, b))
	{
		c->schema = schema;
		c->table = table;
	}
}

/* ON CONFLICT ... and RETURNING after the rows of an INSERT. */
static int
insert_tail(ctx *c, uint32_t i)
{
	uint32_t	b = c->nt,
				k,
				d;

	for (k = i; k < b; k = skip1(c, k, b))
	{
		if (tk_kw(c, k, b, "returning"))
		{
			c->returning = 1;
			break;
		}
		if (!c->on_conflict && tk_kw(c, k, b, "on") && tk_kw(c, k + 1, b, "conflict") &&
			(tk_punct(c, k + 2, b, '(') || tk_kw(c, k + 2, b, "on") || tk_kw(c, k + 2, b, "do")))
		{
			c->on_conflict = 1;
			for (d = k + 2; d < b && !tk_kw(c, d, b, "do"); d = skip1(c, d, b))
				;
			if (d >= b)
				return -1;
			if (tk_kw(c, d + 1, b, "update") && tk_kw(c, d + 2, b, "set"))
			{
				uint32_t	e;

				for (e = d + 3; e < b; e = skip1(c, e, b))
					if (tk_kw(c, e, b, "where") || tk_kw(c, e, b, "returning"))
						break;
				if (parse_set_list(c, d + 3, e) < 0)
					return -1;
				d = e - 1;
			}
			k = d;
		}
	}
	return 0;
}

static void
do_insert(ctx *c)
{
	uint32_t	b = c->nt,
				i = 1,
				k,
				m;

	c->kind = PGMM_STMT_INSERT;
	c->ncols = -1;
	if (!tk_kw(c, i, b, "into"))
		goto other;
	i = qualified_name(c, i + 1, b, &c->schema, &c->table);
	if (i == NONE32)
		goto other;
	if (tk_kw(c, i, b, "as"))
	{
		if (!is_colid(c, i + 1, b) || (c->alias = pool_name(c, i + 1, 1)) == NONE)
			goto other;
		i += 2;
	}
	if (tk_punct(c, i, b, '('))
	{
		m = c->t[i].match;
		if (m == NONE32)
			goto other;
		if (starts_query(c, i + 1, m))
		{
			c->nrows = -1;		/* INSERT INTO t (SELECT ...) */
			goto tail;
		}
		c->ncols = 0;
		for (k = i + 1;;)
		{
			size_t		off;

			/* col[1] or col.field: not a plain column, keep out */
			if (!is_colid(c, k, m) || (off = pool_name(c, k, 1)) == NONE ||
				push_off(c, &c->cols, off) < 0)
				goto other;
			c->ncols++;
			if (++k == m)
				break;
			if (!tk_punct(c, k, m, ',') || ++k == m)
				goto other;
		}
		i = m + 1;
	}
	if (tk_kw(c, i, b, "overriding"))
	{
		/* OVERRIDING USER VALUE drops the given identity values */
		if (!tk_kw(c, i + 1, b, "system") || !tk_kw(c, i + 2, b, "value"))
			goto other;
		i += 3;
	}
	if (tk_kw(c, i, b, "default") && tk_kw(c, i + 1, b, "values"))
	{
		if (c->ncols >= 0)
			goto other;
		c->nrows = 0;
		i += 2;
		goto tail;
	}
	if (tk_kw(c, i, b, "values"))
	{
		int			rows = 0;

		for (k = i + 1;;)
		{
			uint32_t	ia;
			int			n = 0;

			if (!tk_punct(c, k, b, '(') || (m = c->t[k].match) == NONE32 || m == k + 1)
				goto other;
			for (ia = k + 1; ia < m;)
			{
				uint32_t	ie = ia;
				sval	   *v;

				while (ie < m && !tk_punct(c, ie, m, ','))
					ie = skip1(c, ie, m);
				if (ie == ia || (ie < m && ie + 1 == m))
					goto other;
				if (!(v = vec_push(c, &c->vals)))
					goto other;
				parse_value(c, ia, ie, 1, v);
				n++;
				ia = ie + 1;
			}
			if (rows > 0 && n != c->nvals)
				goto other;		/* "VALUES lists must all be the same length" */
			c->nvals = n;
			rows++;
			k = m + 1;
			if (tk_punct(c, k, b, ','))
			{
				k++;
				continue;
			}
			break;
		}
		if (k == b || tk_kw(c, k, b, "returning") ||
			(tk_kw(c, k, b, "on") && tk_kw(c, k + 1, b, "conflict")))
		{
			if (c->ncols >= 0 && c->nvals != c->ncols)
				goto other;		/* the server refuses the mismatch */
			c->nrows = rows;
			i = k;
			goto tail;
		}
		/* VALUES ... ORDER BY / UNION / LIMIT: a query, not rows */
		c->vals.n = 0;
		c->nvals = 0;
		c->nrows = -1;
		i = k;
		goto tail;
	}
	if (starts_query(c, i, b))
	{
		c->nrows = -1;
		goto tail;
	}
	goto other;

tail:
	if (insert_tail(c, i) == 0 && !c->oom)
		return;
other:
	set_other(c);
}

static void
do_update(ctx *c)
{
	uint32_t	b = c->nt,
				i = 1,
				k;

	c->kind = PGMM_STMT_UPDATE;
	if (tk_kw(c, i, b, "only"))
		i++;
	i = qualified_name(c, i, b, &c->schema, &c->table);
	if (i == NONE32)
		goto other;
	if (tk_op(c, i, b, "*"))
		i++;
	i = opt_alias(c, i, b, 1);
	if (i == NONE32 || !tk_kw(c, i, b, "set"))
		goto other;
	for (k = i + 1; k < b; k = skip1(c, k, b))
	{
		if (tk_kw(c, k, b, "where") || tk_kw(c, k, b, "returning"))
			break;
		/* a IS DISTINCT FROM b is an expression, not the FROM clause */
		if (tk_kw(c, k, b, "from") && !tk_kw(c, k - 1, b, "distinct"))
			break;
	}
	if (parse_set_list(c, i + 1, k) < 0)
		goto other;
	if (tk_kw(c, k, b, "from"))
	{
		c->has_from = 1;
		for (k++; k < b; k = skip1(c, k, b))
			if (tk_kw(c, k, b, "where") || tk_kw(c, k, b, "returning"))
				break;
	}
	if (tk_kw(c, k, b, "where"))
		k = where_clause(c, k + 1, b, 0);
	if (tk_kw(c, k, b, "returning"))
		c->returning = 1;
	else if (k != b)
		goto other;
	if (!c->oom)
		return;
other:
	set_other(c);
}

static void
do_delete(ctx *c)
{
	uint32_t	b = c->nt,
				i = 1;

	c->kind = PGMM_STMT_DELETE;
	if (!tk_kw(c, i, b, "from"))
		goto other;
	i++;
	if (tk_kw(c, i, b, "only"))
		i++;
	i = qualified_name(c, i, b, &c->schema, &c->table);
	if (i == NONE32)
		goto other;
	if (tk_op(c, i, b, "*"))
		i++;
	i = opt_alias(c, i, b, 0);
	if (i == NONE32)
		goto other;
	if (tk_kw(c, i, b, "using"))
	{
		c->has_from = 1;
		for (i++; i < b; i = skip1(c, i, b))
			if (tk_kw(c, i, b, "where") || tk_kw(c, i, b, "returning"))
				break;
	}
	if (tk_kw(c, i, b, "where"))
		i = where_clause(c, i + 1, b, 0);
	if (tk_kw(c, i, b, "returning"))
		c->returning = 1;
	else if (i != b)
		goto other;
	if (!c->oom)
		return;
other:
	set_other(c);
}

/* COMMIT / END / ROLLBACK / ABORT [WORK | TRANSACTION] [AND [NO] CHAIN]:
 * sets c->chain for AND CHAIN (a new transaction starts at once). */
static pgmm_stmt_kind
txn_end(ctx *c, pgmm_stmt_kind plain)
{
	uint32_t	b = c->nt,
				i = 1;

	if (tk_kw(c, i, b, "work") || tk_kw(c, i, b, "transaction"))
		i++;
	if (tk_kw(c, i, b, "and") && tk_kw(c, i + 1, b, "chain"))
		c->chain = 1;
	c->tag = plain == PGMM_STMT_COMMIT ? "COMMIT" : "ROLLBACK";
	return plain;
}

/* Put a parameter name given as a fixed word into the pool. */
static void
setting_word(ctx *c, const char *w)
{
	c->setting = pool_add(c, w, strlen(w));
}

/*
 * The parameter name at i (name or name.name...), folded like an identifier
 * and then lower-cased (GUC names compare case-insensitively).  Returns the
 * index after it, or NONE32 (c->setting stays NONE).
 */
static uint32_t
setting_name(ctx *c, uint32_t i, uint32_t b)
{
	size_t		off = c->pool.n,
				k;
	char	   *p;

	c->setting = NONE;
	for (;;)
	{
		if (!is_name(c, i, b) || pool_name(c, i, 0) == NONE)
		{
			c->pool.n = off;
			return NONE32;
		}
		i++;
		if (!tk_punct(c, i, b, '.'))
			break;
		pool_app(c, ".", 1);
		i++;
	}
	pool_app(c, "", 1);
	if (c->oom)
		return NONE32;
	p = (char *) c->pool.p + off;
	for (k = 0; p[k]; k++)
		if ((unsigned) (unsigned char) p[k] - (unsigned) 'A' < 26u)
			p[k] = (char) (p[k] + 32);
	c->setting = off;
	return i;
}

/* SET [SESSION | LOCAL] ...: the parameter it sets. */
static void
set_detail(ctx *c)
{
	uint32_t	b = c->nt,
				i = 1;

	c->tag = "SET";
	c->sub = PGMM_SUB_SET;
	if (tk_kw(c, i, b, "local"))
	{
		c->sub = PGMM_SUB_SET_LOCAL;
		i++;
	}
	else if (tk_kw(c, i, b, "session"))
	{
		if (tk_kw(c, i + 1, b, "authorization"))
		{
			setting_word(c, "session_authorization");
			c->to_default = tk_kw(c, i + 2, b, "default") && i + 3 == b;
			return;
		}
		if (tk_kw(c, i + 1, b, "characteristics"))
		{
			setting_word(c, "session_characteristics");
			return;
		}
		i++;
	}
	if (tk_kw(c, i, b, "time") && tk_kw(c, i + 1, b, "zone"))
	{
		setting_word(c, "timezone");
		c->to_default = (tk_kw(c, i + 2, b, "default") || tk_kw(c, i + 2, b, "local")) && i + 3 == b;
		return;
	}
	if (tk_kw(c, i, b, "names"))
	{
		setting_word(c, "client_encoding");
		c->to_default = tk_kw(c, i + 1, b, "default") && i + 2 == b;
		return;
	}
	if (tk_kw(c, i, b, "schema"))
	{
		setting_word(c, "search_path");
		return;
	}
	if (tk_kw(c, i, b, "xml") && tk_kw(c, i + 1, b, "option"))
	{
		setting_word(c, "xmloption");
		return;
	}
	if (tk_kw(c, i, b, "role") || tk_kw(c, i, b, "authorization"))
	{
		setting_word(c, tk_kw(c, i, b, "role") ? "role" : "session_authorization");
		c->to_default = (tk_kw(c, i + 1, b, "none") || tk_kw(c, i + 1, b, "default")) && i + 2 == b;
		return;
	}
	i = setting_name(c, i, b);
	if (i == NONE32)
		return;
	if (tk_kw(c, i, b, "to") || tk_op(c, i, b, "="))
		c->to_default = tk_kw(c, i + 1, b, "default") && i + 2 == b;
}

/* RESET name / RESET ALL and the special forms. */
static void
reset_detail(ctx *c)
{
	uint32_t	b = c->nt;

	c->tag = "RESET";
	c->sub = PGMM_SUB_RESET;
	if (tk_kw(c, 1, b, "all"))
		c->sub = PGMM_SUB_RESET_ALL;
	else if (tk_kw(c, 1, b, "time") && tk_kw(c, 2, b, "zone"))
		setting_word(c, "timezone");
	else if (tk_kw(c, 1, b, "session") && tk_kw(c, 2, b, "authorization"))
		setting_word(c, "session_authorization");
	else if (tk_kw(c, 1, b, "authorization"))
		setting_word(c, "session_authorization");
	else
		(void) setting_name(c, 1, b);
}

/* Sub-kind, setting and tag of transaction-control and session statements. */
static void
stmt_detail(ctx *c)
{
	uint32_t	b = c->nt;

	switch (c->kind)
	{
		case PGMM_STMT_BEGIN:
			c->tag = tk_kw(c, 0, b, "start") ? "START TRANSACTION" : "BEGIN";
			break;
		case PGMM_STMT_TXN_OTHER:
			if (tk_kw(c, 0, b, "savepoint"))
			{
				c->sub = PGMM_SUB_SAVEPOINT;
				c->tag = "SAVEPOINT";
			}
			else if (tk_kw(c, 0, b, "release"))
			{
				c->sub = PGMM_SUB_RELEASE;
				c->tag = "RELEASE";
			}
			else if (tk_kw(c, 0, b, "lock"))
			{
				c->sub = PGMM_SUB_LOCK;
				c->tag = "LOCK TABLE";
			}
			else if (tk_kw(c, 0, b, "set"))
			{
				c->sub = PGMM_SUB_SET_TRANSACTION;
				c->tag = "SET";
			}
			else
			{
				c->sub = PGMM_SUB_ROLLBACK_TO;
				c->tag = "ROLLBACK";
			}
			break;
		case PGMM_STMT_SESSION:
			if (tk_kw(c, 0, b, "set"))
				set_detail(c);
			else if (tk_kw(c, 0, b, "reset"))
				reset_detail(c);
			else if (tk_kw(c, 0, b, "discard"))
			{
				c->sub = tk_kw(c, 1, b, "all") ? PGMM_SUB_DISCARD_ALL : PGMM_SUB_DISCARD;
				c->tag = c->sub == PGMM_SUB_DISCARD_ALL ? "DISCARD ALL" : "DISCARD";
			}
			else if (tk_kw(c, 0, b, "deallocate"))
			{
				uint32_t	i = tk_kw(c, 1, b, "prepare") ? 2 : 1;

				c->sub = tk_kw(c, i, b, "all") ? PGMM_SUB_DEALLOCATE_ALL : PGMM_SUB_DEALLOCATE;
				c->tag = c->sub == PGMM_SUB_DEALLOCATE_ALL ? "DEALLOCATE ALL" : "DEALLOCATE";
			}
			else
			{
				c->sub = PGMM_SUB_PREPARE;
				c->tag = "PREPARE";
			}
			break;
		case PGMM_STMT_DDL:
			if (tk_kw(c, 0, b, "prepare"))
				c->sub = PGMM_SUB_PREPARE_TRANSACTION;
			else if (tk_kw(c, 0, b, "commit"))
				c->sub = PGMM_SUB_COMMIT_PREPARED;
			else if (tk_kw(c, 0, b, "rollback") || tk_kw(c, 0, b, "abort"))
				c->sub = PGMM_SUB_ROLLBACK_PREPARED;
			break;
		case PGMM_STMT_OTHER:
			if (tk_kw(c, 0, b, "copy"))
			{
				c->sub = PGMM_SUB_COPY;
				c->tag = "COPY";
			}
			break;
		default:
			break;
	}
}

static void
recognise(ctx *c)
{
	uint32_t	b = c->nt;
	static const char *const ddl[] = {
		"create", "alter", "drop", "truncate", "grant", "revoke", "comment",
		"security", "reindex", "cluster", "vacuum", "analyze", "analyse",
		"refresh", "import", NULL
	};
	int			k;

	c->kind = PGMM_STMT_OTHER;
	if (b == 0)
	{
		c->kind = PGMM_STMT_EMPTY;
		return;
	}
	if (tk_punct(c, 0, b, '('))
	{
		c->kind = PGMM_STMT_SELECT;		/* (SELECT ...) ... */
		c->locking = has_locking(c);
		return;
	}
	if (tk_kw(c, 0, b, "select"))
		do_select(c);
	else if (tk_kw(c, 0, b, "table"))
		do_table(c);
	else if (tk_kw(c, 0, b, "values") || tk_kw(c, 0, b, "show"))
	{
		c->kind = PGMM_STMT_SELECT;
		c->locking = has_locking(c);
	}
	else if (tk_kw(c, 0, b, "explain"))
	{
		/* EXPLAIN ANALYZE runs the statement */
		uint32_t	i;

		c->kind = PGMM_STMT_SELECT;
		if (tk_kw(c, 1, b, "analyze") || tk_kw(c, 1, b, "analyse"))
			c->kind = PGMM_STMT_OTHER;
		else if (tk_punct(c, 1, b, '('))
		{
			for (i = 2; i < b && !tk_punct(c, i, b, ')'); i++)
				if (tk_kw(c, i, b, "analyze") || tk_kw(c, i, b, "analyse"))
					c->kind = PGMM_STMT_OTHER;
		}
	}
	else if (tk_kw(c, 0, b, "insert"))
		do_insert(c);
	else if (tk_kw(c, 0, b, "update"))
		do_update(c);
	else if (tk_kw(c, 0, b, "delete"))
		do_delete(c);
	else if (tk_kw(c, 0, b, "begin"))
		c->kind = PGMM_STMT_BEGIN;
	else if (tk_kw(c, 0, b, "start"))
		c->kind = tk_kw(c, 1, b, "transaction") ? PGMM_STMT_BEGIN : PGMM_STMT_OTHER;
	else if (tk_kw(c, 0, b, "commit"))
		c->kind = tk_kw(c, 1, b, "prepared") ? PGMM_STMT_DDL : txn_end(c, PGMM_STMT_COMMIT);
	else if (tk_kw(c, 0, b, "end"))
		c->kind = txn_end(c, PGMM_STMT_COMMIT);
	else if (tk_kw(c, 0, b, "rollback") || tk_kw(c, 0, b, "abort"))
	{
		uint32_t	i = 1;

		if (tk_kw(c, 1, b, "prepared"))
			c->kind = PGMM_STMT_DDL;
		else
		{
			if (tk_kw(c, i, b, "work") || tk_kw(c, i, b, "transaction"))
				i++;
			c->kind = tk_kw(c, i, b, "to") ? PGMM_STMT_TXN_OTHER : txn_end(c, PGMM_STMT_ROLLBACK);
		}
	}
	else if (tk_kw(c, 0, b, "savepoint") || tk_kw(c, 0, b, "release") || tk_kw(c, 0, b, "lock"))
		c->kind = PGMM_STMT_TXN_OTHER;
	else if (tk_kw(c, 0, b, "set"))
		c->kind = (tk_kw(c, 1, b, "transaction") || tk_kw(c, 1, b, "constraints")) ?
			PGMM_STMT_TXN_OTHER : PGMM_STMT_SESSION;
	else if (tk_kw(c, 0, b, "reset") || tk_kw(c, 0, b, "discard") || tk_kw(c, 0, b, "deallocate"))
		c->kind = PGMM_STMT_SESSION;
	else if (tk_kw(c, 0, b, "prepare"))
		c->kind = tk_kw(c, 1, b, "transaction") ? PGMM_STMT_DDL : PGMM_STMT_SESSION;
	else
	{
		for (k = 0; ddl[k]; k++)
			if (tk_kw_n(c, 0, b, ddl[k], strlen(ddl[k])))
				c->kind = PGMM_STMT_DDL;
	}
	stmt_detail(c);
	if (c->oom)
		set_other(c);
}

/* ----------------------------------------------------------------- result */

static size_t
align_up(size_t n)
{
	return (n + 15) & ~(size_t) 15;
}

static const char *
res_str(char *base, size_t off)
{
	return off == NONE ? NULL : base + off;
}

static void
res_value(pgmm_value *d, const sval *v, char *base)
{
	d->kind = (pgmm_val_kind) v->kind;
	d->text = res_str(base, v->text);
	d->len = v->text == NONE ? 0 : v->tlen;
	d->param = v->param;
	d->cast = res_str(base, v->cast);
}

/* Everything in one allocation: the struct, the arrays, then the strings. */
static pgmm_stmt *
build(ctx *c)
{
	size_t		ncols = c->kind == PGMM_STMT_INSERT && c->ncols > 0 ? (size_t) c->ncols : 0;
	size_t		nsets = c->sets.n,
				nvals = c->vals.n,
				nconds = c->conds.n;
	size_t		o_cols,
				o_sets,
				o_vals,
				o_conds,
				o_pool,
				total,
				k;
	char	   *mem,
			   *pool;
	pgmm_stmt  *st;
	const size_t *offs;

	/* counts are bounded by the text length (< 1 GiB): no overflow */
	o_cols = align_up(sizeof(pgmm_stmt));
	o_sets = align_up(o_cols + ncols * sizeof(char *));
	o_vals = align_up(o_sets + nsets * sizeof(char *));
	o_conds = align_up(o_vals + nvals * sizeof(pgmm_value));
	o_pool = align_up(o_conds + nconds * sizeof(pgmm_cond));
	total = o_pool + c->pool.n;
	mem = xmalloc(total ? total : 1);
	if (!mem)
		return NULL;
	st = (pgmm_stmt *) mem;
	memset(st, 0, sizeof *st);
	pool = mem + o_pool;
	if (c->pool.n)
		memcpy(pool, c->pool.p, c->pool.n);

	st->kind = c->kind;
	st->nstatements = c->nstatements;
	st->first_end = c->first_end;
	st->max_param = c->max_param;
	st->schema = res_str(pool, c->schema);
	st->table = res_str(pool, c->table);
	st->ncols = c->kind == PGMM_STMT_INSERT ? c->ncols : 0;
	if (ncols)
	{
		st->cols = (const char **) (mem + o_cols);
		offs = c->cols.p;
		for (k = 0; k < ncols; k++)
			st->cols[k] = pool + offs[k];
	}
	st->nrows = c->nrows;
	st->nvals = c->nvals;
	if (nvals)
	{
		const sval *sv = c->vals.p;

		st->vals = (pgmm_value *) (mem + o_vals);
		for (k = 0; k < nvals; k++)
			res_value(&st->vals[k], &sv[k], pool);
	}
	st->on_conflict = c->on_conflict;
	st->nsets = (int) nsets;
	if (nsets)
	{
		st->set_cols = (const char **) (mem + o_sets);
		offs = c->sets.p;
		for (k = 0; k < nsets; k++)
			st->set_cols[k] = pool + offs[k];
	}
	st->where_present = c->where_present;
	st->nconds = (int) nconds;
	if (nconds)
	{
		const scond *sc = c->conds.p;

		st->conds = (pgmm_cond *) (mem + o_conds);
		for (k = 0; k < nconds; k++)
		{
			st->conds[k].column = pool + sc[k].col;
			res_value(&st->conds[k].value, &sc[k].v, pool);
		}
	}
	st->returning = c->returning;
	st->locking = c->locking;
	st->sub = c->sub;
	st->chain = c->chain;
	st->to_default = c->to_default;
	st->setting = res_str(pool, c->setting);
	st->tag = c->tag;
	return st;
}

int
pgmm_sql_parse(const char *sql, size_t len, pgmm_stmt **out, char *err, size_t errlen)
{
	ctx			c;
	const char *nul;
	int			rc = -1;

	if (err && errlen)
		err[0] = '\0';
	if (!out)
	{
		set_err(err, errlen, "pgmm_sql_parse: out is NULL");
		return -1;
	}
	*out = NULL;
	if (!sql)
	{
		set_err(err, errlen, "pgmm_sql_parse: sql is NULL");
		return -1;
	}
	/* libpq sends the text up to its first NUL: so does the server read it */
	nul = memchr(sql, '\0', len);
	if (nul)
		len = (size_t) (nul - sql);
	if (len > MAX_TEXT_LEN)
	{
		set_err(err, errlen, "statement text too long (%zu bytes, the server takes at most 1 GiB)", len);
		return -1;
	}

	c.s = (const unsigned char *) sql;
	c.len = len;
	c.oom = 0;
	c.t = NULL;
	c.nt = 0;
	c.nstatements = 0;
	c.first_end = len;
	c.max_param = 0;
	c.kind = PGMM_STMT_OTHER;
	c.schema = c.table = c.alias = NONE;
	c.has_from = 0;
	c.ncols = c.nrows = c.nvals = 0;
	c.on_conflict = c.where_present = c.returning = c.locking = 0;
	c.sub = PGMM_SUB_NONE;
	c.chain = c.to_default = 0;
	c.setting = NONE;
	c.tag = "";
	vec_init(&c.toks, c.tok_inl, sizeof c.tok_inl / sizeof c.tok_inl[0], sizeof(tok));
	vec_init(&c.pool, c.pool_inl, sizeof c.pool_inl, 1);
	vec_init(&c.cols, c.cols_inl, sizeof c.cols_inl / sizeof c.cols_inl[0], sizeof(size_t));
	vec_init(&c.sets, c.sets_inl, sizeof c.sets_inl / sizeof c.sets_inl[0], sizeof(size_t));
	vec_init(&c.vals, c.vals_inl, sizeof c.vals_inl / sizeof c.vals_inl[0], sizeof(sval));
	vec_init(&c.conds, c.conds_inl, sizeof c.conds_inl / sizeof c.conds_inl[0], sizeof(scond));

	if (lex_all(&c, err, errlen) < 0)
	{
		rc = c.oom ? PGMM_PARSE_ENOMEM : PGMM_PARSE_ERROR;
		goto done;
	}
	match_groups(&c);
	recognise(&c);
	if (c.oom)
	{
		set_err(err, errlen, "out of memory");
		rc = PGMM_PARSE_ENOMEM;
		goto done;
	}
	*out = build(&c);
	if (!*out)
	{
		set_err(err, errlen, "out of memory");
		rc = PGMM_PARSE_ENOMEM;
		goto done;
	}
	rc = 0;
done:
	vec_free(&c.toks);
	vec_free(&c.pool);
	vec_free(&c.cols);
	vec_free(&c.sets);
	vec_free(&c.vals);
	vec_free(&c.conds);
	return rc;
}

void
pgmm_stmt_free(pgmm_stmt *st)
{
	free(st);
}
