#!/usr/bin/env bash
# run-tests.sh -- the whole test suite, from a fresh Debian 12 machine:
# installs what is missing (scripts/deps.sh), builds, runs the unit tests
# (plain, under ASan/UBSan, under valgrind), fuzzes the SQL recogniser for a
# bounded time, checks `make distcheck` and the installed pkg-config file,
# then runs the integration suites against real local masters, on
# PostgreSQL 15 (Debian) and PostgreSQL 17 (npm package, scripts/get-pg.sh).
#
# Everything the tests need is in the checkout (test vectors: tests/data).
# Environment: PGMM_FUZZ_SECONDS (default 90), PGMM_PG_VERSIONS (default "15 17"),
# PGMM_SKIP="asan valgrind fuzz distcheck" to skip stages while iterating.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
fuzz_seconds=${PGMM_FUZZ_SECONDS:-90}
versions=${PGMM_PG_VERSIONS:-15 17}
skip=" ${PGMM_SKIP:-} "
jobs=$(nproc 2>/dev/null || echo 2)

passed=0
failed=0
failures=()
stage() {
	local name=$1; shift
	if [[ $skip == *" $name "* ]]; then
		echo "=== $name: skipped (PGMM_SKIP)"
		return 0
	fi
	echo "=== $name"
	local t0=$SECONDS
	if "$@"; then
		passed=$((passed + 1))
		echo "=== $name: ok ($((SECONDS - t0)) s)"
	else
		failed=$((failed + 1))
		failures+=("$name")
		echo "=== $name: FAILED ($((SECONDS - t0)) s)"
	fi
}

# A fresh clone is all a user has: nothing the tests run may reach outside
# the checkout (distcheck below then proves it by building and testing the
# tarball in a directory with nothing beside it).
self_contained() {
	local out dir=shar
	# the pattern is spelt in two parts so that this file does not name it
	out=$(grep -rnE "\\.\\./${dir}ed|${dir}ed/testdata" Makefile.am configure.ac tests scripts bench fuzz examples bindings .ci 2>/dev/null)
	[[ -z $out ]] || { echo "these lines reach outside the checkout:"; echo "$out"; return 1; }
	unset PGMM_TESTDATA_DIR
}

scripts/deps.sh || { echo "run-tests.sh: installing dependencies failed" >&2; exit 1; }

build() {
	autoreconf -fi >/dev/null 2>&1 || autoreconf -fi || return 1
	mkdir -p build && cd build &&
	{ [[ -f Makefile ]] || ../configure --prefix="$top/build/_inst" CFLAGS="-O2 -g" >/dev/null; } &&
	make -j"$jobs" >/dev/null && make -j"$jobs" check TESTS= >/dev/null
	local rc=$?
	cd "$top"
	return $rc
}
unit() { make -C build check; }
asan() {
	mkdir -p build-asan && cd build-asan &&
	{ [[ -f Makefile ]] || CC=clang ../configure --enable-sanitizers CFLAGS="-O1 -g" >/dev/null; } &&
	make -j"$jobs" >/dev/null && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 make check
	local rc=$?
	cd "$top"
	return $rc
}
valgrind_unit() {
	local t rc=0
	for t in build/tests/unit/check_*; do
		[[ -x $t && $t != *.o ]] || continue
		echo "valgrind: $t"
		CK_FORK=no build/libtool --mode=execute valgrind -q --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite "$t" >/dev/null 2>"build/$(basename "$t").valgrind" ||
			{ rc=1; cat "build/$(basename "$t").valgrind"; }
	done
	return $rc
}
fuzz() { [[ -x fuzz/run.sh ]] || { echo "no fuzz/run.sh"; return 1; }; fuzz/run.sh "$fuzz_seconds"; }
distcheck() { make -C build distcheck >/dev/null 2>build/distcheck.log || { tail -40 build/distcheck.log; return 1; }; }
install_check() {
	local lib=build/_inst/lib/libpgmm.so bad
	make -C build install >/dev/null &&
	PKG_CONFIG_PATH="$top/build/_inst/lib/pkgconfig" pkg-config --exists pgmm &&
	test -x build/_inst/bin/pgmm && test -f build/_inst/include/pgmm.h || return 1
	# The library exports only pgmm_ symbols and never exits the process.
	bad=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBRW]/ && $3 !~ /^pgmm_/ {print $3}')
	[[ -z $bad ]] || { echo "non-pgmm symbols exported: $bad"; return 1; }
	bad=$(nm -D --undefined-only "$lib" | awk '{print $2}' | grep -E '^(exit|_exit|abort)(@|$)' || true)
	[[ -z $bad ]] || { echo "the library calls $bad"; return 1; }
	echo "libpgmm exports $(nm -D --defined-only "$lib" | grep -c ' T pgmm_') pgmm_ functions, nothing else; no exit/abort"
}
integration() {
	local v=$1 pgbin
	if [[ $v == 15 ]]; then
		pgbin=/usr/lib/postgresql/15/bin
	else
		pgbin=$(scripts/get-pg.sh -q "$v") || return 1
	fi
	PGMM_PGBIN=$pgbin PGMM_BUILD="$top/build" scripts/cluster.sh run -n 3 -- tests/integration/run.sh
}

stage self-contained self_contained
stage build build
stage unit unit
stage asan asan
stage valgrind valgrind_unit
stage fuzz fuzz
stage distcheck distcheck
stage install install_check
for v in $versions; do
	stage "integration-pg$v" integration "$v"
done

echo
if [[ $failed -gt 0 ]]; then
	echo "failed stages: ${failures[*]}"
fi
echo "stages: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
