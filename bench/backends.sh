#!/usr/bin/env bash
# Figures for the parts of ringcast that talk to application backends:
#  1. the server API: publishes/s on ONE keep-alive HTTP connection
#     (ringcast-load api-publish, pipelined, window 32) and the deliveries/s
#     to WebSocket subscribers while it publishes;
#  2. route forwarding: requests/s through a trivial upstream
#     (bench/peers/upstream.js) and, for comparison, through the built-in
#     echo handler (ringcast-load request).
# It starts node bench/peers/upstream.js and ringcast with
# bench/configs/upstream.toml, runs every scenario REPS times, prints each
# run, then the medians with the exact commands, and stops what it started.
#
#   bench/backends.sh --build build
#   bench/backends.sh --build build --reps 5 --rates '1000 2000 4000 8000'
#
# Scenarios (each publishing/measured phase is --duration seconds, 5):
#   api-1sub        api-publish, 1 subscriber, as fast as the window allows:
#                   the API connection's own ceiling
#   api-burst       api-publish, S subscribers on 1 channel, 5,000 publishes as
#                   fast as the window allows: the API answers them at once,
#                   the deliveries/s are the fan-out draining them
#   api-rate-R      api-publish, S subscribers on 1 channel, R publishes/s for
#                   the duration (R from --rates): sustained publishing with
#                   every delivery checked
#   upstream-kK     request on /v1 (route "message" -> upstream.js), 100
#                   connections, K in flight each (K = 1, 8)
#   echo-kK         the same on /v1echo (route "message" -> handler "echo")
# Full-speed publishing to 1,000 subscribers for the whole duration is left
# out on purpose: the API acknowledges far faster than the fan-out delivers,
# and the backlog grows in the server until the slow-consumer limit closes
# the subscribers.
#
# Options (defaults in brackets):
#   --build DIR          build folder with ringcast and tools/load/ringcast-load [build]
#   --reps N             repetitions of every scenario; medians are reported [3]
#   --duration S         seconds of publishing / of the measured window [5]
#   --threads N          ringcast reactors (--threads) [2]
#   --load-threads N     ringcast-load --threads [2]
#   --subscribers N      subscribers of the api-burst and api-rate scenarios [1000]
#   --rates 'R ...'      publishes/s of the api-rate scenarios ['1000 2000']
#   --only 'NAME ...'    run only these scenarios (api-1sub api-burst api-rate upstream echo)
#   --ws-port P, --api-port P, --upstream-port P   [8080, 9090, 7070]
#
# The ports must be free: ringcast listens with SO_REUSEPORT, so a second
# server already on a port would silently take part of the connections.
# Exit status: 0 if every run was clean, 1 otherwise, 2 on bad usage or setup.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "backends.sh: $*" >&2; exit 2; }

build=build
reps=3
duration=5
threads=2
load_threads=2
subscribers=1000
rates='1000 2000'
only='api-1sub api-burst api-rate upstream echo'
ws_port=8080
api_port=9090
up_port=7070
api_key=bench-key-0123456789

while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  esac
  [ $# -ge 2 ] || die "$1 needs a value"
  case $1 in
    --build) build=$2 ;;
    --reps) reps=$2 ;;
    --duration) duration=$2 ;;
    --threads) threads=$2 ;;
    --load-threads) load_threads=$2 ;;
    --subscribers) subscribers=$2 ;;
    --rates) rates=$2 ;;
    --only) only=$2 ;;
    --ws-port) ws_port=$2 ;;
    --api-port) api_port=$2 ;;
    --upstream-port) up_port=$2 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift 2
done
for v in "$reps" "$threads" "$load_threads" "$subscribers" "$ws_port" "$api_port" "$up_port"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || die "'$v' is not a positive whole number"
done
for r in $rates; do [[ $r =~ ^[1-9][0-9]*$ ]] || die "--rates: '$r' is not a positive whole number"; done
[[ $duration =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--duration must be seconds"
server_bin=$build/ringcast
load_bin=$build/tools/load/ringcast-load
[ -x "$server_bin" ] || die "$server_bin not found: meson setup $build && ninja -C $build ringcast"
[ -x "$load_bin" ] || die "$load_bin not found: ninja -C $build tools/load/ringcast-load"
command -v node >/dev/null || die "node is not installed"
wants() { [[ " $only " == *" $1 "* ]]; }

for p in "$ws_port" "$api_port" "$up_port"; do
  if [ -n "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]; then
    die "port $p is in use (ss -ltnp 'sport = :$p'); pick others with --ws-port/--api-port/--upstream-port"
  fi
done

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The config with this run's ports: the upstream URL is in the file, the
# listen addresses are overridden on the command line.
config=$work/upstream.toml
sed -e "s#http://127.0.0.1:7070/#http://127.0.0.1:$up_port/#" bench/configs/upstream.toml >"$config"

# start NAME LOGFILE PATTERN CMD...: starts CMD, waits for PATTERN in its log.
start() {
  local name=$1 log=$2 pattern=$3
  shift 3
  "$@" >"$log" 2>&1 </dev/null &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 300); do
    grep -q "$pattern" "$log" 2>/dev/null && { STARTED=$pid; return; }
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "$name exited at start: $*"; }
    sleep 0.05
  done
  cat "$log" >&2
  die "$name did not start within 15 s: $*"
}

upstream_cmd=(node bench/peers/upstream.js "$up_port")
server_cmd=("$server_bin" --config bench/configs/upstream.toml --threads "$threads")
[ "$ws_port" = 8080 ] || server_cmd+=(--listen "127.0.0.1:$ws_port")
[ "$api_port" = 9090 ] || server_cmd+=(--api-listen "127.0.0.1:$api_port")
start upstream "$work/upstream.log" 'listening on' "${upstream_cmd[@]}"
up_pid=$STARTED
# The same command line, but the config with this run's upstream port.
start ringcast "$work/ringcast.log" 'ringcast: listening on' "${server_cmd[0]}" --config "$config" "${server_cmd[@]:3}"
server_pid=$STARTED
sleep 0.2
grep -q "api listening" "$work/ringcast.log" || { cat "$work/ringcast.log" >&2; die "the server API did not start"; }
echo "upstream: pid $up_pid: ${upstream_cmd[*]}"
echo "ringcast: pid $server_pid: ${server_cmd[*]}$([ "$up_port" = 7070 ] || echo "  (upstream port $up_port)")"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

ws=ws://127.0.0.1:$ws_port
api=http://127.0.0.1:$api_port
scen_names=()
scen_args=()
add() { scen_names+=("$1"); scen_args+=("$2"); }
if wants api-1sub; then
  add api-1sub "api-publish --url $ws/api/v1/ws --api $api --api-key $api_key --subscribers 1 --channels 1 --window 32 --messages 100M --duration $duration --drain-timeout 5"
fi
if wants api-burst; then
  add api-burst "api-publish --url $ws/api/v1/ws --api $api --api-key $api_key --subscribers $subscribers --channels 1 --window 32 --messages 5000 --duration $duration --drain-timeout 10"
fi
if wants api-rate; then
  for r in $rates; do
    add "api-rate-$r" "api-publish --url $ws/api/v1/ws --api $api --api-key $api_key --subscribers $subscribers --channels 1 --window 32 --rate $r --messages 100M --duration $duration --drain-timeout 5"
  done
fi
for k in 1 8; do
  wants upstream && add "upstream-k$k" "request --url $ws/v1 --connections 100 --inflight $k --duration $duration --warmup 1"
done
for k in 1 8; do
  wants echo && add "echo-k$k" "request --url $ws/v1echo --connections 100 --inflight $k --duration $duration --warmup 1"
done
[ ${#scen_names[@]} -gt 0 ] || die "--only selects no scenario"

ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
hz=$(getconf CLK_TCK)

# One run: the tool's JSON, plus the upstream's CPU over the run.
run() {
  local name=$1 args=$2 out=$3 rc=0 t0 t1 c0 c1
  read -r -a words <<<"$args"
  local line=("$load_bin" "${words[@]}" --threads "$load_threads" --server-pid "$server_pid" --quiet --json)
  t0=$(date +%s%N); c0=$(ticks "$up_pid")
  "${line[@]}" >"$out.tool" 2>"$out.err" </dev/null || rc=$?
  t1=$(date +%s%N); c1=$(ticks "$up_pid")
  kill -0 "$server_pid" 2>/dev/null || { tail -20 "$work/ringcast.log" >&2; die "ringcast died during $name"; }
  /usr/bin/python3 - "$out.tool" "$out" "$rc" "$name" "$((c1 - c0))" "$((t1 - t0))" "$hz" "${line[*]}" <<'EOF'
import json, sys
tool, out, rc, name, dticks, dns, hz, cmd = sys.argv[1:]
try:
    text = open(tool).read().strip()
    d = json.loads(text.splitlines()[-1]) if text else {}
except (ValueError, IndexError):
    d = {}
def get(path):
    v = d
    for k in path.split("."):
        if not isinstance(v, dict) or v.get(k) is None:
            return None
        v = v[k]
    return v
r = {"name": name, "ok": rc == "0" and d.get("ok") is True, "exit_status": int(rc), "command": cmd,
     "problems": d.get("problems") or ([] if d else ["no report (see the tool's stderr)"]),
     "server_cpu_pct": get("cpu.server_percent"), "tool_cpu_pct": get("cpu.tool_percent"),
     "server_rss_mib": (get("cpu.server_rss_after_bytes") or 0) / 2**20,
     "upstream_cpu_pct": 100.0 * int(dticks) / int(hz) / (int(dns) / 1e9) if int(dns) > 0 else None}
if d.get("mode") == "api-publish":
    r.update(publishes_per_s=get("result.publishes_per_s"), publishes=get("result.answered_200"),
             deliveries_per_s=get("result.delivered_per_s"), deliveries=get("result.delivered"),
             api_p50_us=get("api_latency.p50_us"), api_p99_us=get("api_latency.p99_us"),
             delivery_p50_us=get("delivery_latency.p50_us"), delivery_p99_us=get("delivery_latency.p99_us"))
else:
    r.update(requests_per_s=get("result.requests_per_s"), error_answers=get("result.error_answers_total"),
             p50_us=get("latency.p50_us"), p99_us=get("latency.p99_us"))
json.dump(r, open(out, "w"))
EOF
  return "$rc"
}

describe() {
  /usr/bin/python3 - "$1" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
f = lambda v, spec: format(v, spec) if isinstance(v, (int, float)) else "?"
if "publishes_per_s" in r:
    s = (f"{f(r['publishes_per_s'], ',.0f')} publishes/s (API p50 {f(r['api_p50_us'], '.0f')} us,"
         f" p99 {f(r['api_p99_us'], '.0f')} us)  {f(r['deliveries_per_s'], ',.0f')} deliveries/s"
         f" (p50 {f(r['delivery_p50_us'], '.0f')} us, p99 {f(r['delivery_p99_us'], '.0f')} us)")
else:
    s = (f"{f(r['requests_per_s'], ',.0f')} requests/s  p50 {f(r['p50_us'], '.0f')} us  p99 {f(r['p99_us'], '.0f')} us"
         f"  upstream cpu {f(r['upstream_cpu_pct'], '.0f')}%")
s += f"  server cpu {f(r['server_cpu_pct'], '.0f')}%  tool cpu {f(r['tool_cpu_pct'], '.0f')}%  rss {f(r['server_rss_mib'], '.0f')} MiB"
if not r["ok"]:
    s += f"  FAILED (exit {r['exit_status']}): " + "; ".join(r["problems"][:3])
print(s)
EOF
}

failed=0
for i in "${!scen_names[@]}"; do
  for rep in $(seq "$reps"); do
    f=$work/${scen_names[$i]}_$rep.json
    run "${scen_names[$i]}" "${scen_args[$i]}" "$f" || true
    line=$(describe "$f")
    printf 'rep %d  %-15s %s\n' "$rep" "${scen_names[$i]}" "$line"
    if [[ $line == *FAILED* ]]; then
      failed=1
      tail -3 "$f.err" | sed 's/^/    load: /' >&2
    fi
  done
done

echo
/usr/bin/python3 - "$work" "$reps" "${scen_names[@]}" <<'EOF'
import json, os, statistics, sys
work, reps, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
f = lambda v, spec: format(v, spec) if isinstance(v, (int, float)) else "?"
def med(runs, k):
    vals = [r.get(k) for r in runs if isinstance(r.get(k), (int, float))]
    return statistics.median(vals) if vals else None
print(f"medians of {reps} (clean runs only):")
for name in names:
    runs = [json.load(open(os.path.join(work, f"{name}_{i}.json"))) for i in range(1, reps + 1)]
    good = [r for r in runs if r["ok"]]
    m = lambda k: med(good, k)
    if "publishes_per_s" in runs[0]:
        s = (f"{f(m('publishes_per_s'), ',.0f')} publishes/s (API p50 {f(m('api_p50_us'), '.0f')} us, p99"
             f" {f(m('api_p99_us'), '.0f')} us), {f(m('deliveries_per_s'), ',.0f')} deliveries/s (p50"
             f" {f(m('delivery_p50_us'), '.0f')} us, p99 {f(m('delivery_p99_us'), '.0f')} us)")
    else:
        s = (f"{f(m('requests_per_s'), ',.0f')} requests/s, p50 {f(m('p50_us'), '.0f')} us, p99 {f(m('p99_us'), '.0f')} us,"
             f" upstream cpu {f(m('upstream_cpu_pct'), '.0f')}%")
    s += f", server cpu {f(m('server_cpu_pct'), '.0f')}%, tool cpu {f(m('tool_cpu_pct'), '.0f')}%"
    if len(good) < len(runs):
        bad = next(r for r in runs if not r["ok"])
        s += f"  [{len(good)}/{len(runs)} runs clean; first problem: {(bad['problems'] or ['?'])[0]}]"
    print(f"  {name:<15} {s}")
    print(f"  {'':<15} {runs[0]['command']}")
EOF
exit "$failed"
