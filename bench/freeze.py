#!/usr/bin/env python3
"""bench/freeze.py -- the freeze window of `pgmm ddl` ADD COLUMN / DROP
COLUMN under load (run by bench/freeze.sh inside scripts/cluster.sh run).

Per master: one writer through libpgmm (the Python binding, keyless INSERT,
autocommit) and one plain-SQL writer (libpq through ctypes, INSERT whose key
DEFAULT draws an owned ID).  For each ddl it reports:
  admin     the time the tables were frozen, as `pgmm ddl` reports it
            (freeze committed .. unfreeze committed, catch-up included);
  refused   plain SQL: first to last PM006 refusal on one master (max over
            masters) plus one retry interval;
  paused    libpgmm: the longest time one writer went without a successful
            INSERT while the ddl ran (max over writers): the router waited
            the freeze out, so this is the pause an application sees.
Medians over RUNS runs.  Not a test: nothing asserts a time.
"""
import ctypes
import ctypes.util
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid

top = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
build = os.environ.get("PGMM_BUILD", os.path.join(top, "build"))
os.environ.setdefault("PGMM_LIBRARY", os.path.join(build, ".libs", "libpgmm.so"))
sys.path.insert(0, os.path.join(top, "bindings", "python"))
import pgmm as binding  # noqa: E402

PGMM = os.path.join(build, "tools", "pgmm")
runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5

pq = ctypes.CDLL(ctypes.util.find_library("pq") or "libpq.so.5")
pq.PQconnectdb.restype = ctypes.c_void_p
pq.PQconnectdb.argtypes = [ctypes.c_char_p]
pq.PQexec.restype = ctypes.c_void_p
pq.PQexec.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
pq.PQresultStatus.argtypes = [ctypes.c_void_p]
pq.PQresultErrorField.restype = ctypes.c_char_p
pq.PQresultErrorField.argtypes = [ctypes.c_void_p, ctypes.c_int]
pq.PQclear.argtypes = [ctypes.c_void_p]
pq.PQfinish.argtypes = [ctypes.c_void_p]
PGRES_COMMAND_OK, PG_DIAG_SQLSTATE = 1, ord("C")


def nodes():
    out = []
    with open(os.environ["PGMM_NODES_FILE"]) as f:
        for line in f:
            if line.strip():
                name, ci = line.rstrip("\n").split("\t", 1)
                out.append((name, ci))
    return out


def psql(ci, sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", ci, "-c", sql],
                   check=True, capture_output=True)


def pgmm(ci, *args):
    p = subprocess.run([PGMM, "-d", ci, *args], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("pgmm %s failed: %s" % (" ".join(args), p.stderr))
    return p.stdout + p.stderr


class Writer(threading.Thread):
    def __init__(self, kind, ci):
        super().__init__(daemon=True)
        self.kind, self.ci = kind, ci
        self.stop = threading.Event()
        self.log = []           # (start, end, sqlstate or None)
        self.failed = 0

    def run(self):
        sql = "INSERT INTO expedientes (estado, titulo) VALUES (1, 'bench')"
        if self.kind == "libpgmm":
            conn = binding.connect(self.ci + " pgmm_freeze_wait=20000", autocommit=True)
            cur = conn.cursor()
            while not self.stop.is_set():
                t = time.monotonic()
                try:
                    cur.execute(sql)
                    st = None
                except binding.Error as e:
                    st = getattr(e, "sqlstate", "?")
                    self.failed += 1
                self.log.append((t, time.monotonic(), st))
            conn.close()
        else:
            c = pq.PQconnectdb(self.ci.encode())
            while not self.stop.is_set():
                t = time.monotonic()
                r = pq.PQexec(c, sql.encode())
                st = None
                if pq.PQresultStatus(r) != PGRES_COMMAND_OK:
                    st = (pq.PQresultErrorField(r, PG_DIAG_SQLSTATE) or b"?").decode()
                    self.failed += st != "PM006"
                pq.PQclear(r)
                self.log.append((t, time.monotonic(), st))
                if st:
                    time.sleep(0.005)
            pq.PQfinish(c)


def main():
    ns = nodes()
    db = "bench_" + uuid.uuid4().hex[:8]
    for _, ci in ns:
        psql(ci, "CREATE DATABASE " + db)
    cis = [(n, ci + " dbname=" + db) for n, ci in ns]
    home = cis[0][1]
    args = ["init"]
    for n, ci in cis:
        args += ["--node", "%s=%s" % (n, ci)]
    subprocess.run([PGMM, *args], check=True, capture_output=True)
    pgmm(home, "ddl", "CREATE TABLE expedientes (id int PRIMARY KEY, estado int NOT NULL, titulo text)")
    pgmm(home, "distribute", "expedientes", "id", "--shards", "8")
    writers = [Writer(k, ci) for _, ci in cis for k in ("libpgmm", "plain")]
    for w in writers:
        w.start()
    time.sleep(1)
    spans = []
    for i in range(runs):
        for op, body in (("ADD", "ALTER TABLE expedientes ADD COLUMN c%d int DEFAULT 1" % i),
                         ("DROP", "ALTER TABLE expedientes DROP COLUMN c%d" % i)):
            t0 = time.monotonic()
            out = pgmm(home, "ddl", body)
            t1 = time.monotonic()
            m = re.search(r"frozen for (\d+) ms", out)
            spans.append((op, t0, t1, int(m.group(1)) if m else float("nan")))
            time.sleep(0.5)
    alive = sum(w.is_alive() for w in writers)
    for w in writers:
        w.stop.set()
    for w in writers:
        w.join(30)
    # Measured once every writer has stopped: a statement the router held
    # through the freeze is logged only when it returns, after the ddl.
    res = {"ADD": [], "DROP": []}
    for op, t0, t1, admin in spans:
        refused = 0.0
        paused = 0.0
        for w in writers:
            during = [x for x in w.log if x[1] >= t0 and x[0] <= t1]
            if w.kind == "plain":
                ref = [x for x in during if x[2] == "PM006"]
                if ref:
                    refused = max(refused, (ref[-1][1] - ref[0][0]) * 1000 + 5)
            else:
                # successes bracketing the ddl: the last one before it,
                # those during it, the first one after it
                ends = [x[1] for x in w.log if x[2] is None]
                before = [e for e in ends if e < t0][-1:]
                after = [e for e in ends if e > t1][:1]
                pts = before + [e for e in ends if t0 <= e <= t1] + after
                if len(pts) > 1:
                    paused = max(paused, max(b - a for a, b in zip(pts, pts[1:])) * 1000)
        res[op].append((admin, refused, paused, (t1 - t0) * 1000))
    fails = sum(w.failed for w in writers)
    rows = sum(len(w.log) for w in writers)
    print("freeze window of pgmm ddl under load: 3 masters, 3 libpgmm + 3 plain-SQL writers, "
          "%d runs, medians in ms" % runs)
    print("%-5s %10s %12s %12s %10s" % ("op", "admin", "refused", "paused", "ddl"))
    for op in ("ADD", "DROP"):
        col = list(zip(*res[op]))
        print("%-5s %10.0f %12.0f %12.0f %10.0f" % (op, *(statistics.median(c) for c in col)))
    print("statements: %d (libpgmm %d, plain %d), failed (other than plain SQL's PM006): %d, "
          "writers still running at the end: %d of %d"
          % (rows, sum(len(w.log) for w in writers if w.kind == "libpgmm"),
             sum(len(w.log) for w in writers if w.kind == "plain"), fails, alive, len(writers)))
    v = subprocess.run([PGMM, "-d", home, "verify"], capture_output=True, text=True)
    deadline = time.time() + 60
    while v.returncode != 0 and time.time() < deadline:
        time.sleep(1)
        v = subprocess.run([PGMM, "-d", home, "verify"], capture_output=True, text=True)
    print("verify:", "clean" if v.returncode == 0 else "NOT clean: " + v.stdout + v.stderr)
    subprocess.run([PGMM, "-d", home, "uninstall"], capture_output=True)
    for _, ci in ns:
        subprocess.run(["psql", "-X", "-q", "-d", ci, "-c", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % db],
                       capture_output=True)


main()
