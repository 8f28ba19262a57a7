"""The admin side of the two-phase-commit module (lib/twophase.c).

Catalog changes commit through it (outcomes reported truthfully), `pgmm
status` lists every pgmm prepared transaction (catalog changes and the
router's broadcasts) with master, kind, gid, age and the tables it locks,
and `pgmm recover` finishes them with the decider rule.
"""
import json
import os

import pytest

from conftest import PGMM, pgmm
from test_admin import setup_notes


def prepared(cl, node):
    return cl.sql(node, "SELECT coalesce(string_agg(gid, ' ' ORDER BY gid), '') FROM pg_prepared_xacts "
                        "WHERE database = current_database()")


def prepare_piece(cl, node, gid, stmt):
    cl.sql(node, "BEGIN; %s; PREPARE TRANSACTION '%s'" % (stmt, gid))


def test_catalog_change_aborted_is_reported_and_changes_nothing(cluster):
    cl = cluster
    setup_notes(cl)
    epochs = cl.all("SELECT epoch FROM pgmm.cluster")
    # A temporary table cannot be prepared: PREPARE fails on the first
    # master, before the decider, so the change is ABORTED everywhere.
    p = cl.pgmm("ddl", "CREATE TEMP TABLE scratch (a int); CREATE TABLE kept (a int PRIMARY KEY)", check=False)
    assert p.returncode == 1
    assert "ABORTED" in p.stderr and "nothing was changed on any master" in p.stderr
    assert "temporary" in p.stderr
    for n in cl.names:
        assert prepared(cl, n) == ""
        assert cl.sql(n, "SELECT to_regclass('kept') IS NULL") == "t"
    assert cl.all("SELECT epoch FROM pgmm.cluster") == epochs
    # The next change goes through, with the catalog epoch one higher everywhere.
    cl.pgmm("ddl", "CREATE TABLE kept (a int PRIMARY KEY)")
    after = cl.all("SELECT epoch FROM pgmm.cluster")
    assert len(set(after.values())) == 1 and int(next(iter(after.values()))) == int(epochs[cl.names[0]]) + 1


def test_status_lists_prepared_transactions_and_recover_finishes_them(cluster):
    cl = cluster
    setup_notes(cl)
    m1, m2, m3 = cl.names[:3]
    cl.pgmm("ddl", "CREATE TABLE notes_log (id int PRIMARY KEY, what text)")
    # A broadcast left behind by a dead router: pieces on m1 and m2, the
    # decider m3 never prepared, so recover rolls it back (tombstone on m3).
    bid = "0123456789abcdef"
    b0 = "pgmm:b:0:%s:0/3:%s" % (bid, m3)
    b1 = "pgmm:b:0:%s:1/3:%s" % (bid, m3)
    prepare_piece(cl, m1, b0, "INSERT INTO notes_log VALUES (1, 'broadcast m1')")
    prepare_piece(cl, m2, b1, "INSERT INTO notes_log VALUES (2, 'broadcast m2')")
    # A catalog-kind transaction whose decider (m3) holds its piece: it is
    # decided, recover commits the piece left on m1.
    cid = "fedcba9876543210"
    c0 = "pgmm:c:99:%s:0/3:%s" % (cid, m3)
    c2 = "pgmm:c:99:%s:2/3:%s" % (cid, m3)
    prepare_piece(cl, m1, c0, "INSERT INTO notes_log VALUES (10, 'decided m1')")
    prepare_piece(cl, m3, c2, "INSERT INTO notes_log VALUES (12, 'decided m3')")

    p = cl.pgmm("status")
    assert "prepared transactions: 4" in p.stdout
    lines = p.stdout.splitlines()
    for node, kind, gid in ((m1, "broadcast", b0), (m2, "broadcast", b1), (m1, "catalog change", c0),
                            (m3, "catalog change", c2)):
        row = [ln for ln in lines if gid in ln and ln.strip().startswith(node + " ")]
        assert row, "status has no row for %s on %s:\n%s" % (gid, node, p.stdout)
        assert kind in row[0] and "notes_log" in row[0] and " s " in row[0]
    js = json.loads(cl.pgmm("status", "--json").stdout)
    got = {(t["master"], t["gid"]): t for t in js["prepared_transactions"]}
    assert set(got) == {(m1, b0), (m2, b1), (m1, c0), (m3, c2)}
    assert got[(m2, b1)]["kind"] == "broadcast" and got[(m2, b1)]["decider"] == m3
    assert got[(m1, c0)]["kind"] == "catalog change" and got[(m1, c0)]["label"] == 99
    assert all(t["age_seconds"] >= 0 for t in got.values())
    assert all(any("notes_log" in lk for lk in t["locks"]) for t in got.values())
    by_master = {m["name"]: m["prepared"] for m in js["masters"]}
    assert b0 in by_master[m1] and c0 in by_master[m1] and by_master[m2] == b1

    p = cl.pgmm("recover")
    assert "2 unfinished transaction(s) resolved" in p.stdout
    assert "rolled back" in p.stderr and "committed" in p.stderr
    for n in cl.names:
        assert prepared(cl, n) == ""
    assert cl.sql(m1, "SELECT string_agg(id::text, ',' ORDER BY id) FROM notes_log") == "10"
    assert cl.sql(m2, "SELECT count(*) FROM notes_log") == "0"
    assert cl.sql(m3, "SELECT string_agg(id::text, ',' ORDER BY id) FROM notes_log") == "12"
    js = json.loads(cl.pgmm("status", "--json").stdout)
    assert js["prepared_transactions"] == []
    # Catalog changes work again.
    cl.pgmm("ddl", "ALTER TABLE notes_log ADD COLUMN at timestamptz")


def test_recover_with_the_decider_down_leaves_its_transactions(cluster):
    cl = cluster
    setup_notes(cl)
    m1, m2, m3 = cl.names[:3]
    cl.pgmm("ddl", "CREATE TABLE notes_log (id int PRIMARY KEY)")
    gid = "pgmm:b:0:00000000000000aa:0/3:%s" % m3
    prepare_piece(cl, m1, gid, "INSERT INTO notes_log VALUES (1)")
    cl.stop_node(m3)
    try:
        p = cl.pgmm("recover", check=False)
        assert p.returncode == 1
        assert "master %s" % m3 in p.stderr and ("down" in p.stderr or "unreachable" in p.stderr)
        # Nothing decided without the decider: the piece stays.
        assert prepared(cl, m1) == gid
        st = cl.pgmm("status")
        assert "DOWN" in st.stdout and gid in st.stdout
    finally:
        cl.start_node(m3)
    p = cl.pgmm("recover")
    assert "1 unfinished transaction(s) resolved" in p.stdout
    assert prepared(cl, m1) == ""
    assert cl.sql(m1, "SELECT count(*) FROM notes_log") == "0"


def test_catalog_change_left_prepared_blocks_others_until_recover(cluster):
    cl = cluster
    setup_notes(cl)
    m1, m2, m3 = cl.names[:3]
    # A catalog change that died after preparing on m2 only: it holds the
    # cluster row there.  The next change waits for it a while, then says
    # so (it used to wait forever); recover rolls it back (m3, the
    # decider, never prepared) and changes work again.
    gid = "pgmm:c:77:00000000000000bb:1/3:%s" % m3
    prepare_piece(cl, m2, gid, "UPDATE pgmm.cluster SET epoch = epoch + 1")
    p = cl.pgmm("ddl", "CREATE TABLE blocked (id int PRIMARY KEY)", check=False)
    assert p.returncode == 1
    assert "master %s: the catalog is locked by another catalog change" % m2 in p.stderr
    assert "nothing was changed on any master" in p.stderr
    for n in cl.names:
        assert cl.sql(n, "SELECT to_regclass('blocked') IS NULL") == "t"
    assert gid in cl.pgmm("status").stdout
    cl.pgmm("recover")
    assert prepared(cl, m2) == ""
    cl.pgmm("ddl", "CREATE TABLE blocked (id int PRIMARY KEY)")
    assert len(set(cl.all("SELECT epoch FROM pgmm.cluster").values())) == 1


def crash_env(after, count):
    """Environment that makes the pgmm command die (really: _exit) after the
    count-th statement starting with `after` (tests/integration/tools/crash_shim.c)."""
    build = os.environ.get("PGMM_BUILD") or os.path.dirname(os.path.dirname(PGMM))
    shim = os.path.join(build, "tests", "integration", "tools", ".libs", "libpgmm_crash.so")
    if not os.path.exists(shim):
        pytest.fail("crash shim not built at %s (make check builds it)" % shim)
    env = dict(os.environ)
    env.update(LD_PRELOAD=shim, PGMM_CRASH_AFTER=after, PGMM_CRASH_COUNT=str(count))
    return env


def test_ddl_killed_after_the_decider_prepared_is_committed_by_recover(cluster):
    cl = cluster
    setup_notes(cl)
    before = int(cl.sql(cl.names[0], "SELECT epoch FROM pgmm.cluster"))
    # Dies right after the first COMMIT PREPARED: committed on the first
    # master, prepared (decided) on the others.
    p = pgmm("-d", cl.conninfo[cl.names[0]], "ddl", "CREATE TABLE crashed (id int PRIMARY KEY)",
             check=False, env=crash_env("COMMIT PREPARED", 1))
    assert p.returncode == 70
    pieces = {n: prepared(cl, n) for n in cl.names}
    assert pieces[cl.names[0]] == ""
    assert all(pieces[n].startswith("pgmm:c:%d:" % (before + 1)) for n in cl.names[1:])
    st = cl.pgmm("status")
    assert "prepared transactions: %d" % (len(cl.names) - 1) in st.stdout
    assert "catalog change" in st.stdout
    # Catalog changes are refused until it is finished (epochs differ).
    p = cl.pgmm("ddl", "CREATE TABLE other (id int PRIMARY KEY)", check=False)
    assert p.returncode == 1 and "epoch differs between masters" in p.stderr and "pgmm recover" in p.stderr
    cl.pgmm("recover")
    for n in cl.names:
        assert prepared(cl, n) == ""
        assert cl.sql(n, "SELECT to_regclass('crashed') IS NOT NULL") == "t"
        assert int(cl.sql(n, "SELECT epoch FROM pgmm.cluster")) == before + 1
    cl.pgmm("ddl", "CREATE TABLE other (id int PRIMARY KEY)")


def test_ddl_killed_before_the_decider_prepared_is_rolled_back_by_recover(cluster):
    cl = cluster
    setup_notes(cl)
    before = cl.all("SELECT epoch FROM pgmm.cluster")
    # Dies after preparing every master but the decider (the last one).
    p = pgmm("-d", cl.conninfo[cl.names[0]], "ddl", "CREATE TABLE crashed (id int PRIMARY KEY)",
             check=False, env=crash_env("PREPARE TRANSACTION", len(cl.names) - 1))
    assert p.returncode == 70
    assert prepared(cl, cl.names[-1]) == ""
    assert all(prepared(cl, n) for n in cl.names[:-1])
    cl.pgmm("recover")
    for n in cl.names:
        assert prepared(cl, n) == ""
        assert cl.sql(n, "SELECT to_regclass('crashed') IS NULL") == "t"
    assert cl.all("SELECT epoch FROM pgmm.cluster") == before
    cl.pgmm("ddl", "CREATE TABLE crashed (id int PRIMARY KEY)")
