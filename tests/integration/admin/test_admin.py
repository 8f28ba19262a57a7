"""Integration tests of the server side and the `pgmm` admin command (issue 2).

Real masters, real rows: every assertion reads what the servers hold.
"""
import json
import re
import subprocess
import threading


from conftest import pgmm, wait_until

NOTES_SCHEMA = (
    "CREATE TABLE estados (id int PRIMARY KEY, nombre text NOT NULL);"
    "CREATE TABLE expedientes (id int PRIMARY KEY, estado int NOT NULL REFERENCES estados (id),"
    " titulo text, creado timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE documentos (expediente_id int NOT NULL REFERENCES expedientes (id), n int NOT NULL,"
    " contenido text, PRIMARY KEY (expediente_id, n));"
)


def setup_notes(cl, shards=16):
    cl.init()
    cl.pgmm("ddl", NOTES_SCHEMA)
    cl.sql(cl.names[0], "INSERT INTO estados VALUES (1, 'Alta'), (2, 'Cancelado'), (3, 'Finalizado')")
    cl.pgmm("reference", "estados")
    cl.pgmm("distribute", "expedientes", "id", "--shards", str(shards))
    cl.pgmm("distribute", "documentos", "expediente_id", "--colocate-with", "expedientes")


def shard_owner(cl, table, remainder):
    return cl.sql(cl.names[0], "SELECT s.owner FROM pgmm.shards s JOIN pgmm.tables t ON t.colocation = s.colocation "
                  "WHERE t.table_name = '%s' AND s.remainder = %d" % (table, remainder))


def server_remainder(cl, node, table, key, shards):
    return int(cl.sql(node, "SELECT r FROM generate_series(0, %d) r WHERE satisfies_hash_partition("
                      "'%s'::regclass, %d, r, %s)" % (shards - 1, table, shards, key)))


def count_rows(cl, node, table):
    return int(cl.sql(node, "SELECT count(*) FROM %s" % table))


# ---------------------------------------------------------------- the notes' scenario

def test_notes_scenario_concurrent_plain_sql(cluster):
    cl = cluster
    setup_notes(cl)
    per_master = 150
    script = "".join("INSERT INTO expedientes (estado, titulo) VALUES (1, 'exp %d');\n" % i
                     for i in range(per_master))
    errors = []

    def writer(node):
        p = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", cl.conninfo[node]],
                           input=script, capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            errors.append((node, p.stderr))

    threads = [threading.Thread(target=writer, args=(n,)) for n in cl.names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    total = per_master * len(cl.names)
    for n in cl.names:
        wait_until(lambda n=n: count_rows(cl, n, "expedientes") == total, what="%s to hold every row" % n)
    # No id repeats, and every master places every row in the same shard.
    placement = cl.all("SELECT string_agg(id || ':' || tableoid::regclass::text, ',' ORDER BY id) FROM expedientes")
    assert len(set(placement.values())) == 1
    ids = [int(x.split(":")[0]) for x in placement[cl.names[0]].split(",")]
    assert len(ids) == len(set(ids)) == total
    # The shard is the one the server computes, and it is owned by the master
    # whose allocator slot produced the id (id mod stride = slot).
    stride = int(cl.sql(cl.names[0], "SELECT stride FROM pgmm.cluster"))
    slots = dict(tuple(l.split("|")) for l in cl.sql(cl.names[0], "SELECT slot, name FROM pgmm.nodes").splitlines())
    bad = cl.sql(cl.names[1], "SELECT count(*) FROM expedientes e WHERE NOT satisfies_hash_partition("
                 "'expedientes'::regclass, 16, substring(e.tableoid::regclass::text from '_s([0-9]+)$')::int, e.id)")
    assert bad == "0"
    owners = {}
    for line in cl.sql(cl.names[0], "SELECT e.id, s.owner FROM expedientes e JOIN pgmm.shards s ON s.colocation = 1 "
                       "AND s.remainder = substring(e.tableoid::regclass::text from '_s([0-9]+)$')::int").splitlines():
        i, o = line.split("|")
        owners[int(i)] = o
    for i, o in owners.items():
        assert slots[str(i % stride)] == o, "id %d lives in a shard of %s" % (i, o)
    per_owner = {n: sum(1 for o in owners.values() if o == n) for n in cl.names}
    assert per_owner == {n: per_master for n in cl.names}
    cl.wait_converged()


def test_write_on_non_owner_is_refused_and_owner_write_replicates(cluster):
    cl = cluster
    setup_notes(cl)
    key = 1000
    r = server_remainder(cl, cl.names[0], "expedientes", key, 16)
    owner = shard_owner(cl, "expedientes", r)
    other = next(n for n in cl.names if n != owner)
    p = cl.sql(other, "INSERT INTO expedientes (id, estado, titulo) VALUES (%d, 1, 'x')" % key, check=False)
    assert p.returncode != 0
    assert "PM001" in p.stderr
    assert "owner=%s epoch=" % owner in p.stderr
    assert "shard %d" % r in p.stderr and "expedientes_s%d" % r in p.stderr
    for n in cl.names:
        assert count_rows(cl, n, "expedientes") == 0
    cl.sql(owner, "INSERT INTO expedientes (id, estado, titulo) VALUES (%d, 1, 'x')" % key)
    for n in cl.names:
        wait_until(lambda n=n: cl.sql(n, "SELECT titulo FROM expedientes WHERE id = %d" % key) == "x",
                   what="row on %s" % n)
    # UPDATE and DELETE of the row are refused on a non-owner too; the
    # owner's UPDATE replicates (apply workers are not stopped by guards).
    for stmt in ("UPDATE expedientes SET titulo = 'y' WHERE id = %d" % key,
                 "DELETE FROM expedientes WHERE id = %d" % key):
        p = cl.sql(other, stmt, check=False)
        assert p.returncode != 0 and "PM001" in p.stderr
    cl.sql(owner, "UPDATE expedientes SET titulo = 'y' WHERE id = %d" % key)
    for n in cl.names:
        wait_until(lambda n=n: cl.sql(n, "SELECT titulo FROM expedientes WHERE id = %d" % key) == "y",
                   what="update on %s" % n)
    # TRUNCATE would empty foreign shards locally: refused everywhere.
    for n in cl.names:
        p = cl.sql(n, "TRUNCATE expedientes CASCADE", check=False)
        assert p.returncode != 0 and "PM001" in p.stderr and "TRUNCATE" in p.stderr
    # The reference table: written on its owner only.
    p = cl.sql(cl.names[1], "INSERT INTO estados VALUES (4, 'Archivado')", check=False)
    assert p.returncode != 0 and "PM001" in p.stderr and "owner=%s" % cl.names[0] in p.stderr
    cl.sql(cl.names[0], "INSERT INTO estados VALUES (4, 'Archivado')")
    for n in cl.names:
        wait_until(lambda n=n: cl.sql(n, "SELECT nombre FROM estados WHERE id = 4") == "Archivado",
                   what="estados row on %s" % n)
    cl.wait_converged()


def test_colocated_child_lands_on_parent_owner(cluster):
    cl = cluster
    setup_notes(cl)
    for n in cl.names:
        eid = int(cl.sql(n, "INSERT INTO expedientes (estado, titulo) VALUES (1, 'padre') RETURNING id"))
        # Children of a parent written on master n are written on n as well.
        cl.sql(n, "BEGIN; INSERT INTO documentos VALUES (%d, 1, 'a'), (%d, 2, 'b'); COMMIT" % (eid, eid))
        part_parent = cl.sql(n, "SELECT tableoid::regclass FROM expedientes WHERE id = %d" % eid)
        part_child = cl.sql(n, "SELECT DISTINCT tableoid::regclass FROM documentos WHERE expediente_id = %d" % eid)
        assert part_parent.split("_s")[-1] == part_child.split("_s")[-1]
        other = next(m for m in cl.names if m != n)
        p = cl.sql(other, "INSERT INTO documentos VALUES (%d, 3, 'c')" % eid, check=False)
        assert p.returncode != 0 and "PM001" in p.stderr and "owner=%s" % n in p.stderr
    cl.wait_converged()
    for n in cl.names:
        assert count_rows(cl, n, "documentos") == 2 * len(cl.names)


def test_distribute_table_with_existing_rows(cluster):
    cl = cluster
    cl.init()
    cl.pgmm("ddl", "CREATE TABLE clientes (id serial PRIMARY KEY, nombre text NOT NULL, alta date DEFAULT current_date)")
    first = cl.names[0]
    cl.sql(first, "INSERT INTO clientes (nombre) SELECT 'cliente ' || g FROM generate_series(1, 1000) g")
    before = cl.sql(first, "SELECT md5(string_agg(id || nombre, ',' ORDER BY id)) FROM clientes")
    cl.pgmm("distribute", "clientes", "id", "--shards", "8")
    for n in cl.names:
        assert count_rows(cl, n, "clientes") == 1000
        assert cl.sql(n, "SELECT md5(string_agg(id || nombre, ',' ORDER BY id)) FROM clientes") == before
        assert cl.sql(n, "SELECT count(DISTINCT tableoid) FROM clientes") == "8"
        assert cl.sql(n, "SELECT count(*) FROM clientes c WHERE NOT satisfies_hash_partition('clientes'::regclass, 8, "
                      "substring(c.tableoid::regclass::text from '_s([0-9]+)$')::int, c.id)") == "0"
    # New rows on every master get ids past the imported ones.
    for n in cl.names:
        new = int(cl.sql(n, "INSERT INTO clientes (nombre) VALUES ('nuevo') RETURNING id"))
        assert new > 1000
    for n in cl.names:
        wait_until(lambda n=n: count_rows(cl, n, "clientes") == 1000 + len(cl.names), what="new rows on %s" % n)
    cl.wait_converged()


def test_ddl_adds_a_column_everywhere_and_replication_keeps_working(cluster):
    cl = cluster
    setup_notes(cl)
    cl.pgmm("ddl", "ALTER TABLE expedientes ADD COLUMN prioridad int NOT NULL DEFAULT 3")
    for n in cl.names:
        assert cl.sql(n, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                      "WHERE attrelid = 'expedientes'::regclass AND attname = 'prioridad'") == "integer"
        # The partitions got it too.
        assert cl.sql(n, "SELECT count(*) FROM pg_attribute a JOIN pg_inherits i ON i.inhrelid = a.attrelid "
                      "WHERE i.inhparent = 'expedientes'::regclass AND a.attname = 'prioridad'") == "16"
    ids = [cl.sql(n, "INSERT INTO expedientes (estado, prioridad) VALUES (1, 7) RETURNING id") for n in cl.names]
    for n in cl.names:
        wait_until(lambda n=n: cl.sql(n, "SELECT count(*) FROM expedientes WHERE prioridad = 7") == str(len(ids)),
                   what="new column replicated to %s" % n)
    epochs = cl.all("SELECT epoch FROM pgmm.cluster")
    assert len(set(epochs.values())) == 1


def test_failed_ddl_changes_no_master(cluster):
    cl = cluster
    cl.init()
    last = cl.names[-1]
    # Only the last master already has table b, so creating a and b fails there.
    cl.sql(last, "CREATE TABLE b (id int)")
    epoch = cl.sql(cl.names[0], "SELECT epoch FROM pgmm.cluster")
    p = cl.pgmm("ddl", "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY)", check=False)
    assert p.returncode == 1
    assert "master %s" % last in p.stderr and "already exists" in p.stderr
    assert "nothing was changed" in p.stderr
    for n in cl.names:
        assert cl.sql(n, "SELECT to_regclass('a') IS NULL") == "t"
        assert cl.sql(n, "SELECT epoch FROM pgmm.cluster") == epoch
        assert cl.sql(n, "SELECT count(*) FROM pg_prepared_xacts") == "0"


# ---------------------------------------------------------------- bad input

def test_distribute_refusals(cluster):
    cl = cluster
    cl.init()
    cl.pgmm("ddl", "CREATE TABLE t (id int PRIMARY KEY, f float8, j jsonb, code text, other int UNIQUE);"
                   "CREATE TABLE nopk (id int);"
                   "CREATE TABLE f8 (f float8 PRIMARY KEY);"
                   "CREATE TABLE t2 (id int PRIMARY KEY);")
    cases = [
        (("distribute", "nosuchtable", "id"), 'table "nosuchtable" does not exist'),
        (("distribute", "t", "nosuchcolumn"), 'column "nosuchcolumn" does not exist'),
        (("distribute", "f8", "f"), "cannot route on"),
        (("distribute", "t", "id"), "must be part of every unique constraint"),
        (("distribute", "nopk", "id"), "no primary key"),
        (("distribute", "t2", "id", "--shards", "0"), "--shards"),
        (("distribute", "t2", "id", "--colocate-with", "nopk"), "not a distributed table"),
        (("reference", "nosuchtable"), 'does not exist'),
        (("reference", "t", "--owner", "nobody"), 'unknown master "nobody"'),
    ]
    for args, msg in cases:
        p = cl.pgmm(*args, check=False)
        assert p.returncode != 0, args
        assert msg in p.stderr, (args, p.stderr)
    # A table that differs between masters is refused.
    cl.sql(cl.names[1], "ALTER TABLE nopk ADD COLUMN extra int")
    cl.sql(cl.names[0], "ALTER TABLE nopk ADD PRIMARY KEY (id)")
    p = cl.pgmm("distribute", "nopk", "id", check=False)
    assert p.returncode == 1 and "not the same on every master" in p.stderr
    # Nondeterministic collation (ICU), when the server has ICU.
    has_icu = cl.sql(cl.names[0], "SELECT count(*) FROM pg_collation WHERE collprovider = 'i'") != "0"
    if has_icu:
        cl.pgmm("ddl", "CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);"
                       "CREATE TABLE ct (code text COLLATE ci PRIMARY KEY)")
        p = cl.pgmm("distribute", "ct", "code", check=False)
        assert p.returncode == 1 and "nondeterministic collation" in p.stderr
    # Nothing of the above reached the catalog.
    for n in cl.names:
        assert cl.sql(n, "SELECT count(*) FROM pgmm.tables") == "0"
        assert cl.sql(n, "SELECT epoch FROM pgmm.cluster") == cl.sql(cl.names[0], "SELECT epoch FROM pgmm.cluster")


def test_usage_and_conninfo_errors(cluster):
    cl = cluster
    p = pgmm("-d", "this is not a conninfo", "status", check=False)
    assert p.returncode == 1 and "invalid connection string" in p.stderr
    p = pgmm("-d", "host=127.0.0.1 port=1 connect_timeout=2", "status", check=False)
    assert p.returncode == 1 and "unreachable" in p.stderr
    p = pgmm("-d", cl.conninfo[cl.names[0]], "status", check=False)
    assert p.returncode == 1 and "not part of a pgmm cluster" in p.stderr
    p = pgmm("init", "--node", "m1=" + cl.conninfo[cl.names[0]], check=False)
    assert p.returncode == 1 and "at least 2 masters" in p.stderr
    p = pgmm("init", "--node", "Bad-Name=" + cl.conninfo[cl.names[0]], "--node", "m2=" + cl.conninfo[cl.names[1]],
             check=False)
    assert p.returncode == 1 and "invalid master name" in p.stderr
    p = pgmm("init", "--node", "m1=" + cl.conninfo[cl.names[0]], "--node", "m2=" + cl.conninfo[cl.names[0]],
             check=False)
    assert p.returncode == 1 and "same server and database" in p.stderr
    p = pgmm("init", "--node", "a=" + cl.conninfo[cl.names[0]], "--node", "b=port=notaport", check=False)
    assert p.returncode == 1 and "master b" in p.stderr
    p = pgmm("frobnicate", check=False)
    assert p.returncode == 2 and "unknown command" in p.stderr
    p = pgmm("-d", cl.conninfo[cl.names[0]], "ddl", check=False)
    assert p.returncode == 2
    for n in cl.names:
        assert cl.sql(n, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgmm'") == "0"


def test_init_refuses_second_cluster_and_master_down(cluster):
    cl = cluster
    down = cl.names[-1]
    cl.stop_node(down)
    try:
        p = cl.init(suffix=" connect_timeout=3", check=False)
        assert p.returncode == 1
        assert "master %s" % down in p.stderr and "unreachable" in p.stderr and "nothing was changed" in p.stderr
    finally:
        cl.start_node(down)
    for n in cl.names:
        assert cl.sql(n, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgmm'") == "0"
        assert cl.sql(n, "SELECT count(*) FROM pg_subscription") == "0"
    cl.init()
    p = cl.init(check=False)
    assert p.returncode == 1 and "already belongs to a pgmm cluster" in p.stderr


def test_ddl_with_a_master_down_changes_nothing(cluster):
    cl = cluster
    cl.init()
    down = cl.names[-1]
    cl.stop_node(down)
    try:
        p = cl.pgmm("ddl", "CREATE TABLE during_outage (id int PRIMARY KEY)", check=False)
        assert p.returncode == 1
        assert "master %s" % down in p.stderr and "unreachable" in p.stderr
        p = cl.pgmm("status")
        assert re.search(r"^\s+%s\s+DOWN" % down, p.stdout, re.M), p.stdout
    finally:
        cl.start_node(down)
    for n in cl.names:
        assert cl.sql(n, "SELECT to_regclass('during_outage') IS NULL") == "t"
    # Back up: the same DDL now works everywhere.
    cl.pgmm("ddl", "CREATE TABLE during_outage (id int PRIMARY KEY)")
    for n in cl.names:
        assert cl.sql(n, "SELECT to_regclass('during_outage') IS NOT NULL") == "t"


def test_init_checks_server_settings(cluster):
    cl = cluster
    target = cl.names[-1]
    cl.sql(target, "ALTER SYSTEM SET max_prepared_transactions = 0")
    cl.stop_node(target)
    cl.start_node(target)
    try:
        p = cl.init(check=False)
        assert p.returncode == 1 and "max_prepared_transactions" in p.stderr and "master %s" % target in p.stderr
    finally:
        cl.sql(target, "ALTER SYSTEM RESET max_prepared_transactions")
        cl.stop_node(target)
        cl.start_node(target)
    cl.sql(target, "ALTER SYSTEM SET wal_level = replica")
    cl.stop_node(target)
    cl.start_node(target)
    try:
        p = cl.init(check=False)
        assert p.returncode == 1 and "wal_level" in p.stderr and "master %s" % target in p.stderr
    finally:
        cl.sql(target, "ALTER SYSTEM RESET wal_level")
        cl.stop_node(target)
        cl.start_node(target)
    for n in cl.names:
        assert cl.sql(n, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgmm'") == "0"


# ---------------------------------------------------------------- status and verify

def test_status_text_and_json(cluster):
    cl = cluster
    setup_notes(cl)
    p = cl.pgmm("status")
    for n in cl.names:
        assert re.search(r"^\s+%s\s+up" % n, p.stdout, re.M)
    assert "expedientes  distributed by id (int4), 16 shards" in p.stdout
    assert "estados  reference, owner %s" % cl.names[0] in p.stdout
    js = json.loads(cl.pgmm("status", "--json").stdout)
    assert [m["name"] for m in js["masters"]] == cl.names
    assert all(m["up"] for m in js["masters"])
    assert len({m["epoch"] for m in js["masters"]}) == 1
    counts = {s["owner"]: s["count"] for s in js["shards"] if s["colocation"] == 1}
    assert sum(counts.values()) == 16 and set(counts) == set(cl.names)
    assert len(js["subscriptions"]) == len(cl.names) * (len(cl.names) - 1)
    wait_until(lambda: all(s["state"] == "streaming" for s in
                           json.loads(cl.pgmm("status", "--json").stdout)["subscriptions"]),
               what="all subscriptions streaming")


def test_status_shows_stalled_subscription_and_verify_finds_divergence(cluster):
    cl = cluster
    setup_notes(cl)
    key = 4242
    r = server_remainder(cl, cl.names[0], "expedientes", key, 16)
    owner = shard_owner(cl, "expedientes", r)
    victim = next(n for n in cl.names if n != owner)
    # Plant a conflicting row on the victim behind pgmm's back (the guard is
    # bypassed like an apply worker would), then write the same key on the
    # owner: the victim's apply worker hits a unique violation and stalls.
    cl.sql(victim, "SET session_replication_role = replica; "
                   "INSERT INTO expedientes (id, estado, titulo) VALUES (%d, 1, 'planted')" % key)
    p = cl.pgmm("verify", check=False)
    assert p.returncode == 3 and "DIFFERS" in p.stdout
    cl.sql(owner, "INSERT INTO expedientes (id, estado, titulo) VALUES (%d, 1, 'real')" % key)

    def stalled():
        js = json.loads(cl.pgmm("status", "--json").stdout)
        return [s for s in js["subscriptions"] if s["state"] == "STALLED"]
    subs = wait_until(stalled, timeout=60, what="a STALLED subscription")
    assert subs[0]["subscriber"] == victim and subs[0]["publisher"] == owner
    assert subs[0]["apply_errors"] > 0
    text = cl.pgmm("status").stdout
    assert re.search(r"%s <- %s\s+STALLED" % (victim, owner), text), text
    # Repair: remove the planted row; the subscription resumes and converges.
    cl.sql(victim, "SET session_replication_role = replica; DELETE FROM expedientes WHERE id = %d" % key)
    cl.wait_converged()
    for n in cl.names:
        assert cl.sql(n, "SELECT titulo FROM expedientes WHERE id = %d" % key) == "real"


def test_catalog_never_stores_password(cluster):
    cl = cluster
    cl.init(suffix=" password=s3cret-pw")
    for n in cl.names:
        assert "s3cret" not in cl.sql(n, "SELECT string_agg(conninfo, ' ') FROM pgmm.nodes")


def test_frozen_table_refuses_writes_until_recover(cluster):
    # A table enters the catalog frozen and is unfrozen once every
    # subscription has picked it up; if that second step did not happen
    # (a master down at that moment), writes stay refused everywhere, even
    # on the owner, and `pgmm recover` finishes the job.
    cl = cluster
    setup_notes(cl)
    for n in cl.names:
        assert cl.sql(n, "SELECT count(*) FROM pgmm.tables WHERE frozen") == "0"
    cl.pgmm("ddl", "UPDATE pgmm.tables SET frozen = true WHERE table_name = 'estados'")
    owner = cl.names[0]
    p = cl.sql(owner, "INSERT INTO estados VALUES (9, 'Nueve')", check=False)
    assert p.returncode != 0 and "PM006" in p.stderr and "being added to the cluster" in p.stderr
    assert "FROZEN" in cl.pgmm("status").stdout
    cl.pgmm("recover")
    cl.sql(owner, "INSERT INTO estados VALUES (9, 'Nueve')")
    for n in cl.names:
        wait_until(lambda n=n: cl.sql(n, "SELECT nombre FROM estados WHERE id = 9") == "Nueve",
                   what="estados row on %s" % n)
