#!/usr/bin/env bash
# Runs ringcast and any other servers under the same load, in turn, on the
# same cores, and prints per-run figures, medians and ringcast/other ratios.
# The servers start once each, pinned to --server-cpu; the load runs pinned
# to --load-cpu. Each repetition loads every server once, in reverse order on
# even repetitions (A B, B A, ...) so that a drift in the machine (another
# job, thermal) does not favour whoever goes first. With no --other it is
# ringcast's own figure: REPS pinned runs and their median.
#
#   bench/side_by_side.sh --reps 5 --scenario 'echo --connections 100 --size 32 --duration 5'
#   bench/side_by_side.sh --other node --scenario 'echo --connections 100 --size 16 --inflight 1 --duration 5'
#   bench/side_by_side.sh --other raw --other node --reps 5 --json
#   bench/side_by_side.sh --other 'python3 my_server.py {port}' --name mine
#
# Options (defaults in brackets):
#   --build DIR       build folder with ringcast, tools/load/ringcast-load and
#                     bench/ringcast-raw-echo [build]
#   --ringcast CMD    the ringcast server [DIR/ringcast --listen 127.0.0.1:0 --threads 1]
#   --other CMD       another server, repeatable (or none); {port} becomes a free port.
#                     Shortcuts: raw = DIR/bench/ringcast-raw-echo --port {port} (plain TCP),
#                     node = node bench/peers/ws_echo.js {port}
#   --name NAME       label of the last --other [raw, node-ws, other1, ...]
#   --raw             the last --other is plain TCP echo: load it with --raw and
#                     tcp://127.0.0.1:PORT (implied by the raw shortcut)
#   --path PATH       WebSocket URL path for every server [/echo]
#   --scenario ARGS   ringcast-load arguments without the URL: an echo or rate
#                     scenario [echo --connections 100 --size 16 --inflight 1 --duration 5]
#   --load CMD        the ringcast-load to run [DIR/tools/load/ringcast-load]
#   --load-args ARGS  appended to every load run (e.g. '--warmup 2 --threads 2')
#   --reps N          repetitions [3]
#   --warmup S        one untimed run of S seconds per server before the reps; 0 = none [1]
#   --server-cpu N, --load-cpu N   cores for taskset [0, 1]
#   --json            one JSON object on stdout; the human lines go to stderr
#
# Servers must print "listening on HOST:PORT" (stdout or stderr) or accept on
# {port} within 15 s. Commands run from the repository root. Server CPU is
# ringcast-load's cpu.server_percent (it gets --server-pid), else this
# script's own /proc/PID/stat reading over the whole load run.
# Exit status: 0 if every run finished without errors, 1 otherwise, 2 on bad usage.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "side_by_side.sh: $*" >&2; exit 2; }

build=build
ringcast_cmd=''
load_cmd=''
load_args=''
scenario='echo --connections 100 --size 16 --inflight 1 --duration 5'
ws_path=/echo
reps=3
warmup=1
server_cpu=0
load_cpu=1
json=0
other_cmd=()
other_name=()
other_raw=()

while [ $# -gt 0 ]; do
  opt=$1
  case $opt in
    --json) json=1; shift; continue ;;
    --raw) [ ${#other_cmd[@]} -gt 0 ] || die "--raw must follow an --other"
           other_raw[-1]=1; shift; continue ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  esac
  [ $# -ge 2 ] || die "$opt needs a value"
  val=$2
  shift 2
  case $opt in
    --build) build=$val ;;
    --ringcast) ringcast_cmd=$val ;;
    --other) other_cmd+=("$val"); other_name+=(''); other_raw+=(0) ;;
    --name) [ ${#other_cmd[@]} -gt 0 ] || die "--name must follow an --other"; other_name[-1]=$val ;;
    --path) ws_path=$val ;;
    --scenario) scenario=$val ;;
    --load) load_cmd=$val ;;
    --load-args) load_args=$val ;;
    --reps) reps=$val ;;
    --warmup) warmup=$val ;;
    --server-cpu) server_cpu=$val ;;
    --load-cpu) load_cpu=$val ;;
    *) die "unknown option $opt (see --help)" ;;
  esac
done
[[ $reps =~ ^[1-9][0-9]*$ ]] || die "--reps must be a positive whole number"
[[ $warmup =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--warmup must be seconds"
[ -n "$ringcast_cmd" ] || ringcast_cmd="$build/ringcast --listen 127.0.0.1:0 --threads 1"
[ -n "$load_cmd" ] || load_cmd="$build/tools/load/ringcast-load"
load_bin=${load_cmd%% *}
[ -x "$load_bin" ] || die "load generator $load_bin not found: meson setup $build && ninja -C $build"

# Expand the shortcuts and give every other a name.
for i in "${!other_cmd[@]}"; do
  case ${other_cmd[$i]} in
    raw) other_cmd[$i]="$build/bench/ringcast-raw-echo --port {port}"; other_raw[$i]=1
         [ -n "${other_name[$i]}" ] || other_name[$i]=raw ;;
    node) other_cmd[$i]="node bench/peers/ws_echo.js {port}"
          [ -n "${other_name[$i]}" ] || other_name[$i]=node-ws
          [ -d bench/peers/node_modules/ws ] || die "bench/peers needs its packages: npm install --prefix bench/peers" ;;
  esac
  [ -n "${other_name[$i]}" ] || other_name[$i]="other$((i + 1))"
done
names=(ringcast "${other_name[@]}")
cmds=("$ringcast_cmd" "${other_cmd[@]}")
raws=(0 "${other_raw[@]}")
for n in "${names[@]:1}"; do [ "$n" != ringcast ] || die "--name ringcast is taken"; done

say() { if [ "$json" = 1 ]; then echo "$*" >&2; else echo "$*"; fi; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_server INDEX: starts it pinned, sets ports[INDEX] and pids[INDEX].
ports=()
start_server() {
  local i=$1 cmd=${cmds[$1]} port='' log="$work/server$1.log"
  if [[ $cmd == *'{port}'* ]]; then
    port=$(free_port)
    cmd=${cmd//'{port}'/$port}
  fi
  # exec twice, so that the pid we hold is the server itself.
  taskset -c "$server_cpu" bash -c "exec $cmd" >"$log" 2>&1 </dev/null &
  pids[$i]=$!
  local seen=''
  for _ in $(seq 300); do
    seen=$(grep -oP 'listening on \[?[^ \]]*\]?:\K[0-9]+' "$log" 2>/dev/null | head -1 || true)
    [ -n "$seen" ] && break
    if [ -n "$port" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then seen=$port; break; fi
    kill -0 "${pids[$i]}" 2>/dev/null || { cat "$log" >&2; die "${names[$i]} exited at start: $cmd"; }
    sleep 0.05
  done
  [ -n "$seen" ] || { cat "$log" >&2; die "${names[$i]} did not start listening within 15 s: $cmd"; }
  ports[$i]=$seen
  say "server ${names[$i]}: pid ${pids[$i]}, port $seen, cpu $server_cpu: $cmd"
}

url_of() {
  if [ "${raws[$1]}" = 1 ]; then echo "tcp://127.0.0.1:${ports[$1]}"; else echo "ws://127.0.0.1:${ports[$1]}$ws_path"; fi
}

# The load command line for server INDEX with scenario words SCEN, as an array in LOADLINE.
build_load_line() {
  local i=$1 scen=$2
  read -r -a words <<<"$scen"
  read -r -a extra <<<"$load_args"
  read -r -a lc <<<"$load_cmd"
  LOADLINE=("${lc[@]}" "${words[@]}" --url "$(url_of "$i")")
  [ "${raws[$i]}" = 1 ] && LOADLINE+=(--raw)
  LOADLINE+=(--server-pid "${pids[$i]}" --quiet --json "${extra[@]}")
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
now_ns() { date +%s%N; }
ticks_per_s=$(getconf CLK_TCK)

# run_load INDEX SCENARIO OUTFILE: one load run; writes the tool's JSON plus
# our own server CPU and RSS readings to OUTFILE. Returns the tool's status.
run_load() {
  local i=$1 scen=$2 out=$3
  local pid=${pids[$i]}
  build_load_line "$i" "$scen"
  local t0 c0 t1 c1 rc=0
  t0=$(now_ns); c0=$(cpu_ticks "$pid")
  taskset -c "$load_cpu" "${LOADLINE[@]}" >"$out.tool" 2>"$out.err" </dev/null || rc=$?
  t1=$(now_ns); c1=$(cpu_ticks "$pid")
  kill -0 "$pid" 2>/dev/null || { cat "$work/server$i.log" >&2; die "${names[$i]} died during a run"; }
  /usr/bin/python3 - "$out.tool" "$out" "$rc" "$(( (c1 - c0) ))" "$(( t1 - t0 ))" "$ticks_per_s" "$(rss_kb "$pid")" "${LOADLINE[*]}" <<'EOF'
import json, sys
tool, out, rc, dticks, dns, hz, rss, cmd = sys.argv[1:]
try:
    text = open(tool).read().strip()
    d = json.loads(text.splitlines()[-1]) if text else {}
except (ValueError, IndexError):
    d = {}
# ringcast-load's report (tools/load/README.md): result, latency, cpu.
def get(path):
    v = d
    for k in path.split("."):
        if not isinstance(v, dict) or v.get(k) is None:
            return None
        v = v[k]
    return v
lat = {k: get("latency.%s_us" % ("p99_9" if k == "p999" else k)) for k in ("p50", "p90", "p99", "p999", "max")}
script_pct = 100.0 * (int(dticks) / int(hz)) / (int(dns) / 1e9) if int(dns) > 0 else None
server = get("cpu.server_percent")
rss_bytes = get("cpu.server_rss_after_bytes")
errors = None
if get("result") is not None:
    errors = sum(get("result." + k) or 0 for k in ("mismatches", "unexpected_messages", "lost", "connections_lost"))
# echo reports messages_per_s, rate achieved_per_s
rate = get("result.messages_per_s")
r = {
    "ok": rc == "0" and d.get("ok") is True and not errors,
    "exit_status": int(rc),
    "messages_per_sec": rate if rate is not None else get("result.achieved_per_s"),
    "mb_per_sec": get("result.mb_per_s_each_way"),
    "latency_us": lat,
    "client_cpu_pct": get("cpu.tool_percent"),
    "server_cpu_pct": server if server is not None else script_pct,
    "server_cpu_source": "load tool" if server is not None else "script (/proc/PID/stat over the whole load run)",
    "server_rss_kb": int(rss_bytes / 1024) if rss_bytes is not None else int(rss),
    "errors": errors,
    "problems": d.get("problems"),
    "command": cmd,
}
json.dump(r, open(out, "w"))
EOF
  return "$rc"
}

describe() {  # one line for a run's JSON file
  /usr/bin/python3 - "$1" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
f = lambda v, spec: format(v, spec) if isinstance(v, (int, float)) else "?"
lat = r["latency_us"]
print(f(r["messages_per_sec"], ",.0f"), "msg/s ", f(r["mb_per_sec"], ".2f"), "MB/s  p50", f(lat["p50"], ".0f"),
      "p99", f(lat["p99"], ".0f"), "us  server cpu", f(r["server_cpu_pct"], ".0f") + "%  client cpu",
      f(r["client_cpu_pct"], ".0f") + "%  rss", f(r["server_rss_kb"] / 1024, ".1f"), "MiB",
      "" if r["ok"] else " FAILED (exit %s, errors %s%s)" % (r["exit_status"], r["errors"],
      ": %s" % r["problems"] if r.get("problems") else ""))
EOF
}

with_duration() {  # the scenario with --duration replaced by $1
  local s=$2
  if [[ $s =~ --duration[=\ ]+[0-9.]+ ]]; then
    echo "${s/${BASH_REMATCH[0]}/--duration $1}"
  else
    echo "$s --duration $1"
  fi
}

for i in "${!cmds[@]}"; do start_server "$i"; done
say "scenario: $scenario  (load $load_cmd on cpu $load_cpu, $reps reps)"

failed=0
if [ "$warmup" != 0 ]; then
  for i in "${!cmds[@]}"; do
    run_load "$i" "$(with_duration "$warmup" "$scenario")" "$work/warm$i" || true
  done
fi

order=("${!cmds[@]}")
for rep in $(seq "$reps"); do
  if (( rep % 2 == 0 )); then seq_=$(printf '%s\n' "${order[@]}" | tac); else seq_=$(printf '%s\n' "${order[@]}"); fi
  for i in $seq_; do
    f="$work/run_${i}_$rep.json"
    run_load "$i" "$scenario" "$f" || true
    line=$(describe "$f")
    say "$(printf 'rep %d  %-10s %s' "$rep" "${names[$i]}" "$line")"
    if [[ $line == *FAILED* ]]; then
      failed=1
      sed 's/^/    load: /' "$f.err" | tail -5 >&2
    fi
  done
done

# Medians and ratios, as text or JSON.
/usr/bin/python3 - "$work" "$json" "$scenario" "$load_cmd $load_args" "$reps" "$server_cpu" "$load_cpu" \
  "${#cmds[@]}" "${names[@]}" "${cmds[@]}" <<'EOF'
import json, os, statistics, sys
work, as_json, scenario, load, reps, scpu, lcpu, n = sys.argv[1:9]
n = int(n); reps = int(reps)
names = sys.argv[9:9 + n]; cmds = sys.argv[9 + n:9 + 2 * n]
def med(vals):
    vals = [v for v in vals if isinstance(v, (int, float))]
    return statistics.median(vals) if vals else None
servers = {}
for i, name in enumerate(names):
    runs = [json.load(open(os.path.join(work, f"run_{i}_{r}.json"))) for r in range(1, reps + 1)]
    good = [r for r in runs if r["ok"]]
    m = {
        "messages_per_sec": med(r["messages_per_sec"] for r in good),
        "mb_per_sec": med(r["mb_per_sec"] for r in good),
        "latency_us": {k: med(r["latency_us"][k] for r in good) for k in ("p50", "p90", "p99", "p999", "max")},
        "server_cpu_pct": med(r["server_cpu_pct"] for r in good),
        "client_cpu_pct": med(r["client_cpu_pct"] for r in good),
        "server_rss_kb": med(r["server_rss_kb"] for r in good),
    }
    # Throughput per core the server used: fair when a server cannot fill its core.
    eff = [r["messages_per_sec"] / (r["server_cpu_pct"] / 100) for r in good
           if r["messages_per_sec"] and r["server_cpu_pct"]]
    m["messages_per_server_cpu_s"] = med(eff)
    servers[name] = {"command": cmds[i], "runs": runs, "ok_runs": len(good), "median": m}
def ratio(a, b):
    return a / b if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None
rc = servers["ringcast"]["median"]
ratios = {}
for name in names[1:]:
    o = servers[name]["median"]
    ratios[name] = {
        "messages_per_sec": ratio(rc["messages_per_sec"], o["messages_per_sec"]),
        "p50_latency": ratio(rc["latency_us"]["p50"], o["latency_us"]["p50"]),
        "p99_latency": ratio(rc["latency_us"]["p99"], o["latency_us"]["p99"]),
        "messages_per_server_cpu_s": ratio(rc["messages_per_server_cpu_s"], o["messages_per_server_cpu_s"]),
    }
if as_json == "1":
    print(json.dumps({"scenario": scenario, "load": load.strip(), "reps": reps, "server_cpu": int(scpu),
                      "load_cpu": int(lcpu), "servers": servers, "ratios_ringcast_over": ratios}))
    sys.exit(0)
f = lambda v, spec: format(v, spec) if isinstance(v, (int, float)) else "?"
print(f"medians over {reps} reps ({scenario}):")
for name in names:
    s = servers[name]; m = s["median"]
    print(f"  {name:<10} {f(m['messages_per_sec'], ',.0f'):>11} msg/s  {f(m['mb_per_sec'], '.2f'):>8} MB/s"
          f"  p50 {f(m['latency_us']['p50'], '.0f')} us  p99 {f(m['latency_us']['p99'], '.0f')} us"
          f"  server cpu {f(m['server_cpu_pct'], '.0f')}%"
          f"  {f(m['messages_per_server_cpu_s'], ',.0f')} msg per server cpu-s"
          + ("" if s["ok_runs"] == reps else f"  ({s['ok_runs']}/{reps} runs ok)"))
for name, r in ratios.items():
    print(f"  ringcast/{name}: throughput x{f(r['messages_per_sec'], '.2f')}, p99 latency"
          f" x{f(r['p99_latency'], '.2f')}, per server cpu-s x{f(r['messages_per_server_cpu_s'], '.2f')}")
EOF
exit "$failed"
