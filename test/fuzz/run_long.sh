#!/usr/bin/env bash
# run_long.sh [RUNS]: every fuzz target for RUNS executions (default
# 1,000,000) over its seed corpus, in the build-fuzz directory check.sh
# configures (made here if missing).  What a run finds new goes to a
# temporary directory, never into corpus/; a crash stops with its input in
# build-fuzz/test/fuzz/artifacts/<target>/ and a non-zero status.
set -euo pipefail
runs=${1:-1000000}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang meson setup build-fuzz --werror -Dfuzz=true -Dsamples=false -Dbench=false \
    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C build-fuzz >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for src in test/fuzz/corpus/*/; do
  t=$(basename "$src")
  mkdir -p "$work/$t" "build-fuzz/test/fuzz/artifacts/$t"
  start=$(date +%s)
  build-fuzz/test/fuzz/fuzz_"$t" -runs="$runs" -error_exitcode=1 -timeout=10 \
    -artifact_prefix="build-fuzz/test/fuzz/artifacts/$t/" \
    "$work/$t" "$src" > "$work/$t.log" 2>&1 || {
    tail -40 "$work/$t.log"
    echo "fuzz_$t failed"
    exit 1
  }
  echo "fuzz_$t: $(grep -o 'Done [0-9]* runs' "$work/$t.log") in $(( $(date +%s) - start )) s"
done
