"""pgmm ddl on a replicated table while rows are being written (issue #8).

Before the freeze, the COMMIT PREPAREDs of a DDL reached the masters one
after the other: a master that had already dropped a column received rows
written a moment earlier on another master with that column, and its apply
worker failed for ever ("logical replication target relation ... is
missing replicated column").  Now `pgmm ddl` freezes the table on every
master (writes refused with PM006), waits for every subscription to catch
up, commits the DDL everywhere, then unfreezes.

Writers: one through libpgmm (the Python binding) per master, which must
never fail (the router waits a freeze out), and one plain-SQL session per
master (psql), which may only see the retryable PM006.
"""
import os
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT, wait_until
from test_admin import setup_notes

sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))


def _libpgmm():
    build = os.environ.get("PGMM_BUILD", os.path.join(ROOT, "build"))
    path = os.environ.get("PGMM_LIBRARY") or os.path.join(build, ".libs", "libpgmm.so")
    if not os.path.exists(path):
        pytest.fail("libpgmm not found at %s (set PGMM_BUILD or PGMM_LIBRARY)" % path)
    os.environ["PGMM_LIBRARY"] = path
    import pgmm as binding
    return binding


class LibpgmmWriter(threading.Thread):
    """Keyless INSERTs through libpgmm, autocommit, until stopped."""

    def __init__(self, binding, conninfo, tag, in_txn=False):
        super().__init__(daemon=True)
        self.conn = binding.connect(conninfo + " pgmm_freeze_wait=20000", autocommit=not in_txn)
        self.tag = tag
        self.in_txn = in_txn
        self.stop = threading.Event()
        self.ok = 0
        self.errors = []

    def statement(self):
        """The INSERT and its parameters (subclasses write elsewhere)."""
        return "INSERT INTO expedientes (estado, titulo) VALUES (1, %s)", (self.tag,)

    def run(self):
        cur = self.conn.cursor()
        while not self.stop.is_set():
            try:
                cur.execute(*self.statement())
                if self.in_txn:
                    # The INSERT was the first statement of a deferred
                    # transaction: a freeze is waited out there too.
                    cur.execute("SELECT 1")
                    self.conn.commit()
                self.ok += 1
            except Exception as e:  # every failure is a test failure
                self.errors.append("%s: %s" % (getattr(e, "sqlstate", "?"), e))
                if self.in_txn:
                    self.conn.rollback()
                time.sleep(0.01)
        self.conn.close()


class PlainWriter:
    """A psql session on one master inserting rows into the shards it owns
    (the key's DEFAULT draws an owned ID), with errors printed verbosely."""

    def __init__(self, conninfo, tag, n=4000):
        script = "\\set ON_ERROR_STOP 0\n\\set VERBOSITY verbose\n" + \
            ("INSERT INTO expedientes (estado, titulo) VALUES (1, '%s'); SELECT pg_sleep(0.002);\n" % tag) * n
        self.p = subprocess.Popen(["psql", "-X", "-q", "-A", "-t", "-d", conninfo],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        self.out = []
        self.t = threading.Thread(target=self._feed, args=(script,), daemon=True)
        self.t.start()

    def _feed(self, script):
        _, err = self.p.communicate(script, timeout=600)
        self.out.append(err)

    def stop(self):
        try:
            self.p.terminate()
        except OSError:
            pass
        self.t.join(60)
        return "".join(self.out)


def error_lines(stderr):
    return [l for l in stderr.splitlines() if l.startswith("ERROR:") or l.startswith("psql:")
            and "ERROR:" in l]


def test_add_and_drop_column_under_load(cluster):
    cl = cluster
    binding = _libpgmm()
    setup_notes(cl, shards=8)
    writers = [LibpgmmWriter(binding, cl.conninfo[n], "lib-" + n) for n in cl.names]
    writers.append(LibpgmmWriter(binding, cl.conninfo[cl.names[1]], "libtx", in_txn=True))
    for w in writers:
        w.start()
    plain = [PlainWriter(cl.conninfo[n], "sql-" + n) for n in cl.names]
    try:
        wait_until(lambda: all(w.ok > 50 for w in writers), what="the libpgmm writers to run")
        out = cl.pgmm("ddl", "ALTER TABLE expedientes ADD COLUMN nota int DEFAULT 7")
        assert "froze public.expedientes" in out.stdout + out.stderr
        time.sleep(0.5)
        cl.pgmm("ddl", "ALTER TABLE expedientes DROP COLUMN nota")
        time.sleep(0.5)
        cl.pgmm("ddl", "ALTER TABLE expedientes ADD COLUMN nota2 text DEFAULT 'x'")
        time.sleep(0.5)
        cl.pgmm("ddl", "ALTER TABLE expedientes DROP COLUMN nota2")
        time.sleep(0.5)
    finally:
        for w in writers:
            w.stop.set()
        for w in writers:
            w.join(60)
        plain_err = [p.stop() for p in plain]
    for w in writers:
        assert w.errors == [], "libpgmm writer %s failed: %s" % (w.tag, w.errors[:5])
        assert w.ok > 0
    for n, err in zip(cl.names, plain_err):
        errs = [l for l in err.splitlines() if "ERROR" in l]
        bad = [l for l in errs if "PM006" not in l]
        assert bad == [], "plain SQL on %s saw other errors than PM006: %s" % (n, bad[:5])
        for l in errs:
            assert "frozen by a catalog change in progress" in l and "pgmm ddl: ALTER TABLE expedientes" in l, l
    # Replication converges: verify clean, the same rows everywhere, every
    # subscription running, nothing frozen, the column gone everywhere.
    cl.wait_converged(timeout=90)
    counts = cl.all("SELECT count(*) FROM expedientes")
    assert len(set(counts.values())) == 1, counts
    assert int(counts[cl.names[0]]) > 100
    for n in cl.names:
        assert cl.sql(n, "SELECT count(*) FROM pgmm.tables WHERE frozen") == "0"
        assert cl.sql(n, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'expedientes' "
                         "AND column_name IN ('nota', 'nota2')") == "0"
        assert cl.sql(n, "SELECT count(*) FROM pg_stat_subscription WHERE relid IS NULL AND pid IS NOT NULL") == \
            str(len(cl.names) - 1)


def test_ddl_fails_when_a_master_cannot_catch_up(cluster):
    cl = cluster
    setup_notes(cl, shards=4)
    lagging = cl.names[1]
    sub = "pgmm_%s__%s" % (cl.names[0], lagging)
    cl.sql(cl.names[0], "INSERT INTO expedientes (estado, titulo) SELECT 1, 'a' FROM generate_series(1, 3)")
    cl.sql(lagging, "ALTER SUBSCRIPTION %s DISABLE" % sub)
    try:
        epoch = cl.sql(cl.names[0], "SELECT epoch FROM pgmm.cluster")
        t0 = time.time()
        p = cl.pgmm("ddl", "ALTER TABLE expedientes ADD COLUMN nota int", "--catchup-wait", "2", check=False)
        took = time.time() - t0
        assert p.returncode != 0
        assert sub in p.stderr and "has not applied" in p.stderr and "disabled" in p.stderr, p.stderr
        assert "unfrozen again, the DDL was not applied" in p.stderr, p.stderr
        assert took < 30, took
        for n in cl.names:
            assert cl.sql(n, "SELECT count(*) FROM pgmm.tables WHERE frozen") == "0"
            assert cl.sql(n, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'expedientes' "
                             "AND column_name = 'nota'") == "0"
        # Freeze and unfreeze committed; nothing else changed.
        assert int(cl.sql(cl.names[0], "SELECT epoch FROM pgmm.cluster")) == int(epoch) + 2
        # Writes work again at once on the owner (the table is unfrozen).
        cl.sql(cl.names[0], "INSERT INTO expedientes (estado, titulo) VALUES (1, 'after')")
    finally:
        cl.sql(lagging, "ALTER SUBSCRIPTION %s ENABLE" % sub)
    cl.wait_converged(timeout=60)
    cl.pgmm("ddl", "ALTER TABLE expedientes ADD COLUMN nota int")
    for n in cl.names:
        assert cl.sql(n, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'expedientes' "
                         "AND column_name = 'nota'") == "1"
