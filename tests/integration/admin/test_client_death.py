"""The one two-phase commit, with a client that really dies in the middle.

A keyless UPDATE with pgmm_2pc=1 is a broadcast: every master owning shards
prepares its part, then each commits.  The client is a real process
(tests/integration/tools/pgmm_run) with a test-only LD_PRELOAD shim that
calls _exit() right after the server answered the first COMMIT PREPARED (or
the first PREPARE TRANSACTION): no cleanup, sockets simply closed.  What it
leaves behind must be visible in `pgmm status` and finished by `pgmm
recover`: committed everywhere when any master committed, rolled back
everywhere otherwise.
"""
import json
import os
import subprocess

from conftest import wait_until

BUILD = os.environ.get("PGMM_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "..", "build"))
RUN = os.path.join(BUILD, "tests", "integration", "tools", "pgmm_run")
SHIM = os.path.join(BUILD, "tests", "integration", "tools", ".libs", "libpgmm_crash.so")
ROWS_PER_MASTER = 20


def make_accounts(cl):
    cl.init()
    cl.pgmm("ddl", "CREATE TABLE cuentas (id bigint PRIMARY KEY, saldo int NOT NULL DEFAULT 0)")
    cl.pgmm("distribute", "cuentas", "id", "--shards", "6")
    # Plain-SQL inserts without the key: each master draws IDs of its own shards.
    for n in cl.names:
        cl.sql(n, "INSERT INTO cuentas (saldo) SELECT 0 FROM generate_series(1, %d)" % ROWS_PER_MASTER)
    total = ROWS_PER_MASTER * len(cl.names)
    wait_until(lambda: all(cl.sql(n, "SELECT count(*) FROM cuentas") == str(total) for n in cl.names),
               what="rows on every master")
    owners = cl.sql(cl.names[0], "SELECT count(DISTINCT owner) FROM pgmm.shards")
    assert owners == str(len(cl.names)), "every master must own shards for a full broadcast"


def crash_client(cl, after, sql):
    env = dict(os.environ, LD_PRELOAD=SHIM, PGMM_CRASH_AFTER=after, PGMM_CRASH_COUNT="1")
    p = subprocess.run([RUN, cl.conninfo[cl.names[0]] + " pgmm_2pc=1", sql], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 70, "the client should have died in the commit (rc %d):\n%s%s" % (
        p.returncode, p.stdout, p.stderr)


def prepared(cl):
    """{master: [gid, ...]} of every prepared transaction of the test database."""
    return {n: [g for g in cl.sql(n, "SELECT gid FROM pg_prepared_xacts WHERE database = current_database() "
                                     "ORDER BY gid").split("\n") if g]
            for n in cl.names}


def saldos(cl, node):
    return cl.sql(node, "SELECT saldo, count(*) FROM cuentas GROUP BY 1 ORDER BY 1")


def test_client_killed_after_first_commit_prepared_recover_commits(cluster):
    cl = cluster
    make_accounts(cl)
    crash_client(cl, "COMMIT PREPARED", "UPDATE cuentas SET saldo = saldo + 5")
    left = prepared(cl)
    holders = [n for n in cl.names if left[n]]
    # One master committed its part; the two others still hold theirs (with row locks).
    assert len(holders) == len(cl.names) - 1, left
    committed = next(n for n in cl.names if not left[n])
    gids = [g for n in holders for g in left[n]]
    assert all(g.startswith("pgmm:b:") for g in gids), gids
    # The committed master's rows moved; a held master's rows are locked.
    assert "5|%d" % ROWS_PER_MASTER in saldos(cl, committed)
    blocked = cl.sql(holders[0], "SET lock_timeout = '300ms'; UPDATE cuentas SET saldo = 0 "
                                 "WHERE id IN (SELECT id FROM cuentas ORDER BY id)", check=False)
    assert blocked.returncode != 0 and "lock timeout" in blocked.stderr, blocked.stderr

    # status shows every piece, with its master and the table it locks.
    text = cl.pgmm("status").stdout
    for g in gids:
        assert g in text, text
    js = json.loads(cl.pgmm("status", "--json").stdout)
    listed = {(x["master"], x["gid"]) for x in js["prepared_transactions"]}
    assert listed == {(n, g) for n in holders for g in left[n]}, js["prepared_transactions"]
    assert all(x["kind"] == "broadcast" for x in js["prepared_transactions"])
    assert all(any("cuentas" in t for t in x["locks"]) for x in js["prepared_transactions"]), js["prepared_transactions"]

    p = cl.pgmm("recover")
    assert "committed" in p.stdout + p.stderr
    assert prepared(cl) == {n: [] for n in cl.names}
    # Committed everywhere: every row got its +5, on every master.
    total = ROWS_PER_MASTER * len(cl.names)
    wait_until(lambda: all(saldos(cl, n) == "5|%d" % total for n in cl.names),
               what="every master to hold every row updated")
    cl.wait_converged()


def test_client_killed_after_first_prepare_recover_rolls_back(cluster):
    cl = cluster
    make_accounts(cl)
    crash_client(cl, "PREPARE TRANSACTION", "UPDATE cuentas SET saldo = saldo + 7")
    left = prepared(cl)
    holders = [n for n in cl.names if left[n]]
    assert len(holders) == 1, left   # the others' open transactions died with the client
    text = cl.pgmm("status").stdout
    assert left[holders[0]][0] in text, text
    cl.pgmm("recover")
    assert prepared(cl) == {n: [] for n in cl.names}
    total = ROWS_PER_MASTER * len(cl.names)
    for n in cl.names:
        assert saldos(cl, n) == "0|%d" % total
    # The decider's gid is free again and nothing of the dead client remains:
    # the same statement now commits normally.
    p = subprocess.run([RUN, cl.conninfo[cl.names[0]] + " pgmm_2pc=1", "UPDATE cuentas SET saldo = saldo + 1"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    wait_until(lambda: all(saldos(cl, n) == "1|%d" % total for n in cl.names), what="the update everywhere")


def test_recover_leaves_foreign_prepared_transactions_alone(cluster):
    # A prepared transaction pgmm did not make (another tool's, or an old
    # format) is listed by nobody's rule: recover must not touch it.
    cl = cluster
    make_accounts(cl)
    n = cl.names[1]
    cl.sql(n, "BEGIN; UPDATE cuentas SET saldo = saldo WHERE false; PREPARE TRANSACTION 'other_tool_1'")
    cl.sql(n, "BEGIN; PREPARE TRANSACTION 'pgmm:c:1:0123456789abcdef:0/3:nosuchmaster'")
    try:
        p = cl.pgmm("recover", check=False)
        assert p.returncode != 0
        assert "nosuchmaster" in p.stdout + p.stderr
        assert set(prepared(cl)[n]) == {"other_tool_1", "pgmm:c:1:0123456789abcdef:0/3:nosuchmaster"}
    finally:
        cl.sql(n, "ROLLBACK PREPARED 'other_tool_1'")
        cl.sql(n, "ROLLBACK PREPARED 'pgmm:c:1:0123456789abcdef:0/3:nosuchmaster'")
