#!/usr/bin/env bash
# Where an echo costs its time, in instructions (callgrind counts them, so the
# figure is the same on a quiet or a busy machine): ringcast runs under
# callgrind, ringcast-load sends MESSAGES echo messages through it, the
# profile is dumped, and the user-space instructions per message are printed
# with the functions that take them. Kernel time (the syscalls) is not
# counted here: ringcast-load's summary shows the server's user/system split.
#
#   bench/where_time_goes.sh [BUILD_DIR] [MESSAGES] [ringcast-load echo options]
#   bench/where_time_goes.sh build 400000 --connections 100 --size 16 --inflight 16
# --fair-sched=yes: without it the reactor thread, blocked in io_uring_enter,
# can keep valgrind's thread lock and starve the main thread at start.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
messages=${2:-400000}
shift 2 || true
[ $# -gt 0 ] || set -- --connections 100 --size 16 --inflight 16
out=$(mktemp -d)
trap 'kill -9 "$vg" 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$out"' EXIT

valgrind --tool=callgrind --fair-sched=yes --instr-atstart=no --callgrind-out-file="$out/cg" "$build/ringcast" --listen 127.0.0.1:0 --threads 1 \
  2>"$out/err" &
vg=$!
for _ in $(seq 900); do  # valgrind starts slowly
  port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$out/err")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$out/err" >&2; exit 1; }
callgrind_control -i on "$vg" >/dev/null  # count only the run below, not start-up
"$build/tools/load/ringcast-load" echo --url "ws://127.0.0.1:$port/echo" --messages "$messages" \
  --duration 300 --quiet "$@" | grep -E 'messages |messages_per_s|p50|p99 '
callgrind_control -d "$vg" >/dev/null
sleep 2
profile=$(ls "$out"/cg.* | tail -n 1)
total=$(callgrind_annotate "$profile" | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
echo "user-space instructions per echoed message: $((total / messages)) (total $total for $messages)"
callgrind_annotate "$profile" | awk -v n="$messages" '
  /^-+$/ { sep++ } sep >= 5 && $1 ~ /^[0-9,]+$/ && NF > 2 {
    x = $1; gsub(",", "", x); name = $0; sub(/^[^?.]*[?.][^:]*:/, "", name); sub(/\(.*/, "", name)
    printf "  %6.0f  %s\n", x / n, name; if (++k == 15) exit }'
