# setup.sh: installs what the project needs and builds it.  Sourced by
# quickstart.sh and check.sh; every step is skipped when already done, so a
# re-run is fast.
set -euo pipefail

EXP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$EXP_ROOT"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian 12 packages: the toolchain, meson, the five C dependencies, and
# what the tests use (openssl makes test certificates, valgrind checks,
# clang's runtime links the fuzzers, doxygen builds the API reference,
# cmake builds the README's CMake example),
# what npm needs to compile better-sqlite3 (g++, make, python3), and the
# engines of the multi-node tests (redis-server, postgresql: the tests start
# private instances of their own, not the system's services).
EXP_APT_PACKAGES="gcc g++ make python3 clang meson ninja-build pkg-config libuv1-dev
  libmbedtls-dev libcjson-dev libwslay-dev node-llhttp ca-certificates
  openssl valgrind libclang-rt-14-dev redis-server postgresql doxygen cmake"

install_packages() {
  local missing=""
  for p in $EXP_APT_PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
      missing="$missing $p"
    fi
  done
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    missing="$missing nodejs npm"
  fi
  if [ -n "$missing" ]; then
    say "Installing Debian packages:$missing"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi
}

# The reference server's npm packages, exactly as package-lock.json says.
install_node_modules() {
  local want have=""
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  [ -f node_modules/.exp-lock-sha256 ] && have=$(cat node_modules/.exp-lock-sha256)
  if [ "$want" != "$have" ]; then
    say "Installing the reference server's npm packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" > node_modules/.exp-lock-sha256
  fi
}

# build_dir NAME [meson options...]: configures once, then builds.  Warnings
# are errors here, not in meson.build: a project that uses the SDK as a
# subproject keeps its own choice.
build_dir() {
  local dir=$1
  shift
  if [ ! -f "$dir/build.ninja" ]; then
    say "Configuring $dir"
    meson setup "$dir" --werror "$@" >/dev/null
  fi
  say "Building $dir"
  ninja -C "$dir" >/dev/null
}

install_packages
install_node_modules
build_dir build
