#!/usr/bin/env bash
# cluster.sh -- start N local PostgreSQL masters for pgmm's demo and tests.
#
# Usage:
#   scripts/cluster.sh start [-n N] [-p BASEPORT] [-d DIR] [-c NAME=VALUE]...
#   scripts/cluster.sh stop [-d DIR] [-r]
#   scripts/cluster.sh stop-node NAME [-d DIR]
#   scripts/cluster.sh start-node NAME [-d DIR]
#   scripts/cluster.sh status [-d DIR]
#   scripts/cluster.sh env [-d DIR]
#   scripts/cluster.sh run [-n N] [-p BASEPORT] [-c NAME=VALUE]... [-K] -- COMMAND [ARG]...
#
#   start       initdb and start masters m1..mN (default 3) in DIR (default: a
#               new temporary directory), create database pgmm on each, print
#               the environment (below) on stdout and write it to DIR/env.
#               On a DIR that already holds a cluster, start its stopped masters.
#   stop        stop every master of DIR (-r: then remove DIR).
#   stop-node / start-node
#               stop or (re)start one master (NAME: m2, or just 2).
#   status      one line per master: NAME PORT running|stopped.
#   env         print DIR/env.
#   run         start a cluster in a new temporary directory, export the
#               environment, run COMMAND, then stop every master and remove
#               the directory whatever happens (exit, INT, TERM, HUP); exit
#               with COMMAND's status.  -K keeps the directory (logs).
#               INT is passed to COMMAND and the run goes on until COMMAND
#               ends (as a shell does); TERM/HUP are passed on and end the run
#               (COMMAND gets 5 s, then SIGTERM, then SIGKILL).  Only SIGKILL
#               of this script leaves servers behind: then use stop -d DIR.
#   -n N        number of masters (1..64)       -p BASEPORT  ports BASEPORT..+N-1
#   -d DIR      cluster directory; stop, status etc. default to $PGMM_CLUSTER_DIR
#   -c N=V      extra postgresql.conf setting (repeatable)
#
# Environment written to DIR/env (shell, `export NAME='value'` lines; source it
# or eval the output of start):
#   PGMM_CLUSTER_DIR    the cluster directory
#   PGMM_NODES          master names, space separated: "m1 m2 m3"
#   PGMM_NODES_FILE     DIR/nodes: one line per master, NAME<TAB>CONNINFO
#   PGMM_CONNINFO       conninfo of m1
#   PGMM_CONNINFO_<NAME> conninfo of each master (PGMM_CONNINFO_m2, ...)
#   PGMM_PORTS          ports, space separated, in PGMM_NODES order
#   PGMM_CLUSTER_USER   database superuser (= the OS user running the servers)
#   PGMM_PG_VERSION     server version, e.g. 15.14
# A conninfo is "host=127.0.0.1 port=PORT user=USER dbname=pgmm".  Each master
# keeps its data in DIR/NAME/data and logs to DIR/NAME/log.
#
# Settings: PGMM_PGBIN server bin directory (default: pg_config --bindir, else
# the highest /usr/lib/postgresql/*/bin; scripts/get-pg.sh 17 prints one);
# outside /usr/lib/postgresql, <bindir>/../lib goes on LD_LIBRARY_PATH.
# PGMM_PSQL psql to use (default: psql beside the server, else on PATH).
# PGMM_START_TIMEOUT seconds to wait for a master (60).
# Run as root, the servers run as the unprivileged user $PGMM_CLUSTER_OS_USER
# (default pgmmsrv, created with useradd -r if missing; not "pgmm": a database user named pgmm has the
# catalog schema pgmm in its search_path) through runuser, and DIR
# is chowned to it; otherwise they run as the caller.  Either way clients
# connect over TCP to 127.0.0.1 as that user (trust authentication, loopback
# and the cluster's unix socket only).  Exit status: 0 ok, 1 error, 2 usage;
# status exits 3 when a master is stopped.
set -euo pipefail

prog=cluster.sh
start_timeout=${PGMM_START_TIMEOUT:-60}

die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
usage() {
	if [[ ${1:-2} == 0 ]]; then
		sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
	else
		sed -n '4,12{s/^# \{0,1\}//;p}' "$0" >&2
	fi
	exit "${1:-2}"
}

# Single-quote $1 for the shell.
shquote() {
	local s=${1//\'/\'\\\'\'}
	printf "'%s'" "$s"
}

# ---------------------------------------------------------------- binaries, user

pgbin=
libdir=
pg_version=
psql_bin=
os_user=
drop_priv=0

is_distro_bindir() { [[ $1 == /usr/lib/postgresql/*/bin ]]; }

resolve_pgbin() {
	local d cand
	if [[ -n ${PGMM_PGBIN:-} ]]; then
		pgbin=$PGMM_PGBIN
	else
		if command -v pg_config >/dev/null 2>&1 && d=$(pg_config --bindir 2>/dev/null) &&
			[[ -x $d/postgres ]]; then
			pgbin=$d
		else
			cand=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
			[[ -x $cand/postgres ]] && pgbin=$cand
		fi
		[[ -n $pgbin ]] || die "no PostgreSQL server found: install postgresql (Debian: apt-get install postgresql-15) or set PGMM_PGBIN (e.g. PGMM_PGBIN=\$(scripts/get-pg.sh 17))"
	fi
	[[ -d $pgbin ]] || die "PGMM_PGBIN=$pgbin is not a directory"
	pgbin=$(cd "$pgbin" && pwd)
	local b
	for b in initdb pg_ctl postgres; do
		[[ -x $pgbin/$b ]] || die "$pgbin/$b not found or not executable (PGMM_PGBIN must hold initdb, pg_ctl and postgres)"
	done
	libdir=
	if ! is_distro_bindir "$pgbin" && [[ -d $pgbin/../lib ]]; then
		libdir=$(cd "$pgbin/../lib" && pwd)
	fi
}

resolve_psql() {
	if [[ -n ${PGMM_PSQL:-} ]]; then
		psql_bin=$PGMM_PSQL
	elif [[ -x $pgbin/psql && -z $libdir ]]; then
		psql_bin=$pgbin/psql
	elif command -v psql >/dev/null 2>&1; then
		psql_bin=$(command -v psql)
	else
		die "psql not found (Debian: apt-get install postgresql-client) or set PGMM_PSQL"
	fi
}

resolve_user() {
	if [[ $(id -u) -eq 0 ]]; then
		os_user=${PGMM_CLUSTER_OS_USER:-pgmmsrv}
		[[ $os_user != root ]] || die "PostgreSQL does not run as root; PGMM_CLUSTER_OS_USER must name another user"
		command -v runuser >/dev/null 2>&1 || die "runuser not found (util-linux)"
		if ! id -u "$os_user" >/dev/null 2>&1; then
			say "creating system user $os_user to run the servers"
			# A concurrent run may have created it meanwhile: re-check.
			useradd -r -m -s /usr/sbin/nologin -c 'pgmm test clusters' "$os_user" 2>/dev/null ||
				id -u "$os_user" >/dev/null 2>&1 || die "cannot create user $os_user (useradd failed)"
		fi
		drop_priv=1
	else
		os_user=$(id -un)
		drop_priv=0
	fi
}

# Run a server program as the server user, with the package's libraries,
# from the cluster directory (root's cwd may be unreadable to that user).
# The port lock's descriptor is closed: a postmaster must not inherit it.
as_pg() {
	local -a envv=(env)
	[[ -z $libdir ]] || envv+=("LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
	(
		if [[ -n $lock_fd ]]; then
			exec {lock_fd}>&-
		fi
		cd "$dir"
		if [[ $drop_priv == 1 ]]; then
			exec runuser -u "$os_user" -- "${envv[@]}" "$@"
		else
			exec "${envv[@]}" "$@"
		fi
	)
}

conninfo_for() { printf 'host=127.0.0.1 port=%s user=%s dbname=%s' "$1" "$os_user" "${2:-pgmm}"; }

# psql_at PORT DBNAME ARGS...: a quiet psql, unaligned, tuples only.
psql_at() {
	local port=$1 db=$2
	shift 2
	PGCONNECT_TIMEOUT=3 "$psql_bin" -X -q -A -t -v ON_ERROR_STOP=1 \
		-d "$(conninfo_for "$port" "$db")" "$@"
}

# ---------------------------------------------------------------- cluster dir, state

dir=
declare -a node_names=() node_ports=()

state_file() { printf '%s/state' "$dir"; }

write_state() {
	{
		printf 'st_pgbin=%s\n' "$(shquote "$pgbin")"
		printf 'st_libdir=%s\n' "$(shquote "$libdir")"
		printf 'st_os_user=%s\n' "$(shquote "$os_user")"
		printf 'st_drop_priv=%s\n' "$drop_priv"
		printf 'st_psql=%s\n' "$(shquote "$psql_bin")"
		printf 'st_version=%s\n' "$(shquote "$pg_version")"
	} >"$(state_file)"
}

# Load DIR/state and DIR/nodes of an existing cluster.
load_cluster() {
	[[ -n $dir ]] || dir=${PGMM_CLUSTER_DIR:-}
	[[ -n $dir ]] || die "no cluster directory: give -d DIR or set PGMM_CLUSTER_DIR"
	[[ -f $dir/state && -f $dir/nodes ]] || die "$dir holds no pgmm cluster (no state/nodes file)"
	dir=$(cd "$dir" && pwd)
	local st_pgbin st_libdir st_os_user st_drop_priv st_psql st_version
	# shellcheck disable=SC1091
	. "$dir/state"
	pgbin=$st_pgbin libdir=$st_libdir os_user=$st_os_user drop_priv=$st_drop_priv
	psql_bin=$st_psql pg_version=$st_version
	if [[ $drop_priv == 1 && $(id -u) -ne 0 ]]; then
		die "this cluster's servers run as $os_user and were started by root: run this as root"
	fi
	if [[ $drop_priv == 0 && $(id -un) != "$os_user" && $(id -u) -ne 0 ]]; then
		die "this cluster belongs to $os_user"
	fi
	if [[ $drop_priv == 0 && $(id -u) -eq 0 && $os_user != root ]]; then
		drop_priv=1 # root managing a normal user's cluster
	fi
	node_names=() node_ports=()
	local name ci
	while IFS=$'\t' read -r name ci; do
		[[ -n $name ]] || continue
		[[ $ci =~ port=([0-9]+) ]] || die "$dir/nodes: no port for $name"
		node_names+=("$name")
		node_ports+=("${BASH_REMATCH[1]}")
	done <"$dir/nodes"
	[[ ${#node_names[@]} -gt 0 ]] || die "$dir/nodes lists no master"
}

# Index of master $1 (m2 or 2) in node_names, on stdout.
node_index() {
	local want=$1 i
	[[ $want =~ ^[0-9]+$ ]] && want=m$want
	for i in "${!node_names[@]}"; do
		if [[ ${node_names[$i]} == "$want" ]]; then
			printf '%s\n' "$i"
			return 0
		fi
	done
	die "no master named '$1' in $dir (masters: ${node_names[*]})"
}

write_env() {
	local i ci
	{
		printf '# pgmm test cluster, written by scripts/cluster.sh; source this file\n'
		printf 'export PGMM_CLUSTER_DIR=%s\n' "$(shquote "$dir")"
		printf 'export PGMM_NODES=%s\n' "$(shquote "${node_names[*]}")"
		printf 'export PGMM_NODES_FILE=%s\n' "$(shquote "$dir/nodes")"
		printf 'export PGMM_CONNINFO=%s\n' "$(shquote "$(conninfo_for "${node_ports[0]}")")"
		for i in "${!node_names[@]}"; do
			ci=$(conninfo_for "${node_ports[$i]}")
			printf 'export PGMM_CONNINFO_%s=%s\n' "${node_names[$i]}" "$(shquote "$ci")"
		done
		printf 'export PGMM_PORTS=%s\n' "$(shquote "${node_ports[*]}")"
		printf 'export PGMM_CLUSTER_USER=%s\n' "$(shquote "$os_user")"
		printf 'export PGMM_PG_VERSION=%s\n' "$(shquote "$pg_version")"
	} >"$dir/env.tmp"
	mv -f "$dir/env.tmp" "$dir/env"
}

write_nodes() {
	local i
	for i in "${!node_names[@]}"; do
		printf '%s\t%s\n' "${node_names[$i]}" "$(conninfo_for "${node_ports[$i]}")"
	done >"$dir/nodes.tmp"
	mv -f "$dir/nodes.tmp" "$dir/nodes"
}

# ---------------------------------------------------------------- ports

# Is TCP port $1 taken (anyone listening on it, any address)?
port_in_use() {
	local port=$1 hex f local_addr st _
	hex=$(printf '%04X' "$port")
	for f in /proc/net/tcp /proc/net/tcp6; do
		[[ -r $f ]] || continue
		while read -r _ local_addr _ st _; do
			[[ $st == 0A && ${local_addr##*:} == "$hex" ]] && return 0
		done <"$f"
	done
	# Fallback / double check: can we connect?
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		return 0
	fi
	return 1
}

ports_free() {
	local base=$1 n=$2 p
	for ((p = base; p < base + n; p++)); do
		port_in_use "$p" && return 1
	done
	return 0
}

# Serialise starts within this cluster (two start-node calls racing for one
# master).  The lock lives in the cluster's own directory: another cluster
# on the machine never waits on it.  Two clusters choosing the same free
# ports at the same moment is handled by the retry on a failed bind.
lock_fd=
lock_ports() {
	command -v flock >/dev/null 2>&1 || return 0
	local f=$dir/.start.lock
	if ! exec {lock_fd}>>"$f"; then
		lock_fd=
		return 0
	fi 2>/dev/null
	flock -w 300 "$lock_fd" || say "warning: could not lock $f; continuing"
}

unlock_ports() {
	[[ -n $lock_fd ]] || return 0
	exec {lock_fd}>&-
	lock_fd=
}

# ---------------------------------------------------------------- one master

# 0 when process $1 is a live (not zombie) postgres whose data directory is
# $2.  kill -0 is not enough: it succeeds for a postmaster that has exited
# but not been reaped yet, and for an unrelated process that got the pid.
live_postmaster() {
	local pid=$1 datadir=$2 stat state cmd
	[[ -r /proc/$pid/stat ]] || { kill -0 "$pid" 2>/dev/null; return; }   # no /proc: best effort
	stat=$(</proc/"$pid"/stat) 2>/dev/null || return 1
	state=${stat##*) }
	state=${state%% *}
	[[ $state != Z && $state != X && $state != x ]] || return 1
	cmd=$(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null) || return 1
	[[ $cmd == *postgres* && $cmd == *" -D $datadir"* ]]
}

node_pid() {
	# The postmaster's pid if its pid file names a live postmaster of this
	# master's data directory.
	local data=$dir/$1/data pid
	[[ -r $data/postmaster.pid ]] || return 1
	read -r pid <"$data/postmaster.pid" || return 1
	[[ $pid =~ ^[0-9]+$ ]] && live_postmaster "$pid" "$data" && printf '%s\n' "$pid"
}

node_running() { node_pid "$1" >/dev/null; }

show_log_tail() {
	local f=$1
	if [[ -s $f ]]; then
		say "last lines of $f:"
		tail -n 25 "$f" | sed 's/^/    /' >&2
	fi
}

# Wait until master $1 on port $2 answers a query.
wait_ready() {
	local name=$1 port=$2 deadline=$((SECONDS + start_timeout)) out
	while :; do
		if out=$(psql_at "$port" postgres -c 'select 1' 2>&1) && [[ $out == 1 ]]; then
			return 0
		fi
		if ! node_running "$name"; then
			show_log_tail "$dir/$name/log"
			die "master $name exited during startup (port $port)"
		fi
		if ((SECONDS >= deadline)); then
			printf '%s\n' "$out" >&2
			show_log_tail "$dir/$name/log"
			die "master $name (port $port) does not accept connections after ${start_timeout}s"
		fi
		sleep 0.2
	done
}

# pg_ctl start for master $1 (index $2); returns pg_ctl's status.
pgctl_start() {
	local name=$1
	as_pg "$pgbin/pg_ctl" -D "$dir/$name/data" -l "$dir/$name/log" -s -w \
		-t "$start_timeout" start >>"$dir/$name/pg_ctl.out" 2>&1
}

start_one() {
	local name=${node_names[$1]} port=${node_ports[$1]}
	if node_running "$name"; then
		say "$name already running (port $port)"
		return 0
	fi
	lock_ports
	if node_running "$name"; then
		unlock_ports
		say "$name already running (port $port)"
		return 0
	fi
	# A pid file that names no live postmaster of ours (a crash, a pid
	# reused or not yet reaped) would make the server refuse to start.
	rm -f -- "$dir/$name/data/postmaster.pid"
	if port_in_use "$port"; then
		unlock_ports
		die "cannot start $name: port $port is in use by another program"
	fi
	if ! pgctl_start "$name"; then
		unlock_ports
		cat "$dir/$name/pg_ctl.out" >&2 || true
		show_log_tail "$dir/$name/log"
		die "master $name did not start (port $port)"
	fi
	unlock_ports
	wait_ready "$name" "$port"
	say "$name started (port $port)"
}

# Stop master $1: fast, then immediate, then SIGKILL.
stop_one() {
	local name=$1 pid
	node_running "$name" || return 0
	if ! as_pg "$pgbin/pg_ctl" -D "$dir/$name/data" -s -m fast -w -t 30 stop >/dev/null 2>&1; then
		as_pg "$pgbin/pg_ctl" -D "$dir/$name/data" -s -m immediate -w -t 15 stop >/dev/null 2>&1 || true
	fi
	if pid=$(node_pid "$name"); then
		say "$name (pid $pid) still running: killing it"
		kill -KILL "$pid" 2>/dev/null || true
		sleep 0.5
	fi
	if node_running "$name"; then
		say "could not stop $name"
		return 1
	fi
	return 0
}

stop_all() {
	local name pids=() rc=0 p
	for name in "${node_names[@]}"; do
		stop_one "$name" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || rc=1
	done
	return "$rc"
}

# ---------------------------------------------------------------- new cluster

# Settings for a cluster of $1 masters; port and socket dir follow.
server_conf() {
	local n=$1 w=$((20 + 4 * $1))
	cat <<EOF

# ---- pgmm test cluster (scripts/cluster.sh), $n masters
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = $((100 + 10 * n))
shared_buffers = 32MB
fsync = off
full_page_writes = off
wal_level = logical
max_wal_senders = $w
max_replication_slots = $w
max_logical_replication_workers = $w
max_worker_processes = $((w + 16))
max_prepared_transactions = 64
wal_retrieve_retry_interval = 1s
lc_messages = 'C'
log_line_prefix = '%m [%p] %q%a@%d '
log_min_messages = warning
EOF
}

hba_conf() {
	cat <<'EOF'
# pgmm test cluster: trust, loopback and the cluster's unix socket only
local   all             all                     trust
host    all             all     127.0.0.1/32    trust
local   replication     all                     trust
host    replication     all     127.0.0.1/32    trust
EOF
}

# start_cluster N BASEPORT(or empty) EXTRA_SETTING...: create and start a
# cluster in $dir (which exists and is empty).
start_cluster() {
	local n=$1 base=$2
	shift 2
	local -a extra=("$@")
	local i name setting pids=() failed=0

	resolve_pgbin
	resolve_psql
	resolve_user
	pg_version=$(as_pg "$pgbin/postgres" --version 2>&1) || {
		printf '%s\n' "$pg_version" >&2
		die "$pgbin/postgres does not run (missing libraries? LD_LIBRARY_PATH=${libdir:-unset})"
	}
	if [[ $pg_version =~ \(PostgreSQL\)\ ([0-9][^ ]*) ]]; then
		pg_version=${BASH_REMATCH[1]}
	fi

	# Unix socket paths are limited to 107 bytes.
	((${#dir} + 22 <= 107)) || die "cluster directory path too long for a unix socket: $dir (use a shorter -d)"

	node_names=() node_ports=()
	for ((i = 1; i <= n; i++)); do
		node_names+=("m$i")
		mkdir -p "$dir/m$i"
	done
	if [[ $drop_priv == 1 ]]; then
		chown -R "$os_user" "$dir"
		runuser -u "$os_user" -- test -w "$dir" -a -x "$dir" ||
			die "user $os_user cannot use $dir (its parent directories must be searchable by $os_user)"
		runuser -u "$os_user" -- test -x "$pgbin/postgres" ||
			die "user $os_user cannot run $pgbin/postgres (its directories must be readable by $os_user)"
	fi

	if [[ -n $base ]]; then
		((base >= 1024 && base + n - 1 <= 65535)) || die "ports $base..$((base + n - 1)) out of range"
		for ((i = 0; i < n; i++)); do
			port_in_use $((base + i)) && die "port $((base + i)) is in use (choose another -p or omit it)"
		done
	fi

	say "initdb $n master$( ((n == 1)) || echo s) (PostgreSQL $pg_version, server user $os_user) in $dir"
	for name in "${node_names[@]}"; do
		as_pg "$pgbin/initdb" -D "$dir/$name/data" -U "$os_user" -A trust \
			-E UTF8 --locale=C -N >"$dir/$name/initdb.log" 2>&1 &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		if ! wait "${pids[$i]}"; then
			show_log_tail "$dir/${node_names[$i]}/initdb.log"
			say "initdb failed for ${node_names[$i]}"
			failed=1
		fi
	done
	[[ $failed == 0 ]] || die "initdb failed"

	for name in "${node_names[@]}"; do
		server_conf "$n" >>"$dir/$name/data/postgresql.conf"
		for setting in "${extra[@]}"; do
			printf '%s\n' "$setting" >>"$dir/$name/data/postgresql.conf"
		done
		hba_conf >"$dir/$name/data/pg_hba.conf"
	done

	# Choose the ports and start the servers under the port lock.  A port
	# can still be taken between the probe and the bind (a server outside
	# this script, or a test restarting one of its masters): when we chose
	# the ports ourselves, such a start is retried on another block.
	local fixed=$base attempt=0 bindfail
	lock_ports
	while :; do
		if [[ -n $fixed ]]; then
			((base >= 1024 && base + n - 1 <= 65535)) || die "ports $base..$((base + n - 1)) out of range"
			for ((i = 0; i < n; i++)); do
				port_in_use $((base + i)) && die "port $((base + i)) is in use (choose another -p or omit it)"
			done
		else
			local tries=0
			while :; do
				base=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
				ports_free "$base" "$n" && break
				((++tries < 200)) || die "no $n free consecutive ports found"
			done
		fi
		node_ports=()
		for ((i = 0; i < n; i++)); do
			node_ports+=($((base + i)))
			# A later "port" line overrides an earlier one.
			printf "port = %s\n" "$((base + i))" >>"$dir/${node_names[$i]}/data/postgresql.conf"
		done
		write_state
		write_nodes

		pids=()
		for name in "${node_names[@]}"; do
			pgctl_start "$name" &
			pids+=($!)
		done
		failed=0
		bindfail=0
		for i in "${!pids[@]}"; do
			if ! wait "${pids[$i]}"; then
				failed=1
				grep -q 'could not create any TCP/IP sockets' "$dir/${node_names[$i]}/log" 2>/dev/null && bindfail=1
			fi
		done
		if [[ $failed == 1 && $bindfail == 1 && -z $fixed && $((++attempt)) -lt 5 ]]; then
			say "a port of $base..$((base + n - 1)) was taken meanwhile; retrying on other ports"
			stop_all >/dev/null 2>&1 || true
			for name in "${node_names[@]}"; do : >"$dir/$name/log"; done
			continue
		fi
		break
	done
	if [[ $failed == 1 ]]; then
		for i in "${!node_names[@]}"; do
			name=${node_names[$i]}
			node_running "$name" && continue
			cat "$dir/$name/pg_ctl.out" >&2 2>/dev/null || true
			show_log_tail "$dir/$name/log"
			say "master $name did not start (port ${node_ports[$i]})"
		done
	fi
	unlock_ports
	[[ $failed == 0 ]] || die "cluster start failed"

	for i in "${!node_names[@]}"; do
		wait_ready "${node_names[$i]}" "${node_ports[$i]}"
		psql_at "${node_ports[$i]}" postgres -c 'CREATE DATABASE pgmm' >/dev/null ||
			die "cannot create database pgmm on ${node_names[$i]}"
	done
	write_env
	say "$n master$( ((n == 1)) || echo s) up: port$( ((n == 1)) || echo s) ${node_ports[*]}"
}

# Start the stopped masters of the existing cluster in $dir.
restart_cluster() {
	load_cluster
	local i
	for i in "${!node_names[@]}"; do
		start_one "$i"
	done
	for i in "${!node_names[@]}"; do
		if [[ -z $(psql_at "${node_ports[$i]}" postgres -c "select 1 from pg_database where datname = 'pgmm'") ]]; then
			psql_at "${node_ports[$i]}" postgres -c 'CREATE DATABASE pgmm' >/dev/null
		fi
	done
	write_env
}

# ---------------------------------------------------------------- commands

opt_n=3
opt_p=
opt_d=
opt_r=0
opt_k=0
declare -a opt_c=() positional=()

parse_opts() {
	local allowed=$1
	shift
	while [[ $# -gt 0 ]]; do
		case $1 in
		-n | -p | -d | -c)
			[[ $allowed == *"${1#-}"* ]] || die "option $1 not valid here (try -h)"
			[[ $# -ge 2 ]] || die "option $1 needs an argument"
			case $1 in
			-n) opt_n=$2 ;;
			-p) opt_p=$2 ;;
			-d) opt_d=$2 ;;
			-c) opt_c+=("$2") ;;
			esac
			shift 2
			;;
		-r | -K)
			[[ $allowed == *"${1#-}"* ]] || die "option $1 not valid here (try -h)"
			[[ $1 == -r ]] && opt_r=1
			[[ $1 == -K ]] && opt_k=1
			shift
			;;
		-h | --help) usage 0 ;;
		--)
			shift
			positional+=("$@")
			return 0
			;;
		-*) die "unknown option $1 (try -h)" ;;
		*)
			positional+=("$1")
			shift
			;;
		esac
	done
	return 0
}

check_n_p() {
	if ! [[ $opt_n =~ ^[0-9]+$ ]] || ((opt_n < 1 || opt_n > 64)); then
		die "-n wants 1..64, not '$opt_n'"
	fi
	[[ -z $opt_p || $opt_p =~ ^[0-9]+$ ]] || die "-p wants a port number, not '$opt_p'"
	local c
	for c in "${opt_c[@]}"; do
		[[ $c == *=* ]] || die "-c wants NAME=VALUE, not '$c'"
	done
}

start_ok=0
on_start_exit() {
	local rc=$?
	[[ $start_ok == 1 ]] && return 0
	unlock_ports
	if [[ ${#node_names[@]} -gt 0 && -n $dir ]]; then
		stop_all || true
		say "start failed; servers stopped, files kept in $dir"
	elif [[ -n $dir ]]; then
		rmdir -- "$dir" 2>/dev/null || true
	fi
	return "$rc"
}

cmd_start() {
	parse_opts ndpc "$@"
	[[ ${#positional[@]} -eq 0 ]] || die "start takes no argument '${positional[0]}'"
	check_n_p
	if [[ -n $opt_d && -f $opt_d/nodes ]]; then
		dir=$opt_d
		restart_cluster
		cat "$dir/env"
		return 0
	fi
	if [[ -n $opt_d ]]; then
		mkdir -p "$opt_d"
		[[ -z $(ls -A "$opt_d") ]] || die "$opt_d is not empty and holds no cluster"
		dir=$(cd "$opt_d" && pwd)
	else
		dir=$(mktemp -d "${TMPDIR:-/tmp}/pgmm-cluster.XXXXXX")
	fi
	trap on_start_exit EXIT
	start_cluster "$opt_n" "$opt_p" "${opt_c[@]}"
	start_ok=1
	trap - EXIT
	cat "$dir/env"
}

cmd_stop() {
	parse_opts dr "$@"
	[[ ${#positional[@]} -eq 0 ]] || die "stop takes no argument '${positional[0]}'"
	dir=$opt_d
	load_cluster
	stop_all || die "some masters could not be stopped"
	say "stopped ${node_names[*]} in $dir"
	if [[ $opt_r == 1 ]]; then
		rm -rf -- "$dir"
		say "removed $dir"
	fi
}

cmd_stop_node() {
	parse_opts d "$@"
	[[ ${#positional[@]} -eq 1 ]] || die "usage: stop-node NAME -d DIR"
	dir=$opt_d
	load_cluster
	local i
	i=$(node_index "${positional[0]}")
	stop_one "${node_names[$i]}" || die "could not stop ${node_names[$i]}"
	say "${node_names[$i]} stopped"
}

cmd_start_node() {
	parse_opts d "$@"
	[[ ${#positional[@]} -eq 1 ]] || die "usage: start-node NAME -d DIR"
	dir=$opt_d
	load_cluster
	local i
	i=$(node_index "${positional[0]}")
	start_one "$i"
}

cmd_status() {
	parse_opts d "$@"
	dir=$opt_d
	load_cluster
	local i st rc=0
	for i in "${!node_names[@]}"; do
		if node_running "${node_names[$i]}"; then st=running; else st=stopped rc=3; fi
		printf '%s\t%s\t%s\n' "${node_names[$i]}" "${node_ports[$i]}" "$st"
	done
	return "$rc"
}

cmd_env() {
	parse_opts d "$@"
	dir=$opt_d
	load_cluster
	cat "$dir/env"
}

# ---- run: cluster for the lifetime of one command
# The command runs in the background of this script (same process group, so
# a terminal's ^C reaches it directly; SIGINT/SIGQUIT restored to default)
# so that signals to this script are handled at once.  INT is passed on and
# the script keeps waiting, like a shell for its foreground command; TERM and
# HUP are passed on and end the run.  Leaving, the command gets 5 s to exit,
# then SIGTERM, then SIGKILL; then every master is stopped and DIR removed.
run_child=

# Wait up to $1 seconds for the command to end; 0 if it did.
run_child_wait() {
	local deadline=$((SECONDS + $1))
	while kill -0 "$run_child" 2>/dev/null; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
	return 0
}

run_cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM HUP
	if [[ -n $run_child ]] && kill -0 "$run_child" 2>/dev/null; then
		if ! run_child_wait 5; then
			kill -TERM "$run_child" 2>/dev/null
			run_child_wait 5 || kill -KILL "$run_child" 2>/dev/null
		fi
		wait "$run_child" 2>/dev/null
	fi
	unlock_ports
	if [[ -n $dir && -d $dir ]]; then
		if [[ ${#node_names[@]} -gt 0 ]]; then
			stop_all || say "warning: some masters of $dir could not be stopped"
		fi
		if [[ $opt_k == 1 ]]; then
			say "cluster stopped; kept $dir"
		else
			rm -rf -- "$dir"
		fi
	fi
	exit "$rc"
}

# on_signal SIG EXITCODE: pass SIG on; INT while the command runs is not fatal.
run_signal() {
	local sig=$1 code=$2
	if [[ -n $run_child ]] && kill -0 "$run_child" 2>/dev/null; then
		kill "-$sig" "$run_child" 2>/dev/null || true
		[[ $sig == INT ]] && return 0
	fi
	exit "$code"
}

cmd_run() {
	parse_opts npcK "$@"
	check_n_p
	[[ ${#positional[@]} -gt 0 ]] || die "usage: run [-n N] -- COMMAND [ARG]..."
	dir=$(mktemp -d "${TMPDIR:-/tmp}/pgmm-cluster.XXXXXX")
	trap run_cleanup EXIT
	trap 'run_signal INT 130' INT
	trap 'run_signal TERM 143' TERM
	trap 'run_signal HUP 129' HUP
	start_cluster "$opt_n" "$opt_p" "${opt_c[@]}"
	set -a
	# shellcheck disable=SC1091
	. "$dir/env"
	set +a
	local rc=0
	exec 3<&0
	(
		trap - INT QUIT
		exec "${positional[@]}"
	) <&3 3<&- &
	run_child=$!
	exec 3<&-
	# wait returns early when a trapped signal arrives: wait again until the
	# command has really ended, then collect its status.
	while kill -0 "$run_child" 2>/dev/null; do
		wait "$run_child" || true
	done
	wait "$run_child" || rc=$?
	run_child=
	exit "$rc"
}

[[ $# -gt 0 ]] || usage
cmd=$1
shift
case $cmd in
start) cmd_start "$@" ;;
stop) cmd_stop "$@" ;;
stop-node) cmd_stop_node "$@" ;;
start-node) cmd_start_node "$@" ;;
status) cmd_status "$@" ;;
env) cmd_env "$@" ;;
run) cmd_run "$@" ;;
-h | --help | help) usage 0 ;;
*) die "unknown command '$cmd' (try -h)" ;;
esac
