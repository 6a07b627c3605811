#include "echo_run.hpp"

#include "worker_threads.hpp"

#include <algorithm>
#include <vector>

namespace load {

namespace {
constexpr uint32_t kPortsPerSource = 20000;  // below the ~28k ephemeral ports
}  // namespace

uint64_t echo_memory_bytes(const EchoRunSpec& s) {
  const uint64_t frame = s.size + (s.raw ? 0 : ws::kMaxClientHeader);
  const uint64_t frames = s.rate > 0 ? std::clamp<uint64_t>(16384 / frame, 1, s.max_outstanding) : s.inflight;
  const uint64_t stamps = s.rate > 0 ? s.max_outstanding : s.inflight;
  const uint64_t per_conn = 2 * (frames * frame + Engine::kControlRoom) + 8 * stamps + sizeof(Conn) + 64;
  return per_conn * s.connections + uint64_t(s.threads) * (1024 * 16384 + sizeof(Histogram));
}

EchoRunResult run_echo(const EchoRunSpec& s) {
  EchoRunResult r;
  RunControl rc;
  const unsigned threads = std::max(1u, std::min<unsigned>(s.threads, s.connections));
  r.threads = threads;
  r.watch.server_pid = s.server_pid;
  r.spread_sources = s.target.ipv4 && s.connections > kPortsPerSource;

  std::vector<std::unique_ptr<EchoWorker>> workers;
  uint64_t quota_given = 0;
  for (unsigned t = 0; t < threads; ++t) {
    const uint32_t a = uint32_t(uint64_t(s.connections) * t / threads);
    const uint32_t b = uint32_t(uint64_t(s.connections) * (t + 1) / threads);
    EchoPlan p;
    p.target = &s.target;
    p.raw = s.raw;
    p.binary = s.binary;
    p.size = s.size;
    p.inflight = s.inflight;
    p.rate = s.rate * double(b - a) / double(s.connections);
    p.max_outstanding = s.max_outstanding;
    p.late_ns = s.late_ns;
    if (s.messages) {
      uint64_t upto = s.messages * b / s.connections;
      p.quota = upto - quota_given;
      quota_given = upto;
    }
    p.first_conn = a;
    p.conns = b - a;
    p.max_connecting = std::max<uint32_t>(1, s.max_connecting / threads);
    p.spread_sources = r.spread_sources;
    p.setup_timeout_ns = uint64_t(10e9) + uint64_t(s.connections) * 1'000'000;
    p.drain_timeout_ns = uint64_t(s.drain_s * 1e9);
    workers.push_back(std::make_unique<EchoWorker>(p, rc));
  }
  WorkerThreads pool(workers);
  Progress progress(s.quiet, "sent", "echoed");
  pool.wait_ready(rc, &progress, s.connections);
  r.setup_ok = !rc.setup_failed.load();
  const uint64_t start = now_ns() + 2'000'000;
  const uint64_t measure = start + uint64_t(s.warmup_s * 1e9);
  uint64_t end = measure + uint64_t(s.duration_s * 1e9);
  rc.measure_ns.store(measure);
  rc.end_ns.store(end);
  rc.start_ns.store(start, std::memory_order_release);

  bool watching = false, watched = false;
  int seen_interrupts = interrupts();
  const uint64_t hard_stop = end + uint64_t(s.drain_s * 1e9) + 3'000'000'000ull;
  while (rc.finished.load() < threads) {
    const uint64_t now = now_ns();
    if (r.setup_ok) {
      if (!watching && now >= measure) {
        r.watch.begin();
        watching = true;
      }
      if (watching && !watched && (now >= end || rc.finished.load() == threads)) {
        r.watch.end();
        watched = true;
      }
    }
    if (interrupts() != seen_interrupts) {
      seen_interrupts = interrupts();
      r.interrupted = true;
      if (rc.end_ns.load() > now) {
        end = std::max(now, measure);
        rc.end_ns.store(end);  // first ^C: finish now, with a report
      } else {
        rc.stop.store(true);   // second ^C: give up on the drain
      }
    }
    if (now > hard_stop) rc.stop.store(true);
    progress.maybe_print(pool.live, now < measure ? "warm" : now < end ? "run" : "drain", s.connections);
    sleep_ns(5'000'000);
  }
  pool.join();
  if (watching && !watched) r.watch.end();
  progress.finish_line();

  for (auto& w : workers) {
    if (r.setup_error.empty()) r.setup_error = w->setup_error;
    r.stats.add(w->stats);
    r.engine.add(w->engine_stats);
    r.hist->merge(w->hist);
  }
  end = rc.end_ns.load();
  // The window closes at `end`, or earlier at the last echo when --messages
  // ran out first.
  uint64_t close_at = r.stats.last_echo_ns ? std::min(end, r.stats.last_echo_ns) : end;
  if (s.rate > 0) {
    // The schedule defines the open-loop window: it ends at `end` or when
    // the last counted send fell due.
    close_at = end;
    if (s.messages) close_at = std::min(end, measure + uint64_t(double(s.messages) / s.rate * 1e9));
  }
  r.window_s = close_at > measure ? double(close_at - measure) / 1e9 : 0;
  return r;
}

}  // namespace load

namespace load {
std::string prepare_echo(const std::string& url, bool allow_remote, EchoRunSpec& s) {
  if (std::string err = prepare_target("--url", url, allow_remote, s.target); !err.empty()) return err;
  if (s.target.scheme == Scheme::http) return "--url: http:// is not an echo target (ws:// or tcp://)";
  if (s.target.scheme == Scheme::tcp) s.raw = true;
  const uint64_t limit = raise_fd_limit();
  if (uint64_t(s.connections) + 64 > limit)
    return std::to_string(s.connections) + " connections need more file descriptors than the limit (" +
           std::to_string(limit) + "); the idle mode spreads connections over processes";
  const uint64_t mem = echo_memory_bytes(s);
  if (mem > (4ull << 30))
    return "connections x inflight x size need " + std::to_string(mem >> 20) + " MiB of buffers (limit 4096 MiB)";
  return {};
}
}  // namespace load
