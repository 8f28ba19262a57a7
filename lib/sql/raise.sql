-- raise.sql -- pgmm.raise: errors the router decides, raised as real server
-- errors.
--
-- Part of pgmm's server side, installed by `pgmm init` on every master
-- inside its two-phase commit (the files are concatenated in the order
-- Makefile.am lists them, and built into the library as C by
-- lib/sql/gen-catalog-sql.sh).  @NAME@ is a constant defined once in the C
-- headers and substituted at build time.  Plain SQL and PL/pgSQL only (no
-- extension); every name schema-qualified, because logical-replication apply
-- workers run with search_path = ''.

-- Raise an error with a pgmm SQLSTATE: the router uses it so that errors
-- it decides (PM002, PM004, ...) reach the application as real server
-- errors, with every libpq error field set.
CREATE FUNCTION pgmm.raise(code text, message text, detail text DEFAULT NULL, hint text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF detail IS NOT NULL AND hint IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message, DETAIL = detail, HINT = hint;
  ELSIF detail IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message, DETAIL = detail;
  ELSIF hint IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message, HINT = hint;
  ELSE
    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message;
  END IF;
END
$$;
