/*
 * choose.c -- which master runs a statement: the plan's target (route.c)
 * combined with the transaction (bound or not) and the read policy, and the
 * order in which balanced choices try the masters.  The only place that
 * turns a target into a master; exec.c runs the answer (connecting,
 * binding, sending).  Pure logic: no I/O, no allocation, so the unit tests
 * drive it with maps built by hand and links' up/down states given.
 *
 * Called by exec.c (and tests/unit/check_router.c).
 */
#include <stdio.h>
#include <string.h>

#include "router_int.h"

/* ch fails with the error that follows (pgmm_decided_set's arguments). */
#define choice_error(ch, ...) ((ch)->kind = PGMM_CHOICE_ERROR, pgmm_decided_set(&(ch)->err, __VA_ARGS__))

/* PM002: the transaction is bound to x->bound, the statement needs `needed`. */
static void
cross_owner(const pgmm_choice_ctx *x, pgmm_choice *ch, int needed, const char *what)
{
	const char *b = x->map->nodes[x->bound].name, *n = x->map->nodes[needed].name;
	char detail[200];

	snprintf(detail, sizeof detail, "bound=%s needed=%s", b, n);
	choice_error(ch, PGMM_SQLSTATE_CROSS_OWNER, detail,
	             "A transaction runs on one master: keep the rows of one transaction on one owner "
	             "(colocate related tables; pgmm_next_id picks IDs of the bound master), or commit first.",
	             "pgmm: this transaction is bound to master %s, but %s needs master %s", b, what, n);
}

static void
node(pgmm_choice *ch, int i)
{
	ch->kind = PGMM_CHOICE_NODE;
	ch->node = i;
}

static void
balanced(pgmm_choice *ch, int first, int coloc, const char *down_what)
{
	ch->kind = PGMM_CHOICE_BALANCED;
	ch->node = first;
	ch->coloc = coloc;
	ch->down_what = down_what;
}

static void choose(const pgmm_choice_ctx *x, const pgmm_plan *p, const pgmm_target *t, pgmm_choice *ch);

/* PM005: the catalog says master i is not active ('failed' after `pgmm
 * failover`, or 'disabled'): nothing is sent there, whatever answers. */
static void
inactive(const pgmm_map *m, pgmm_choice *ch, int i)
{
	char detail[120];

	snprintf(detail, sizeof detail, "master=%s epoch=%lld", m->nodes[i].name, (long long) m->epoch);
	choice_error(ch, PGMM_SQLSTATE_NODE_DOWN, detail,
	             "Its shards get new owners with `pgmm failover`; the map is re-read after that.",
	             "pgmm: master %s is not active in the catalog (failed or disabled); nothing is sent to it",
	             m->nodes[i].name);
}

void
pgmm_choose(const pgmm_choice_ctx *x, const pgmm_plan *p, const pgmm_target *t, pgmm_choice *ch)
{
	const pgmm_map *m = x->map;

	choose(x, p, t, ch);
	if (ch->kind == PGMM_CHOICE_NODE && ch->node >= 0 && !m->nodes[ch->node].active)
	{
		if (p->route == PGMM_ROUTE_READ && !(p->flags & PGMM_PF_LOCKING))
		{
			/* A plain read: every active master has every row. */
			int keep_bind = ch->bind;

			memset(ch, 0, sizeof *ch);
			ch->bind = keep_bind;
			balanced(ch, m->nodes[x->home].active ? x->home : -1, -1, "no master is reachable for this read");
		}
		else
			inactive(m, ch, ch->node);
	}
	else if (ch->kind == PGMM_CHOICE_BROADCAST)
	{
		const pgmm_map_coloc *g = &m->colocs[ch->coloc];
		int k;

		for (k = 0; k < g->nowners; k++)
			if (!m->nodes[g->owners[k]].active)
			{
				inactive(m, ch, g->owners[k]);
				break;
			}
	}
}

static void
choose(const pgmm_choice_ctx *x, const pgmm_plan *p, const pgmm_target *t, pgmm_choice *ch)
{
	const pgmm_map *m = x->map;
	int read = p->route == PGMM_ROUTE_READ;

	memset(ch, 0, sizeof *ch);
	ch->node = -1;
	ch->coloc = -1;
	ch->down_what = "no master is reachable";
	if (x->in_txn && x->bound >= 0)
	{
		/* Bound: everything runs there; a statement for another master fails. */
		if (t->kind == PGMM_TARGET_NODE && t->node != x->bound)
			cross_owner(x, ch, t->node, read ? "this locking read" : "this write");
		else if (t->kind == PGMM_TARGET_BROADCAST &&
		         !(m->colocs[t->coloc].nowners == 1 && m->colocs[t->coloc].owners[0] == x->bound))
		{
			const pgmm_map_coloc *g = &m->colocs[t->coloc];

			cross_owner(x, ch, g->owners[0] == x->bound && g->nowners > 1 ? g->owners[1] : g->owners[0],
			            "this UPDATE/DELETE without the key (it needs every owner)");
		}
		else
			node(ch, x->bound);
		return;
	}
	if (x->in_txn)
	{
		/* Unbound: the first statement that needs a master binds. */
		ch->bind = 1;
		switch (t->kind)
		{
			case PGMM_TARGET_NODE:
				node(ch, t->node);
				break;
			case PGMM_TARGET_OWNERS:
				balanced(ch, -1, t->coloc, "no master owning shards of this table is reachable");
				break;
			case PGMM_TARGET_BROADCAST:
				if (m->colocs[t->coloc].nowners != 1)
					choice_error(ch, PGMM_SQLSTATE_CROSS_OWNER, NULL,
					             "Give the key in the WHERE clause, or run the statement outside a transaction "
					             "(pgmm then runs it on every owner).",
					             "pgmm: an UPDATE/DELETE without the key needs every master owning shards, "
					             "which a transaction (bound to one master) cannot reach");
				else
					node(ch, m->colocs[t->coloc].owners[0]);
				break;
			case PGMM_TARGET_READ:
				/* A keyed read binds to the key's owner (a later write of the
				 * row then works); a reference table is everywhere. */
				if (t->node >= 0 && p->table >= 0 &&
				    ((p->flags & PGMM_PF_LOCKING) || m->tables[p->table].kind == PGMM_TABLE_DISTRIBUTED))
					node(ch, t->node);
				else if (x->read_policy == PGMM_READ_ANY && p->table >= 0)
					balanced(ch, -1, -1, "no master owning shards of this table is reachable");
				else
					node(ch, x->home);
				break;
			default:				/* UNKNOWN */
				node(ch, t->node >= 0 ? t->node : x->home);
				break;
		}
		return;
	}
	/* Outside a transaction. */
	switch (t->kind)
	{
		case PGMM_TARGET_NODE:
			node(ch, t->node);
			break;
		case PGMM_TARGET_OWNERS:
			balanced(ch, -1, t->coloc, "no master owning shards of this table is reachable");
			break;
		case PGMM_TARGET_BROADCAST:
			ch->kind = PGMM_CHOICE_BROADCAST;
			ch->coloc = t->coloc;
			break;
		case PGMM_TARGET_READ:
			if (((p->flags & PGMM_PF_LOCKING) || x->read_policy == PGMM_READ_OWNER) && t->node >= 0)
				node(ch, t->node);
			else if (x->read_policy == PGMM_READ_ANY && p->table >= 0)
				balanced(ch, -1, -1, "no master is reachable for this read");
			else
				/* Home, failing over to any master (every master has every row). */
				balanced(ch, x->home, -1, "no master is reachable for this read");
			break;
		default:				/* UNKNOWN: the owner the PM001 named, else home, else any */
			if (t->node >= 0)
				node(ch, t->node);
			else
				balanced(ch, x->home, -1, "no master is reachable");
			break;
	}
}

int
pgmm_choice_order(const pgmm_map *m, const pgmm_choice *ch, unsigned rr, const unsigned char *usable,
                  int *order, long *rr_of)
{
	const int *cand = NULL;
	int n, k, pass, count = 0;

	if (ch->kind == PGMM_CHOICE_NODE)
	{
		order[0] = ch->node;
		rr_of[0] = -1;
		return 1;
	}
	if (ch->kind != PGMM_CHOICE_BALANCED)
		return 0;
	/* The preferred master (home) first, unless it is down lately: then
	 * after the candidates that are up (a hung home would otherwise cost
	 * every statement a pgmm_timeout). */
	if (ch->node >= 0 && (!usable || usable[ch->node]) && m->nodes[ch->node].active)
	{
		order[count] = ch->node;
		rr_of[count++] = -1;
	}
	if (ch->coloc >= 0)
	{
		cand = m->colocs[ch->coloc].owners;
		n = m->colocs[ch->coloc].nowners;
	}
	else
		n = m->nnodes;			/* every active master: no cap on their number */
	for (pass = 0; n > 0 && pass < 2; pass++)
		for (k = 0; k < n; k++)
		{
			unsigned at = (rr + (unsigned) k) % (unsigned) n;
			int i = cand ? cand[at] : (int) at;

			if (!m->nodes[i].active)
				continue;		/* failed or disabled: never */
			if (i == ch->node || (usable && (usable[i] != 0) != (pass == 0)) || (!usable && pass == 1))
				continue;
			order[count] = i;
			rr_of[count++] = (long) ((at + 1) % (unsigned) n);
		}
	if (ch->node >= 0 && usable && !usable[ch->node] && m->nodes[ch->node].active)
	{
		order[count] = ch->node;
		rr_of[count++] = -1;
	}
	return count;
}
