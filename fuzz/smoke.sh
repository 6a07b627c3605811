#!/usr/bin/env bash
# Fuzz smoke test: build every libFuzzer target (whatever fuzz_targets declares)
# and fuzz each one in turn for SECONDS (default 30) with fuzz/run.sh: its
# committed corpus, its dictionary, ASan+UBSan, leak detection.
#
#   fuzz/smoke.sh [SECONDS] [libFuzzer args for every target...]
#
# Prints one line per target and a total; exits non-zero if any target
# crashed, leaked, timed out or had a sanitizer report, or if nothing was
# found to fuzz. Each target's full log and any crashing input are left in
# build-fuzz/fuzz-out/TARGET/ (CI: keep that folder as an artifact).
set -euo pipefail

cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: fuzz/smoke.sh [SECONDS] [libFuzzer args...]" >&2; exit 2; }

start=$(date +%s)
fuzz/run.sh --build
mapfile -t targets < <(fuzz/run.sh --list)
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz/smoke.sh: no fuzz targets found" >&2
  exit 1
fi
echo "fuzz/smoke.sh: ${#targets[@]} targets x ${seconds}s: ${targets[*]} (built in $(( $(date +%s) - start ))s)"

out_root=${FUZZ_BUILD_DIR:-build-fuzz}/fuzz-out
mkdir -p "$out_root"
failed=()
total_execs=0
for t in "${targets[@]}"; do
  log=$out_root/$t.smoke.log
  status=0
  fuzz/run.sh "$t" "$seconds" "$@" >"$log" 2>&1 || status=$?
  line=$(grep -a '^fuzz-result: ' "$log" | tail -n 1 | sed 's/^fuzz-result: //' || true)
  if [ -z "$line" ]; then
    # run.sh stopped before libFuzzer finished (build error, bad target, ...).
    printf '%-16s %s\n' "$t" "error(exit $status), no libFuzzer summary:"
    tail -n 30 "$log" | sed 's/^/    /'
    failed+=("$t")
    continue
  fi
  echo "$line"
  # run.sh prints its detail lines (input path, first report line) after the summary.
  sed -n '/^fuzz-result: /,$p' "$log" | tail -n +2
  execs=$(sed -n 's/.* execs=\([0-9]*\).*/\1/p' <<<"$line")
  total_execs=$((total_execs + ${execs:-0}))
  if [ "$status" -ne 0 ]; then
    failed+=("$t")
    # The sanitizer or libFuzzer report itself, for the CI log.
    echo "    ---- report (full log: $out_root/$t/log)"
    # From the first report line to its SUMMARY line, at most 40 lines.
    awk '/ERROR|runtime error:|check failed/ {p=1} p {print} p && /^SUMMARY: / {exit}' \
      "$out_root/$t/log" | head -n 40 | sed 's/^/    /'
  fi
done

elapsed=$(( $(date +%s) - start ))
if [ ${#failed[@]} -eq 0 ]; then
  echo "fuzz/smoke.sh: all ${#targets[@]} targets ok, $total_execs execs in ${elapsed}s"
else
  echo "fuzz/smoke.sh: FAILED ${#failed[@]}/${#targets[@]}: ${failed[*]} ($total_execs execs in ${elapsed}s)"
  exit 1
fi
