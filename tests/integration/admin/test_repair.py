"""pgmm repair (issue #9): every copy made equal to its owner's.

Divergence is planted on non-owners with session_replication_role = replica
(the guards do not fire, nothing is published): a missing row, an extra
row, a changed row, a changed row of a reference table with a hostile name,
and a stalled subscription (a row planted on the subscriber, then the owner
inserts the same key: the subscriber's apply worker fails for ever on the
duplicate key).  --dry-run lists all of it and changes nothing; repair,
with libpgmm writers running, fixes all of it: verify clean, the stalled
subscription streaming again, the owners' rows untouched.
"""
import json
import time

import pytest

from conftest import report, wait_until
from test_admin import server_remainder, shard_owner
from test_ddl_under_load import LibpgmmWriter, _libpgmm

SHARDS = 6
REF = '"Ref ""x"""'          # the reference table, as SQL spells it
SCHEMA = ('CREATE TABLE items (id bigint PRIMARY KEY, v text NOT NULL, n int); '
          'CREATE TABLE "Ref ""x""" ("the key" text, "select" int, val text, PRIMARY KEY ("the key", "select"))')


def setup_items(cl):
    cl.init()
    cl.pgmm("ddl", SCHEMA)
    cl.pgmm("distribute", "items", "id", "--shards", str(SHARDS))
    cl.pgmm("reference", REF, "--owner", cl.names[1])
    binding = _libpgmm()
    c = binding.connect(cl.conninfo[cl.names[0]], autocommit=True)
    cur = c.cursor()
    for i in range(1, 241):
        cur.execute("INSERT INTO items (v, n) VALUES (%s, %s)", ("row %d, \"q\"\t\\" % i, i % 7 or None))
    c.close()
    cl.sql(cl.names[1], "INSERT INTO %s SELECT 'k ' || g || ', \"' , g, 'val' || g FROM generate_series(1, 20) g" % REF)
    cl.wait_converged()
    return binding


def remainder_of(cl, key):
    return server_remainder(cl, cl.names[0], "items", "%d::bigint" % key, SHARDS)


def key_in(cl, r, lo):
    """The first id >= lo in shard r."""
    return int(cl.sql(cl.names[0], "SELECT i FROM generate_series(%d, %d) i WHERE satisfies_hash_partition("
                      "'items'::regclass, %d, %d, i::bigint) LIMIT 1" % (lo, lo + 1000, SHARDS, r)))


def owner_rows(cl):
    """Every owner's own rows (not the writers'): shard -> md5 of its rows on its owner."""
    out = {}
    for r in range(SHARDS):
        o = shard_owner(cl, "items", r)
        out["items_s%d" % r] = cl.sql(o, "SELECT md5(string_agg(id || ':' || v || ':' || coalesce(n::text, '-'), ',' "
                                         "ORDER BY id)) FROM items_s%d WHERE v NOT LIKE 'w-%%' AND v <> 'after'" % r)
    out[REF] = cl.sql(cl.names[1], "SELECT md5(string_agg(\"the key\" || \"select\" || val, ',' ORDER BY 1)) FROM %s" % REF)
    return out


def copy_sums(cl, node):
    return cl.sql(node, "SELECT string_agg(tableoid::regclass || '=' || n || '/' || h, ' ' ORDER BY 1) FROM ("
                        "SELECT tableoid, count(*) n, md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))) h "
                        "FROM items t GROUP BY 1) s")


def apply_errors(cl, node, sub):
    return int(cl.sql(node, "SELECT coalesce(sum(apply_error_count), 0) FROM pg_stat_subscription_stats "
                            "WHERE subname = '%s'" % sub))


class Writer(LibpgmmWriter):
    """Keyless INSERTs through libpgmm (the key's DEFAULT draws owned IDs), autocommit."""

    def statement(self):
        return "INSERT INTO items (v) VALUES (%s)", ("w-%s-%d" % (self.tag, self.ok),)


def test_repair_planted_divergence_and_stall(cluster):
    cl = cluster
    binding = setup_items(cl)
    # a shard, its owner and a non-owner whose copy is damaged
    r0 = remainder_of(cl, int(cl.sql(cl.names[0], "SELECT min(id) FROM items")))
    owner0 = shard_owner(cl, "items", r0)
    victim = [n for n in cl.names if n != owner0][0]
    ids = [int(x) for x in cl.sql(owner0, "SELECT id FROM items_s%d ORDER BY id LIMIT 2" % r0).split()]
    missing, changed = ids
    extra = key_in(cl, r0, 1000000000)
    cl.sql(victim, "SET session_replication_role = replica; DELETE FROM items WHERE id = %d; "
                   "UPDATE items SET v = 'damaged' WHERE id = %d; INSERT INTO items VALUES (%d, 'planted', 1)"
                   % (missing, changed, extra))
    ref_victim = cl.names[0]            # not the reference table's owner
    cl.sql(ref_victim, "SET session_replication_role = replica; UPDATE %s SET val = 'damaged' WHERE \"select\" = 3" % REF)
    # a stalled subscription: a row planted on a subscriber, then its owner
    # writes the same key (and one more row after it)
    r1 = [r for r in range(SHARDS) if shard_owner(cl, "items", r) != victim][-1]
    owner1 = shard_owner(cl, "items", r1)
    dup = key_in(cl, r1, 2000000000)
    later = key_in(cl, r1, dup + 1)
    sub = "pgmm_%s__%s" % (owner1, victim)
    cl.sql(victim, "SET session_replication_role = replica; INSERT INTO items VALUES (%d, 'planted-dup', 0)" % dup)
    cl.sql(owner1, "INSERT INTO items VALUES (%d, 'owner-dup', 5)" % dup)
    cl.sql(owner1, "INSERT INTO items VALUES (%d, 'owner-later', 6)" % later)
    e0 = apply_errors(cl, victim, sub)
    wait_until(lambda: apply_errors(cl, victim, sub) > e0 + 1, what="the subscription to stall")
    before = owner_rows(cl)
    victim_before = copy_sums(cl, victim)
    epoch = cl.sql(cl.names[0], "SELECT epoch FROM pgmm.cluster")

    # --dry-run: lists everything, changes nothing (exit 3 like verify)
    p = cl.pgmm("repair", "--dry-run", check=False)
    assert p.returncode == 3, p.stdout + p.stderr
    out = p.stdout
    line = [l for l in out.splitlines() if l.startswith("public.items_s%d on %s " % (r0, victim))]
    assert line, out
    assert "1 missing, 1 extra, 1 changed" in line[0], line
    for k in (missing, changed, extra):
        assert str(k) in line[0], (k, line)
    assert "on %s (owner %s): 0 missing, 0 extra, 1 changed" % (ref_victim, cl.names[1]) in out, out
    assert "subscription %s from %s was stalled" % (sub, owner1) in out, out
    assert "nothing was changed" in out
    assert copy_sums(cl, victim) == victim_before
    assert cl.sql(cl.names[0], "SELECT epoch FROM pgmm.cluster") == epoch
    assert cl.pgmm("verify", check=False).returncode == 3
    js = json.loads(cl.pgmm("repair", "--dry-run", "--json", check=False).stdout)
    assert js["dry_run"] is True and len(js["differences"]) >= 3 and js["stalled"], js

    # repair with libpgmm writers running on two masters: they never fail
    writers = [Writer(binding, cl.conninfo[n], n) for n in cl.names[:2]]
    for w in writers:
        w.start()
    try:
        wait_until(lambda: all(w.ok > 20 for w in writers), what="the writers to run")
        t0 = time.time()
        p = cl.pgmm("repair")
        took = time.time() - t0
        time.sleep(0.3)
    finally:
        for w in writers:
            w.stop.set()
        for w in writers:
            w.join(60)
    report("repair under load took %.2f s; libpgmm writers' inserts meanwhile: %s" % (took, [w.ok for w in writers]))
    print(p.stdout, p.stderr)
    for w in writers:
        assert w.errors == [], "libpgmm writer %s failed: %s" % (w.tag, w.errors[:5])
    assert "skipped transaction" in p.stdout and sub in p.stdout, p.stdout
    assert "froze public" in p.stderr and "repaired public.items_s%d (owner %s)" % (r0, owner0) in p.stderr
    assert "%s: 1 row(s) inserted, 1 deleted" % victim in p.stdout, p.stdout
    cl.wait_converged()
    # the skipped transaction's row came from the owner; the next one by replication
    assert cl.sql(victim, "SELECT v FROM items WHERE id = %d" % dup) == "owner-dup"
    assert cl.sql(victim, "SELECT v FROM items WHERE id = %d" % later) == "owner-later"
    assert cl.sql(victim, "SELECT count(*) FROM items WHERE id = %d" % extra) == "0"
    # the stalled subscription streams again: a new owner row arrives
    cl.sql(owner1, "INSERT INTO items VALUES (%d, 'after', 7)" % key_in(cl, r1, later + 1))
    wait_until(lambda: cl.sql(victim, "SELECT count(*) FROM items WHERE v = 'after'") == "1",
               what="replication after the repair")
    assert owner_rows(cl) == before, "an owner's rows changed"
    assert cl.sql(cl.names[0], "SELECT count(*) FROM pgmm.tables WHERE frozen") == "0"
    # nothing left to do
    p = cl.pgmm("repair", "--dry-run")
    assert "dry run: 0 differing copies" in p.stdout, p.stdout


def test_repair_bad_input(cluster):
    cl = cluster
    setup_items(cl)
    epoch = cl.sql(cl.names[0], "SELECT epoch FROM pgmm.cluster")
    p = cl.pgmm("repair", "nosuch", check=False)
    assert p.returncode == 1 and '"nosuch" is not a pgmm table' in p.stderr, p.stderr
    p = cl.pgmm("repair", "items", "--bogus", check=False)
    assert p.returncode == 2 and "unknown option" in p.stderr, p.stderr
    p = cl.pgmm("repair", "pgmm.tables", check=False)
    assert p.returncode == 1 and "not a pgmm table" in p.stderr, p.stderr
    assert cl.sql(cl.names[0], "SELECT epoch FROM pgmm.cluster") == epoch
    # the hostile name, by name: only it is looked at and repaired
    cl.sql(cl.names[2], "SET session_replication_role = replica; DELETE FROM %s WHERE \"select\" = 7" % REF)
    p = cl.pgmm("repair", REF, "--dry-run", "--json", check=False)
    assert p.returncode == 3, p.stderr
    js = json.loads(p.stdout)
    assert js["tables"] == 1 and js["shards"] == 1, js
    assert [(d["master"], d["missing"], d["keys"]) for d in js["differences"]] == \
        [(cl.names[2], 1, '("k 7, """,7)')], js
    p = cl.pgmm("repair", REF)
    assert "%s: 1 row(s) inserted, 0 deleted, 0 updated" % cl.names[2] in p.stdout, p.stdout
    cl.wait_converged()
    # a master down: refused, nothing frozen, epoch unchanged
    epoch = cl.sql(cl.names[0], "SELECT epoch FROM pgmm.cluster")
    cl.stop_node(cl.names[2])
    try:
        p = cl.pgmm("repair", check=False)
        assert p.returncode == 1 and cl.names[2] in p.stderr, p.stderr
        for n in cl.names[:2]:
            assert cl.sql(n, "SELECT epoch FROM pgmm.cluster") == epoch
            assert cl.sql(n, "SELECT count(*) FROM pgmm.tables WHERE frozen") == "0"
    finally:
        cl.start_node(cl.names[2])
