"""Loading libpgmm and declaring the C functions the binding calls.

The library is looked up, in this order:

1. the path in the environment variable ``PGMM_LIBRARY``;
2. ``ctypes.util.find_library("pgmm")`` (an installed libpgmm);
3. the in-tree build: ``<repo>/build/.libs/libpgmm.so``, where ``<repo>``
   is three directories above this package (bindings/python/pgmm).

libpq's own functions (PQntuples, PQgetvalue, PQclear, ...) are taken from
the same handle: the dynamic loader resolves them in libpgmm's dependency
libpq, so results are always read by the libpq that made them.

Loading happens on first use (connect, admin calls), not at import, so
``import pgmm`` works everywhere; a missing library raises
``pgmm.InterfaceError`` naming every place that was tried.
"""
import ctypes
import ctypes.util
import os
import threading

from . import errors

# libpq enums (libpq-fe.h); stable since PostgreSQL 7.4/9.x.
CONNECTION_OK = 0

PGRES_EMPTY_QUERY = 0
PGRES_COMMAND_OK = 1
PGRES_TUPLES_OK = 2
PGRES_COPY_OUT = 3
PGRES_COPY_IN = 4
PGRES_BAD_RESPONSE = 5
PGRES_NONFATAL_ERROR = 6
PGRES_FATAL_ERROR = 7
PGRES_COPY_BOTH = 8
PGRES_SINGLE_TUPLE = 9

PQTRANS_IDLE = 0
PQTRANS_ACTIVE = 1
PQTRANS_INTRANS = 2
PQTRANS_INERROR = 3
PQTRANS_UNKNOWN = 4

PG_DIAG_SEVERITY = ord("S")
PG_DIAG_SEVERITY_NONLOCALIZED = ord("V")
PG_DIAG_SQLSTATE = ord("C")
PG_DIAG_MESSAGE_PRIMARY = ord("M")
PG_DIAG_MESSAGE_DETAIL = ord("D")
PG_DIAG_MESSAGE_HINT = ord("H")
PG_DIAG_CONTEXT = ord("W")
PG_DIAG_SCHEMA_NAME = ord("s")
PG_DIAG_TABLE_NAME = ord("t")
PG_DIAG_COLUMN_NAME = ord("c")
PG_DIAG_CONSTRAINT_NAME = ord("n")

_P = ctypes.c_void_p          # PGMMconn *, PGMMadmin *, PGresult *
_S = ctypes.c_char_p          # const char * (copied into bytes by ctypes)
_I = ctypes.c_int
_OID = ctypes.c_uint

NOTICE_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)

# name: (restype, argtypes)
_SIGNATURES = {
    "pgmm_version": (_S, []),
    # router
    "pgmm_connect": (_P, [_S]),
    "pgmm_status": (_I, [_P]),
    "pgmm_error_message": (_S, [_P]),
    "pgmm_error_sqlstate": (_S, [_P]),
    "pgmm_finish": (None, [_P]),
    "pgmm_exec": (_P, [_P, _S]),
    "pgmm_exec_params": (_P, [_P, _S, _I, ctypes.POINTER(_OID), ctypes.POINTER(_S),
                              ctypes.POINTER(_I), ctypes.POINTER(_I), _I]),
    "pgmm_transaction_status": (_I, [_P]),
    "pgmm_next_id": (_I, [_P, _S, ctypes.POINTER(ctypes.c_int64)]),
    "pgmm_next_id_for": (_I, [_P, _S, _S, ctypes.POINTER(ctypes.c_int64)]),
    "pgmm_last_node": (_S, [_P]),
    "pgmm_cmd_tuples": (_S, [_P]),
    "pgmm_result_cmd_status": (_S, [_P]),
    "pgmm_result_cmd_tuples": (_S, [_P]),
    "pgmm_result_error_message": (_S, [_P]),
    "pgmm_result_error_field": (_S, [_P, _I]),
    "pgmm_result_sqlstate": (_S, [_P]),
    "pgmm_map_epoch": (ctypes.c_int64, [_P]),
    "pgmm_node_count": (_I, [_P]),
    "pgmm_node_name": (_S, [_P, _I]),
    "pgmm_home_node": (_S, [_P]),
    "pgmm_key_owner": (_S, [_P, _S, _S]),
    "pgmm_refresh_map": (_I, [_P]),
    "pgmm_server_version": (_I, [_P]),
    "pgmm_parameter_status": (_S, [_P, _S]),
    # admin
    "pgmm_admin_init": (_I, [ctypes.POINTER(_S), _I, _I, ctypes.POINTER(ctypes.c_void_p)]),
    "pgmm_admin_connect": (_P, [_S]),
    "pgmm_admin_ok": (_I, [_P]),
    "pgmm_admin_error": (_S, [_P]),
    "pgmm_admin_finish": (None, [_P]),
    "pgmm_admin_ddl": (_I, [_P, _S]),
    "pgmm_admin_reference": (_I, [_P, _S, _S]),
    "pgmm_admin_distribute": (_I, [_P, _S, _S, _I, _S]),
    "pgmm_admin_status": (ctypes.c_void_p, [_P, _I]),          # malloc'd
    "pgmm_admin_recover": (_I, [_P, ctypes.POINTER(_I)]),
    "pgmm_admin_verify": (ctypes.c_void_p, [_P, ctypes.POINTER(_I)]),  # malloc'd
    "pgmm_admin_uninstall": (_I, [_P]),
    "pgmm_admin_set_notice": (None, [_P, NOTICE_FN, ctypes.c_void_p]),
    # libpq, resolved through libpgmm's dependency
    "PQresultStatus": (_I, [_P]),
    "PQresStatus": (_S, [_I]),
    "PQntuples": (_I, [_P]),
    "PQnfields": (_I, [_P]),
    "PQfname": (_S, [_P, _I]),
    "PQftype": (_OID, [_P, _I]),
    "PQfmod": (_I, [_P, _I]),
    "PQfsize": (_I, [_P, _I]),
    "PQgetvalue": (ctypes.c_void_p, [_P, _I, _I]),
    "PQgetlength": (_I, [_P, _I, _I]),
    "PQgetisnull": (_I, [_P, _I, _I]),
    "PQclear": (None, [_P]),
}

_lock = threading.Lock()
_lib = None
_libc_free = None
_path = None


def _candidates():
    tried = []
    env = os.environ.get("PGMM_LIBRARY")
    if env:
        # An explicit choice is never silently replaced by another library.
        return [("PGMM_LIBRARY", env)]
    found = ctypes.util.find_library("pgmm")
    if found:
        tried.append(("find_library('pgmm')", found))
    here = os.path.dirname(os.path.abspath(__file__))
    intree = os.path.normpath(os.path.join(here, "..", "..", "..", "build", ".libs", "libpgmm.so"))
    tried.append(("in-tree build", intree))
    return tried


def load():
    """Return the loaded libpgmm (a ctypes.CDLL with signatures set)."""
    global _lib, _libc_free, _path
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is not None:
            return _lib
        attempts = []
        lib = None
        for how, path in _candidates():
            try:
                lib = ctypes.CDLL(path)
                _path = path
                break
            except OSError as e:
                attempts.append("%s: %s" % (how, e))
        if lib is None:
            if not attempts:
                attempts.append("find_library('pgmm'): not found")
            raise errors.InterfaceError(
                "pgmm: libpgmm could not be loaded; set PGMM_LIBRARY to the path of libpgmm.so "
                "(tried %s)" % "; ".join(attempts))
        for name, (restype, argtypes) in _SIGNATURES.items():
            try:
                fn = getattr(lib, name)
            except AttributeError:
                raise errors.InterfaceError("pgmm: %s (%s) does not export %s: library too old?"
                                            % (_path, "libpgmm", name)) from None
            fn.restype = restype
            fn.argtypes = argtypes
        libc = ctypes.CDLL(None)
        _libc_free = libc.free
        _libc_free.restype = None
        _libc_free.argtypes = [ctypes.c_void_p]
        _lib = lib
        return _lib


def library_path():
    """Path (or soname) of the loaded libpgmm; loads it if needed."""
    load()
    return _path


def take_string(ptr, encoding="utf-8"):
    """Copy a malloc'd C string returned by libpgmm into str and free() it."""
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr).decode(encoding, "replace")
    finally:
        _libc_free(ptr)


def text(b, encoding="utf-8"):
    """bytes from a const char * (or None) -> str (or None)."""
    if b is None:
        return None
    return b.decode(encoding, "replace")
