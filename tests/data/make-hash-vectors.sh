#!/usr/bin/env bash
# make-hash-vectors.sh -- regenerate pg15_hash_vectors.tsv from a live
# PostgreSQL: for every (type, key) of the input file, ask the server for the
# key type's extended hash (seed 0x7A5B22367996DCFD) and for the remainder of
# the hash partition it routes the key to (MODULUS 64 and 7, found with
# satisfies_hash_partition).  The unit tests compare pgmm's own hash with
# these rows, so they need no server.
#
#   tests/data/make-hash-vectors.sh CONNINFO [INPUT] > new.tsv
#
# INPUT (default: the file beside this script) supplies the keys: its first
# two tab-separated columns; '#' lines are skipped.  The server should run
# with UTF8 and TimeZone=UTC (timestamptz keys carry explicit offsets).
set -euo pipefail
conninfo=${1:?usage: make-hash-vectors.sh CONNINFO [INPUT]}
input=${2:-$(dirname "$0")/pg15_hash_vectors.tsv}

ver=$(psql -X -At -d "$conninfo" -c "SELECT split_part(current_setting('server_version'), ' ', 1)")
cat <<HDR
# Hash-partition routing vectors produced by PostgreSQL $ver ($(uname -m), UTF8, TimeZone=UTC).
# Columns (tab-separated): type, key as text (the form a client sends), hash, r64, r7.
#  hash = the key type's default hash opclass extended function with seed 8816678312871386365
#         (0x7A5B22367996DCFD), as signed int8; empty where it is not SQL-callable (bytea).
#  r64, r7 = the remainder of the partition that PostgreSQL itself routes the key to, in a table
#         PARTITION BY HASH (k) with MODULUS 64 / MODULUS 7 (found with satisfies_hash_partition).
#  bpchar keys were stored as char(12). timestamptz keys carry explicit offsets.
# Check: r = ((uint64) hash + 0x49a0f4dd15e5a8e3) mod m holds for every row with a hash.
HDR

# Keys go in through COPY (text format: escape backslashes), rows come out in input order.
grep -v '^#' "$input" | cut -f1,2 | sed 's/\\/\\\\/g' | psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 -d "$conninfo" -c "
SET TimeZone = 'UTC';
CREATE TEMP TABLE keys (n serial, type text, key text);
COPY keys (type, key) FROM STDIN;
" -c "
-- fn: the hash opclass's extended function applied to K (the key cast to
-- its type); bool hashes as the int4 0 or 1, date as its int4 day number,
-- timestamptz as the UTC timestamp (same microseconds).
CREATE TEMP TABLE types (type text, sqltype text, fn text);
INSERT INTO types VALUES
 ('bool','bool','hashint4extended(K::int, S)'), ('bpchar','char(12)','hashbpcharextended(K, S)'),
 ('bytea','bytea',NULL), ('date','date','hashint4extended(K - date ''2000-01-01'', S)'),
 ('int2','int2','hashint2extended(K, S)'), ('int4','int4','hashint4extended(K, S)'),
 ('int8','int8','hashint8extended(K, S)'), ('numeric','numeric','hash_numeric_extended(K, S)'),
 ('text','text','hashtextextended(K, S)'), ('timestamp','timestamp','timestamp_hash_extended(K, S)'),
 ('timestamptz','timestamptz','timestamp_hash_extended(K::timestamp, S)'), ('uuid','uuid','uuid_hash_extended(K, S)'),
 ('varchar','varchar','hashtextextended(K, S)');
CREATE TEMP TABLE out (n int, type text, key text, hash text, r64 int, r7 int);
DO \$\$
DECLARE t record;
BEGIN
  SET LOCAL TimeZone = 'UTC';
  FOR t IN SELECT * FROM types LOOP
    EXECUTE format('CREATE TEMP TABLE %I (k %s) PARTITION BY HASH (k)', 'p_' || t.type, t.sqltype);
    EXECUTE format(\$q\$
      INSERT INTO out
      SELECT n, type, key, %s,
        (SELECT r FROM generate_series(0, 63) r WHERE satisfies_hash_partition(%L::regclass, 64, r, key::%s)),
        (SELECT r FROM generate_series(0, 6) r WHERE satisfies_hash_partition(%L::regclass, 7, r, key::%s))
      FROM keys WHERE type = %L\$q\$,
      CASE WHEN t.fn IS NULL THEN 'NULL'
           ELSE replace(replace(t.fn, 'K', format('(key::%s)', t.sqltype)), 'S', '8816678312871386365') || '::text' END,
      'p_' || t.type, t.sqltype, 'p_' || t.type, t.sqltype, t.type);
  END LOOP;
END
\$\$;
SELECT type, key, coalesce(hash, ''), r64, r7 FROM out ORDER BY n;
"
