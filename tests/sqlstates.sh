#!/bin/sh
# sqlstates.sh -- the bindings' SQLSTATE lists must equal the C list.
#
# include/pgmm.h defines pgmm's SQLSTATEs once (PGMM_SQLSTATE_NAME "PMnnn");
# the Python binding (bindings/python/pgmm/errors.py, SQLSTATE_NAME = "...")
# and the Go binding (bindings/go/pgmm/errors.go, SQLStateName = "...") copy
# them by hand.  This test fails, naming the difference, when a code is
# missing, extra or different in either binding, or when the Python module
# maps no exception class to one of them.  Run by `make check`.
set -u

top=${srcdir:-$(dirname "$0")/..}
h=$top/include/pgmm.h
py=$top/bindings/python/pgmm/errors.py
go=$top/bindings/go/pgmm/errors.go
for f in "$h" "$py" "$go"; do
	[ -f "$f" ] || { echo "sqlstates.sh: $f not found"; exit 99; }
done
tmp=${TMPDIR:-/tmp}/pgmm-sqlstates-$$
trap 'rm -f "$tmp".*' EXIT HUP INT TERM

# NAME CODE, NAME in upper snake case, sorted.
sed -n 's/^#define[ 	]\{1,\}PGMM_SQLSTATE_\([A-Z0-9_]*\)[ 	]\{1,\}"\([0-9A-Z]\{5\}\)".*/\1 \2/p' "$h" |
	sort > "$tmp".c
sed -n 's/^SQLSTATE_\([A-Z0-9_]*\)[ 	]*=[ 	]*"\([0-9A-Z]\{5\}\)".*/\1 \2/p' "$py" | sort > "$tmp".py
# Go: SQLStateNotOwner -> NOT_OWNER.
sed -n 's/^[ 	]*SQLState\([A-Za-z0-9]*\)[ 	]*=[ 	]*"\([0-9A-Z]\{5\}\)".*/\1 \2/p' "$go" |
	sed 's/\([a-z0-9]\)\([A-Z]\)/\1_\2/g' | tr '[:lower:]' '[:upper:]' | sort > "$tmp".go

rc=0
n=$(wc -l < "$tmp".c)
if [ "$n" -lt 5 ]; then
	echo "FAIL: found only $n PGMM_SQLSTATE_* codes in include/pgmm.h (the parser is broken)"
	rc=1
fi
for b in py go; do
	if ! diff -u "$tmp".c "$tmp".$b > "$tmp".diff; then
		echo "FAIL: the $b binding's SQLSTATE list differs from include/pgmm.h ('-' C, '+' $b):"
		sed '1,2d' "$tmp".diff
		rc=1
	fi
done
# Every Python constant maps to an exception class.
while read -r name code; do
	if ! grep -q "^[ 	]*SQLSTATE_$name:" "$py"; then
		echo "FAIL: errors.py maps no exception class to SQLSTATE_$name ($code) in _BY_SQLSTATE"
		rc=1
	fi
done < "$tmp".py
[ $rc -eq 0 ] && echo "ok: $n SQLSTATEs, the same in pgmm.h, errors.py and errors.go"
exit $rc
