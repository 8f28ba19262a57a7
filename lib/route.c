/*
 * route.c -- statement plans and their targets.
 *
 * A plan is what pgmm learns from a statement text once: its kind, the pgmm
 * table it writes or reads, where each row's key comes from (a literal whose
 * owner is computed right away, a $n parameter, the column DEFAULT, or an
 * expression pgmm does not evaluate), or the error pgmm answers with.  Plans
 * are cached per text (exec.c) and dropped when the map changes.
 *
 * A target is where one execution of a plan goes, given its parameters:
 * hash the key parameter, take the remainder, look the owner up.  This is
 * the hot path: no allocation, no I/O.
 *
 * Called by exec.c (plans, targets), prepared.c (plans), conn.c
 * (pgmm_key_owner), ids.c (pgmm_key_owner_text) and the unit tests.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router_int.h"

/* ------------------------------------------------------------ plans */

void
pgmm_plan_free(pgmm_plan *p)
{
	if (p == NULL)
		return;
	free(p->keys);
	free(p->set_key);
	free(p->message);
	free(p->detail);
	free(p->hint);
	free(p);
}

static int
refuse(pgmm_plan *p, const char *sqlstate, const char *message, const char *detail, const char *hint)
{
	p->route = PGMM_ROUTE_REFUSE;
	snprintf(p->sqlstate, sizeof p->sqlstate, "%s", sqlstate);
	free(p->message);
	free(p->detail);
	free(p->hint);
	p->message = strdup(message);
	p->detail = detail ? strdup(detail) : NULL;
	p->hint = hint ? strdup(hint) : NULL;
	if (p->message == NULL || (detail && p->detail == NULL) || (hint && p->hint == NULL))
		return -1;
	return 0;
}

static int
refusef(pgmm_plan *p, const char *sqlstate, const char *detail, const char *hint, const char *fmt, ...)
	PGMM_PRINTF(5, 6);

static int
refusef(pgmm_plan *p, const char *sqlstate, const char *detail, const char *hint, const char *fmt, ...)
{
	pgmm_buf b;
	va_list ap;
	int rc;

	pgmm_buf_init(&b);
	va_start(ap, fmt);
	pgmm_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	rc = pgmm_buf_ok(&b) ? refuse(p, sqlstate, pgmm_buf_str(&b), detail, hint) : -1;
	pgmm_buf_free(&b);
	return rc;
}

/* Does a value cast to type `cast` keep the bytes the key type hashes? */
static int
cast_compatible(pgmm_keytype key, const char *cast)
{
	pgmm_keytype c;

	if (cast == NULL)
		return 1;
	c = pgmm_keytype_from_name(cast);
	if (c == key)
		return 1;
	if (pgmm_keytype_is_integer(c) && pgmm_keytype_is_integer(key))
		return 1;
	if ((c == PGMM_KEY_TEXT || c == PGMM_KEY_VARCHAR) && (key == PGMM_KEY_TEXT || key == PGMM_KEY_VARCHAR))
		return 1;
	return 0;
}

static int
plain_integer(const char *s, size_t len)
{
	size_t i = 0;

	if (len > 0 && s[0] == '-')
		i++;
	if (i >= len)
		return 0;
	for (; i < len; i++)
		if (!isdigit((unsigned char) s[i]))
			return 0;
	return 1;
}

static void
qualified(char *buf, size_t cap, const pgmm_map_table *t)
{
	snprintf(buf, cap, "%s.%s", t->schema, t->name);
}

/* Key of one row from a parsed value; a literal is hashed now. -1 on OOM. */
static int
value_key(pgmm_plan *p, const pgmm_map *map, const pgmm_map_table *t, const pgmm_value *v,
          pgmm_keysrc *ks)
{
	char err[256], tn[160];
	uint64_t h;
	const char *text = v->text;
	size_t len = v->len;
	int hashable = 0, rc;

	ks->kind = PGMM_KEY_UNKNOWN;
	ks->node = -1;
	ks->param = 0;
	switch (v->kind)
	{
		case PGMM_VAL_PARAM:
			if (cast_compatible(t->key_type, v->cast) && v->param > 0)
			{
				ks->kind = PGMM_KEY_PARAM;
				ks->param = v->param;
			}
			return 0;
		case PGMM_VAL_DEFAULT:
			ks->kind = PGMM_KEY_NONE;
			return 0;
		case PGMM_VAL_NULL:
			ks->kind = PGMM_KEY_NODE;
			ks->node = pgmm_map_shard_owner(map, t, PGMM_NULL_KEY_REMAINDER);
			return 0;
		case PGMM_VAL_STRING:
			hashable = cast_compatible(t->key_type, v->cast);
			break;
		case PGMM_VAL_NUMBER:
			if (t->key_type == PGMM_KEY_NUMERIC)
				hashable = cast_compatible(t->key_type, v->cast);
			else if (pgmm_keytype_is_integer(t->key_type))
				hashable = cast_compatible(t->key_type, v->cast) && plain_integer(text, len);
			break;
		case PGMM_VAL_BOOL:
			hashable = t->key_type == PGMM_KEY_BOOL && cast_compatible(t->key_type, v->cast);
			break;
		default:
			break;
	}
	if (!hashable || text == NULL)
		return 0;
	rc = pgmm_key_hash_text_typmod(t->key_type, t->key_typmod, text, len, &h, err, sizeof err);
	if (rc < 0)
	{
		/* Datetime keys in server-dependent forms: "unknown", not wrong. */
		if (rc == PGMM_HASH_EUNKNOWABLE || pgmm_hash_sqlstate(rc) == NULL)
			return 0;
		qualified(tn, sizeof tn, t);
		return refusef(p, pgmm_hash_sqlstate(rc), "pgmm computes the owner of every key before sending; "
		               "nothing was sent to any master", NULL,
		               "pgmm: invalid key for column %s of table %s: %s", t->key_column, tn, err);
	}
	ks->kind = PGMM_KEY_NODE;
	ks->node = pgmm_map_shard_owner(map, t, pgmm_hash_remainder(h, (uint32_t) map->colocs[t->coloc].shards));
	return 0;
}

static int
alloc_keys(pgmm_plan *p, int n)
{
	p->keys = calloc((size_t) (n > 0 ? n : 1), sizeof(pgmm_keysrc));
	if (p->keys == NULL)
		return -1;
	p->nkeys = n;
	return 0;
}

/* The first WHERE term "key = value" of a statement, as the key source. */
static int
where_key(pgmm_plan *p, const pgmm_map *map, const pgmm_map_table *t, const pgmm_stmt *st)
{
	int i;

	if (alloc_keys(p, 1) < 0)
		return -1;
	p->keys[0].kind = PGMM_KEY_NONE;
	p->keys[0].node = -1;
	for (i = 0; i < st->nconds; i++)
		if (st->conds[i].column && strcmp(st->conds[i].column, t->key_column) == 0)
		{
			if (value_key(p, map, t, &st->conds[i].value, &p->keys[0]) < 0)
				return -1;
			/* DEFAULT cannot appear in WHERE; an unknown key is no key. */
			if (p->keys[0].kind == PGMM_KEY_UNKNOWN)
				p->keys[0].kind = PGMM_KEY_NONE;
			break;
		}
	return 0;
}

static int
insert_keys(pgmm_plan *p, const pgmm_map *map, const pgmm_map_table *t, const pgmm_stmt *st)
{
	int col = -1, r, i;

	if (st->nrows < 0)
	{
		/* INSERT ... SELECT / query: rows pgmm cannot see. */
		if (alloc_keys(p, 1) < 0)
			return -1;
		p->keys[0].kind = PGMM_KEY_UNKNOWN;
		p->keys[0].node = -1;
		return 0;
	}
	if (st->ncols >= 0)
	{
		for (i = 0; i < st->ncols; i++)
			if (st->cols[i] && strcmp(st->cols[i], t->key_column) == 0)
			{
				col = i;
				break;
			}
	}
	else
		col = t->key_position > 0 ? t->key_position - 1 : -2;
	if (alloc_keys(p, st->nrows > 0 ? st->nrows : 1) < 0)
		return -1;
	for (r = 0; r < p->nkeys; r++)
	{
		pgmm_keysrc *ks = &p->keys[r];

		ks->node = -1;
		if (st->nrows == 0 || col == -1 || (col >= 0 && col >= st->nvals))
			ks->kind = PGMM_KEY_NONE;
		else if (col == -2)
			ks->kind = PGMM_KEY_UNKNOWN;
		else if (value_key(p, map, t, &st->vals[(size_t) r * (size_t) st->nvals + (size_t) col], ks) < 0)
			return -1;
		else if (p->route == PGMM_ROUTE_REFUSE)
			return 0;
		/* Only integer keys get pgmm's owned-shard DEFAULT; any other
		 * column default (gen_random_uuid(), ...) lands anywhere. */
		if (ks->kind == PGMM_KEY_NONE && !pgmm_keytype_is_integer(t->key_type))
			ks->kind = PGMM_KEY_UNKNOWN;
	}
	return 0;
}

/* SET / RESET / DISCARD / DEALLOCATE / PREPARE, from the recogniser's
 * sub-kind and setting name. */
static int
plan_session(pgmm_plan *p, const pgmm_stmt *st)
{
	p->route = PGMM_ROUTE_SET;
	switch (st->sub)
	{
		case PGMM_SUB_SET_LOCAL:
			p->route = PGMM_ROUTE_SET_LOCAL;
			return 0;
		case PGMM_SUB_RESET_ALL:
			p->flags |= PGMM_PF_RESET_ALL | PGMM_PF_SEARCH_PATH;
			return 0;
		case PGMM_SUB_DISCARD_ALL:
			p->flags |= PGMM_PF_RESET_ALL | PGMM_PF_SEARCH_PATH | PGMM_PF_DEALLOCATE;
			return 0;
		case PGMM_SUB_DEALLOCATE_ALL:
			p->flags |= PGMM_PF_DEALLOCATE;
			return 0;
		case PGMM_SUB_DEALLOCATE:
		case PGMM_SUB_PREPARE:
			/* SQL-level statements: where EXECUTE (a fallback statement) runs. */
			p->route = PGMM_ROUTE_FALLBACK;
			return 0;
		case PGMM_SUB_SET:
		case PGMM_SUB_RESET:
			/* RESET x is recorded as "forget x" (set_key set, see exec.c). */
			if (st->setting)
			{
				p->set_key = strdup(st->setting);
				if (p->set_key == NULL)
					return -1;
				if (strcmp(st->setting, "search_path") == 0)
					p->flags |= PGMM_PF_SEARCH_PATH;
			}
			return 0;
		default:
			return 0;
	}
}

static const char ddl_hint[] =
	"Apply schema changes to every master at once with `pgmm ddl '<statement>'` or pgmm_admin_ddl().";

pgmm_plan *
pgmm_plan_from_stmt(const pgmm_map *map, const pgmm_stmt *st, const char *sql, size_t len, pgmm_buf *err)
{
	pgmm_plan *p = calloc(1, sizeof *p);
	const pgmm_map_table *t = NULL;
	int rc = 0, i;

	if (p == NULL)
		goto oom;
	p->kind = st->kind;
	p->table = -1;
	p->newkey.node = -1;
	p->max_param = st->max_param;
	p->sub = st->sub;
	p->chain = st->chain;
	p->to_default = st->to_default;
	p->tag = st->tag ? st->tag : "";
	if (st->nstatements > 1)
	{
		char msg[200];

		snprintf(msg, sizeof msg, "pgmm: this string holds %d statements; pgmm routes one statement at a time",
		         st->nstatements);
		if (refuse(p, PGMM_SQLSTATE_REFUSED, msg, NULL,
		           "Send each statement with its own call (BEGIN, the statements and COMMIT too).") < 0)
			goto oom;
		return p;
	}
	(void) sql;
	(void) len;
	switch (st->kind)
	{
		case PGMM_STMT_EMPTY:
			p->route = PGMM_ROUTE_EMPTY;
			return p;
		case PGMM_STMT_BEGIN:
			p->route = PGMM_ROUTE_BEGIN;
			return p;
		case PGMM_STMT_COMMIT:
			p->route = PGMM_ROUTE_COMMIT;
			return p;
		case PGMM_STMT_ROLLBACK:
			p->route = PGMM_ROUTE_ROLLBACK;
			return p;
		case PGMM_STMT_TXN_OTHER:
			p->route = PGMM_ROUTE_TXN;
			return p;
		case PGMM_STMT_SESSION:
			if (plan_session(p, st) < 0)
				goto oom;
			return p;
		case PGMM_STMT_DDL:
			if (refuse(p, PGMM_SQLSTATE_REFUSED,
			           "pgmm: DDL is not run through the router: a schema change must reach every master at once",
			           NULL, ddl_hint) < 0)
				goto oom;
			return p;
		case PGMM_STMT_OTHER:
			if (st->sub == PGMM_SUB_COPY)
			{
				if (refuse(p, PGMM_SQLSTATE_REFUSED,
				           "pgmm: COPY is not supported through the router",
				           "COPY needs libpq's COPY functions on one master, and pgmm cannot route its rows.",
				           "Use INSERT (multi-row VALUES with keys of one owner, or pgmm_exec_params in a loop), "
				           "or COPY on each owner directly.") < 0)
					goto oom;
				return p;
			}
			p->route = PGMM_ROUTE_FALLBACK;
			return p;
		case PGMM_STMT_SELECT:
			p->route = PGMM_ROUTE_READ;
			if (st->locking)
				p->flags |= PGMM_PF_LOCKING;
			break;
		case PGMM_STMT_INSERT:
		case PGMM_STMT_UPDATE:
		case PGMM_STMT_DELETE:
			p->route = PGMM_ROUTE_WRITE;
			if (st->schema && strcmp(st->schema, "pgmm") == 0)
			{
				if (refuse(p, PGMM_SQLSTATE_REFUSED, "pgmm: the pgmm catalog is changed only by the admin API",
				           NULL, "Use the pgmm command or the pgmm_admin_* functions.") < 0)
					goto oom;
				return p;
			}
			break;
	}
	if (st->table)
		p->table = pgmm_map_find_table(map, st->schema, st->table);
	if (p->table < 0)
		return p;
	t = &map->tables[p->table];
	if (t->kind == PGMM_TABLE_REFERENCE)
		return p;
	if (pgmm_keytype_is_integer(t->key_type))
		p->flags |= PGMM_PF_INT_KEY;
	switch (st->kind)
	{
		case PGMM_STMT_INSERT:
			rc = insert_keys(p, map, t, st);
			break;
		case PGMM_STMT_UPDATE:
			for (i = 0; i < st->nsets; i++)
				if (st->set_cols[i] && strcmp(st->set_cols[i], t->key_column) == 0)
				{
					char tn[160];

					qualified(tn, sizeof tn, t);
					rc = refusef(p, PGMM_SQLSTATE_REFUSED,
					             "Changing the key moves the row to another shard, which another master may own.",
					             "Delete the row and insert it again with the new key.",
					             "pgmm: UPDATE of key column %s of distributed table %s is refused",
					             t->key_column, tn);
					if (rc < 0)
						goto oom;
					return p;
				}
			/* FALLTHROUGH */
		case PGMM_STMT_DELETE:
		case PGMM_STMT_SELECT:
			rc = where_key(p, map, t, st);
			break;
		default:
			break;
	}
	if (rc < 0)
		goto oom;
	return p;
oom:
	pgmm_plan_free(p);
	pgmm_buf_append(err, "out of memory");
	return NULL;
}

pgmm_plan *
pgmm_plan_build(const pgmm_map *map, const char *sql, size_t len, pgmm_buf *err)
{
	pgmm_stmt *st = NULL;
	char perr[256];
	pgmm_plan *p;
	int rc;

	perr[0] = '\0';
	rc = pgmm_sql_parse(sql, len, &st, perr, sizeof perr);
	if (rc < 0)
	{
		if (rc == PGMM_PARSE_ENOMEM)
		{
			pgmm_buf_append(err, "out of memory");
			return NULL;
		}
		/* Unterminated quote or comment: the server says it best. */
		p = calloc(1, sizeof *p);
		if (p == NULL)
		{
			pgmm_buf_append(err, "out of memory");
			return NULL;
		}
		p->route = PGMM_ROUTE_FALLBACK;
		p->kind = PGMM_STMT_OTHER;
		p->tag = "";
		p->table = -1;
		p->newkey.node = -1;
		return p;
	}
	p = pgmm_plan_from_stmt(map, st, sql, len, err);
	pgmm_stmt_free(st);
	return p;
}

/* ------------------------------------------------------------ targets */

void
pgmm_decided_set(pgmm_decided *e, const char *sqlstate, const char *detail, const char *hint, const char *fmt, ...)
{
	va_list ap;

	snprintf(e->sqlstate, sizeof e->sqlstate, "%s", sqlstate);
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	snprintf(e->detail, sizeof e->detail, "%s", detail ? detail : "");
	snprintf(e->hint, sizeof e->hint, "%s", hint ? hint : "");
}

/* t fails with the error that follows (pgmm_decided_set's arguments). */
#define target_error(t, ...) ((t)->kind = PGMM_TARGET_ERROR, pgmm_decided_set(&(t)->err, __VA_ARGS__))

/*
 * Owner of the key in parameter n; sets *node.  Returns PGMM_KEY_NODE,
 * PGMM_KEY_UNKNOWN (pgmm cannot tell: the server will), or -1 with t set
 * to the error.
 */
static int
param_owner(const pgmm_map *map, const pgmm_map_table *tb, int n, const pgmm_params *pp,
            int *node, pgmm_target *t)
{
	const char *v;
	uint64_t h;
	char err[256];
	int fmt, rc;
	Oid type;

	if (n < 1 || pp == NULL || n > pp->n)
		return PGMM_KEY_UNKNOWN;
	v = pp->values ? pp->values[n - 1] : NULL;
	if (v == NULL)
	{
		*node = pgmm_map_shard_owner(map, tb, PGMM_NULL_KEY_REMAINDER);
		return PGMM_KEY_NODE;
	}
	fmt = pp->formats ? pp->formats[n - 1] : 0;
	type = pp->types && n <= pp->ntypes ? pp->types[n - 1] : 0;
	if (fmt == 1)
	{
		if (pp->lengths == NULL || pp->lengths[n - 1] < 0)
			return PGMM_KEY_UNKNOWN;
		rc = pgmm_key_hash_binary_typmod(tb->key_type, tb->key_typmod, type, v, (size_t) pp->lengths[n - 1],
		                                 &h, err, sizeof err);
	}
	else
	{
		if (type != 0)
		{
			pgmm_keytype pt = pgmm_keytype_from_oid(type);

			if (pt == PGMM_KEY_INVALID || !cast_compatible(tb->key_type, pgmm_keytype_name(pt)))
				return PGMM_KEY_UNKNOWN;
		}
		rc = pgmm_key_hash_text_typmod(tb->key_type, tb->key_typmod, v, strlen(v), &h, err, sizeof err);
	}
	if (rc < 0)
	{
		if (rc == PGMM_HASH_EUNKNOWABLE || pgmm_hash_sqlstate(rc) == NULL)
			return PGMM_KEY_UNKNOWN;
		target_error(t, pgmm_hash_sqlstate(rc),
		             "pgmm computes the owner of every key before sending; nothing was sent to any master", NULL,
		             "pgmm: invalid key for column %s of table %s.%s (parameter $%d): %s",
		             tb->key_column, tb->schema, tb->name, n, err);
		return -1;
	}
	*node = pgmm_map_shard_owner(map, tb, pgmm_hash_remainder(h, (uint32_t) map->colocs[tb->coloc].shards));
	return PGMM_KEY_NODE;
}

/* Resolve one key source: PGMM_KEY_NODE (node set), _NONE, _UNKNOWN, -1. */
static int
key_node(const pgmm_map *map, const pgmm_map_table *tb, const pgmm_keysrc *ks, const pgmm_params *pp,
         int *node, pgmm_target *t)
{
	switch (ks->kind)
	{
		case PGMM_KEY_NODE:
			*node = ks->node;
			return PGMM_KEY_NODE;
		case PGMM_KEY_PARAM:
			return param_owner(map, tb, ks->param, pp, node, t);
		default:
			return ks->kind;
	}
}

void
pgmm_plan_target(const pgmm_map *map, const pgmm_plan *p, const pgmm_params *pp, pgmm_target *t)
{
	const pgmm_map_table *tb;
	int r, first = -1, first_row = -1, unknown = 0, node = -1, k;

	t->kind = PGMM_TARGET_UNKNOWN;
	t->node = -1;
	t->coloc = -1;
	if (p->table < 0 || p->table >= map->ntables)
	{
		t->kind = p->route == PGMM_ROUTE_READ ? PGMM_TARGET_READ : PGMM_TARGET_UNKNOWN;
		return;
	}
	tb = &map->tables[p->table];
	if (p->route == PGMM_ROUTE_READ)
	{
		t->kind = PGMM_TARGET_READ;
		if (tb->kind == PGMM_TABLE_REFERENCE)
			t->node = tb->owner;
		else if (p->nkeys == 1 && key_node(map, tb, &p->keys[0], pp, &node, t) == PGMM_KEY_NODE)
			t->node = node;
		/* A bad key in a read: the server reports it like any other. */
		t->kind = PGMM_TARGET_READ;
		t->coloc = tb->coloc;
		return;
	}
	if (tb->kind == PGMM_TABLE_REFERENCE)
	{
		t->kind = PGMM_TARGET_NODE;
		t->node = tb->owner;
		return;
	}
	t->coloc = tb->coloc;
	if (p->kind != PGMM_STMT_INSERT)
	{
		/* UPDATE / DELETE */
		k = p->nkeys == 1 ? key_node(map, tb, &p->keys[0], pp, &node, t) : PGMM_KEY_NONE;
		if (k < 0)
			return;
		if (k == PGMM_KEY_NODE)
		{
			t->kind = PGMM_TARGET_NODE;
			t->node = node;
		}
		else
			t->kind = PGMM_TARGET_BROADCAST;
		return;
	}
	for (r = 0; r < p->nkeys; r++)
	{
		k = key_node(map, tb, &p->keys[r], pp, &node, t);
		if (k < 0)
			return;
		if (k == PGMM_KEY_UNKNOWN)
			unknown = 1;
		else if (k == PGMM_KEY_NODE)
		{
			if (first < 0)
			{
				first = node;
				first_row = r;
			}
			else if (node != first)
			{
				char detail[256];

				snprintf(detail, sizeof detail, "Row %d belongs to master %s, row %d to master %s.",
				         first_row + 1, map->nodes[first].name, r + 1, map->nodes[node].name);
				target_error(t, PGMM_SQLSTATE_REFUSED, detail,
				             "Insert the rows of each owner with a separate statement; pgmm never splits one.",
				             "pgmm: this multi-row INSERT into %s.%s holds rows of different owners (%s and %s)",
				             tb->schema, tb->name, map->nodes[first].name, map->nodes[node].name);
				return;
			}
		}
	}
	if (unknown)
	{
		t->kind = PGMM_TARGET_UNKNOWN;
		t->node = first;
	}
	else if (first >= 0)
	{
		t->kind = PGMM_TARGET_NODE;
		t->node = first;
	}
	else
		t->kind = PGMM_TARGET_OWNERS;
}

int
pgmm_key_owner_text(const pgmm_map *map, const pgmm_map_table *t, const char *val, size_t len,
                    char *err, size_t errlen)
{
	uint64_t h;
	int rc;

	if (t->kind == PGMM_TABLE_REFERENCE)
		return t->owner;
	if (val == NULL)
		return pgmm_map_shard_owner(map, t, PGMM_NULL_KEY_REMAINDER);
	rc = pgmm_key_hash_text_typmod(t->key_type, t->key_typmod, val, len, &h, err, errlen);
	if (rc < 0)
		return rc;
	return pgmm_map_shard_owner(map, t, pgmm_hash_remainder(h, (uint32_t) map->colocs[t->coloc].shards));
}
