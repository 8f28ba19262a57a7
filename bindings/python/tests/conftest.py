"""Fixtures for the Python binding's tests, against real PostgreSQL masters.

Run inside a cluster (scripts/cluster.sh run ... exports PGMM_NODES_FILE,
one NAME<TAB>CONNINFO line per master).  The session creates its own
database on every master, installs pgmm there through pgmm.admin, and at
the end uninstalls pgmm and drops the database WITH (FORCE).
"""
import ctypes
import os
import re
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import pgmm  # noqa: E402
import pgmm.admin  # noqa: E402
from pgmm import _native  # noqa: E402


def read_nodes():
    path = os.environ.get("PGMM_NODES_FILE")
    if not path:
        return None
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


class Direct:
    """Plain libpq (no routing) to one master, for setup and for asking a
    server directly.  Uses the libpq libpgmm is linked with."""

    _pq = None

    @classmethod
    def pq(cls):
        if cls._pq is None:
            pq = ctypes.CDLL(_native.library_path())
            P, S, I = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
            for name, res, args in [
                ("PQconnectdb", P, [S]), ("PQstatus", I, [P]), ("PQerrorMessage", S, [P]),
                ("PQfinish", None, [P]), ("PQexec", P, [P, S]), ("PQresultStatus", I, [P]),
                ("PQresultErrorMessage", S, [P]), ("PQntuples", I, [P]), ("PQnfields", I, [P]),
                ("PQgetvalue", S, [P, I, I]), ("PQgetisnull", I, [P, I, I]), ("PQclear", None, [P]),
            ]:
                fn = getattr(pq, name)
                fn.restype, fn.argtypes = res, args
            cls._pq = pq
        return cls._pq

    @classmethod
    def query(cls, conninfo, sql, check=True):
        """Rows (tuples of str/None) of sql on one master; raise on error."""
        pq = cls.pq()
        c = pq.PQconnectdb(conninfo.encode())
        try:
            if pq.PQstatus(c) != 0:
                raise RuntimeError("connect %s: %s" % (conninfo, pq.PQerrorMessage(c).decode()))
            r = pq.PQexec(c, sql.encode())
            try:
                st = pq.PQresultStatus(r)
                if st not in (1, 2):
                    if check:
                        raise RuntimeError("%s: %s" % (sql, pq.PQresultErrorMessage(r).decode()))
                    return None
                rows = []
                for i in range(pq.PQntuples(r)):
                    rows.append(tuple(None if pq.PQgetisnull(r, i, j) else pq.PQgetvalue(r, i, j).decode()
                                      for j in range(pq.PQnfields(r))))
                return rows
            finally:
                pq.PQclear(r)
        finally:
            pq.PQfinish(c)


def wait_until(fn, timeout=30.0, interval=0.1, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.0fs waiting for %s (last: %r)" % (timeout, what, last))


OWNER_SQL = """
SELECT e.tableoid::regclass::text, s.owner
  FROM public.expedientes e
  JOIN pg_catalog.pg_class c ON c.oid = e.tableoid
  JOIN pgmm.tables t ON t.schema_name = 'public' AND t.table_name = 'expedientes'
  JOIN pgmm.shards s ON s.colocation = t.colocation
   AND s.remainder = substring(pg_catalog.pg_get_expr(c.relpartbound, c.oid) from 'remainder (\\d+)')::int
 WHERE e.id = %d
"""


class Cluster:
    SHARDS = 8

    def __init__(self, db, nodes):
        self.db = db
        self.names = [n for n, _ in nodes]
        self.server = dict(nodes)
        self.conninfo = {n: with_db(c, db) for n, c in nodes}
        self.home = self.names[0]

    @property
    def home_conninfo(self):
        return self.conninfo[self.home]

    def connect(self, extra="", **kw):
        return pgmm.connect(self.home_conninfo + (" " + extra if extra else ""), **kw)

    def direct(self, node, sql, check=True):
        return Direct.query(self.conninfo[node], sql, check=check)

    def server_owner(self, key, timeout=30.0):
        """Ask a server (the home master, once the row has replicated there)
        which partition holds expedientes row `key` and which master owns
        that partition in pgmm.shards: (partition, owner)."""
        rows = wait_until(lambda: self.direct(self.home, OWNER_SQL % key), timeout=timeout,
                          what="row %d of expedientes to reach %s" % (key, self.home))
        return rows[0]

    def row_on(self, node, key):
        return self.direct(node, "SELECT id, titulo FROM public.expedientes WHERE id = %d" % key)


@pytest.fixture(scope="session")
def nodes():
    nodes = read_nodes()
    if not nodes:
        pytest.skip("PGMM_NODES_FILE is not set: run these tests inside a cluster "
                    "(scripts/cluster.sh run -n 3 -- bindings/run-tests.sh)")
    if len(nodes) < 2:
        pytest.skip("the cluster in PGMM_NODES_FILE has fewer than 2 masters")
    return nodes


@pytest.fixture(scope="session")
def cluster(nodes):
    db = "pypgmm_" + uuid.uuid4().hex[:12]
    cl = Cluster(db, nodes)
    for _, c in nodes:
        Direct.query(c, "CREATE DATABASE %s" % db)
    try:
        pgmm.admin.init(["%s=%s" % (n, cl.conninfo[n]) for n in cl.names])
        with pgmm.admin.Admin(cl.home_conninfo) as adm:
            adm.ddl("CREATE TABLE estados (id int PRIMARY KEY, nombre text NOT NULL);"
                    "CREATE TABLE expedientes ("
                    "  id bigint PRIMARY KEY,"
                    "  estado int NOT NULL REFERENCES estados (id),"
                    "  titulo text NOT NULL,"
                    "  importe numeric(12,2),"
                    "  activo boolean NOT NULL DEFAULT true,"
                    "  adjunto bytea,"
                    "  fecha date,"
                    "  creado timestamptz NOT NULL DEFAULT now(),"
                    "  ref uuid,"
                    "  peso double precision,"
                    "  etiquetas text[])")
            adm.reference("estados")
            adm.distribute("expedientes", "id", shards=Cluster.SHARDS)
        yield cl
    finally:
        problems = []
        try:
            with pgmm.admin.Admin(cl.home_conninfo) as adm:
                adm.uninstall()
        except Exception as e:  # still drop the databases
            problems.append("uninstall: %s" % e)
        for n, c in nodes:
            try:
                # A subscription left behind would block DROP DATABASE.
                for (sub,) in Direct.query(cl.conninfo[n], "SELECT subname FROM pg_subscription s JOIN "
                                           "pg_database d ON d.oid = s.subdbid WHERE d.datname = "
                                           "current_database()", check=False) or []:
                    for stmt in ("ALTER SUBSCRIPTION %s DISABLE", "ALTER SUBSCRIPTION %s SET (slot_name = NONE)",
                                 "DROP SUBSCRIPTION %s"):
                        Direct.query(cl.conninfo[n], stmt % sub, check=False)
            except Exception:
                pass
            Direct.query(c, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                            "WHERE database = '%s' AND NOT active" % db, check=False)
            try:
                Direct.query(c, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)
            except Exception as e:
                problems.append("drop database on %s: %s" % (n, e))
        if problems:
            raise AssertionError("cleanup: " + "; ".join(problems))


@pytest.fixture(scope="session")
def estados(cluster):
    """Insert the reference rows through the router (autocommit off: one
    commit per row), remember where each went, wait until every master has
    them (expedientes has a foreign key to estados)."""
    conn = cluster.connect()
    went = {}
    try:
        cur = conn.cursor()
        for i, nombre in [(1, "Alta"), (2, "Cancelado"), (3, "Finalizado")]:
            cur.execute("INSERT INTO estados (id, nombre) VALUES (%s, %s)", (i, nombre))
            went[i] = cur.lastnode
            conn.commit()
    finally:
        conn.close()
    for n in cluster.names:
        wait_until(lambda: cluster.direct(n, "SELECT count(*) FROM estados")[0][0] == "3",
                   what="estados to replicate to %s" % n)
    return went


@pytest.fixture
def conn(cluster, estados):
    c = cluster.connect()
    yield c
    c.close()


@pytest.fixture
def owner_conn(cluster, estados):
    """Reads go to the key's owner (read-your-writes)."""
    c = cluster.connect("pgmm_read=owner", autocommit=True)
    yield c
    c.close()
