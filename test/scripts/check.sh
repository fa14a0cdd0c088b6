#!/usr/bin/env bash
# check.sh: the README's second command.  Installs what is missing, builds,
# and runs every test twice: in a normal build and in one with address and
# undefined-behaviour sanitizers (any report fails).  The failure sweeps
# (test/oom: every allocation failing in turn, over plain HTTP) run in the
# sanitizer build only.  The unit and integration tests run once more under valgrind, and the
# unit tests once built with clang, warnings as errors; each fuzz target runs
# for a few seconds over its seed corpus (test/fuzz/run_long.sh runs each
# for 1,000,000 executions).
source "$(dirname "$0")/setup.sh"

build_dir build-asan -Db_sanitize=address,undefined -Db_lundef=false
CC=clang build_dir build-clang -Dsamples=false -Dbench=false
# The libFuzzer targets (test/fuzz) are only configured here: meson test
# builds what the fuzz suite needs, not the rest of the tree.
if [ ! -f build-fuzz/build.ninja ]; then
  say "Configuring build-fuzz"
  CC=clang meson setup build-fuzz --werror -Dfuzz=true -Dsamples=false -Dbench=false \
    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1

status=0
run() {
  local dir=$1
  shift
  say "Testing $dir"
  meson test -C "$dir" --print-errorlogs --num-processes 2 "$@" || status=1
}
run build --no-suite oom
run build-asan --no-suite interop --no-suite bench
run build-clang --suite unit
run build-fuzz --suite fuzz
say "Testing build under valgrind (unit and integration suites)"
# Valgrind runs the code 10-50 times slower: the channel tests' broadcast
# windows need the longer timeouts.
meson test -C build --suite unit --suite integration --num-processes 2 \
  --logbase valgrind --timeout-multiplier 4 \
  --wrap='valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect' \
  || status=1

# One closing tally over the five runs, in the plain form CI reads.
node -e '
  const fs = require("fs");
  let pass = 0, fail = 0, skip = 0;
  for (const arg of process.argv.slice(1)) {
    const [d, base = "testlog"] = arg.split(":");
    const f = d + "/meson-logs/" + base + ".json";
    if (!fs.existsSync(f)) continue;
    for (const line of fs.readFileSync(f, "utf8").split("\n")) {
      if (!line.trim()) continue;
      const r = JSON.parse(line).result;
      if (r === "OK" || r === "EXPECTEDFAIL") pass++;
      else if (r === "SKIP") skip++;
      else fail++;
    }
  }
  console.log(`${pass} passed, ${fail} failed, ${skip} skipped`);
' build build-asan build-clang build:valgrind build-fuzz
exit $status
