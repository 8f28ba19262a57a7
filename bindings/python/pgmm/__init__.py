"""pgmm -- DB-API 2.0 (PEP 249) driver for a pgmm multi-master PostgreSQL cluster.

A pure-ctypes binding of libpgmm: every statement is routed by libpgmm to
the master that owns the row; results are libpq results converted to
Python values.  Standard library only.

    import pgmm
    conn = pgmm.connect("host=127.0.0.1 port=5501 dbname=app user=app")
    cur = conn.cursor()
    n = conn.next_id("expedientes")
    cur.execute("INSERT INTO expedientes (id, estado, titulo) VALUES (%s, %s, %s)", (n, 1, "x"))
    print(cur.lastnode)          # the master that owns row n
    conn.commit()

Parameters (``paramstyle = 'format'``): ``%s`` placeholders with a sequence,
``%(name)s`` with a mapping ('pyformat' is accepted too), ``%%`` for a
literal percent sign; they are turned into PostgreSQL's ``$1, $2, ...`` and
sent with pgmm_exec_params, never interpolated into the SQL text.  A query
that has no ``%s`` placeholder is sent unchanged, so PostgreSQL's own
``$1`` placeholders work as well: ``cur.execute("... WHERE id = $1", [n])``.
Without parameters (``params`` None) the text is sent as is.

Transactions follow DB-API: ``autocommit`` is False by default (as in
psycopg), the first statement opens a transaction (pgmm's deferred BEGIN),
``commit()``/``rollback()`` end it.  A pgmm transaction is bound to the
master of its first statement that needs one: a later write of a row owned
by another master raises ``CrossOwnerError`` (SQLSTATE PM002).  Commit
between writes that belong to different masters, or set
``conn.autocommit = True`` so each statement is its own transaction.

See README.md beside this package for the type mapping and the admin API
(``pgmm.admin``).
"""
import ctypes
import datetime
import time as _time

from . import _native
from . import _types
from .errors import (  # noqa: F401 - re-exported
    Warning, Error, InterfaceError, DatabaseError, DataError, OperationalError,
    IntegrityError, InternalError, ProgrammingError, NotSupportedError,
    NotOwnerError, CrossOwnerError, NoShardError, RefusedError, NodeDownError, FrozenError,
    TransactionRollbackError, AdminError,
    SQLSTATE_NOT_OWNER, SQLSTATE_CROSS_OWNER, SQLSTATE_NO_SHARD, SQLSTATE_REFUSED,
    SQLSTATE_NODE_DOWN, SQLSTATE_FROZEN, class_for_sqlstate,
)
from ._types import Json, STRING, BINARY, NUMBER, DATETIME, ROWID  # noqa: F401

__version__ = "0.1.0"

apilevel = "2.0"
threadsafety = 1          # threads may share the module, not connections
paramstyle = "format"     # %s; %(name)s with a mapping ('pyformat') also works

# Transaction states (Connection.transaction_status), as libpq's.
TRANSACTION_IDLE = _native.PQTRANS_IDLE
TRANSACTION_ACTIVE = _native.PQTRANS_ACTIVE
TRANSACTION_INTRANS = _native.PQTRANS_INTRANS
TRANSACTION_INERROR = _native.PQTRANS_INERROR
TRANSACTION_UNKNOWN = _native.PQTRANS_UNKNOWN

# ------------------------------------------------------------------ constructors (PEP 249)
Date = datetime.date
Time = datetime.time
Timestamp = datetime.datetime


def DateFromTicks(ticks):
    return Date(*_time.localtime(ticks)[:3])


def TimeFromTicks(ticks):
    return Time(*_time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks):
    return Timestamp(*_time.localtime(ticks)[:6])


def Binary(value):
    return bytes(value)


def version():
    """libpgmm's version string (loads the library)."""
    return _native.load().pgmm_version().decode()


# Python codec names for PostgreSQL client encodings; others go through
# Python's codec lookup of the lower-cased name.
_ENCODINGS = {
    "UTF8": "utf-8", "SQL_ASCII": "utf-8", "LATIN1": "latin-1", "LATIN2": "iso8859-2",
    "LATIN9": "iso8859-15", "WIN1250": "cp1250", "WIN1251": "cp1251", "WIN1252": "cp1252",
    "EUC_JP": "euc_jp", "SJIS": "shift_jis", "GBK": "gbk", "UHC": "cp949", "BIG5": "big5",
    "KOI8R": "koi8-r", "ISO_8859_5": "iso8859-5",
}


def _python_encoding(pg_name):
    if not pg_name:
        return "utf-8"
    enc = _ENCODINGS.get(pg_name.upper())
    if enc:
        return enc
    import codecs
    try:
        return codecs.lookup(pg_name.lower()).name
    except LookupError:
        return "utf-8"


def _check_str(value, what):
    if not isinstance(value, str):
        raise TypeError("pgmm: %s must be a str, not %s" % (what, type(value).__name__))
    if "\x00" in value:
        raise DataError("pgmm: %s cannot contain NUL (0x00) characters" % what)


def _error_from_result(lib, res, encoding, node=None):
    """An exception for an error PGresult (res may be NULL: then None)."""
    def field(code):
        return _native.text(lib.pgmm_result_error_field(res, code), encoding)

    sqlstate = _native.text(lib.pgmm_result_sqlstate(res), encoding)
    full = (_native.text(lib.pgmm_result_error_message(res), encoding) or "").strip()
    primary = field(_native.PG_DIAG_MESSAGE_PRIMARY)
    if not full:
        full = primary or "unknown error"
    if sqlstate:
        full += "\nSQLSTATE: %s" % sqlstate
    cls = class_for_sqlstate(sqlstate)
    return cls(full, sqlstate=sqlstate,
               severity=field(_native.PG_DIAG_SEVERITY_NONLOCALIZED) or field(_native.PG_DIAG_SEVERITY),
               primary=primary, detail=field(_native.PG_DIAG_MESSAGE_DETAIL),
               hint=field(_native.PG_DIAG_MESSAGE_HINT), node=node)


class Connection:
    """A connection to the whole cluster through one home master."""

    # PEP 249 optional extension: the exceptions as connection attributes.
    Warning = Warning
    Error = Error
    InterfaceError = InterfaceError
    DatabaseError = DatabaseError
    DataError = DataError
    OperationalError = OperationalError
    IntegrityError = IntegrityError
    InternalError = InternalError
    ProgrammingError = ProgrammingError
    NotSupportedError = NotSupportedError

    def __init__(self, conninfo, autocommit=False):
        _check_str(conninfo, "conninfo")
        self._lib = _native.load()
        self._h = None
        self._autocommit = bool(autocommit)
        self._encoding = "utf-8"
        h = self._lib.pgmm_connect(conninfo.encode("utf-8"))
        if not h:
            raise OperationalError("pgmm: cannot connect: out of memory")
        if self._lib.pgmm_status(h) != _native.CONNECTION_OK:
            msg = (_native.text(self._lib.pgmm_error_message(h)) or "").strip()
            sqlstate = _native.text(self._lib.pgmm_error_sqlstate(h))
            self._lib.pgmm_finish(h)
            raise OperationalError("pgmm: cannot connect to the cluster: %s" % (msg or "unknown error"),
                                   sqlstate=sqlstate)
        self._h = h
        self._encoding = _python_encoding(self._param("client_encoding"))
        # Result conversion parses ISO dates; make sure the session uses them.
        datestyle = self._param("DateStyle") or "ISO"
        if not datestyle.upper().startswith("ISO"):
            self._simple("SET DateStyle TO 'ISO, MDY'")
        intervalstyle = self._param("IntervalStyle")
        if intervalstyle and intervalstyle != "postgres":
            self._simple("SET IntervalStyle TO postgres")

    # -------------------------------------------------------------- internals
    def _param(self, name):
        return _native.text(self._lib.pgmm_parameter_status(self._h, name.encode()))

    def _handle(self):
        if self._h is None:
            raise InterfaceError("pgmm: the connection is closed")
        return self._h

    def _conn_error(self, what):
        msg = (_native.text(self._lib.pgmm_error_message(self._h), self._encoding) or "").strip()
        return OperationalError("pgmm: %s: %s" % (what, msg or "no result (connection lost?)"))

    def _call_error(self, what, default=None):
        """The exception for a failed pgmm call that returns no result
        (next_id, key_owner, ...): its class from the connection's last-error
        SQLSTATE (pgmm_error_sqlstate), default (ProgrammingError) when the
        call set none."""
        h = self._h
        msg = (_native.text(self._lib.pgmm_error_message(h), self._encoding) or "").strip()
        sqlstate = _native.text(self._lib.pgmm_error_sqlstate(h))
        cls = class_for_sqlstate(sqlstate) if sqlstate else (default or ProgrammingError)
        full = "pgmm: %s: %s" % (what, msg or "failed")
        if sqlstate:
            full += "\nSQLSTATE: %s" % sqlstate
        return cls(full, sqlstate=sqlstate)

    def _run(self, sql, values=None):
        """Run sql (values: None for the simple protocol, else a list of
        parameters for $1..$n); return a PGresult pointer whose status is
        OK (the caller clears it) or raise the error it carries."""
        lib = self._lib
        h = self._handle()
        bsql = sql.encode(self._encoding)
        if values is None:
            res = lib.pgmm_exec(h, bsql)
        else:
            n = len(values)
            cvals = (ctypes.c_char_p * max(n, 1))()
            lens = (ctypes.c_int * max(n, 1))()
            fmts = (ctypes.c_int * max(n, 1))()
            for i, v in enumerate(values):
                b, fmt = _types.adapt(v, self._encoding)
                cvals[i] = b
                lens[i] = len(b) if b is not None else 0
                fmts[i] = fmt
            res = lib.pgmm_exec_params(h, bsql, n, None, cvals, lens, fmts, 0)
        if not res:
            raise self._conn_error("the statement could not be sent")
        st = lib.PQresultStatus(res)
        if st in (_native.PGRES_COMMAND_OK, _native.PGRES_TUPLES_OK, _native.PGRES_EMPTY_QUERY,
                  _native.PGRES_SINGLE_TUPLE):
            return res
        try:
            if st in (_native.PGRES_COPY_IN, _native.PGRES_COPY_OUT, _native.PGRES_COPY_BOTH):
                raise NotSupportedError("pgmm: COPY is not supported through the router")
            raise _error_from_result(lib, res, self._encoding, node=self.lastnode)
        finally:
            lib.PQclear(res)

    def _simple(self, sql):
        self._lib.PQclear(self._run(sql))

    def _begin_if_needed(self):
        if not self._autocommit and self.transaction_status == TRANSACTION_IDLE:
            self._simple("BEGIN")

    # -------------------------------------------------------------- PEP 249
    def cursor(self):
        self._handle()
        return Cursor(self)

    def commit(self):
        """Commit the current transaction (no-op when there is none).  A
        transaction that failed was rolled back by the server: commit then
        raises OperationalError after ending it."""
        self._handle()
        st = self.transaction_status
        if st == TRANSACTION_IDLE:
            return
        res = self._run("COMMIT")
        try:
            status = _native.text(self._lib.pgmm_result_cmd_status(res)) or ""
        finally:
            self._lib.PQclear(res)
        if status.startswith("ROLLBACK"):
            raise OperationalError("pgmm: COMMIT rolled back the transaction: an earlier statement "
                                   "in it failed; nothing was committed")

    def rollback(self):
        self._handle()
        if self.transaction_status == TRANSACTION_IDLE:
            return
        self._simple("ROLLBACK")

    def close(self):
        """Close every master connection (an open transaction is rolled
        back by the servers).  Closing twice is allowed."""
        if self._h is not None:
            h, self._h = self._h, None
            self._lib.pgmm_finish(h)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        self._handle()
        return self

    def __exit__(self, exc_type, exc, tb):
        """Commit (or roll back on an exception), then close."""
        try:
            if self._h is not None:
                if exc_type is None:
                    self.commit()
                else:
                    self.rollback()
        finally:
            self.close()

    # -------------------------------------------------------------- extensions
    @property
    def closed(self):
        return self._h is None

    @property
    def autocommit(self):
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value):
        self._handle()
        if self.transaction_status != TRANSACTION_IDLE:
            raise ProgrammingError("pgmm: cannot change autocommit inside a transaction "
                                   "(commit or roll back first)")
        self._autocommit = bool(value)

    @property
    def transaction_status(self):
        """One of TRANSACTION_IDLE/INTRANS/INERROR/ACTIVE/UNKNOWN."""
        return self._lib.pgmm_transaction_status(self._handle())

    @property
    def lastnode(self):
        """The master that ran the last statement (pgmm_last_node): None
        when pgmm answered alone, 'm1,m2,m3' for a broadcast."""
        if self._h is None:
            return None
        return _native.text(self._lib.pgmm_last_node(self._h))

    last_node = lastnode

    @property
    def encoding(self):
        return self._encoding

    @property
    def nodes(self):
        """Names of the masters in the cached map."""
        h = self._handle()
        return [_native.text(self._lib.pgmm_node_name(h, i)) for i in range(self._lib.pgmm_node_count(h))]

    @property
    def home_node(self):
        return _native.text(self._lib.pgmm_home_node(self._handle()))

    @property
    def map_epoch(self):
        return self._lib.pgmm_map_epoch(self._handle())

    @property
    def server_version(self):
        return self._lib.pgmm_server_version(self._handle())

    def next_id(self, table, node=None):
        """A new key for table's integer key column (pgmm_next_id): unique
        across the cluster.  Inside a bound transaction its shard is owned by
        the transaction's master; node= asks for one owned by that master."""
        h = self._handle()
        _check_str(table, "table")
        if node is not None:
            _check_str(node, "node")
        out = ctypes.c_int64()
        if node is None:
            rc = self._lib.pgmm_next_id(h, table.encode(self._encoding), ctypes.byref(out))
        else:
            rc = self._lib.pgmm_next_id_for(h, table.encode(self._encoding), node.encode(), ctypes.byref(out))
        if rc != 0:
            raise self._call_error("next_id(%r)" % table)
        return out.value

    def key_owner(self, table, key):
        """Name of the master owning table's row with this key (given as a
        Python value; None: SQL NULL), from the cached map."""
        h = self._handle()
        _check_str(table, "table")
        kb = None if key is None else _types.to_text(key, self._encoding).encode(self._encoding)
        r = self._lib.pgmm_key_owner(h, table.encode(self._encoding), kb)
        if r is None:
            raise self._call_error("key_owner(%r, %r)" % (table, key))
        return _native.text(r)

    def refresh_map(self):
        """Reload the map when the catalog changed: True reloaded, False unchanged."""
        h = self._handle()
        rc = self._lib.pgmm_refresh_map(h)
        if rc < 0:
            raise self._conn_error("refreshing the map failed")
        return rc == 1

    def execute(self, sql, params=None):
        """Shortcut: a new cursor, execute, return the cursor."""
        cur = self.cursor()
        cur.execute(sql, params)
        return cur


class Column(tuple):
    """One entry of Cursor.description: (name, type_code, display_size,
    internal_size, precision, scale, null_ok), with attribute access."""

    __slots__ = ()

    def __new__(cls, *fields):
        return tuple.__new__(cls, fields)

    name = property(lambda self: self[0])
    type_code = property(lambda self: self[1])
    display_size = property(lambda self: self[2])
    internal_size = property(lambda self: self[3])
    precision = property(lambda self: self[4])
    scale = property(lambda self: self[5])
    null_ok = property(lambda self: self[6])


class Cursor:
    def __init__(self, connection):
        self.connection = connection
        self.arraysize = 1
        self._closed = False
        self._reset()

    def _reset(self):
        self._clear()
        self.description = None
        self.rowcount = -1
        self.rownumber = None
        self.lastrowid = None
        self.lastnode = None
        self.statusmessage = None
        self.query = None

    def _clear(self):
        res = getattr(self, "_res", None)
        self._res = None
        self._ntuples = 0
        self._convs = None
        if res:
            self.connection._lib.PQclear(res)

    def _check(self):
        if self._closed:
            raise InterfaceError("pgmm: the cursor is closed")
        if self.connection.closed:
            raise InterfaceError("pgmm: the connection is closed")

    @property
    def closed(self):
        return self._closed

    def close(self):
        if not self._closed:
            self._clear()
            self._closed = True

    def __del__(self):
        try:
            self._clear()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def execute(self, operation, parameters=None):
        """Run one statement.  parameters: a sequence (%s placeholders, or
        the query's own $n), a mapping (%(name)s), or None (the text is sent
        as is).  Returns the cursor."""
        self._check()
        _check_str(operation, "the query")
        conn = self.connection
        if parameters is None:
            sql, values = operation, None
        else:
            sql, values = _types.convert_query(operation, parameters)
        self._reset()
        self.query = sql
        conn._begin_if_needed()
        try:
            res = conn._run(sql, values)
        finally:
            self.lastnode = conn.lastnode
        self._res = res
        lib = conn._lib
        self.statusmessage = _native.text(lib.pgmm_result_cmd_status(res))
        if lib.PQresultStatus(res) in (_native.PGRES_TUPLES_OK, _native.PGRES_SINGLE_TUPLE):
            nf = lib.PQnfields(res)
            desc = []
            convs = []
            for i in range(nf):
                oid = lib.PQftype(res, i)
                mod = lib.PQfmod(res, i)
                size = lib.PQfsize(res, i)
                prec = scale = None
                if oid == _types.NUMERIC and mod >= 4:
                    prec, scale = ((mod - 4) >> 16) & 0xFFFF, (mod - 4) & 0xFFFF
                desc.append(Column(_native.text(lib.PQfname(res, i), conn._encoding), oid, None,
                                   size if size >= 0 else None, prec, scale, None))
                convs.append(_types.converter(oid))
            self.description = desc
            self._convs = convs
            self._ntuples = lib.PQntuples(res)
            self.rowcount = self._ntuples
            self.rownumber = 0
        else:
            tuples = _native.text(lib.pgmm_result_cmd_tuples(res)) or ""
            if not tuples:
                tuples = _native.text(lib.pgmm_cmd_tuples(conn._h)) or ""
            self.rowcount = int(tuples) if tuples.isdigit() else -1
            self._clear()
        return self

    def executemany(self, operation, seq_of_parameters):
        """execute() for each parameter set; rowcount is the total (or -1)."""
        self._check()
        total = 0
        for params in seq_of_parameters:
            self.execute(operation, params)
            total = -1 if total < 0 or self.rowcount < 0 else total + self.rowcount
        self._clear()
        self.description = None
        self.rowcount = total
        return self

    def _row(self, r):
        lib = self.connection._lib
        res = self._res
        enc = self.connection._encoding
        out = []
        for i, (conv, wants_str) in enumerate(self._convs):
            if lib.PQgetisnull(res, r, i):
                out.append(None)
                continue
            raw = ctypes.string_at(lib.PQgetvalue(res, r, i), lib.PQgetlength(res, r, i))
            try:
                out.append(conv(raw.decode(enc) if wants_str else raw))
            except (ValueError, ArithmeticError) as e:
                raise DataError("pgmm: cannot convert column %r value %r: %s"
                                % (self.description[i][0], raw[:80], e)) from None
        return tuple(out)

    def _need_result(self):
        self._check()
        if self._res is None and self.description is None:
            raise ProgrammingError("pgmm: no results to fetch (no query run, or it returned no rows)")

    def fetchone(self):
        self._need_result()
        if self._res is None or self.rownumber >= self._ntuples:
            return None
        row = self._row(self.rownumber)
        self.rownumber += 1
        return row

    def fetchmany(self, size=None):
        self._need_result()
        if size is None:
            size = self.arraysize
        rows = []
        while len(rows) < size:
            row = self.fetchone()
            if row is None:
                break
            rows.append(row)
        return rows

    def fetchall(self):
        self._need_result()
        rows = []
        while True:
            row = self.fetchone()
            if row is None:
                return rows
            rows.append(row)

    def __iter__(self):
        while True:
            row = self.fetchone()
            if row is None:
                return
            yield row

    def setinputsizes(self, sizes):
        pass

    def setoutputsize(self, size, column=None):
        pass


def connect(conninfo, autocommit=False):
    """Connect to a pgmm cluster through any one master.

    conninfo: a libpq conninfo string or URI, plus pgmm's options
    (pgmm_read=local|any|owner, pgmm_retries=N, pgmm_id_block=N, ...).
    Raises OperationalError with libpq's or pgmm's message on failure."""
    return Connection(conninfo, autocommit=autocommit)


from . import admin  # noqa: E402,F401 - pgmm.admin
