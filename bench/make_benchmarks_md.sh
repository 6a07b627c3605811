#!/usr/bin/env bash
# Regenerates docs/BENCHMARKS.md from fresh runs: the machine's facts, every
# echo scenario through bench/side_by_side.sh (ringcast against the raw
# io_uring TCP echo and against Node's ws, medians and ratios, the exact
# commands), and the micro-benchmark results.
#
#   bench/make_benchmarks_md.sh [--build DIR] [--ringcast CMD] [--load CMD] [--reps N] [--duration S]
#                               [--out FILE] [--keep DIR] [--wait-idle S] [--no-micro] [--quick]
#   bench/make_benchmarks_md.sh --render-only DIR [--out FILE]
#
#   --build DIR     build folder (release) [build]
#   --ringcast CMD  the ringcast server [DIR/ringcast --listen 127.0.0.1:0 --threads 1]
#   --revision TEXT what to call that ringcast on the page [git describe --always --dirty]
#   --load CMD      the ringcast-load to run [DIR/tools/load/ringcast-load]
#   --reps N        repetitions per server and scenario [3]
#   --duration S    measured seconds per run [5]
#   --out FILE      [docs/BENCHMARKS.md]
#   --keep DIR      keep every run's JSON there
#   --wait-idle S   before each scenario, wait up to S seconds for the machine
#                   to be under 10% busy (other jobs); the page records how busy
#                   it was when each scenario started [0 = don't wait]
#   --no-micro      leave the micro-benchmark section out
#   --render-only DIR  no runs: write the page from a folder --keep filled
#   --quick         1 rep of 2 s, short micro runs: checks the pipeline, not
#                   for figures anyone should quote
#
# Takes about 8 minutes with the defaults. Both cores are used (server on 0,
# load on 1): run it on an otherwise idle machine; the page records how busy
# the machine was before the runs.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "make_benchmarks_md.sh: $*" >&2; exit 2; }

build=build
load=''
ringcast=''
revision=''
reps=3
duration=5
out=docs/BENCHMARKS.md
keep=''
micro=1
micro_min_time=0.5
wait_idle=0
render_only=''
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --load) load=$2; shift 2 ;;
    --ringcast) ringcast=$2; shift 2 ;;
    --revision) revision=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --no-micro) micro=0; shift ;;
    --wait-idle) wait_idle=$2; shift 2 ;;
    --render-only) render_only=$2; shift 2 ;;
    --quick) reps=1; duration=2; micro_min_time=0.05; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
status=0
if [ -n "$render_only" ]; then
  [ -f "$render_only/machine.env" ] || die "$render_only has no machine.env: not a --keep folder"
  work=$render_only
  reps=$(sed -n 's/^reps=//p' "$work/machine.env")
  duration=$(sed -n 's/^duration=//p' "$work/machine.env")
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  [ -n "$load" ] || load="$build/tools/load/ringcast-load"
  [ -n "$ringcast" ] || ringcast="$build/ringcast --listen 127.0.0.1:0 --threads 1"
  [ -n "$revision" ] || revision=$(git describe --always --dirty 2>/dev/null || echo '?')
  for f in "${ringcast%% *}" "$build/bench/ringcast-raw-echo" "${load%% *}"; do
    [ -x "$f" ] || die "$f is missing: meson setup $build && ninja -C $build"
  done
  [ -d bench/peers/node_modules/ws ] || die "the Node peer needs its packages: npm install --prefix bench/peers"


  # How busy the machine is before we start: non-idle share of all cores over 2 s.
  busy_pct() {
    read -r _ u1 n1 s1 i1 w1 q1 sq1 st1 _ < /proc/stat
    sleep 2
    read -r _ u2 n2 s2 i2 w2 q2 sq2 st2 _ < /proc/stat
    local busy=$(( (u2 + n2 + s2 + q2 + sq2 + st2) - (u1 + n1 + s1 + q1 + sq1 + st1) ))
    local idle=$(( (i2 + w2) - (i1 + w1) ))
    echo $(( 100 * busy / (busy + idle + 1) ))
  }

  {
    echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
    echo "kernel=$(uname -r)"
    echo "cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
    echo "cores=$(nproc)"
    echo "hypervisor=$(lscpu | sed -n 's/^Hypervisor vendor: *//p' | head -1)"
    echo "mem_gib=$(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)"
    echo "os=$(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "compiler=$(c++ --version | head -1)"
    echo "liburing=$(pkg-config --modversion liburing 2>/dev/null || echo '?')"
    echo "node=$(node --version)"
    echo "ws=$(node -p 'require("./bench/peers/node_modules/ws/package.json").version')"
    echo "revision=$revision"
    echo "ringcast=$ringcast"
    echo "buildtype=$(meson introspect --buildoptions "$build" 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="buildtype"))' 2>/dev/null || echo '?')"
    echo "load=$load"
    echo "load_version=$("${load%% *}" --version 2>/dev/null | head -1 || true)"
    echo "loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "reps=$reps"
    echo "duration=$duration"
    echo "busy_before_pct=$(busy_pct)"
  } > "$work/machine.env"
  echo "machine: $(tr '\n' ' ' < "$work/machine.env")" >&2

  # Waits (up to --wait-idle seconds) for the machine to be under 10% busy;
  # prints how busy it was at the end.
  settle() {
    local busy waited=0
    busy=$(busy_pct)
    while [ "$busy" -ge 10 ] && [ "$waited" -lt "$wait_idle" ]; do
      echo "(machine ${busy}% busy; waiting for it to settle, ${waited}/${wait_idle} s)" >&2
      sleep 8
      waited=$((waited + 10))
      busy=$(busy_pct)
    done
    echo "$busy"
  }

  # name|scenario
  scenarios=(
    "100 conn, 16 B|echo --connections 100 --size 16 --inflight 1 --duration $duration"
    "100 conn, 1 KiB|echo --connections 100 --size 1024 --inflight 1 --duration $duration"
    "1,000 conn, 16 B|echo --connections 1000 --size 16 --inflight 1 --duration $duration"
    "1,000 conn, 1 KiB|echo --connections 1000 --size 1024 --inflight 1 --duration $duration"
    "peak: 100 conn, 16 B, 16 in flight|echo --connections 100 --size 16 --inflight 16 --duration $duration"
  )
  for i in "${!scenarios[@]}"; do
    title=${scenarios[$i]%%|*}
    scen=${scenarios[$i]#*|}
    busy=$(settle)
    echo "$busy" > "$work/scenario$i.busy"
    echo "== $title: $scen  (machine ${busy}% busy before)" >&2
    cmd=(bench/side_by_side.sh --build "$build" --ringcast "$ringcast" --load "$load" --other raw --other node
         --scenario "$scen" --reps "$reps" --json)
    printf '%q ' "${cmd[@]}" > "$work/scenario$i.cmd"
    echo "$title" > "$work/scenario$i.title"
    "${cmd[@]}" > "$work/scenario$i.json" || { status=1; echo "(some runs failed; see above)" >&2; }
  done

  if [ "$micro" = 1 ]; then
    echo "micro_busy_pct=$(settle)" >> "$work/machine.env"
    for exe in "$build"/bench/micro/micro-*; do
      [ -x "$exe" ] && [ -f "$exe" ] || continue
      echo "== $(basename "$exe")" >&2
      taskset -c 1 "$exe" --benchmark_format=json --benchmark_min_time="$micro_min_time" \
        > "$work/$(basename "$exe").micro.json" 2>/dev/null || { status=1; echo "$exe failed" >&2; }
    done
  fi
  echo "busy_after_pct=$(busy_pct)" >> "$work/machine.env"
  [ -z "$keep" ] || { mkdir -p "$keep"; cp "$work"/* "$keep"/; }

fi

/usr/bin/python3 - "$work" "$out" "$reps" "$duration" <<'EOF'
import glob, json, os, sys
work, out, reps, duration = sys.argv[1:]
env = dict(l.rstrip("\n").split("=", 1) for l in open(os.path.join(work, "machine.env")) if "=" in l)
f = lambda v, spec: format(v, spec) if isinstance(v, (int, float)) else "?"

scen = []
for path in sorted(glob.glob(os.path.join(work, "scenario*.json")), key=lambda p: int(p.split("scenario")[-1][:-5])):
    base = path[:-5]
    try:
        data = json.load(open(path))
    except ValueError:
        data = None
    busy = open(base + ".busy").read().strip() if os.path.exists(base + ".busy") else "?"
    scen.append((open(base + ".title").read().strip(), open(base + ".cmd").read().strip(), data, busy))

# A --keep folder from before machine.env recorded them: take reps and the
# duration from the runs themselves.
if not reps:
    reps = str(next((d["reps"] for *_, d, _b in scen if d), "?"))
if not duration:
    import re
    m = next((re.search(r"--duration[= ]+([0-9.]+)", d["scenario"]) for *_, d, _b in scen if d), None)
    duration = m.group(1) if m else "?"

L = []
w = L.append
w("# Benchmarks")
w("")
w("Generated by `bench/make_benchmarks_md.sh` on %s; rerun it to refresh every figure on this page "
  "(it takes about 8 minutes on an idle machine)." % env["date"])
w("")
load_name = os.path.basename(env["load"].split()[0])
w("**Load tool for these figures: `%s`**%s. Each server runs on core 0 (`taskset -c 0`) and the "
  "load on core 1; ringcast has one reactor (`--threads 1`). Each repetition loads every server once, "
  "alternating the order; the figures are medians of %s runs of %s s after one untimed warm-up run per "
  "server." % (load_name, " (" + env["load_version"] + ")" if env.get("load_version") else "", reps, duration))
w("")
w("## Machine")
w("")
w("| | |")
w("|---|---|")
for k, label in [("cpu", "CPU"), ("cores", "cores"), ("hypervisor", "hypervisor"), ("mem_gib", "memory (GiB)"),
                 ("kernel", "kernel"), ("os", "OS"), ("compiler", "compiler"), ("liburing", "liburing"),
                 ("node", "Node.js"), ("ws", "ws (npm)"), ("revision", "ringcast revision"),
                 ("buildtype", "build type"), ("loadavg_before", "load average before"),
                 ("busy_before_pct", "CPU busy before the runs (%, 2 s sample)"),
                 ("busy_after_pct", "CPU busy after the runs (%, 2 s sample)")]:
    w("| %s | %s |" % (label, env.get(k, "?")))
w("")
busiest = max([int(b) for *_, b in scen if b.isdigit()] + [0])
if busiest >= 10:
    w("> **Caution:** other jobs were using the same two cores (up to %d%% busy just before a "
      "scenario), so absolute figures are low and noisy. The ratios are more robust, since every "
      "server ran under the same conditions, alternating." % busiest)
    w("")

w("## What is compared")
w("")
w("* **ringcast**: `%s` (revision %s), the `/echo` endpoint (raw echo, every message back with "
  "its opcode). Text messages are UTF-8 validated." % (env["ringcast"], env["revision"]))
w("* **raw**: `bench/ringcast-raw-echo`, a plain TCP echo on io_uring with no WebSocket at all "
  "(multishot accept into fixed files, multishot recv from a provided-buffer ring, one send in flight per "
  "connection, DEFER_TASKRUN). The floor: what the kernel's TCP path costs by itself. The load sends the "
  "same payload bytes without framing (`--raw`).")
w("* **node-ws**: `node bench/peers/ws_echo.js`, the `ws` package's server (no permessage-deflate, "
  "no native add-ons), echoing with the same opcode.")
w("")
w("Ratios are ringcast / other: above 1 means ringcast echoes more messages per second. "
  "*msg per server cpu-s* divides throughput by the server's CPU use, which matters when a server "
  "does not fill its core. Latency is the closed-loop round trip measured by the load tool "
  "(send queued to echo parsed), so it is a service time at that load, not a response time at a "
  "fixed arrival rate.")
w("")

w("## Summary")
w("")
w("| scenario | ringcast msg/s | raw msg/s | node-ws msg/s | ringcast/raw | ringcast/node-ws |")
w("|---|---:|---:|---:|---:|---:|")
for title, cmd, d, busy in scen:
    if not d:
        w("| %s | failed | | | | |" % title)
        continue
    m = lambda n: d["servers"].get(n, {}).get("median", {}).get("messages_per_sec")
    r = lambda n: d["ratios_ringcast_over"].get(n, {}).get("messages_per_sec")
    w("| %s | %s | %s | %s | %s | %s |" % (title, f(m("ringcast"), ",.0f"), f(m("raw"), ",.0f"),
      f(m("node-ws"), ",.0f"), f(r("raw"), ".2f"), f(r("node-ws"), ".2f")))
w("")

w("## Scenarios")
for title, cmd, d, busy in scen:
    w("")
    w("### " + title)
    w("")
    w("```")
    w(cmd)
    w("```")
    w("")
    if not d:
        w("The run failed; no figures.")
        continue
    one = d["servers"]["ringcast"]["runs"][0]["command"]
    w("One load run (ringcast), as executed: `%s`. The machine was %s%% busy just before this "
      "scenario started." % (one, busy))
    w("")
    w("| server | msg/s | MB/s | p50 us | p99 us | p99.9 us | server cpu | client cpu | msg per server cpu-s | server RSS MiB | runs ok |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, s in d["servers"].items():
        m = s["median"]; lat = m["latency_us"]
        w("| %s | %s | %s | %s | %s | %s | %s%% | %s%% | %s | %s | %d/%d |" % (
            name, f(m["messages_per_sec"], ",.0f"), f(m["mb_per_sec"], ".2f"), f(lat["p50"], ".0f"),
            f(lat["p99"], ".0f"), f(lat["p999"], ".0f"), f(m["server_cpu_pct"], ".0f"),
            f(m["client_cpu_pct"], ".0f"), f(m["messages_per_server_cpu_s"], ",.0f"),
            f((m["server_rss_kb"] or 0) / 1024, ".1f"), s["ok_runs"], d["reps"]))
    w("")
    busy_clients = [n for n, sv in d["servers"].items()
                    if isinstance(sv["median"]["client_cpu_pct"], (int, float)) and sv["median"]["client_cpu_pct"] >= 90]
    if busy_clients:
        w("The load core was at least 90%% busy against %s: there the load tool may be the limit, and the "
          "figure is a lower bound on what that server can do." % ", ".join(busy_clients))
        w("")
    for name, r in d["ratios_ringcast_over"].items():
        w("* ringcast / %s: throughput **x%s**, p99 latency x%s, per server cpu-s x%s" % (
            name, f(r["messages_per_sec"], ".2f"), f(r["p99_latency"], ".2f"),
            f(r["messages_per_server_cpu_s"], ".2f")))
    per_run = ", ".join("%s %s" % (name, "/".join(f(run["messages_per_sec"], ".0f") for run in s["runs"]))
                        for name, s in d["servers"].items())
    w("* every run, msg/s in order: " + per_run)
    src = {run["server_cpu_source"] for s in d["servers"].values() for run in s["runs"]}
    w("* server cpu from: " + "; ".join(sorted(src)))

micro = sorted(glob.glob(os.path.join(work, "*.micro.json")))
if micro:
    w("")
    w("## Micro-benchmarks")
    w("")
    w("Google Benchmark, pinned to core 1 (`taskset -c 1 BUILD/bench/micro/micro-LAYER`); the machine "
      "was %s%% busy just before. " % env.get("micro_busy_pct", "?") +
      "Pure code, no I/O. *items/s* is frames, headers or handshakes per second as the benchmark says; "
      "GB/s is 10^9 bytes per second. Sources: `bench/micro/*_bench.cpp`.")
    for path in micro:
        d = json.load(open(path))
        w("")
        w("### %s" % os.path.basename(path).replace(".micro.json", ""))
        w("")
        w("| benchmark | CPU time | items/s | GB/s |")
        w("|---|---:|---:|---:|")
        for b in d.get("benchmarks", []):
            if b.get("run_type", "iteration") != "iteration":
                continue
            t = b["cpu_time"]; unit = b.get("time_unit", "ns")
            ips = b.get("items_per_second"); bps = b.get("bytes_per_second")
            def human(v):
                if v is None: return ""
                for div, suf in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
                    if v >= div: return "%.2f%s" % (v / div, suf)
                return "%.0f" % v
            err = " (error: %s)" % b["error_message"] if b.get("error_occurred") else ""
            w("| %s%s | %.1f %s | %s | %s |" % (b["name"], err, t, unit, human(ips),
              "%.2f" % (bps / 1e9) if bps else ""))
        ctx = d.get("context", {})
        if ctx.get("library_build_type") == "debug":
            w("")
            w("(Debian's libbenchmark reports itself as a debug build; that affects the harness, not the "
              "code measured, which is built as `%s`.)" % env.get("buildtype", "?"))

w("")
w("## Reproducing one figure")
w("")
w("```sh")
w("meson setup build && ninja -C build   # release build")
w("npm install --prefix bench/peers      # the Node peer")
w("bench/side_by_side.sh --other raw --other node \\")
w("  --scenario 'echo --connections 100 --size 16 --inflight 1 --duration 5' --reps 3")
w("```")
w("")
w("See `bench/README.md` for every option of the scripts and tools.")
open(out, "w").write("\n".join(L) + "\n")
print("wrote", out, file=sys.stderr)
EOF
exit "$status"
