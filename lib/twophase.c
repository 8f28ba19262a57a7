/*
 * twophase.c -- the one two-phase commit (see twophase.h for the protocol
 * and the global-id scheme).
 *
 * Callers: the admin's catalog-change frame, the router's broadcast,
 * `pgmm status` (pgmm_2pc_gid_parse, pgmm_2pc_list_query) and `pgmm
 * recover` (pgmm_2pc_recover).  It only talks libpq; it knows nothing of
 * the catalog or the map.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "twophase.h"

/* ------------------------------------------------------------ global ids */

const char *
pgmm_2pc_kind_name(char kind)
{
	switch (kind)
	{
		case PGMM_2PC_CATALOG:
			return "catalog change";
		case PGMM_2PC_BROADCAST:
			return "broadcast";
		default:
			return "unknown";
	}
}

static int
valid_name(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9') ||
		      s[n] == '_'))
			return 0;
	return n > 0 && n < sizeof(((pgmm_2pc_gid *) 0)->decider);
}

static int
valid_id(const char *s)
{
	int k;

	for (k = 0; k < 16; k++)
		if (!((s[k] >= '0' && s[k] <= '9') || (s[k] >= 'a' && s[k] <= 'f')))
			return 0;
	return s[16] == '\0';
}

int
pgmm_2pc_gid_format(char *buf, size_t cap, const pgmm_2pc_gid *g)
{
	int len;

	if (buf == NULL || cap == 0 || g == NULL)
		return -1;
	buf[0] = '\0';
	if (!(g->kind >= 'a' && g->kind <= 'z') || g->label < 0 || !valid_id(g->id) || g->n < 1 || g->pos < 0 ||
	    g->pos >= g->n || !valid_name(g->decider))
		return -1;
	len = snprintf(buf, cap, PGMM_2PC_PREFIX "%c:%lld:%s:%d/%d:%s", g->kind, (long long) g->label, g->id, g->pos,
	               g->n, g->decider);
	if (len < 0 || (size_t) len >= cap || len >= PGMM_2PC_GID_MAX)
	{
		buf[0] = '\0';
		return -1;
	}
	return 0;
}

/* A decimal number without sign or leading zeros (but "0"); *p advanced. */
static int
parse_uint(const char **p, long long max, long long *out)
{
	const char *s = *p;
	long long v = 0;

	if (*s < '0' || *s > '9')
		return -1;
	if (*s == '0' && s[1] >= '0' && s[1] <= '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++)
	{
		if (v > (max - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*p = s;
	*out = v;
	return 0;
}

int
pgmm_2pc_gid_parse(const char *gid, pgmm_2pc_gid *out)
{
	const char *p = gid;
	long long label, pos, n;
	pgmm_2pc_gid g;

	if (gid == NULL || out == NULL || strncmp(p, PGMM_2PC_PREFIX, strlen(PGMM_2PC_PREFIX)) != 0)
		return -1;
	memset(&g, 0, sizeof g);
	p += strlen(PGMM_2PC_PREFIX);
	if (!(*p >= 'a' && *p <= 'z') || p[1] != ':')
		return -1;
	g.kind = *p;
	p += 2;
	if (parse_uint(&p, INT64_MAX, &label) < 0 || *p++ != ':')
		return -1;
	g.label = label;
	if (strlen(p) < 17 || p[16] != ':')
		return -1;
	memcpy(g.id, p, 16);
	g.id[16] = '\0';
	if (!valid_id(g.id))
		return -1;
	p += 17;
	if (parse_uint(&p, 1000000, &pos) < 0 || *p++ != '/' || parse_uint(&p, 1000000, &n) < 0 || *p++ != ':')
		return -1;
	if (n < 1 || pos >= n)
		return -1;
	g.pos = (int) pos;
	g.n = (int) n;
	if (strlen(p) >= sizeof g.decider || !valid_name(p))
		return -1;
	strcpy(g.decider, p);
	*out = g;
	return 0;
}

/* ------------------------------------------------------------ one transaction */

int
pgmm_2pc_init(pgmm_2pc *t, pgmm_2pc_kind kind, int64_t label, const pgmm_2pc_part *parts, int n, pgmm_buf *err)
{
	unsigned char rnd[8];
	char probe[PGMM_2PC_GID_MAX];
	int k;

	memset(t, 0, sizeof *t);
	if (parts == NULL || n < 1)
	{
		pgmm_buf_append(err, "two-phase commit: no participant");
		return -1;
	}
	t->gid.kind = (char) kind;
	t->gid.label = label;
	randombytes_buf(rnd, sizeof rnd);
	for (k = 0; k < 8; k++)
		snprintf(t->gid.id + 2 * k, 3, "%02x", rnd[k]);
	t->gid.n = n;
	t->gid.pos = n - 1;
	if (parts[n - 1].name == NULL || strlen(parts[n - 1].name) >= sizeof t->gid.decider)
	{
		pgmm_buf_append(err, "two-phase commit: bad master name");
		return -1;
	}
	strcpy(t->gid.decider, parts[n - 1].name);
	if (pgmm_2pc_gid_format(probe, sizeof probe, &t->gid) < 0)
	{
		pgmm_buf_printf(err, "two-phase commit: master name \"%s\" cannot go in a transaction id",
		                parts[n - 1].name);
		return -1;
	}
	t->state = calloc((size_t) n, sizeof *t->state);
	if (t->state == NULL)
	{
		pgmm_buf_append(err, "out of memory");
		return -1;
	}
	t->parts = parts;
	t->n = n;
	return 0;
}

void
pgmm_2pc_free(pgmm_2pc *t)
{
	if (t == NULL)
		return;
	free(t->state);
	t->state = NULL;
	t->n = 0;
}

void
pgmm_2pc_gid_of(const pgmm_2pc *t, int i, char *buf, size_t cap)
{
	pgmm_2pc_gid g = t->gid;

	g.pos = i;
	if (pgmm_2pc_gid_format(buf, cap, &g) < 0 && cap > 0)
		buf[0] = '\0';
}

/* Run "VERB 'gid'" on participant i.  1: done (cmd_status matched);
 * 0: refused (the server answered an error, or another status: err);
 * -1: no answer (connection lost: the outcome there is unknown). */
static int
send_gid(const pgmm_2pc *t, int i, const char *verb, const char *expect_status, pgmm_buf *err)
{
	char gid[PGMM_2PC_GID_MAX], sql[PGMM_2PC_GID_MAX + 32];
	PGconn *pq = t->parts[i].conn;
	PGresult *r;
	int rc;

	pgmm_2pc_gid_of(t, i, gid, sizeof gid);
	snprintf(sql, sizeof sql, "%s '%s'", verb, gid);
	if (pq == NULL || PQstatus(pq) != CONNECTION_OK)
	{
		/* Never sent: a PREPARE cannot have happened (the session's open
		 * transaction died with it), a COMMIT PREPARED has not. */
		pgmm_buf_printf(err, "%smaster %s: connection lost (%s '%s' not sent)", err->len ? "; " : "",
		                t->parts[i].name, verb, gid);
		return 0;
	}
	r = PQexec(pq, sql);
	if (r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(r), expect_status) == 0)
		rc = 1;
	else if (r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK)
	{
		/* PREPARE TRANSACTION of an aborted transaction answers ROLLBACK. */
		pgmm_buf_printf(err, "%smaster %s: %s '%s' answered %s: the transaction there had failed and is rolled back",
		                err->len ? "; " : "", t->parts[i].name, verb, gid, PQcmdStatus(r));
		rc = 0;
	}
	else if (r != NULL && PQresultStatus(r) == PGRES_FATAL_ERROR && PQstatus(pq) == CONNECTION_OK)
	{
		pgmm_buf_printf(err, "%smaster %s: %s '%s': ", err->len ? "; " : "", t->parts[i].name, verb, gid);
		pgmm_buf_append_pqmsg(err, PQresultErrorMessage(r));
		rc = 0;
	}
	else
	{
		pgmm_buf_printf(err, "%smaster %s: %s '%s' got no answer: ", err->len ? "; " : "", t->parts[i].name,
		                verb, gid);
		pgmm_buf_append_pqmsg(err, PQerrorMessage(pq));
		rc = -1;
	}
	PQclear(r);
	/* A refused PREPARE leaves the session idle; make sure of it. */
	if (rc == 0 && PQstatus(pq) == CONNECTION_OK && PQtransactionStatus(pq) != PQTRANS_IDLE)
		PQclear(PQexec(pq, "ROLLBACK"));
	return rc;
}

void
pgmm_2pc_rollback_all(pgmm_2pc *t)
{
	pgmm_buf ignore;
	int i;

	pgmm_buf_init(&ignore);
	for (i = 0; i < t->n; i++)
	{
		PGconn *pq = t->parts[i].conn;

		if (t->state[i] == PGMM_2PC_PREPARED)
		{
			if (send_gid(t, i, "ROLLBACK PREPARED", "ROLLBACK PREPARED", &ignore) == 1)
				t->state[i] = PGMM_2PC_ROLLED_BACK;
		}
		else if (t->state[i] == PGMM_2PC_OPEN)
		{
			if (pq && PQstatus(pq) == CONNECTION_OK && PQtransactionStatus(pq) != PQTRANS_IDLE)
				PQclear(PQexec(pq, "ROLLBACK"));
			t->state[i] = PGMM_2PC_ROLLED_BACK;
		}
	}
	pgmm_buf_free(&ignore);
}

/* Names of the participants in state st, comma separated, into b. */
static void
names_in(const pgmm_2pc *t, pgmm_2pc_state st, pgmm_buf *b)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (t->state[i] == st)
			pgmm_buf_printf(b, "%s%s", b->len ? ", " : "", t->parts[i].name);
}

pgmm_2pc_outcome
pgmm_2pc_prepare_all(pgmm_2pc *t, pgmm_buf *err)
{
	char gid[PGMM_2PC_GID_MAX];
	int i;

	for (i = 0; i < t->n; i++)
	{
		int rc = send_gid(t, i, "PREPARE TRANSACTION", "PREPARE TRANSACTION", err);

		if (rc == 1)
		{
			t->state[i] = PGMM_2PC_PREPARED;
			continue;
		}
		if (rc < 0 && i == t->n - 1)
		{
			/* The decider may have prepared: nothing may be rolled back. */
			t->state[i] = PGMM_2PC_UNKNOWN;
			pgmm_2pc_gid_of(t, i, gid, sizeof gid);
			pgmm_buf_printf(err, "; the outcome is UNKNOWN: master %s (which decides) may hold prepared "
			                "transaction '%s'; every other master keeps its part prepared. Run `pgmm recover` "
			                "when %s is reachable: it commits everywhere if %s prepared, else rolls back",
			                t->parts[i].name, gid, t->parts[i].name, t->parts[i].name);
			return PGMM_2PC_IN_DOUBT;
		}
		/* The decider has not prepared and now never will: roll back. */
		t->state[i] = rc < 0 ? PGMM_2PC_UNKNOWN : PGMM_2PC_ROLLED_BACK;
		pgmm_2pc_rollback_all(t);
		if (rc < 0)
		{
			pgmm_2pc_gid_of(t, i, gid, sizeof gid);
			pgmm_buf_printf(err, "; rolled back everywhere; master %s may still hold prepared transaction '%s' "
			                "(it holds its locks until `pgmm recover` rolls it back)", t->parts[i].name, gid);
		}
		return PGMM_2PC_ABORTED;
	}
	return PGMM_2PC_OK;
}

pgmm_2pc_outcome
pgmm_2pc_commit_all(pgmm_2pc *t, pgmm_buf *err)
{
	pgmm_buf committed, left;
	char gid[PGMM_2PC_GID_MAX];
	int i, failed = 0, d = t->n - 1;

	for (i = 0; i < d; i++)
	{
		int rc = send_gid(t, i, "COMMIT PREPARED", "COMMIT PREPARED", err);

		if (rc == 1)
			t->state[i] = PGMM_2PC_COMMITTED;
		else
		{
			t->state[i] = rc < 0 ? PGMM_2PC_UNKNOWN : PGMM_2PC_PREPARED;
			failed++;
		}
	}
	/* The decider last, and only when everybody else has committed: while
	 * it holds its part, recovery knows the decision was COMMIT. */
	if (!failed)
	{
		int rc = send_gid(t, d, "COMMIT PREPARED", "COMMIT PREPARED", err);

		if (rc == 1)
		{
			t->state[d] = PGMM_2PC_COMMITTED;
			return PGMM_2PC_OK;
		}
		t->state[d] = rc < 0 ? PGMM_2PC_UNKNOWN : PGMM_2PC_PREPARED;
	}
	pgmm_buf_init(&committed);
	pgmm_buf_init(&left);
	names_in(t, PGMM_2PC_COMMITTED, &committed);
	names_in(t, PGMM_2PC_PREPARED, &left);
	names_in(t, PGMM_2PC_UNKNOWN, &left);
	pgmm_2pc_gid_of(t, d, gid, sizeof gid);
	pgmm_buf_printf(err, "; the change is COMMITTED (decided by %s, '%s'): done on %s, still prepared on %s; "
	                "run `pgmm recover` to finish it", t->parts[d].name, gid,
	                committed.len ? pgmm_buf_str(&committed) : "no master yet", pgmm_buf_str(&left));
	pgmm_buf_free(&committed);
	pgmm_buf_free(&left);
	return PGMM_2PC_IN_DOUBT;
}

pgmm_2pc_outcome
pgmm_2pc_run(pgmm_2pc *t, pgmm_buf *err)
{
	pgmm_2pc_outcome o = pgmm_2pc_prepare_all(t, err);

	return o == PGMM_2PC_OK ? pgmm_2pc_commit_all(t, err) : o;
}

/* ------------------------------------------------------------ recovery */

/* A prepared transaction's locks are held under its original virtual
 * transaction id (pid NULL); its transactionid lock ties that to
 * pg_prepared_xacts.transaction. */
const char pgmm_2pc_list_query[] =
	"SELECT p.gid, p.prepared, extract(epoch FROM now() - p.prepared)::float8 AS age, p.owner, "
	"coalesce((SELECT string_agg(DISTINCT l.relation::regclass::text, ', ') FROM pg_catalog.pg_locks l "
	"  WHERE l.pid IS NULL AND l.locktype = 'relation' "
	"  AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) "
	"  AND l.virtualtransaction = (SELECT x.virtualtransaction FROM pg_catalog.pg_locks x "
	"    WHERE x.locktype = 'transactionid' AND x.transactionid = p.transaction AND x.pid IS NULL LIMIT 1)), '') "
	"  AS locks "
	"FROM pg_catalog.pg_prepared_xacts p "
	"WHERE p.gid LIKE 'pgmm:%' AND p.database = current_database() ORDER BY p.prepared, p.gid";

typedef struct piece
{
	int          master;
	pgmm_2pc_gid g;
	char         gid[PGMM_2PC_GID_MAX];
	int          done;
} piece;

static int
master_up(const pgmm_2pc_part *m)
{
	return m->conn != NULL && PQstatus(m->conn) == CONNECTION_OK;
}

/* "VERB 'gid'" on one master outside any transaction: 1 done, 0 not there
 * (undefined object), -1 error (err). */
static int
finish_piece(const pgmm_2pc_part *m, const char *verb, const char *gid, pgmm_buf *err)
{
	char sql[PGMM_2PC_GID_MAX + 32];
	PGresult *r;
	int rc;

	snprintf(sql, sizeof sql, "%s '%s'", verb, gid);
	r = PQexec(m->conn, sql);
	if (r && PQresultStatus(r) == PGRES_COMMAND_OK)
		rc = 1;
	else if (r && PQresultErrorField(r, PG_DIAG_SQLSTATE) &&
	         strcmp(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42704") == 0)
		rc = 0;    /* finished meanwhile by someone else */
	else
	{
		pgmm_buf_printf(err, "%smaster %s: %s: ", err->len ? "; " : "", m->name, sql);
		pgmm_buf_append_pqmsg(err, r ? PQresultErrorMessage(r) : PQerrorMessage(m->conn));
		rc = -1;
	}
	PQclear(r);
	return rc;
}

/*
 * Decide one transaction whose decider is master d (up) and which has no
 * piece at position n-1 on it in the listing: try to prepare the decider's
 * gid ourselves.  1: the decider holds it (COMMIT); 0: we hold the
 * tombstone (ROLLBACK is safe; the caller drops the tombstone); -1 error.
 */
static int
tombstone(const pgmm_2pc_part *m, const char *gid, pgmm_buf *err)
{
	char sql[PGMM_2PC_GID_MAX + 48];
	PGresult *r;
	const char *state;
	int rc;

	snprintf(sql, sizeof sql, "BEGIN; PREPARE TRANSACTION '%s'", gid);
	r = PQexec(m->conn, sql);
	state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	if (r && PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(r), "PREPARE TRANSACTION") == 0)
		rc = 0;
	else if (state && strcmp(state, "42710") == 0)
		rc = 1;     /* "transaction identifier ... is already in use" */
	else
	{
		pgmm_buf_printf(err, "%smaster %s: could not decide '%s': ", err->len ? "; " : "", m->name, gid);
		pgmm_buf_append_pqmsg(err, r ? PQresultErrorMessage(r) : PQerrorMessage(m->conn));
		rc = -1;
	}
	PQclear(r);
	if (PQstatus(m->conn) == CONNECTION_OK && PQtransactionStatus(m->conn) != PQTRANS_IDLE)
		PQclear(PQexec(m->conn, "ROLLBACK"));
	return rc;
}

static void
report_action(pgmm_2pc_report_fn report, void *arg, const char *master, const char *gid, const char *action)
{
	if (report)
		report(arg, master, gid, action);
}

int
pgmm_2pc_recover(const pgmm_2pc_part *masters, int n, pgmm_2pc_report_fn report, void *arg, pgmm_buf *err)
{
	piece *pc = NULL;
	int npc = 0, cap = 0, i, j, k, finished = 0, failed = 0;

	for (i = 0; i < n; i++)
	{
		PGresult *r;

		if (!master_up(&masters[i]))
			continue;
		r = PQexec(masters[i].conn, pgmm_2pc_list_query);
		if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
		{
			pgmm_buf_printf(err, "%smaster %s: listing prepared transactions: ", err->len ? "; " : "",
			                masters[i].name);
			pgmm_buf_append_pqmsg(err, r ? PQresultErrorMessage(r) : PQerrorMessage(masters[i].conn));
			PQclear(r);
			failed++;
			continue;
		}
		for (k = 0; k < PQntuples(r); k++)
		{
			const char *gid = PQgetvalue(r, k, 0);
			pgmm_2pc_gid g;

			if (pgmm_2pc_gid_parse(gid, &g) < 0)
			{
				report_action(report, arg, masters[i].name, gid, "left alone (not a pgmm transaction id)");
				continue;
			}
			if (npc == cap)
			{
				int ncap = cap ? 2 * cap : 16;
				piece *np = realloc(pc, (size_t) ncap * sizeof *pc);

				if (np == NULL)
				{
					PQclear(r);
					free(pc);
					pgmm_buf_append(err, "out of memory");
					return -1;
				}
				pc = np;
				cap = ncap;
			}
			pc[npc].master = i;
			pc[npc].g = g;
			snprintf(pc[npc].gid, sizeof pc[npc].gid, "%s", gid);
			pc[npc].done = 0;
			npc++;
		}
		PQclear(r);
	}

	for (i = 0; i < npc; i++)
	{
		const pgmm_2pc_gid *g = &pc[i].g;
		pgmm_2pc_gid dg = *g;
		char dgid[PGMM_2PC_GID_MAX];
		int d = -1, held = 0, commit, bad = 0;

		if (pc[i].done)
			continue;
		for (k = 0; k < n; k++)
			if (strcmp(masters[k].name, g->decider) == 0)
				d = k;
		dg.pos = g->n - 1;
		pgmm_2pc_gid_format(dgid, sizeof dgid, &dg);
		if (d < 0 || !master_up(&masters[d]))
		{
			for (j = i; j < npc; j++)
				if (!pc[j].done && strcmp(pc[j].g.id, g->id) == 0)
				{
					report_action(report, arg, masters[pc[j].master].name, pc[j].gid,
					              d < 0 ? "left alone: its deciding master is not in the cluster"
					                    : "left alone: its deciding master is down");
					pc[j].done = 1;
				}
			pgmm_buf_printf(err, "%stransaction %s cannot be decided while master %s is %s", err->len ? "; " : "",
			                g->id, g->decider, d < 0 ? "unknown" : "unreachable");
			failed++;
			continue;
		}
		for (j = i; j < npc; j++)
			if (strcmp(pc[j].g.id, g->id) == 0 && pc[j].master == d && pc[j].g.pos == g->n - 1)
				held = 1;
		if (held)
			commit = 1;
		else
		{
			int t = tombstone(&masters[d], dgid, err);

			if (t < 0)
			{
				failed++;
				for (j = i; j < npc; j++)
					if (strcmp(pc[j].g.id, g->id) == 0)
						pc[j].done = 1;
				continue;
			}
			commit = t == 1;
			if (commit)
			{
				/* The decider prepared after our listing: finish it too. */
				if (npc == cap)
				{
					piece *np = realloc(pc, (size_t) (cap + 1) * sizeof *pc);

					if (np == NULL)
					{
						free(pc);
						pgmm_buf_append(err, "out of memory");
						return -1;
					}
					pc = np;
					cap++;
					g = &pc[i].g;
				}
				pc[npc].master = d;
				pc[npc].g = dg;
				snprintf(pc[npc].gid, sizeof pc[npc].gid, "%s", dgid);
				pc[npc].done = 0;
				npc++;
			}
		}
		/* Finish every piece, the decider's last. */
		for (k = 0; k < 2; k++)
			for (j = i; j < npc; j++)
			{
				int is_decider = pc[j].master == d && pc[j].g.pos == pc[j].g.n - 1;
				int rc;

				if (pc[j].done || strcmp(pc[j].g.id, pc[i].g.id) != 0 || is_decider != (k == 1))
					continue;
				rc = finish_piece(&masters[pc[j].master], commit ? "COMMIT PREPARED" : "ROLLBACK PREPARED",
				                  pc[j].gid, err);
				if (rc < 0)
					bad = 1;
				else
					report_action(report, arg, masters[pc[j].master].name, pc[j].gid,
					              rc == 0 ? "already finished" : commit ? "committed" : "rolled back");
				pc[j].done = 1;
			}
		if (!commit && finish_piece(&masters[d], "ROLLBACK PREPARED", dgid, err) < 0)
			bad = 1;
		if (bad)
			failed++;
		else
			finished++;
	}
	free(pc);
	return failed ? -1 : finished;
}
