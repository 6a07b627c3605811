#!/usr/bin/env bash
# Build and run one libFuzzer target under ASan+UBSan (see fuzz/README.md).
#
#   fuzz/run.sh                          list the targets
#   fuzz/run.sh TARGET SECONDS [ARGS]    fuzz TARGET for SECONDS over a scratch
#                                        copy of its committed corpus, with its
#                                        dictionary if it has one; ARGS go to
#                                        libFuzzer last, so they win
#   fuzz/run.sh --minimize TARGET FILE [SECONDS]
#                                        shrink a crashing input (default 60 s)
#   fuzz/run.sh --list | --build         list targets / build them all
#
# The build dir (build-fuzz, or $FUZZ_BUILD_DIR) is set up on first use with
# clang-14; its options are corrected if someone changed them. Everything a
# run writes goes to <build dir>/fuzz-out/TARGET/: corpus/ (the scratch copy,
# grown by the run), log, and any crash-*/leak-*/timeout-*/oom-* artifact.
# The last line of a run is one "fuzz-result:" summary; exit status is 0 only
# if libFuzzer finished with no crash, leak, timeout or sanitizer report.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
OUT_ROOT=$BUILD/fuzz-out

# Options the build dir must have, as "meson option=value" pairs.
# shellcheck disable=SC2054  # the comma is inside one value
WANT_OPTIONS=(
  fuzz=true
  b_sanitize=address,undefined
  b_lundef=false
  buildtype=debugoptimized
  mimalloc=disabled
  bench=disabled
  tests=disabled
)

die() { echo "fuzz/run.sh: $*" >&2; exit 2; }

configure() {
  if [ ! -f "$BUILD/build.ninja" ]; then
    command -v clang++-14 >/dev/null || die "clang++-14 not found (apt-get install clang-14 libclang-rt-14-dev)"
    echo "fuzz/run.sh: setting up $BUILD" >&2
    local args=()
    for o in "${WANT_OPTIONS[@]}"; do args+=("-D$o"); done
    CC=clang-14 CXX=clang++-14 meson setup "$BUILD" "${args[@]}" >"$BUILD.setup.log" 2>&1 \
      || { cat "$BUILD.setup.log" >&2; rm -f "$BUILD.setup.log"; die "meson setup failed"; }
    rm -f "$BUILD.setup.log"
    return
  fi
  # An existing dir: keep it if it already matches (reconfiguring forces a
  # regeneration), fix its options if not; the compiler cannot be changed.
  local fix
  fix=$(meson introspect "$BUILD" --buildoptions --targets | python3 -c '
import json, sys
want = dict(o.split("=", 1) for o in sys.argv[1:])
info = json.load(sys.stdin)
opts, targets = info["buildoptions"], info["targets"]
for t in targets:
    for s in t.get("target_sources", []):
        if s.get("language") == "cpp" and "clang" not in " ".join(s.get("compiler", [])):
            print("COMPILER " + " ".join(s["compiler"]))
            sys.exit(0)
have = {o["name"]: o["value"] for o in opts}
def norm(v):
    if isinstance(v, bool): return "true" if v else "false"
    if isinstance(v, list): return ",".join(v)
    return str(v).lower()
print(" ".join("-D%s=%s" % (k, v) for k, v in want.items() if norm(have.get(k)) != v))
' "${WANT_OPTIONS[@]}")
  case "$fix" in
    COMPILER*) die "$BUILD was configured with ${fix#COMPILER }, not clang; remove it (rm -rf $BUILD) and rerun" ;;
    "") ;;
    *)
      echo "fuzz/run.sh: reconfiguring $BUILD: $fix" >&2
      # shellcheck disable=SC2086
      meson configure "$BUILD" $fix >/dev/null
      ;;
  esac
}

# name<TAB>path of every executable declared under fuzz/ (the fuzz_targets loop).
target_table() {
  meson introspect "$BUILD" --targets | python3 -c '
import json, os, sys
fuzz_dir = os.path.join(sys.argv[1], "fuzz") + os.sep
for t in json.load(sys.stdin):
    if t["type"] == "executable" and t["defined_in"].startswith(fuzz_dir) \
            and not t["name"].endswith("_replay"):
        print(t["name"] + "\t" + os.path.relpath(t["filename"][0], sys.argv[2]))
' "$ROOT" "$BUILD" | sort
}

target_path() {  # name -> path inside the build dir, relative to it
  local path
  path=$(target_table | awk -F'\t' -v n="$1" '$1 == n { print $2 }')
  [ -n "$path" ] || { echo "fuzz/run.sh: no fuzz target '$1'; targets:" >&2; target_table | cut -f1 >&2; exit 2; }
  echo "$path"
}

build() {  # ninja paths...
  ninja -C "$BUILD" "$@" >"$BUILD/fuzz-build.log" 2>&1 \
    || { tail -n 60 "$BUILD/fuzz-build.log" >&2; die "build failed (full log: $BUILD/fuzz-build.log)"; }
}

# Committed corpus: fuzz/**/corpus/NAME. Dictionary: NAME.dict next to that
# corpus/ folder, else <folder>.dict there (a dictionary shared by the folder).
corpus_of() {
  local found
  found=$(find fuzz -type d -path "*/corpus/$1" | sort)
  [ "$(printf '%s\n' "$found" | grep -c .)" -le 1 ] || die "more than one corpus folder for $1: $found"
  echo "$found"
}
dict_of() {  # name, corpus dir (may be empty)
  local dir
  if [ -n "$2" ]; then dir=$(dirname "$(dirname "$2")"); else return 0; fi
  if [ -f "$dir/$1.dict" ]; then echo "$dir/$1.dict"
  elif [ -f "$dir/$(basename "$dir").dict" ]; then echo "$dir/$(basename "$dir").dict"
  fi
}

sanitizer_env() {
  local symbolizer
  symbolizer=$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)
  [ -z "$symbolizer" ] || export ASAN_SYMBOLIZER_PATH=$symbolizer
  # Ours first, so options already in the environment win.
  export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:print_summary=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
}

final_stat() {  # log, name: a -print_final_stats value
  grep -a -m1 -o "stat::$2: *[0-9]*" "$1" | awk '{print $2}' || true
}

# Reads a libFuzzer log; prints the summary line (without the prefix) and
# returns 0 if the run is clean.
summarize() {  # name, log, exit status, artifact dir
  local name=$1 log=$2 rc=$3 dir=$4 result
  if grep -a -q "ERROR: LeakSanitizer" "$log"; then result=leak
  elif grep -a -q "ERROR: AddressSanitizer" "$log"; then
    result=asan:$(grep -a -m1 -o "ERROR: AddressSanitizer: [a-z-]*" "$log" | awk '{print $3}')
  elif grep -a -q "runtime error:" "$log"; then result=ubsan
  elif grep -a -q "ERROR: libFuzzer: timeout" "$log"; then result=timeout
  elif grep -a -q "ERROR: libFuzzer: out-of-memory" "$log"; then result=oom
  elif grep -a -q "ERROR: libFuzzer: deadly signal" "$log"; then result=crash
  elif grep -a -q "ERROR: libFuzzer" "$log"; then result=$(grep -a -m1 -o "ERROR: libFuzzer: [a-z-]*" "$log" | awk '{print $3}')
  elif [ "$rc" -ne 0 ]; then result="failed(exit $rc)"
  else result=ok
  fi
  [ "$result" = ok ] || [ "$rc" -ne 0 ] || result="$result(exit 0)"

  local execs eps newu rss cov ft corp
  execs=$(final_stat "$log" number_of_executed_units); eps=$(final_stat "$log" average_exec_per_sec)
  newu=$(final_stat "$log" new_units_added); rss=$(final_stat "$log" peak_rss_mb)
  local last
  last=$(grep -a -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
  printf '%-16s %-12s execs=%-10s exec/s=%-7s cov=%-5s ft=%-6s corp=%-12s new=%-5s rss=%sMB\n' \
    "$name" "$result" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${newu:-?}" "${rss:-?}"
  if [ "$result" != ok ]; then
    local artifact
    artifact=$(grep -a -o "Test unit written to [^ ]*" "$log" | tail -n 1 | awk '{print $5}')
    [ -z "$artifact" ] || echo "    input: $artifact (reproduce: $BUILD/$(target_path "$name") $artifact)"
    grep -a -m1 -E "check failed|SUMMARY: |runtime error:" "$log" | sed 's/^/    /' || true
    return 1
  fi
}

run_target() {  # name, seconds, extra libFuzzer args...
  local name=$1 seconds=$2; shift 2
  [[ "$seconds" =~ ^[0-9]+$ ]] || die "SECONDS must be a whole number, got '$seconds'"
  local bin corpus dict out
  bin=$BUILD/$(target_path "$name")
  build "$(target_path "$name")"
  corpus=$(corpus_of "$name")
  dict=$(dict_of "$name" "$corpus")
  out=$OUT_ROOT/$name
  mkdir -p "$out"
  exec 9>"$out/.lock"
  flock -n 9 || die "another run of $name is using $out; wait for it or set FUZZ_BUILD_DIR"
  rm -rf "$out/corpus"
  mkdir -p "$out/corpus"
  [ -z "$corpus" ] || cp -R "$corpus/." "$out/corpus/"
  sanitizer_env

  local args=(
    -max_total_time="$seconds"
    -error_exitcode=77 -timeout_exitcode=78
    -timeout=25 -rss_limit_mb=2048
    -detect_leaks=1 -print_final_stats=1
    -artifact_prefix="$out/"
  )
  [ -z "$dict" ] || args+=(-dict="$dict")
  echo "fuzz/run.sh: $name for ${seconds}s, corpus ${corpus:-(none)} -> $out/corpus, dict ${dict:-(none)}" >&2
  local rc=0
  "$bin" "${args[@]}" "$@" "$out/corpus" 2>&1 | tee "$out/log" || rc=${PIPESTATUS[0]}
  local line status=0
  line=$(summarize "$name" "$out/log" "$rc" "$out") || status=$?
  echo "fuzz-result: $line"
  return $status
}

minimize() {  # name, file, seconds
  local name=$1 file=$2 seconds=${3:-60}
  [ -f "$file" ] || die "no such file: $file"
  local bin out
  bin=$BUILD/$(target_path "$name")
  build "$(target_path "$name")"
  out=$OUT_ROOT/$name
  mkdir -p "$out"
  sanitizer_env
  local min
  min=$out/minimized-$(basename "$file")
  "$bin" -minimize_crash=1 -max_total_time="$seconds" -timeout=25 -exact_artifact_path="$min" "$file" 2>&1 \
    | grep -a -E "^CRASH_MIN|^\*\*\*|ERROR:" || true
  [ -f "$min" ] || die "no minimized input was written (does $file still crash?)"
  echo "fuzz/run.sh: minimized $(wc -c <"$file") -> $(wc -c <"$min") bytes: $min"
  echo "fuzz/run.sh: reproduce with: $bin $min"
}

case "${1:-}" in
  ""|-h|--help)
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2
    configure
    echo "targets:" >&2
    target_table | cut -f1
    ;;
  --list)
    configure
    target_table | cut -f1
    ;;
  --build)
    configure
    mapfile -t paths < <(target_table | cut -f2)
    [ ${#paths[@]} -gt 0 ] || die "no fuzz targets in $BUILD"
    build "${paths[@]}"
    ;;
  --minimize)
    [ $# -ge 3 ] || die "usage: fuzz/run.sh --minimize TARGET FILE [SECONDS]"
    configure
    minimize "$2" "$3" "${4:-60}"
    ;;
  -*)
    die "unknown option $1 (see fuzz/run.sh --help)"
    ;;
  *)
    [ $# -ge 2 ] || die "usage: fuzz/run.sh TARGET SECONDS [libFuzzer args...]"
    configure
    run_target "$@"
    ;;
esac
