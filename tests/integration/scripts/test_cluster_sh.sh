#!/usr/bin/env bash
# test_cluster_sh.sh -- scripts/cluster.sh start-node/status against the
# running cluster (PGMM_CLUSTER_DIR, inside `cluster.sh run`):
#  1. another cluster holding its own start lock (the old global lock file
#     in $TMPDIR) does not make start-node wait;
#  2. a pid file naming a process that has exited but is not reaped yet (a
#     zombie) or an unrelated live process is not taken for a running
#     master: status says stopped, start-node starts it.
# Leaves every master running.  Exit 0 when all checks pass.
set -uo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
cl=$top/scripts/cluster.sh
dir=${PGMM_CLUSTER_DIR:?run inside scripts/cluster.sh run}
node=$(awk -F'\t' 'END {print $1}' "$PGMM_NODES_FILE")
conninfo=$(awk -F'\t' 'END {print $2}' "$PGMM_NODES_FILE")
pidfile=$dir/$node/data/postmaster.pid
passed=0 failed=0
check() { if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $*"; fi; }
answers() { [[ $(psql -X -At -d "$conninfo" -c 'select 1' 2>/dev/null) == 1 ]]; }
status_of() { "$cl" status -d "$dir" | awk -v n="$node" '$1 == n {print $3}'; }
holder=
cleanup() { [[ -z $holder ]] || kill "$holder" 2>/dev/null; "$cl" start-node "$node" -d "$dir" >/dev/null 2>&1; }
trap cleanup EXIT

# 1. Another cluster's lock is not ours.
if command -v flock >/dev/null; then
	lockfile=${TMPDIR:-/tmp}/pgmm-cluster-ports.lock
	( exec 9>>"$lockfile"; flock 9; sleep 120 ) &
	holder=$!
	sleep 0.3
	"$cl" stop-node "$node" -d "$dir" >/dev/null 2>&1
	check timeout 60 "$cl" start-node "$node" -d "$dir"
	check answers
	kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null; holder=
fi

# 2a. A zombie's pid in the pid file.
"$cl" stop-node "$node" -d "$dir" >/dev/null 2>&1
zfile=$(mktemp)
/usr/bin/python3 - "$zfile" <<'PY' &
import os, sys, time
pid = os.fork()
if pid == 0:
    os._exit(0)
open(sys.argv[1], "w").write(str(pid))
time.sleep(30)          # never waits for the child: it stays a zombie
PY
parent=$!
for _ in $(seq 50); do [[ -s $zfile ]] && break; sleep 0.1; done
zpid=$(cat "$zfile")
check test "$(awk '{print $3}' /proc/"$zpid"/stat 2>/dev/null)" = Z
printf '%s\n%s\n' "$zpid" "$dir/$node/data" >"$pidfile"
check test "$(status_of)" = stopped
check timeout 60 "$cl" start-node "$node" -d "$dir"
check answers
kill "$parent" 2>/dev/null; wait "$parent" 2>/dev/null; rm -f "$zfile"

# 2b. A live process that is not a postmaster of this master.
"$cl" stop-node "$node" -d "$dir" >/dev/null 2>&1
sleep 60 &
other=$!
printf '%s\n%s\n' "$other" "$dir/$node/data" >"$pidfile"
check test "$(status_of)" = stopped
check timeout 60 "$cl" start-node "$node" -d "$dir"
check answers
kill "$other" 2>/dev/null; wait "$other" 2>/dev/null
check test "$(status_of)" = running

echo "cluster.sh: $passed passed, $failed failed"
[[ $failed == 0 ]]
