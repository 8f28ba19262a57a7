#!/usr/bin/env bash
# Integration suites against the masters of the running cluster (started by
# scripts/cluster.sh run, which exports PGMM_NODES_FILE, PGMM_CLUSTER_DIR).
# PGMM_BUILD: the build directory (default ./build).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${PGMM_BUILD:-$top/build}
export PGMM_BIN=$build/tools/pgmm
rc=0

echo "--- cluster: $PGMM_PG_VERSION, masters: $PGMM_NODES"

echo "--- hash oracle (client hash vs satisfies_hash_partition on every master)"
if [[ -x $build/tests/integration/hash_oracle ]]; then
	while IFS=$'\t' read -r name conninfo; do
		echo "master $name:"
		"$build/tests/integration/hash_oracle" "$conninfo" || rc=1
	done < "$PGMM_NODES_FILE"
else
	echo "hash_oracle not built"; rc=1
fi

echo "--- admin suite (pytest)"
(cd "$top/tests/integration/admin" && /usr/bin/python3 -m pytest -q -p no:cacheprovider) || rc=1

if compgen -G "$build/tests/integration/router/test_*" >/dev/null; then
	for t in "$build"/tests/integration/router/test_*; do
		[[ -x $t && $t != *.o ]] || continue
		echo "--- router: $(basename "$t")"
		"$t" || rc=1
	done
fi
exit $rc
