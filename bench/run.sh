#!/usr/bin/env bash
# bench/run.sh -- reproducible benchmarks (not tests: nothing here asserts a
# time).  Builds, then:
#   1. bench_route: classify + route cost per statement, in process, no
#      server (parse of a new text, and the cached path of a parameterised
#      text), medians of repeated runs;
#   2. bench_e2e: point INSERT/UPDATE/SELECT by key through pgmm versus
#      plain libpq connected straight to the owning master, on 3 local
#      masters started for the run, same machine, same run, interleaved
#      rounds; medians and the ratio pgmm/direct.
# Usage: bench/run.sh [ROUNDS [OPS_PER_ROUND]]   (default 9 x 2000)
# PGMM_PGBIN selects the server (default Debian's PostgreSQL 15).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
rounds=${1:-9}
ops=${2:-2000}

if [[ ${PGMM_BENCH_INSIDE:-} != 1 ]]; then
	scripts/deps.sh
	[[ -f configure ]] || autoreconf -fi >/dev/null 2>&1
	mkdir -p build
	(cd build && { [[ -f Makefile ]] || ../configure --prefix="$top/build/_inst" CFLAGS="-O2 -g" >/dev/null; } &&
		make -j"$(nproc)" >/dev/null && make bench-programs >/dev/null)
	echo "== bench_route (no server)"
	build/bench/bench_route
	export PGMM_BENCH_INSIDE=1
	exec scripts/cluster.sh run -n 3 -- "$0" "$rounds" "$ops"
fi

pgmm=$top/build/tools/pgmm
mapfile -t names < <(cut -f1 "$PGMM_NODES_FILE")
mapfile -t conns < <(cut -f2 "$PGMM_NODES_FILE")
args=()
for i in "${!names[@]}"; do args+=(--node "${names[$i]}=${conns[$i]}"); done
"$pgmm" -q init "${args[@]}"
"$pgmm" -q -d "${conns[0]}" ddl "CREATE TABLE bench_kv (id bigint PRIMARY KEY, v text, n int)"
"$pgmm" -q -d "${conns[0]}" distribute bench_kv id --shards 16
echo "== bench_e2e (PostgreSQL $PGMM_PG_VERSION, ${#names[@]} masters on this machine)"
"$top/build/bench/bench_e2e" "${conns[0]}" "$rounds" "$ops"
