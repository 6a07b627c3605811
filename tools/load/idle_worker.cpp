#include "idle_worker.hpp"

#include <cstring>

namespace load {

IdleWorker::IdleWorker(const IdlePlan& p, IdleControl& ctl, IdleThreadResult& out)
    : p_(p), ctl_(ctl), out_(out), engine_([&] {
        EngineConfig e;
        e.target = p.target;
        e.connections = p.conns;
        e.stage_bytes = 0;          // nothing but pongs and the close frame
        e.max_connecting = p.max_connecting;
        e.recv_bufs = 256;          // idle connections hold no receive memory
        e.recv_buf_size = 4096;
        e.spread_sources = true;    // 127.0.0.X, X = 2.. (target.ipv4 only)
        e.source_offset = p.first;
        return e;
      }(), *this, out.live) {}

void IdleWorker::note(const char* why) {
  if (!out_.first_error[0] && why) std::snprintf(out_.first_error, sizeof out_.first_error, "%s", why);
}

void IdleWorker::run() {
  if (std::string err = engine_.init(); !err.empty()) {
    note(err.c_str());
    out_.failed = p_.conns;
    ctl_.threads_ready.fetch_add(1);
    ctl_.threads_done.fetch_add(1);
    return;
  }
  std::snprintf(out_.ring_mode, sizeof out_.ring_mode, "%s", engine_.ring_mode());
  uint32_t next = 0;
  while (out_.opened + out_.failed < p_.conns && ctl_.phase.load() != kIdleClose && now_ns() < p_.setup_deadline_ns) {
    while (next < p_.conns && engine_.can_start()) engine_.start(next++);
    if (!engine_.poll(10'000'000)) break;
  }
  if (out_.opened + out_.failed < p_.conns) note("setup deadline passed before every connection was up");
  out_.setup_done_ns = now_ns();
  ctl_.threads_ready.fetch_add(1);
  while (ctl_.phase.load(std::memory_order_relaxed) != kIdleClose && now_ns() < p_.life_deadline_ns)
    if (!engine_.poll(100'000'000)) break;
  closing_ = true;
  for (uint32_t i = 0; i < engine_.size(); ++i) engine_.close(engine_.conn(i));
  const uint64_t deadline = now_ns() + p_.close_timeout_ns;
  while (engine_.live_count() > 0 && now_ns() < deadline)
    if (!engine_.poll(10'000'000)) break;
  engine_.shutdown();  // whatever did not finish counts as unclean
  const EngineStats& e = engine_.stats;
  out_.pings = e.pings;
  out_.server_closes = e.server_closes;
  out_.clean_closes = e.clean_closes;
  out_.unclean_closes = e.unclean_closes;
  out_.protocol_errors = e.protocol_errors;
  if (!e.first_error.empty()) note(e.first_error.c_str());
  ctl_.threads_done.fetch_add(1);
}

void IdleWorker::on_open(Conn& c) {
  ++out_.opened;
  out_.connect_hist.record(c.t_open - c.t_start);
}

void IdleWorker::on_closed(Conn& c, EndKind kind, const char* why) {
  if (kind == EndKind::failed && c.t_open == 0) {  // never upgraded
    ++out_.failed;
    note(why);
    return;
  }
  if (!closing_ && (kind == EndKind::failed || kind == EndKind::server_closed)) {
    ++out_.dropped_in_hold;
    note(why ? why : "server closed a held connection");
  }
}

}  // namespace load
