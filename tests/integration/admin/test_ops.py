"""Issue #8, operations: a ddl body may not hold transaction control,
lock_timeout and a lost PREPARE answer, pgmm drop, verify's checksum and
report, status's STALLED rule.  Real masters, no mocks.
"""
import pytest

from test_admin import setup_notes


def prepared_everywhere(cl):
    return {n: cl.sql(n, "SELECT coalesce(string_agg(gid, ' ' ORDER BY gid), '') FROM pg_prepared_xacts "
                         "WHERE database = current_database()") for n in cl.names}


# ---------------------------------------------------------------- A: transaction control in a ddl body

REFUSED_BODIES = [
    "BEGIN; CREATE TABLE t8 (a int); COMMIT",
    "CREATE TABLE t8 (a int); COMMIT",
    "COMMIT",
    "CREATE TABLE t8 (a int); ROLLBACK",
    "CREATE TABLE t8 (a int); PREPARE TRANSACTION 'x8'",
    "COMMIT PREPARED 'x8'",
    "ROLLBACK PREPARED 'x8'",
    "SAVEPOINT s; CREATE TABLE t8 (a int)",
    "CREATE TABLE t8 (a int); SAVEPOINT s; ROLLBACK TO SAVEPOINT s",
    "CREATE TABLE t8 (a int); end",
    "CREATE TABLE t8 (a int); COMMIT AND CHAIN",
]


@pytest.mark.parametrize("body", REFUSED_BODIES)
def test_ddl_body_with_transaction_control_is_refused(cluster, body):
    cl = cluster
    cl.init()
    epochs = cl.all("SELECT epoch FROM pgmm.cluster")
    p = cl.pgmm("ddl", body, check=False)
    assert p.returncode != 0
    assert "transaction control" in p.stderr and "nothing was run" in p.stderr, p.stderr
    for n in cl.names:
        assert cl.sql(n, "SELECT to_regclass('t8') IS NULL") == "t"
    assert prepared_everywhere(cl) == {n: "" for n in cl.names}
    assert cl.all("SELECT epoch FROM pgmm.cluster") == epochs
    assert len(set(epochs.values())) == 1
    # pgmm still works after the refusal, and quoted or commented words are not statements
    cl.pgmm("ddl", "CREATE TABLE t8 (a int, b text DEFAULT 'COMMIT; BEGIN'); -- ROLLBACK\n"
                   "COMMENT ON TABLE t8 IS $c$PREPARE TRANSACTION 'y'; COMMIT$c$")
    for n in cl.names:
        assert cl.sql(n, "SELECT to_regclass('t8') IS NOT NULL") == "t"
    assert prepared_everywhere(cl) == {n: "" for n in cl.names}
    after = cl.all("SELECT epoch FROM pgmm.cluster")
    assert set(after.values()) == {str(int(epochs[cl.names[0]]) + 1)}
