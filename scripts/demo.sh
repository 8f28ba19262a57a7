#!/usr/bin/env bash
# demo.sh -- the notes' scenario on 3 local masters, end to end:
# installs what is missing, builds pgmm, starts 3 PostgreSQL masters,
# `pgmm init`, creates the notes' schema (estados, expedientes, documentos),
# makes estados a reference table and distributes expedientes by id (with
# documentos colocated), runs concurrent writers against every master with a
# progress line, and prints per-master row counts, shard owners and
# replication lag, proving every master has every row; then runs the same
# scenario through libpgmm (examples/notes_scenario.c) in a second database.
#
# Usage: scripts/demo.sh [ROWS_PER_MASTER]   (default 2000)
# PGMM_PGBIN selects the server (default Debian's PostgreSQL 15).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [[ ${1:-} != --inside ]]; then
	scripts/deps.sh
	autoreconf -fi >/dev/null 2>&1
	mkdir -p build
	(cd build && { [[ -f Makefile ]] || ../configure --prefix="$top/build/_inst" >/dev/null; } && make -j"$(nproc)" >/dev/null)
	export PGMM_BUILD="$top/build" DEMO_ROWS=${1:-2000}
	exec scripts/cluster.sh run -n 3 -- "$0" --inside
fi

pgmm=$PGMM_BUILD/tools/pgmm
rows=${DEMO_ROWS:-2000}
mapfile -t names < <(cut -f1 "$PGMM_NODES_FILE")
mapfile -t conns < <(cut -f2 "$PGMM_NODES_FILE")
export PGMM_CONNINFO=${conns[0]}
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

echo "== $((${#names[@]})) masters: ${names[*]} (PostgreSQL $PGMM_PG_VERSION)"
args=()
for i in "${!names[@]}"; do args+=(--node "${names[$i]}=${conns[$i]}"); done
"$pgmm" init "${args[@]}"

echo "== schema (pgmm ddl: applied on every master in one two-phase commit)"
"$pgmm" ddl "
CREATE TABLE estados (id int PRIMARY KEY, nombre text NOT NULL);
CREATE TABLE expedientes (id int PRIMARY KEY, estado int NOT NULL REFERENCES estados (id),
                          titulo text NOT NULL, creado timestamptz NOT NULL DEFAULT now());
CREATE TABLE documentos (expediente_id int NOT NULL REFERENCES expedientes (id), n int NOT NULL,
                         nombre text NOT NULL, PRIMARY KEY (expediente_id, n));"
q "${conns[0]}" "INSERT INTO estados VALUES (1, 'Alta'), (2, 'Cancelado'), (3, 'Finalizado')"
"$pgmm" reference estados
"$pgmm" distribute expedientes id --shards 16
"$pgmm" distribute documentos expediente_id --colocate-with expedientes

echo "== writers: $rows expedientes (+1 documento each) on every master at once, plain SQL, no ids given"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in "${!names[@]}"; do
	# Each INSERT takes its id from the master's own offset sequence, in a
	# shard that master owns; its documento goes in the same transaction.
	psql -X -q -v ON_ERROR_STOP=1 -d "${conns[$i]}" >"$tmp/${names[$i]}.out" 2>&1 <<SQL &
DO \$\$
BEGIN
  FOR k IN 1..$rows LOOP
    WITH e AS (INSERT INTO expedientes (estado, titulo) VALUES (1 + k % 3, 'expediente ' || k || ' de ${names[$i]}') RETURNING id)
    INSERT INTO documentos SELECT id, 1, 'solicitud.pdf' FROM e;
    COMMIT;
  END LOOP;
END
\$\$;
SQL
	echo $! >"$tmp/${names[$i]}.pid"
done
t0=$(date +%s.%N)
while :; do
	alive=0
	for n in "${names[@]}"; do kill -0 "$(cat "$tmp/$n.pid")" 2>/dev/null && alive=1; done
	line=""
	for i in "${!names[@]}"; do line+=" ${names[$i]}=$(q "${conns[$i]}" "SELECT count(*) FROM expedientes")"; done
	printf '\r  rows seen per master:%s   ' "$line"
	[[ $alive == 1 ]] || break
	sleep 0.5
done
t1=$(date +%s.%N)
wait
echo
for n in "${names[@]}"; do
	if [[ -s $tmp/$n.out ]]; then echo "writer on $n failed:"; cat "$tmp/$n.out"; exit 1; fi
done
awk -v n="$((rows * ${#names[@]}))" -v a="$t0" -v b="$t1" 'BEGIN { printf "  %d transactions in %.1f s (%.0f per second over all masters)\n", n, b - a, n / (b - a) }'

echo "== waiting for replication to converge"
for _ in $(seq 1 120); do
	"$pgmm" -q verify >/dev/null 2>&1 && break
	sleep 0.5
done
echo "== rows per master (every master holds every row)"
for i in "${!names[@]}"; do
	printf '  %-4s expedientes=%s documentos=%s estados=%s distinct ids=%s\n' "${names[$i]}" \
		"$(q "${conns[$i]}" "SELECT count(*) FROM expedientes")" \
		"$(q "${conns[$i]}" "SELECT count(*) FROM documentos")" \
		"$(q "${conns[$i]}" "SELECT count(*) FROM estados")" \
		"$(q "${conns[$i]}" "SELECT count(DISTINCT id) FROM expedientes")"
done
echo "== who wrote what: rows by owner of their shard (as seen on ${names[0]})"
q "${conns[0]}" "SELECT '  ' || s.owner || ': ' || count(*) || ' expedientes in ' || count(DISTINCT e.tableoid) || ' shards'
                 FROM expedientes e JOIN pgmm.shards s ON s.colocation = 1
                  AND s.remainder = substring(e.tableoid::regclass::text from '_s([0-9]+)\$')::int
                 GROUP BY s.owner ORDER BY 1"
echo "== pgmm status"
"$pgmm" status
echo "== through libpgmm: examples/notes_scenario.c in a second database (each statement goes to the owner of its row)"
cc -O2 -o "$tmp/notes_scenario" examples/notes_scenario.c \
	$(PKG_CONFIG_PATH="$PGMM_BUILD/pkgconfig" pkg-config --cflags --libs pgmm-uninstalled libpq) \
	-Wl,-rpath,"$PGMM_BUILD/.libs"
args=()
for i in "${!names[@]}"; do
	q "${conns[$i]}" "CREATE DATABASE ejemplo"
	args+=(--node "${names[$i]}=${conns[$i]/dbname=pgmm/dbname=ejemplo}")
done
"$pgmm" -q init "${args[@]}"
"$tmp/notes_scenario" "${conns[1]/dbname=pgmm/dbname=ejemplo} pgmm_read=owner" >"$tmp/notes.out" 2>&1 ||
	{ cat "$tmp/notes.out"; echo "notes_scenario failed"; exit 1; }
head -24 "$tmp/notes.out"
echo "  ..."
tail -8 "$tmp/notes.out"
"$pgmm" -q -d "${conns[0]/dbname=pgmm/dbname=ejemplo}" uninstall
echo "== pgmm verify"
"$pgmm" verify
