-- guards.sql -- the guard triggers that refuse writes on a master that does
-- not own the shard (PM001), and the function that puts them on or off.
--
-- Part of pgmm's server side, installed by `pgmm init` on every master
-- inside its two-phase commit (the files are concatenated in the order
-- Makefile.am lists them, and built into the library as C by
-- lib/sql/gen-catalog-sql.sh).  @NAME@ is a constant defined once in the C
-- headers and substituted at build time.  Plain SQL and PL/pgSQL only (no
-- extension); every name schema-qualified, because logical-replication apply
-- workers run with search_path = ''.

-- A write to a frozen table (TG_ARGV[2], the reason, set): refused on every
-- master with PM006, retryable, naming what froze it.
CREATE FUNCTION pgmm.guard_frozen(op text, s text, rel text, reason text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = '@PGMM_SQLSTATE_FROZEN@',
    MESSAGE = pg_catalog.format('pgmm: %s refused on %s.%s: the table is frozen by a catalog change in progress (%s); retry in a moment',
                                op, s, rel, reason),
    DETAIL = pg_catalog.format('frozen by: %s', reason),
    HINT = 'Retryable: nothing was written.  libpgmm waits out a freeze by itself (pgmm_freeze_wait).';
END
$$;
-- Guard on a shard (or reference table) this master does not own, or on
-- any shard of a frozen table.  TG_ARGV: owner, description[, frozen
-- reason].  With pgmm.foreign_rows = 'skip' an
-- UPDATE/DELETE silently skips the row (broadcast of a keyless write);
-- an INSERT always fails.
CREATE FUNCTION pgmm.guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_NARGS OPERATOR(pg_catalog.>) 2 THEN
    PERFORM pgmm.guard_frozen(TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_ARGV[2]);
  END IF;
  IF TG_OP OPERATOR(pg_catalog.<>) 'INSERT'
     AND pg_catalog.current_setting('pgmm.foreign_rows', true) OPERATOR(pg_catalog.=) 'skip' THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION USING ERRCODE = '@PGMM_SQLSTATE_NOT_OWNER@',
    MESSAGE = pg_catalog.format('pgmm: %s refused on %s.%s: %s is owned by master %s',
                                TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_ARGV[1], TG_ARGV[0]),
    DETAIL = pg_catalog.format('@PGMM_PM001_DETAIL_OWNER@%s @PGMM_PM001_DETAIL_EPOCH@%s', TG_ARGV[0], (SELECT c.epoch FROM pgmm.cluster c)),
    HINT = 'Write through libpgmm, which routes each write to its owner, or connect to the owner.';
END
$$;
CREATE FUNCTION pgmm.guard_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_NARGS OPERATOR(pg_catalog.>) 2 THEN
    PERFORM pgmm.guard_frozen('TRUNCATE', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_ARGV[2]);
  END IF;
  RAISE EXCEPTION USING ERRCODE = '@PGMM_SQLSTATE_NOT_OWNER@',
    MESSAGE = pg_catalog.format('pgmm: TRUNCATE refused on %s.%s: %s is owned by master %s',
                                TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_ARGV[1], TG_ARGV[0]),
    DETAIL = pg_catalog.format('@PGMM_PM001_DETAIL_OWNER@%s @PGMM_PM001_DETAIL_EPOCH@%s', TG_ARGV[0], (SELECT c.epoch FROM pgmm.cluster c)),
    HINT = 'TRUNCATE would empty only this master''s copy; delete through libpgmm instead.';
END
$$;
-- Put the guards on relation rel (owner NULL: take them off), only when
-- they are missing or name another owner or reason (reason not NULL: the
-- table is frozen, every write refused with PM006).
CREATE FUNCTION pgmm._guard(s text, rel text, owner text, descr text, reason text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  relid pg_catalog.oid := pg_catalog.to_regclass(pg_catalog.format('%I.%I', s, rel));
  cur pg_catalog.bytea;
BEGIN
  IF relid IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '@PGMM_SQLSTATE_REFUSED@', MESSAGE = pg_catalog.format('pgmm: relation %I.%I is missing on this master', s, rel);
  END IF;
  SELECT t.tgargs INTO cur FROM pg_catalog.pg_trigger t
   WHERE t.tgrelid OPERATOR(pg_catalog.=) relid AND t.tgname OPERATOR(pg_catalog.=) 'pgmm_guard';
  IF owner IS NULL THEN
    IF cur IS NOT NULL THEN
      EXECUTE pg_catalog.format('DROP TRIGGER pgmm_guard ON %I.%I', s, rel);
      EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS pgmm_guard_truncate ON %I.%I', s, rel);
    END IF;
    RETURN;
  END IF;
  IF cur IS NOT DISTINCT FROM (pg_catalog.convert_to(owner, 'UTF8') OPERATOR(pg_catalog.||) '\x00'::pg_catalog.bytea
        OPERATOR(pg_catalog.||) pg_catalog.convert_to(descr, 'UTF8') OPERATOR(pg_catalog.||) '\x00'::pg_catalog.bytea
        OPERATOR(pg_catalog.||) CASE WHEN reason IS NULL THEN ''::pg_catalog.bytea
           ELSE pg_catalog.convert_to(reason, 'UTF8') OPERATOR(pg_catalog.||) '\x00'::pg_catalog.bytea END) THEN
    RETURN;
  END IF;
  EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS pgmm_guard ON %I.%I', s, rel);
  EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS pgmm_guard_truncate ON %I.%I', s, rel);
  EXECUTE pg_catalog.format('CREATE TRIGGER pgmm_guard BEFORE INSERT OR UPDATE OR DELETE ON %I.%I'
    ' FOR EACH ROW EXECUTE FUNCTION pgmm.guard(%L, %L%s)', s, rel, owner, descr,
    CASE WHEN reason IS NULL THEN '' ELSE pg_catalog.format(', %L', reason) END);
  EXECUTE pg_catalog.format('CREATE TRIGGER pgmm_guard_truncate BEFORE TRUNCATE ON %I.%I'
    ' FOR EACH STATEMENT EXECUTE FUNCTION pgmm.guard_truncate(%L, %L%s)', s, rel, owner, descr,
    CASE WHEN reason IS NULL THEN '' ELSE pg_catalog.format(', %L', reason) END);
END
$$;
