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
#include <time.h>

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
		free(r->masters[i].sync_names);
	}
	free(r->durability);
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
	for (i = 0; r->subs && i < r->nsubs; i++)
		free(r->subs[i].stats_reset);
	free(r->subs);
	free(r->prepared);
	memset(r, 0, sizeof *r);
}

const char *
admin_fence_label(admin_fence f)
{
	switch (f)
	{
		case ADMIN_FENCE_DONE:
			return "FENCED";
		case ADMIN_FENCE_UNREACHABLE:
			return "FAILED, not fenced: unreachable";
		case ADMIN_FENCE_FAILED:
			return "STALE, not fenced: may accept writes";
		default:
			return "FAILED, not fenced: not tried";
	}
}

/* STALLED: the apply worker is failing now (a conflict): errors during the
 * sample, or errors before and no progress on a lag during the sample;
 * "down": no worker yet or the publisher is unreachable. */
const char *
admin_sub_state(const admin_sub_report *s)
{
	if (!s->enabled)
		return "disabled";
	if (s->sample_seconds > 0 && s->new_errors > 0)
		return "STALLED";
	if (s->sample_seconds > 0 && s->apply_errors > 0 && s->lag_bytes > 0 && s->flushed == 0)
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
		pgmm_buf_append(out, ", \"sync_standby_names\": ");
		admin_json_str(out, m->sync_names);
		pgmm_buf_printf(out, ", \"sync_waiting\": %ld", m->sync_waiting);
		pgmm_buf_append(out, ", \"prepared\": ");
		pgmm_buf_init(&p);
		prepared_on(r, i, &p);
		admin_json_str(out, pgmm_buf_str(&p));
		pgmm_buf_free(&p);
		pgmm_buf_append(out, ", \"state\": ");
		admin_json_str(out, m->failed ? "failed" : "active");
		if (m->failed)
		{
			pgmm_buf_printf(out, ", \"failed_epoch\": %lld, \"fenced\": %s, \"fence\": ", m->failed_epoch,
			                m->fence == ADMIN_FENCE_DONE ? "true" : "false");
			admin_json_str(out, admin_fence_label(m->fence));
		}
		pgmm_buf_append(out, "}");
	}
	pgmm_buf_append(out, "], \"durability\": ");
	admin_json_str(out, r->durability);
	pgmm_buf_append(out, ", \"tables\": [");
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
		                "\"lag_bytes\": %lld, \"lag_seconds\": %.3f, \"sample_seconds\": %.1f, "
		                "\"new_apply_errors\": %lld, \"flushed_bytes\": %lld, \"last_error\": ",
		                s->worker ? "true" : "false", s->apply_errors, s->sync_errors, s->lag_bytes, s->lag_seconds,
		                s->sample_seconds, s->new_errors, s->flushed);
		if (s->last_error_age >= 0)
			pgmm_buf_printf(out, "{\"seen_seconds_ago\": %.1f, \"what\": \"apply worker failed (its message "
			                "is in the subscriber's server log)\"}", s->last_error_age);
		else
			pgmm_buf_append(out, "null");
		pgmm_buf_append(out, ", \"errors_since\": ");
		if (s->stats_reset && s->stats_reset[0])
			admin_json_str(out, s->stats_reset);
		else
			pgmm_buf_append(out, "null");
		pgmm_buf_append(out, "}");
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
	int i, up = 0, nfailed = 0, nusable;

	for (i = 0; i < r->nmasters; i++)
	{
		nfailed += r->masters[i].failed;
		up += r->masters[i].up && !r->masters[i].failed;
	}
	nusable = r->nmasters - nfailed;
	pgmm_buf_printf(out, "masters: %d (%d up)", nusable, up);
	if (nfailed)
		pgmm_buf_printf(out, ", %d failed", nfailed);
	pgmm_buf_append(out, "\n");
	pgmm_buf_printf(out, "  %-12s %-5s %-5s %-7s %-9s %s\n", "NAME", "STATE", "SLOT", "EPOCH", "VERSION", "ADDRESS");
	for (i = 0; i < r->nmasters; i++)
	{
		const admin_master_report *m = &r->masters[i];
		pgmm_buf p;

		if (m->failed)
			continue;

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
		if (m->sync_waiting > 0)
			pgmm_buf_printf(out, "      %ld commit%s WAITING for a subscriber to confirm (synchronous_standby_names = %s)\n",
			                m->sync_waiting, m->sync_waiting == 1 ? "" : "s", m->sync_names ? m->sync_names : "?");
		pgmm_buf_free(&p);
	}
	pgmm_buf_printf(out, "durability: %s%s\n", r->durability ? r->durability : "unknown",
	                r->durability && strcmp(r->durability, "off") == 0 ? " (commits wait for no other master)"
	                : r->durability ? " (a commit is acknowledged once that many other masters have it)" : "");
	if (nfailed)
		pgmm_buf_printf(out, "failed masters: %d (out of every catalog change; their slots retired)\n", nfailed);
	for (i = 0; i < r->nmasters; i++)
	{
		const admin_master_report *m = &r->masters[i];

		if (!m->failed)
			continue;
		pgmm_buf_printf(out, "  %-12s %s  (failed at epoch %lld; slot %d; %s)\n", m->name ? m->name : "?",
		                admin_fence_label(m->fence), m->failed_epoch, m->slot, m->address ? m->address : "");
		if (m->fence == ADMIN_FENCE_DONE)
			pgmm_buf_printf(out, "      catalog epoch %s there, guards on every shard, subscriptions disabled; rows "
			                "written to it after it failed are on no other master (`pgmm rejoin %s` finds them)\n",
			                m->epoch && m->epoch[0] ? m->epoch : "?", m->name ? m->name : "?");
		if (m->error)
		{
			pgmm_buf_append(out, "      ");
			pgmm_buf_append_pqmsg(out, m->error);
			pgmm_buf_append(out, "\n");
		}
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
	pgmm_buf_printf(out, "subscriptions: %d of %d expected\n", r->nsubs, nusable * (nusable - 1));
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
		if (s->new_errors > 0)
			pgmm_buf_printf(out, "apply worker FAILING NOW: %lld error(s) in the last %.1f s, last one %.1f s ago "
			                "(the message is in %s's server log); ", s->new_errors, s->sample_seconds,
			                s->last_error_age >= 0 ? s->last_error_age : 0.0, name_of(r, s->subscriber));
		else if (s->apply_errors > 0 && s->lag_bytes > 0 && s->flushed == 0 && s->sample_seconds > 0)
			pgmm_buf_printf(out, "no progress in %.1f s with %lld bytes to apply after earlier errors; ",
			                s->sample_seconds, s->lag_bytes);
		if (s->apply_errors || s->sync_errors)
			pgmm_buf_printf(out, "%lld apply errors, %lld sync errors since %s%s", s->apply_errors,
			                s->sync_errors, s->stats_reset && s->stats_reset[0] ? s->stats_reset : "the cluster started",
			                s->new_errors == 0 && s->sample_seconds > 0 ? " (none now)" : "");
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
	"  (SELECT count(*) FROM pg_catalog.pg_subscription_rel sr WHERE sr.srsubid = s.oid AND sr.srsubstate <> 'r'), "
	"  coalesce(ss.stats_reset::text, '') "
	"FROM pg_catalog.pg_subscription s "
	"LEFT JOIN pg_catalog.pg_stat_subscription_stats ss ON ss.subid = s.oid "
	"WHERE s.subname LIKE 'pgmm\\_%' "
	"AND s.subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) "
	"ORDER BY 1";

static const char status_slots_sql[] =
	"SELECT sl.slot_name::text, sl.active::text, "
	"  coalesce(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), sl.confirmed_flush_lsn), 0)::bigint, "
	"  coalesce(extract(epoch FROM (SELECT max(r.replay_lag) FROM pg_catalog.pg_stat_replication r "
	"                               WHERE r.pid = sl.active_pid)), 0)::float8, "
	"  coalesce(pg_catalog.pg_wal_lsn_diff(sl.confirmed_flush_lsn, '0/0'), -1)::bigint "
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
			s->stats_reset = dup_or_broken(PQgetvalue(x, k, 7), broken);
			s->lag_bytes = -1;
			s->lag_seconds = -1;
			s->new_errors = -1;
			s->flushed = -1;
			s->last_error_age = -1;
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
					r->subs[j].flush_pos = atoll(PQgetvalue(x, k, 4));
				}
	PQclear(x);
}

/* How long status watches the subscriptions to tell a failure happening
 * now from errors counted in the past. */
#define STATUS_SAMPLE_MS 2500

/*
 * The second sample: errors counted and bytes confirmed since the first,
 * in steps (so that the time of the last error is known to a step).
 */
static void
sample_subscriptions(PGMMadmin *a, admin_report *r)
{
	struct timespec t0, t1;
	const int steps = 5;
	int step, i, k, j;

	if (r->nsubs == 0)
		return;
	/* A failing apply worker counts every attempt: with no error ever
	 * counted nothing can be stalled, and status answers at once. */
	for (j = 0; j < r->nsubs; j++)
		if (r->subs[j].apply_errors > 0)
			break;
	if (j == r->nsubs)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (j = 0; j < r->nsubs; j++)
	{
		r->subs[j].errors_at_start = r->subs[j].apply_errors;
		r->subs[j].flush_at_start = r->subs[j].flush_pos;
	}
	for (step = 1; step <= steps; step++)
	{
		struct timespec ts = {0, (long) STATUS_SAMPLE_MS / steps * 1000000L};
		double now;

		nanosleep(&ts, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		now = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
		for (i = 0; i < a->nnodes; i++)
		{
			PGresult *x;

			if (!r->masters[i].up)
				continue;
			x = PQexec(a->nodes[i].conn, status_subs_sql);
			if (x && PQresultStatus(x) == PGRES_TUPLES_OK)
				for (k = 0; k < PQntuples(x); k++)
					for (j = 0; j < r->nsubs; j++)
						if (r->subs[j].subscriber == i && r->subs[j].name &&
						    strcmp(r->subs[j].name, PQgetvalue(x, k, 0)) == 0)
						{
							long long e = atoll(PQgetvalue(x, k, 4));

							if (e > r->subs[j].apply_errors)
								r->subs[j].error_seen_at = now;
							if (e >= r->subs[j].errors_at_start)
								r->subs[j].new_errors = e - r->subs[j].errors_at_start;
							r->subs[j].apply_errors = e;
						}
			PQclear(x);
			if (step < steps)
				continue;
			/* publisher side, at the end: how far each subscriber confirmed */
			x = PQexec(a->nodes[i].conn, status_slots_sql);
			if (x && PQresultStatus(x) == PGRES_TUPLES_OK)
				for (k = 0; k < PQntuples(x); k++)
					for (j = 0; j < r->nsubs; j++)
						if (r->subs[j].publisher == i && r->subs[j].slot &&
						    strcmp(r->subs[j].slot, PQgetvalue(x, k, 0)) == 0 && r->subs[j].flush_at_start >= 0)
						{
							long long f = atoll(PQgetvalue(x, k, 4));

							r->subs[j].flushed = f >= 0 ? f - r->subs[j].flush_at_start : -1;
							r->subs[j].lag_bytes = atoll(PQgetvalue(x, k, 2));
							r->subs[j].lag_seconds = atof(PQgetvalue(x, k, 3));
						}
			PQclear(x);
		}
		if (step == steps)
		{
			for (j = 0; j < r->nsubs; j++)
			{
				r->subs[j].sample_seconds = now;
				if (r->subs[j].new_errors < 0)
					r->subs[j].new_errors = 0;
				if (r->subs[j].error_seen_at > 0)
					r->subs[j].last_error_age = now - r->subs[j].error_seen_at;
			}
		}
	}
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

	/* A failed master that answers again is fenced first. */
	admin_fence_failed(a);
	memset(r, 0, sizeof *r);
	r->masters = calloc((size_t) (a->nnodes + a->nfailed) + 1, sizeof *r->masters);
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
		           "SELECT (SELECT epoch FROM pgmm.cluster)::text, split_part(current_setting('server_version'), ' ', 1), "
		           "(SELECT durability FROM pgmm.cluster), current_setting('synchronous_standby_names'), "
		           "(SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE wait_event = 'SyncRep')::text");
		if (x && PQresultStatus(x) == PGRES_TUPLES_OK)
		{
			m->up = 1;
			m->epoch = dup_or_broken(PQgetvalue(x, 0, 0), &broken);
			m->version = dup_or_broken(PQgetvalue(x, 0, 1), &broken);
			if (i == a->home)
				r->durability = dup_or_broken(PQgetvalue(x, 0, 2), &broken);
			m->sync_names = dup_or_broken(PQgetvalue(x, 0, 3), &broken);
			m->sync_waiting = atol(PQgetvalue(x, 0, 4));
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
	/* The failed masters, after the usable ones: fenced when the handle
	 * was opened (admin_fence_failed) if they answered. */
	for (k = 0; k < a->nfailed; k++)
	{
		admin_failed_node *f = &a->failed[k];
		admin_master_report *m = &r->masters[r->nmasters++];

		m->name = dup_or_broken(f->node.name, &broken);
		m->slot = f->node.slot;
		m->address = pgmm_conninfo_describe(f->node.conninfo);
		m->failed = 1;
		m->failed_epoch = f->failed_epoch;
		m->fence = f->fence;
		if (f->note)
			m->error = dup_or_broken(f->note, &broken);
		if (f->node.conn && PQstatus(f->node.conn) == CONNECTION_OK)
		{
			PGresult *x = PQexec(f->node.conn, "SELECT (SELECT epoch FROM pgmm.cluster)::text, "
			                     "split_part(current_setting('server_version'), ' ', 1)");

			if (x && PQresultStatus(x) == PGRES_TUPLES_OK && PQntuples(x) == 1)
			{
				m->up = 1;
				m->epoch = dup_or_broken(PQgetvalue(x, 0, 0), &broken);
				m->version = dup_or_broken(PQgetvalue(x, 0, 1), &broken);
			}
			PQclear(x);
		}
	}
	sample_subscriptions(a, r);
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
	admin_fence_failed(a);
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

/*
 * The checksum of every shard of table `qualified` on one master: shard
 * name, rows, md5 of the sorted md5s of the rows.  The row is hashed as the
 * whole-row value of the relation alias (ROW(r.*)), and the shard is read
 * through the alias too (r.tableoid): a two-part name is always the
 * relation's, so no column (not even one called r, x or "select") can take
 * the row's place.
 */
void
admin_build_verify_checksum(pgmm_buf *b, const char *qualified)
{
	pgmm_buf_printf(b, "SELECT (SELECT pg_catalog.format('%%I.%%I', n.nspname, c.relname) FROM pg_catalog.pg_class c "
	                "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = g.t), g.n, g.h FROM ("
	                "SELECT r.tableoid AS t, pg_catalog.count(*) AS n, "
	                "pg_catalog.md5(pg_catalog.string_agg(" ADMIN_ROW_HASH ", '' "
	                "ORDER BY " ADMIN_ROW_HASH ")) AS h FROM %s AS r GROUP BY 1) AS g ORDER BY 1", qualified);
}

/*
 * Every row of one shard: its key as text (keys: the key columns, NULL or
 * none for the whole row), the md5 of the row, ordered by key then hash in
 * byte order (so that two masters' lists merge with strcmp).
 */
void
admin_build_key_text(pgmm_buf *b, const char *const *keys, int nkeys)
{
	int k;

	if (nkeys <= 0)
		pgmm_buf_append(b, "(ROW(r.*)::text");
	else if (nkeys == 1)
	{
		pgmm_buf_append(b, "((r.");
		pgmm_buf_ident(b, keys[0]);
		pgmm_buf_append(b, ")::text");
	}
	else
	{
		pgmm_buf_append(b, "(ROW(");
		for (k = 0; k < nkeys; k++)
		{
			pgmm_buf_append(b, k ? ", r." : "r.");
			pgmm_buf_ident(b, keys[k]);
		}
		pgmm_buf_append(b, ")::text");
	}
	pgmm_buf_append(b, " COLLATE \"C\")");
}

void
admin_build_verify_rows(pgmm_buf *b, const char *shard, const char *const *keys, int nkeys)
{
	pgmm_buf_append(b, "SELECT ");
	admin_build_key_text(b, keys, nkeys);
	pgmm_buf_printf(b, " AS k, " ADMIN_ROW_HASH " AS h FROM ONLY %s AS r ORDER BY 1, 2", shard);
}

static int
strcmp_null(const char *x, const char *y)
{
	return strcmp(x ? x : "", y ? y : "");
}

int
admin_verify_diff(const char *const *ka, const char *const *ha, int na,
                  const char *const *kb, const char *const *hb, int nb,
                  int maxkeys, const char **first, int *nfirst)
{
	int i = 0, j = 0, n = 0;

	*nfirst = 0;
	while (i < na || j < nb)
	{
		const char *key;
		int c = i >= na ? 1 : j >= nb ? -1 : strcmp_null(ka[i], kb[j]);

		if (c == 0 && strcmp_null(ha[i], hb[j]) == 0)
		{
			i++, j++;
			continue;
		}
		if (c == 0)
			key = ka[i], i++, j++;
		else if (c < 0)
			key = ka[i++];
		else
			key = kb[j++];
		/* a key counted once even when several rows carry it */
		if (*nfirst > 0 && strcmp_null(first[*nfirst - 1], key) == 0)
			continue;
		if (n > 0 && *nfirst == maxkeys && strcmp_null(first[maxkeys - 1], key) == 0)
			continue;
		n++;
		if (*nfirst < maxkeys)
			first[(*nfirst)++] = key;
	}
	return n;
}

#define VERIFY_FIRST_KEYS 5

/* Tables with what verify needs: qualified name, kind, key columns as a
 * text array (the distribution key, else the primary key, else none). */
static const char verify_tables_sql[] =
	"SELECT pg_catalog.quote_ident(t.schema_name) || '.' || pg_catalog.quote_ident(t.table_name), t.kind, "
	"  CASE WHEN t.key_column IS NOT NULL THEN ARRAY[t.key_column] ELSE "
	"   (SELECT pg_catalog.array_agg(a.attname::text ORDER BY k.ord) FROM pg_catalog.pg_index i "
	"     CROSS JOIN LATERAL pg_catalog.unnest(i.indkey) WITH ORDINALITY AS k(att, ord) "
	"     JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.att "
	"     WHERE i.indrelid = pg_catalog.to_regclass(pg_catalog.quote_ident(t.schema_name) || '.' || "
	"       pg_catalog.quote_ident(t.table_name)) AND i.indisprimary) END::text[], "
	"  t.schema_name, t.table_name, t.owner, t.colocation "
	"FROM pgmm.tables t ORDER BY 1";

/* The shards of one table with their owner: shard name (schema.name, quoted), owner. */
static const char verify_shards_sql[] =
	"SELECT pg_catalog.format('%I.%I', $1::text, $2::text), $3::text "
	"WHERE $4 = '' "
	"UNION ALL "
	"SELECT pg_catalog.format('%I.%I', $1::text, $2::text || '" PGMM_SHARD_SUFFIX "' || s.remainder), s.owner "
	"FROM pgmm.shards s WHERE $4 <> '' AND s.colocation::text = $4 ORDER BY 1";

/* Parse a text[] literal of identifiers ({a,"b c"}) into keys; returns
 * the count, or -1 for out of memory. Quoted elements keep their content. */
static int
parse_text_array(const char *s, char ***out)
{
	char **v = NULL;
	int n = 0;

	*out = NULL;
	if (s == NULL || *s != '{')
		return 0;
	s++;
	while (*s && *s != '}')
	{
		pgmm_buf e;
		char **nv;

		pgmm_buf_init(&e);
		if (*s == '"')
		{
			s++;
			while (*s && *s != '"')
			{
				if (*s == '\\' && s[1])
					s++;
				pgmm_buf_printf(&e, "%c", *s++);
			}
			if (*s == '"')
				s++;
		}
		else
			while (*s && *s != ',' && *s != '}')
				pgmm_buf_printf(&e, "%c", *s++);
		if (*s == ',')
			s++;
		nv = realloc(v, (size_t) (n + 1) * sizeof *v);
		if (nv == NULL)
		{
			pgmm_buf_free(&e);
			break;
		}
		v = nv;
		v[n] = pgmm_buf_take(&e);
		if (v[n] == NULL)
			v[n] = strdup("");
		if (v[n] == NULL)
			break;
		n++;
	}
	*out = v;
	return n;
}

/* Row lists of one shard on masters o (owner) and m: fill the diff. -1 on error. */
static int
verify_shard_rows(PGMMadmin *a, int o, int m, const char *shard, char **keys, int nkeys,
                  int *ndiff, pgmm_buf *firstkeys, pgmm_buf *firstjson)
{
	pgmm_buf sql;
	PGresult *ro, *rm;
	const char **ka = NULL, **ha = NULL, **kb = NULL, **hb = NULL, *first[VERIFY_FIRST_KEYS];
	int na, nb, i, nfirst = 0, rc = -1;

	pgmm_buf_init(&sql);
	admin_build_verify_rows(&sql, shard, (const char *const *) keys, nkeys);
	ro = admin_query(a, o, pgmm_buf_str(&sql), PGRES_TUPLES_OK);
	rm = ro ? admin_query(a, m, pgmm_buf_str(&sql), PGRES_TUPLES_OK) : NULL;
	pgmm_buf_free(&sql);
	if (ro == NULL || rm == NULL)
		goto done;
	na = PQntuples(ro);
	nb = PQntuples(rm);
	ka = calloc((size_t) na + 1, sizeof *ka);
	ha = calloc((size_t) na + 1, sizeof *ha);
	kb = calloc((size_t) nb + 1, sizeof *kb);
	hb = calloc((size_t) nb + 1, sizeof *hb);
	if (!ka || !ha || !kb || !hb)
	{
		admin_seterr(a, "out of memory");
		goto done;
	}
	for (i = 0; i < na; i++)
	{
		ka[i] = PQgetisnull(ro, i, 0) ? NULL : PQgetvalue(ro, i, 0);
		ha[i] = PQgetvalue(ro, i, 1);
	}
	for (i = 0; i < nb; i++)
	{
		kb[i] = PQgetisnull(rm, i, 0) ? NULL : PQgetvalue(rm, i, 0);
		hb[i] = PQgetvalue(rm, i, 1);
	}
	*ndiff = admin_verify_diff(ka, ha, na, kb, hb, nb, VERIFY_FIRST_KEYS, first, &nfirst);
	for (i = 0; i < nfirst; i++)
	{
		pgmm_buf_printf(firstkeys, "%s%s", i ? ", " : "", first[i] ? first[i] : "NULL");
		pgmm_buf_append(firstjson, i ? ", " : "");
		if (first[i])
			admin_json_str(firstjson, first[i]);
		else
			pgmm_buf_append(firstjson, "null");
	}
	rc = 0;
done:
	free(ka);
	free(ha);
	free(kb);
	free(hb);
	PQclear(ro);
	PQclear(rm);
	return rc;
}

/* Row of shard `shard` in a checksum result; -1 when the shard has no rows there. */
static int
checksum_row(const PGresult *r, const char *shard)
{
	int i;

	for (i = 0; r && i < PQntuples(r); i++)
		if (strcmp(PQgetvalue(r, i, 0), shard) == 0)
			return i;
	return -1;
}

static char *
verify_run(PGMMadmin *a, int json, int *diverged)
{
	pgmm_buf out, js;
	PGresult *tables;
	int t, i, bad = 0, failed = 0;

	if (diverged)
		*diverged = 0;
	if (a == NULL || !a->ok)
		return NULL;
	admin_fence_failed(a);
	pgmm_buf_reset(&a->err);
	if (!admin_require_all(a))
		return NULL;
	tables = admin_query(a, a->home, verify_tables_sql, PGRES_TUPLES_OK);
	if (tables == NULL)
		return NULL;
	pgmm_buf_init(&out);
	pgmm_buf_init(&js);
	pgmm_buf_append(&js, "{\"tables\": [");
	for (t = 0; t < PQntuples(tables) && !failed; t++)
	{
		const char *tbl = PQgetvalue(tables, t, 0);
		const char *coloc = PQgetisnull(tables, t, 6) ? "" : PQgetvalue(tables, t, 6);
		const char *sv[4];
		PGresult **res = calloc((size_t) a->nnodes, sizeof(PGresult *));
		PGresult *shards = NULL;
		char **keys = NULL;
		int nkeys = parse_text_array(PQgetisnull(tables, t, 2) ? NULL : PQgetvalue(tables, t, 2), &keys);
		pgmm_buf sql;
		long long rows = 0;
		int tbad = 0, s, nshard_json = 0;

		sv[0] = PQgetvalue(tables, t, 3);
		sv[1] = PQgetvalue(tables, t, 4);
		sv[2] = PQgetisnull(tables, t, 5) ? "" : PQgetvalue(tables, t, 5);
		sv[3] = coloc;
		if (res == NULL || nkeys < 0)
		{
			admin_seterr(a, "out of memory");
			failed = 1;
			goto next;
		}
		shards = admin_query_params(a, a->home, verify_shards_sql, 4, sv);
		if (shards == NULL)
		{
			failed = 1;
			goto next;
		}
		pgmm_buf_init(&sql);
		admin_build_verify_checksum(&sql, tbl);
		for (i = 0; i < a->nnodes && !failed; i++)
			if ((res[i] = admin_query(a, i, pgmm_buf_str(&sql), PGRES_TUPLES_OK)) == NULL)
				failed = 1;
		pgmm_buf_free(&sql);
		if (failed)
			goto next;
		pgmm_buf_printf(&js, "%s{\"table\": ", t ? ", " : "");
		admin_json_str(&js, tbl);
		pgmm_buf_append(&js, ", \"differences\": [");
		for (s = 0; s < PQntuples(shards) && !failed; s++)
		{
			const char *shard = PQgetvalue(shards, s, 0);
			int o = admin_node_index(a, PQgetvalue(shards, s, 1));
			int ro, rm;

			if (o < 0)
				o = a->home;
			ro = checksum_row(res[o], shard);
			if (ro >= 0)
				rows += atoll(PQgetvalue(res[o], ro, 1));
			for (i = 0; i < a->nnodes && !failed; i++)
			{
				long long no, nm;
				int ndiff = 0;
				pgmm_buf fk, fj;

				if (i == o)
					continue;
				rm = checksum_row(res[i], shard);
				if (ro < 0 && rm < 0)
					continue;
				if (ro >= 0 && rm >= 0 && strcmp(PQgetvalue(res[o], ro, 1), PQgetvalue(res[i], rm, 1)) == 0 &&
				    strcmp(PQgetvalue(res[o], ro, 2), PQgetvalue(res[i], rm, 2)) == 0)
					continue;
				no = ro >= 0 ? atoll(PQgetvalue(res[o], ro, 1)) : 0;
				nm = rm >= 0 ? atoll(PQgetvalue(res[i], rm, 1)) : 0;
				pgmm_buf_init(&fk);
				pgmm_buf_init(&fj);
				if (verify_shard_rows(a, o, i, shard, keys, nkeys, &ndiff, &fk, &fj) < 0)
				{
					failed = 1;
					pgmm_buf_free(&fk);
					pgmm_buf_free(&fj);
					break;
				}
				pgmm_buf_printf(&out, "%s: DIFFERS: shard %s on %s differs from its owner %s: %d row(s) differ "
				                "(%s: %lld rows, %s: %lld rows); first keys: %s\n", tbl, shard, a->nodes[i].name,
				                a->nodes[o].name, ndiff, a->nodes[o].name, no, a->nodes[i].name, nm,
				                fk.len ? pgmm_buf_str(&fk) : "(none)");
				pgmm_buf_append(&js, nshard_json++ ? ", {\"shard\": " : "{\"shard\": ");
				admin_json_str(&js, shard);
				pgmm_buf_append(&js, ", \"owner\": ");
				admin_json_str(&js, a->nodes[o].name);
				pgmm_buf_append(&js, ", \"master\": ");
				admin_json_str(&js, a->nodes[i].name);
				pgmm_buf_printf(&js, ", \"owner_rows\": %lld, \"master_rows\": %lld, \"differing_rows\": %d, "
				                "\"first_keys\": [%s]}", no, nm, ndiff, fj.len ? pgmm_buf_str(&fj) : "");
				pgmm_buf_free(&fk);
				pgmm_buf_free(&fj);
				tbad++;
			}
		}
		if (!failed)
		{
			pgmm_buf_printf(&js, "], \"rows\": %lld, \"shards\": %d, \"identical\": %s}", rows,
			                PQntuples(shards), tbad ? "false" : "true");
			if (tbad == 0)
				pgmm_buf_printf(&out, "%s: %lld rows in %d partitions, identical on %d masters\n", tbl, rows,
				                PQntuples(shards), a->nnodes);
		}
		bad += tbad;
next:
		for (i = 0; res && i < a->nnodes; i++)
			PQclear(res[i]);
		free(res);
		PQclear(shards);
		for (i = 0; i < nkeys; i++)
			free(keys[i]);
		free(keys);
	}
	PQclear(tables);
	if (failed)
	{
		pgmm_buf_free(&out);
		pgmm_buf_free(&js);
		return NULL;
	}
	pgmm_buf_printf(&js, "], \"masters\": %d, \"differences\": %d}\n", a->nnodes, bad);
	if (diverged)
		*diverged = bad;
	if (json)
	{
		pgmm_buf_free(&out);
		return pgmm_buf_take(&js);
	}
	pgmm_buf_free(&js);
	return pgmm_buf_take(&out);
}

char *
pgmm_admin_verify(PGMMadmin *a, int *diverged)
{
	return verify_run(a, 0, diverged);
}

char *
pgmm_admin_verify_json(PGMMadmin *a, int json, int *diverged)
{
	return verify_run(a, json, diverged);
}
