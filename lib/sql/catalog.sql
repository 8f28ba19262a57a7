-- catalog.sql -- schema pgmm and its catalog tables (the cluster row,
-- masters, colocation groups, shard owners, managed tables).
--
-- Part of pgmm's server side, installed by `pgmm init` on every master
-- inside its two-phase commit (the files are concatenated in the order
-- Makefile.am lists them, and built into the library as C by
-- lib/sql/gen-catalog-sql.sh).  @NAME@ is a constant defined once in the C
-- headers and substituted at build time.  Plain SQL and PL/pgSQL only (no
-- extension); every name schema-qualified, because logical-replication apply
-- workers run with search_path = ''.

CREATE SCHEMA pgmm;
COMMENT ON SCHEMA pgmm IS 'pgmm multi-master catalog: managed by the pgmm command, do not edit by hand';
-- One row: the cluster.  epoch is bumped by every catalog change.
CREATE TABLE pgmm.cluster (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  cluster_id text NOT NULL,
  epoch bigint NOT NULL,
  stride integer NOT NULL CHECK (stride > 1),
  next_slot integer NOT NULL,
  catalog_version integer NOT NULL,
  -- zero-loss mode (`pgmm durability`): 'off', 'any N' or 'all'
  durability text NOT NULL DEFAULT 'off' CHECK (durability ~ '^(off|all|any [1-9][0-9]*)$')
);
-- The masters.  conninfo never holds a password. slot: allocator offset
-- (next_slot only grows, and a failed master keeps its row and slot, so a
-- slot is never used twice).  state 'failed': `pgmm failover` gave its
-- shards to the others at epoch failed_epoch; it is out of every catalog
-- change and fenced whenever pgmm reaches it.  failed_lsn: how far in its
-- WAL the survivors' copies go (the furthest survivor's replication origin
-- progress at the failover); anything it wrote after that is on no
-- survivor.
CREATE TABLE pgmm.nodes (
  name text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,23}$' AND name !~ '__'),
  conninfo text NOT NULL,
  slot integer NOT NULL UNIQUE,
  state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled', 'failed')),
  failed_epoch bigint,
  failed_lsn pg_catalog.pg_lsn,
  CHECK ((state = 'failed') = (failed_epoch IS NOT NULL))
);
-- Which master this is: the only table whose content differs per master.
CREATE TABLE pgmm.local (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  node text NOT NULL REFERENCES pgmm.nodes (name)
);
-- Colocation groups: same key type and shard count; shard r of every
-- table of a group has the same owner.
CREATE TABLE pgmm.colocations (
  id integer PRIMARY KEY,
  key_type text NOT NULL,
  shards integer NOT NULL CHECK (shards BETWEEN 1 AND 4096)
);
CREATE TABLE pgmm.shards (
  colocation integer NOT NULL REFERENCES pgmm.colocations (id),
  remainder integer NOT NULL,
  owner text NOT NULL REFERENCES pgmm.nodes (name),
  PRIMARY KEY (colocation, remainder)
);
-- Tables pgmm manages.  key_position: 1-based position of the key among
-- the table's live columns (for INSERT without a column list).  frozen: the
-- table was just added and the subscriptions have not picked it up yet:
-- every master refuses writes to it (a row written then would not
-- replicate), until pgmm unfreezes it after the refresh; or a `pgmm ddl`
-- is changing it (writes stop, the subscriptions catch up, the DDL commits
-- everywhere, then the table is unfrozen).  Writes are refused with PM006;
-- frozen_reason says why (the ddl text, or that the table is being added).
CREATE TABLE pgmm.tables (
  schema_name text NOT NULL,
  table_name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('reference', 'distributed')),
  key_column text,
  key_type text,
  key_position integer,
  colocation integer REFERENCES pgmm.colocations (id),
  owner text REFERENCES pgmm.nodes (name),
  frozen boolean NOT NULL DEFAULT false,
  frozen_reason text,
  PRIMARY KEY (schema_name, table_name),
  CHECK ((kind = 'reference' AND owner IS NOT NULL AND colocation IS NULL) OR
         (kind = 'distributed' AND owner IS NULL AND colocation IS NOT NULL
          AND key_column IS NOT NULL AND key_type IS NOT NULL))
);
