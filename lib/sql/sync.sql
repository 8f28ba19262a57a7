-- sync.sql -- pgmm.sync_local: make this master's guards, publication
-- membership and key DEFAULTs agree with the catalog.
--
-- Part of pgmm's server side, installed by `pgmm init` on every master
-- inside its two-phase commit (the files are concatenated in the order
-- Makefile.am lists them, and built into the library as C by
-- lib/sql/gen-catalog-sql.sh).  @NAME@ is a constant defined once in the C
-- headers and substituted at build time.  Plain SQL and PL/pgSQL only (no
-- extension); every name schema-qualified, because logical-replication apply
-- workers run with search_path = ''.

-- Publication membership of rel: in pgmm_pub exactly when this master
-- owns it.
CREATE FUNCTION pgmm._publish(s text, rel text, want boolean) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  relid pg_catalog.oid := pg_catalog.to_regclass(pg_catalog.format('%I.%I', s, rel));
  has boolean;
BEGIN
  SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_publication_rel pr
                   JOIN pg_catalog.pg_publication p ON p.oid OPERATOR(pg_catalog.=) pr.prpubid
                  WHERE p.pubname OPERATOR(pg_catalog.=) '@PGMM_PUBLICATION@' AND pr.prrelid OPERATOR(pg_catalog.=) relid)
    INTO has;
  IF want AND NOT has THEN
    EXECUTE pg_catalog.format('ALTER PUBLICATION @PGMM_PUBLICATION@ ADD TABLE %I.%I', s, rel);
  ELSIF has AND NOT want THEN
    EXECUTE pg_catalog.format('ALTER PUBLICATION @PGMM_PUBLICATION@ DROP TABLE %I.%I', s, rel);
  END IF;
END
$$;
-- Make this master's guards, publication and key DEFAULTs agree with the
-- catalog.  Called inside every catalog change, on every master.
CREATE FUNCTION pgmm.sync_local() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  me text;
  t record;
  sh record;
  nshards integer;
  owned integer[];
  want text;
  cur text;
BEGIN
  SELECT l.node INTO me FROM pgmm.local l;
  FOR t IN SELECT * FROM pgmm.tables ORDER BY schema_name, table_name LOOP
    IF pg_catalog.to_regclass(pg_catalog.format('%I.%I', t.schema_name, t.table_name)) IS NULL THEN
      RAISE EXCEPTION USING ERRCODE = '@PGMM_SQLSTATE_REFUSED@',
        MESSAGE = pg_catalog.format('pgmm: table %I.%I is managed by pgmm but missing on master %s', t.schema_name, t.table_name, me);
    END IF;
    IF t.kind OPERATOR(pg_catalog.=) 'reference' THEN
      PERFORM pgmm._guard(t.schema_name, t.table_name,
                          CASE WHEN t.owner OPERATOR(pg_catalog.=) me AND NOT t.frozen THEN NULL ELSE t.owner END,
                          'reference table',
                          CASE WHEN t.frozen THEN COALESCE(t.frozen_reason, 'being added to the cluster') END);
      PERFORM pgmm._publish(t.schema_name, t.table_name, t.owner OPERATOR(pg_catalog.=) me);
      CONTINUE;
    END IF;
    SELECT c.shards INTO nshards FROM pgmm.colocations c WHERE c.id OPERATOR(pg_catalog.=) t.colocation;
    FOR sh IN SELECT x.remainder, x.owner FROM pgmm.shards x
               WHERE x.colocation OPERATOR(pg_catalog.=) t.colocation ORDER BY x.remainder LOOP
      PERFORM pgmm._guard(t.schema_name, t.table_name OPERATOR(pg_catalog.||) '@PGMM_SHARD_SUFFIX@' OPERATOR(pg_catalog.||) sh.remainder,
                          CASE WHEN sh.owner OPERATOR(pg_catalog.=) me AND NOT t.frozen THEN NULL ELSE sh.owner END,
                          'shard ' OPERATOR(pg_catalog.||) sh.remainder,
                          CASE WHEN t.frozen THEN COALESCE(t.frozen_reason, 'being added to the cluster') END);
      PERFORM pgmm._publish(t.schema_name, t.table_name OPERATOR(pg_catalog.||) '@PGMM_SHARD_SUFFIX@' OPERATOR(pg_catalog.||) sh.remainder,
                            sh.owner OPERATOR(pg_catalog.=) me);
    END LOOP;
    IF t.key_type IN ('int2', 'int4', 'int8') THEN
      owned := ARRAY(SELECT x.remainder FROM pgmm.shards x
                      WHERE x.colocation OPERATOR(pg_catalog.=) t.colocation AND x.owner OPERATOR(pg_catalog.=) me
                      ORDER BY 1);
      want := pg_catalog.format('pgmm.next_id(%s, %L::integer[])', nshards, owned);
      SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid) INTO cur
        FROM pg_catalog.pg_attrdef d JOIN pg_catalog.pg_attribute a
             ON a.attrelid OPERATOR(pg_catalog.=) d.adrelid AND a.attnum OPERATOR(pg_catalog.=) d.adnum
       WHERE d.adrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(pg_catalog.format('%I.%I', t.schema_name, t.table_name))
         AND a.attname OPERATOR(pg_catalog.=) t.key_column;
      IF cur IS DISTINCT FROM want THEN
        EXECUTE pg_catalog.format('ALTER TABLE %I.%I ALTER COLUMN %I SET DEFAULT %s',
                                  t.schema_name, t.table_name, t.key_column, want);
      END IF;
    END IF;
  END LOOP;
END
$$;
