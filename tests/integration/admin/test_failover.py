"""Issue #9: `pgmm failover` of a master killed with SIGKILL, the survivors'
copies made equal first, fencing of the failed master when it comes back,
bad input.  Real masters (cluster.sh), a real kill -9 of the postmaster.

Every test kills a master of the shared cluster and restarts it at the end
(the conftest's teardown also starts every master): the failover itself
only changes this test's database.
"""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import pgmm, psql, report, wait_until, SQLError

SHARDS = 6


def postmaster_pid(name):
    with open(os.path.join(os.environ["PGMM_CLUSTER_DIR"], name, "data", "postmaster.pid")) as f:
        return int(f.readline().strip())


def kill9(cl, name):
    """SIGKILL the master's postmaster; wait until it refuses connections."""
    os.kill(postmaster_pid(name), signal.SIGKILL)

    def refused():
        return psql(cl.server_conninfo[name] + " connect_timeout=2", "SELECT 1", check=False).returncode != 0
    wait_until(refused, timeout=30, what="%s to stop answering" % name)


def restart(cl, name):
    """start-node after a kill -9 (its children may still be exiting)."""
    deadline = time.time() + 60
    while True:
        try:
            cl.start_node(name)
            return
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(0.5)


def prepared(cl, names):
    return {n: cl.sql(n, "SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()")
            for n in names}


def epochs(cl, names):
    return {n: cl.sql(n, "SELECT epoch FROM pgmm.cluster") for n in names}


def owners(cl, node):
    """(colocation, remainder) -> owner, in node's catalog."""
    rows = cl.sql(node, "SELECT colocation, remainder, owner FROM pgmm.shards ORDER BY 1, 2").split("\n")
    return {(int(c), int(r)): o for c, r, o in (x.split("|") for x in rows if x)}


def key_in_shard(cl, node, remainder, start=10_000_000):
    return int(cl.sql(node, "SELECT v FROM generate_series(%d, %d) v WHERE pgmm.int_remainder(v, %d) = %d LIMIT 1"
                      % (start, start + 10000, SHARDS, remainder)))


def make_cluster(cl, victim):
    """items distributed (SHARDS shards), ref a reference table owned by the
    victim, rows written on every master through plain SQL."""
    cl.init()
    cl.pgmm("ddl", "CREATE TABLE items (id bigint PRIMARY KEY, v text)")
    cl.pgmm("distribute", "items", "id", "--shards", str(SHARDS))
    cl.pgmm("ddl", "CREATE TABLE ref (k int PRIMARY KEY, v text)")
    cl.pgmm("reference", "ref", "--owner", victim)
    for n in cl.names:
        cl.sql(n, "INSERT INTO items (v) SELECT '%s-' || g FROM generate_series(1, 20) g" % n)
    cl.sql(victim, "INSERT INTO ref SELECT g, 'r' || g FROM generate_series(1, 10) g")
    cl.wait_converged()


def survivors_consistent(cl, live):
    assert len(set(epochs(cl, live).values())) == 1, epochs(cl, live)
    assert set(prepared(cl, live).values()) == {"0"}, prepared(cl, live)


# ---------------------------------------------------------------- (a) kill -9, failover, survivors own everything

def test_failover_after_kill9_survivors_take_everything(cluster):
    cl = cluster
    m1, m2, victim = cl.names[0], cl.names[1], cl.names[2]
    live = [m1, m2]
    make_cluster(cl, victim)
    before_ids = set(cl.sql(m1, "SELECT id FROM items").split())
    assert len(before_ids) == 60
    moved = [k for k, o in owners(cl, m1).items() if o == victim]
    assert moved, "the victim owns shards"
    epoch0 = int(cl.sql(m1, "SELECT epoch FROM pgmm.cluster"))
    try:
        kill9(cl, victim)
        t0 = time.time()
        p = cl.pgmm("failover", victim)
        took = time.time() - t0
        print(p.stdout, p.stderr)
        report("failover of a killed master (small tables): %.2f s" % took)
        assert "failover of %s done" % victim in p.stdout
        assert "unwritable for" in p.stdout
        # one catalog among the survivors: victim failed, owns nothing
        survivors_consistent(cl, live)
        for n in live:
            assert cl.sql(n, "SELECT state, failed_epoch IS NOT NULL, failed_lsn IS NOT NULL FROM pgmm.nodes "
                             "WHERE name = '%s'" % victim) == "failed|t|t"
            assert cl.sql(n, "SELECT count(*) FROM pgmm.shards WHERE owner = '%s'" % victim) == "0"
            assert cl.sql(n, "SELECT count(*) FROM pgmm.tables WHERE owner = '%s'" % victim) == "0"
            assert cl.sql(n, "SELECT count(*) FROM pgmm.tables WHERE frozen") == "0"
            # the victim's slot stays its own: never handed out again
            assert int(cl.sql(n, "SELECT next_slot FROM pgmm.cluster")) > int(
                cl.sql(n, "SELECT slot FROM pgmm.nodes WHERE name = '%s'" % victim))
            # no subscription from the dead master, no slot kept for it
            assert cl.sql(n, "SELECT count(*) FROM pg_subscription WHERE subname LIKE 'pgmm\\_%s\\_\\_%%'" % victim) == "0"
            assert cl.sql(n, "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE '%%\\_\\_%s'" % victim) == "0"
        assert int(cl.sql(m1, "SELECT epoch FROM pgmm.cluster")) >= epoch0 + 1
        new = owners(cl, m1)
        assert owners(cl, m2) == new
        got = {o for k, o in new.items() if k in moved}
        assert got <= set(live)
        # balanced: each survivor holds half of the group
        counts = {n: sum(1 for o in new.values() if o == n) for n in live}
        assert max(counts.values()) - min(counts.values()) <= 1, counts
        ref_owner = cl.sql(m1, "SELECT owner FROM pgmm.tables WHERE table_name = 'ref'")
        assert ref_owner in live

        # plain-SQL writes to the moved shards on their new owners succeed,
        # and are refused on the other survivor
        for (colo, rem) in moved:
            owner = new[(colo, rem)]
            other = m2 if owner == m1 else m1
            key = key_in_shard(cl, m1, rem)
            cl.sql(owner, "INSERT INTO items VALUES (%d, 'after failover')" % key)
            p = cl.sql(other, "INSERT INTO items VALUES (%d, 'wrong master')" % (key + 1_000_000_000), check=False)
            if int(cl.sql(m1, "SELECT pgmm.int_remainder(%d, %d)" % (key + 1_000_000_000, SHARDS))) == rem:
                assert p.returncode != 0 and "PM001" in p.stderr, p.stderr
        cl.sql(ref_owner, "INSERT INTO ref VALUES (100, 'new owner')")
        # plain INSERTs draw IDs for the shards each survivor now owns
        drawn = {}
        for n in live:
            ids = [int(x) for x in cl.sql(n, "INSERT INTO items (v) SELECT 'drawn' FROM generate_series(1, 60) "
                                             "RETURNING id").split()]
            rems = {int(cl.sql(n, "SELECT pgmm.int_remainder(%d, %d)" % (i, SHARDS))) for i in ids[:60]}
            mine = {r for (c, r), o in new.items() if o == n}
            assert rems <= mine, (n, rems, mine)
            took_over = {r for (c, r) in moved if new[(c, r)] == n}
            if took_over:
                assert rems & took_over, "%s draws no ID for the shards it took over" % n
            drawn[n] = ids
        all_new = drawn[m1] + drawn[m2]
        assert len(set(all_new)) == len(all_new), "an ID was drawn twice"
        assert not (set(map(str, all_new)) & before_ids), "an ID from before the failover came back"
        cl.wait_converged()
        v = cl.pgmm("verify", "--json")
        assert json.loads(v.stdout)["masters"] == 2
        st = json.loads(cl.pgmm("status", "--json").stdout)
        vm = [m for m in st["masters"] if m["name"] == victim][0]
        assert vm["state"] == "failed" and vm["fenced"] is False and "unreachable" in vm["fence"]
        assert "FAILED, not fenced: unreachable" in cl.pgmm("status").stdout
    finally:
        restart(cl, victim)


# ---------------------------------------------------------------- (b) unequal progress: the furthest survivor wins

def test_failover_equalizes_from_the_survivor_that_got_furthest(cluster):
    cl = cluster
    m1, m2, victim = cl.names[0], cl.names[1], cl.names[2]
    make_cluster(cl, victim)
    # m2 stops applying the victim's changes; m1 keeps going
    cl.sql(m2, "ALTER SUBSCRIPTION pgmm_%s__%s DISABLE" % (victim, m2))
    cl.sql(victim, "INSERT INTO items (v) SELECT 'late-' || g FROM generate_series(1, 25) g")
    cl.sql(victim, "UPDATE items SET v = 'changed late' WHERE v = '%s-3'" % victim)
    cl.sql(victim, "DELETE FROM items WHERE v = '%s-4'" % victim)
    cl.sql(victim, "INSERT INTO ref VALUES (50, 'late ref')")
    cl.sql(victim, "UPDATE ref SET v = 'late change' WHERE k = 1")
    want = cl.sql(victim, "SELECT md5(string_agg(id || ':' || v, ',' ORDER BY id)) FROM items")
    want_ref = cl.sql(victim, "SELECT md5(string_agg(k || ':' || v, ',' ORDER BY k)) FROM ref")
    wait_until(lambda: cl.sql(m1, "SELECT md5(string_agg(id || ':' || v, ',' ORDER BY id)) FROM items") == want
               and cl.sql(m1, "SELECT md5(string_agg(k || ':' || v, ',' ORDER BY k)) FROM ref") == want_ref,
               what="m1 to apply the victim's late rows")
    assert cl.sql(m2, "SELECT count(*) FROM items WHERE v LIKE 'late-%'") == "0"
    try:
        kill9(cl, victim)
        p = cl.pgmm("failover", victim, "--json")
        out = json.loads(p.stdout)
        assert out["source"] == m1, out
        lsn = {s["name"]: s for s in out["survivors"]}
        assert lsn[m2]["rows_equalized"] > 0 and lsn[m1]["rows_equalized"] == 0
        survivors_consistent(cl, [m1, m2])
        for n in (m1, m2):
            assert cl.sql(n, "SELECT md5(string_agg(id || ':' || v, ',' ORDER BY id)) FROM items") == want
            assert cl.sql(n, "SELECT md5(string_agg(k || ':' || v, ',' ORDER BY k)) FROM ref") == want_ref
        cl.wait_converged()
    finally:
        restart(cl, victim)


# ---------------------------------------------------------------- (c) fencing of the failed master when it is back

def test_failed_master_that_comes_back_is_fenced(cluster):
    cl = cluster
    m1, m2, victim = cl.names[0], cl.names[1], cl.names[2]
    make_cluster(cl, victim)
    old = [r for (c, r), o in owners(cl, m1).items() if o == victim]
    try:
        kill9(cl, victim)
        cl.pgmm("failover", victim)
        restart(cl, victim)
        # written at once on the restarted master, before pgmm reached it:
        # it still believes it owns the shard and accepts the row
        early = key_in_shard(cl, m1, old[0], start=20_000_000)
        cl.sql(victim, "INSERT INTO items VALUES (%d, 'split brain')" % early)
        # the given master itself knows nothing yet: pgmm refuses to use it
        p = cl.pgmm("status", node=victim, check=False)
        assert p.returncode != 0 and "was failed over" in p.stderr, p.stderr
        # something on it holds its catalog: fencing fails, status says STALE
        cl.sql(victim, "BEGIN; LOCK TABLE pgmm.nodes IN SHARE MODE; PREPARE TRANSACTION 'fo_hold'")
        st = cl.pgmm("status")
        assert "STALE, not fenced: may accept writes" in st.stdout, st.stdout
        assert "could NOT be fenced" in st.stderr, st.stderr
        js = json.loads(cl.pgmm("status", "--json").stdout)
        vm = [m for m in js["masters"] if m["name"] == victim][0]
        assert vm["fenced"] is False and vm["fence"].startswith("STALE") and "lock" in vm["error"], vm
        cl.sql(victim, "ROLLBACK PREPARED 'fo_hold'")
        st = cl.pgmm("status")
        assert "FENCED" in st.stdout, st.stdout
        assert "fenced" in st.stderr  # the notice of what was done
        js = json.loads(cl.pgmm("status", "--json").stdout)
        vm = [m for m in js["masters"] if m["name"] == victim][0]
        assert vm["state"] == "failed" and vm["fenced"] is True and vm["fence"] == "FENCED"
        # fenced: its catalog is the survivors', it owns nothing, guards on
        assert cl.sql(victim, "SELECT epoch FROM pgmm.cluster") == cl.sql(m1, "SELECT epoch FROM pgmm.cluster")
        assert cl.sql(victim, "SELECT state FROM pgmm.nodes WHERE name = '%s'" % victim) == "failed"
        assert cl.sql(victim, "SELECT count(*) FROM pg_subscription WHERE subenabled") == "0"
        assert cl.sql(victim, "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'pgmm_pub'") == "0"
        p = cl.sql(victim, "INSERT INTO items VALUES (%d, 'after fencing')" % (early + SHARDS * 1000), check=False)
        assert p.returncode != 0 and "PM001" in p.stderr, p.stderr
        p = cl.sql(victim, "INSERT INTO items (v) VALUES ('no key')", check=False)
        assert p.returncode != 0 and "PM003" in p.stderr, p.stderr
        p = cl.sql(victim, "UPDATE ref SET v = 'x'", check=False)
        assert p.returncode != 0 and "PM001" in p.stderr, p.stderr
        # the split-brain row reached no survivor
        time.sleep(1.5)
        for n in (m1, m2):
            assert cl.sql(n, "SELECT count(*) FROM items WHERE id = %d" % early) == "0"
        assert cl.sql(victim, "SELECT count(*) FROM items WHERE id = %d" % early) == "1"
        # a second status finds it fenced already and changes nothing
        st2 = cl.pgmm("status")
        assert "FENCED" in st2.stdout and "is back: fenced" not in st2.stderr
        cl.wait_converged()
        survivors_consistent(cl, [m1, m2])
    finally:
        restart(cl, victim)


def test_failover_yes_of_a_reachable_master_fences_it(cluster):
    cl = cluster
    m1, m2, victim = cl.names[0], cl.names[1], cl.names[2]
    make_cluster(cl, victim)
    before = owners(cl, m1)
    # a plain-SQL writer on the victim commits row after row until refused
    writer = subprocess.Popen(["psql", "-X", "-q", "-d", cl.conninfo[victim], "-c",
                               "DO $$ BEGIN FOR i IN 1..1000000 LOOP INSERT INTO items (v) VALUES ('loop'); "
                               "COMMIT; END LOOP; END $$"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
    wait_until(lambda: int(cl.sql(victim, "SELECT count(*) FROM items WHERE v = 'loop'")) > 200,
               what="the writer to write")
    p = cl.pgmm("failover", victim, "--yes", "--to", m2)
    assert "and it is fenced" in p.stdout, p.stdout
    assert "writes to its shards held" in p.stderr, p.stderr
    _, err = writer.communicate(timeout=60)
    # refused by the fence: the guards, the freeze, or the key DEFAULT of a
    # master that owns nothing
    assert writer.returncode != 0 and ("refused" in err or "owns no shard" in err), err
    assert "deadlock" not in err, err
    # every row the victim acknowledged is on the survivors: it was not
    # accepting writes between the survivors' catch-up and its fence
    acked = cl.sql(victim, "SELECT count(*) FROM items WHERE v = 'loop'")
    assert int(acked) > 200
    for n in (m1, m2):
        assert cl.sql(n, "SELECT count(*) FROM items WHERE v = 'loop'") == acked, n
    after = owners(cl, m1)
    # --to m2: every shard of the victim went to m2, the others stayed
    assert after == {k: (m2 if o == victim else o) for k, o in before.items()}
    assert cl.sql(m1, "SELECT owner FROM pgmm.tables WHERE table_name = 'ref'") == m2
    p = cl.sql(victim, "INSERT INTO ref VALUES (77, 'x')", check=False)
    assert p.returncode != 0 and "PM001" in p.stderr
    cl.sql(m2, "INSERT INTO ref VALUES (77, 'on the new owner')")
    cl.wait_converged()
    survivors_consistent(cl, [m1, m2])


# ---------------------------------------------------------------- (d) bad input: refused, nothing half done

def unchanged(cl, live, before):
    survivors_consistent(cl, live)
    assert epochs(cl, live) == before["epochs"]
    assert owners(cl, live[0]) == before["owners"]
    for n in live:
        assert cl.sql(n, "SELECT count(*) FROM pg_subscription WHERE NOT subenabled") == "0", n
        assert cl.sql(n, "SELECT count(*) FROM pgmm.nodes WHERE state = 'failed'") == "0"
        assert cl.sql(n, "SELECT count(*) FROM pgmm.tables WHERE frozen") == "0"


def test_failover_bad_input_changes_nothing(cluster):
    cl = cluster
    m1, m2, victim = cl.names[0], cl.names[1], cl.names[2]
    make_cluster(cl, victim)
    before = {"epochs": epochs(cl, cl.names), "owners": owners(cl, m1)}

    p = cl.pgmm("failover", victim, check=False)  # alive
    assert p.returncode == 1 and "is reachable" in p.stderr and "--yes" in p.stderr, p.stderr
    unchanged(cl, cl.names, before)
    p = cl.pgmm("failover", "m9", check=False)
    assert p.returncode == 1 and 'no master named "m9"' in p.stderr, p.stderr
    hostile = "m3'; DROP TABLE items; --\x1b[2J"
    p = cl.pgmm("failover", hostile, check=False)
    assert p.returncode == 1 and "no master named" in p.stderr and "\x1b" not in p.stderr, p.stderr
    assert cl.sql(m1, "SELECT to_regclass('items') IS NOT NULL") == "t"
    p = cl.pgmm("failover", m1, node=m1, check=False)
    assert p.returncode == 1 and "the one given with -d" in p.stderr, p.stderr
    p = cl.pgmm("failover", check=False)
    assert p.returncode == 2
    p = cl.pgmm("failover", victim, "--to", "nobody", check=False)
    assert p.returncode == 1 and "not a live master" in p.stderr, p.stderr
    p = cl.pgmm("failover", victim, "--bogus", check=False)
    assert p.returncode == 2
    unchanged(cl, cl.names, before)
    try:
        kill9(cl, victim)
        p = cl.pgmm("failover", victim, "--to", victim, check=False)
        assert p.returncode == 1 and "failed master itself" in p.stderr, p.stderr
        # every other master down too: refused, nothing changed on m1
        cl.stop_node(m2)
        p = cl.pgmm("failover", victim, check=False)
        assert p.returncode == 1 and "must be up" in p.stderr and "nothing was changed" in p.stderr, p.stderr
        restart(cl, m2)
        unchanged(cl, [m1, m2], {"epochs": {n: before["epochs"][n] for n in (m1, m2)},
                                 "owners": before["owners"]})
        # the catalog change itself fails (a session holds the cluster row on
        # m2 past the lock timeout): rolled back, subscriptions given back
        blocker = subprocess.Popen(["psql", "-X", "-q", "-d", cl.conninfo[m2] + " application_name=fo_blocker",
                                    "-c", "BEGIN; SELECT * FROM pgmm.cluster FOR UPDATE; SELECT pg_sleep(60)"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: cl.sql(m2, "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                          "'fo_blocker' AND wait_event = 'PgSleep'") == "1", what="the blocker")
            p = pgmm("--lock-timeout", "1000", "-d", cl.conninfo[m1], "failover", victim, check=False)
            assert p.returncode == 1 and "nothing was changed" in p.stderr and "fo_blocker" in p.stderr, p.stderr
        finally:
            blocker.kill()
            blocker.wait()
            cl.sql(m2, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'fo_blocker'")
            wait_until(lambda: cl.sql(m2, "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                          "'fo_blocker'") == "0", what="the blocker to go")
        unchanged(cl, [m1, m2], {"epochs": {n: before["epochs"][n] for n in (m1, m2)},
                                 "owners": before["owners"]})
        for n in (m1, m2):
            assert cl.sql(n, "SELECT subenabled FROM pg_subscription WHERE subname = 'pgmm_%s__%s'" % (victim, n)) == "t"
        # now it works, once
        cl.pgmm("failover", victim)
        after = epochs(cl, [m1, m2])
        p = cl.pgmm("failover", victim, check=False)
        assert p.returncode == 1 and "already failed over" in p.stderr, p.stderr
        assert epochs(cl, [m1, m2]) == after
        survivors_consistent(cl, [m1, m2])
        # a catalog change still works among the survivors with the failed master down
        cl.pgmm("ddl", "ALTER TABLE items ADD COLUMN w int")
        cl.sql(m1, "INSERT INTO items (v, w) VALUES ('w', 1)")
        cl.wait_converged()
    finally:
        restart(cl, victim)
