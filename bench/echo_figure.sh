#!/usr/bin/env bash
# Echo throughput of ringcast on one core, loaded from the other: starts the
# release build pinned to core 0 with one reactor, runs ringcast-echo-bench
# pinned to core 1 REPS times, prints each run and the median messages/s.
#
#   bench/echo_figure.sh [REPS] [extra ringcast-echo-bench options]
#   bench/echo_figure.sh 5 --connections 100 --size 32
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
shift || true
server=./build/ringcast
client=./build/bench/ringcast-echo-bench
[ -x "$server" ] && [ -x "$client" ] || { echo "build first: tools/dev.sh deps && meson setup build && ninja -C build" >&2; exit 2; }

log=$(mktemp)
taskset -c 0 "$server" --threads 1 --listen 127.0.0.1:0 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.05; done
port=$(grep -oP 'listening on 127.0.0.1:\K\d+' "$log")

rates=()
for i in $(seq "$reps"); do
  out=$(taskset -c 1 "$client" --port "$port" --duration 5 --warmup 1 --json "$@")
  rate=$(/usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(round(d["messages_per_s"]))' "$out")
  p99=$(/usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["latency_us"]["p99"])' "$out")
  echo "run $i: $rate messages/s, p99 $p99 us"
  rates+=("$rate")
done
median=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "median: $median messages/s over $reps runs ($*)"
