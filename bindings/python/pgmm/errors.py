"""DB-API 2.0 exception hierarchy, with pgmm's SQLSTATEs.

    Warning
    Error
     +-- InterfaceError             misuse of the binding, library not found
     +-- DatabaseError
          +-- DataError             class 22 (bad value), NUL in a string
          +-- OperationalError      classes 08 53 54 55 57 58 F0 HV, connect failures
          |    +-- NotOwnerError    PM001 a master refused a write to a shard it does not own
          |    +-- NoShardError     PM003 a master owns no shard to draw an ID for
          |    +-- NodeDownError    PM005 the master a statement needs is unreachable
          |    +-- FrozenError      PM006 retryable: a catalog change froze the table
          |    +-- AdminError       an admin operation (pgmm_admin_*) failed
          |    +-- TransactionRollbackError  class 40 (serialization failure, deadlock)
          +-- IntegrityError        class 23
          +-- InternalError         classes 25 2D XX (and P0 raised by PL/pgSQL)
          +-- ProgrammingError      classes 26 34 3D 3F 42 2F, misuse of the API
          +-- NotSupportedError     class 0A
               +-- CrossOwnerError  PM002 a transaction bound to one master needs another
               +-- RefusedError     PM004 a statement pgmm refuses (DDL, COPY, ...)

Every error raised for a server (or pgmm) error carries ``sqlstate`` (also
as ``pgcode``, psycopg2's name), ``severity``, ``primary``, ``detail``,
``hint`` and ``node`` (the master that answered, when pgmm knows it).
"""


class Warning(Exception):  # noqa: A001 - the name is mandated by PEP 249
    pass


class Error(Exception):
    def __init__(self, message="", sqlstate=None, severity=None, primary=None,
                 detail=None, hint=None, node=None):
        super().__init__(message)
        self.sqlstate = sqlstate
        self.severity = severity
        self.primary = primary if primary is not None else message
        self.detail = detail
        self.hint = hint
        self.node = node

    @property
    def pgcode(self):
        return self.sqlstate


class InterfaceError(Error):
    pass


class DatabaseError(Error):
    pass


class DataError(DatabaseError):
    pass


class OperationalError(DatabaseError):
    pass


class IntegrityError(DatabaseError):
    pass


class InternalError(DatabaseError):
    pass


class ProgrammingError(DatabaseError):
    pass


class NotSupportedError(DatabaseError):
    pass


class NotOwnerError(OperationalError):
    """PM001: a master refused a write to a shard it does not own."""


class CrossOwnerError(NotSupportedError):
    """PM002: the transaction is bound to one master, the statement needs another."""


class NoShardError(OperationalError):
    """PM003: a master owns no shard to draw an ID for."""


class RefusedError(NotSupportedError):
    """PM004: a statement pgmm refuses (DDL: use Admin.ddl; COPY; several statements; ...)."""


class NodeDownError(OperationalError):
    """PM005: the master the statement needs is unreachable."""


class FrozenError(OperationalError):
    """PM006: retryable; a catalog change (pgmm ddl, distribute, reference) froze the table for a moment."""


class TransactionRollbackError(OperationalError):
    """Class 40: serialization failure, deadlock; retry the transaction."""


class AdminError(OperationalError):
    """An admin operation (pgmm.admin) failed; the message says what and where."""


SQLSTATE_NOT_OWNER = "PM001"
SQLSTATE_CROSS_OWNER = "PM002"
SQLSTATE_NO_SHARD = "PM003"
SQLSTATE_REFUSED = "PM004"
SQLSTATE_NODE_DOWN = "PM005"
SQLSTATE_FROZEN = "PM006"

_BY_SQLSTATE = {
    SQLSTATE_NOT_OWNER: NotOwnerError,
    SQLSTATE_CROSS_OWNER: CrossOwnerError,
    SQLSTATE_NO_SHARD: NoShardError,
    SQLSTATE_REFUSED: RefusedError,
    SQLSTATE_NODE_DOWN: NodeDownError,
    SQLSTATE_FROZEN: FrozenError,
}

_BY_CLASS = {
    "0A": NotSupportedError,
    "08": OperationalError,
    "22": DataError,
    "23": IntegrityError,
    "25": InternalError,
    "26": ProgrammingError,
    "28": OperationalError,
    "2B": InternalError,
    "2D": InternalError,
    "2F": ProgrammingError,
    "34": ProgrammingError,
    "3B": InternalError,
    "3D": ProgrammingError,
    "3F": ProgrammingError,
    "40": TransactionRollbackError,
    "42": ProgrammingError,
    "44": ProgrammingError,
    "53": OperationalError,
    "54": OperationalError,
    "55": OperationalError,
    "57": OperationalError,
    "58": OperationalError,
    "F0": OperationalError,
    "HV": OperationalError,
    "P0": InternalError,
    "XX": InternalError,
}


def class_for_sqlstate(sqlstate):
    """The exception class for a SQLSTATE (DatabaseError when unknown)."""
    if not sqlstate:
        return DatabaseError
    cls = _BY_SQLSTATE.get(sqlstate)
    if cls is not None:
        return cls
    if sqlstate.startswith("PM"):
        return OperationalError
    return _BY_CLASS.get(sqlstate[:2], DatabaseError)
