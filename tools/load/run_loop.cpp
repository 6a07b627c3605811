#include "run_loop.hpp"

namespace load {

void add_run_options(std::vector<OptSpec>& specs, double& duration, double& drain, uint64_t& max_connecting) {
  specs.push_back(
      f64("--duration", "S", "stop publishing after S seconds even if M is not reached", &duration, 0.1, 3600));
  specs.push_back(
      f64("--drain-timeout", "S", "after publishing, wait at most S seconds for deliveries", &drain, 0.1, 600));
  specs.push_back(u64("--max-connecting", "K", "handshakes in progress at once during setup", &max_connecting, 1, 65536));
}

void wait_ready(const RunControl& rc, uint32_t n, Progress& progress, const std::vector<const Live*>& live,
                uint64_t conns) {
  while (rc.ready.load() < n) {
    progress.maybe_print(live, "setup", conns);
    sleep_ns(1'000'000);
  }
}

PublishRunResult run_publish(const PublishRunSpec& spec, RunControl& rc, FanoutShared& shared, Watch& watch,
                             Progress& progress, const std::function<void()>& join) {
  PublishRunResult r;
  const uint64_t start = now_ns() + 2'000'000;
  r.start = start;
  rc.measure_ns.store(start);
  rc.end_ns.store(start + uint64_t(spec.duration_s * 1e9));
  watch.begin();
  rc.start_ns.store(start, std::memory_order_release);
  const uint64_t drain_ns = uint64_t(spec.drain_s * 1e9);
  const uint64_t hard_stop = start + uint64_t(spec.duration_s * 1e9) + drain_ns + 5'000'000'000ull;
  int seen = interrupts();
  uint64_t stopped_at = 0;
  while (rc.finished.load() < spec.members) {
    const uint64_t now = now_ns();
    if (!rc.stop.load()) {
      // Subscriber workers count themselves drained only after pubs_done
      // reached every member, so all_drained implies published.
      const bool published = shared.pubs_done.load() == spec.members;
      const bool all_drained = published && shared.drained.load() == spec.subscribers;
      if (published && !all_drained && now > shared.publish_end_ns.load() + drain_ns) r.drain_timed_out = true;
      if (all_drained || r.drain_timed_out || now > hard_stop || !spec.setup_ok) {
        rc.stop.store(true);
        stopped_at = now;
        watch.end();
      }
    }
    if (interrupts() != seen) {
      seen = interrupts();
      r.interrupted = true;
      if (rc.end_ns.load() > now) rc.end_ns.store(now);  // stop publishing, then drain
      else rc.stop.store(true);
    }
    const char* phase = shared.pubs_done.load() < spec.members ? "pub" : rc.stop.load() ? "close" : "drain";
    progress.maybe_print(*spec.live, phase, spec.conns);
    sleep_ns(5'000'000);
  }
  join();
  if (!stopped_at) watch.end();
  progress.finish_line();
  return r;
}

FanoutTotals add_up(const std::vector<std::unique_ptr<FanoutWorker>>& workers) {
  FanoutTotals t;
  t.hist = std::make_unique<Histogram>();
  for (auto& w : workers) {
    t.stats.add(w->stats);
    t.engine.add(w->engine_stats);
    t.hist->merge(w->hist);
    if (t.setup_error.empty()) t.setup_error = w->setup_error;
  }
  return t;
}

uint64_t delivery_results(Report::Section& res, const FanoutStats& st, uint64_t start, bool per_pair) {
  const double del_s = st.last_delivery_ns > start ? double(st.last_delivery_ns - start) / 1e9 : 0;
  const uint64_t lost = st.expected > st.delivered ? st.expected - st.delivered : 0;
  res.count("expected_deliveries", st.expected);
  res.count("delivered", st.delivered);
  res.number("deliver_s", del_s, 3);
  res.number("delivered_per_s", del_s > 0 ? double(st.delivered) / del_s : 0, 1);
  res.count("lost", lost);
  res.count("gaps", st.gaps);
  res.count("reorders", st.reorders);
  res.count("duplicates", st.duplicates);
  res.count("misrouted", st.misrouted);
  res.count("subscriber_errors", st.sub_errors);
  res.count("subscribers_with_problems", st.subs_with_problems);
  if (per_pair) res.count("pairs_with_problems", st.pairs_with_problems);
  res.count("other_messages", st.other_messages);
  if (st.oversize) res.count("oversize_ignored", st.oversize);
  return lost;
}

void problem_pairs(Report& rep, const FanoutStats& st, bool per_pair) {
  if (st.worst.empty()) return;
  Report::Section& w = rep.section("problem_pairs");
  for (const PairProblem& p : st.worst)
    w.text("sub" + std::to_string(p.sub) + (per_pair ? "_pub" + std::to_string(p.pub) : std::string()),
           "channel bench-" + std::to_string(p.channel) + ": gaps " + std::to_string(p.gaps) + ", reorders " +
               std::to_string(p.reorders) + ", duplicates " + std::to_string(p.duplicates) + ", missing " +
               std::to_string(p.missing));
}

void delivery_problems(Report& rep, const FanoutStats& st, uint64_t lost, const char* lost_what) {
  rep.add_problem(lost, lost_what);
  rep.add_problem(st.gaps, "messages skipped (gaps)");
  rep.add_problem(st.reorders, "messages arrived out of order");
  rep.add_problem(st.duplicates, "messages arrived twice");
  rep.add_problem(st.misrouted, "messages delivered to the wrong channel");
}

}  // namespace load
