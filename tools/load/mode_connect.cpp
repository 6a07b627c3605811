// `ringcast-load connect`: how fast the server upgrades connections.
//
// Each thread keeps up to K/T connections in progress. A connection is
// timed from the connect() submission to the 101 (and to the TCP connect
// alone), then closed with the close handshake; its slot starts the next
// connection once the close is over, until N are done. Handshakes/s is the
// number of upgrades over the wall time of the whole run, closes included.
#include "engine.hpp"
#include "engine_report.hpp"
#include "modes.hpp"
#include "options.hpp"
#include "progress.hpp"
#include "report.hpp"
#include "run_control.hpp"
#include "worker_threads.hpp"

#include <algorithm>

namespace load {

namespace {

constexpr uint64_t kLingerNs = 1'000'000'000;  // close frames exchanged, no EOF: stop waiting

struct ConnectPlan {
  const Target* target = nullptr;
  uint64_t count = 0;       // connections this thread makes
  uint32_t slots = 1;       // in progress at once
  uint32_t first = 0;       // global index offset (source addresses)
  bool spread_sources = false;
  uint64_t timeout_ns = 10'000'000'000;
};

class ConnectWorker final : public EngineHandler {
 public:
  ConnectWorker(const ConnectPlan& p, RunControl& rc)
      : p_(p), rc_(rc), engine_([&] {
          EngineConfig e;
          e.target = p.target;
          e.connections = p.slots;
          e.stage_bytes = 64;
          e.max_connecting = p.slots;
          e.recv_bufs = 256;
          e.recv_buf_size = 4096;
          e.spread_sources = p.spread_sources;
          e.source_offset = p.first;
          return e;
        }(), *this, live) {}

  void run() {
    setup_error = engine_.init();
    if (rc_.enter_run(setup_error.empty())) loop();
    engine_.shutdown();
    engine_stats = engine_.stats;
    rc_.finished.fetch_add(1);
  }

  Live live;
  Histogram upgrade_hist, tcp_hist;
  EngineStats engine_stats;
  uint64_t started = 0, upgraded = 0, timeouts = 0, lingered = 0, last_done_ns = 0;
  std::string setup_error;

 private:
  void loop() {
    for (uint32_t i = 0; i < p_.slots && started < p_.count; ++i) begin(i);
    uint64_t last_scan = 0;
    while (engine_.live_count() > 0 || !restart_.empty()) {
      for (uint32_t i : restart_)
        if (started < p_.count && !stopping_) begin(i);
      restart_.clear();
      if (engine_.live_count() == 0) break;
      if (!engine_.poll(10'000'000)) break;
      const uint64_t now = engine_.now();
      if (rc_.stop.load(std::memory_order_relaxed)) stopping_ = true;
      if (now - last_scan >= 10'000'000) {
        last_scan = now;
        scan(now);
      }
    }
  }

  void begin(uint32_t i) {
    ++started;
    engine_.start(i);  // a synchronous failure lands in on_closed
  }

  // Timeouts: a connection still upgrading after the timeout is a failure;
  // one whose close frames crossed but whose EOF is late is closed by us.
  void scan(uint64_t now) {
    for (uint32_t i = 0; i < engine_.size(); ++i) {
      Conn& c = engine_.conn(i);
      if (c.state == ConnState::connecting || c.state == ConnState::handshake) {
        if (now - c.t_start > p_.timeout_ns || stopping_) {
          if (!stopping_) ++timeouts;
          engine_.abort(c, EndKind::failed, stopping_ ? "stopped" : "handshake timed out");
        }
      } else if (c.state == ConnState::closing) {
        if (c.close_received && now - close_at_[i] > kLingerNs) {
          ++lingered;
          engine_.abort(c, EndKind::clean, nullptr);
        } else if (now - close_at_[i] > p_.timeout_ns || (stopping_ && now - close_at_[i] > kLingerNs)) {
          engine_.abort(c, EndKind::unclean, "close handshake timed out");
        }
      }
    }
  }

  void on_open(Conn& c) override {
    upgrade_hist.record(c.t_open - c.t_start);
    tcp_hist.record(c.t_connected - c.t_start);
    ++upgraded;
    live.done.add();
    close_at_[c.index] = engine_.now();
    engine_.close(c, 1000);
  }
  void on_data(Conn&, const uint8_t*, size_t, bool) override {}  // greetings etc.
  void on_closed(Conn& c, EndKind, const char*) override {
    last_done_ns = now_ns();
    restart_.push_back(c.index);  // started after poll() returns (engine.hpp)
  }

  ConnectPlan p_;
  RunControl& rc_;
  Engine engine_;
  std::vector<uint32_t> restart_;
  std::vector<uint64_t> close_at_ = std::vector<uint64_t>(p_.slots);
  bool stopping_ = false;
};

}  // namespace

int mode_connect(int argc, char** argv) {
  CommonOptions c;
  c.url = "ws://127.0.0.1:8080/echo";
  uint64_t connections = 10000, concurrency = 100;
  double timeout = 10, duration = 120;
  std::vector<OptSpec> specs = {
      str("--url", "URL", "ws://host:port/path", &c.url),
      u64("--connections", "N", "handshakes in all", &connections, 1, 1e9),
      u64("--concurrency", "K", "connections in progress at once (spread over the threads)", &concurrency, 1,
          10000),
      f64("--timeout", "S", "a handshake or close slower than this fails", &timeout, 0.1, 120),
      f64("--duration", "S", "stop starting new connections after S seconds", &duration, 0.1, 3600),
  };
  if (auto done = parse_command_line(
          "connect", specs, c, argc, argv,
          "Opens N WebSocket connections, K at a time: TCP connect, upgrade (the 101 and its\n"
          "Sec-WebSocket-Accept are checked), then a clean close handshake. Reports handshakes/s and\n"
          "the latency from connect() to the 101 (and of the TCP connect alone).",
          "examples:\n"
          "  ringcast-load connect --connections 20000 --concurrency 200\n"
          "  ringcast-load connect --url ws://127.0.0.1:8080/api/v1/ws --connections 1000 --json"))
    return *done;
  Target target;
  if (std::string err = prepare_ws_target("--url", c.url, c.allow_remote, target); !err.empty())
    return usage_error("connect", err);
  const uint64_t limit = raise_fd_limit();
  if (concurrency + 64 > limit)
    return usage_error("connect", "--concurrency exceeds the open-files limit (" + std::to_string(limit) + ")");
  const unsigned threads = unsigned(std::min<uint64_t>(c.threads, concurrency));
  RunControl rc;
  std::vector<std::unique_ptr<ConnectWorker>> workers;
  for (unsigned t = 0; t < threads; ++t) {
    ConnectPlan p;
    p.target = &target;
    p.count = connections * (t + 1) / threads - connections * t / threads;
    p.slots = uint32_t(concurrency * (t + 1) / threads - concurrency * t / threads);
    p.first = uint32_t(concurrency * t / threads);
    // Closed connections leave TIME_WAIT entries behind on whichever side
    // closes first; many thousands from one source address can run it out
    // of ports, so spread sources once N is large.
    p.spread_sources = target.ipv4 && connections > 20000;
    p.timeout_ns = uint64_t(timeout * 1e9);
    workers.push_back(std::make_unique<ConnectWorker>(p, rc));
  }
  WorkerThreads pool(workers);
  pool.wait_ready(rc, nullptr, concurrency);

  Watch watch;
  watch.server_pid = pid_t(c.server_pid);
  watch.begin();
  const uint64_t start = now_ns();
  rc.start_ns.store(start, std::memory_order_release);
  Progress progress(c.quiet, nullptr, "upgraded");
  const uint64_t stop_at = start + uint64_t(duration * 1e9);
  int seen = interrupts();
  bool interrupted = false;
  while (rc.finished.load() < threads) {
    const uint64_t now = now_ns();
    if (interrupts() != seen || now > stop_at) {
      interrupted = interrupted || interrupts() != seen;
      seen = interrupts();
      rc.stop.store(true);
    }
    progress.maybe_print(pool.live, "run", concurrency);
    sleep_ns(5'000'000);
  }
  pool.join();
  watch.end();
  progress.finish_line();

  auto up = std::make_unique<Histogram>(), tcp = std::make_unique<Histogram>();
  EngineStats eng;
  uint64_t started = 0, upgraded = 0, timeouts = 0, lingered = 0, last = start;
  std::string setup_error;
  for (auto& w : workers) {
    up->merge(w->upgrade_hist);
    tcp->merge(w->tcp_hist);
    started += w->started;
    upgraded += w->upgraded;
    timeouts += w->timeouts;
    lingered += w->lingered;
    last = std::max(last, w->last_done_ns);
    eng.add(w->engine_stats);
    if (setup_error.empty()) setup_error = w->setup_error;
  }
  const double wall = double(last - start) / 1e9;
  Report rep("connect", target.text);
  Report::Section& cfg = rep.section("config");
  cfg.count("connections", connections);
  cfg.count("concurrency", concurrency);
  cfg.count("threads", threads);
  cfg.number("timeout_s", timeout, 1);
  cfg.text("io_uring", eng.ring_mode);
  Report::Section& res = rep.section("result");
  res.count("attempted", started);
  res.count("upgraded", upgraded);
  res.count("failed", started - upgraded);
  res.count("timeouts", timeouts);
  res.number("wall_s", wall, 3);
  res.number("handshakes_per_s", wall > 0 ? double(upgraded) / wall : 0, 1);
  res.count("closed_without_eof_after_1s", lingered);
  if (interrupted) res.boolean("interrupted", true);
  rep.latency("connect_to_101", *up);
  rep.latency("tcp_connect", *tcp);
  engine_section(rep, eng);
  rep.cpu(watch, threads);
  if (!setup_error.empty()) rep.add_problem("setup failed: " + setup_error);
  rep.add_problem(connections - started, "connections never started (time limit or ^C)");
  rep.add_problem(started - upgraded, "connections did not upgrade");
  engine_problems(rep, eng);
  if (!eng.first_error.empty()) rep.add_problem("first error: " + eng.first_error);
  rep.set_ok(setup_error.empty() && started == connections && upgraded == connections && engine_clean(eng));
  int code = emit(rep, c.json);
  return setup_error.empty() ? code : kExitSetup;
}

}  // namespace load
