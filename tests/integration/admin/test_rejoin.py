"""pgmm rejoin (issue #9): a failed master comes back owning nothing.

After a kill -9 and `pgmm failover`, the victim is restarted and, before
pgmm reaches it, written to with plain psql (its own stale catalog still
says it owns its old shards and its reference table: the fenced-master
window).  `pgmm rejoin` must write exactly those rows to its file, make its
copies equal to the live owners', give it a new allocator slot, mark it
active (owning nothing) and subscribe both ways; it then takes writes for a
table it is given (a new reference table owned by it), routed there by
libpgmm and replicated to the others.
"""
import json
import os

from conftest import wait_until
from test_failover import kill9, make_cluster, owners, restart
from test_ddl_under_load import _libpgmm


def node_row(cl, n, victim):
    return cl.sql(n, "SELECT state, slot, failed_epoch IS NULL FROM pgmm.nodes WHERE name = '%s'" % victim)


def test_rejoin_after_failover_with_fenced_writes(cluster, tmp_path):
    cl = cluster
    m1, m2, victim = cl.names
    live = [m1, m2]
    make_cluster(cl, victim)
    old_shards = [k for k, o in owners(cl, m1).items() if o == victim]
    old_slot = int(cl.sql(m1, "SELECT slot FROM pgmm.nodes WHERE name = '%s'" % victim))
    upd = int(cl.sql(victim, "SELECT min(id) FROM items WHERE v LIKE '%s-%%'" % victim))
    try:
        kill9(cl, victim)
        cl.pgmm("failover", victim)
        restart(cl, victim)
        # the fenced-master window: plain SQL straight to the victim before
        # any pgmm command reaches it (its stale catalog says it owns them)
        cl.sql(victim, "INSERT INTO items (v) VALUES ('fenced-1'), ('fenced-2, \"q\"')")
        cl.sql(victim, "UPDATE items SET v = 'fenced-upd' WHERE id = %d" % upd)
        cl.sql(victim, "INSERT INTO ref VALUES (100, 'fenced-ref')")
        fenced_ids = sorted(int(x) for x in cl.sql(victim, "SELECT id FROM items WHERE v LIKE 'fenced-%%' "
                                                           "AND id <> %d" % upd).split())
        assert len(fenced_ids) == 2
        for n in live:
            assert cl.sql(n, "SELECT count(*) FROM items WHERE v LIKE 'fenced%'") == "0"
            assert cl.sql(n, "SELECT count(*) FROM ref WHERE k = 100") == "0"
        epoch = int(cl.sql(m1, "SELECT epoch FROM pgmm.cluster"))

        # bad input first: a node that never failed, an unknown one
        p = cl.pgmm("rejoin", m2, check=False)
        assert p.returncode == 1 and "never failed" in p.stderr, p.stderr
        p = cl.pgmm("rejoin", "m99", check=False)
        assert p.returncode == 1 and "no master called" in p.stderr, p.stderr
        p = cl.pgmm("rejoin", check=False)
        assert p.returncode == 2, p.stderr
        assert int(cl.sql(m1, "SELECT epoch FROM pgmm.cluster")) == epoch

        # an existing file is never overwritten (it may hold an earlier attempt's rows)
        taken = tmp_path / "taken.jsonl"
        taken.write_text("keep me\n")
        p = cl.pgmm("rejoin", victim, "--divergent-rows", str(taken), check=False)
        assert p.returncode == 1 and "give another file" in p.stderr, p.stderr
        assert taken.read_text() == "keep me\n"
        assert int(cl.sql(m1, "SELECT epoch FROM pgmm.cluster")) == epoch
        assert cl.sql(m1, "SELECT state FROM pgmm.nodes WHERE name = '%s'" % victim) == "failed"

        rows_file = str(tmp_path / "divergent.jsonl")
        p = cl.pgmm("rejoin", victim, "--divergent-rows", rows_file)
        print(p.stdout, p.stderr)
        assert "master %s rejoined" % victim in p.stdout and "4 row(s)" in p.stdout, p.stdout
        assert "owns nothing" in p.stdout
        with open(rows_file) as f:
            got = [json.loads(line) for line in f]
        # exactly the rows it accepted while fenced, with its version of them
        items = sorted((r["kind"], int(r["key"]), r["row"].split(",", 1)[1].rsplit(")", 1)[0])
                       for r in got if r["table"] == "public.items")
        assert items == sorted([("extra", fenced_ids[0], "fenced-1"), ("extra", fenced_ids[1], '"fenced-2, ""q"""'),
                                ("changed", upd, "fenced-upd")]), got
        assert [(r["kind"], r["key"], r["row"]) for r in got if r["table"] == "public.ref"] == \
            [("extra", "100", "(100,fenced-ref)")], got
        assert len(got) == 4

        # the cluster verifies clean: its copies are the owners' (the fenced rows gone)
        cl.wait_converged()
        assert cl.sql(victim, "SELECT count(*) FROM items WHERE v LIKE 'fenced%'") == "0"
        assert cl.sql(victim, "SELECT count(*) FROM ref WHERE k = 100") == "0"
        # active everywhere, a new slot, one catalog change, owns nothing
        rows = {n: node_row(cl, n, victim) for n in cl.names}
        assert len(set(rows.values())) == 1, rows
        state, slot, cleared = rows[m1].split("|")
        assert state == "active" and cleared == "t" and int(slot) > old_slot, rows
        assert {n: cl.sql(n, "SELECT epoch FROM pgmm.cluster") for n in cl.names} == \
            {n: str(epoch + 1) for n in cl.names}
        for n in cl.names:
            assert cl.sql(n, "SELECT count(*) FROM pgmm.shards WHERE owner = '%s'" % victim) == "0"
            assert cl.sql(n, "SELECT count(*) FROM pgmm.tables WHERE owner = '%s'" % victim) == "0"
        assert old_shards, "the victim owned shards before"
        # subscribed both ways, every subscription streaming
        for n in live:
            assert cl.sql(n, "SELECT subenabled FROM pg_subscription WHERE subname = 'pgmm_%s__%s'" % (victim, n)) == "t"
            assert cl.sql(victim, "SELECT subenabled FROM pg_subscription WHERE subname = 'pgmm_%s__%s'"
                                  % (n, victim)) == "t"
        # it follows the owners again: a new row written on an owner arrives
        cl.sql(m1, "INSERT INTO items (v) VALUES ('after-rejoin')")
        wait_until(lambda: cl.sql(victim, "SELECT count(*) FROM items WHERE v = 'after-rejoin'") == "1",
                   what="replication to the rejoined master")
        # plain SQL on it is refused (it owns nothing), and a second rejoin too
        p = cl.sql(victim, "INSERT INTO items (v) VALUES ('nope')", check=False)
        assert p.returncode != 0, p.stdout
        p = cl.pgmm("rejoin", victim, check=False)
        assert p.returncode == 1 and "never failed" in p.stderr, p.stderr

        # it takes writes once it is given a table: a reference table owned by
        # it, written through libpgmm (routed to it) and replicated to the others
        cl.pgmm("ddl", "CREATE TABLE notes2 (k int PRIMARY KEY, v text)")
        cl.pgmm("reference", "notes2", "--owner", victim)
        binding = _libpgmm()
        c = binding.connect(cl.conninfo[m1], autocommit=True)
        cur = c.cursor()
        for k in range(1, 6):
            cur.execute("INSERT INTO notes2 VALUES (%s, %s)", (k, "via libpgmm"))
        c.close()
        assert cl.sql(victim, "SELECT count(*) FROM notes2") == "5"
        for n in live:
            wait_until(lambda: cl.sql(n, "SELECT count(*) FROM notes2") == "5", what="notes2 rows on %s" % n)
        cl.wait_converged()
    finally:
        restart(cl, victim)


def test_rejoin_unreachable_refused(cluster):
    cl = cluster
    m1, m2, victim = cl.names
    make_cluster(cl, victim)
    try:
        kill9(cl, victim)
        cl.pgmm("failover", victim)
        epoch = cl.sql(m1, "SELECT epoch FROM pgmm.cluster")
        p = cl.pgmm("rejoin", victim, "--divergent-rows", os.devnull, check=False)
        assert p.returncode == 1 and "unreachable" in p.stderr and "nothing was changed" in p.stderr, p.stderr
        assert cl.sql(m1, "SELECT epoch FROM pgmm.cluster") == epoch
        assert cl.sql(m1, "SELECT state FROM pgmm.nodes WHERE name = '%s'" % victim) == "failed"
    finally:
        restart(cl, victim)
