#!/usr/bin/env bash
# ringcast developer entry point, for a fresh Debian 12 machine (run as root,
# or with sudo available for the package install).
#
#   tools/dev.sh run    install what is missing, build a release, run ringcast
#                       with its embedded default config (extra args go to ringcast)
#   tools/dev.sh test   install what is missing, build release and ASan+UBSan
#                       builds, run every test in both (unit, fuzz-corpus replay,
#                       integration against real clients), then every libFuzzer
#                       target for a bounded smoke run (FUZZ_SECONDS, default 30)
#   tools/dev.sh deps   only install what is missing
set -euo pipefail

cd "$(dirname "$0")/.."

# Build and test dependencies, all from Debian 12 (nothing is downloaded at build time).
PACKAGES=(
  build-essential pkg-config meson ninja-build
  liburing-dev node-llhttp libsimdjson-dev libssl-dev libmimalloc-dev libtomlplusplus-dev zlib1g-dev
  libgtest-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev llvm-14
  python3 python3-websockets python3-pytest python3-jwt python3-cryptography curl
)

install_deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "dev.sh: installing ${missing[*]}" >&2
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

configure() {  # dir, meson options...
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    meson configure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
}

build_release() {
  configure build --buildtype=release
  ninja -C build >/dev/null
}

# Runs one meson test suite run and adds its counts to the totals.
PASSED=0
FAILED=0
run_suite() {  # label, build dir, extra meson-test args...
  local label=$1 dir=$2; shift 2
  echo "== $label" >&2
  local status=0
  meson test -C "$dir" --print-errorlogs "$@" || status=$?
  local log="$dir/meson-logs/testlog.json"
  if [ -f "$log" ]; then
    local ok fail
    ok=$(grep -c '"result": "OK"' "$log" || true)
    fail=$(grep -c '"result": "\(FAIL\|TIMEOUT\|ERROR\|UNEXPECTEDPASS\)"' "$log" || true)
    PASSED=$((PASSED + ok))
    FAILED=$((FAILED + fail))
  fi
  [ $status -eq 0 ] || FAILED=$((FAILED > 0 ? FAILED : 1))
}

cmd=${1:-}
shift || true
case "$cmd" in
  deps)
    install_deps
    ;;
  run)
    install_deps
    build_release
    exec ./build/ringcast "$@"
    ;;
  test)
    install_deps
    build_release
    run_suite "release build" build
    configure build-asan --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false \
      -Dmimalloc=disabled -Dbench=disabled
    ninja -C build-asan >/dev/null
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      run_suite "ASan+UBSan build" build-asan --timeout-multiplier 3
    echo "== libFuzzer smoke (clang-14, ASan+UBSan), ${FUZZ_SECONDS:-30} s per target" >&2
    if fuzz/smoke.sh "${FUZZ_SECONDS:-30}"; then
      PASSED=$((PASSED + 1))
    else
      FAILED=$((FAILED + 1))
    fi
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
    ;;
  *)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
