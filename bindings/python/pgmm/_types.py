"""Python values <-> PostgreSQL text format.

Parameters are sent in text format (bytes values in binary format, which
for bytea is the raw bytes), with type OID 0: the server infers each
parameter's type from the statement, exactly as for psql's $n.  Results are
requested in text format and converted by the column's type OID.
"""
import datetime
import decimal
import json
import math
import re
import uuid

from . import errors

# ------------------------------------------------------------------ type OIDs
BOOL = 16
BYTEA = 17
CHAR = 18
NAME = 19
INT8 = 20
INT2 = 21
INT4 = 23
REGPROC = 24
TEXT = 25
OID = 26
JSON = 114
XML = 142
FLOAT4 = 700
FLOAT8 = 701
UNKNOWN = 705
MONEY = 790
BPCHAR = 1042
VARCHAR = 1043
DATE = 1082
TIME = 1083
TIMESTAMP = 1114
TIMESTAMPTZ = 1184
INTERVAL = 1186
TIMETZ = 1266
NUMERIC = 1700
REGCLASS = 2205
UUID = 2950
JSONB = 3802

# array type OID -> element type OID
ARRAY_OF = {
    1000: BOOL, 1001: BYTEA, 1002: CHAR, 1003: NAME, 1005: INT2, 1007: INT4,
    1009: TEXT, 1014: BPCHAR, 1015: VARCHAR, 1016: INT8, 1021: FLOAT4,
    1022: FLOAT8, 1028: OID, 1115: TIMESTAMP, 1182: DATE, 1183: TIME,
    1185: TIMESTAMPTZ, 1187: INTERVAL, 1231: NUMERIC, 1270: TIMETZ,
    2951: UUID, 199: JSON, 3807: JSONB,
}


# ------------------------------------------------------------------ parameters

def _float_text(f):
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "Infinity" if f > 0 else "-Infinity"
    return repr(f)


def _interval_text(td):
    return "%d days %d seconds %d microseconds" % (td.days, td.seconds, td.microseconds)


def _array_elem(v, encoding):
    if v is None:
        return "NULL"
    if isinstance(v, (list, tuple)):
        return _array_text(v, encoding)
    if isinstance(v, (bytes, bytearray, memoryview)):
        s = "\\x" + bytes(v).hex()
    else:
        s = to_text(v, encoding)
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _array_text(seq, encoding):
    return "{" + ",".join(_array_elem(v, encoding) for v in seq) + "}"


def to_text(value, encoding="utf-8"):
    """Text form of a non-NULL, non-bytes Python value (raises ProgrammingError
    for types it cannot adapt)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, decimal.Decimal):
        if value.is_snan():
            raise errors.DataError("pgmm: a signalling NaN Decimal cannot be sent")
        if value.is_nan():
            return "NaN"
        return str(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return _interval_text(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return _array_text(value, encoding)
    if isinstance(value, Json):
        return value.dumps()
    raise errors.ProgrammingError("pgmm: cannot adapt a parameter of type %s "
                                  "(supported: None, bool, int, float, Decimal, str, bytes, "
                                  "date, time, datetime, timedelta, UUID, list/tuple, pgmm.Json)"
                                  % type(value).__name__)


def adapt(value, encoding):
    """(bytes or None, format) for one parameter: 0 text, 1 binary."""
    if value is None:
        return None, 0
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value), 1
    s = to_text(value, encoding)
    if "\x00" in s:
        raise errors.DataError("pgmm: a string parameter cannot contain NUL (0x00) characters")
    return s.encode(encoding), 0


class Json:
    """Wrap a Python object to send it as json/jsonb text."""

    def __init__(self, obj, dumps=json.dumps):
        self.obj = obj
        self._dumps = dumps

    def dumps(self):
        return self._dumps(self.obj)

    def __repr__(self):
        return "Json(%r)" % (self.obj,)


# ------------------------------------------------------------------ query text

_PLACEHOLDER_RE = re.compile(r"%%|%s|%\(")

def convert_query(query, params):
    """Turn a DB-API query ('format'/'pyformat' placeholders) into a query
    with $n placeholders and the list of parameter values in $n order.

    - params is a sequence: each %s becomes $1, $2, ...; %% is a literal %.
      A query without any %s is sent unchanged and the values bind to the
      PostgreSQL placeholders $1, $2, ... it already has (native style).
    - params is a mapping: each %(name)s becomes a $n (the same name, the
      same $n); %% is a literal %.
    """
    mapping = hasattr(params, "keys") and hasattr(params, "__getitem__")
    if not mapping and (isinstance(params, (str, bytes)) or not hasattr(params, "__iter__")):
        raise TypeError("pgmm: query parameters must be a sequence or a mapping, not %s"
                        % type(params).__name__)
    values = list(params) if not mapping else None
    if not mapping and not any(m.group() != "%%" for m in _PLACEHOLDER_RE.finditer(query)):
        # Native style: the query text is PostgreSQL's own, with $n; it is
        # sent unchanged (a % in it is just a %).
        return query, values
    out = []
    n_pos = 0
    names = {}
    named_values = []
    i = 0
    n = len(query)
    seen_placeholder = False
    while i < n:
        c = query[i]
        if c != "%":
            j = query.find("%", i)
            if j < 0:
                j = n
            out.append(query[i:j])
            i = j
            continue
        if i + 1 >= n:
            raise errors.ProgrammingError("pgmm: incomplete placeholder: '%' at the end of the query "
                                          "(write %% for a literal %)")
        nxt = query[i + 1]
        if nxt == "%":
            out.append("%")
            i += 2
        elif nxt == "s":
            if mapping:
                raise errors.ProgrammingError("pgmm: %s placeholder used with a mapping of parameters "
                                              "(use %(name)s, or pass a sequence)")
            n_pos += 1
            seen_placeholder = True
            out.append("$%d" % n_pos)
            i += 2
        elif nxt == "(":
            end = query.find(")", i + 2)
            if end < 0 or end + 1 >= n or query[end + 1] != "s":
                raise errors.ProgrammingError("pgmm: bad placeholder at offset %d: use %%(name)s" % i)
            if not mapping:
                raise errors.ProgrammingError("pgmm: %(name)s placeholder used with a sequence of "
                                              "parameters (pass a mapping)")
            name = query[i + 2:end]
            if name not in names:
                if name not in params:
                    raise errors.ProgrammingError("pgmm: no parameter named %r was given" % name)
                names[name] = len(names) + 1
                named_values.append(params[name])
            seen_placeholder = True
            out.append("$%d" % names[name])
            i = end + 2
        else:
            raise errors.ProgrammingError("pgmm: unsupported placeholder %%%s at offset %d (use %%s, "
                                          "%%(name)s, or %%%% for a literal %%)" % (nxt, i))
    if mapping:
        if not seen_placeholder and len(params):
            raise errors.ProgrammingError("pgmm: parameters given as a mapping but the query has no "
                                          "%(name)s placeholder")
        return "".join(out), named_values
    if n_pos != len(values):
        raise errors.ProgrammingError("pgmm: the query has %d placeholders but %d parameters were given"
                                      % (n_pos, len(values)))
    return "".join(out), values


# ------------------------------------------------------------------ results

def _bool(s):
    return s == "t"


def _bytea(raw):
    """raw: the bytes of a bytea value in text format (hex or escape)."""
    if raw[:2] == b"\\x":
        return bytes.fromhex(raw[2:].decode("ascii"))
    out = bytearray()
    i = 0
    n = len(raw)
    while i < n:
        c = raw[i]
        if c == 0x5C:  # backslash
            if raw[i + 1:i + 2] == b"\\":
                out.append(0x5C)
                i += 2
            else:
                out.append(int(raw[i + 1:i + 4], 8))
                i += 4
        else:
            out.append(c)
            i += 1
    return bytes(out)


def _float(s):
    return float(s)


def _date(s):
    try:
        return datetime.date.fromisoformat(s)
    except ValueError:
        return s  # infinity, BC, year > 9999: no Python date; keep the text


def _timestamp(s):
    try:
        return datetime.datetime.fromisoformat(s)
    except ValueError:
        return s


def _time(s):
    try:
        if s.startswith("24:"):
            return s
        return datetime.time.fromisoformat(s)
    except ValueError:
        return s


_INTERVAL_RE = re.compile(r"^(?:(-?\d+) days? ?)?(?:([+-])?(\d+):(\d\d):(\d\d)(?:\.(\d{1,6}))?)?$")


def _interval(s):
    m = _INTERVAL_RE.match(s)
    if not m or not s:
        return s  # months/years (no timedelta equivalent) or another IntervalStyle
    days, sign, h, mi, sec, frac = m.groups()
    td = datetime.timedelta(days=int(days or 0))
    if h is not None:
        t = datetime.timedelta(hours=int(h), minutes=int(mi), seconds=int(sec),
                               microseconds=int((frac or "0").ljust(6, "0")))
        td = td - t if sign == "-" else td + t
    return td


def _json(s):
    return json.loads(s)


_CONVERTERS = {
    BOOL: _bool,
    INT2: int, INT4: int, INT8: int, OID: int,
    FLOAT4: _float, FLOAT8: _float,
    NUMERIC: decimal.Decimal,
    DATE: _date,
    TIMESTAMP: _timestamp, TIMESTAMPTZ: _timestamp,
    TIME: _time, TIMETZ: _time,
    INTERVAL: _interval,
    UUID: uuid.UUID,
    JSON: _json, JSONB: _json,
}


def _parse_array(s, conv):
    """PostgreSQL array text output -> nested lists (conv applied to each
    non-NULL element given as str)."""
    if s.startswith("["):      # explicit bounds: "[0:1]={...}"
        s = s[s.index("=") + 1:]
    pos = 0

    def parse():
        nonlocal pos
        assert s[pos] == "{"
        pos += 1
        items = []
        if s[pos] == "}":
            pos += 1
            return items
        while True:
            c = s[pos]
            if c == "{":
                items.append(parse())
            elif c == '"':
                pos += 1
                buf = []
                while s[pos] != '"':
                    if s[pos] == "\\":
                        pos += 1
                    buf.append(s[pos])
                    pos += 1
                pos += 1
                items.append(conv("".join(buf)))
            else:
                j = pos
                while s[j] not in ",}":
                    j += 1
                tok = s[pos:j].strip()
                pos = j
                items.append(None if tok == "NULL" else conv(tok))
            if s[pos] == ",":
                pos += 1
                continue
            if s[pos] == "}":
                pos += 1
                return items
            raise ValueError("bad array literal")

    return parse()


def converter(oid):
    """A function raw bytes -> Python value for a column of type oid, and
    whether it wants str (decoded) input."""
    if oid == BYTEA:
        return _bytea, False
    elem = ARRAY_OF.get(oid)
    if elem is not None:
        if elem == BYTEA:
            def conv_bytea_array(s):
                return _parse_array(s, lambda e: _bytea(e.encode("ascii")))
            return conv_bytea_array, True
        inner = _CONVERTERS.get(elem, str)

        def conv_array(s):
            try:
                return _parse_array(s, inner)
            except (ValueError, IndexError, AssertionError):
                return s
        return conv_array, True
    return _CONVERTERS.get(oid, str), True


# ------------------------------------------------------------------ DB-API type objects

class DBAPITypeObject:
    def __init__(self, name, *oids):
        self.name = name
        self.values = frozenset(oids)

    def __eq__(self, other):
        if isinstance(other, DBAPITypeObject):
            return self.values == other.values
        return other in self.values

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(self.values)

    def __repr__(self):
        return "<pgmm type %s>" % self.name


STRING = DBAPITypeObject("STRING", TEXT, VARCHAR, BPCHAR, NAME, CHAR, UNKNOWN, JSON, JSONB, XML)
BINARY = DBAPITypeObject("BINARY", BYTEA)
NUMBER = DBAPITypeObject("NUMBER", INT2, INT4, INT8, OID, FLOAT4, FLOAT8, NUMERIC, MONEY)
DATETIME = DBAPITypeObject("DATETIME", DATE, TIME, TIMETZ, TIMESTAMP, TIMESTAMPTZ, INTERVAL)
ROWID = DBAPITypeObject("ROWID", OID)
