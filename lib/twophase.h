/*
 * twophase.h -- pgmm's one two-phase commit: prepare all, commit all, roll
 * back all over a set of connections, one global-id scheme, and the
 * recovery that finishes what a dead coordinator left prepared.
 *
 * Used by the admin's catalog changes, by the router's broadcasts, and by
 * `pgmm status` / `pgmm recover` (and later failover and ownership moves).
 *
 * The protocol.  Participants are ordered 0..n-1; the last one is the
 * DECIDER.  Phase 1 prepares 0..n-1 in order: the change is decided (it
 * will commit) exactly when the decider's PREPARE succeeds.  Phase 2
 * commits 0..n-2 and then, only when all of those answered, the decider.
 * So at any moment:
 *   - the decider holds the prepared transaction  => every participant is
 *     prepared or committed: the outcome is COMMIT;
 *   - the decider does not hold it and never will => nobody committed: the
 *     outcome is ROLLBACK.
 * Recovery makes "never will" certain without trusting clocks: it prepares
 * an empty transaction under the decider's gid itself (a tombstone).  If
 * that succeeds, a coordinator still running can no longer prepare there,
 * so rolling everything back is safe; if the gid is in use, the decider
 * holds it and everything is committed.
 *
 * The global id (at most 200 bytes, PostgreSQL's limit) names what the
 * transaction belongs to and where each piece sits:
 *
 *     pgmm:K:LABEL:ID:P/N:DECIDER
 *
 *   K        kind: 'c' catalog change, 'b' broadcast UPDATE/DELETE
 *            (more kinds come with failover and moves)
 *   LABEL    decimal: the epoch a catalog change commits; 0 for others
 *   ID       16 hex digits, random, the same on every participant
 *   P/N      this participant's position and the participant count
 *   DECIDER  name of the master at position N-1
 *
 * Every participant's gid differs only in P, so two pieces of one
 * transaction never collide even on one server.
 */
#ifndef PGMM_TWOPHASE_H
#define PGMM_TWOPHASE_H

#include <stdint.h>
#include <libpq-fe.h>

#include "pgmm_int.h"

#define PGMM_2PC_GID_MAX 200   /* PostgreSQL's GIDSIZE, terminator included */

typedef enum pgmm_2pc_kind
{
	PGMM_2PC_CATALOG = 'c',
	PGMM_2PC_BROADCAST = 'b'
} pgmm_2pc_kind;

/* One parsed global id. */
typedef struct pgmm_2pc_gid
{
	char    kind;            /* pgmm_2pc_kind */
	int64_t label;
	char    id[17];          /* 16 hex digits */
	int     pos;             /* 0-based */
	int     n;
	char    decider[64];
} pgmm_2pc_gid;

/* "pgmm:" prefix of every gid pgmm makes (for LIKE 'pgmm:%'). */
#define PGMM_2PC_PREFIX "pgmm:"

/* Write the gid of position pos into buf (PGMM_2PC_GID_MAX bytes); 0 / -1
 * when a field is out of range (decider name too long, pos >= n, ...). */
int pgmm_2pc_gid_format(char *buf, size_t cap, const pgmm_2pc_gid *g);
/* Parse gid; 0 / -1 when it is not one of pgmm's (strict: every field). */
int pgmm_2pc_gid_parse(const char *gid, pgmm_2pc_gid *out);
/* Human name of a kind: "catalog change", "broadcast", "unknown". */
const char *pgmm_2pc_kind_name(char kind);

/* A participant: an open connection inside a transaction block, and the
 * master's name (for the decider field and for messages). */
typedef struct pgmm_2pc_part
{
	PGconn     *conn;
	const char *name;
} pgmm_2pc_part;

/* Where each participant stands (filled by the calls below). */
typedef enum pgmm_2pc_state
{
	PGMM_2PC_OPEN = 0,       /* in the transaction, nothing sent yet */
	PGMM_2PC_PREPARED,
	PGMM_2PC_COMMITTED,
	PGMM_2PC_ROLLED_BACK,
	PGMM_2PC_UNKNOWN         /* a PREPARE or COMMIT PREPARED got no answer */
} pgmm_2pc_state;

/* Outcome of prepare/commit. */
typedef enum pgmm_2pc_outcome
{
	PGMM_2PC_OK = 0,          /* prepare: all prepared; commit: all committed */
	PGMM_2PC_ABORTED = -1,    /* nothing committed anywhere; everything rolled back
	                             that could be reached (err says why) */
	PGMM_2PC_IN_DOUBT = -2    /* the outcome is decided or unknown but not finished
	                             everywhere: err names each master and gid left;
	                             `pgmm recover` finishes it */
} pgmm_2pc_outcome;

typedef struct pgmm_2pc
{
	pgmm_2pc_gid          gid;    /* pos is set per participant when a gid is made */
	const pgmm_2pc_part  *parts;  /* borrowed; n entries, the last one decides */
	int                   n;
	pgmm_2pc_state       *state;  /* n entries */
} pgmm_2pc;

/* Start a transaction description over parts (every conn already inside a
 * transaction block with its work done).  label: see LABEL.  0 / -1 (OOM,
 * n < 1, a decider name too long: err). */
int pgmm_2pc_init(pgmm_2pc *t, pgmm_2pc_kind kind, int64_t label, const pgmm_2pc_part *parts, int n,
                  pgmm_buf *err);
void pgmm_2pc_free(pgmm_2pc *t);
/* The gid of participant i (into buf, PGMM_2PC_GID_MAX bytes). */
void pgmm_2pc_gid_of(const pgmm_2pc *t, int i, char *buf, size_t cap);

/* Phase 1.  PGMM_2PC_OK: every participant prepared (the decider too: the
 * change is decided).  ABORTED: a participant refused before the decider
 * prepared; every prepared one was rolled back, every open one too.
 * IN_DOUBT: the decider's PREPARE got no answer (it may have prepared):
 * nothing is rolled back, err names the gid. */
pgmm_2pc_outcome pgmm_2pc_prepare_all(pgmm_2pc *t, pgmm_buf *err);
/* Phase 2 (after prepare_all returned OK).  OK: committed everywhere.
 * IN_DOUBT: committed where err says, the rest stays prepared (the decider
 * among them) for `pgmm recover`. */
pgmm_2pc_outcome pgmm_2pc_commit_all(pgmm_2pc *t, pgmm_buf *err);
/* Both phases. */
pgmm_2pc_outcome pgmm_2pc_run(pgmm_2pc *t, pgmm_buf *err);
/* Roll back every participant still open (ROLLBACK) or prepared by this
 * transaction (ROLLBACK PREPARED); never call after the decider prepared. */
void pgmm_2pc_rollback_all(pgmm_2pc *t);

/*
 * Recovery.  masters: every master of the cluster (conn NULL or not OK for
 * one that is down).  Lists pgmm's prepared transactions in the current
 * database on every reachable master, groups them by ID, decides each with
 * the decider rule above (tombstone on the decider when it does not hold
 * its piece) and finishes it on every reachable master.  A transaction
 * whose decider is down is left alone and reported.  report (may be NULL)
 * is told each action.  Returns the number of transactions finished, or -1
 * when something could not be (err says what; the rest was still done).
 */
typedef void (*pgmm_2pc_report_fn)(void *arg, const char *master, const char *gid, const char *action);
int pgmm_2pc_recover(const pgmm_2pc_part *masters, int n, pgmm_2pc_report_fn report, void *arg,
                     pgmm_buf *err);

/* The query that lists pgmm's prepared transactions of the current
 * database on one master: gid, prepared (timestamptz), age in seconds
 * (float8), owner, and the relations it holds locks on (text, comma
 * separated, schema-qualified; empty when none). */
extern const char pgmm_2pc_list_query[];

#endif
