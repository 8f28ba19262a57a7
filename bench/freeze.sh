#!/usr/bin/env bash
# bench/freeze.sh -- the freeze window of `pgmm ddl` ADD COLUMN and DROP
# COLUMN under load (writers through libpgmm and plain SQL on 3 masters
# started for the run), medians over RUNS runs (default 5).  Not a test:
# nothing here asserts a time.  See bench/freeze.py for what is measured.
# Usage: bench/freeze.sh [RUNS]
# PGMM_PGBIN selects the server (default Debian's PostgreSQL 15); PGMM_BUILD
# the build directory (default build/, built if missing).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
runs=${1:-5}
export PGMM_BUILD=${PGMM_BUILD:-$top/build}
if [[ ! -x $PGMM_BUILD/tools/pgmm ]]; then
	[[ -f configure ]] || autoreconf -fi >/dev/null 2>&1
	mkdir -p "$PGMM_BUILD"
	(cd "$PGMM_BUILD" && { [[ -f Makefile ]] || "$top"/configure CFLAGS="-O2 -g" >/dev/null; } && make -j"$(nproc)" >/dev/null)
fi
exec scripts/cluster.sh run -n 3 -p "${PGMM_BENCH_PORT:-27500}" -- /usr/bin/python3 "$top/bench/freeze.py" "$runs"
