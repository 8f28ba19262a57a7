"""High availability under load: kill -9 of a master's postmaster while
writers run, `pgmm failover`, writers go on (issue 9).

Writers are real processes (tests/integration/tools/pgmm_writer): four
through libpgmm (IDs from pgmm_next_id, routed to the owner of each ID's
shard; two of them have the killed master as home) and two through plain
libpq straight to a surviving master (IDs from the server's DEFAULT).  Each
logs every statement, flushed before the next one, so what was
acknowledged is known exactly.

Also here: `pgmm durability` (bad input refused with nothing changed;
status shows the mode and commits waiting for a subscriber) and a
failover while a transaction is bound to the dead master.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import PGMM, ROOT, psql, pgmm, report, wait_until

BUILD = os.environ.get("PGMM_BUILD", os.path.join(ROOT, "build"))
WRITER = os.path.join(BUILD, "tests", "integration", "tools", "pgmm_writer")
SHARDS = 12
# The writers' libpgmm options: a master that does not answer is given up
# after 2 s (a killed postmaster refuses connections at once anyway).
ROUTER_OPTS = " pgmm_timeout=2000 pgmm_reconnect_interval=500"


def postmaster_pid(name):
    with open(os.path.join(os.environ["PGMM_CLUSTER_DIR"], name, "data", "postmaster.pid")) as f:
        return int(f.readline())


def have_failover_command():
    p = subprocess.run([PGMM, "--help"], capture_output=True, text=True)
    return " failover " in p.stdout


def reset_sync_names(cl, survivor=None):
    """synchronous_standby_names is per server, not per database: never
    leave it set for the next test (best effort: a master may be down).
    After a failover, uninstall through a survivor first: the fixture's
    uninstall goes through the first master, the failed one."""
    if survivor:
        cl.pgmm("uninstall", node=survivor, check=False)
    for n in cl.names:
        # a killed master comes back first (its commits would wait for
        # subscribers that are gone: the fixture's DROP DATABASE would hang)
        try:
            cl.start_node(n)
        except Exception:
            pass
        srv = cl.server_conninfo[n]
        psql(srv, "ALTER SYSTEM RESET synchronous_standby_names", check=False)
        psql(srv, "SELECT pg_reload_conf()", check=False)


def make_table(cl):
    cl.init()
    cl.pgmm("ddl", "CREATE TABLE ha (id bigint PRIMARY KEY, writer text NOT NULL, at timestamptz NOT NULL)")
    cl.pgmm("distribute", "ha", "id", "--shards", str(SHARDS))


def shard_owners(cl, node):
    rows = cl.sql(node, "SELECT s.remainder, s.owner FROM pgmm.shards s JOIN pgmm.tables t "
                        "ON t.colocation = s.colocation WHERE t.table_name = 'ha'")
    return {int(r.split("|")[0]): r.split("|")[1] for r in rows.split("\n") if r}


def remainders(cl, node, ids):
    """The shard remainder of each id, computed by the server's own hash."""
    if not ids:
        return {}
    script = ("CREATE TEMP TABLE ids (id bigint);\n"
              "COPY ids FROM STDIN;\n" + "\n".join(str(i) for i in ids) + "\n\\.\n"
              "SELECT id, pgmm.int_remainder(id, %d) FROM ids;\n" % SHARDS)
    p = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", cl.conninfo[node]],
                       input=script, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    out = {}
    for line in p.stdout.split("\n"):
        if "|" in line:
            a, b = line.split("|")
            out[int(a)] = int(b)
    return out


class Attempt:
    __slots__ = ("ok", "id", "start", "ms", "state", "node", "writer", "kind")

    def __init__(self, line, writer, kind):
        f = line.split()
        self.ok = f[0] == "ok"
        self.id = int(f[1])
        self.start = int(f[2]) / 1000.0
        self.ms = float(f[3])
        self.state = None if self.ok else f[4]
        self.node = f[4] if self.ok else f[5]
        self.writer = writer
        self.kind = kind


class Writers:
    def __init__(self, cl, dead, survivors, tmp):
        self.tmp = tmp
        self.stop = os.path.join(tmp, "stop")
        self.procs = []
        self.logs = []
        homes = [dead, dead] + survivors
        for k, home in enumerate(homes[:4]):
            self._start("libpgmm", cl.conninfo[home] + ROUTER_OPTS, "lib%d" % k)
        for k, s in enumerate(survivors[:2]):
            self._start("sql", cl.conninfo[s], "sql%d" % k)

    def _start(self, kind, conninfo, name):
        log = os.path.join(self.tmp, name + ".log")
        # a short pause between statements leaves CPU to the masters (2 cores)
        p = subprocess.Popen([WRITER, kind, conninfo, "ha", name, log, self.stop, "3000", "300"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        self.logs.append((log, name, kind))

    def finish(self):
        open(self.stop, "w").close()
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for p in self.procs:
            assert p.returncode == 0, p.stderr.read()

    def attempts(self):
        out = []
        for log, name, kind in self.logs:
            if os.path.exists(log):
                with open(log) as f:
                    for line in f:
                        if line.strip():
                            out.append(Attempt(line, name, kind))
        return out

    def kill(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()


def acked_count(writers):
    return sum(1 for a in writers.attempts() if a.ok)


# ---------------------------------------------------------------- failover

def simulated_failover(cl, dead, survivors):
    """What `pgmm failover` does, by hand, until that command exists:
    survivors stop subscribing to the dead master, their copies of its
    shards are made equal (rows are insert-only here: the union), the shards
    get new owners among the survivors, the dead master is marked
    not active, the epoch is bumped and pgmm.sync_local() run on every
    survivor; the table is frozen until the survivors' subscriptions picked
    the new owners' publications up."""
    for s in survivors:
        sub = "pgmm_%s__%s" % (dead, s)
        cl.sql(s, "ALTER SUBSCRIPTION %s DISABLE" % sub)
        cl.sql(s, "ALTER SUBSCRIPTION %s SET (slot_name = NONE)" % sub)
        cl.sql(s, "DROP SUBSCRIPTION %s" % sub)
    owners = shard_owners(cl, survivors[0])
    moved = sorted(r for r, o in owners.items() if o == dead)
    parts = {}
    for line in cl.sql(survivors[0], "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
                                     "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'ha'::regclass").split("\n"):
        name, bound = line.split("|")
        parts[int(bound.split("remainder")[1].strip(" )"))] = name
    for r in moved:
        rows = {}
        for s in survivors:
            rows[s] = {l.split("|")[0]: l for l in cl.sql(s, "SELECT id, writer, at FROM %s" % parts[r]).split("\n") if l}
        union = {}
        for s in survivors:
            union.update(rows[s])
        for s in survivors:
            missing = [union[k] for k in union if k not in rows[s]]
            if missing:
                values = ", ".join("(%s, '%s', '%s')" % tuple(m.split("|")) for m in missing)
                cl.sql(s, "SET session_replication_role = replica; INSERT INTO %s VALUES %s" % (parts[r], values))
    assign = ", ".join("(%d, '%s')" % (r, survivors[k % len(survivors)]) for k, r in enumerate(moved))
    flip = ("BEGIN; "
            "UPDATE pgmm.shards s SET owner = v.o FROM (VALUES %s) v(r, o), pgmm.tables t "
            "WHERE t.table_name = 'ha' AND s.colocation = t.colocation AND s.remainder = v.r; "
            "UPDATE pgmm.tables SET frozen = true, frozen_reason = 'failover of %s'; "
            "UPDATE pgmm.nodes SET state = 'disabled' WHERE name = '%s'; "
            "UPDATE pgmm.cluster SET epoch = epoch + 1; SELECT pgmm.sync_local(); COMMIT" % (assign, dead, dead))
    for s in survivors:
        cl.sql(s, flip)
    for s in survivors:
        for p in survivors:
            if p != s:
                cl.sql(s, "ALTER SUBSCRIPTION pgmm_%s__%s REFRESH PUBLICATION WITH (copy_data = false)" % (p, s))
    for s in survivors:
        cl.sql(s, "BEGIN; UPDATE pgmm.tables SET frozen = false, frozen_reason = NULL; "
                  "UPDATE pgmm.cluster SET epoch = epoch + 1; SELECT pgmm.sync_local(); COMMIT")


def failover(cl, dead, survivors):
    if have_failover_command():
        p = cl.pgmm("failover", dead, node=survivors[0])
        return p.stdout + p.stderr
    simulated_failover(cl, dead, survivors)
    return "(simulated)"


def converged(cl, survivors):
    """Every survivor has the same rows (pgmm verify when the failover
    command exists: it leaves the failed master out)."""
    if have_failover_command():
        def clean():
            p = cl.pgmm("verify", node=survivors[0], check=False)
            return p.returncode == 0 and p.stdout
        wait_until(clean, timeout=90, what="`pgmm verify` to be clean")
    def same():
        sets = [cl.sql(s, "SELECT count(*), coalesce(sum(id), 0) FROM ha") for s in survivors]
        return len(set(sets)) == 1 and sets
    wait_until(same, timeout=90, what="the survivors to converge")


# ---------------------------------------------------------------- the run

def run_kill_under_load(cl, zero_loss):
    names = sorted(cl.names)
    dead, survivors = names[0], names[1:]
    make_table(cl)
    if zero_loss:
        cl.pgmm("durability", "any", "1")
        for n in names:
            assert cl.sql(n, "SHOW synchronous_standby_names").startswith("ANY 1 ("), n
    owners = shard_owners(cl, survivors[0])
    tmp = tempfile.mkdtemp(prefix="pgmm_ha_")
    w = Writers(cl, dead, survivors, tmp)
    try:
        wait_until(lambda: acked_count(w) >= 300, timeout=60, what="the writers to get going")
        t_kill = time.time()
        os.kill(postmaster_pid(dead), signal.SIGKILL)
        time.sleep(2.0)                 # the outage: nobody has taken over yet
        t_fo = time.time()
        out = failover(cl, dead, survivors)
        t_fo_end = time.time()
        print("failover took %.2f s: %s" % (t_fo_end - t_fo, out.strip()))
        time.sleep(3.0)
    finally:
        w.finish()
    att = w.attempts()
    shutil.rmtree(tmp, ignore_errors=True)
    lib_ids = [a.id for a in att if a.id]
    rem = remainders(cl, survivors[0], lib_ids)

    def needs_dead(a):
        return a.kind == "libpgmm" and a.id and owners[rem[a.id]] == dead

    # 1. The outage: writes for the live masters' shards kept succeeding.
    outage = [a for a in att if t_kill <= a.start < t_fo]
    live = [a for a in outage if a.id == 0 and a.kind == "sql" or (a.id and not needs_dead(a))]
    ok_live = sum(1 for a in live if a.ok)
    assert len(live) >= 50, "too few writes during the outage: %d" % len(live)
    assert ok_live >= 0.99 * len(live), \
        "only %d of %d writes for live masters' shards succeeded during the outage: %s" % (
            ok_live, len(live), sorted({(a.writer, a.state) for a in live if not a.ok}))
    unknown = [a for a in outage if a.kind == "libpgmm" and a.id == 0]
    assert len(unknown) <= 4, "pgmm_next_id failed %d times during the outage" % len(unknown)
    # 2. Statements needing the dead master failed at once with PM005 (a
    # statement in flight at the kill may fail otherwise: 08006).
    dead_att = [a for a in outage if needs_dead(a)]
    assert dead_att, "no statement needed the dead master"
    # (its backends outlive the postmaster for a moment: a statement sent
    # just after the kill may still commit there)
    late = [a for a in dead_att if a.start >= t_kill + 0.5]
    assert not any(a.ok for a in late), "a write to the dead master succeeded"
    bad = [(a.writer, a.state, a.ms) for a in late if a.state != "PM005" or a.ms > 1000]
    assert not bad, "statements needing the dead master did not fail at once with PM005: %s" % bad[:10]
    slowest = max(a.ms for a in dead_att)
    # 3. After the failover the dead master's shards take writes again (one
    # refresh: at most one pgmm_reconnect_interval after the change).
    after = [a for a in att if a.start >= t_fo_end + 1.0]
    moved_after = [a for a in after if needs_dead(a)]
    assert len(moved_after) >= 10, "too few writes for the moved shards after failover: %d" % len(moved_after)
    bad = [(a.writer, a.state) for a in moved_after if not a.ok]
    assert not bad, "writes for the moved shards failed after failover: %s" % bad[:10]
    ok_after = sum(1 for a in after if a.ok)
    assert ok_after >= 0.99 * len(after), "after failover only %d of %d writes succeeded" % (ok_after, len(after))
    first_moved = min((a.start for a in att if needs_dead(a) and a.ok and a.start >= t_fo), default=None)
    # 4. No ID repeats.
    acked = [a.id for a in att if a.ok]
    assert len(acked) == len(set(acked)), "an ID was acknowledged twice"
    assert not [a for a in att if a.state == "23505"], "a duplicate key was drawn"
    # 5. Every survivor converges.
    converged(cl, survivors)
    # 6. Acknowledged rows lost: present on no survivor.
    present = set()
    for s in survivors:
        present |= {int(x) for x in cl.sql(s, "SELECT id FROM ha").split()}
    lost = [i for i in acked if i not in present]
    report("kill -9 under load: acknowledged rows: %d, lost: %d (durability %s); outage: %d writes for live shards, %d ok; "
          "%d statements needed the dead master, slowest %.0f ms; first write of a moved shard %.2f s after "
          "the kill" % (len(acked), len(lost), "any 1" if zero_loss else "off", len(live), ok_live,
                        len(dead_att), slowest, (first_moved - t_kill) if first_moved else -1))
    return lost, len(acked)


def test_kill_under_load_async(cluster):
    cl = cluster
    try:
        lost, acked = run_kill_under_load(cl, zero_loss=False)
        # async: only commits the dead master had not sent yet can be lost
        assert len(lost) < acked
    finally:
        reset_sync_names(cl, sorted(cl.names)[1])


def test_kill_under_load_zero_loss(cluster):
    cl = cluster
    try:
        lost, acked = run_kill_under_load(cl, zero_loss=True)
        assert not lost, "durability any 1 lost %d acknowledged rows: %s" % (len(lost), lost[:20])
    finally:
        reset_sync_names(cl, sorted(cl.names)[1])


# ---------------------------------------------------------------- durability

def test_durability_refusals_status_and_waiting(cluster):
    cl = cluster
    names = sorted(cl.names)
    cl.init()
    try:
        epoch = cl.sql(names[0], "SELECT epoch FROM pgmm.cluster")
        for args, msg in ((["any", "3"], "less than the number of masters (3)"),
                          (["any", "0"], "at least 1"),
                          (["any", "x"], "not a mode"),
                          (["sometimes"], "not a mode"),
                          (["any"], "not a mode"),
                          (["all", "now"], "not a mode")):
            p = cl.pgmm("durability", *args, check=False)
            assert p.returncode != 0, args
            assert msg in p.stderr and "nothing was changed" in p.stderr, (args, p.stderr)
        p = cl.pgmm("durability", check=False)
        assert p.returncode == 2 and "durability takes" in p.stderr, p.stderr
        for n in names:
            assert cl.sql(n, "SELECT epoch, durability FROM pgmm.cluster") == epoch + "|off", n
            assert cl.sql(n, "SHOW synchronous_standby_names") == "", n
        # all: each master waits for every other master's apply worker
        cl.pgmm("durability", "all")
        for n in names:
            others = ", ".join('"pgmm_%s__%s"' % (n, o) for o in names if o != n)
            assert cl.sql(n, "SHOW synchronous_standby_names") == "FIRST 2 (%s)" % others, n
            assert cl.sql(n, "SELECT durability FROM pgmm.cluster") == "all"
            subs = cl.sql(n, "SELECT subname || '=' || subsynccommit FROM pg_subscription s JOIN pg_database d "
                             "ON d.oid = s.subdbid WHERE d.datname = current_database() ORDER BY 1").split()
            assert subs and all(s.endswith("=local") for s in subs), subs
        st = cl.pgmm("status").stdout
        assert "durability: all" in st, st
        js = json.loads(cl.pgmm("status", "--json").stdout)
        assert js["durability"] == "all" and all(m["sync_waiting"] == 0 for m in js["masters"]), js
        cl.pgmm("ddl", "CREATE TABLE dw (id int PRIMARY KEY)")
        cl.pgmm("reference", "dw", "--owner", names[0])
        # commits still go through at once when every subscriber is there
        t0 = time.time()
        cl.sql(names[0], "INSERT INTO dw VALUES (1)")
        assert time.time() - t0 < 5
        # one subscriber stops: a commit on names[0] waits, and status says so
        cl.sql(names[1], "ALTER SUBSCRIPTION pgmm_%s__%s DISABLE" % (names[0], names[1]))
        ins = subprocess.Popen(["psql", "-X", "-q", "-d", cl.conninfo[names[0]], "-c", "INSERT INTO dw VALUES (2)"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_until(lambda: cl.sql(names[0], "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'") != "0",
                   what="a commit to wait for the stopped subscriber")
        st = cl.pgmm("status").stdout
        assert "1 commit WAITING for a subscriber" in st, st
        js = json.loads(cl.pgmm("status", "--json").stdout)
        assert [m["sync_waiting"] for m in js["masters"] if m["name"] == names[0]] == [1], js["masters"]
        assert ins.poll() is None, "the commit did not wait"
        cl.sql(names[1], "ALTER SUBSCRIPTION pgmm_%s__%s ENABLE" % (names[0], names[1]))
        assert ins.wait(timeout=60) == 0, ins.stderr.read()
        # any 1 with one subscriber stopped: no wait
        cl.pgmm("durability", "any", "1")
        cl.sql(names[1], "ALTER SUBSCRIPTION pgmm_%s__%s DISABLE" % (names[0], names[1]))
        t0 = time.time()
        cl.sql(names[0], "INSERT INTO dw VALUES (3)")
        assert time.time() - t0 < 5
        cl.sql(names[1], "ALTER SUBSCRIPTION pgmm_%s__%s ENABLE" % (names[0], names[1]))
        # off restores the defaults
        cl.pgmm("durability", "off")
        for n in names:
            assert cl.sql(n, "SHOW synchronous_standby_names") == "", n
            subs = cl.sql(n, "SELECT subsynccommit FROM pg_subscription s JOIN pg_database d "
                             "ON d.oid = s.subdbid WHERE d.datname = current_database()").split()
            assert subs and set(subs) == {"off"}, subs
        assert "durability: off" in cl.pgmm("status").stdout
        # uninstall resets a mode left on
        cl.pgmm("durability", "any", "2")
        assert cl.sql(names[2], "SHOW synchronous_standby_names").startswith("ANY 2 (")
        cl.pgmm("uninstall")
        for n in names:
            assert cl.sql(n, "SHOW synchronous_standby_names") == "", n
    finally:
        reset_sync_names(cl)


# ---------------------------------------------------------------- bound transaction

def test_failover_during_bound_transaction(cluster):
    """A transaction bound to the master that dies: the client gets an
    error, nothing is resent, nothing half-applied; after the failover the
    same connection writes that shard on its new owner."""
    cl = cluster
    names = sorted(cl.names)
    dead, survivors = names[0], names[1:]
    make_table(cl)
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    os.environ.setdefault("PGMM_LIBRARY", os.path.join(BUILD, ".libs", "libpgmm.so"))
    import pgmm as pg
    conn = pg.connect(cl.conninfo[survivors[0]] + ROUTER_OPTS)
    try:
        cur = conn.cursor()
        # Two keys the dead master owns: the transaction binds there.
        keys = [conn.next_id("ha", node=dead), conn.next_id("ha", node=dead)]
        assert all(conn.key_owner("ha", str(k)) == dead for k in keys)
        cur.execute("INSERT INTO ha (id, writer, at) VALUES (%s, 'txn', now())", (keys[0],))
        assert cur.lastnode == dead
        os.kill(postmaster_pid(dead), signal.SIGKILL)
        wait_until(lambda: subprocess.run(["pg_isready", "-d", cl.server_conninfo[dead]],
                                          capture_output=True).returncode != 0, what="the master to be gone")
        failover(cl, dead, survivors)
        t0 = time.time()
        with pytest.raises(pg.Error) as e:
            cur.execute("INSERT INTO ha (id, writer, at) VALUES (%s, 'txn', now())", (keys[1],))
        assert time.time() - t0 < 3, "the error was not immediate"
        assert getattr(e.value, "sqlstate", None) in ("PM005", "08006"), e.value
        with pytest.raises(pg.Error):
            conn.commit()           # nothing was committed, and COMMIT says so
        conn.rollback()
        # nothing of it on any survivor, nothing resent
        for s in survivors:
            assert cl.sql(s, "SELECT count(*) FROM ha WHERE writer = 'txn'") == "0", s
        # the same connection, after the transaction: the shard's new owner
        conn.autocommit = True
        ok = False
        deadline = time.time() + 5
        while time.time() < deadline and not ok:
            try:
                cur.execute("INSERT INTO ha (id, writer, at) VALUES (%s, 'after', now())", (keys[1],))
                ok = True
            except pg.Error:
                time.sleep(0.2)
        assert ok, "the moved shard never took the write"
        assert cur.lastnode in survivors, cur.lastnode
        converged(cl, survivors)
        for s in survivors:
            assert cl.sql(s, "SELECT writer FROM ha WHERE id = %d" % keys[1]) == "after"
            assert cl.sql(s, "SELECT count(*) FROM ha WHERE id = %d" % keys[0]) == "0"
        # The dead master restarts before pgmm fenced it (no pgmm command
        # ran since): it still has the catalog of before the failover, with
        # a lower epoch.  A client whose home it is loads the highest epoch
        # (cross-check with another active master) and never uses it.
        cl.start_node(dead)
        stale = int(cl.sql(dead, "SELECT epoch FROM pgmm.cluster"))
        live = int(cl.sql(survivors[0], "SELECT epoch FROM pgmm.cluster"))
        assert stale < live and cl.sql(dead, "SELECT state FROM pgmm.nodes WHERE name = '%s'" % dead) == "active"
        c2 = pg.connect(cl.conninfo[dead] + ROUTER_OPTS, autocommit=True)
        try:
            assert c2.map_epoch == live, (c2.map_epoch, live)
            cur2 = c2.cursor()
            cur2.execute("INSERT INTO ha (id, writer, at) VALUES (%s, 'stale-home', now())", (keys[0],))
            assert cur2.lastnode in survivors, cur2.lastnode
            cur2.execute("SELECT count(*) FROM ha")
            assert cur2.lastnode in survivors, cur2.lastnode
            k = c2.next_id("ha")
            cur2.execute("INSERT INTO ha (id, writer, at) VALUES (%s, 'stale-home', now())", (k,))
            assert cur2.lastnode in survivors, cur2.lastnode
        finally:
            c2.close()
        assert cl.sql(dead, "SELECT count(*) FROM ha WHERE writer = 'stale-home'") == "0"
        converged(cl, survivors)
        for s in survivors:
            assert cl.sql(s, "SELECT count(*) FROM ha WHERE writer = 'stale-home'") == "2", s
    finally:
        conn.close()
        reset_sync_names(cl, survivors[0])

