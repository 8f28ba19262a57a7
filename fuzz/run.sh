#!/bin/sh
# Build the libFuzzer targets and run each for a bounded time:
#   fuzz_sqlparse   lib/sqlparse.c   (lexer + recogniser; corpus fuzz/corpus)
#   fuzz_keys       lib/pghash.c     (key values in text and binary form)
#   fuzz_conninfo   lib/conninfo.c   (pgmm options, secret stripping, merging)
#   fuzz/run.sh [seconds]     (default 60, shared: half to the SQL parser,
#                              a quarter to each of the others)
# Needs clang with libFuzzer (Debian: clang and libclang-rt-14-dev).  New
# inputs go to scratch copies of the corpora, crash reproducers to
# fuzz/artifacts/.  Exits non-zero when a fuzzer finds a crash, a leak, a
# timeout or a broken invariant.
set -eu

secs=${1:-60}
case $secs in
	''|*[!0-9]*) echo "usage: $0 [seconds]" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
CLANG=${CLANG:-clang}
work=$(mktemp -d "${TMPDIR:-/tmp}/pgmm-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
pq_cflags=$(pkg-config --cflags libpq)
pq_libs=$(pkg-config --libs libpq)

cd "$top"
# shellcheck disable=SC2086
"$CLANG" $flags -Ilib lib/sqlparse.c fuzz/fuzz_sqlparse.c -o "$work/fuzz_sqlparse"
# shellcheck disable=SC2086
"$CLANG" $flags -Ilib lib/pghash.c fuzz/fuzz_keys.c -o "$work/fuzz_keys"
# shellcheck disable=SC2086
"$CLANG" $flags -Ilib -Iinclude $pq_cflags lib/conninfo.c lib/util.c fuzz/fuzz_conninfo.c $pq_libs \
	-o "$work/fuzz_conninfo"

mkdir -p "$here/artifacts"
status=0
run() {	# target corpus seconds
	mkdir -p "$work/c-$1"
	cp "$here/$2"/* "$work/c-$1/" 2>/dev/null || true
	t=$3
	[ "$t" -ge 1 ] || t=1
	echo "fuzz/run.sh: $1 for ${t}s"
	"$work/$1" -max_total_time="$t" -timeout=10 -rss_limit_mb=2048 \
		-max_len=4096 -print_final_stats=1 -artifact_prefix="$here/artifacts/$1-" \
		"$work/c-$1" 2>"$work/$1.log" || { status=1; tail -60 "$work/$1.log" >&2; }
	grep -E '^stat::number_of_executed_units' "$work/$1.log" || true
}
run fuzz_sqlparse corpus $((secs / 2))
run fuzz_keys corpus-keys $((secs / 4))
run fuzz_conninfo corpus-conninfo $((secs / 4))
rmdir "$here/artifacts" 2>/dev/null || true		# kept only when it holds a reproducer
if [ "$status" -ne 0 ]; then
	echo "fuzz/run.sh: a fuzzer failed; reproducers in fuzz/artifacts/" >&2
	exit 1
fi
echo "fuzz/run.sh: no crash in ${secs}s"
