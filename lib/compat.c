/*
 * compat.c -- libpq-shaped functions over a cluster connection, for
 * include/pgmm_compat.h (an unmodified libpq program recompiled against
 * pgmm) and for bindings.  Connection-describing calls answer for the home
 * master; settings (client encoding) go through the router so that every
 * master gets them.
 *
 * Called by applications through pgmm_compat.h and by the bindings;
 * uses conn.c / link.c / exec.c through the public API and router_int.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router_int.h"

/* ------------------------------------------------------------ connecting */

static int
looks_like_conninfo(const char *s)
{
	return strchr(s, '=') != NULL || strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0;
}

/* pgmm_conninfo_scan callback: keep the pgmm_* pairs. */
static int
copy_pgmm_pair(void *arg, const char *key, const char *val, pgmm_buf *err)
{
	(void) err;
	if (strncmp(key, "pgmm_", 5) == 0)
		pgmm_conninfo_append_kv((pgmm_buf *) arg, key, val);
	return 0;
}

/*
 * Expand a connection string given as dbname (libpq's expand_dbname): its
 * pgmm_* options kept as they are, the rest parsed by libpq into key/values.
 * 0 / -1.
 */
static int
append_expanded(pgmm_buf *out, const char *conninfo, pgmm_buf *err)
{
	char *lp = NULL, *perr = NULL;
	pgmm_options o;
	PQconninfoOption *opts, *x;

	if (pgmm_conninfo_split(conninfo, &lp, &o, err) < 0)
		return -1;
	opts = PQconninfoParse(lp, &perr);
	free(lp);
	if (opts == NULL)
	{
		pgmm_buf_append(err, "invalid connection string: ");
		pgmm_buf_append_pqmsg(err, perr ? perr : "out of memory");
		PQfreemem(perr);
		return -1;
	}
	for (x = opts; x->keyword; x++)
		if (x->val)
			pgmm_conninfo_append_kv(out, x->keyword, x->val);
	PQconninfoFree(opts);
	/* The pgmm options of the expanded string, as given. */
	if (strncmp(conninfo, "postgres", 8) == 0)
	{
		const char *q = strchr(conninfo, '?');

		while (q && *q)
		{
			const char *amp;
			size_t n;

			q++;
			amp = strchr(q, '&');
			n = amp ? (size_t) (amp - q) : strlen(q);
			if (n > 5 && strncmp(q, "pgmm_", 5) == 0)
			{
				char *pair = strndup(q, n), *eq = pair ? strchr(pair, '=') : NULL;

				if (pair && eq)
				{
					*eq = '\0';
					pgmm_conninfo_append_kv(out, pair, eq + 1);
				}
				free(pair);
			}
			q = amp;
		}
	}
	else if (pgmm_conninfo_scan(conninfo, copy_pgmm_pair, out, err) < 0)
		return -1;
	return pgmm_buf_ok(out) ? 0 : -1;
}

PGMMconn *
pgmm_connect_params(const char *const *keywords, const char *const *values, int expand_dbname)
{
	pgmm_buf b, err;
	PGMMconn *c;
	int i, expanded = 0;

	if (keywords == NULL || values == NULL)
		return pgmm_connect(NULL);		/* a CONNECTION_BAD handle saying why */
	pgmm_buf_init(&b);
	pgmm_buf_init(&err);
	for (i = 0; keywords[i]; i++)
	{
		if (values[i] == NULL || values[i][0] == '\0')
			continue;
		if (expand_dbname && !expanded && strcmp(keywords[i], "dbname") == 0 && looks_like_conninfo(values[i]))
		{
			expanded = 1;
			if (append_expanded(&b, values[i], &err) < 0)
			{
				/* Let pgmm_connect report the bad string itself. */
				pgmm_buf_free(&b);
				pgmm_buf_free(&err);
				return pgmm_connect(values[i]);
			}
			continue;
		}
		pgmm_conninfo_append_kv(&b, keywords[i], values[i]);
	}
	pgmm_buf_free(&err);
	if (!pgmm_buf_ok(&b))
	{
		pgmm_buf_free(&b);
		return NULL;
	}
	c = pgmm_connect(pgmm_buf_str(&b));
	pgmm_buf_free(&b);
	return c;
}

PGMMconn *
pgmm_setdb_login(const char *pghost, const char *pgport, const char *pgoptions, const char *pgtty,
                 const char *dbName, const char *login, const char *pwd)
{
	const char *k[8] = {"host", "port", "options", "dbname", "user", "password", NULL, NULL};
	const char *v[8] = {pghost, pgport, pgoptions, dbName, login, pwd, NULL, NULL};

	(void) pgtty;
	return pgmm_connect_params(k, v, 1);
}

/* ------------------------------------------------------------ describing */

char *
pgmm_conn_error_message(const PGMMconn *conn)
{
	return (char *) pgmm_error_message(conn);
}

int
pgmm_server_version(const PGMMconn *conn)
{
	const PGconn *pq = pgmm_router_pq_const(conn);

	return pq ? PQserverVersion(pq) : 0;
}

int
pgmm_protocol_version(const PGMMconn *conn)
{
	const PGconn *pq = pgmm_router_pq_const(conn);

	return pq ? PQprotocolVersion(pq) : 0;
}

const char *
pgmm_parameter_status(const PGMMconn *conn, const char *paramName)
{
	const PGconn *pq = pgmm_router_pq_const(conn);

	return pq && paramName ? PQparameterStatus(pq, paramName) : NULL;
}

#define DESCRIBE(fn, pqfn) \
char * \
fn(const PGMMconn *conn) \
{ \
	const PGconn *pq = pgmm_router_pq_const(conn); \
	return pq ? pqfn(pq) : NULL; \
}

DESCRIBE(pgmm_conn_db, PQdb)
DESCRIBE(pgmm_conn_user, PQuser)
DESCRIBE(pgmm_conn_pass, PQpass)
DESCRIBE(pgmm_conn_host, PQhost)
DESCRIBE(pgmm_conn_port, PQport)
DESCRIBE(pgmm_conn_options, PQoptions)

int
pgmm_backend_pid(const PGMMconn *conn)
{
	const PGconn *pq = pgmm_router_pq_const(conn);

	return pq ? PQbackendPID(pq) : 0;
}

int
pgmm_client_encoding(const PGMMconn *conn)
{
	const PGconn *pq = pgmm_router_pq_const(conn);

	return pq ? PQclientEncoding(pq) : -1;
}

int
pgmm_set_client_encoding(PGMMconn *conn, const char *encoding)
{
	pgmm_buf sql;
	PGresult *r;
	int rc;

	if (conn == NULL || encoding == NULL)
		return -1;
	pgmm_buf_init(&sql);
	pgmm_buf_append(&sql, "SET client_encoding TO ");
	pgmm_buf_literal(&sql, encoding);
	if (!pgmm_buf_ok(&sql))
	{
		pgmm_buf_free(&sql);
		return -1;
	}
	r = pgmm_exec(conn, pgmm_buf_str(&sql));
	pgmm_buf_free(&sql);
	rc = r && PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
	PQclear(r);
	return rc;
}

int
pgmm_connection_needs_password(const PGMMconn *conn)
{
	const PGconn *pq = pgmm_router_pq_const(conn);

	return pq ? PQconnectionNeedsPassword(pq) : 0;
}

int
pgmm_connection_used_password(const PGMMconn *conn)
{
	const PGconn *pq = pgmm_router_pq_const(conn);

	return pq ? PQconnectionUsedPassword(pq) : 0;
}

int
pgmm_ssl_in_use(const PGMMconn *conn)
{
	const PGconn *pq = pgmm_router_pq_const(conn);

	return pq ? PQsslInUse((PGconn *) pq) : 0;
}

/* ------------------------------------------------------------ escaping */

char *
pgmm_escape_literal(PGMMconn *conn, const char *str, size_t len)
{
	PGconn *pq = pgmm_router_pq(conn);

	return pq && str ? PQescapeLiteral(pq, str, len) : NULL;
}

char *
pgmm_escape_identifier(PGMMconn *conn, const char *str, size_t len)
{
	PGconn *pq = pgmm_router_pq(conn);

	return pq && str ? PQescapeIdentifier(pq, str, len) : NULL;
}

size_t
pgmm_escape_string_conn(PGMMconn *conn, char *to, const char *from, size_t length, int *error)
{
	PGconn *pq = pgmm_router_pq(conn);

	if (pq == NULL || to == NULL || from == NULL)
	{
		if (error)
			*error = 1;
		if (to)
			to[0] = '\0';
		return 0;
	}
	return PQescapeStringConn(pq, to, from, length, error);
}

unsigned char *
pgmm_escape_bytea_conn(PGMMconn *conn, const unsigned char *from, size_t from_length, size_t *to_length)
{
	PGconn *pq = pgmm_router_pq(conn);

	return pq && from ? PQescapeByteaConn(pq, from, from_length, to_length) : NULL;
}

PGresult *
pgmm_make_empty_result(PGMMconn *conn, ExecStatusType status)
{
	return PQmakeEmptyPGresult(conn ? pgmm_router_pq(conn) : NULL, status);
}
