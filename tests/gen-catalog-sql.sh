#!/bin/sh
# gen-catalog-sql.sh -- lib/sql/gen-catalog-sql.sh refuses what it cannot
# substitute soundly: a placeholder no header defines, a value with a quote,
# a 64-bit constant that does not fit a signed SQL literal.  And the C it
# writes for the real files compiles into the string the unit tests check
# (tests/unit/check_admin.c).  Run by `make check`.
set -u

top=${srcdir:-$(dirname "$0")/..}
gen=$top/lib/sql/gen-catalog-sql.sh
tmp=${TMPDIR:-/tmp}/pgmm-gentest-$$
trap 'rm -rf "$tmp"' EXIT HUP INT TERM
mkdir -p "$tmp/include" "$tmp/lib/sql" || exit 99
cp "$top/include/pgmm.h" "$tmp/include/" && cp "$top/lib/pghash.h" "$top/lib/pgmm_int.h" "$tmp/lib/" || exit 99

rc=0
expect_fail() {
	what=$1 needle=$2
	if sh "$gen" "$tmp" lib/sql/t.sql > "$tmp/out.c" 2> "$tmp/err"; then
		echo "FAIL: $what: the generator accepted it"
		rc=1
	elif ! grep -q "$needle" "$tmp/err"; then
		echo "FAIL: $what: the message does not say \"$needle\":"
		cat "$tmp/err"
		rc=1
	fi
}

# A good file: substituted, comments dropped, quotes and backslashes escaped.
printf '%s\n' "-- a comment" "SELECT '@PGMM_PUBLICATION@', '\\x00', \"q\";" "" > "$tmp/lib/sql/t.sql"
if sh "$gen" "$tmp" lib/sql/t.sql > "$tmp/out.c" 2> "$tmp/err"; then
	if ! grep -q "\"SELECT 'pgmm_pub', '\\\\\\\\x00', \\\\\"q\\\\\";\\\\n\"" "$tmp/out.c" || grep -q comment "$tmp/out.c"; then
		echo "FAIL: unexpected output:"
		cat "$tmp/out.c"
		rc=1
	fi
else
	echo "FAIL: the generator refused a good file:"
	cat "$tmp/err"
	rc=1
fi

echo "SELECT @PGMM_NO_SUCH_THING@;" > "$tmp/lib/sql/t.sql"
expect_fail "unknown placeholder" "no header defines PGMM_NO_SUCH_THING"

echo "SELECT '@PGMM_PUBLICATION@';" > "$tmp/lib/sql/t.sql"
sed -i 's/^#define PGMM_PUBLICATION .*/#define PGMM_PUBLICATION "pgmm'"'"'pub"/' "$tmp/lib/pgmm_int.h"
expect_fail "a quote in a string constant" "cannot take as is"
cp "$top/lib/pgmm_int.h" "$tmp/lib/"

echo "SELECT @PGMM_HASH_PARTITION_SEED@;" > "$tmp/lib/sql/t.sql"
sed -i 's/^#define PGMM_HASH_PARTITION_SEED .*/#define PGMM_HASH_PARTITION_SEED UINT64_C(0x8A5B22367996DCFD)/' "$tmp/lib/pghash.h"
expect_fail "a 64-bit constant >= 2^63" "does not fit a signed 64-bit"

[ $rc -eq 0 ] && echo "ok: the generator substitutes good input and refuses bad input"
exit $rc
