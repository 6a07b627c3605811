#include "echo_report.hpp"

namespace load {

void engine_section(Report& rep, const EngineStats& e) {
  Report::Section& c = rep.section("connections");
  c.count("connect_failed", e.connect_failed);
  c.count("handshake_failed", e.handshake_failed);
  c.count("protocol_errors", e.protocol_errors);
  c.count("dropped_by_server", e.dropped);
  c.count("closed_by_server", e.server_closes);
  if (e.first_server_close) c.count("first_server_close_code", e.first_server_close);
  c.count("clean_closes", e.clean_closes);
  c.count("unclean_closes", e.unclean_closes);
  c.count("pings_answered", e.pings - e.pings_unanswered);
  if (e.pings_unanswered) c.count("pings_unanswered", e.pings_unanswered);
  c.count("recv_rearms_enobufs", e.enobufs);
  c.count("bytes_out", e.bytes_out);
  c.count("bytes_in", e.bytes_in);
}

void engine_problems(Report& rep, const EngineStats& e, bool unclean_is_problem) {
  auto problem = [&](uint64_t n, const char* what) {
    if (n) rep.add_problem(std::to_string(n) + " " + what);
  };
  problem(e.connect_failed, "connect(s) failed");
  problem(e.handshake_failed, "handshake(s) failed");
  problem(e.protocol_errors, "protocol error(s)");
  problem(e.dropped, "connection(s) dropped by the server without a close handshake");
  problem(e.server_closes, "connection(s) closed by the server");
  if (unclean_is_problem) problem(e.unclean_closes, "close handshake(s) the server did not complete");
}

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
  cfg.text("io_uring", r.ring_mode + " + multishot recv");
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
  auto problem = [&](uint64_t n, const char* what) {
    if (n) rep.add_problem(std::to_string(n) + " " + what);
  };
  problem(st.mismatches, "echo(es) differ from what was sent");
  problem(st.unexpected, "message(s) arrived with nothing outstanding");
  problem(st.lost, "message(s) never echoed");
  problem(st.conns_lost, "connection(s) lost during the run");
  if (r.setup_ok) engine_problems(rep, r.engine, true);
  if (r.setup_ok && st.measured == 0) rep.add_problem("no message completed inside the window");
  if (!st.first_error.empty()) rep.add_problem("first error: " + st.first_error);
  else if (!r.engine.first_error.empty() && r.setup_ok && st.conns_lost)
    rep.add_problem("first error: " + r.engine.first_error);
  rep.set_ok(r.setup_ok && !st.mismatches && !st.unexpected && !st.lost && !st.conns_lost &&
             !r.engine.connect_failed && !r.engine.handshake_failed && !r.engine.protocol_errors &&
             !r.engine.dropped && !r.engine.server_closes && !r.engine.unclean_closes && st.measured > 0);
  return rep;
}

}  // namespace load
