/*
 * admin_durability.c -- zero-loss mode: `pgmm durability off | any N | all`.
 *
 * The mode lives in the catalog (pgmm.cluster.durability, set by one catalog
 * change) and is applied to the servers afterwards: each live master's
 * synchronous_standby_names names the apply workers of the subscriptions
 * that subscribe to it on the other live masters (an apply worker's
 * walsender reports the subscription name as its application_name), so a
 * commit there is acknowledged only once N of them (all of them) have
 * flushed it.  Those subscriptions get synchronous_commit = local: with the
 * default (off) the apply worker reports its flush position lazily and
 * synchronous commits collapse to a few per second (DESIGN.md's figures:
 * 17 tps against 5,325 with local).  Not `on` (nor remote_*): in the full
 * mesh every master waits for its subscribers, so an apply worker whose own
 * commit waited for synchronous replication would wait for apply workers
 * that wait for it -- every commit of the cluster stalled at once (seen in
 * the kill test: writers stuck from the first second).  `local` flushes
 * the applied transaction to the subscriber's disk before its flush
 * position is reported, which is all the publisher's wait needs.
 *
 * A failed master (F's `pgmm failover`) is not among the handle's masters,
 * so its subscriptions are left out and a commit never waits for it; ANY N
 * is capped at the number of subscribers left.
 *
 * The parser and the builder are pure (unit tests: tests/unit/check_admin.c).
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_int.h"

/* ------------------------------------------------------------ pure */

int
admin_durability_parse(const char *text, int nmasters, admin_durability *d, pgmm_buf *err)
{
	const char *p = text;
	char word[8];
	size_t n = 0;

	memset(d, 0, sizeof *d);
	if (text == NULL)
	{
		pgmm_buf_append(err, "durability: no mode given (off, any N or all)");
		return -1;
	}
	while (isspace((unsigned char) *p))
		p++;
	while (isalpha((unsigned char) *p) && n < sizeof word - 1)
		word[n++] = (char) tolower((unsigned char) *p++);
	word[n] = '\0';
	if (strcmp(word, "off") == 0 || strcmp(word, "all") == 0)
	{
		while (isspace((unsigned char) *p))
			p++;
		if (*p != '\0')
			goto bad;
		d->mode = word[1] == 'f' ? ADMIN_DURABILITY_OFF : ADMIN_DURABILITY_ALL;
		if (d->mode == ADMIN_DURABILITY_ALL && nmasters < 2)
		{
			pgmm_buf_printf(err, "durability all: the cluster has %d master, so there is no other master to wait for",
			                nmasters);
			return -1;
		}
		return 0;
	}
	if (strcmp(word, "any") == 0 && isspace((unsigned char) *p))
	{
		char *end;
		long v;

		while (isspace((unsigned char) *p))
			p++;
		if (!isdigit((unsigned char) *p))
			goto bad;
		v = strtol(p, &end, 10);
		while (isspace((unsigned char) *end))
			end++;
		if (*end != '\0')
			goto bad;
		if (v < 1)
		{
			pgmm_buf_printf(err, "durability any %ld: N must be at least 1 (use `off` for no waiting)", v);
			return -1;
		}
		if (v >= nmasters)
		{
			pgmm_buf_printf(err, "durability any %ld: N must be less than the number of masters (%d): a commit "
			                "waits for N other masters to have it", v, nmasters);
			return -1;
		}
		d->mode = ADMIN_DURABILITY_ANY;
		d->n = (int) v;
		return 0;
	}
bad:
	pgmm_buf_printf(err, "durability: \"%s\" is not a mode (expected off, any N or all)", text);
	return -1;
}

void
admin_durability_text(const admin_durability *d, pgmm_buf *b)
{
	if (d->mode == ADMIN_DURABILITY_ANY)
		pgmm_buf_printf(b, "any %d", d->n);
	else
		pgmm_buf_append(b, d->mode == ADMIN_DURABILITY_ALL ? "all" : "off");
}

void
admin_build_standby_names(pgmm_buf *b, const admin_durability *d, const char *const *names, int n)
{
	int k;

	if (d->mode == ADMIN_DURABILITY_OFF || n <= 0)
		return;					/* '': commits wait for nobody */
	if (d->mode == ADMIN_DURABILITY_ANY)
		pgmm_buf_printf(b, "ANY %d (", d->n < n ? d->n : n);
	else
		pgmm_buf_printf(b, "FIRST %d (", n);
	for (k = 0; k < n; k++)
	{
		const char *s;

		pgmm_buf_append(b, k ? ", \"" : "\"");
		/* application_name-style names: a double quote is doubled */
		for (s = names[k]; *s; s++)
			pgmm_buf_append_len(b, *s == '"' ? "\"\"" : s, *s == '"' ? 2 : 1);
		pgmm_buf_append(b, "\"");
	}
	pgmm_buf_append(b, ")");
}

/* ------------------------------------------------------------ servers */

/* The catalog's mode, read on the handle's home master; 0 / -1. */
static int
read_mode(PGMMadmin *a, admin_durability *d)
{
	PGresult *r = admin_query(a, a->home, "SELECT durability FROM pgmm.cluster", PGRES_TUPLES_OK);
	int rc;

	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1)
	{
		admin_seterr(a, "master %s: pgmm.cluster has %d rows (expected 1)", a->nodes[a->home].name, PQntuples(r));
		PQclear(r);
		return -1;
	}
	/* Whatever the number of masters now (some may have failed): the
	 * builder caps ANY N at the subscribers left. */
	rc = admin_durability_parse(PQgetvalue(r, 0, 0), INT_MAX, d, &a->err);
	PQclear(r);
	return rc;
}

/* ALTER SUBSCRIPTION ... SET (synchronous_commit = v) for every pgmm
 * subscription between the handle's masters; 0 / -1. */
static int
set_sub_commit(PGMMadmin *a, const char *v)
{
	int s, p;

	for (s = 0; s < a->nnodes; s++)
		for (p = 0; p < a->nnodes; p++)
		{
			pgmm_buf sql;
			int rc;

			if (p == s)
				continue;
			pgmm_buf_init(&sql);
			pgmm_buf_append(&sql, "ALTER SUBSCRIPTION ");
			admin_build_sub_name(&sql, a->nodes[p].name, a->nodes[s].name);
			pgmm_buf_printf(&sql, " SET (synchronous_commit = %s)", v);
			rc = pgmm_buf_ok(&sql) ? admin_run(a, s, pgmm_buf_str(&sql)) : -1;
			if (!pgmm_buf_ok(&sql))
				admin_seterr(a, "out of memory");
			pgmm_buf_free(&sql);
			if (rc < 0)
				return -1;
		}
	return 0;
}

/* synchronous_standby_names of master p from mode d; 0 / -1. */
static int
set_standby_names(PGMMadmin *a, int p, const admin_durability *d)
{
	const char **names = calloc((size_t) a->nnodes + 1, sizeof *names);
	pgmm_buf *bufs = calloc((size_t) a->nnodes + 1, sizeof *bufs);
	pgmm_buf value, sql;
	int s, n = 0, rc = -1;

	pgmm_buf_init(&value);
	pgmm_buf_init(&sql);
	if (names == NULL || bufs == NULL)
		goto oom;
	for (s = 0; s < a->nnodes; s++)
	{
		pgmm_buf_init(&bufs[s]);
		if (s == p)
			continue;
		admin_build_sub_name(&bufs[s], a->nodes[p].name, a->nodes[s].name);
		if (!pgmm_buf_ok(&bufs[s]))
			goto oom;
		names[n++] = pgmm_buf_str(&bufs[s]);
	}
	admin_build_standby_names(&value, d, names, n);
	if (value.len == 0)
		pgmm_buf_append(&sql, "ALTER SYSTEM RESET synchronous_standby_names");
	else
	{
		pgmm_buf_append(&sql, "ALTER SYSTEM SET synchronous_standby_names = ");
		pgmm_buf_literal(&sql, pgmm_buf_str(&value));
	}
	if (!pgmm_buf_ok(&sql) || !pgmm_buf_ok(&value))
		goto oom;
	if (admin_run(a, p, pgmm_buf_str(&sql)) < 0 || admin_run(a, p, "SELECT pg_catalog.pg_reload_conf()") < 0)
		goto out;
	if (d->mode == ADMIN_DURABILITY_ANY && d->n > n)
		admin_notice(a, "master %s: only %d other master%s left to wait for (durability any %d is capped at %d)",
		             a->nodes[p].name, n, n == 1 ? "" : "s", d->n, n);
	rc = 0;
	goto out;
oom:
	admin_seterr(a, "out of memory");
out:
	if (bufs)
		for (s = 0; s < a->nnodes; s++)
			pgmm_buf_free(&bufs[s]);
	free(bufs);
	free(names);
	pgmm_buf_free(&value);
	pgmm_buf_free(&sql);
	return rc;
}

int
admin_durability_apply(PGMMadmin *a)
{
	admin_durability d;
	int p;

	if (a == NULL || !a->ok)
		return -1;
	if (a->in_txn)
	{
		admin_seterr(a, "durability: ALTER SYSTEM cannot run inside the catalog change's transaction");
		return -1;
	}
	if (read_mode(a, &d) < 0)
		return -1;
	if (d.mode != ADMIN_DURABILITY_OFF)
	{
		/* The apply workers must report each commit's flush at once
		 * before any commit waits for them. */
		if (set_sub_commit(a, "local") < 0)
			return -1;
		for (p = 0; p < a->nnodes; p++)
			if (set_standby_names(a, p, &d) < 0)
				return -1;
	}
	else
	{
		/* Nobody waits first, then the apply workers go back to their
		 * default. */
		for (p = 0; p < a->nnodes; p++)
			if (set_standby_names(a, p, &d) < 0)
				return -1;
		if (set_sub_commit(a, "off") < 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ the command */

static int
set_mode_body(PGMMadmin *a, void *arg)
{
	const char *text = arg;
	const char *vals[1] = {text};
	int i;

	for (i = 0; i < a->nnodes; i++)
	{
		PGresult *r = admin_query_params(a, i, "UPDATE pgmm.cluster SET durability = $1", 1, vals);

		if (r == NULL)
			return -1;
		PQclear(r);
	}
	return 0;
}

int
pgmm_admin_durability(PGMMadmin *a, const char *mode)
{
	admin_durability d, old;
	pgmm_buf text, keep;
	int rc = -1;

	if (a == NULL || !a->ok)
		return -1;
	pgmm_buf_reset(&a->err);
	pgmm_buf_init(&text);
	if (admin_durability_parse(mode, a->nnodes, &d, &a->err) < 0)
	{
		pgmm_buf_append(&a->err, "; nothing was changed");
		return -1;
	}
	if (read_mode(a, &old) < 0)
		return -1;
	admin_durability_text(&d, &text);
	if (!pgmm_buf_ok(&text))
	{
		admin_seterr(a, "out of memory");
		return -1;
	}
	if (admin_catalog_change(a, set_mode_body, (void *) pgmm_buf_str(&text)) < 0)
		goto out;
	if (admin_durability_apply(a) < 0)
	{
		pgmm_buf_init(&keep);
		pgmm_buf_append(&keep, pgmm_buf_str(&a->err));
		admin_seterr(a, "durability %s is in the catalog but applying it to the masters failed: %s; run `pgmm "
		             "durability %s` again once that is fixed", pgmm_buf_str(&text), pgmm_buf_str(&keep),
		             pgmm_buf_str(&text));
		pgmm_buf_free(&keep);
		goto out;
	}
	admin_notice(a, "durability %s on %d masters%s", pgmm_buf_str(&text), a->nnodes,
	             d.mode == ADMIN_DURABILITY_OFF ? " (commits wait for no other master)"
	             : d.mode == ADMIN_DURABILITY_ALL ? " (a commit is acknowledged once every other master has it)"
	                                              : " (a commit is acknowledged once N other masters have it)");
	rc = 0;
out:
	pgmm_buf_free(&text);
	return rc;
}

int
admin_durability_on(PGMMadmin *a)
{
	PGresult *r;
	int on;

	if (a->home < 0 || a->home >= a->nnodes || a->nodes[a->home].conn == NULL)
		return 0;
	r = PQexec(a->nodes[a->home].conn, "SELECT durability <> 'off' FROM pgmm.cluster");
	on = r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return on;
}

void
admin_durability_relax(PGMMadmin *a)
{
	int i;

	for (i = 0; i < a->nnodes; i++)
	{
		PGresult *r;

		if (a->nodes[i].conn == NULL)
			continue;
		r = PQexec(a->nodes[i].conn, "ALTER SYSTEM SET synchronous_standby_names = ''");
		PQclear(r);
		PQclear(PQexec(a->nodes[i].conn, "SELECT pg_catalog.pg_reload_conf()"));
	}
}

static int
res_ok(const PGresult *r)
{
	return r && (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
}

/* For uninstall: forget what durability set on master i (best effort; a
 * failure is reported as a notice, uninstall goes on). */
void
admin_durability_reset(PGMMadmin *a, int i)
{
	PGresult *r = PQexec(a->nodes[i].conn, "SELECT durability FROM pgmm.cluster");
	int set = r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
	          strcmp(PQgetvalue(r, 0, 0), "off") != 0;

	PQclear(r);
	if (!set)
		return;
	r = PQexec(a->nodes[i].conn, "ALTER SYSTEM RESET synchronous_standby_names");
	if (res_ok(r))
	{
		PQclear(r);
		r = PQexec(a->nodes[i].conn, "SELECT pg_catalog.pg_reload_conf()");
	}
	if (!res_ok(r))
		admin_notice(a, "master %s: could not reset synchronous_standby_names: %s", a->nodes[i].name,
		             r ? PQresultErrorMessage(r) : PQerrorMessage(a->nodes[i].conn));
	PQclear(r);
}
