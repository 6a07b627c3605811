// `ringcast-load fanout`: publishers -> channels -> subscribers over the
// envelope protocol (fanout_worker.hpp has the messages and the checks).
//
// Cross-thread rules: each worker writes pub_sent[] only for its own
// publishers, before it increments pubs_done (release); workers read
// pub_sent[] only after pubs_done == workers (acquire). Main reads drained
// and decides when to stop; workers never wait for each other otherwise.
#include "engine_report.hpp"
#include "fanout_worker.hpp"
#include "modes.hpp"
#include "options.hpp"
#include "progress.hpp"
#include "report.hpp"
#include "run_loop.hpp"
#include "worker_threads.hpp"

#include <algorithm>

namespace load {

int mode_fanout(int argc, char** argv) {
  CommonOptions c;
  c.url = "ws://127.0.0.1:8080/api/v1/ws";
  uint64_t subscribers = 100, channels = 10, publishers = 1, messages = 1000, window = 0, max_connecting = 256;
  double rate = 1000, duration = 60, drain = 10;
  std::vector<OptSpec> specs = {
      str("--url", "URL", "the envelope endpoint", &c.url),
      u64("--subscribers", "S", "subscriber connections; subscriber i joins channel bench-(i % C)", &subscribers, 1,
          1'000'000),
      u64("--channels", "C", "channels bench-0 .. bench-(C-1)", &channels, 1, 1'000'000),
      u64("--publishers", "P", "publisher connections", &publishers, 1, 10000),
      u64("--messages", "M", "messages per publisher; message N goes to channel bench-(N % C)", &messages, 1, 1e9),
      f64("--rate", "R", "publishes per second in all (0: as fast as the connections take them)", &rate, 0, 1e8),
      u64("--window", "W", "at most W unanswered publishes per publisher (0: no limit)", &window, 0, 1e9),
  };
  add_run_options(specs, duration, drain, max_connecting);
  if (auto done = parse_command_line(
          "fanout", specs, c, argc, argv,
          "Publishers publish to channels, subscribers receive (ringcast's envelope protocol:\n"
          "subscribe / publish / published, messages {\"pub\",\"seq\",\"ts\"}). Reports delivered\n"
          "messages/s, end-to-end latency (receive time - ts), expected vs delivered, and gaps and\n"
          "reorders per (subscriber, publisher); exits 1 if any message is lost, skipped or reordered.",
          "The server must not rate-limit the publishers (ringcast: rate_limit_per_minute = 0 on the\n"
          "endpoint), or publishes come back as errors.\n\n"
          "examples:\n"
          "  ringcast-load fanout --subscribers 1000 --channels 10 --publishers 4 --rate 20000 --messages 50000\n"
          "  ringcast-load fanout --subscribers 100 --channels 1 --publishers 1 --rate 0 --window 64"))
    return *done;
  Target target;
  if (std::string err = prepare_ws_target("--url", c.url, c.allow_remote, target); !err.empty())
    return usage_error("fanout", err);
  if (subscribers * publishers > 4'000'000)
    return usage_error("fanout",
                       "subscribers x publishers must stay <= 4,000,000 (16 bytes of order tracking per pair)");
  const uint64_t limit = raise_fd_limit();
  if (subscribers + publishers + 64 > limit)
    return usage_error("fanout", std::to_string(subscribers + publishers) +
                                     " connections exceed the open-files limit (" + std::to_string(limit) + ")");

  const unsigned threads = unsigned(std::min<uint64_t>(c.threads, subscribers + publishers));
  RunControl rc;
  FanoutShared shared{uint32_t(publishers)};
  std::vector<std::unique_ptr<FanoutWorker>> workers;
  for (unsigned t = 0; t < threads; ++t) {
    FanoutPlan p;
    p.target = &target;
    p.sub_first = uint32_t(subscribers * t / threads);
    p.subs = uint32_t(subscribers * (t + 1) / threads) - p.sub_first;
    p.pub_first = uint32_t(publishers * t / threads);
    p.pubs = uint32_t(publishers * (t + 1) / threads) - p.pub_first;
    p.channels = uint32_t(channels);
    p.total_pubs = uint32_t(publishers);
    p.messages = messages;
    p.rate = rate * double(p.pubs) / double(publishers);
    p.window = window;
    p.max_connecting = std::max<uint32_t>(1, uint32_t(max_connecting / threads));
    p.setup_timeout_ns = uint64_t(10e9) + (subscribers + publishers) * 1'000'000;
    workers.push_back(std::make_unique<FanoutWorker>(p, rc, shared, threads));
  }
  WorkerThreads pool(workers);
  const uint64_t conns = subscribers + publishers;
  Progress progress(c.quiet, "published", "delivered");
  pool.wait_ready(rc, &progress, conns);
  const bool setup_ok = !rc.setup_failed.load();
  Watch watch;
  watch.server_pid = pid_t(c.server_pid);
  const PublishRunResult ran = run_publish({threads, threads, setup_ok, duration, drain, &pool.live, conns}, rc,
                                           shared, watch, progress, [&] { pool.join(); });
  const uint64_t start = ran.start;

  auto [st, eng, hist, setup_error] = add_up(workers);

  Report rep("fanout", target.text);
  Report::Section& cfg = rep.section("config");
  cfg.count("subscribers", subscribers);
  cfg.count("channels", channels);
  cfg.count("publishers", publishers);
  cfg.count("messages_per_publisher", messages);
  if (rate > 0) cfg.number("rate_per_s", rate, 1);
  else cfg.text("rate_per_s", "max");
  if (window) cfg.count("window", window);
  cfg.count("threads", threads);
  cfg.text("io_uring", eng.ring_mode + " + multishot recv");

  const uint64_t pub_end = shared.publish_end_ns.load();
  const double pub_s = pub_end > start ? double(pub_end - start) / 1e9 : 0;
  Report::Section& res = rep.section("result");
  res.count("published", st.published);
  res.number("publish_s", pub_s, 3);
  res.number("published_per_s", pub_s > 0 ? double(st.published) / pub_s : 0, 1);
  res.count("publish_acks", st.acks);
  res.count("publish_errors", st.publish_errors);
  if (!st.first_publish_error.empty()) res.text("first_publish_error", st.first_publish_error);
  const uint64_t lost = delivery_results(res, st, start, true);
  res.count("connections_lost", st.conns_lost);
  if (ran.drain_timed_out) res.boolean("drain_timed_out", true);
  if (ran.interrupted) res.boolean("interrupted", true);
  problem_pairs(rep, st, true);
  rep.latency("latency", *hist);
  engine_section(rep, eng);
  rep.cpu(watch, threads);

  if (!setup_ok) rep.add_problem("setup failed: " + setup_error);
  delivery_problems(rep, st, lost,
                    "expected deliveries never arrived (publishes answered with an error count here too)");
  rep.add_problem(st.publish_errors, "publishes answered with an error");
  rep.add_problem(st.sub_errors, "errors sent to subscribers");
  rep.add_problem(st.conns_lost, "connections lost during the run");
  if (setup_ok) engine_problems(rep, eng);
  if (setup_ok && st.published == 0) rep.add_problem("nothing was published");
  if (!st.first_error.empty()) rep.add_problem("first error: " + st.first_error);
  rep.set_ok(setup_ok && !lost && !st.gaps && !st.reorders && !st.duplicates && !st.misrouted && !st.publish_errors &&
             !st.sub_errors && !st.conns_lost && st.published > 0 && engine_clean(eng));
  int code = emit(rep, c.json);
  return setup_ok ? code : kExitSetup;
}

}  // namespace load
