#include "echo_report.hpp"

#include "engine_report.hpp"

namespace load {

Report echo_report(const char* mode, const EchoRunSpec& s, const EchoRunResult& r) {
  Report rep(mode, s.target.text);
  const bool open_loop = s.rate > 0;
  Report::Section& cfg = rep.section("config");
  cfg.text("framing", s.raw ? "raw tcp" : s.binary ? "websocket binary" : "websocket text");
  cfg.count("connections", s.connections);
  cfg.count("size_bytes", s.size);
  if (open_loop) {
    cfg.number("rate_per_s", s.rate, 1);
    cfg.count("max_outstanding", s.max_outstanding);
    cfg.number("late_threshold_us", double(s.late_ns) / 1000, 0);
  } else {
    cfg.count("inflight", s.inflight);
  }
  cfg.count("threads", r.threads);
  cfg.number("warmup_s", s.warmup_s, 1);
  cfg.number("duration_s", s.duration_s, 1);
  if (s.messages) cfg.count("messages_limit", s.messages);
  cfg.text("io_uring", r.engine.ring_mode + " + multishot recv");
  if (r.spread_sources) cfg.text("source_addresses", "127.0.0.2-254");

  const EchoStats& st = r.stats;
  Report::Section& res = rep.section("result");
  res.number("window_s", r.window_s, 3);
  res.count("messages", st.measured);
  const double rate = r.window_s > 0 ? double(st.measured) / r.window_s : 0;
  res.number(open_loop ? "achieved_per_s" : "messages_per_s", rate, 1);
  res.number("mb_per_s_each_way", rate * double(s.size) / 1e6, 2);
  if (open_loop) {
    res.count("sends_due", st.measured_sent);
    res.count("late_sends", st.late);
    res.number("max_send_lag_us", double(st.max_lag_ns) / 1000, 1);
    res.count("never_sent", st.backlog_unsent);
  }
  res.count("sent_total", st.sent);
  res.count("echoed_total", st.echoed);
  res.count("mismatches", st.mismatches);
  res.count("unexpected_messages", st.unexpected);
  res.count("lost", st.lost);
  res.count("connections_lost", st.conns_lost);
  if (r.interrupted) res.boolean("interrupted", true);
  rep.latency("latency", *r.hist);
  engine_section(rep, r.engine);
  rep.cpu(r.watch, r.threads);

  if (!r.setup_ok) rep.add_problem("setup failed: " + r.setup_error);
  rep.add_problem(st.mismatches, "echo(es) differ from what was sent");
  rep.add_problem(st.unexpected, "message(s) arrived with nothing outstanding");
  rep.add_problem(st.lost, "message(s) never echoed");
  rep.add_problem(st.conns_lost, "connection(s) lost during the run");
  if (r.setup_ok) engine_problems(rep, r.engine);
  if (r.setup_ok && st.measured == 0) rep.add_problem("no message completed inside the window");
  if (!st.first_error.empty()) rep.add_problem("first error: " + st.first_error);
  else if (!r.engine.first_error.empty() && r.setup_ok && st.conns_lost)
    rep.add_problem("first error: " + r.engine.first_error);
  rep.set_ok(r.setup_ok && !st.mismatches && !st.unexpected && !st.lost && !st.conns_lost && engine_clean(r.engine) &&
             st.measured > 0);
  return rep;
}

}  // namespace load
