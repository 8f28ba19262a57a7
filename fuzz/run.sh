#!/bin/sh
# Build the libFuzzer target for lib/sqlparse.c and run it for a bounded time.
#   fuzz/run.sh [seconds]     (default 60)
# Needs clang with libFuzzer (Debian: clang and libclang-rt-14-dev).  Runs
# from any directory; new inputs go to a scratch copy of fuzz/corpus, crash
# reproducers to fuzz/artifacts/.  Exits non-zero when the fuzzer finds a
# crash, a leak, a timeout or a broken invariant.
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

cd "$top"
"$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-Ilib lib/sqlparse.c fuzz/fuzz_sqlparse.c -o "$work/fuzz_sqlparse"

mkdir -p "$work/corpus" "$here/artifacts"
cp "$here"/corpus/* "$work/corpus/" 2>/dev/null || true

status=0
"$work/fuzz_sqlparse" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-max_len=4096 -print_final_stats=1 -artifact_prefix="$here/artifacts/" \
	"$work/corpus" || status=$?
rmdir "$here/artifacts" 2>/dev/null || true		# kept only when it holds a reproducer
if [ "$status" -ne 0 ]; then
	echo "fuzz/run.sh: the fuzzer failed (status $status); reproducers in fuzz/artifacts/" >&2
	exit 1
fi
echo "fuzz/run.sh: no crash in ${secs}s"
