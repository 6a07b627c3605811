// `ringcast-load request`: N WebSocket connections, each keeping K copies of
// one JSON message outstanding; any text answer completes the oldest one
// (request_worker.hpp). Measures a routed endpoint's round trip, e.g. a route
// forwarded to an upstream HTTP service, or a built-in handler.
//
// Phases as in echo mode (echo_run.cpp): warmup, the measured window, then
// a drain for the last answers; connections split over threads in blocks.
#include "engine_report.hpp"
#include "modes.hpp"
#include "options.hpp"
#include "progress.hpp"
#include "report.hpp"
#include "request_worker.hpp"
#include "worker_threads.hpp"

#include <algorithm>

namespace load {

int mode_request(int argc, char** argv) {
  CommonOptions c;
  c.url = "ws://127.0.0.1:8080/v1";
  std::string message = R"({"action":"message","interview_id":"i","message":"hi"})";
  uint64_t connections = 100, inflight = 1, requests = 0, max_connecting = 256;
  double duration = 10, warmup = 1, drain = 5;
  std::vector<OptSpec> specs = {
      str("--url", "URL", "the routed endpoint (ws://)", &c.url),
      u64("--connections", "N", "connections", &connections, 1, 20000),
      u64("--inflight", "K", "requests outstanding per connection", &inflight, 1, 1024),
      str("--message", "JSON", "the text message every request sends", &message),
      f64("--duration", "S", "measured seconds (after the warmup)", &duration, 0.01, 3600),
      u64("--requests", "M", "stop after M measured requests in all (0: no limit; first of the two wins)", &requests,
          0, 1e12),
      f64("--warmup", "S", "seconds of load before measuring", &warmup, 0, 600),
      f64("--drain-timeout", "S", "wait at most this long for the last answers and closes", &drain, 0.1, 120),
      u64("--max-connecting", "K", "handshakes in progress at once during setup", &max_connecting, 1, 65536),
  };
  if (auto done = parse_command_line(
          "request", specs, c, argc, argv,
          "Closed loop over a routed endpoint: every connection keeps K copies of --message\n"
          "outstanding; any text message back answers the oldest one. An answer holding \"error\" or\n"
          "\"error_code\" (e.g. {\"type\":\"error\",...}) counts as an error and is reported apart.\n"
          "Reports requests/s and latency percentiles (with K > 1, answers that come back out of\n"
          "order are matched in FIFO order).",
          "examples:\n"
          "  ringcast-load request --url ws://127.0.0.1:8080/v1 --connections 100 --inflight 8 --duration 5\n"
          "  ringcast-load request --message '{\"action\":\"ping\"}' --connections 10"))
    return *done;
  Target target;
  if (std::string err = prepare_ws_target("--url", c.url, c.allow_remote, target); !err.empty())
    return usage_error("request", err);
  if (message.empty() || message.size() > 65536) return usage_error("request", "--message must be 1 to 65536 bytes");
  const uint64_t limit = raise_fd_limit();
  if (connections + 64 > limit)
    return usage_error("request", std::to_string(connections) + " connections exceed the open-files limit (" +
                                      std::to_string(limit) + ")");
  if (connections * inflight * (message.size() + 14) > (1ull << 30))
    return usage_error("request", "connections x inflight x message size must stay below 1 GiB of send buffers");

  const unsigned threads = unsigned(std::min<uint64_t>(c.threads, connections));
  RunControl rc;
  std::vector<std::unique_ptr<RequestWorker>> workers;
  uint64_t quota_given = 0;
  for (unsigned t = 0; t < threads; ++t) {
    const uint32_t a = uint32_t(connections * t / threads), b = uint32_t(connections * (t + 1) / threads);
    RequestPlan p;
    p.target = &target;
    p.message = message;
    p.inflight = uint32_t(inflight);
    if (requests) {
      const uint64_t upto = requests * b / connections;
      p.quota = upto - quota_given;
      quota_given = upto;
    }
    p.first_conn = a;
    p.conns = b - a;
    p.max_connecting = std::max<uint32_t>(1, uint32_t(max_connecting / threads));
    p.setup_timeout_ns = uint64_t(10e9) + connections * 1'000'000;
    p.drain_timeout_ns = uint64_t(drain * 1e9);
    workers.push_back(std::make_unique<RequestWorker>(p, rc));
  }
  WorkerThreads pool(workers);
  Progress progress(c.quiet, "sent", "answered");
  pool.wait_ready(rc, &progress, connections);
  const bool setup_ok = !rc.setup_failed.load();
  Watch watch;
  watch.server_pid = pid_t(c.server_pid);
  const uint64_t start = now_ns() + 2'000'000;
  const uint64_t measure = start + uint64_t(warmup * 1e9);
  uint64_t end = measure + uint64_t(duration * 1e9);
  rc.measure_ns.store(measure);
  rc.end_ns.store(end);
  rc.start_ns.store(start, std::memory_order_release);

  bool watching = false, watched = false, interrupted = false;
  int seen = interrupts();
  const uint64_t hard_stop = end + uint64_t(drain * 1e9) + 3'000'000'000ull;
  while (rc.finished.load() < threads) {
    const uint64_t now = now_ns();
    if (setup_ok) {
      if (!watching && now >= measure) {
        watch.begin();
        watching = true;
      }
      if (watching && !watched && (now >= end || rc.finished.load() == threads)) {
        watch.end();
        watched = true;
      }
    }
    if (interrupts() != seen) {
      seen = interrupts();
      interrupted = true;
      if (rc.end_ns.load() > now) {
        end = std::max(now, measure);
        rc.end_ns.store(end);
      } else {
        rc.stop.store(true);
      }
    }
    if (now > hard_stop) rc.stop.store(true);
    progress.maybe_print(pool.live, now < measure ? "warm" : now < end ? "run" : "drain", connections);
    sleep_ns(5'000'000);
  }
  pool.join();
  if (watching && !watched) watch.end();
  progress.finish_line();

  RequestStats st;
  EngineStats eng;
  auto hist = std::make_unique<Histogram>();
  std::string setup_error;
  for (auto& w : workers) {
    if (setup_error.empty()) setup_error = w->setup_error;
    st.add(w->stats);
    eng.add(w->engine_stats);
    hist->merge(w->hist);
  }
  end = rc.end_ns.load();
  const uint64_t close_at = st.last_answer_ns ? std::min(end, st.last_answer_ns) : end;
  const double window_s = close_at > measure ? double(close_at - measure) / 1e9 : 0;

  Report rep("request", target.text);
  Report::Section& cfg = rep.section("config");
  cfg.text("message", message.size() > 200 ? message.substr(0, 200) + "..." : message);
  cfg.count("message_bytes", message.size());
  cfg.count("connections", connections);
  cfg.count("inflight", inflight);
  cfg.count("threads", threads);
  cfg.number("warmup_s", warmup, 1);
  cfg.number("duration_s", duration, 1);
  if (requests) cfg.count("requests_limit", requests);
  cfg.text("io_uring", eng.ring_mode + " + multishot recv");

  Report::Section& res = rep.section("result");
  res.number("window_s", window_s, 3);
  res.count("requests", st.measured);
  res.number("requests_per_s", window_s > 0 ? double(st.measured) / window_s : 0, 1);
  res.count("error_answers", st.measured_errors);
  res.number("ok_per_s", window_s > 0 ? double(st.measured - st.measured_errors) / window_s : 0, 1);
  res.count("sent_total", st.sent);
  res.count("answered_total", st.answered);
  res.count("error_answers_total", st.errors);
  if (!st.first_error_answer.empty()) res.text("first_error_answer", st.first_error_answer);
  res.count("unexpected_messages", st.unexpected);
  if (st.oversize) res.count("oversize_answers", st.oversize);
  res.count("lost", st.lost);
  res.count("connections_lost", st.conns_lost);
  if (interrupted) res.boolean("interrupted", true);
  rep.latency("latency", *hist);
  engine_section(rep, eng);
  rep.cpu(watch, threads);

  if (!setup_ok) rep.add_problem("setup failed: " + setup_error);
  rep.add_problem(st.errors, "answer(s) were errors");
  rep.add_problem(st.unexpected, "message(s) arrived with nothing outstanding, or binary");
  rep.add_problem(st.lost, "request(s) never answered");
  rep.add_problem(st.conns_lost, "connection(s) lost during the run");
  if (setup_ok) engine_problems(rep, eng);
  if (setup_ok && st.measured == 0) rep.add_problem("no request was answered inside the window");
  if (!st.first_error_answer.empty()) rep.add_problem("first error answer: " + st.first_error_answer);
  if (!st.first_error.empty()) rep.add_problem("first error: " + st.first_error);
  rep.set_ok(setup_ok && !st.errors && !st.unexpected && !st.lost && !st.conns_lost && engine_clean(eng) &&
             st.measured > 0);
  const int code = emit(rep, c.json);
  return setup_ok ? code : kExitSetup;
}

}  // namespace load
