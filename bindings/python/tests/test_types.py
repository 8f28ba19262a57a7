"""Unit tests of the conversions (no server needed)."""
import datetime
import decimal
import os
import subprocess
import sys
import uuid

import pytest

import pgmm
from pgmm import _types


def test_convert_query_format():
    assert _types.convert_query("SELECT %s, %s", (1, "a")) == ("SELECT $1, $2", [1, "a"])
    assert _types.convert_query("SELECT '100%%' || %s", ["x"]) == ("SELECT '100%' || $1", ["x"])
    # No %s: PostgreSQL's own placeholders, text untouched.
    assert _types.convert_query("SELECT $1, '5%'", [1]) == ("SELECT $1, '5%'", [1])
    assert _types.convert_query("SELECT 1", []) == ("SELECT 1", [])
    with pytest.raises(pgmm.ProgrammingError):
        _types.convert_query("SELECT %s", ())
    with pytest.raises(pgmm.ProgrammingError):
        _types.convert_query("SELECT %s %", (1,))          # a stray % in a %s query
    with pytest.raises(pgmm.ProgrammingError):
        _types.convert_query("SELECT %s, %d", (1, 2))
    with pytest.raises(pgmm.ProgrammingError):
        _types.convert_query("SELECT %(a)s", (1,))
    with pytest.raises(TypeError):
        _types.convert_query("SELECT %s", "abc")


def test_convert_query_pyformat():
    sql, vals = _types.convert_query("UPDATE t SET a = %(a)s WHERE id = %(id)s AND b = %(a)s",
                                     {"id": 7, "a": "x", "unused": 1})
    assert sql == "UPDATE t SET a = $1 WHERE id = $2 AND b = $1"
    assert vals == ["x", 7]
    with pytest.raises(pgmm.ProgrammingError):
        _types.convert_query("SELECT %s", {"a": 1})
    with pytest.raises(pgmm.ProgrammingError):
        _types.convert_query("SELECT %(a", {"a": 1})
    with pytest.raises(pgmm.ProgrammingError):
        _types.convert_query("SELECT 1", {"a": 1})


def test_adapt():
    enc = "utf-8"
    assert _types.adapt(None, enc) == (None, 0)
    assert _types.adapt(True, enc) == (b"true", 0)
    assert _types.adapt(-5, enc) == (b"-5", 0)
    assert _types.adapt(float("nan"), enc) == (b"NaN", 0)
    assert _types.adapt(float("-inf"), enc) == (b"-Infinity", 0)
    assert _types.adapt(0.1, enc) == (b"0.1", 0)
    assert _types.adapt(decimal.Decimal("1.50"), enc) == (b"1.50", 0)
    assert _types.adapt(b"\x00a", enc) == (b"\x00a", 1)
    assert _types.adapt(memoryview(b"xy"), enc) == (b"xy", 1)
    assert _types.adapt(datetime.date(2024, 1, 2), enc) == (b"2024-01-02", 0)
    tz = datetime.timezone(datetime.timedelta(hours=-3, minutes=-30))
    assert _types.adapt(datetime.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=tz), enc) == \
        (b"2024-01-02 03:04:05.000006-03:30", 0)
    assert _types.adapt(datetime.timedelta(days=-1, seconds=5), enc) == (b"-1 days 5 seconds 0 microseconds", 0)
    assert _types.adapt(uuid.UUID(int=0), enc) == (b"00000000-0000-0000-0000-000000000000", 0)
    assert _types.adapt([1, None, "a\"b\\c", [2]], enc) == (b'{"1",NULL,"a\\"b\\\\c",{"2"}}', 0)
    assert _types.adapt(pgmm.Json([1, {"a": None}]), enc) == (b'[1, {"a": null}]', 0)
    assert _types.adapt("ñ", "latin-1") == (b"\xf1", 0)
    with pytest.raises(pgmm.DataError):
        _types.adapt("a\x00", enc)
    with pytest.raises(pgmm.ProgrammingError):
        _types.adapt({1: 2}, enc)


def conv(oid, text):
    fn, wants_str = _types.converter(oid)
    return fn(text if wants_str else text.encode())


def test_result_converters():
    assert conv(_types.BOOL, "t") is True and conv(_types.BOOL, "f") is False
    assert conv(_types.INT8, "-9223372036854775808") == -2**63
    assert conv(_types.NUMERIC, "NaN").is_nan()
    assert conv(_types.FLOAT8, "-Infinity") == float("-inf")
    assert conv(_types.BYTEA, "\\x00ff") == b"\x00\xff"
    assert conv(_types.BYTEA, "a\\\\b\\000\\377") == b"a\\b\x00\xff"      # bytea_output = escape
    assert conv(_types.TIMESTAMPTZ, "2024-01-02 03:04:05.5+05:30") == \
        datetime.datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30)))
    assert conv(_types.TIMESTAMPTZ, "1900-01-01 00:00:00+00:53:28").utcoffset() == datetime.timedelta(seconds=3208)
    assert conv(_types.TIMESTAMP, "infinity") == "infinity"
    assert conv(_types.DATE, "0044-03-15 BC") == "0044-03-15 BC"
    assert conv(_types.TIME, "24:00:00") == "24:00:00"
    assert conv(_types.INTERVAL, "3 days 04:05:06.5") == datetime.timedelta(days=3, hours=4, minutes=5, seconds=6.5)
    assert conv(_types.INTERVAL, "-1 days +00:00:01") == datetime.timedelta(days=-1, seconds=1)
    assert conv(_types.INTERVAL, "-00:00:01") == datetime.timedelta(seconds=-1)
    assert conv(_types.INTERVAL, "1 year 2 mons") == "1 year 2 mons"
    assert conv(_types.UUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11") == uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
    assert conv(_types.JSONB, '{"a": [1]}') == {"a": [1]}
    assert conv(1009, '{"a,b",NULL,"c\\"d",e}') == ["a,b", None, 'c"d', "e"]
    assert conv(1007, "[0:1]={{1,2},{3,NULL}}") == [[1, 2], [3, None]]
    assert conv(1007, "{}") == []
    assert conv(1001, '{"\\\\x00ff",NULL}') == [b"\x00\xff", None]
    assert conv(25, "plain") == "plain" and conv(99999, "x") == "x"


def test_exceptions():
    assert pgmm.class_for_sqlstate("PM001") is pgmm.NotOwnerError
    assert pgmm.class_for_sqlstate("PM004") is pgmm.RefusedError
    assert pgmm.class_for_sqlstate("PM005") is pgmm.NodeDownError
    assert pgmm.class_for_sqlstate("PM999") is pgmm.OperationalError
    assert pgmm.class_for_sqlstate("40001") is pgmm.TransactionRollbackError
    assert pgmm.class_for_sqlstate("22P02") is pgmm.DataError
    assert pgmm.class_for_sqlstate(None) is pgmm.DatabaseError
    e = pgmm.CrossOwnerError("x", sqlstate="PM002")
    assert e.pgcode == "PM002" and isinstance(e, pgmm.Error)


def test_library_not_found_message():
    code = ("import pgmm\n"
            "try:\n"
            "    pgmm.connect('host=x')\n"
            "except pgmm.InterfaceError as e:\n"
            "    print('IE', e)\n")
    env = dict(os.environ, PGMM_LIBRARY="/nonexistent/libpgmm.so")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       cwd=os.path.join(os.path.dirname(__file__), ".."))
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("IE ") and "PGMM_LIBRARY" in p.stdout and "/nonexistent/libpgmm.so" in p.stdout
