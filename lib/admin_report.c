/*
 * admin_report.c -- what the cluster looks like and how to mend it:
 * status, verify, recover.
 *
 * Callers: applications, tools/pgmm.c and the bindings through pgmm.h; the
 * renderers (admin_report_text, admin_report_json) and admin_sub_state
 * also by the unit tests, from a hand-built admin_report.  status gathers
 * everything into an admin_report first (reading every master that is up),
 * then renders it; recover finishes prepared transactions with
 * pgmm_2pc_recover (twophase.c), then refreshes subscriptions and unfreezes
 * tables whose addition did not finish.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_int.h"

/* ------------------------------------------------------------ the report */

void
admin_report_free(admin_report *r)
{
	int i;

	for (i = 0; i < r->nmasters; i++)
	{
		free(r->masters[i].name);
		free(r->masters[i].epoch);
		free(r->masters[i].version);
		free(r->masters[i].address);
		free(r->masters[i].error);
	}
	for (i = 0; i < r->ntables; i++)
	{
		admin_table_report *t = &r->tables[i];

		free(t->schema);
		free(t->table);
		free(t->kind);
		free(t->key);
		free(t->key_type);
		free(t->owner);
	}
	for (i = 0; i < r->nshards; i++)
		free(r->shards[i].owner);
	for (i = 0; i < r->nsubs; i++)
	{
		free(r->subs[i].name);
		free(r->subs[i].slot);
	}
	for (i = 0; i < r->nprepared; i++)
	{
		free(r->prepared[i].gid);
		free(r->prepared[i].decider);
		free(r->prepared[i].locks);
	}
	free(r->masters);
	free(r->tables);
	free(r->shards);
	free(r->subs);
	free(r->prepared);
	memset(r, 0, sizeof *r);
}

/* STALLED: the apply worker keeps failing (a conflict) and the slot is
 * behind; "down": no worker yet or the publisher is unreachable. */
const char *
admin_sub_state(const admin_sub_report *s)
{
	if (!s->enabled)
		return "disabled";
	if (s->apply_errors > 0 && s->lag_bytes != 0)
		return "STALLED";
	if (!s->worker)
		return "down";
	return s->not_ready > 0 ? "syncing" : "streaming";
}

static const char *
name_of(const admin_report *r, int i)
{
	return i >= 0 && i < r->nmasters && r->masters[i].name ? r->masters[i].name : "?";
}

void
admin_json_str(pgmm_buf *b, const char *s)
{
	const char *p;

	if (s == NULL)
	{
		pgmm_buf_append(b, "null");
		return;
	}
	pgmm_buf_append(b, "\"");
	for (p = s; *p; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (c == '"' || c == '\\')
			pgmm_buf_printf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			pgmm_buf_printf(b, "\\u%04x", c);
		else
			pgmm_buf_append_len(b, p, 1);
	}
	pgmm_buf_append(b, "\"");
}

/* The gids prepared on master i, space separated (for the per-master
 * field of the JSON and the text's per-master line). */
static void
prepared_on(const admin_report *r, int i, pgmm_buf *b)
{
	int k;

	for (k = 0; k < r->nprepared; k++)
		if (r->prepared[k].master == i)
			pgmm_buf_printf(b, "%s%s", b->len ? " " : "", r->prepared[k].gid ? r->prepared[k].gid : "");
}

void
admin_report_json(const admin_report *r, pgmm_buf *out)
{
	int i;

	pgmm_buf_append(out, "{\"masters\": [");
	for (i = 0; i < r->nmasters; i++)
	{
		const admin_master_report *m = &r->masters[i];
		pgmm_buf p;
		int numeric = m->epoch && m->epoch[0] && strspn(m->epoch, "0123456789") == strlen(m->epoch);

		pgmm_buf_append(out, i ? ", {\"name\": " : "{\"name\": ");
		admin_json_str(out, m->name ? m->name : "");
		pgmm_buf_printf(out, ", \"slot\": %d, \"up\": %s, \"epoch\": %s, \"version\": ", m->slot,
		                m->up ? "true" : "false", numeric ? m->epoch : "null");
		admin_json_str(out, m->version ? m->version : "");
		pgmm_buf_append(out, ", \"address\": ");
		admin_json_str(out, m->address ? m->address : "");
		pgmm_buf_append(out, ", \"error\": ");
		admin_json_str(out, m->error);
		pgmm_buf_append(out, ", \"prepared\": ");
		pgmm_buf_init(&p);
		prepared_on(r, i, &p);
		admin_json_str(out, pgmm_buf_str(&p));
		pgmm_buf_free(&p);
		pgmm_buf_append(out, "}");
	}
	pgmm_buf_append(out, "], \"tables\": [");
	for (i = 0; i < r->ntables; i++)
	{
		const admin_table_report *t = &r->tables[i];

		pgmm_buf_append(out, i ? ", {\"schema\": " : "{\"schema\": ");
		admin_json_str(out, t->schema ? t->schema : "");
		pgmm_buf_append(out, ", \"table\": ");
		admin_json_str(out, t->table ? t->table : "");
		pgmm_buf_append(out, ", \"kind\": ");
		admin_json_str(out, t->kind ? t->kind : "");
		if (t->kind && strcmp(t->kind, "reference") == 0)
		{
			pgmm_buf_append(out, ", \"owner\": ");
			admin_json_str(out, t->owner ? t->owner : "");
		}
		else
		{
			pgmm_buf_append(out, ", \"key\": ");
			admin_json_str(out, t->key ? t->key : "");
			pgmm_buf_append(out, ", \"key_type\": ");
			admin_json_str(out, t->key_type ? t->key_type : "");
			pgmm_buf_printf(out, ", \"colocation\": %d, \"shards\": %d", t->colocation, t->shards);
		}
		pgmm_buf_printf(out, ", \"frozen\": %s}", t->frozen ? "true" : "false");
	}
	pgmm_buf_append(out, "], \"shards\": [");
	for (i = 0; i < r->nshards; i++)
	{
		pgmm_buf_printf(out, "%s{\"colocation\": %d, \"owner\": ", i ? ", " : "", r->shards[i].colocation);
		admin_json_str(out, r->shards[i].owner ? r->shards[i].owner : "");
		pgmm_buf_printf(out, ", \"count\": %d}", r->shards[i].count);
	}
	pgmm_buf_append(out, "], \"subscriptions\": [");
	for (i = 0; i < r->nsubs; i++)
	{
		const admin_sub_report *s = &r->subs[i];

		pgmm_buf_append(out, i ? ", {\"name\": " : "{\"name\": ");
		admin_json_str(out, s->name ? s->name : "");
		pgmm_buf_append(out, ", \"subscriber\": ");
		admin_json_str(out, name_of(r, s->subscriber));
		pgmm_buf_append(out, ", \"publisher\": ");
		admin_json_str(out, name_of(r, s->publisher));
		pgmm_buf_append(out, ", \"state\": ");
		admin_json_str(out, admin_sub_state(s));
		pgmm_buf_printf(out, ", \"worker\": %s, \"apply_errors\": %lld, \"sync_errors\": %lld, "
		                "\"lag_bytes\": %lld, \"lag_seconds\": %.3f}",
		                s->worker ? "true" : "false", s->apply_errors, s->sync_errors, s->lag_bytes, s->lag_seconds);
	}
	pgmm_buf_append(out, "], \"prepared_transactions\": [");
	for (i = 0; i < r->nprepared; i++)
	{
		const admin_prepared_report *p = &r->prepared[i];

		pgmm_buf_append(out, i ? ", {\"master\": " : "{\"master\": ");
		admin_json_str(out, name_of(r, p->master));
		pgmm_buf_append(out, ", \"kind\": ");
		admin_json_str(out, p->kind ? pgmm_2pc_kind_name(p->kind) : "not pgmm's");
		pgmm_buf_append(out, ", \"gid\": ");
		admin_json_str(out, p->gid ? p->gid : "");
		if (p->kind)
		{
			pgmm_buf_printf(out, ", \"label\": %lld, \"decider\": ", p->label);
			admin_json_str(out, p->decider ? p->decider : "");
		}
		else
			pgmm_buf_append(out, ", \"label\": null, \"decider\": null");
		pgmm_buf_printf(out, ", \"age_seconds\": %.1f, \"locks\": [", p->age_seconds >= 0 ? p->age_seconds : 0.0);
		if (p->locks && p->locks[0])
		{
			const char *s = p->locks;
			int first = 1;

			while (*s)
			{
				size_t n = strcspn(s, ",");
				char *one = strndup(s, n);

				if (one)
				{
					pgmm_buf_append(out, first ? "" : ", ");
					admin_json_str(out, one);
					first = 0;
					free(one);
				}
				else
					out->broken = 1;
				s += n;
				s += strspn(s, ", ");
			}
		}
		pgmm_buf_append(out, "]}");
	}
	pgmm_buf_append(out, "]}\n");
}

void
admin_report_text(const admin_report *r, pgmm_buf *out)
{
	int i, up = 0;

	for (i = 0; i < r->nmasters; i++)
		up += r->masters[i].up;
	pgmm_buf_printf(out, "masters: %d (%d up)\n", r->nmasters, up);
	pgmm_buf_printf(out, "  %-12s %-5s %-5s %-7s %-9s %s\n", "NAME", "STATE", "SLOT", "EPOCH", "VERSION", "ADDRESS");
	for (i = 0; i < r->nmasters; i++)
	{
		const admin_master_report *m = &r->masters[i];
		pgmm_buf p;

		pgmm_buf_printf(out, "  %-12s %-5s %-5d %-7s %-9s %s%s\n", m->name ? m->name : "?", m->up ? "up" : "DOWN",
		                m->slot, m->epoch && m->epoch[0] ? m->epoch : "-", m->version ? m->version : "-",
		                m->address ? m->address : "", m->home ? "  (this)" : "");
		if (m->error)
		{
			pgmm_buf_append(out, "      ");
			pgmm_buf_append_pqmsg(out, m->error);
			pgmm_buf_append(out, "\n");
		}
		pgmm_buf_init(&p);
		prepared_on(r, i, &p);
		if (p.len)
			pgmm_buf_printf(out, "      unfinished two-phase transactions: %s (run `pgmm recover`)\n", pgmm_buf_str(&p));
		pgmm_buf_free(&p);
	}
	pgmm_buf_printf(out, "tables: %d\n", r->ntables);
	for (i = 0; i < r->ntables; i++)
	{
		const admin_table_report *t = &r->tables[i];

		if (t->kind && strcmp(t->kind, "reference") == 0)
			pgmm_buf_printf(out, "  %s.%s  reference, owner %s", t->schema, t->table, t->owner ? t->owner : "?");
		else
			pgmm_buf_printf(out, "  %s.%s  distributed by %s (%s), %d shards, colocation %d", t->schema, t->table,
			                t->key ? t->key : "?", t->key_type ? t->key_type : "?", t->shards, t->colocation);
		pgmm_buf_append(out, t->frozen ? "  FROZEN: writes refused until `pgmm recover` refreshes the subscriptions\n"
		                               : "\n");
	}
	if (r->nshards > 0)
	{
		int cur = -1;

		pgmm_buf_append(out, "shards per owner:\n");
		for (i = 0; i < r->nshards; i++)
		{
			if (i == 0 || r->shards[i].colocation != cur)
			{
				cur = r->shards[i].colocation;
				pgmm_buf_printf(out, "%s  colocation %d:", i ? "\n" : "", cur);
			}
			pgmm_buf_printf(out, " %s=%d", r->shards[i].owner ? r->shards[i].owner : "?", r->shards[i].count);
		}
		pgmm_buf_append(out, "\n");
	}
	pgmm_buf_printf(out, "subscriptions: %d of %d expected\n", r->nsubs, r->nmasters * (r->nmasters - 1));
	pgmm_buf_printf(out, "  %-26s %-10s %12s %10s  %s\n", "SUBSCRIBER <- PUBLISHER", "STATE", "LAG BYTES", "LAG TIME",
	                "NOTES");
	for (i = 0; i < r->nsubs; i++)
	{
		const admin_sub_report *s = &r->subs[i];
		char who[80], lagb[32], lagt[32];

		snprintf(who, sizeof who, "%s <- %s", name_of(r, s->subscriber), name_of(r, s->publisher));
		if (s->lag_bytes >= 0)
			snprintf(lagb, sizeof lagb, "%lld", s->lag_bytes);
		else
			snprintf(lagb, sizeof lagb, "?");
		if (s->lag_seconds >= 0)
			snprintf(lagt, sizeof lagt, "%.3f s", s->lag_seconds);
		else
			snprintf(lagt, sizeof lagt, "?");
		pgmm_buf_printf(out, "  %-26s %-10s %12s %10s  %s%s", who, admin_sub_state(s), lagb, lagt,
		                s->worker ? "" : "no apply worker; ",
		                s->slot_found ? (s->slot_active ? "" : "slot inactive; ") : "publisher slot not seen; ");
		if (s->apply_errors || s->sync_errors)
			pgmm_buf_printf(out, "%lld apply errors, %lld sync errors (see the subscriber's log)", s->apply_errors,
			                s->sync_errors);
		pgmm_buf_append(out, "\n");
	}
	pgmm_buf_printf(out, "prepared transactions: %d%s\n", r->nprepared,
	                r->nprepared ? " (two-phase commits not finished: `pgmm recover` finishes them)" : "");
	if (r->nprepared)
		pgmm_buf_printf(out, "  %-12s %-15s %9s  %-44s %s\n", "MASTER", "KIND", "AGE", "GID", "LOCKS");
	for (i = 0; i < r->nprepared; i++)
	{
		const admin_prepared_report *p = &r->prepared[i];
		char age[32];

		snprintf(age, sizeof age, "%.1f s", p->age_seconds >= 0 ? p->age_seconds : 0.0);
		pgmm_buf_printf(out, "  %-12s %-15s %9s  %-44s %s\n", name_of(r, p->master),
		                p->kind ? pgmm_2pc_kind_name(p->kind) : "not pgmm's", age, p->gid ? p->gid : "",
		                p->locks && p->locks[0] ? p->locks : "-");
	}
}

/* ------------------------------------------------------------ status: gathering */

static char *
dup_or_broken(const char *s, int *broken)
{
	char *d = strdup(s ? s : "");

	if (d == NULL)
		*broken = 1;
	return d;
}

/* Reconnect master i when needed; 1 up, 0 down (error recorded). */
static int
master_up(PGMMadmin *a, int i, admin_master_report *m, int *broken)
{
	pgmm_node *n = &a->nodes[i];

	if (n->conn && PQstatus(n->conn) != CONNECTION_OK)
		PQreset(n->conn);
	if (n->conn == NULL)
	{
		pgmm_buf e;

		pgmm_buf_init(&e);
		n->conn = admin_connect_node(n->name, n->conninfo, &e);
		if (n->conn == NULL)
		{
			m->error = pgmm_buf_take(&e);
			if (m->error == NULL)
				*broken = 1;
		}
		pgmm_buf_free(&e);
	}
	if (n->conn == NULL || PQstatus(n->conn) != CONNECTION_OK)
	{
		if (m->error == NULL)
			m->error = dup_or_broken(n->conn ? PQerrorMessage(n->conn) : "unreachable", broken);
		return 0;
	}
	return 1;
}

static const char status_subs_sql[] =
	"SELECT s.subname, s.subenabled::text, coalesce(s.subslotname::text, ''), "
	"  EXISTS (SELECT 1 FROM pg_catalog.pg_stat_subscription st WHERE st.subid = s.oid "
	"          AND st.relid IS NULL AND st.pid IS NOT NULL)::text, "
	"  coalesce(ss.apply_error_count, 0), coalesce(ss.sync_error_count, 0), "
	"  (SELECT count(*) FROM pg_catalog.pg_subscription_rel sr WHERE sr.srsubid = s.oid AND sr.srsubstate <> 'r') "
	"FROM pg_catalog.pg_subscription s "
	"LEFT JOIN pg_catalog.pg_stat_subscription_stats ss ON ss.subid = s.oid "
	"WHERE s.subname LIKE 'pgmm\\_%' "
	"AND s.subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) "
	"ORDER BY 1";

static const char status_slots_sql[] =
	"SELECT sl.slot_name::text, sl.active::text, "
	"  coalesce(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), sl.confirmed_flush_lsn), 0)::bigint, "
	"  coalesce(extract(epoch FROM (SELECT max(r.replay_lag) FROM pg_catalog.pg_stat_replication r "
	"                               WHERE r.pid = sl.active_pid)), 0)::float8 "
	"FROM pg_catalog.pg_replication_slots sl WHERE sl.slot_name LIKE 'pgmm\\_%' "
	"AND sl.database = current_database()";

static const char status_tables_sql[] =
	"SELECT t.schema_name, t.table_name, t.kind, coalesce(t.key_column, ''), coalesce(t.key_type, ''), "
	"  coalesce(t.colocation, 0), coalesce(t.owner, ''), coalesce(c.shards, 0), t.frozen::text "
	"FROM pgmm.tables t LEFT JOIN pgmm.colocations c ON c.id = t.colocation ORDER BY 1, 2";

static const char status_shards_sql[] =
	"SELECT colocation, owner, count(*) FROM pgmm.shards GROUP BY 1, 2 ORDER BY 1, 2";

/* Read master i's subscriptions (it is the subscriber) into r. */
static void
gather_subscriptions(PGMMadmin *a, int i, admin_report *r, int *broken)
{
	PGresult *x = PQexec(a->nodes[i].conn, status_subs_sql);
	int k;

	if (x && PQresultStatus(x) == PGRES_TUPLES_OK)
		for (k = 0; k < PQntuples(x) && r->nsubs < a->nnodes * a->nnodes; k++)
		{
			admin_sub_report *s = &r->subs[r->nsubs];
			const char *name = PQgetvalue(x, k, 0), *sep = strstr(name, "__");
			char pub[64];

			if (sep == NULL || sep - name < 5 || (size_t) (sep - name - 5) >= sizeof pub)
				continue;
			memcpy(pub, name + 5, (size_t) (sep - name - 5));
			pub[sep - name - 5] = '\0';
			s->name = dup_or_broken(name, broken);
			s->subscriber = i;
			s->publisher = admin_node_index(a, pub);
			s->slot = dup_or_broken(PQgetvalue(x, k, 2), broken);
			s->enabled = PQgetvalue(x, k, 1)[0] == 't';
			s->worker = PQgetvalue(x, k, 3)[0] == 't';
			s->apply_errors = atoll(PQgetvalue(x, k, 4));
			s->sync_errors = atoll(PQgetvalue(x, k, 5));
			s->not_ready = atoll(PQgetvalue(x, k, 6));
			s->lag_bytes = -1;
			s->lag_seconds = -1;
			r->nsubs++;
		}
	PQclear(x);
}

/* Publisher side: slot activity and lag of the subscriptions on master i. */
static void
gather_slots(PGMMadmin *a, int i, admin_report *r)
{
	PGresult *x = PQexec(a->nodes[i].conn, status_slots_sql);
	int k, j;

	if (x && PQresultStatus(x) == PGRES_TUPLES_OK)
		for (k = 0; k < PQntuples(x); k++)
			for (j = 0; j < r->nsubs; j++)
				if (r->subs[j].publisher == i && r->subs[j].slot && strcmp(r->subs[j].slot, PQgetvalue(x, k, 0)) == 0)
				{
					r->subs[j].slot_found = 1;
					r->subs[j].slot_active = PQgetvalue(x, k, 1)[0] == 't';
					r->subs[j].lag_bytes = atoll(PQgetvalue(x, k, 2));
					r->subs[j].lag_seconds = atof(PQgetvalue(x, k, 3));
				}
	PQclear(x);
}

/* Every pgmm prepared transaction on master i (pgmm_2pc_list_query). */
static void
gather_prepared(PGMMadmin *a, int i, admin_report *r, int *broken)
{
	PGresult *x = PQexec(a->nodes[i].conn, pgmm_2pc_list_query);
	int k;

	if (x == NULL || PQresultStatus(x) != PGRES_TUPLES_OK || PQntuples(x) == 0)
	{
		PQclear(x);
		return;
	}
	{
		admin_prepared_report *np = realloc(r->prepared, (size_t) (r->nprepared + PQntuples(x)) * sizeof *np);

		if (np == NULL)
		{
			*broken = 1;
			PQclear(x);
			return;
		}
		r->prepared = np;
	}
	for (k = 0; k < PQntuples(x); k++)
	{
		admin_prepared_report *p = &r->prepared[r->nprepared++];
		pgmm_2pc_gid g;

		memset(p, 0, sizeof *p);
		p->master = i;
		p->gid = dup_or_broken(PQgetvalue(x, k, 0), broken);
		p->age_seconds = atof(PQgetvalue(x, k, 2));
		p->locks = dup_or_broken(PQgetvalue(x, k, 4), broken);
		if (pgmm_2pc_gid_parse(PQgetvalue(x, k, 0), &g) == 0)
		{
			p->kind = g.kind;
			p->label = g.label;
			p->decider = dup_or_broken(g.decider, broken);
		}
	}
	PQclear(x);
}

/* Read the cluster into r; 0 / -1 (the home master's catalog could not be
 * read, or out of memory: the handle's error says which). */
static int
gather_status(PGMMadmin *a, admin_report *r)
{
	PGresult *tables = NULL, *shards = NULL;
	int i, k, broken = 0, rc = -1;

	memset(r, 0, sizeof *r);
	r->masters = calloc((size_t) a->nnodes + 1, sizeof *r->masters);
	r->subs = calloc((size_t) (a->nnodes * a->nnodes + 1), sizeof *r->subs);
	if (!r->masters || !r->subs)
	{
		admin_seterr(a, "out of memory");
		return -1;
	}
	r->nmasters = a->nnodes;
	for (i = 0; i < a->nnodes; i++)
	{
		admin_master_report *m = &r->masters[i];
		PGresult *x;

		m->name = dup_or_broken(a->nodes[i].name, &broken);
		m->slot = a->nodes[i].slot;
		m->home = i == a->home;
		m->address = pgmm_conninfo_describe(a->nodes[i].conninfo);
		if (!master_up(a, i, m, &broken))
			continue;
		x = PQexec(a->nodes[i].conn,
		           "SELECT (SELECT epoch FROM pgmm.cluster)::text, split_part(current_setting('server_version'), ' ', 1)");
		if (x && PQresultStatus(x) == PGRES_TUPLES_OK)
		{
			m->up = 1;
			m->epoch = dup_or_broken(PQgetvalue(x, 0, 0), &broken);
			m->version = dup_or_broken(PQgetvalue(x, 0, 1), &broken);
		}
		else
		{
			pgmm_buf e;

			pgmm_buf_init(&e);
			pgmm_buf_append_pqerror(&e, x, a->nodes[i].conn);
			m->error = pgmm_buf_take(&e);
			if (m->error == NULL)
				broken = 1;
		}
		PQclear(x);
		gather_subscriptions(a, i, r, &broken);
		gather_prepared(a, i, r, &broken);
	}
	for (i = 0; i < a->nnodes; i++)
		if (r->masters[i].up)
			gather_slots(a, i, r);
	if (!r->masters[a->home].up)
	{
		admin_seterr(a, "master %s (this one) cannot be read: %s", a->nodes[a->home].name,
		             r->masters[a->home].error ? r->masters[a->home].error : "unreachable");
		return -1;
	}
	tables = PQexec(a->nodes[a->home].conn, status_tables_sql);
	shards = PQexec(a->nodes[a->home].conn, status_shards_sql);
	if (!tables || PQresultStatus(tables) != PGRES_TUPLES_OK || !shards || PQresultStatus(shards) != PGRES_TUPLES_OK)
	{
		admin_seterr(a, "master %s: cannot read the catalog: ", a->nodes[a->home].name);
		pgmm_buf_append_pqerror(&a->err, tables && PQresultStatus(tables) != PGRES_TUPLES_OK ? tables : shards,
		                        a->nodes[a->home].conn);
		goto out;
	}
	r->tables = calloc((size_t) PQntuples(tables) + 1, sizeof *r->tables);
	r->shards = calloc((size_t) PQntuples(shards) + 1, sizeof *r->shards);
	if (!r->tables || !r->shards)
	{
		admin_seterr(a, "out of memory");
		goto out;
	}
	for (k = 0; k < PQntuples(tables); k++)
	{
		admin_table_report *t = &r->tables[r->ntables++];

		t->schema = dup_or_broken(PQgetvalue(tables, k, 0), &broken);
		t->table = dup_or_broken(PQgetvalue(tables, k, 1), &broken);
		t->kind = dup_or_broken(PQgetvalue(tables, k, 2), &broken);
		t->key = dup_or_broken(PQgetvalue(tables, k, 3), &broken);
		t->key_type = dup_or_broken(PQgetvalue(tables, k, 4), &broken);
		t->colocation = atoi(PQgetvalue(tables, k, 5));
		t->owner = dup_or_broken(PQgetvalue(tables, k, 6), &broken);
		t->shards = atoi(PQgetvalue(tables, k, 7));
		t->frozen = PQgetvalue(tables, k, 8)[0] == 't';
	}
	for (k = 0; k < PQntuples(shards); k++)
	{
		admin_shard_count *s = &r->shards[r->nshards++];

		s->colocation = atoi(PQgetvalue(shards, k, 0));
		s->owner = dup_or_broken(PQgetvalue(shards, k, 1), &broken);
		s->count = atoi(PQgetvalue(shards, k, 2));
	}
	if (broken)
		admin_seterr(a, "out of memory");
	else
		rc = 0;
out:
	PQclear(tables);
	PQclear(shards);
	return rc;
}

char *
pgmm_admin_status(PGMMadmin *a, int json)
{
	admin_report r;
	pgmm_buf out;
	char *s = NULL;

	if (a == NULL || !a->ok)
		return NULL;
	pgmm_buf_reset(&a->err);
	if (gather_status(a, &r) == 0)
	{
		pgmm_buf_init(&out);
		if (json)
			admin_report_json(&r, &out);
		else
			admin_report_text(&r, &out);
		s = pgmm_buf_take(&out);
		if (s == NULL)
			admin_seterr(a, "out of memory");
	}
	admin_report_free(&r);
	return s;
}

/* ------------------------------------------------------------ recover */

static void
recover_report(void *arg, const char *master, const char *gid, const char *action)
{
	admin_notice(arg, "master %s: %s: %s", master, gid, action);
}

int
pgmm_admin_recover(PGMMadmin *a, int *resolved)
{
	pgmm_2pc_part *parts;
	int i, n, down = -1, rc = 0;

	if (resolved)
		*resolved = 0;
	if (a == NULL || !a->ok)
		return -1;
	pgmm_buf_reset(&a->err);
	/* Reach every master that is up; the prepared transactions whose
	 * deciding master is up can be finished even with another one down. */
	for (i = 0; i < a->nnodes; i++)
	{
		admin_master_report m;
		int broken = 0;

		memset(&m, 0, sizeof m);
		if (!master_up(a, i, &m, &broken) && down < 0)
			down = i;
		free(m.error);
	}
	parts = admin_parts(a);
	if (parts == NULL)
	{
		admin_seterr(a, "out of memory");
		return -1;
	}
	for (i = 0; i < a->nnodes; i++)
		if (parts[i].conn && PQstatus(parts[i].conn) != CONNECTION_OK)
			parts[i].conn = NULL;
	n = pgmm_2pc_recover(parts, a->nnodes, recover_report, a, &a->err);
	free(parts);
	if (n < 0)
		rc = -1;
	else if (resolved)
		*resolved = n;
	if (down >= 0)
	{
		pgmm_buf_printf(&a->err, "%smaster %s is unreachable: the subscriptions cannot be refreshed nor tables "
		                "unfrozen until it is back (run `pgmm recover` again then)", a->err.len ? "; " : "",
		                a->nodes[down].name);
		return -1;
	}
	if (rc == 0)
	{
		PGresult *x = admin_query(a, a->home, "SELECT count(*) FROM pgmm.tables WHERE frozen", PGRES_TUPLES_OK);
		int frozen = x ? atoi(PQgetvalue(x, 0, 0)) : 0;

		PQclear(x);
		if (x == NULL)
			rc = -1;
		else if (frozen > 0)
		{
			rc = admin_refresh_and_unfreeze(a);
			if (rc == 0)
				admin_notice(a, "%d frozen table(s) unfrozen", frozen);
		}
		else if (admin_refresh_subscriptions(a) < 0)
			rc = -1;
	}
	return rc;
}

/* ------------------------------------------------------------ verify */

char *
pgmm_admin_verify(PGMMadmin *a, int *diverged)
{
	pgmm_buf out;
	PGresult *tables;
	int t, i, bad = 0;

	if (diverged)
		*diverged = 0;
	if (a == NULL || !a->ok)
		return NULL;
	pgmm_buf_reset(&a->err);
	if (!admin_require_all(a))
		return NULL;
	tables = admin_query(a, a->home, "SELECT pg_catalog.quote_ident(schema_name) || '.' || pg_catalog.quote_ident(table_name), kind "
	                     "FROM pgmm.tables ORDER BY 1", PGRES_TUPLES_OK);
	if (tables == NULL)
		return NULL;
	pgmm_buf_init(&out);
	for (t = 0; t < PQntuples(tables); t++)
	{
		const char *tbl = PQgetvalue(tables, t, 0);
		PGresult **res = calloc((size_t) a->nnodes, sizeof(PGresult *));
		pgmm_buf sql;
		long long rows = 0;
		int tbad = 0, r;

		if (res == NULL)
		{
			admin_seterr(a, "out of memory");
			PQclear(tables);
			pgmm_buf_free(&out);
			return NULL;
		}
		pgmm_buf_init(&sql);
		pgmm_buf_printf(&sql, "SELECT x.tableoid::regclass::text, count(*), "
		                "md5(string_agg(x::text, E'\\n' ORDER BY x::text)) FROM %s x GROUP BY 1 ORDER BY 1", tbl);
		for (i = 0; i < a->nnodes; i++)
			res[i] = admin_query(a, i, pgmm_buf_str(&sql), PGRES_TUPLES_OK);
		pgmm_buf_free(&sql);
		for (i = 0; i < a->nnodes; i++)
			if (res[i] == NULL)
				tbad = -1;
		if (tbad == 0)
		{
			for (r = 0; r < PQntuples(res[0]); r++)
				rows += atoll(PQgetvalue(res[0], r, 1));
			for (i = 1; i < a->nnodes; i++)
			{
				int same = PQntuples(res[i]) == PQntuples(res[0]);

				for (r = 0; same && r < PQntuples(res[0]); r++)
					same = strcmp(PQgetvalue(res[i], r, 0), PQgetvalue(res[0], r, 0)) == 0 &&
						strcmp(PQgetvalue(res[i], r, 1), PQgetvalue(res[0], r, 1)) == 0 &&
						strcmp(PQgetvalue(res[i], r, 2), PQgetvalue(res[0], r, 2)) == 0;
				if (!same)
				{
					long long other = 0;

					for (r = 0; r < PQntuples(res[i]); r++)
						other += atoll(PQgetvalue(res[i], r, 1));
					pgmm_buf_printf(&out, "%s: DIFFERS between %s (%lld rows) and %s (%lld rows)\n", tbl,
					                a->nodes[0].name, rows, a->nodes[i].name, other);
					tbad++;
				}
			}
			if (tbad == 0)
				pgmm_buf_printf(&out, "%s: %lld rows in %d partitions, identical on %d masters\n", tbl, rows,
				                PQntuples(res[0]), a->nnodes);
			bad += tbad;
		}
		for (i = 0; i < a->nnodes; i++)
			PQclear(res[i]);
		free(res);
		if (tbad < 0)
		{
			PQclear(tables);
			pgmm_buf_free(&out);
			return NULL;
		}
	}
	PQclear(tables);
	if (diverged)
		*diverged = bad;
	return pgmm_buf_take(&out);
}
