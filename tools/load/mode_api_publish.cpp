// `ringcast-load api-publish`: publishes through the server API on ONE
// keep-alive HTTP connection (api_publisher.hpp), while S WebSocket
// subscribers check every delivery (fanout_worker.hpp, with no publishers
// of their own: the API connection is publisher 0).
//
// Threads: --threads subscriber workers, plus the publisher on its own. The
// fanout hand-off rules hold (mode_fanout.cpp): the publisher writes
// pub_sent[0] before it increments pubs_done; the subscriber workers count
// themselves in pubs_done at once (they publish nothing), and work out the
// expected deliveries once pubs_done reaches threads + 1.
#include "api_publisher.hpp"
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

namespace {

// --api http://host:port[/prefix] -> the publish path under it.
std::string publish_path(const Target& api) {
  std::string base = api.path;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/api/v1/publish";
}

}  // namespace

int mode_api_publish(int argc, char** argv) {
  CommonOptions c;
  c.url = "ws://127.0.0.1:8080/api/v1/ws";
  std::string api_url = "http://127.0.0.1:9090", api_key;
  uint64_t subscribers = 1000, channels = 1, messages = 1'000'000, window = 32, max_connecting = 256;
  double rate = 0, duration = 10, drain = 10;
  std::vector<OptSpec> specs = {
      str("--url", "URL", "the envelope endpoint the subscribers use", &c.url),
      str("--api", "URL", "the server API (http://); requests go to <URL>/api/v1/publish", &api_url),
      str("--api-key", "KEY", "bearer key for the API ([api] keys); empty: no Authorization header", &api_key),
      u64("--subscribers", "S", "subscriber connections; subscriber i joins channel bench-(i % C)", &subscribers, 1,
          1'000'000),
      u64("--channels", "C", "channels bench-0 .. bench-(C-1); publish N goes to bench-(N % C)", &channels, 1,
          1'000'000),
      u64("--messages", "M", "publishes at most", &messages, 1, 1e10),
      u64("--window", "W", "pipelined requests unanswered at most on the one API connection", &window, 1, 4096),
      f64("--rate", "R", "publishes per second (0: as fast as the window allows)", &rate, 0, 1e8),
  };
  add_run_options(specs, duration, drain, max_connecting);
  if (auto done = parse_command_line(
          "api-publish", specs, c, argc, argv,
          "One keep-alive HTTP/1.1 connection POSTs /api/v1/publish (pipelined, W unanswered at most;\n"
          "{\"channel\":\"bench-K\",\"type\":\"bench\",\"data\":{\"pub\":0,\"seq\":N,\"ts\":T}}) while S WebSocket\n"
          "subscribers of the envelope protocol receive. Reports publishes/s (200 answers), API answer\n"
          "latency, deliveries/s and publish-to-delivery latency; every subscriber must see every seq of\n"
          "its channel in order: any loss, gap, reorder or non-200 answer exits 1. --threads is the\n"
          "subscribers' threads; the API connection has a thread of its own.",
          "The envelope endpoint must take the subscribers without a token (ringcast: auth = \"none\"),\n"
          "and the API key must be one of [api] keys.\n\n"
          "examples:\n"
          "  ringcast-load api-publish --api-key bench-key-0123456789 --subscribers 1000 --channels 1 --duration 5\n"
          "  ringcast-load api-publish --api http://127.0.0.1:9090 --api-key K --rate 20000 --window 64"))
    return *done;
  Target target, api;
  if (std::string err = prepare_ws_target("--url", c.url, c.allow_remote, target); !err.empty())
    return usage_error("api-publish", err);
  if (std::string err = prepare_target("--api", api_url, c.allow_remote, api); !err.empty())
    return usage_error("api-publish", err);
  if (api.scheme != Scheme::http) return usage_error("api-publish", "--api must be http://host:port");
  if (api_key.size() > 512 || api_key.find_first_of("\r\n") != std::string::npos)
    return usage_error("api-publish", "--api-key must be one line of at most 512 bytes");
  const uint64_t limit = raise_fd_limit();
  if (subscribers + 1 + 64 > limit)
    return usage_error("api-publish", std::to_string(subscribers + 1) +
                                          " connections exceed the open-files limit (" + std::to_string(limit) + ")");

  const unsigned threads = unsigned(std::min<uint64_t>(c.threads, subscribers));
  const unsigned members = threads + 1;  // subscriber workers + the publisher
  RunControl rc;
  FanoutShared shared{1};
  std::vector<std::unique_ptr<FanoutWorker>> workers;
  for (unsigned t = 0; t < threads; ++t) {
    FanoutPlan p;
    p.target = &target;
    p.sub_first = uint32_t(subscribers * t / threads);
    p.subs = uint32_t(subscribers * (t + 1) / threads) - p.sub_first;
    p.channels = uint32_t(channels);
    p.total_pubs = 1;
    p.rate = 0;
    p.max_connecting = std::max<uint32_t>(1, uint32_t(max_connecting / threads));
    p.setup_timeout_ns = uint64_t(10e9) + subscribers * 1'000'000;
    workers.push_back(std::make_unique<FanoutWorker>(p, rc, shared, members));
  }
  ApiPublishPlan ap;
  ap.target = &api;
  ap.path = publish_path(api);
  ap.api_key = api_key;
  ap.channels = uint32_t(channels);
  ap.messages = messages;
  ap.rate = rate;
  ap.window = uint32_t(window);
  ap.setup_timeout_ns = uint64_t(10e9) + subscribers * 1'000'000;
  std::vector<std::unique_ptr<ApiPublisher>> publisher;
  publisher.push_back(std::make_unique<ApiPublisher>(ap, rc, shared));

  WorkerThreads pool(workers);
  WorkerThreads pub_pool(publisher);
  std::vector<const Live*> live = pool.live;
  live.push_back(&publisher[0]->live);
  const uint64_t conns = subscribers + 1;
  Progress progress(c.quiet, "published", "delivered");
  wait_ready(rc, members, progress, live, conns);
  const bool setup_ok = !rc.setup_failed.load();
  Watch watch;
  watch.server_pid = pid_t(c.server_pid);
  const PublishRunResult ran =
      run_publish({members, threads, setup_ok, duration, drain, &live, conns}, rc, shared, watch, progress, [&] {
        pool.join();
        pub_pool.join();
      });
  const uint64_t start = ran.start;

  auto [st, eng, hist, setup_error] = add_up(workers);
  const ApiPublisher& pub = *publisher[0];
  const ApiPublishStats& ps = pub.stats;
  if (!pub.setup_error.empty()) setup_error = pub.setup_error;  // the likelier cause
  eng.add(pub.engine_stats);

  Report rep("api-publish", target.text);
  Report::Section& cfg = rep.section("config");
  cfg.text("api", api.text + ap.path);
  cfg.count("subscribers", subscribers);
  cfg.count("channels", channels);
  cfg.count("api_connections", 1);
  cfg.count("window", window);
  if (rate > 0) cfg.number("rate_per_s", rate, 1);
  else cfg.text("rate_per_s", "max");
  cfg.count("messages_limit", messages);
  cfg.number("duration_s", duration, 1);
  cfg.count("subscriber_threads", threads);
  cfg.text("io_uring", eng.ring_mode + " + multishot recv");

  const double pub_s = ps.publish_end_ns > start ? double(ps.publish_end_ns - start) / 1e9 : 0;
  Report::Section& res = rep.section("result");
  res.count("publishes_sent", ps.sent);
  res.count("answered_200", ps.ok);
  res.count("answered_other", ps.errors);
  res.count("unanswered", ps.unanswered);
  res.number("publish_s", pub_s, 3);
  res.number("publishes_per_s", pub_s > 0 ? double(ps.ok) / pub_s : 0, 1);
  const uint64_t lost = delivery_results(res, st, start, false);
  res.count("connections_lost", st.conns_lost + (ps.conn_lost ? 1 : 0));
  if (ran.drain_timed_out) res.boolean("drain_timed_out", true);
  if (ran.interrupted) res.boolean("interrupted", true);
  if (!ps.first_error.empty()) res.text("first_api_error", ps.first_error);
  problem_pairs(rep, st, false);
  rep.latency("api_latency", pub.hist);
  rep.latency("delivery_latency", *hist);
  engine_section(rep, eng);
  rep.cpu(watch, members);

  if (!setup_ok) rep.add_problem("setup failed: " + setup_error);
  rep.add_problem(ps.errors, "publishes answered with a status other than 200");
  rep.add_problem(ps.unanswered, "publishes never answered");
  rep.add_problem(ps.bad_responses, "malformed or unexpected HTTP responses");
  if (ps.conn_lost) rep.add_problem("the API connection ended during the run");
  if (ps.server_said_close) rep.add_problem("the API answered with Connection: close");
  delivery_problems(rep, st, lost, "expected deliveries never arrived");
  rep.add_problem(st.sub_errors, "errors sent to subscribers");
  rep.add_problem(st.conns_lost, "subscriber connections lost during the run");
  if (setup_ok) engine_problems(rep, eng);
  if (setup_ok && ps.ok == 0) rep.add_problem("no publish was answered 200");
  if (!ps.first_error.empty()) rep.add_problem("first API error: " + ps.first_error);
  if (!st.first_error.empty()) rep.add_problem("first subscriber error: " + st.first_error);
  rep.set_ok(setup_ok && !ps.errors && !ps.unanswered && !ps.bad_responses && !ps.conn_lost &&
             !ps.server_said_close && !lost && !st.gaps && !st.reorders && !st.duplicates && !st.misrouted &&
             !st.sub_errors && !st.conns_lost && ps.ok > 0 && engine_clean(eng));
  int code = emit(rep, c.json);
  return setup_ok ? code : kExitSetup;
}

}  // namespace load
