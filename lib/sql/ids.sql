-- ids.sql -- IDs: the shard remainder of an integer key, and the key DEFAULT
-- that draws an ID this master may write from its offset sequence.
--
-- Part of pgmm's server side, installed by `pgmm init` on every master
-- inside its two-phase commit (the files are concatenated in the order
-- Makefile.am lists them, and built into the library as C by
-- lib/sql/gen-catalog-sql.sh).  @NAME@ is a constant defined once in the C
-- headers and substituted at build time.  Plain SQL and PL/pgSQL only (no
-- extension); every name schema-qualified, because logical-replication apply
-- workers run with search_path = ''.

-- The partition remainder PostgreSQL picks for an integer key:
-- (hashint8extended(v, seed) + 0x49a0f4dd15e5a8e3) mod 2^64 mod S.
-- hashint8extended equals hashint4/hashint2extended for values in their
-- range, so this serves int2, int4 and int8 keys.
CREATE FUNCTION pgmm.int_remainder(v bigint, shards integer) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT (((pg_catalog.hashint8extended(v, @PGMM_HASH_PARTITION_SEED@)::pg_catalog.numeric
           + 18446744073709551616 + @PGMM_HASH_PARTITION_ADD@) % 18446744073709551616)
          % shards)::pg_catalog.int4
$$;
-- The key DEFAULT of a distributed integer key: an ID from this master's
-- offset sequence that lands in a shard this master owns.
CREATE FUNCTION pgmm.next_id(shards integer, owned integer[]) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v bigint;
  tries integer := 0;
BEGIN
  IF owned IS NULL OR pg_catalog.cardinality(owned) = 0 THEN
    RAISE EXCEPTION USING ERRCODE = '@PGMM_SQLSTATE_NO_SHARD@',
      MESSAGE = 'pgmm: this master owns no shard of the table, so it cannot choose a key for a new row',
      HINT = 'Give the key explicitly and write through libpgmm, or insert on a master that owns shards.';
  END IF;
  LOOP
    v := pg_catalog.nextval('pgmm.id_seq'::pg_catalog.regclass);
    IF pgmm.int_remainder(v, shards) OPERATOR(pg_catalog.=) ANY (owned) THEN
      RETURN v;
    END IF;
    tries := tries + 1;
    IF tries > 100000 THEN
      RAISE EXCEPTION USING ERRCODE = '@PGMM_SQLSTATE_NO_SHARD@', MESSAGE = 'pgmm: no ID in 100000 draws hashes to an owned shard';
    END IF;
  END LOOP;
END
$$;
