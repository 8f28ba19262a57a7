/*
 * util.c -- growable strings and small helpers used everywhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgmm_int.h"

static const char oom_text[] = "out of memory";

void
pgmm_buf_init(pgmm_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->broken = 0;
}

void
pgmm_buf_reset(pgmm_buf *b)
{
	b->len = 0;
	b->broken = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
pgmm_buf_free(pgmm_buf *b)
{
	free(b->data);
	pgmm_buf_init(b);
}

int
pgmm_buf_ok(const pgmm_buf *b)
{
	return !b->broken;
}

/* Make room for n more bytes plus the terminator. */
static int
buf_reserve(pgmm_buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (b->broken)
		return -1;
	if (n > SIZE_MAX / 2 - b->len)
	{
		b->broken = 1;
		return -1;
	}
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	p = realloc(b->data, cap);
	if (p == NULL)
	{
		b->broken = 1;
		return -1;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

void
pgmm_buf_append_len(pgmm_buf *b, const char *s, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return;
	if (n)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
pgmm_buf_append(pgmm_buf *b, const char *s)
{
	pgmm_buf_append_len(b, s ? s : "(null)", strlen(s ? s : "(null)"));
}

void
pgmm_buf_vprintf(pgmm_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	if (buf_reserve(b, 128) < 0)
		return;
	va_copy(ap2, ap);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
	va_end(ap2);
	if (n < 0)
	{
		b->broken = 1;
		return;
	}
	if ((size_t) n >= b->cap - b->len)
	{
		if (buf_reserve(b, (size_t) n) < 0)
			return;
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t) n;
}

void
pgmm_buf_printf(pgmm_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pgmm_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

static void
buf_quoted(pgmm_buf *b, const char *s, char q)
{
	const char *p;

	pgmm_buf_append_len(b, &q, 1);
	for (p = s; *p; p++)
	{
		if (*p == q)
			pgmm_buf_append_len(b, &q, 1);
		pgmm_buf_append_len(b, p, 1);
	}
	pgmm_buf_append_len(b, &q, 1);
}

void
pgmm_buf_literal(pgmm_buf *b, const char *s)
{
	buf_quoted(b, s, '\'');
}

void
pgmm_buf_ident(pgmm_buf *b, const char *s)
{
	buf_quoted(b, s, '"');
}

const char *
pgmm_buf_str(const pgmm_buf *b)
{
	if (b->broken)
		return oom_text;
	return b->data ? b->data : "";
}

char *
pgmm_buf_take(pgmm_buf *b)
{
	char *p;

	if (b->broken)
	{
		pgmm_buf_free(b);
		return NULL;
	}
	p = b->data ? b->data : strdup("");
	pgmm_buf_init(b);
	return p;
}

char *
pgmm_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

void
pgmm_buf_append_pqmsg(pgmm_buf *b, const char *msg)
{
	size_t n;

	if (msg == NULL)
		msg = "(no message)";
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	pgmm_buf_append_len(b, msg, n);
}

/*
 * pgmm's own frames in an error's CONTEXT.  PL/pgSQL adds a frame
 * ("PL/pgSQL function pgmm.raise(text,text,text,text) line 4 at RAISE") to
 * every error raised in a function, and PostgreSQL 15 and 17 offer no way
 * to leave it out on the server (function SET options, log settings, SQL
 * wrappers and re-raising all keep it): so the client drops the frames of
 * pgmm's functions, keeping every other line (an application function that
 * fired a guard is the application's context).  A frame is pgmm's when it
 * names one of the functions of lib/sql/ in schema pgmm and PL/pgSQL
 * (matched on those words only, so translated messages match too).
 */
static const char *const own_functions[] = {
	"raise(", "guard(", "guard_truncate(", "next_id(", "int_remainder(",
	"sync_local(", "_guard(", "_publish(", NULL
};

static int
own_frame(const char *line, size_t len)
{
	const char *p = line, *end = line + len;
	int plpgsql = 0, own = 0;

	for (p = line; p < end; p++)
	{
		if ((size_t) (end - p) >= 8 && memcmp(p, "PL/pgSQL", 8) == 0)
			plpgsql = 1;
		if ((size_t) (end - p) > 5 && memcmp(p, "pgmm.", 5) == 0 && (p == line || p[-1] == ' ' || p[-1] == '"'))
		{
			const char *const *f;

			for (f = own_functions; *f; f++)
				if ((size_t) (end - p - 5) >= strlen(*f) && memcmp(p + 5, *f, strlen(*f)) == 0)
					own = 1;
		}
	}
	return plpgsql && own;
}

int
pgmm_context_strip(const char *ctx, char **out)
{
	pgmm_buf b;
	const char *p;
	int dropped = 0;

	*out = NULL;
	if (ctx == NULL)
		return 0;
	pgmm_buf_init(&b);
	for (p = ctx; *p;)
	{
		size_t n = strcspn(p, "\n");

		if (own_frame(p, n))
			dropped = 1;
		else
		{
			if (b.len)
				pgmm_buf_append(&b, "\n");
			pgmm_buf_append_len(&b, p, n);
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	if (!dropped)
	{
		pgmm_buf_free(&b);
		return 0;
	}
	*out = pgmm_buf_take(&b);
	return *out ? 1 : -1;
}

char *
pgmm_errmsg_replace_context(const char *msg, const char *ctx, const char *clean)
{
	const char *at = NULL, *p, *from, *to;
	pgmm_buf b;

	if (msg == NULL || ctx == NULL || ctx[0] == '\0')
		return NULL;
	/* The last occurrence: the context block follows message, DETAIL, HINT. */
	for (p = strstr(msg, ctx); p; p = strstr(p + 1, ctx))
		at = p;
	if (at == NULL)
		return NULL;
	from = at;
	to = at + strlen(ctx);
	if (clean == NULL || clean[0] == '\0')
	{
		/* Drop the whole "CONTEXT:  ...\n" line, label included. */
		while (from > msg && from[-1] != '\n')
			from--;
		if (*to == '\n')
			to++;
	}
	pgmm_buf_init(&b);
	pgmm_buf_append_len(&b, msg, (size_t) (from - msg));
	if (clean && clean[0])
		pgmm_buf_append(&b, clean);
	pgmm_buf_append(&b, to);
	return pgmm_buf_take(&b);
}

void
pgmm_buf_append_pqresult(pgmm_buf *b, const PGresult *res)
{
	const char *msg = PQresultErrorMessage(res);
	const char *ctx = PQresultErrorField(res, PG_DIAG_CONTEXT);
	char *clean = NULL, *m = NULL;

	if (pgmm_context_strip(ctx, &clean) > 0)
		m = pgmm_errmsg_replace_context(msg, ctx, clean);
	pgmm_buf_append_pqmsg(b, m ? m : msg);
	free(m);
	free(clean);
}

void
pgmm_buf_append_pqerror(pgmm_buf *b, const PGresult *res, const PGconn *conn)
{
	if (res)
		pgmm_buf_append_pqresult(b, res);
	else
		pgmm_buf_append_pqmsg(b, conn ? PQerrorMessage(conn) : "out of memory");
}

PGresult *
pgmm_exec_check(PGconn *conn, const char *node, const char *sql,
                ExecStatusType want, pgmm_buf *err)
{
	PGresult *res;

	if (conn == NULL)
	{
		pgmm_buf_printf(err, "master %s: not connected", node);
		return NULL;
	}
	res = PQexec(conn, sql);
	if (res == NULL || PQresultStatus(res) != want)
	{
		pgmm_buf_printf(err, "master %s: ", node);
		if (res)
			pgmm_buf_append_pqresult(err, res);
		else
			pgmm_buf_append_pqmsg(err, PQerrorMessage(conn));
		PQclear(res);
		return NULL;
	}
	return res;
}

int
pgmm_exec_cmd(PGconn *conn, const char *node, const char *sql, pgmm_buf *err)
{
	PGresult *res;

	if (conn == NULL)
	{
		pgmm_buf_printf(err, "master %s: not connected", node);
		return -1;
	}
	/* A command or a query: the last result of a multi-statement string
	 * may be either. */
	res = PQexec(conn, sql);
	if (res == NULL || (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK))
	{
		pgmm_buf_printf(err, "master %s: ", node);
		if (res)
			pgmm_buf_append_pqresult(err, res);
		else
			pgmm_buf_append_pqmsg(err, PQerrorMessage(conn));
		if (res && PQresultErrorMessage(res)[0] == '\0')
			pgmm_buf_printf(err, "unexpected result %s", PQresStatus(PQresultStatus(res)));
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

const char *
pgmm_version(void)
{
	return PGMM_VERSION_STRING;
}
