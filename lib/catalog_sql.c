/*
 * catalog_sql.c -- the server side of pgmm: schema "pgmm", identical on
 * every master, installed by `pgmm init` inside its two-phase commit.
 *
 * Rules for this SQL: plain SQL and PL/pgSQL only (no extension); every name
 * schema-qualified, because logical-replication apply workers run with
 * search_path = '' (nothing here runs during apply today, but a future
 * trigger must not trip over it).
 */
#include "pgmm_int.h"

const char pgmm_catalog_sql[] =
"CREATE SCHEMA pgmm;\n"
"COMMENT ON SCHEMA pgmm IS 'pgmm multi-master catalog: managed by the pgmm command, do not edit by hand';\n"

/* One row: the cluster.  epoch is bumped by every catalog change. */
"CREATE TABLE pgmm.cluster (\n"
"  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),\n"
"  cluster_id text NOT NULL,\n"
"  epoch bigint NOT NULL,\n"
"  stride integer NOT NULL CHECK (stride > 1),\n"
"  next_slot integer NOT NULL,\n"
"  catalog_version integer NOT NULL\n"
");\n"

/* The masters.  conninfo never holds a password. slot: allocator offset. */
"CREATE TABLE pgmm.nodes (\n"
"  name text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,23}$' AND name !~ '__'),\n"
"  conninfo text NOT NULL,\n"
"  slot integer NOT NULL UNIQUE,\n"
"  state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled'))\n"
");\n"

/* Which master this is: the only table whose content differs per master. */
"CREATE TABLE pgmm.local (\n"
"  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),\n"
"  node text NOT NULL REFERENCES pgmm.nodes (name)\n"
");\n"

/* Colocation groups: same key type and shard count; shard r of every
 * table of a group has the same owner. */
"CREATE TABLE pgmm.colocations (\n"
"  id integer PRIMARY KEY,\n"
"  key_type text NOT NULL,\n"
"  shards integer NOT NULL CHECK (shards BETWEEN 1 AND 4096)\n"
");\n"
"CREATE TABLE pgmm.shards (\n"
"  colocation integer NOT NULL REFERENCES pgmm.colocations (id),\n"
"  remainder integer NOT NULL,\n"
"  owner text NOT NULL REFERENCES pgmm.nodes (name),\n"
"  PRIMARY KEY (colocation, remainder)\n"
");\n"

/* Tables pgmm manages.  key_position: 1-based position of the key among
 * the table's live columns (for INSERT without a column list).  frozen: the
 * table was just added and the subscriptions have not picked it up yet:
 * every master refuses writes to it (a row written then would not
 * replicate), until pgmm unfreezes it after the refresh. */
"CREATE TABLE pgmm.tables (\n"
"  schema_name text NOT NULL,\n"
"  table_name text NOT NULL,\n"
"  kind text NOT NULL CHECK (kind IN ('reference', 'distributed')),\n"
"  key_column text,\n"
"  key_type text,\n"
"  key_position integer,\n"
"  colocation integer REFERENCES pgmm.colocations (id),\n"
"  owner text REFERENCES pgmm.nodes (name),\n"
"  frozen boolean NOT NULL DEFAULT false,\n"
"  PRIMARY KEY (schema_name, table_name),\n"
"  CHECK ((kind = 'reference' AND owner IS NOT NULL AND colocation IS NULL) OR\n"
"         (kind = 'distributed' AND owner IS NULL AND colocation IS NOT NULL\n"
"          AND key_column IS NOT NULL AND key_type IS NOT NULL))\n"
");\n"

/* The partition remainder PostgreSQL picks for an integer key:
 * (hashint8extended(v, seed) + 0x49a0f4dd15e5a8e3) mod 2^64 mod S.
 * hashint8extended equals hashint4/hashint2extended for values in their
 * range, so this serves int2, int4 and int8 keys. */
"CREATE FUNCTION pgmm.int_remainder(v bigint, shards integer) RETURNS integer\n"
"LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$\n"
"  SELECT (((pg_catalog.hashint8extended(v, 8816678312871386365)::pg_catalog.numeric\n"
"           + 18446744073709551616 + 5305509591434766563) % 18446744073709551616)\n"
"          % shards)::pg_catalog.int4\n"
"$$;\n"

/* The key DEFAULT of a distributed integer key: an ID from this master's
 * offset sequence that lands in a shard this master owns. */
"CREATE FUNCTION pgmm.next_id(shards integer, owned integer[]) RETURNS bigint\n"
"LANGUAGE plpgsql VOLATILE AS $$\n"
"DECLARE\n"
"  v bigint;\n"
"  tries integer := 0;\n"
"BEGIN\n"
"  IF owned IS NULL OR pg_catalog.cardinality(owned) = 0 THEN\n"
"    RAISE EXCEPTION USING ERRCODE = 'PM003',\n"
"      MESSAGE = 'pgmm: this master owns no shard of the table, so it cannot choose a key for a new row',\n"
"      HINT = 'Give the key explicitly and write through libpgmm, or insert on a master that owns shards.';\n"
"  END IF;\n"
"  LOOP\n"
"    v := pg_catalog.nextval('pgmm.id_seq'::pg_catalog.regclass);\n"
"    IF pgmm.int_remainder(v, shards) OPERATOR(pg_catalog.=) ANY (owned) THEN\n"
"      RETURN v;\n"
"    END IF;\n"
"    tries := tries + 1;\n"
"    IF tries > 100000 THEN\n"
"      RAISE EXCEPTION USING ERRCODE = 'PM003', MESSAGE = 'pgmm: no ID in 100000 draws hashes to an owned shard';\n"
"    END IF;\n"
"  END LOOP;\n"
"END\n"
"$$;\n"

/* Guard on a shard (or reference table) this master does not own.
 * TG_ARGV: owner, description.  With pgmm.foreign_rows = 'skip' an
 * UPDATE/DELETE silently skips the row (broadcast of a keyless write);
 * an INSERT always fails. */
"CREATE FUNCTION pgmm.guard() RETURNS trigger LANGUAGE plpgsql AS $$\n"
"BEGIN\n"
"  IF TG_OP OPERATOR(pg_catalog.<>) 'INSERT'\n"
"     AND pg_catalog.current_setting('pgmm.foreign_rows', true) OPERATOR(pg_catalog.=) 'skip' THEN\n"
"    RETURN NULL;\n"
"  END IF;\n"
"  RAISE EXCEPTION USING ERRCODE = 'PM001',\n"
"    MESSAGE = pg_catalog.format('pgmm: %s refused on %s.%s: %s is owned by master %s',\n"
"                                TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_ARGV[1], TG_ARGV[0]),\n"
"    DETAIL = pg_catalog.format('owner=%s epoch=%s', TG_ARGV[0], (SELECT c.epoch FROM pgmm.cluster c)),\n"
"    HINT = 'Write through libpgmm, which routes each write to its owner, or connect to the owner.';\n"
"END\n"
"$$;\n"
"CREATE FUNCTION pgmm.guard_truncate() RETURNS trigger LANGUAGE plpgsql AS $$\n"
"BEGIN\n"
"  RAISE EXCEPTION USING ERRCODE = 'PM001',\n"
"    MESSAGE = pg_catalog.format('pgmm: TRUNCATE refused on %s.%s: %s is owned by master %s',\n"
"                                TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_ARGV[1], TG_ARGV[0]),\n"
"    DETAIL = pg_catalog.format('owner=%s epoch=%s', TG_ARGV[0], (SELECT c.epoch FROM pgmm.cluster c)),\n"
"    HINT = 'TRUNCATE would empty only this master''s copy; delete through libpgmm instead.';\n"
"END\n"
"$$;\n"

/* Raise an error with a pgmm SQLSTATE: the router uses it so that errors
 * it decides (PM002, PM004, ...) reach the application as real server
 * errors, with every libpq error field set. */
"CREATE FUNCTION pgmm.raise(code text, message text, detail text DEFAULT NULL, hint text DEFAULT NULL)\n"
"RETURNS void LANGUAGE plpgsql AS $$\n"
"BEGIN\n"
"  IF detail IS NOT NULL AND hint IS NOT NULL THEN\n"
"    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message, DETAIL = detail, HINT = hint;\n"
"  ELSIF detail IS NOT NULL THEN\n"
"    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message, DETAIL = detail;\n"
"  ELSIF hint IS NOT NULL THEN\n"
"    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message, HINT = hint;\n"
"  ELSE\n"
"    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message;\n"
"  END IF;\n"
"END\n"
"$$;\n"

/* Put the guards on relation rel (owner NULL: take them off), only when
 * they are missing or name another owner. */
"CREATE FUNCTION pgmm._guard(s text, rel text, owner text, descr text) RETURNS void\n"
"LANGUAGE plpgsql AS $$\n"
"DECLARE\n"
"  relid pg_catalog.oid := pg_catalog.to_regclass(pg_catalog.format('%I.%I', s, rel));\n"
"  cur pg_catalog.bytea;\n"
"BEGIN\n"
"  IF relid IS NULL THEN\n"
"    RAISE EXCEPTION USING ERRCODE = 'PM004', MESSAGE = pg_catalog.format('pgmm: relation %I.%I is missing on this master', s, rel);\n"
"  END IF;\n"
"  SELECT t.tgargs INTO cur FROM pg_catalog.pg_trigger t\n"
"   WHERE t.tgrelid OPERATOR(pg_catalog.=) relid AND t.tgname OPERATOR(pg_catalog.=) 'pgmm_guard';\n"
"  IF owner IS NULL THEN\n"
"    IF cur IS NOT NULL THEN\n"
"      EXECUTE pg_catalog.format('DROP TRIGGER pgmm_guard ON %I.%I', s, rel);\n"
"      EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS pgmm_guard_truncate ON %I.%I', s, rel);\n"
"    END IF;\n"
"    RETURN;\n"
"  END IF;\n"
"  IF cur IS NOT DISTINCT FROM (pg_catalog.convert_to(owner, 'UTF8') OPERATOR(pg_catalog.||) '\\x00'::pg_catalog.bytea\n"
"        OPERATOR(pg_catalog.||) pg_catalog.convert_to(descr, 'UTF8') OPERATOR(pg_catalog.||) '\\x00'::pg_catalog.bytea) THEN\n"
"    RETURN;\n"
"  END IF;\n"
"  EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS pgmm_guard ON %I.%I', s, rel);\n"
"  EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS pgmm_guard_truncate ON %I.%I', s, rel);\n"
"  EXECUTE pg_catalog.format('CREATE TRIGGER pgmm_guard BEFORE INSERT OR UPDATE OR DELETE ON %I.%I'\n"
"    ' FOR EACH ROW EXECUTE FUNCTION pgmm.guard(%L, %L)', s, rel, owner, descr);\n"
"  EXECUTE pg_catalog.format('CREATE TRIGGER pgmm_guard_truncate BEFORE TRUNCATE ON %I.%I'\n"
"    ' FOR EACH STATEMENT EXECUTE FUNCTION pgmm.guard_truncate(%L, %L)', s, rel, owner, descr);\n"
"END\n"
"$$;\n"

/* Publication membership of rel: in pgmm_pub exactly when this master
 * owns it. */
"CREATE FUNCTION pgmm._publish(s text, rel text, want boolean) RETURNS void\n"
"LANGUAGE plpgsql AS $$\n"
"DECLARE\n"
"  relid pg_catalog.oid := pg_catalog.to_regclass(pg_catalog.format('%I.%I', s, rel));\n"
"  has boolean;\n"
"BEGIN\n"
"  SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_publication_rel pr\n"
"                   JOIN pg_catalog.pg_publication p ON p.oid OPERATOR(pg_catalog.=) pr.prpubid\n"
"                  WHERE p.pubname OPERATOR(pg_catalog.=) 'pgmm_pub' AND pr.prrelid OPERATOR(pg_catalog.=) relid)\n"
"    INTO has;\n"
"  IF want AND NOT has THEN\n"
"    EXECUTE pg_catalog.format('ALTER PUBLICATION pgmm_pub ADD TABLE %I.%I', s, rel);\n"
"  ELSIF has AND NOT want THEN\n"
"    EXECUTE pg_catalog.format('ALTER PUBLICATION pgmm_pub DROP TABLE %I.%I', s, rel);\n"
"  END IF;\n"
"END\n"
"$$;\n"

/* Make this master's guards, publication and key DEFAULTs agree with the
 * catalog.  Called inside every catalog change, on every master. */
"CREATE FUNCTION pgmm.sync_local() RETURNS void LANGUAGE plpgsql AS $$\n"
"DECLARE\n"
"  me text;\n"
"  t record;\n"
"  sh record;\n"
"  nshards integer;\n"
"  owned integer[];\n"
"  want text;\n"
"  cur text;\n"
"BEGIN\n"
"  SELECT l.node INTO me FROM pgmm.local l;\n"
"  FOR t IN SELECT * FROM pgmm.tables ORDER BY schema_name, table_name LOOP\n"
"    IF pg_catalog.to_regclass(pg_catalog.format('%I.%I', t.schema_name, t.table_name)) IS NULL THEN\n"
"      RAISE EXCEPTION USING ERRCODE = 'PM004',\n"
"        MESSAGE = pg_catalog.format('pgmm: table %I.%I is managed by pgmm but missing on master %s', t.schema_name, t.table_name, me);\n"
"    END IF;\n"
"    IF t.kind OPERATOR(pg_catalog.=) 'reference' THEN\n"
"      PERFORM pgmm._guard(t.schema_name, t.table_name,\n"
"                          CASE WHEN t.owner OPERATOR(pg_catalog.=) me AND NOT t.frozen THEN NULL ELSE t.owner END,\n"
"                          CASE WHEN t.frozen THEN 'reference table (being added to the cluster: retry in a moment)'\n"
"                               ELSE 'reference table' END);\n"
"      PERFORM pgmm._publish(t.schema_name, t.table_name, t.owner OPERATOR(pg_catalog.=) me);\n"
"      CONTINUE;\n"
"    END IF;\n"
"    SELECT c.shards INTO nshards FROM pgmm.colocations c WHERE c.id OPERATOR(pg_catalog.=) t.colocation;\n"
"    FOR sh IN SELECT x.remainder, x.owner FROM pgmm.shards x\n"
"               WHERE x.colocation OPERATOR(pg_catalog.=) t.colocation ORDER BY x.remainder LOOP\n"
"      PERFORM pgmm._guard(t.schema_name, t.table_name OPERATOR(pg_catalog.||) '_s' OPERATOR(pg_catalog.||) sh.remainder,\n"
"                          CASE WHEN sh.owner OPERATOR(pg_catalog.=) me AND NOT t.frozen THEN NULL ELSE sh.owner END,\n"
"                          'shard ' OPERATOR(pg_catalog.||) sh.remainder OPERATOR(pg_catalog.||)\n"
"                          CASE WHEN t.frozen THEN ' (being added to the cluster: retry in a moment)' ELSE '' END);\n"
"      PERFORM pgmm._publish(t.schema_name, t.table_name OPERATOR(pg_catalog.||) '_s' OPERATOR(pg_catalog.||) sh.remainder,\n"
"                            sh.owner OPERATOR(pg_catalog.=) me);\n"
"    END LOOP;\n"
"    IF t.key_type IN ('int2', 'int4', 'int8') THEN\n"
"      owned := ARRAY(SELECT x.remainder FROM pgmm.shards x\n"
"                      WHERE x.colocation OPERATOR(pg_catalog.=) t.colocation AND x.owner OPERATOR(pg_catalog.=) me\n"
"                      ORDER BY 1);\n"
"      want := pg_catalog.format('pgmm.next_id(%s, %L::integer[])', nshards, owned);\n"
"      SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid) INTO cur\n"
"        FROM pg_catalog.pg_attrdef d JOIN pg_catalog.pg_attribute a\n"
"             ON a.attrelid OPERATOR(pg_catalog.=) d.adrelid AND a.attnum OPERATOR(pg_catalog.=) d.adnum\n"
"       WHERE d.adrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(pg_catalog.format('%I.%I', t.schema_name, t.table_name))\n"
"         AND a.attname OPERATOR(pg_catalog.=) t.key_column;\n"
"      IF cur IS DISTINCT FROM want THEN\n"
"        EXECUTE pg_catalog.format('ALTER TABLE %I.%I ALTER COLUMN %I SET DEFAULT %s',\n"
"                                  t.schema_name, t.table_name, t.key_column, want);\n"
"      END IF;\n"
"    END IF;\n"
"  END LOOP;\n"
"END\n"
"$$;\n";
