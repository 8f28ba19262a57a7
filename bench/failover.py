"""bench/failover.py -- run by bench/failover.sh inside scripts/cluster.sh run.

Per run, in a database of its own on the 3 masters:
  1. throughput: 4 writer processes through libpgmm (tests/integration/tools/
     pgmm_writer: pgmm_next_id + keyed INSERT, no pause) for SECONDS seconds
     with `durability off`, then the same with `durability any 1`, then once
     more with the subscriptions' synchronous_commit put back to off (the
     trap pgmm avoids): acknowledged rows per second;
  2. failover: the same writers, kill -9 of m1's postmaster, `pgmm failover
     m1` started at once (from m2): the time from the kill to the end of the
     first successful write of a shard m1 owned, and how long the command ran.
Prints each run and the medians.
"""
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.environ.get("PGMM_BUILD", os.path.join(TOP, "build"))
PGMM = os.path.join(BUILD, "tools", "pgmm")
WRITER = os.path.join(BUILD, "tests", "integration", "tools", "pgmm_writer")
CLUSTER_SH = os.path.join(TOP, "scripts", "cluster.sh")
SECONDS = float(os.environ.get("PGMM_BENCH_SECONDS", "5"))
SHARDS = 12
OPTS = " pgmm_timeout=2000 pgmm_reconnect_interval=200"


def nodes():
    out = []
    with open(os.environ["PGMM_NODES_FILE"]) as f:
        for line in f:
            if line.strip():
                n, c = line.rstrip("\n").split("\t", 1)
                out.append((n, c))
    return out


def psql(conninfo, sql, check=True):
    p = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql],
                       capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise RuntimeError(p.stderr)
    return p.stdout.strip()


def pgmm(*args):
    p = subprocess.run([PGMM, "-q", *args], capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise RuntimeError("pgmm %s: %s%s" % (" ".join(args), p.stdout, p.stderr))
    return p.stdout


def with_db(c, db):
    return c.replace("dbname=pgmm", "dbname=" + db)


def postmaster_pid(name):
    with open(os.path.join(os.environ["PGMM_CLUSTER_DIR"], name, "data", "postmaster.pid")) as f:
        return int(f.readline())


def writers(conninfos, tmp, tag, pause_us="0"):
    stop = os.path.join(tmp, tag + ".stop")
    procs, logs = [], []
    for k, c in enumerate(conninfos):
        log = os.path.join(tmp, "%s%d.log" % (tag, k))
        procs.append(subprocess.Popen([WRITER, "libpgmm", c + OPTS, "bf", "w%d" % k, log, stop, pause_us, "120"],
                                      stderr=subprocess.DEVNULL))
        logs.append(log)
    return stop, procs, logs


def stop_writers(stop, procs):
    open(stop, "w").close()
    for p in procs:
        p.wait(timeout=60)


def read(logs):
    out = []
    for log in logs:
        with open(log) as f:
            for line in f:
                x = line.split()
                if x:
                    out.append((x[0] == "ok", int(x[1]), int(x[2]) / 1000.0, float(x[3]), x[-1]))
    return out


def throughput(conninfos, tmp, tag):
    stop, procs, logs = writers(conninfos, tmp, tag)
    time.sleep(1.0)                     # connected and warm
    t0 = time.time()
    time.sleep(SECONDS)
    t1 = time.time()
    stop_writers(stop, procs)
    ok = [a for a in read(logs) if a[0] and t0 <= a[2] and a[2] + a[3] / 1000.0 <= t1]
    return len(ok) / (t1 - t0)


def cleanup(ns, db):
    for n, _ in ns:
        subprocess.run([CLUSTER_SH, "start-node", n, "-d", os.environ["PGMM_CLUSTER_DIR"]], capture_output=True)
    for n, c in ns:
        psql(c, "ALTER SYSTEM RESET synchronous_standby_names", check=False)
        psql(c, "SELECT pg_reload_conf()", check=False)
    for n, c in ns:
        d = with_db(c, db)
        for s in psql(d, "SELECT subname FROM pg_subscription s JOIN pg_database x ON x.oid = s.subdbid "
                         "WHERE x.datname = current_database()", check=False).split():
            psql(d, "ALTER SUBSCRIPTION %s DISABLE" % s, check=False)
            psql(d, "ALTER SUBSCRIPTION %s SET (slot_name = NONE)" % s, check=False)
            psql(d, "DROP SUBSCRIPTION %s" % s, check=False)
    for n, c in ns:
        psql(c, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '%s' "
                "AND NOT active" % db, check=False)
        psql(c, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % db, check=False)


def one_run(ns, k):
    db = "bench_fo_%d_%d" % (os.getpid(), k)
    tmp = tempfile.mkdtemp(prefix="pgmm_bench_fo_")
    try:
        for _, c in ns:
            psql(c, "CREATE DATABASE %s" % db)
        ci = {n: with_db(c, db) for n, c in ns}
        names = [n for n, _ in ns]
        args = ["init"]
        for n in names:
            args += ["--node", "%s=%s" % (n, ci[n])]
        pgmm(*args)
        first = ci[names[0]]
        pgmm("-d", first, "ddl", "CREATE TABLE bf (id bigint PRIMARY KEY, writer text NOT NULL, at timestamptz NOT NULL)")
        pgmm("-d", first, "distribute", "bf", "id", "--shards", str(SHARDS))
        homes = [ci[names[i % len(names)]] for i in range(4)]
        off = throughput(homes, tmp, "off")
        pgmm("-d", first, "durability", "any", "1")
        any1 = throughput(homes, tmp, "any1")
        # the trap: the same with the subscriptions' default synchronous_commit
        # (off): apply workers report their flush lazily
        for n in names:
            for s in psql(ci[n], "SELECT subname FROM pg_subscription s JOIN pg_database x ON x.oid = s.subdbid "
                                 "WHERE x.datname = current_database()").split():
                psql(ci[n], "ALTER SUBSCRIPTION %s SET (synchronous_commit = off)" % s)
        trap = throughput(homes, tmp, "trap")
        pgmm("-d", first, "durability", "off")
        # failover
        dead, survivor = names[0], names[1]
        owners = {int(r.split("|")[0]): r.split("|")[1] for r in psql(
            ci[survivor], "SELECT remainder, owner FROM pgmm.shards").split("\n") if r}
        stop, procs, logs = writers(homes, tmp, "fo", "1000")
        time.sleep(1.5)
        t_kill = time.time()
        os.kill(postmaster_pid(dead), signal.SIGKILL)
        p = subprocess.run([PGMM, "-q", "-d", ci[survivor], "failover", dead], capture_output=True, text=True,
                           timeout=300)
        t_done = time.time()
        if p.returncode != 0:
            raise RuntimeError("failover: " + p.stderr)
        time.sleep(3.0)
        stop_writers(stop, procs)
        att = [a for a in read(logs) if a[1]]
        ids = sorted({a[1] for a in att if a[2] >= t_kill - 1})
        rem = {}
        if ids:
            q = "SELECT i, pgmm.int_remainder(i, %d) FROM unnest('{%s}'::bigint[]) i" % (SHARDS, ",".join(map(str, ids)))
            for line in psql(ci[survivor], q).split("\n"):
                a, b = line.split("|")
                rem[int(a)] = int(b)
        # on a new owner (a statement sent just after the kill may still
        # commit on the dying master: its backends outlive the postmaster)
        moved_ok = [a[2] + a[3] / 1000.0 for a in att if a[0] and a[1] in rem and owners[rem[a[1]]] == dead
                    and a[2] >= t_kill and a[4] != dead]
        first_ok = (min(moved_ok) - t_kill) if moved_ok else float("nan")
        return off, any1, first_ok, t_done - t_kill, trap
    finally:
        cleanup(ns, db)
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    ns = nodes()
    print("PostgreSQL %s, %d masters, %d libpgmm writers, %.0f s per throughput sample"
          % (os.environ.get("PGMM_PG_VERSION", "?"), len(ns), 4, SECONDS))
    res = []
    for k in range(runs):
        r = one_run(ns, k)
        res.append(r)
        print("run %d: durability off %.0f rows/s, any 1 %.0f rows/s (%.0f %%), any 1 with the subscriptions' "
              "synchronous_commit = off %.0f rows/s; kill -> first write of a moved shard %.2f s (failover command "
              "done %.2f s after the kill)" % (k + 1, r[0], r[1], 100.0 * r[1] / r[0], r[4], r[2], r[3]), flush=True)
    med = [statistics.median(x[i] for x in res) for i in range(5)]
    print("median: durability off %.0f rows/s, any 1 %.0f rows/s (%.0f %%), any 1 with synchronous_commit = off on "
          "the subscriptions %.0f rows/s; kill -> first write of a moved shard %.2f s; failover command done %.2f s "
          "after the kill" % (med[0], med[1], 100.0 * med[1] / med[0], med[4], med[2], med[3]))


if __name__ == "__main__":
    main()
