// `ringcast-load idle`: hold many upgraded connections and measure what they
// cost the server in resident memory.
//
// A process may hold at most ~20,000 descriptors here, so --processes K
// forks K worker processes that share N between them (each runs --threads
// IdleWorkers, idle_worker.hpp). Each socket is bound to 127.0.0.X before
// connect(), X cycling over 2..254, so the ~28k ephemeral ports per (source,
// destination) pair do not cap N. The parent never touches a socket: it
// samples the server's RSS (and a Prometheus metric) before the first
// connect and at the end of the hold, runs the optional echo probe, and
// tells the workers when to close through shared memory.
#include "echo_run.hpp"
#include "idle_worker.hpp"
#include "modes.hpp"
#include "options.hpp"
#include "progress.hpp"
#include "report.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <new>
#include <thread>

namespace load {

namespace {

struct ChildCpu {
  double user_s = 0, sys_s = 0;
};

// The shared mapping: control block, one result per (process, thread), one
// CPU record per process.
struct IdleShared {
  IdleControl* ctl;
  IdleThreadResult* results;
  ChildCpu* cpu;
  void* base;
  size_t bytes;
};

IdleShared map_shared(unsigned processes, unsigned threads) {
  IdleShared s{};
  const size_t n = size_t(processes) * threads;
  s.bytes = sizeof(IdleControl) + 64 + n * sizeof(IdleThreadResult) + processes * sizeof(ChildCpu);
  s.base = mmap(nullptr, s.bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (s.base == MAP_FAILED) {
    s.base = nullptr;
    return s;
  }
  auto* at = static_cast<uint8_t*>(s.base);
  s.ctl = new (at) IdleControl;
  at += (sizeof(IdleControl) + 63) / 64 * 64;
  s.results = reinterpret_cast<IdleThreadResult*>(at);
  for (size_t i = 0; i < n; ++i) new (&s.results[i]) IdleThreadResult;
  at += n * sizeof(IdleThreadResult);
  s.cpu = new (at) ChildCpu[processes];
  return s;
}

// The body of worker process `k`: never returns.
[[noreturn]] void child_main(unsigned k, unsigned processes, unsigned threads, uint64_t connections,
                             const Target& target, uint32_t concurrency, const IdleShared& sh,
                             uint64_t setup_deadline, uint64_t life_deadline) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the parent
  signal(SIGINT, SIG_IGN);           // the parent decides when to stop
  const uint64_t first = connections * k / processes, last = connections * (k + 1) / processes;
  std::vector<std::thread> pool;
  std::vector<std::unique_ptr<IdleWorker>> workers;
  for (unsigned t = 0; t < threads; ++t) {
    IdlePlan p;
    p.target = &target;
    p.first = uint32_t(first + (last - first) * t / threads);
    p.conns = uint32_t(first + (last - first) * (t + 1) / threads) - p.first;
    p.max_connecting = std::max<uint32_t>(1, concurrency / threads);
    p.setup_deadline_ns = setup_deadline;
    p.life_deadline_ns = life_deadline;
    workers.push_back(std::make_unique<IdleWorker>(p, *sh.ctl, sh.results[k * threads + t]));
  }
  for (auto& w : workers) pool.emplace_back([&w] { w->run(); });
  for (auto& t : pool) t.join();
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  sh.cpu[k].user_s = double(r.ru_utime.tv_sec) + double(r.ru_utime.tv_usec) / 1e6;
  sh.cpu[k].sys_s = double(r.ru_stime.tv_sec) + double(r.ru_stime.tv_usec) / 1e6;
  std::fflush(nullptr);
  _exit(0);
}

}  // namespace

int mode_idle(int argc, char** argv) {
  CommonOptions c;
  c.url = "ws://127.0.0.1:8080/echo";
  uint64_t connections = 1000, processes = 1, concurrency = 256;
  double hold = 10, setup_timeout = 120, probe_rate = 20;
  std::string metrics_url, probe_url;
  std::vector<OptSpec> specs = {
      str("--url", "URL", "ws://host:port/path to hold connections on", &c.url),
      u64("--connections", "N", "connections in all", &connections, 1, 1'000'000),
      u64("--processes", "K", "worker processes sharing N (each can hold ~19,900: the fd limit)", &processes, 1, 512),
      u64("--concurrency", "C", "handshakes in progress at once, per process", &concurrency, 1, 10000),
      f64("--hold", "S", "seconds to hold the connections once all are up", &hold, 0, 3600),
      f64("--setup-timeout", "S", "give up opening connections after S seconds", &setup_timeout, 1, 3600),
      str("--metrics-url", "URL", "http://.../metrics: also read process_resident_memory_bytes", &metrics_url),
      str("--probe-url", "URL", "while holding, echo on this ws:// (or tcp://) URL and report latency", &probe_url),
      f64("--probe-rate", "R", "probe messages per second", &probe_rate, 0.1, 100000),
  };
  if (auto done = parse_command_line(
          "idle", specs, c, argc, argv,
          "Opens N WebSocket connections (K processes, each socket bound to 127.0.0.X first, X = 2..254)\n"
          "and holds them, answering pings. Reports the server's RSS growth per held connection from\n"
          "/proc/PID/status (--server-pid) and/or a metrics endpoint, and, with --probe-url, the echo\n"
          "latency of a small probe while the connections are held. --threads is per process.",
          "examples:\n"
          "  ringcast-load idle --connections 19000 --hold 30 --server-pid $(pidof ringcast)\n"
          "  ringcast-load idle --connections 50000 --processes 3 --hold 60 --server-pid PID \\\n"
          "      --metrics-url http://127.0.0.1:9090/metrics --probe-url ws://127.0.0.1:8080/echo"))
    return *done;
  Target target;
  if (std::string err = prepare_ws_target("--url", c.url, c.allow_remote, target); !err.empty())
    return usage_error("idle", err);
  if (!target.ipv4 && connections > 25000)
    std::fprintf(stderr, "ringcast-load idle: warning: source addresses can only be spread over 127.0.0.X for an "
                         "IPv4 target; expect to run out of ports near 28,000 connections\n");
  const uint64_t limit = raise_fd_limit();
  const uint64_t per_process = (connections + processes - 1) / processes;
  if (per_process + 64 > limit)
    return usage_error("idle", std::to_string(per_process) + " connections per process exceed the open-files limit (" +
                                   std::to_string(limit) + "); use --processes " +
                                   std::to_string((connections + limit - 65) / (limit - 64)) + " or more");
  Target metrics;
  if (!metrics_url.empty()) {
    if (std::string err = prepare_target("--metrics-url", metrics_url, c.allow_remote, metrics); !err.empty())
      return usage_error("idle", err);
  }
  EchoRunSpec probe;
  if (!probe_url.empty()) {
    probe.connections = 1;
    probe.threads = 1;
    probe.size = 32;
    probe.rate = probe_rate;
    probe.max_outstanding = 1024;
    probe.warmup_s = 0;
    probe.duration_s = std::max(hold, 0.1);
    probe.drain_s = 2;
    probe.quiet = true;
    if (std::string err = prepare_echo(probe_url, c.allow_remote, probe); !err.empty())
      return usage_error("idle", "--probe-url: " + err);
  }
  const unsigned threads = unsigned(c.threads);
  const unsigned nproc = unsigned(processes);
  IdleShared sh = map_shared(nproc, threads);
  if (!sh.base) {
    std::perror("ringcast-load idle: mmap");
    return kExitSetup;
  }

  const pid_t server = pid_t(c.server_pid);
  const int64_t rss_before = server ? proc_rss_bytes(server) : -1;
  double metric_before = NAN, metric_held = NAN;
  std::string metric_error;
  if (!metrics_url.empty()) metric_error = fetch_metric(metrics, "process_resident_memory_bytes", metric_before);
  const CpuSample self0 = self_cpu(), server0 = proc_cpu(server);
  const uint64_t start = now_ns();
  const uint64_t setup_deadline = start + uint64_t(setup_timeout * 1e9);
  const uint64_t life_deadline = setup_deadline + uint64_t(hold * 1e9) + 30'000'000'000ull;

  std::fflush(nullptr);
  std::vector<pid_t> kids;
  for (unsigned k = 0; k < nproc; ++k) {
    pid_t pid = fork();
    if (pid == 0)
      child_main(k, nproc, threads, connections, target, uint32_t(concurrency), sh, setup_deadline, life_deadline);
    if (pid < 0) {
      std::perror("ringcast-load idle: fork");
      sh.ctl->phase.store(kIdleClose);
      break;
    }
    kids.push_back(pid);
  }
  const unsigned total_threads = unsigned(kids.size()) * threads;
  std::vector<const Live*> blocks;
  for (unsigned i = 0; i < total_threads; ++i) blocks.push_back(&sh.results[i].live);

  // A worker process that dies early must not leave the parent waiting.
  std::vector<bool> reaped(kids.size()), died(kids.size());
  size_t alive = kids.size();
  int abnormal = 0;
  auto reap = [&] {
    for (size_t i = 0; i < kids.size(); ++i) {
      int status = 0;
      if (reaped[i] || waitpid(kids[i], &status, WNOHANG) != kids[i]) continue;
      reaped[i] = true;
      --alive;
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        ++abnormal;
        died[i] = true;
      }
    }
  };
  Progress progress(c.quiet, nullptr, nullptr);
  int seen = interrupts();
  bool interrupted = false;
  while (sh.ctl->threads_ready.load() < total_threads) {
    reap();
    if (interrupts() != seen || abnormal || now_ns() > setup_deadline + 5'000'000'000ull) {
      interrupted = interrupts() != seen;
      sh.ctl->phase.store(kIdleClose);
      break;
    }
    progress.maybe_print(blocks, "setup", connections);
    sleep_ns(10'000'000);
  }
  const uint64_t setup_done = now_ns();
  const LiveTotals after_setup = sum_live(blocks);
  const CpuSample server_hold0 = proc_cpu(server);

  std::unique_ptr<EchoRunResult> probe_result;
  std::thread probe_thread;
  if (!probe_url.empty() && !interrupted) {
    probe.duration_s = std::max(hold - 1, 0.1);  // ends before the hold does
    probe_thread = std::thread([&] { probe_result = std::make_unique<EchoRunResult>(run_echo(probe)); });
  }
  const uint64_t hold_end = setup_done + uint64_t(hold * 1e9);
  while (!interrupted && !abnormal && now_ns() < hold_end) {
    reap();
    if (interrupts() != seen) {
      interrupted = true;
      break;
    }
    progress.maybe_print(blocks, "hold", connections);
    sleep_ns(10'000'000);
  }
  if (probe_thread.joinable()) probe_thread.join();
  // The figures of the hold, taken before anything closes.
  // A dead worker's gauges froze when it died: leave its connections out.
  reap();
  std::vector<const Live*> living;
  for (unsigned i = 0; i < total_threads; ++i)
    if (!died[i / threads]) living.push_back(blocks[i]);
  const LiveTotals held = sum_live(living);
  const int64_t rss_held = server ? proc_rss_bytes(server) : -1;
  if (!metrics_url.empty() && metric_error.empty())
    metric_error = fetch_metric(metrics, "process_resident_memory_bytes", metric_held);
  const CpuSample server_hold1 = proc_cpu(server);
  const uint64_t hold_done = now_ns();

  sh.ctl->phase.store(kIdleClose);
  const uint64_t kill_at = now_ns() + 15'000'000'000ull;
  while (alive > 0) {
    reap();
    if (alive && now_ns() > kill_at)
      for (size_t i = 0; i < kids.size(); ++i)
        if (!reaped[i]) kill(kids[i], SIGKILL);
    progress.maybe_print(blocks, "close", connections);
    sleep_ns(10'000'000);
  }
  progress.finish_line();
  const CpuSample self1 = self_cpu(), server1 = proc_cpu(server);

  // Gather.
  auto hist = std::make_unique<Histogram>();
  uint64_t opened = 0, failed = 0, dropped = 0, server_closes = 0, messages = 0, pings = 0, clean = 0, unclean = 0,
           protocol = 0;
  std::string first_error, ring_mode;
  for (unsigned i = 0; i < total_threads; ++i) {
    const IdleThreadResult& r = sh.results[i];
    hist->merge(r.connect_hist);
    opened += r.opened;
    failed += r.failed;
    dropped += r.dropped_in_hold;
    server_closes += r.server_closes;
    messages += r.messages;
    pings += r.pings;
    clean += r.clean_closes;
    unclean += r.unclean_closes;
    protocol += r.protocol_errors;
    if (first_error.empty() && r.first_error[0]) first_error = r.first_error;
    if (ring_mode.empty() && r.ring_mode[0]) ring_mode = r.ring_mode;
  }
  CpuUse tool = cpu_between(self0, self1);
  for (size_t k = 0; k < kids.size(); ++k) tool += CpuUse{sh.cpu[k].user_s, sh.cpu[k].sys_s, 0, true};

  Report rep("idle", target.text);
  Report::Section& cfg = rep.section("config");
  cfg.count("connections", connections);
  cfg.count("processes", nproc);
  cfg.count("threads_per_process", threads);
  cfg.count("concurrency_per_process", concurrency);
  cfg.number("hold_s", hold, 1);
  cfg.text("source_addresses", target.ipv4 ? "127.0.0.2-254 (cycling)" : "default");
  cfg.text("io_uring", ring_mode + " + multishot recv");
  Report::Section& res = rep.section("result");
  res.count("upgraded", opened);
  res.count("failed", failed);
  res.number("setup_s", double(setup_done - start) / 1e9, 3);
  res.number("upgrades_per_s", setup_done > start ? double(after_setup.handshakes) / (double(setup_done - start) / 1e9) : 0, 1);
  res.count("held_at_end_of_hold", held.open);
  res.number("held_s", double(hold_done - setup_done) / 1e9, 2);
  res.count("dropped_by_server", dropped);
  res.count("closed_by_server", server_closes);
  res.count("server_messages", messages);
  res.count("pings_answered", pings);
  res.count("protocol_errors", protocol);
  res.count("clean_closes", clean);
  res.count("unclean_closes", unclean);
  if (interrupted) res.boolean("interrupted", true);
  Report::Section& mem = rep.section("server_memory");
  if (server) {
    mem.integer("rss_before_bytes", rss_before);
    mem.integer("rss_held_bytes", rss_held);
    if (rss_before >= 0 && rss_held >= 0) {
      mem.integer("rss_growth_bytes", rss_held - rss_before);
      if (held.open)
        mem.number("rss_per_connection_bytes", double(rss_held - rss_before) / double(held.open), 0);
    }
  } else {
    mem.text("rss", "not measured (--server-pid)");
  }
  if (!metrics_url.empty()) {
    if (!metric_error.empty()) {
      mem.text("metrics_error", metric_error);
    } else {
      mem.number("metric_rss_before_bytes", metric_before, 0);
      mem.number("metric_rss_held_bytes", metric_held, 0);
      if (held.open) mem.number("metric_rss_per_connection_bytes", (metric_held - metric_before) / double(held.open), 0);
    }
  }
  rep.latency("connect_to_101", *hist);
  bool probe_ok = true;
  if (probe_result) {
    const EchoRunResult& p = *probe_result;
    Report::Section& ps = rep.section("probe");
    ps.text("url", probe.target.text);
    ps.number("rate_per_s", probe.rate, 1);
    ps.count("echoes", p.stats.measured);
    ps.count("lost", p.stats.lost + p.stats.mismatches);
    ps.boolean("setup_ok", p.setup_ok);
    if (!p.setup_ok) ps.text("setup_error", p.setup_error);
    rep.latency("probe_latency", *p.hist);
    probe_ok = p.setup_ok && !p.stats.lost && !p.stats.mismatches && !p.stats.conns_lost && p.stats.measured > 0;
    if (!probe_ok)
      rep.add_problem("the probe did not get all its echoes back" +
                      (p.stats.first_error.empty() ? std::string() : ": " + p.stats.first_error));
  }
  Report::Section& cpu = rep.section("cpu");
  const double wall = double(self1.wall_ns - self0.wall_ns) / 1e9;
  cpu.number("wall_s", wall, 2);
  cpu.number("tool_user_s", tool.user_s, 2);
  cpu.number("tool_sys_s", tool.sys_s, 2);
  cpu.number("tool_percent", wall > 0 ? 100 * (tool.user_s + tool.sys_s) / wall : 0, 1);
  cpu.count("tool_processes", kids.size());
  if (server) {
    cpu.integer("server_pid", server);
    CpuUse all = cpu_between(server0, server1), during = cpu_between(server_hold0, server_hold1);
    if (all.ok) {
      cpu.number("server_user_s", all.user_s, 2);
      cpu.number("server_sys_s", all.sys_s, 2);
      cpu.number("server_percent", all.percent(), 1);
      cpu.number("server_percent_while_holding", during.percent(), 1);
    }
  }
  rep.add_problem(uint64_t(abnormal), "worker process(es) died");
  rep.add_problem(failed, "connection(s) failed to open");
  if (opened + failed < connections)
    rep.add_problem(connections - opened - failed, "connection(s) never attempted (setup timeout or ^C)");
  rep.add_problem(dropped, "held connection(s) ended by the server");
  rep.add_problem(protocol, "protocol error(s)");
  rep.add_problem(unclean, "close handshake(s) not completed");
  if (!first_error.empty()) rep.add_problem("first error: " + first_error);
  rep.set_ok(opened == connections && !abnormal && !failed && !dropped && !protocol && !unclean && !interrupted &&
             probe_ok);
  int code = emit(rep, c.json);
  munmap(sh.base, sh.bytes);
  return code;
}

}  // namespace load
