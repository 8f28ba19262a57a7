"""Errors pgmm decides, as an application and an operator see them.

Bug 6: the errors pgmm raises on the server (the guard's PM001, pgmm.raise's
PM004, ...) carry a CONTEXT naming pgmm's own PL/pgSQL functions
("PL/pgSQL function pgmm.raise(text,text,text,text) line 4 at RAISE"),
noise in every application log.  PostgreSQL cannot be told to leave it out,
so libpgmm's result accessors (pgmm_result_error_message and
pgmm_result_error_field, which the compat header and the bindings use) drop
pgmm's frames and keep SQLSTATE, message, DETAIL and HINT.

Bug 4: "not a pgmm cluster" is decided on the SQLSTATE, not on the words of
the server's message.
"""
import ctypes
import ctypes.util
import os

import pytest

from conftest import PGMM, pgmm
from test_admin import server_remainder, setup_notes, shard_owner

PG_DIAG_SEVERITY = ord("S")
PG_DIAG_SQLSTATE = ord("C")
PG_DIAG_MESSAGE_PRIMARY = ord("M")
PG_DIAG_MESSAGE_DETAIL = ord("D")
PG_DIAG_MESSAGE_HINT = ord("H")
PG_DIAG_CONTEXT = ord("W")


def load_libpgmm():
    path = os.environ.get("PGMM_LIBRARY") or os.path.join(os.path.dirname(os.path.dirname(PGMM)), ".libs",
                                                           "libpgmm.so")
    if not os.path.exists(path):
        pytest.fail("libpgmm not found at %s (set PGMM_LIBRARY)" % path)
    lib = ctypes.CDLL(path)
    vp, cp, i = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    for name, res, args in (("pgmm_connect", vp, [cp]), ("pgmm_status", i, [vp]),
                            ("pgmm_error_message", cp, [vp]), ("pgmm_exec", vp, [vp, cp]),
                            ("pgmm_result_error_message", cp, [vp]),
                            ("pgmm_result_error_field", cp, [vp, i]), ("pgmm_finish", None, [vp])):
        f = getattr(lib, name)
        f.restype, f.argtypes = res, args
    pq = ctypes.CDLL(ctypes.util.find_library("pq") or "libpq.so.5")
    pq.PQclear.argtypes, pq.PQclear.restype = [vp], None
    pq.PQresultErrorField.argtypes, pq.PQresultErrorField.restype = [vp, i], cp
    return lib, pq


def run_error(lib, pq, conn, sql):
    """The error of sql through libpgmm: (pgmm's fields, pgmm's message, libpq's raw context)."""
    res = lib.pgmm_exec(conn, sql.encode())
    assert res, "pgmm_exec returned NULL"
    try:
        fields = {code: (lib.pgmm_result_error_field(res, code) or b"").decode()
                  for code in (PG_DIAG_SEVERITY, PG_DIAG_SQLSTATE, PG_DIAG_MESSAGE_PRIMARY,
                               PG_DIAG_MESSAGE_DETAIL, PG_DIAG_MESSAGE_HINT, PG_DIAG_CONTEXT)}
        message = (lib.pgmm_result_error_message(res) or b"").decode()
        raw = (pq.PQresultErrorField(res, PG_DIAG_CONTEXT) or b"").decode()
    finally:
        pq.PQclear(res)
    return fields, message, raw


def test_pgmm_errors_carry_no_pgmm_context(cluster):
    cl = cluster
    setup_notes(cl)
    home = cl.names[0]
    # A key whose shard the home master does not own.
    key = next(k for k in range(1000, 1100)
               if shard_owner(cl, "expedientes", server_remainder(cl, home, "expedientes", k, 16)) != home)
    owner = shard_owner(cl, "expedientes", server_remainder(cl, home, "expedientes", key, 16))
    insert = ("WITH v AS (SELECT %d AS id) INSERT INTO expedientes (id, estado, titulo) "
              "SELECT id, 1, 'x' FROM v" % key)
    # The server does send pgmm's frame (so the check below can fail).
    p = cl.sql(home, insert, check=False)
    assert p.returncode != 0 and "PM001" in p.stderr and "pgmm.guard()" in p.stderr

    lib, pq = load_libpgmm()
    conn = lib.pgmm_connect(cl.conninfo[home].encode())
    try:
        assert lib.pgmm_status(conn) == 0, lib.pgmm_error_message(conn)
        # The guard's refusal: WITH ... INSERT is not classified, so inside a
        # transaction it runs on the home master, whose guard refuses it.
        res = lib.pgmm_exec(conn, b"BEGIN")
        pq.PQclear(res)
        f, msg, raw = run_error(lib, pq, conn, insert)
        assert "pgmm.guard" in raw
        assert f[PG_DIAG_SQLSTATE] == "PM001"
        assert f[PG_DIAG_SEVERITY] == "ERROR"
        assert "INSERT refused on public.expedientes_s" in f[PG_DIAG_MESSAGE_PRIMARY]
        assert f[PG_DIAG_MESSAGE_DETAIL].startswith("owner=%s epoch=" % owner)
        assert f[PG_DIAG_MESSAGE_HINT].startswith("Write through libpgmm")
        assert f[PG_DIAG_CONTEXT] == ""
        assert "CONTEXT" not in msg and "pgmm.guard" not in msg
        assert "refused on public.expedientes_s" in msg and "DETAIL:  owner=%s" % owner in msg and "HINT:  Write" in msg
        pq.PQclear(lib.pgmm_exec(conn, b"ROLLBACK"))

        # pgmm.raise: DDL refused by the router (PM004), raised on a master.
        f, msg, raw = run_error(lib, pq, conn, "CREATE TABLE nope (a int)")
        assert "pgmm.raise" in raw
        assert f[PG_DIAG_SQLSTATE] == "PM004"
        assert f[PG_DIAG_MESSAGE_PRIMARY].startswith("pgmm: DDL is not run through the router")
        assert "pgmm ddl" in f[PG_DIAG_MESSAGE_HINT]
        assert f[PG_DIAG_CONTEXT] == ""
        assert "CONTEXT" not in msg and "pgmm.raise" not in msg and "HINT:  " in msg
        # The connection's error text (pgmm_error_message, libpq's
        # PQerrorMessage through the compat header) is as clean.
        conn_msg = (lib.pgmm_error_message(conn) or b"").decode()
        assert "DDL is not run through the router" in conn_msg
        assert "CONTEXT" not in conn_msg and "pgmm.raise" not in conn_msg

        # An application's own function keeps its context; only pgmm's frame goes.
        pq.PQclear(lib.pgmm_exec(conn, b"BEGIN"))
        for n in cl.names:
            cl.sql(n, "CREATE FUNCTION app_insert(k int) RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
                      "INSERT INTO expedientes (id, estado, titulo) VALUES (k, 1, 'x'); END $$")
        f, msg, raw = run_error(lib, pq, conn, "SELECT app_insert(%d)" % key)
        assert f[PG_DIAG_SQLSTATE] == "PM001"
        assert "pgmm.guard" in raw and "app_insert" in raw
        assert "pgmm.guard" not in f[PG_DIAG_CONTEXT] and "app_insert(integer)" in f[PG_DIAG_CONTEXT]
        assert "pgmm.guard" not in msg and "app_insert(integer)" in msg
        pq.PQclear(lib.pgmm_exec(conn, b"ROLLBACK"))
    finally:
        lib.pgmm_finish(conn)
    # Nothing was written anywhere.
    for n in cl.names:
        assert cl.sql(n, "SELECT count(*) FROM expedientes") == "0"


def test_admin_errors_carry_no_pgmm_context(cluster):
    cl = cluster
    setup_notes(cl)
    # A managed table dropped behind pgmm's back on one master: the next
    # catalog change fails in pgmm.sync_local() there; the message names
    # the table and the master, without pgmm's PL/pgSQL frames.
    victim = cl.names[1]
    cl.sql(victim, "DROP TABLE documentos")
    p = cl.pgmm("ddl", "CREATE TABLE extra (id int PRIMARY KEY)", check=False)
    assert p.returncode == 1
    assert "documentos is managed by pgmm but missing on master %s" % victim in p.stderr
    assert "pgmm.sync_local" not in p.stderr and "CONTEXT" not in p.stderr
    assert "nothing was changed on any master" in p.stderr
    for n in cl.names:
        assert cl.sql(n, "SELECT to_regclass('extra') IS NULL") == "t"


def test_status_on_a_database_without_pgmm(cluster):
    cl = cluster
    ci = cl.conninfo[cl.names[0]]
    # No schema pgmm (3F000 / 42P01 from the server, not its wording).
    p = pgmm("-d", ci, "status", check=False)
    assert p.returncode == 1
    assert "not part of a pgmm cluster" in p.stderr and "pgmm init" in p.stderr
    # A schema pgmm that is not pgmm's catalog (no pgmm.nodes): the same.
    cl.sql(cl.names[0], "CREATE SCHEMA pgmm")
    p = pgmm("-d", ci, "status", check=False)
    assert p.returncode == 1 and "not part of a pgmm cluster" in p.stderr
    # A broken catalog is not "no cluster": the server's error is shown.
    cl.sql(cl.names[0], "CREATE TABLE pgmm.nodes (name text)")
    p = pgmm("-d", ci, "status", check=False)
    assert p.returncode == 1
    assert "not part of a pgmm cluster" not in p.stderr
    assert "column n.conninfo does not exist" in p.stderr
    cl.sql(cl.names[0], "DROP SCHEMA pgmm CASCADE")
