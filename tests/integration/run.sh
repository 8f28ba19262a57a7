#!/usr/bin/env bash
# Integration suites against the masters of the running cluster (started by
# scripts/cluster.sh run, which exports PGMM_NODES_FILE, PGMM_CLUSTER_DIR).
# PGMM_BUILD: the build directory (default ./build).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${PGMM_BUILD:-$top/build}
export PGMM_BIN=$build/tools/pgmm
export PGMM_BUILD=$build
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
echo "--- bindings (Python ctypes DB-API, Go database/sql driver)"
PGMM_BUILD=$build "$top/bindings/run-tests.sh" || rc=1

echo "--- examples built against the installed pgmm.pc"
inst=$build/_inst
if [[ -f $inst/lib/pkgconfig/pgmm.pc ]]; then
	out=$(mktemp -d)
	db=examples_$$
	ok=1
	make -s -C "$top/examples" PKG_CONFIG_PATH="$inst/lib/pkgconfig" CFLAGS="-O2 -g -Wall -Wextra -Werror" >/dev/null || ok=0
	args=()
	while IFS=$'\t' read -r name conninfo; do
		psql -X -q -d "$conninfo" -c "CREATE DATABASE $db" || ok=0
		args+=(--node "$name=${conninfo/dbname=pgmm/dbname=$db}")
	done < "$PGMM_NODES_FILE"
	first=$(head -1 "$PGMM_NODES_FILE" | cut -f2)
	first=${first/dbname=pgmm/dbname=$db}
	if [[ $ok == 1 ]] && "$inst/bin/pgmm" -q init "${args[@]}"; then
		# twice: the second run finds the schema in place
		"$top/examples/notes_scenario" "$first" >"$out/notes1" 2>&1 || { ok=0; cat "$out/notes1"; }
		"$top/examples/notes_scenario" "$first" >"$out/notes2" 2>&1 || { ok=0; cat "$out/notes2"; }
		tail -3 "$out/notes2"
		"$inst/bin/pgmm" -q -d "$first" ddl "CREATE TABLE items (id bigint PRIMARY KEY, name text, qty int)" &&
			"$inst/bin/pgmm" -q -d "$first" distribute items id --shards 8 || ok=0
		"$top/examples/libpq_compat" "$first pgmm_read=owner" >"$out/compat" 2>&1 || { ok=0; cat "$out/compat"; }
		tail -2 "$out/compat"
		"$inst/bin/pgmm" -q -d "$first" uninstall || ok=0
	else
		ok=0
	fi
	while IFS=$'\t' read -r name conninfo; do
		psql -X -q -d "$conninfo" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
	done < "$PGMM_NODES_FILE"
	make -s -C "$top/examples" PKG_CONFIG_PATH="$inst/lib/pkgconfig" clean >/dev/null
	rm -rf "$out"
	if [[ $ok == 1 ]]; then echo "examples: ok"; else echo "examples: FAILED"; rc=1; fi
else
	echo "examples: no installed pgmm in $inst (run make install first)"; rc=1
fi
echo "--- scripts/cluster.sh: start-node and status on a cluster of its own"
"$top/tests/integration/scripts/test_cluster_sh.sh" || rc=1
exit $rc
