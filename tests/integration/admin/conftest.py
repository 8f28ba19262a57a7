"""Fixtures for the admin integration tests.

They run against real PostgreSQL masters started by scripts/cluster.sh
(`scripts/cluster.sh run -- pytest ...` exports PGMM_NODES_FILE and
PGMM_CLUSTER_DIR).  Every test gets its own database on every master, so
tests never see each other's catalog, subscriptions or rows.
"""
import os
import re
import subprocess
import time
import uuid

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
PGMM = os.environ.get("PGMM_BIN", os.path.join(ROOT, "tools", "pgmm"))
CLUSTER_SH = os.path.join(ROOT, "scripts", "cluster.sh")


def read_nodes():
    path = os.environ.get("PGMM_NODES_FILE")
    if not path:
        pytest.exit("PGMM_NODES_FILE is not set: run the tests inside scripts/cluster.sh run", 2)
    nodes = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                name, conninfo = line.split("\t", 1)
                nodes.append((name, conninfo))
    return nodes


def with_db(conninfo, db):
    if re.search(r"\bdbname=\S+", conninfo):
        return re.sub(r"\bdbname=\S+", "dbname=" + db, conninfo)
    return conninfo + " dbname=" + db


class SQLError(Exception):
    def __init__(self, stderr):
        super().__init__(stderr)
        self.stderr = stderr


def psql(conninfo, sql, check=True):
    """Run sql through psql; return stdout (unaligned, tuples only)."""
    p = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
                        "-v", "VERBOSITY=verbose", "-d", conninfo, "-c", sql],
                       capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise SQLError(p.stderr)
    if not check:
        return p
    return p.stdout.strip()


def pgmm(*args, check=True, env=None):
    p = subprocess.run([PGMM, *args], capture_output=True, text=True, timeout=300, env=env)
    if check and p.returncode != 0:
        raise AssertionError("pgmm %s failed (%d):\n%s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p


def wait_until(fn, timeout=30.0, interval=0.2, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.0fs waiting for %s (last: %r)" % (timeout, what, last))


class Cluster:
    """One test's database on every master."""

    def __init__(self, db, nodes):
        self.db = db
        self.names = [n for n, _ in nodes]
        self.conninfo = {n: with_db(c, db) for n, c in nodes}
        self.server_conninfo = dict(nodes)

    def sql(self, node, query, check=True):
        return psql(self.conninfo[node], query, check=check)

    def all(self, query):
        return {n: self.sql(n, query) for n in self.names}

    def init(self, names=None, extra=(), suffix="", check=True):
        args = ["init"]
        for n in names or self.names:
            args += ["--node", "%s=%s%s" % (n, self.conninfo[n], suffix)]
        return pgmm(*args, *extra, check=check)

    def pgmm(self, *args, node=None, check=True):
        return pgmm("-d", self.conninfo[node or self.names[0]], *args, check=check)

    def stop_node(self, name):
        subprocess.run([CLUSTER_SH, "stop-node", name, "-d", os.environ["PGMM_CLUSTER_DIR"]],
                       check=True, capture_output=True, timeout=120)

    def start_node(self, name):
        subprocess.run([CLUSTER_SH, "start-node", name, "-d", os.environ["PGMM_CLUSTER_DIR"]],
                       check=True, capture_output=True, timeout=120)

    def wait_converged(self, timeout=60):
        """Until `pgmm verify` finds every pgmm table identical everywhere."""
        def ok():
            p = self.pgmm("verify", check=False)
            return p.returncode == 0 and p.stdout
        return wait_until(ok, timeout=timeout, what="masters to converge")


@pytest.fixture(scope="session")
def nodes():
    return read_nodes()


@pytest.fixture
def cluster(nodes):
    db = "t_" + uuid.uuid4().hex[:12]
    for _, c in nodes:
        psql(c, "CREATE DATABASE %s" % db)
    cl = Cluster(db, nodes)
    yield cl
    # Remove pgmm (subscriptions hold slots and block DROP DATABASE), then
    # the database; make sure every master is running first.
    for n in cl.names:
        try:
            cl.start_node(n)
        except Exception:
            pass
    # A prepared transaction left by a failed test holds locks (uninstall
    # would wait for them) and blocks DROP DATABASE: roll it back first.
    for n, c in nodes:
        try:
            for g in psql(with_db(c, db), "SELECT gid FROM pg_prepared_xacts "
                          "WHERE database = current_database()").split("\n"):
                if g:
                    psql(with_db(c, db), "ROLLBACK PREPARED '%s'" % g.replace("'", "''"), check=False)
        except Exception:
            pass
    # Through the first master that takes it: one that was failed over
    # refuses to be the -d master.
    for n in cl.names:
        if cl.pgmm("uninstall", node=n, check=False).returncode == 0:
            break
    for n, c in nodes:
        # A subscription left behind (e.g. by a test that broke init on
        # purpose) would block DROP DATABASE: detach and drop it.
        try:
            subs = psql(with_db(c, db), "SELECT subname FROM pg_subscription s JOIN pg_database d "
                        "ON d.oid = s.subdbid WHERE d.datname = current_database()").split()
            for s in subs:
                psql(with_db(c, db), "ALTER SUBSCRIPTION %s DISABLE" % s, check=False)
                psql(with_db(c, db), "ALTER SUBSCRIPTION %s SET (slot_name = NONE)" % s, check=False)
                psql(with_db(c, db), "DROP SUBSCRIPTION %s" % s, check=False)
            psql(c, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                    "WHERE database = '%s' AND NOT active" % db, check=False)
            psql(c, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % db, check=False)
        except Exception:
            pass


# Measured figures a test wants in CI's output (pytest -q hides print()):
# report("...") prints them at the end of the run.
_REPORT = []


def report(line):
    _REPORT.append(line)
    print(line)


def pytest_terminal_summary(terminalreporter):
    for line in _REPORT:
        terminalreporter.write_line("report: " + line)
