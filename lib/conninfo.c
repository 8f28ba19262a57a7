/*
 * conninfo.c -- pgmm's options inside a libpq connection string, and
 * conninfo rewriting (secrets stripped before anything is stored).
 *
 * pgmm's options all start with "pgmm_" so they can never clash with a
 * libpq keyword; they are removed before libpq parses the rest, so a typo
 * in a libpq keyword is still reported by libpq itself.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "pgmm_int.h"

/*
 * Keys of the caller's conninfo that reach the other masters when their
 * catalog conninfo leaves them out (credentials, TLS, timeouts, session
 * options): shared by the router and the admin API so both reach the
 * masters the same way.
 */
const char *const pgmm_conninfo_carry_keys[] = {
	"user", "password", "passfile", "sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl",
	"sslpassword", "sslcompression", "channel_binding", "gssencmode", "krbsrvname", "connect_timeout",
	"application_name", "fallback_application_name", "options", "client_encoding", "keepalives",
	"keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout", NULL
};

static int
is_uri(const char *s)
{
	return strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0;
}

static const char *const read_choices[] = {"local", "any", "owner", NULL};	/* = PGMM_READ_* */

#define OPT(f) offsetof(pgmm_options, f)

const pgmm_option_def pgmm_option_defs[] = {
	{"pgmm_read", PGMM_OPT_ENUM, 0, 0, read_choices, "local", OPT(read_policy),
	 "where a SELECT goes outside a transaction: the home master; round-robin over the masters that "
	 "are up (statements on pgmm tables only); the owner of the key when the WHERE clause gives it "
	 "(read-your-writes), the owner of a reference table, else home"},
	{"pgmm_retries", PGMM_OPT_INT, 0, 10, NULL, "1", OPT(retries),
	 "a write refused with PM001 outside a transaction is retried N times after refreshing the map"},
	{"pgmm_id_block", PGMM_OPT_INT, 1, 1000000, NULL, "100", OPT(id_block),
	 "IDs reserved per round trip by pgmm_next_id"},
	{"pgmm_plan_cache", PGMM_OPT_INT, 0, 1000000, NULL, "1024", OPT(plan_cache),
	 "statement plans kept (LRU, SipHash-keyed); 0 disables the cache"},
	{"pgmm_lazy", PGMM_OPT_INT, 0, 1, NULL, "1", OPT(lazy),
	 "0 connects every master at pgmm_connect"},
	{"pgmm_reconnect_interval", PGMM_OPT_INT, 0, 3600000, NULL, "1000", OPT(reconnect_interval),
	 "milliseconds a master that failed to connect is skipped by balanced choices; a statement that "
	 "needs that master always tries to reconnect at once; also the least time between two checks of "
	 "the catalog epoch on another master after one was found unreachable (failover)"},
	{"pgmm_timeout", PGMM_OPT_INT, 0, 3600000, NULL, "10000", OPT(timeout),
	 "milliseconds any one wait on one master may take (connecting, a statement); past it the master "
	 "is marked down and the statement fails with PM005 (or, when nothing was sent yet and another "
	 "master can serve it, goes there); 0: no bound"},
	{"pgmm_2pc", PGMM_OPT_INT, 0, 1, NULL, "0", OPT(twopc),
	 "commit a broadcast UPDATE/DELETE with two-phase commit (PREPARE TRANSACTION / COMMIT PREPARED), "
	 "atomic across masters"},
	{"pgmm_freeze_wait", PGMM_OPT_INT, 0, 600000, NULL, "5000", OPT(freeze_wait),
	 "milliseconds a statement refused with PM006 (a catalog change froze its table) is retried, with "
	 "short backoff, before the error is returned; only outside a transaction, where nothing ran; 0 "
	 "fails at once"},
	{NULL, PGMM_OPT_INT, 0, 0, NULL, NULL, 0, NULL}
};

/* Set option d from its text; -1 with err on a bad value. */
static int
set_option(pgmm_options *o, const pgmm_option_def *d, const char *val, pgmm_buf *err)
{
	int *field = (int *) (void *) ((char *) o + d->offset);

	if (d->type == PGMM_OPT_ENUM)
	{
		int k;

		for (k = 0; d->choices[k]; k++)
			if (strcmp(val, d->choices[k]) == 0)
			{
				*field = k;
				return 0;
			}
		pgmm_buf_printf(err, "invalid value for pgmm option \"%s\": \"%s\" (expected ", d->name, val);
		for (k = 0; d->choices[k]; k++)
			pgmm_buf_printf(err, "%s%s", k == 0 ? "" : d->choices[k + 1] ? ", " : " or ", d->choices[k]);
		pgmm_buf_append(err, ")");
		return -1;
	}
	{
		char *end;
		long v;

		errno = 0;
		v = strtol(val, &end, 10);
		if (errno || end == val || *end != '\0' || v < d->min || v > d->max)
		{
			pgmm_buf_printf(err, "invalid value for pgmm option \"%s\": \"%s\" (expected an integer from %ld "
			                "to %ld)", d->name, val, d->min, d->max);
			return -1;
		}
		*field = (int) v;
	}
	return 0;
}

/* Every option at its default. */
static void
options_default(pgmm_options *o)
{
	const pgmm_option_def *d;
	pgmm_buf ignore;

	memset(o, 0, sizeof *o);
	pgmm_buf_init(&ignore);
	for (d = pgmm_option_defs; d->name; d++)
		(void) set_option(o, d, d->def, &ignore);	/* the table's defaults are valid (unit-tested) */
	pgmm_buf_free(&ignore);
}

/* Apply one pgmm_* option; -1 with err on unknown key or bad value. */
static int
apply_option(pgmm_options *o, const char *key, const char *val, pgmm_buf *err)
{
	const pgmm_option_def *d;

	for (d = pgmm_option_defs; d->name; d++)
		if (strcmp(key, d->name) == 0)
			return set_option(o, d, val, err);
	pgmm_buf_printf(err, "unknown pgmm option \"%s\" (known:", key);
	for (d = pgmm_option_defs; d->name; d++)
		pgmm_buf_printf(err, "%s %s", d == pgmm_option_defs ? "" : ",", d->name);
	pgmm_buf_append(err, ")");
	return -1;
}

/* pgmm_conninfo_scan (pgmm_int.h): the one keyword/value scanner, used by
 * the option split here and by compat.c. */
int
pgmm_conninfo_scan(const char *s, pgmm_kv_fn fn, void *arg, pgmm_buf *err)
{
	pgmm_buf key, val;
	int rc = 0;

	if (s == NULL)
	{
		pgmm_buf_append(err, "connection string is NULL");
		return -1;
	}

	pgmm_buf_init(&key);
	pgmm_buf_init(&val);
	for (;;)
	{
		while (isspace((unsigned char) *s))
			s++;
		if (*s == '\0')
			break;
		pgmm_buf_reset(&key);
		pgmm_buf_reset(&val);
		while (*s && *s != '=' && !isspace((unsigned char) *s))
			pgmm_buf_append_len(&key, s++, 1);
		while (isspace((unsigned char) *s))
			s++;
		if (*s != '=')
		{
			pgmm_buf_printf(err, "invalid connection string: missing \"=\" after \"%s\"", pgmm_buf_str(&key));
			rc = -1;
			break;
		}
		s++;
		while (isspace((unsigned char) *s))
			s++;
		if (*s == '\'')
		{
			s++;
			while (*s && *s != '\'')
			{
				if (*s == '\\' && s[1])
					s++;
				pgmm_buf_append_len(&val, s++, 1);
			}
			if (*s != '\'')
			{
				pgmm_buf_printf(err, "invalid connection string: unterminated quoted value for \"%s\"", pgmm_buf_str(&key));
				rc = -1;
				break;
			}
			s++;
		}
		else
		{
			while (*s && !isspace((unsigned char) *s))
			{
				if (*s == '\\' && s[1])
					s++;
				pgmm_buf_append_len(&val, s++, 1);
			}
		}
		if (!pgmm_buf_ok(&key) || !pgmm_buf_ok(&val))
		{
			pgmm_buf_append(err, "out of memory");
			rc = -1;
			break;
		}
		if (fn(arg, pgmm_buf_str(&key), pgmm_buf_str(&val), err) < 0)
		{
			rc = -1;
			break;
		}
	}
	pgmm_buf_free(&key);
	pgmm_buf_free(&val);
	return rc;
}

void
pgmm_conninfo_append_kv(pgmm_buf *out, const char *key, const char *val)
{
	const char *p;

	if (out->len)
		pgmm_buf_append(out, " ");
	pgmm_buf_append(out, key);
	pgmm_buf_append(out, "='");
	for (p = val; *p; p++)
	{
		if (*p == '\'' || *p == '\\')
			pgmm_buf_append_len(out, "\\", 1);
		pgmm_buf_append_len(out, p, 1);
	}
	pgmm_buf_append(out, "'");
}

typedef struct split_state
{
	pgmm_buf     *out;
	pgmm_options *opts;
} split_state;

static int
split_cb(void *arg, const char *key, const char *val, pgmm_buf *err)
{
	split_state *st = arg;

	if (strncmp(key, "pgmm_", 5) == 0)
		return apply_option(st->opts, key, val, err);
	pgmm_conninfo_append_kv(st->out, key, val);
	return 0;
}

/* URI form: remove pgmm_* parameters from the query part. */
static int
split_uri(const char *s, pgmm_buf *out, pgmm_options *opts, pgmm_buf *err)
{
	const char *q = strchr(s, '?');
	const char *p;
	int first = 1;

	if (q == NULL)
	{
		pgmm_buf_append(out, s);
		return 0;
	}
	pgmm_buf_append_len(out, s, (size_t) (q - s));
	p = q + 1;
	while (*p)
	{
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t) (amp - p) : strlen(p);

		if (n > 5 && strncmp(p, "pgmm_", 5) == 0)
		{
			char *pair = strndup(p, n);
			char *eq;
			int rc;

			if (pair == NULL)
			{
				pgmm_buf_append(err, "out of memory");
				return -1;
			}
			eq = strchr(pair, '=');
			if (eq == NULL)
			{
				pgmm_buf_printf(err, "invalid connection URI: pgmm option \"%s\" has no value", pair);
				free(pair);
				return -1;
			}
			*eq = '\0';
			rc = apply_option(opts, pair, eq + 1, err);
			free(pair);
			if (rc < 0)
				return -1;
		}
		else if (n > 0)
		{
			pgmm_buf_append(out, first ? "?" : "&");
			pgmm_buf_append_len(out, p, n);
			first = 0;
		}
		p += n;
		if (*p == '&')
			p++;
	}
	return 0;
}

int
pgmm_conninfo_split(const char *conninfo, char **libpq_part,
                    pgmm_options *opts, pgmm_buf *err)
{
	pgmm_buf out;
	PQconninfoOption *parsed;
	char *perr = NULL;
	int rc;

	options_default(opts);
	*libpq_part = NULL;
	if (conninfo == NULL)
	{
		pgmm_buf_append(err, "connection string is NULL");
		return -1;
	}
	pgmm_buf_init(&out);
	if (is_uri(conninfo))
		rc = split_uri(conninfo, &out, opts, err);
	else
	{
		split_state st = {&out, opts};

		rc = pgmm_conninfo_scan(conninfo, split_cb, &st, err);
	}
	if (rc == 0 && !pgmm_buf_ok(&out))
	{
		pgmm_buf_append(err, "out of memory");
		rc = -1;
	}
	if (rc < 0)
	{
		pgmm_buf_free(&out);
		return -1;
	}
	/* Let libpq judge the rest now, so garbage fails with its own words. */
	parsed = PQconninfoParse(pgmm_buf_str(&out), &perr);
	if (parsed == NULL)
	{
		pgmm_buf_append(err, "invalid connection string: ");
		pgmm_buf_append_pqmsg(err, perr ? perr : "out of memory");
		PQfreemem(perr);
		pgmm_buf_free(&out);
		return -1;
	}
	PQconninfoFree(parsed);
	*libpq_part = pgmm_buf_take(&out);
	if (*libpq_part == NULL)
	{
		pgmm_buf_append(err, "out of memory");
		return -1;
	}
	return 0;
}

static int
is_secret(const char *key)
{
	return strcmp(key, "password") == 0 || strcmp(key, "sslpassword") == 0;
}

static PQconninfoOption *
parse_plain(const char *conninfo, pgmm_buf *err)
{
	char *lp = NULL;
	pgmm_options o;
	PQconninfoOption *opts;
	char *perr = NULL;

	if (pgmm_conninfo_split(conninfo, &lp, &o, err) < 0)
		return NULL;
	opts = PQconninfoParse(lp, &perr);
	free(lp);
	if (opts == NULL)
	{
		pgmm_buf_append(err, "invalid connection string: ");
		pgmm_buf_append_pqmsg(err, perr ? perr : "out of memory");
		PQfreemem(perr);
	}
	return opts;
}

char *
pgmm_conninfo_strip_secrets(const char *conninfo, pgmm_buf *err)
{
	PQconninfoOption *opts = parse_plain(conninfo, err), *o;
	pgmm_buf out;

	if (opts == NULL)
		return NULL;
	pgmm_buf_init(&out);
	for (o = opts; o->keyword; o++)
		if (o->val && o->val[0] && !is_secret(o->keyword))
			pgmm_conninfo_append_kv(&out, o->keyword, o->val);
	PQconninfoFree(opts);
	if (!pgmm_buf_ok(&out))
	{
		pgmm_buf_append(err, "out of memory");
		pgmm_buf_free(&out);
		return NULL;
	}
	return pgmm_buf_take(&out);
}

char *
pgmm_conninfo_merge(const char *base, const char *overrides,
                    const char *const *which, pgmm_buf *err)
{
	PQconninfoOption *b, *ov = NULL, *o, *v;
	pgmm_buf out;

	b = parse_plain(base, err);
	if (b == NULL)
		return NULL;
	if (overrides && (ov = parse_plain(overrides, err)) == NULL)
	{
		PQconninfoFree(b);
		return NULL;
	}
	pgmm_buf_init(&out);
	for (o = b; o->keyword; o++)
	{
		const char *val = o->val;

		if (ov && which)
		{
			const char *const *w;

			for (w = which; *w; w++)
				if (strcmp(*w, o->keyword) == 0)
					for (v = ov; v->keyword; v++)
						if (strcmp(v->keyword, o->keyword) == 0 && v->val && v->val[0] &&
						    (val == NULL || val[0] == '\0'))
							val = v->val;
		}
		if (val && val[0])
			pgmm_conninfo_append_kv(&out, o->keyword, val);
	}
	PQconninfoFree(b);
	if (ov)
		PQconninfoFree(ov);
	if (!pgmm_buf_ok(&out))
	{
		pgmm_buf_append(err, "out of memory");
		pgmm_buf_free(&out);
		return NULL;
	}
	return pgmm_buf_take(&out);
}

char *
pgmm_conninfo_describe(const char *conninfo)
{
	pgmm_buf err, out;
	PQconninfoOption *opts, *o;

	pgmm_buf_init(&err);
	pgmm_buf_init(&out);
	opts = parse_plain(conninfo, &err);
	pgmm_buf_free(&err);
	if (opts == NULL)
		return strdup("(unparseable conninfo)");
	for (o = opts; o->keyword; o++)
		if (o->val && o->val[0] &&
		    (strcmp(o->keyword, "host") == 0 || strcmp(o->keyword, "hostaddr") == 0 ||
		     strcmp(o->keyword, "port") == 0 || strcmp(o->keyword, "dbname") == 0))
		{
			if (out.len)
				pgmm_buf_append(&out, " ");
			pgmm_buf_printf(&out, "%s=%s", o->keyword, o->val);
		}
	PQconninfoFree(opts);
	return pgmm_buf_take(&out);
}
