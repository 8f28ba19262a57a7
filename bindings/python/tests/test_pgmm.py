"""Tests of the Python binding (pgmm package) against real masters.

The `cluster` fixture (conftest.py) creates a database on every master,
installs pgmm through pgmm.admin, creates estados (reference) and
expedientes (distributed by id, 8 shards), and removes everything at the
end.
"""
import datetime
import decimal
import uuid

import pytest

import pgmm
import pgmm.admin
from conftest import Direct, wait_until

UTC = datetime.timezone.utc


def insert_expediente(cur, key, titulo, estado=1):
    cur.execute("INSERT INTO expedientes (id, estado, titulo) VALUES (%s, %s, %s)", (key, estado, titulo))
    return cur.lastnode


# ------------------------------------------------------------------ module, connection

def test_module_globals():
    assert pgmm.apilevel == "2.0"
    assert pgmm.paramstyle == "format"
    assert pgmm.threadsafety == 1
    assert pgmm.version() == "0.1.0"
    assert issubclass(pgmm.CrossOwnerError, pgmm.NotSupportedError)
    assert issubclass(pgmm.RefusedError, pgmm.DatabaseError)
    assert issubclass(pgmm.DatabaseError, pgmm.Error)
    assert pgmm.NUMBER == pgmm._types.INT8 and pgmm.STRING == pgmm._types.TEXT
    assert pgmm.class_for_sqlstate("PM002") is pgmm.CrossOwnerError
    assert pgmm.class_for_sqlstate("23505") is pgmm.IntegrityError


def test_connect_sees_every_master(cluster, conn):
    assert sorted(conn.nodes) == sorted(cluster.names)
    assert conn.home_node == cluster.home
    assert conn.map_epoch > 0
    assert conn.server_version >= 150000
    assert conn.autocommit is False
    assert conn.transaction_status == pgmm.TRANSACTION_IDLE
    assert not conn.closed


# ------------------------------------------------------------------ reference table

def test_reference_writes_went_to_owner(cluster, estados):
    with pgmm.admin.Admin(cluster.home_conninfo) as adm:
        st = adm.status()
    ref = [t for t in st["tables"] if t["table"] == "estados"]
    assert ref and ref[0]["kind"] == "reference"
    owner = ref[0]["owner"]
    # The server's catalog agrees with the status report.
    assert cluster.direct(cluster.names[-1], "SELECT owner FROM pgmm.tables WHERE table_name = 'estados'") == [(owner,)]
    assert estados == {1: owner, 2: owner, 3: owner}
    for n in cluster.names:
        assert cluster.direct(n, "SELECT id, nombre FROM estados ORDER BY id") == \
            [("1", "Alta"), ("2", "Cancelado"), ("3", "Finalizado")]


# ------------------------------------------------------------------ distributed table: routing

def test_insert_with_next_id_goes_to_owner(cluster, conn):
    cur = conn.cursor()
    went = {}
    for i in range(15):
        key = conn.next_id("expedientes")
        went[key] = insert_expediente(cur, key, "next_id %d" % i)
        assert cur.rowcount == 1
        conn.commit()
    assert len(set(went)) == 15
    for key, node in went.items():
        partition, owner = cluster.server_owner(key)
        assert partition.startswith("expedientes_s")
        assert node == owner, "row %d went to %s, but %s holds it in %s owned by %s" % (
            key, node, cluster.home, partition, owner)
    assert len(set(went.values())) > 1, "15 keys all owned by one master: routing not exercised"


def test_insert_without_key_lands_on_an_owned_shard(cluster):
    conn = cluster.connect(autocommit=True)
    try:
        cur = conn.cursor()
        went = {}
        for i in range(9):
            cur.execute("INSERT INTO expedientes (estado, titulo) VALUES (%s, %s) RETURNING id", (2, "auto %d" % i))
            (key,) = cur.fetchone()
            assert isinstance(key, int)
            went[key] = cur.lastnode
        for key, node in went.items():
            assert node in cluster.names
            assert cluster.server_owner(key)[1] == node
        # Balanced over the masters owning shards.
        assert len(set(went.values())) == len(cluster.names)
    finally:
        conn.close()


def test_key_owner_matches_server(cluster, conn):
    cur = conn.cursor()
    key = conn.next_id("expedientes")
    node = insert_expediente(cur, key, "key_owner")
    conn.commit()
    assert conn.key_owner("expedientes", key) == node == cluster.server_owner(key)[1]
    assert conn.key_owner("estados", 1) == cluster.direct(
        cluster.home, "SELECT owner FROM pgmm.tables WHERE table_name = 'estados'")[0][0]


def test_read_back_all_types(cluster, conn, owner_conn):
    cur = conn.cursor()
    key = conn.next_id("expedientes")
    ref = uuid.uuid4()
    creado = datetime.datetime(2024, 2, 29, 13, 14, 15, 123456, tzinfo=UTC)
    cur.execute("INSERT INTO expedientes (id, estado, titulo, importe, activo, adjunto, fecha, creado, ref, peso, etiquetas)"
                " VALUES (%(id)s, %(estado)s, %(titulo)s, %(importe)s, %(activo)s, %(adjunto)s, %(fecha)s,"
                " %(creado)s, %(ref)s, %(peso)s, %(etiquetas)s)",
                {"id": key, "estado": 3, "titulo": "ñandú \"quoted\" 'x' \\ 100%", "importe": decimal.Decimal("1234.50"),
                 "activo": False, "adjunto": b"\x00\x01\xffbin\\", "fecha": datetime.date(1999, 12, 31),
                 "creado": creado, "ref": ref, "peso": 2.5, "etiquetas": ["a b", 'c"d', None, "e,f"]})
    node = cur.lastnode
    conn.commit()
    sql = ("SELECT id, estado, titulo, importe, activo, adjunto, fecha, creado, ref, peso, etiquetas"
           " FROM expedientes WHERE id = %s")
    ocur = owner_conn.cursor()
    ocur.execute(sql, (key,))
    assert ocur.lastnode == node           # pgmm_read=owner: read-your-writes at the owner
    row = ocur.fetchone()
    assert ocur.fetchone() is None
    expected = (key, 3, "ñandú \"quoted\" 'x' \\ 100%", decimal.Decimal("1234.50"), False, b"\x00\x01\xffbin\\",
                datetime.date(1999, 12, 31), creado, ref, 2.5, ["a b", 'c"d', None, "e,f"])
    assert row == expected
    assert [type(v) for v in row[:10]] == [int, int, str, decimal.Decimal, bool, bytes, datetime.date,
                                           datetime.datetime, uuid.UUID, float]
    assert row[7].utcoffset() is not None
    names = [d[0] for d in ocur.description]
    assert names == ["id", "estado", "titulo", "importe", "activo", "adjunto", "fecha", "creado", "ref", "peso",
                     "etiquetas"]
    assert ocur.description[0].type_code == 20 and ocur.description[0] == ocur.description[0]
    assert ocur.description[0][1] == pgmm.NUMBER
    assert ocur.description[2][1] == pgmm.STRING
    assert ocur.description[5][1] == pgmm.BINARY
    assert ocur.description[7][1] == pgmm.DATETIME
    assert (ocur.description[3].precision, ocur.description[3].scale) == (12, 2)
    # Outside a transaction, pgmm_read=local reads on the home master: it has
    # the row once replicated.  (Inside a transaction, a keyed read binds the
    # transaction to the key's owner whatever the read policy.)
    local = cluster.connect(autocommit=True)
    hcur = local.cursor()

    def replicated():
        return hcur.execute(sql, [key]).fetchone()
    try:
        assert wait_until(replicated, what="row to replicate to the home master") == expected
        assert hcur.lastnode == cluster.home
    finally:
        local.close()
    cur.execute(sql, [key])
    assert cur.fetchone() == expected and cur.lastnode == node
    conn.rollback()


def test_type_roundtrip(conn):
    cur = conn.cursor()
    ts = datetime.datetime(2020, 1, 2, 3, 4, 5, 6)
    values = [
        (None, "int4", None),
        (True, "bool", True),
        (-32768, "int2", -32768),
        (2**31 - 1, "int4", 2**31 - 1),
        (-2**63, "int8", -2**63),
        (10**30, "numeric", decimal.Decimal(10**30)),
        (1.5e300, "float8", 1.5e300),
        (float("inf"), "float8", float("inf")),
        (decimal.Decimal("NaN"), "numeric", None),
        ("", "text", ""),
        ("日本語", "varchar", "日本語"),
        (b"", "bytea", b""),
        (bytes(range(256)), "bytea", bytes(range(256))),
        (datetime.date(2024, 2, 29), "date", datetime.date(2024, 2, 29)),
        (ts, "timestamp", ts),
        (datetime.time(23, 59, 59, 5), "time", datetime.time(23, 59, 59, 5)),
        (datetime.timedelta(days=-2, seconds=3661, microseconds=7), "interval",
         datetime.timedelta(days=-2, seconds=3661, microseconds=7)),
        (uuid.UUID(int=1), "uuid", uuid.UUID(int=1)),
        ([1, 2, None], "int4[]", [1, 2, None]),
        ([[1.5, 2.0], [3.0, None]], "float8[]", [[1.5, 2.0], [3.0, None]]),
        (pgmm.Json({"a": [1, "x"]}), "jsonb", {"a": [1, "x"]}),
    ]
    for value, typ, expected in values:
        cur.execute("SELECT %%s::%s" % typ, (value,))
        (got,) = cur.fetchone()
        if isinstance(value, decimal.Decimal) and value.is_nan():
            assert got.is_nan()
        else:
            assert got == expected and type(got) is type(expected), (value, typ, got)
    cur.execute("SELECT 'infinity'::date, '2024-01-01 10:00:00+05:30'::timestamptz AT TIME ZONE 'UTC',"
                " '1 year 2 mons'::interval, 'x'::char(3), NULL::text, 42::oid")
    assert cur.fetchone() == ("infinity", datetime.datetime(2024, 1, 1, 4, 30), "1 year 2 mons", "x  ", None, 42)
    conn.rollback()


def test_paramstyles(conn):
    cur = conn.cursor()
    cur.execute("SELECT %s::int + %s::int, '100%%'", (40, 2))
    assert cur.fetchone() == (42, "100%")
    cur.execute("SELECT %(a)s::int * %(b)s::int + %(a)s::int", {"a": 3, "b": 4})
    assert cur.fetchone() == (15,)
    cur.execute("SELECT $1::text || $2::text", ["na", "tive"])     # PostgreSQL's own placeholders
    assert cur.fetchone() == ("native",)
    cur.execute("SELECT '50%'")                                      # no parameters: sent as is
    assert cur.fetchone() == ("50%",)
    assert cur.query == "SELECT '50%'"
    with pytest.raises(pgmm.ProgrammingError, match="2 placeholders but 1"):
        cur.execute("SELECT %s, %s", (1,))
    with pytest.raises(pgmm.ProgrammingError, match="unsupported placeholder"):
        cur.execute("SELECT %s, %d", (1, 2))
    with pytest.raises(pgmm.ProgrammingError, match="no parameter named 'b'"):
        cur.execute("SELECT %(a)s, %(b)s", {"a": 1})
    with pytest.raises(pgmm.ProgrammingError, match="cannot adapt"):
        cur.execute("SELECT %s", (object(),))
    with pytest.raises(TypeError):
        cur.execute("SELECT %s", 5)
    conn.rollback()


def test_fetch_helpers_and_executemany(cluster, conn):
    cur = conn.cursor()
    keys = [conn.next_id("expedientes", node=cluster.home) for _ in range(5)]
    cur.executemany("INSERT INTO expedientes (id, estado, titulo) VALUES (%s, 1, %s)",
                    [(k, "many %d" % i) for i, k in enumerate(keys)])
    assert cur.rowcount == 5
    assert cur.lastnode == cluster.home          # every key was drawn for the home master
    conn.commit()
    cur.execute("SELECT id FROM expedientes WHERE id = ANY(%s) ORDER BY id", (keys,))
    # (a SELECT on the home master: these rows are its own)
    assert cur.rowcount == 5
    assert cur.fetchmany(2) == [(keys[0],), (keys[1],)]
    cur.arraysize = 2
    assert cur.fetchmany() == [(keys[2],), (keys[3],)]
    assert list(cur) == [(keys[4],)]
    assert cur.fetchall() == []
    assert cur.fetchone() is None
    conn.commit()


# ------------------------------------------------------------------ broadcast, rowcount

def test_broadcast_update_rowcount(cluster, conn):
    cur = conn.cursor()
    tag = "bcast-" + uuid.uuid4().hex[:8]
    keys = []
    for node in cluster.names:                    # two rows on every master
        for _ in range(2):
            k = conn.next_id("expedientes", node=node)
            assert insert_expediente(cur, k, tag) == node
            conn.commit()
            keys.append(k)
    # Inside a (DB-API implicit) transaction a keyless UPDATE needs every
    # master: pgmm refuses it with PM002.
    with pytest.raises(pgmm.CrossOwnerError) as ei:
        cur.execute("UPDATE expedientes SET titulo = titulo || '!' WHERE titulo = %s", (tag,))
    assert ei.value.sqlstate == "PM002"
    conn.rollback()
    conn.autocommit = True
    cur.execute("UPDATE expedientes SET titulo = titulo || '!' WHERE titulo = %s", (tag,))
    assert cur.rowcount == len(keys)              # total over the masters (pgmm_result_cmd_tuples)
    assert sorted(cur.lastnode.split(",")) == sorted(cluster.names)
    assert cur.statusmessage == "UPDATE %d" % len(keys)
    cur.execute("DELETE FROM expedientes WHERE titulo = %s", (tag + "!",))
    assert cur.rowcount == len(keys)
    cur.execute("DELETE FROM expedientes WHERE id = %s", (keys[0],))
    assert cur.rowcount == 0


# ------------------------------------------------------------------ transactions

def test_transaction_commit(cluster, conn, owner_conn):
    cur = conn.cursor()
    k1 = conn.next_id("expedientes")
    node = insert_expediente(cur, k1, "commit 1")
    assert conn.transaction_status == pgmm.TRANSACTION_INTRANS
    # Inside the bound transaction next_id hands out keys the bound master owns.
    k2 = conn.next_id("expedientes")
    assert insert_expediente(cur, k2, "commit 2") == node
    assert owner_conn.cursor().execute("SELECT count(*) FROM expedientes WHERE id = %s", (k1,)).fetchone() == (0,)
    conn.commit()
    assert conn.transaction_status == pgmm.TRANSACTION_IDLE
    ocur = owner_conn.cursor()
    # (one key per statement: pgmm_read=owner routes `key = value`, an IN
    # list goes to the home master, which may not have the rows yet)
    for k, titulo in ((k1, "commit 1"), (k2, "commit 2")):
        ocur.execute("SELECT titulo FROM expedientes WHERE id = %s", (k,))
        assert ocur.fetchall() == [(titulo,)] and ocur.lastnode == node
    assert cluster.row_on(node, k1) == [(str(k1), "commit 1")]


def test_transaction_rollback(cluster, conn, owner_conn):
    cur = conn.cursor()
    k = conn.next_id("expedientes")
    node = insert_expediente(cur, k, "rolled back")
    conn.rollback()
    assert conn.transaction_status == pgmm.TRANSACTION_IDLE
    assert owner_conn.cursor().execute("SELECT count(*) FROM expedientes WHERE id = %s", (k,)).fetchone() == (0,)
    assert cluster.row_on(node, k) == []


def test_context_manager_commits_and_closes(cluster, owner_conn):
    with cluster.connect() as c:
        k = c.next_id("expedientes")
        insert_expediente(c.cursor(), k, "with block")
    assert c.closed
    assert owner_conn.cursor().execute("SELECT titulo FROM expedientes WHERE id = %s", (k,)).fetchall() == \
        [("with block",)]
    with pytest.raises(ZeroDivisionError):
        with cluster.connect() as c:
            k2 = c.next_id("expedientes")
            insert_expediente(c.cursor(), k2, "never")
            1 / 0
    assert owner_conn.cursor().execute("SELECT count(*) FROM expedientes WHERE id = %s", (k2,)).fetchone() == (0,)


def test_autocommit_cannot_change_inside_transaction(conn):
    conn.cursor().execute("SELECT 1")
    assert conn.transaction_status == pgmm.TRANSACTION_INTRANS
    with pytest.raises(pgmm.ProgrammingError, match="inside a transaction"):
        conn.autocommit = True
    conn.rollback()
    conn.autocommit = True
    conn.cursor().execute("SELECT 1")
    assert conn.transaction_status == pgmm.TRANSACTION_IDLE


def test_commit_of_failed_transaction_raises(conn):
    cur = conn.cursor()
    with pytest.raises(pgmm.DataError):
        cur.execute("SELECT 1/0")
    assert conn.transaction_status == pgmm.TRANSACTION_INERROR
    with pytest.raises(pgmm.InternalError) as ei:       # 25P02: current transaction is aborted
        cur.execute("SELECT 1")
    assert ei.value.sqlstate == "25P02"
    with pytest.raises(pgmm.OperationalError, match="rolled back"):
        conn.commit()
    assert conn.transaction_status == pgmm.TRANSACTION_IDLE


# ------------------------------------------------------------------ pgmm's errors

def test_pm002_cross_owner_write_in_transaction(cluster, conn, owner_conn):
    a_node, b_node = cluster.names[0], cluster.names[1]
    ka = conn.next_id("expedientes", node=a_node)
    kb = conn.next_id("expedientes", node=b_node)
    cur = conn.cursor()
    assert insert_expediente(cur, ka, "pm002 a") == a_node
    with pytest.raises(pgmm.CrossOwnerError) as ei:
        insert_expediente(cur, kb, "pm002 b")
    e = ei.value
    assert e.sqlstate == e.pgcode == pgmm.SQLSTATE_CROSS_OWNER == "PM002"
    assert isinstance(e, pgmm.NotSupportedError) and isinstance(e, pgmm.DatabaseError)
    assert "PM002" in str(e)
    assert a_node in str(e) and b_node in str(e)
    assert conn.transaction_status == pgmm.TRANSACTION_INERROR
    conn.rollback()
    for k in (ka, kb):
        assert owner_conn.cursor().execute("SELECT count(*) FROM expedientes WHERE id = %s", (k,)).fetchone() == (0,)


def test_pm004_ddl_refused(conn):
    conn.autocommit = True
    cur = conn.cursor()
    with pytest.raises(pgmm.RefusedError) as ei:
        cur.execute("CREATE TABLE refused_here (a int)")
    assert ei.value.sqlstate == "PM004"
    assert isinstance(ei.value, pgmm.NotSupportedError)
    assert "PM004" in str(ei.value)
    with pytest.raises(pgmm.RefusedError):
        cur.execute("SELECT 1; SELECT 2")
    # and inside a DB-API transaction: the transaction is failed, then rolled back
    conn.autocommit = False
    with pytest.raises(pgmm.RefusedError):
        cur.execute("DROP TABLE expedientes")
    conn.rollback()
    cur.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'refused_here'")
    assert cur.fetchone() == (0,)
    conn.rollback()


def test_server_errors_map_to_dbapi_classes(cluster, conn):
    conn.autocommit = True
    cur = conn.cursor()
    k = conn.next_id("expedientes")
    node = insert_expediente(cur, k, "dup")
    with pytest.raises(pgmm.IntegrityError) as ei:
        insert_expediente(cur, k, "dup again")
    assert ei.value.sqlstate == "23505" and ei.value.node == node
    assert ei.value.detail and str(k) in ei.value.detail
    with pytest.raises(pgmm.IntegrityError) as ei:      # foreign key to the reference table
        insert_expediente(cur, conn.next_id("expedientes"), "fk", estado=99)
    assert ei.value.sqlstate == "23503"
    with pytest.raises(pgmm.ProgrammingError) as ei:
        cur.execute("SELEC 1")
    assert ei.value.sqlstate == "42601"
    with pytest.raises(pgmm.DataError) as ei:           # invalid key: refused before sending
        cur.execute("INSERT INTO expedientes (id, estado, titulo) VALUES ($1, 1, 'x')", ["abc"])
    assert ei.value.sqlstate == "22P02"


# ------------------------------------------------------------------ bad input

def test_bad_conninfo(cluster):
    with pytest.raises(pgmm.OperationalError) as ei:
        pgmm.connect("garbage")
    assert "cannot connect" in str(ei.value) and "garbage" in str(ei.value)
    with pytest.raises(pgmm.OperationalError, match="pgmm_bogus"):
        pgmm.connect(cluster.home_conninfo + " pgmm_bogus=1")
    with pytest.raises(pgmm.OperationalError, match="not part of a pgmm cluster"):
        pgmm.connect(cluster.server[cluster.home].replace("dbname=pgmm", "dbname=postgres"))
    with pytest.raises(pgmm.OperationalError):
        pgmm.connect("host=127.0.0.1 port=1 connect_timeout=3")
    with pytest.raises(TypeError, match="conninfo must be a str"):
        pgmm.connect(None)
    with pytest.raises(pgmm.DataError, match="NUL"):
        pgmm.connect("host=x\x00")


def test_none_and_bad_arguments(conn):
    cur = conn.cursor()
    with pytest.raises(TypeError):
        cur.execute(None)
    with pytest.raises(pgmm.DataError, match="NUL"):
        cur.execute("SELECT %s", ("a\x00b",))
    with pytest.raises(pgmm.ProgrammingError, match="no results to fetch"):
        conn.cursor().fetchone()
    with pytest.raises(TypeError):
        conn.next_id(None)
    with pytest.raises(pgmm.ProgrammingError, match="no_such_table"):
        conn.next_id("no_such_table")
    with pytest.raises(TypeError):
        pgmm.admin.init(None)
    with pytest.raises(pgmm.AdminError, match="init failed"):
        pgmm.admin.init(["solo=host=127.0.0.1 port=1"])
    with pytest.raises(pgmm.AdminError, match="admin connect failed"):
        pgmm.admin.Admin("garbage")
    with pytest.raises(TypeError):
        pgmm.admin.Admin(None)
    cur.execute("INSERT INTO expedientes (id, estado, titulo) VALUES (%s, 1, %s)", (conn.next_id("expedientes"), "ok"))
    conn.rollback()


def test_closed_connection_and_cursor(cluster):
    c = cluster.connect()
    cur = c.cursor()
    cur.execute("SELECT 1")
    c.close()
    c.close()                                    # twice is fine
    assert c.closed and c.lastnode is None
    for fn in (c.cursor, c.commit, c.rollback, lambda: c.next_id("expedientes"),
               lambda: cur.execute("SELECT 1"), lambda: c.transaction_status):
        with pytest.raises(pgmm.InterfaceError, match="closed"):
            fn()
    c2 = cluster.connect()
    cur2 = c2.cursor()
    cur2.close()
    with pytest.raises(pgmm.InterfaceError, match="cursor is closed"):
        cur2.execute("SELECT 1")
    c2.close()


# ------------------------------------------------------------------ admin

def test_admin_status_and_verify(cluster, estados):
    with pgmm.admin.Admin(cluster.home_conninfo) as adm:
        notices = []
        adm.set_notice(notices.append)
        st = adm.status(json=True)
        assert sorted(m["name"] for m in st["masters"]) == sorted(cluster.names)
        assert all(m["up"] for m in st["masters"])
        tables = {t["table"]: t for t in st["tables"]}
        assert tables["expedientes"]["kind"] == "distributed"
        assert tables["expedientes"]["key"] == "id" and tables["expedientes"]["shards"] == cluster.SHARDS
        assert sum(s["count"] for s in st["shards"]) == cluster.SHARDS
        n = len(cluster.names)
        assert len(st["subscriptions"]) == n * (n - 1)
        text = adm.status(json=False)
        assert "masters: %d" % n in text
        v = wait_until(lambda: (lambda r: r if r.diverged == 0 else None)(adm.verify()), timeout=60,
                       what="masters to converge")
        assert "expedientes" in v.report and "identical" in v.report
        assert adm.recover() == 0
        with pytest.raises(pgmm.AdminError, match="ddl failed"):
            adm.ddl("CREATE TABLE estados (id int)")     # exists: refused everywhere
        # A second reference table, owned by another master than the home one.
        adm.ddl("CREATE TABLE notas (id int PRIMARY KEY, texto text NOT NULL)")
        assert any("applied on %d masters" % n in m for m in notices), notices
        adm.reference("notas", owner=cluster.names[-1])
        adm.set_notice(None)
        before = len(notices)
        with pytest.raises(pgmm.AdminError, match="reference"):
            adm.reference("no_such_table")
        assert len(notices) == before
    assert adm.closed
    with pgmm.connect(cluster.home_conninfo, autocommit=True) as c:
        cur = c.execute("INSERT INTO notas (id, texto) VALUES (%s, %s)", (1, "hola"))
        assert cur.lastnode == cluster.names[-1]
    with pytest.raises(pgmm.AdminError, match="closed"):
        adm.status()


# ------------------------------------------------------------------ issue #7: errors of calls without a result

def test_next_id_master_down_is_node_down_error(cluster, estados):
    """pgmm_next_id failing because no master is reachable carries PM005 in
    pgmm_error_sqlstate, so the binding raises NodeDownError (it raised
    ProgrammingError when the code was only inside the message).  The
    masters stay up: the test database refuses new connections and this
    client's sessions (found by application_name) are ended, so every
    (re)connection of this client fails."""
    import time
    app = "pgmm_py_down_" + uuid.uuid4().hex[:8]
    c = cluster.connect("application_name=%s" % app)
    try:
        # Misuse keeps its own SQLSTATE: an unknown table is 42P01.
        with pytest.raises(pgmm.ProgrammingError) as ei:
            c.next_id("no_such_table")
        assert ei.value.sqlstate == "42P01"
        try:
            for n in cluster.names:
                Direct.query(cluster.server[n], "ALTER DATABASE %s ALLOW_CONNECTIONS false" % cluster.db)
                Direct.query(cluster.server[n], "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                                "WHERE application_name = '%s'" % app)
            time.sleep(0.5)
            with pytest.raises(pgmm.NodeDownError) as ei:
                c.next_id("expedientes")
            assert ei.value.sqlstate == "PM005"
            assert "PM005" in str(ei.value)
        finally:
            for n in cluster.names:
                Direct.query(cluster.server[n], "ALTER DATABASE %s ALLOW_CONNECTIONS true" % cluster.db,
                             check=False)
    finally:
        c.close()


def test_connect_error_sqlstate(cluster):
    """A failed connect carries the SQLSTATE pgmm_connect left."""
    with pytest.raises(pgmm.OperationalError) as ei:
        pgmm.connect(cluster.home_conninfo + " pgmm_bogus=1")
    assert ei.value.sqlstate == "22023"
    with pytest.raises(pgmm.OperationalError) as ei:
        pgmm.connect("host=127.0.0.1 port=1 connect_timeout=3")
    assert ei.value.sqlstate == "08001"
