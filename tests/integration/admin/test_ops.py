"""Issue #8, operations: a ddl body may not hold transaction control,
lock_timeout and a lost PREPARE answer, pgmm drop, verify's checksum and
report, status's STALLED rule.  Real masters, no mocks.
"""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import PGMM, pgmm, psql, wait_until
from test_admin import setup_notes


def prepared_everywhere(cl):
    return {n: cl.sql(n, "SELECT coalesce(string_agg(gid, ' ' ORDER BY gid), '') FROM pg_prepared_xacts "
                         "WHERE database = current_database()") for n in cl.names}


# ---------------------------------------------------------------- A: transaction control in a ddl body

REFUSED_BODIES = [
    "BEGIN; CREATE TABLE t8 (a int); COMMIT",
    "CREATE TABLE t8 (a int); COMMIT",
    "COMMIT",
    "CREATE TABLE t8 (a int); ROLLBACK",
    "CREATE TABLE t8 (a int); PREPARE TRANSACTION 'x8'",
    "COMMIT PREPARED 'x8'",
    "ROLLBACK PREPARED 'x8'",
    "SAVEPOINT s; CREATE TABLE t8 (a int)",
    "CREATE TABLE t8 (a int); SAVEPOINT s; ROLLBACK TO SAVEPOINT s",
    "CREATE TABLE t8 (a int); end",
    "CREATE TABLE t8 (a int); COMMIT AND CHAIN",
]


@pytest.mark.parametrize("body", REFUSED_BODIES)
def test_ddl_body_with_transaction_control_is_refused(cluster, body):
    cl = cluster
    cl.init()
    epochs = cl.all("SELECT epoch FROM pgmm.cluster")
    p = cl.pgmm("ddl", body, check=False)
    assert p.returncode != 0
    assert "transaction control" in p.stderr and "nothing was run" in p.stderr, p.stderr
    for n in cl.names:
        assert cl.sql(n, "SELECT to_regclass('t8') IS NULL") == "t"
    assert prepared_everywhere(cl) == {n: "" for n in cl.names}
    assert cl.all("SELECT epoch FROM pgmm.cluster") == epochs
    assert len(set(epochs.values())) == 1
    # pgmm still works after the refusal, and quoted or commented words are not statements
    cl.pgmm("ddl", "CREATE TABLE t8 (a int, b text DEFAULT 'COMMIT; BEGIN'); -- ROLLBACK\n"
                   "COMMENT ON TABLE t8 IS $c$PREPARE TRANSACTION 'y'; COMMIT$c$")
    for n in cl.names:
        assert cl.sql(n, "SELECT to_regclass('t8') IS NOT NULL") == "t"
    assert prepared_everywhere(cl) == {n: "" for n in cl.names}
    after = cl.all("SELECT epoch FROM pgmm.cluster")
    assert set(after.values()) == {str(int(epochs[cl.names[0]]) + 1)}


# ---------------------------------------------------------------- B: lock_timeout, a lost PREPARE answer

def test_ddl_blocked_by_a_session_fails_within_lock_timeout_naming_it(cluster):
    cl = cluster
    cl.init()
    cl.pgmm("ddl", "CREATE TABLE lk (id int PRIMARY KEY)")
    epochs = cl.all("SELECT epoch FROM pgmm.cluster")
    m2 = cl.names[1]
    blocker = subprocess.Popen(["psql", "-X", "-q", "-d", cl.conninfo[m2] + " application_name=lk_blocker",
                                "-c", "BEGIN; LOCK TABLE lk IN ACCESS SHARE MODE; SELECT pg_sleep(60)"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: cl.sql(m2, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'lk_blocker' "
                                      "AND wait_event = 'PgSleep'") == "1", what="the blocker to hold its lock")
        t0 = time.time()
        p = pgmm("--lock-timeout", "1500", "-d", cl.conninfo[cl.names[0]], "ddl",
                 "ALTER TABLE lk ADD COLUMN v text", check=False)
        took = time.time() - t0
        assert p.returncode == 1, p.stderr
        assert took < 15, took
        assert "lock_timeout 1500 ms" in p.stderr, p.stderr
        assert "master %s" % m2 in p.stderr and "'lk_blocker'" in p.stderr and "session pid" in p.stderr, p.stderr
        assert "pg_sleep" in p.stderr and "nothing was changed on any master" in p.stderr, p.stderr
    finally:
        blocker.kill()
        blocker.wait()
        cl.sql(m2, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lk_blocker'")
        wait_until(lambda: cl.sql(m2, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'lk_blocker'")
                   == "0", what="the blocker to go")
    assert cl.all("SELECT epoch FROM pgmm.cluster") == epochs
    assert prepared_everywhere(cl) == {n: "" for n in cl.names}
    # bad values are refused before connecting
    for bad in ("0", "-5", "abc", "3600001", ""):
        p = pgmm("--lock-timeout", bad, "-d", cl.conninfo[cl.names[0]], "status", check=False)
        assert p.returncode == 2 and "--lock-timeout" in p.stderr, (bad, p.stderr)
    cl.pgmm("ddl", "ALTER TABLE lk ADD COLUMN v text")


def postmaster_pid(name):
    with open(os.path.join(os.environ["PGMM_CLUSTER_DIR"], name, "data", "postmaster.pid")) as f:
        return int(f.readline())


def test_lost_decider_prepare_answer_is_in_doubt_then_lock_timeout_then_recover(cluster):
    cl = cluster
    cl.init()
    cl.pgmm("ddl", "CREATE TABLE base (id int PRIMARY KEY)")
    decider = sorted(cl.names)[-1]
    srv = cl.server_conninfo[decider]
    epoch0 = int(cl.sql(cl.names[0], "SELECT epoch FROM pgmm.cluster"))
    psql(srv, "ALTER SYSTEM SET synchronous_standby_names = 'pgmm_no_such_standby'")
    psql(srv, "SELECT pg_reload_conf()")
    restarted = False
    try:
        ddl = subprocess.Popen([PGMM, "-d", cl.conninfo[cl.names[0]], "ddl", "CREATE TABLE lost (a int)"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # The decider's PREPARE TRANSACTION is durable and waits for the standby.
        wait_until(lambda: cl.sql(decider, "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep' "
                                           "AND datname = current_database()") == "1",
                   what="the decider's PREPARE to wait for synchronous replication")
        gid = cl.sql(decider, "SELECT gid FROM pg_prepared_xacts WHERE database = current_database()")
        assert gid.startswith("pgmm:c:%d:" % (epoch0 + 1)) and gid.endswith(":" + decider), gid
        os.kill(postmaster_pid(decider), signal.SIGKILL)
        out, err = ddl.communicate(timeout=120)
        assert ddl.returncode == 1, (out, err)
        assert "UNKNOWN" in err and "IN DOUBT" in err and decider in err and gid in err, err
        assert "pgmm recover" in err, err
        # Restart the master (its orphaned backends exit first), then reset the setting.
        wait_until(lambda: start_ok(cl, decider), timeout=60, what="the decider to restart")
        psql(srv, "ALTER SYSTEM RESET synchronous_standby_names")
        psql(srv, "SELECT pg_reload_conf()")
        restarted = True
        # status lists the prepared transaction on the decider
        st = json.loads(cl.pgmm("status", "--json").stdout)
        gids = [(p["master"], p["gid"]) for p in st["prepared_transactions"]]
        assert (decider, gid) in gids, st["prepared_transactions"]
        # the next change fails within the lock timeout with a clear error, never hangs
        t0 = time.time()
        p = pgmm("--lock-timeout", "2000", "-d", cl.conninfo[cl.names[0]], "ddl", "CREATE TABLE after_lost (a int)",
                 check=False)
        assert time.time() - t0 < 30
        assert p.returncode == 1, p.stderr
        assert "lock" in p.stderr and "prepared transaction 'pgmm:c:%d:" % (epoch0 + 1) in p.stderr, p.stderr
        assert "pgmm recover" in p.stderr, p.stderr
        # recover: the decider holds its part, so the change commits everywhere
        cl.pgmm("recover")
        assert prepared_everywhere(cl) == {n: "" for n in cl.names}
        assert set(cl.all("SELECT epoch FROM pgmm.cluster").values()) == {str(epoch0 + 1)}
        assert set(cl.all("SELECT to_regclass('lost') IS NOT NULL AND to_regclass('after_lost') IS NULL").values()) == {"t"}
        cl.pgmm("ddl", "CREATE TABLE after_lost (a int)")
        assert set(cl.all("SELECT epoch FROM pgmm.cluster").values()) == {str(epoch0 + 2)}
    finally:
        if not restarted:
            try:
                start_ok(cl, decider)
                psql(srv, "ALTER SYSTEM RESET synchronous_standby_names")
                psql(srv, "SELECT pg_reload_conf()")
            except Exception:
                pass


def start_ok(cl, name):
    try:
        cl.start_node(name)
        return cl.sql(name, "SELECT 1") == "1"
    except Exception:
        return False


# ---------------------------------------------------------------- D: verify sees every column and says what differs

def behind_pgmms_back(cl, node, stmt):
    cl.sql(node, "SET session_replication_role = replica; %s" % stmt)


def test_verify_names_key_and_master_of_a_changed_reference_row(cluster):
    cl = cluster
    cl.init()
    cl.pgmm("ddl", "CREATE TABLE ref8 (id int PRIMARY KEY, x text, y text)")
    cl.sql(cl.names[0], "INSERT INTO ref8 SELECT g, 'x' || g, 'y' || g FROM generate_series(1, 50) g")
    cl.pgmm("reference", "ref8")
    cl.wait_converged()
    owner = cl.sql(cl.names[0], "SELECT owner FROM pgmm.tables WHERE table_name = 'ref8'")
    other = [n for n in cl.names if n != owner][-1]
    behind_pgmms_back(cl, other, "UPDATE ref8 SET y = 'changed' WHERE id = 17")
    p = cl.pgmm("verify", check=False)
    assert p.returncode == 3, p.stdout + p.stderr
    line = [l for l in p.stdout.splitlines() if "DIFFERS" in l]
    assert len(line) == 1, p.stdout
    assert line[0].startswith("public.ref8: DIFFERS") and ("on %s differs from its owner %s" % (other, owner)) in line[0]
    assert "1 row(s) differ" in line[0] and "first keys: 17" in line[0], line[0]
    j = json.loads(cl.pgmm("verify", "--json", check=False).stdout)
    assert j["differences"] == 1 and j["masters"] == len(cl.names)
    (t,) = [t for t in j["tables"] if t["table"] == "public.ref8"]
    assert t["identical"] is False
    assert t["differences"] == [{"shard": "public.ref8", "owner": owner, "master": other, "owner_rows": 50,
                                 "master_rows": 50, "differing_rows": 1, "first_keys": ["17"]}]
    # a missing row and an extra row are named too
    behind_pgmms_back(cl, other, "DELETE FROM ref8 WHERE id = 3; INSERT INTO ref8 VALUES (99, 'x', 'y')")
    j = json.loads(cl.pgmm("verify", "--json", check=False).stdout)
    (t,) = [t for t in j["tables"] if t["table"] == "public.ref8"]
    assert t["differences"][0]["differing_rows"] == 3 and t["differences"][0]["first_keys"] == ["17", "3", "99"]
    # repaired: identical again
    behind_pgmms_back(cl, other, "UPDATE ref8 SET y = 'y17' WHERE id = 17; INSERT INTO ref8 VALUES (3, 'x3', 'y3'); "
                                 "DELETE FROM ref8 WHERE id = 99")
    p = cl.pgmm("verify")
    assert "public.ref8: 50 rows in 1 partitions, identical on 3 masters" in p.stdout


def test_verify_hashes_the_row_whatever_the_columns_are_called(cluster):
    cl = cluster
    cl.init()
    cl.pgmm("ddl", 'CREATE TABLE hostile (id bigint PRIMARY KEY, x text, "select" text, "a""b" text, r text, g text)')
    cl.sql(cl.names[0], "INSERT INTO hostile SELECT i, 'x', 's', 'ab', 'r', 'g' FROM generate_series(1, 40) i")
    cl.pgmm("distribute", "hostile", "id", "--shards", "4")
    cl.wait_converged()
    for col, key in (("x", 5), ('"select"', 6), ('"a""b"', 7), ("r", 8), ("g", 9)):
        rem = int(cl.sql(cl.names[0], "SELECT r FROM generate_series(0, 3) r WHERE satisfies_hash_partition("
                                      "'hostile'::regclass, 4, r, %d::bigint)" % key))
        owner = cl.sql(cl.names[0], "SELECT s.owner FROM pgmm.shards s JOIN pgmm.tables t ON t.colocation = s.colocation "
                                    "WHERE t.table_name = 'hostile' AND s.remainder = %d" % rem)
        other = [n for n in cl.names if n != owner][0]
        behind_pgmms_back(cl, other, "UPDATE hostile SET %s = 'changed' WHERE id = %d" % (col, key))
        j = json.loads(cl.pgmm("verify", "--json", check=False).stdout)
        (t,) = [t for t in j["tables"] if t["table"] == "public.hostile"]
        assert t["differences"] == [{"shard": "public.hostile_s%d" % rem, "owner": owner, "master": other,
                                     "owner_rows": t["differences"][0]["owner_rows"],
                                     "master_rows": t["differences"][0]["owner_rows"],
                                     "differing_rows": 1, "first_keys": [str(key)]}], (col, t)
        behind_pgmms_back(cl, other, "UPDATE hostile SET %s = %s WHERE id = %d"
                          % (col, "'" + {"x": "x", '"select"': "s", '"a""b"': "ab", "r": "r", "g": "g"}[col] + "'", key))
        assert cl.pgmm("verify").returncode == 0


# ---------------------------------------------------------------- C: pgmm drop

def publication_tables(cl, node, like):
    return cl.sql(node, "SELECT count(*) FROM pg_publication_tables WHERE tablename LIKE '%s'" % like)


def test_drop_distributed_table_everywhere_and_replication_goes_on(cluster):
    cl = cluster
    setup_notes(cl)
    cl.pgmm("ddl", "CREATE TABLE solo (id int PRIMARY KEY, v text)")
    cl.sql(cl.names[0], "INSERT INTO solo SELECT g, 'v' || g FROM generate_series(1, 200) g")
    cl.pgmm("distribute", "solo", "id", "--shards", "8")
    cl.wait_converged()
    for n in cl.names:
        assert int(publication_tables(cl, n, "solo%")) > 0
    epoch = int(cl.sql(cl.names[0], "SELECT epoch FROM pgmm.cluster"))
    # refusals change nothing
    for args, msg in ((["drop", "expedientes"], "colocated with public.documentos"),
                      (["drop", "nosuch"], "not a table pgmm manages"),
                      (["drop", "solo", "nosuch"], "not a table pgmm manages"),
                      (["drop", "pgmm.cluster"], "not a table pgmm manages"),
                      (["drop", ""], "empty")):
        p = cl.pgmm(*args, check=False)
        assert p.returncode != 0 and msg in p.stderr, (args, p.stderr)
    assert set(cl.all("SELECT epoch FROM pgmm.cluster").values()) == {str(epoch)}
    # a ddl naming a managed table freezes it first (one catalog change) and
    # unfreezes it after the refusal (another): epochs move, equal everywhere,
    # nothing stays frozen, nothing is dropped
    p = cl.pgmm("ddl", "DROP TABLE expedientes CASCADE", check=False)
    assert p.returncode != 0 and "colocated with it" in p.stderr, p.stderr
    assert len(set(cl.all("SELECT epoch FROM pgmm.cluster").values())) == 1
    assert set(cl.all("SELECT count(*) FROM pgmm.tables WHERE frozen").values()) == {"0"}
    epoch = int(cl.sql(cl.names[0], "SELECT epoch FROM pgmm.cluster"))
    assert set(cl.all("SELECT to_regclass('solo') IS NOT NULL AND to_regclass('expedientes') IS NOT NULL").values()) == {"t"}
    # the drop
    cl.pgmm("drop", "solo")
    for n in cl.names:
        assert cl.sql(n, "SELECT count(*) FROM pg_class WHERE relname ~ '^solo'") == "0"
        assert publication_tables(cl, n, "solo%") == "0"
        assert cl.sql(n, "SELECT count(*) FROM pgmm.tables WHERE table_name = 'solo'") == "0"
        assert cl.sql(n, "SELECT count(*) FROM pgmm.shards s WHERE NOT EXISTS (SELECT 1 FROM pgmm.tables t "
                         "WHERE t.colocation = s.colocation)") == "0"
        assert cl.sql(n, "SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()") == "0"
    assert set(cl.all("SELECT epoch FROM pgmm.cluster").values()) == {str(epoch + 1)}
    # replication of the other tables goes on, subscriptions are not stalled
    owner = cl.sql(cl.names[0], "SELECT owner FROM pgmm.tables WHERE table_name = 'estados'")
    cl.sql(owner, "INSERT INTO estados VALUES (40, 'after the drop')")
    wait_until(lambda: all(cl.sql(n, "SELECT count(*) FROM estados WHERE id = 40") == "1" for n in cl.names),
               what="a row written after the drop to replicate")
    cl.wait_converged()
    st = json.loads(cl.pgmm("status", "--json").stdout)
    assert all(s["apply_errors"] == 0 for s in st["subscriptions"]), st["subscriptions"]
    # colocated tables go together; then a reference table through pgmm ddl
    cl.pgmm("drop", "documentos", "expedientes")
    cl.pgmm("ddl", "DROP TABLE estados")
    for n in cl.names:
        assert cl.sql(n, "SELECT count(*) FROM pgmm.tables") == "0"
        assert cl.sql(n, "SELECT count(*) FROM pgmm.colocations") == "0"
        assert publication_tables(cl, n, "%") == "0"
    assert len(set(cl.all("SELECT epoch FROM pgmm.cluster").values())) == 1
    assert cl.pgmm("verify").returncode == 0


def test_distribute_and_reference_refuse_what_is_not_an_ordinary_table(cluster):
    cl = cluster
    cl.init()
    cl.pgmm("ddl", "CREATE TABLE base8 (id int PRIMARY KEY); CREATE VIEW v8 AS SELECT * FROM base8; "
                   "CREATE SEQUENCE sq8; CREATE MATERIALIZED VIEW mv8 AS SELECT 1 AS a; "
                   "CREATE TABLE pt8 (id int PRIMARY KEY) PARTITION BY HASH (id)")
    for cmd in (["distribute", "%s", "id"], ["reference", "%s"]):
        for rel, msg in (("v8", "is a view, not an ordinary table"), ("sq8", "is a sequence, not an ordinary table"),
                         ("mv8", "is a materialized view"), ("pt8", "is a partitioned table"),
                         ("pgmm.nodes", "pgmm's own schema"), ("pgmm.cluster", "pgmm's own schema"),
                         ("nosuch8", "does not exist")):
            args = [a % rel if "%" in a else a for a in cmd]
            p = cl.pgmm(*args, check=False)
            assert p.returncode == 1 and msg in p.stderr, (args, p.stderr)
    assert cl.sql(cl.names[0], "SELECT count(*) FROM pgmm.tables") == "0"


# ---------------------------------------------------------------- E: STALLED from what happens now

def sub_of(st, subscriber, publisher):
    (s,) = [s for s in st["subscriptions"] if s["subscriber"] == subscriber and s["publisher"] == publisher]
    return s


def test_status_stalled_only_while_the_conflict_lasts(cluster):
    import threading
    cl = cluster
    cl.init()
    cl.pgmm("ddl", "CREATE TABLE conf (id bigint PRIMARY KEY, v text)")
    cl.pgmm("distribute", "conf", "id", "--shards", "4")
    key = 1000001
    rem = int(cl.sql(cl.names[0], "SELECT r FROM generate_series(0, 3) r WHERE satisfies_hash_partition("
                                  "'conf'::regclass, 4, r, %d::bigint)" % key))
    owner = cl.sql(cl.names[0], "SELECT s.owner FROM pgmm.shards s JOIN pgmm.tables t ON t.colocation = s.colocation "
                                "WHERE t.table_name = 'conf' AND s.remainder = %d" % rem)
    victim = [n for n in cl.names if n != owner][0]
    # plant the conflict: the key on the subscriber behind pgmm's back, then the owner writes it
    cl.sql(victim, "SET session_replication_role = replica; INSERT INTO conf VALUES (%d, 'planted')" % key)
    cl.sql(owner, "INSERT INTO conf VALUES (%d, 'owner')" % key)
    wait_until(lambda: sub_of(json.loads(cl.pgmm("status", "--json").stdout), victim, owner)["state"] == "STALLED",
               timeout=60, what="the conflict to stall the subscription")
    st = json.loads(cl.pgmm("status", "--json").stdout)
    s = sub_of(st, victim, owner)
    assert s["state"] == "STALLED" and s["apply_errors"] > 0
    assert s["last_error"] is not None and s["last_error"]["seen_seconds_ago"] >= 0, s
    text = cl.pgmm("status").stdout
    line = [l for l in text.splitlines() if l.strip().startswith("%s <- %s" % (victim, owner))][0]
    assert "STALLED" in line and "FAILING NOW" in line and "server log" in line, line
    # the other subscriptions are fine
    assert all(x["state"] != "STALLED" for x in st["subscriptions"] if x is not s and x["name"] != s["name"])
    # repair, then writers on every master
    cl.sql(victim, "SET session_replication_role = replica; DELETE FROM conf WHERE id = %d" % key)
    wait_until(lambda: cl.sql(victim, "SELECT v FROM conf WHERE id = %d" % key) == "owner",
               timeout=60, what="the owner's row to arrive after the repair")
    stop = threading.Event()

    def writer(node):
        while not stop.is_set():
            cl.sql(node, "INSERT INTO conf (v) SELECT 'w' FROM generate_series(1, 200)", check=False)

    threads = [threading.Thread(target=writer, args=(n,)) for n in cl.names]
    for t in threads:
        t.start()
    try:
        time.sleep(2)
        for _ in range(3):
            st = json.loads(cl.pgmm("status", "--json").stdout)
            assert all(x["state"] != "STALLED" for x in st["subscriptions"]), st["subscriptions"]
            s = sub_of(st, victim, owner)
            assert s["apply_errors"] > 0 and s["new_apply_errors"] == 0, s
        text = cl.pgmm("status").stdout
        assert "STALLED" not in text and "(none now)" in text, text
    finally:
        stop.set()
        for t in threads:
            t.join()
    cl.wait_converged()
