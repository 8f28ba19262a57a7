"""pgmm's admin API (pgmm_admin_*): install and change a cluster.

    import pgmm.admin
    pgmm.admin.init(["m1=host=... dbname=app", "m2=host=... dbname=app"])
    with pgmm.admin.Admin("host=... dbname=app") as adm:
        adm.ddl("CREATE TABLE estados (id int PRIMARY KEY, nombre text NOT NULL)")
        adm.reference("estados")
        adm.distribute("expedientes", "id", shards=16)
        print(adm.status()["masters"])

Every failure raises pgmm.AdminError with the library's message.
"""
import collections
import ctypes
import json as _json

from . import _native
from .errors import AdminError, DataError

VerifyResult = collections.namedtuple("VerifyResult", "diverged report")
VerifyResult.__doc__ = """Result of Admin.verify(): diverged is the number of
differences found (0: every table identical on every master), report the
library's text report, one line per table."""


def _b(value, what, optional=False):
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise TypeError("pgmm: %s must be a str, not %s" % (what, type(value).__name__))
    if "\x00" in value:
        raise DataError("pgmm: %s cannot contain NUL (0x00) characters" % what)
    return value.encode("utf-8")


def _node_specs(nodes):
    """Accept ["NAME=CONNINFO", ...], [(name, conninfo), ...] or {name: conninfo}."""
    if isinstance(nodes, (str, bytes)) or nodes is None:
        raise TypeError("pgmm: nodes must be a list of 'NAME=CONNINFO' strings, (name, conninfo) "
                        "pairs or a dict, not %s" % type(nodes).__name__)
    items = nodes.items() if hasattr(nodes, "items") else nodes
    specs = []
    for item in items:
        if isinstance(item, str):
            specs.append(item)
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            specs.append("%s=%s" % (item[0], item[1]))
        else:
            raise TypeError("pgmm: bad node %r: expected 'NAME=CONNINFO' or (name, conninfo)" % (item,))
    return [_b(s, "a node") for s in specs]


def init(nodes, stride=0):
    """Install a new cluster on the masters (at least 2): pgmm_admin_init.

    nodes: ["NAME=CONNINFO", ...], [(name, conninfo), ...] or {name: conninfo}.
    stride: allocator stride (0: the default, 10)."""
    lib = _native.load()
    specs = _node_specs(nodes)
    if not isinstance(stride, int) or isinstance(stride, bool):
        raise TypeError("pgmm: stride must be an int")
    arr = (ctypes.c_char_p * max(len(specs), 1))(*specs)
    err = ctypes.c_void_p()
    rc = lib.pgmm_admin_init(arr, len(specs), stride, ctypes.byref(err))
    if rc != 0:
        msg = _native.take_string(err.value) if err.value else None
        raise AdminError("pgmm: init failed: %s" % (msg or "unknown error").strip())


class Admin:
    """A handle for admin operations on the cluster reached through one master."""

    def __init__(self, conninfo):
        self._lib = _native.load()
        self._h = None
        self._notice = None
        b = _b(conninfo, "conninfo")
        h = self._lib.pgmm_admin_connect(b)
        if not h:
            raise AdminError("pgmm: admin connect: out of memory")
        if not self._lib.pgmm_admin_ok(h):
            msg = _native.text(self._lib.pgmm_admin_error(h)) or "unknown error"
            self._lib.pgmm_admin_finish(h)
            raise AdminError("pgmm: admin connect failed: %s" % msg.strip())
        self._h = h

    def _handle(self):
        if self._h is None:
            raise AdminError("pgmm: the admin handle is closed")
        return self._h

    def _fail(self, what):
        msg = _native.text(self._lib.pgmm_admin_error(self._h)) or "unknown error"
        return AdminError("pgmm: %s failed: %s" % (what, msg.strip()))

    def close(self):
        if self._h is not None:
            h, self._h = self._h, None
            self._lib.pgmm_admin_finish(h)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def closed(self):
        return self._h is None

    def set_notice(self, callback):
        """callback(message: str) gets the progress messages of admin
        operations; None: silent."""
        h = self._handle()
        if callback is None:
            self._notice = None
            self._lib.pgmm_admin_set_notice(h, _native.NOTICE_FN(), None)
            return

        def trampoline(_arg, msg):
            try:
                callback(msg.decode("utf-8", "replace") if msg is not None else "")
            except Exception:  # never let an exception cross into C
                pass
        self._notice = _native.NOTICE_FN(trampoline)   # keep it alive
        self._lib.pgmm_admin_set_notice(h, self._notice, None)

    def ddl(self, sql):
        """Apply SQL on every master in one two-phase commit."""
        if self._lib.pgmm_admin_ddl(self._handle(), _b(sql, "sql")) != 0:
            raise self._fail("ddl")

    def reference(self, table, owner=None):
        """Make table a reference table written on owner (None: the master
        this handle connected through)."""
        if self._lib.pgmm_admin_reference(self._handle(), _b(table, "table"),
                                          _b(owner, "owner", optional=True)) != 0:
            raise self._fail("reference %s" % table)

    def distribute(self, table, column, shards=0, colocate_with=None):
        """Hash-distribute table by column into shards partitions (0: the
        default, 16), or colocated with another distributed table."""
        if not isinstance(shards, int) or isinstance(shards, bool):
            raise TypeError("pgmm: shards must be an int")
        if self._lib.pgmm_admin_distribute(self._handle(), _b(table, "table"), _b(column, "column"),
                                           shards, _b(colocate_with, "colocate_with", optional=True)) != 0:
            raise self._fail("distribute %s" % table)

    def status(self, json=True):
        """Cluster status: a dict (json=True: masters, tables, shards,
        subscriptions) or the text report (json=False)."""
        ptr = self._lib.pgmm_admin_status(self._handle(), 1 if json else 0)
        if not ptr:
            raise self._fail("status")
        text = _native.take_string(ptr)
        return _json.loads(text) if json else text

    def verify(self):
        """Compare every pgmm table across masters: VerifyResult(diverged, report)."""
        n = ctypes.c_int()
        ptr = self._lib.pgmm_admin_verify(self._handle(), ctypes.byref(n))
        if not ptr:
            raise self._fail("verify")
        return VerifyResult(n.value, _native.take_string(ptr))

    def recover(self):
        """Finish or undo two-phase transactions a failed master left
        prepared; returns how many were resolved."""
        n = ctypes.c_int()
        if self._lib.pgmm_admin_recover(self._handle(), ctypes.byref(n)) != 0:
            raise self._fail("recover")
        return n.value

    def uninstall(self):
        """Remove pgmm (subscriptions, publication, catalog) from every
        master; tables and rows stay."""
        if self._lib.pgmm_admin_uninstall(self._handle()) != 0:
            raise self._fail("uninstall")
