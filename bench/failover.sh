#!/usr/bin/env bash
# bench/failover.sh -- high availability numbers on 3 masters started for the
# run: the time from kill -9 of a master's postmaster to the first
# successful write of one of its shards (pgmm failover run at once, writers
# through libpgmm going on), and write throughput with `durability off` and
# `durability any 1` in the same run; medians over RUNS runs (default 3).
# Not a test: nothing here asserts a number.  See bench/failover.py.
# Usage: bench/failover.sh [RUNS]
# PGMM_PGBIN selects the server (default Debian's PostgreSQL 15); PGMM_BUILD
# the build directory (default build/, built if missing).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
runs=${1:-3}
export PGMM_BUILD=${PGMM_BUILD:-$top/build}
if [[ ! -x $PGMM_BUILD/tools/pgmm ]]; then
	[[ -f configure ]] || autoreconf -fi >/dev/null 2>&1
	mkdir -p "$PGMM_BUILD"
	(cd "$PGMM_BUILD" && { [[ -f Makefile ]] || "$top"/configure CFLAGS="-O2 -g" >/dev/null; } && make -j"$(nproc)" >/dev/null)
fi
# the writer process is a check program: build it when missing
make -s -C "$PGMM_BUILD" tests/integration/tools/pgmm_writer >/dev/null
exec scripts/cluster.sh run -n 3 -p "${PGMM_BENCH_PORT:-27500}" -- /usr/bin/python3 "$top/bench/failover.py" "$runs"
