#include "echo_worker.hpp"

#include <algorithm>
#include <cmath>

namespace load {

// Per-connection echo bookkeeping, beside the engine's Conn (same index).
struct EchoWorker::ConnEcho {
  uint64_t* stamps = nullptr;  // send (open loop: due) times, ring of ring_cap_
  uint32_t head = 0;
  uint32_t outstanding = 0;
  uint64_t send_seq = 0;
  uint64_t recv_seq = 0;
  uint64_t owed = 0;           // open loop: sends due so far
  uint64_t salt = 0;
  uint64_t msg_off = 0;
  bool msg_bad = false;
};

namespace {
uint64_t frame_bytes(const EchoPlan& p) { return p.size + (p.raw ? 0 : ws::client_header_size(p.size)); }
}  // namespace

EchoWorker::EchoWorker(const EchoPlan& plan, RunControl& rc)
    : EngineWorker([&] {
        EngineConfig e;
        e.target = plan.target;
        e.raw = plan.raw;
        e.connections = plan.conns;
        const uint64_t frame = frame_bytes(plan);
        uint64_t frames = plan.rate > 0 ? std::clamp<uint64_t>(16384 / frame, 1, plan.max_outstanding) : plan.inflight;
        e.stage_bytes = uint32_t(frames * frame);
        e.max_connecting = plan.max_connecting;
        e.spread_sources = plan.spread_sources;
        e.source_offset = plan.first_conn;
        return e;
      }(), rc, plan.first_conn), p_(plan) {}

EchoWorker::~EchoWorker() = default;

bool EchoWorker::setup() {
  if (!init_engine()) return false;
  payload_.init(p_.size, p_.binary, rng_);
  ring_cap_ = p_.rate > 0 ? p_.max_outstanding : p_.inflight;
  stamps_.reset(new uint64_t[size_t(ring_cap_) * p_.conns]);
  ce_.resize(p_.conns);
  for (uint32_t i = 0; i < p_.conns; ++i) {
    ce_[i].stamps = stamps_.get() + size_t(ring_cap_) * i;
    ce_[i].salt = rng_.next() & ((uint64_t{1} << 47) - 1);
  }
  return open_upgraded(p_.conns, p_.setup_timeout_ns);
}

void EchoWorker::run() {
  if (const uint64_t start = rc_.enter_run(setup())) {
    t0_ = start;
    measure_ = rc_.measure_ns.load();
    end_ = rc_.end_ns.load();
    engine_.set_now(now_ns());
    phase_ = Phase::running;
    if (p_.rate > 0) {
      period_ns_ = 1e9 / p_.rate;
    } else {
      for (uint32_t i = 0; i < p_.conns; ++i)
        for (uint32_t k = 0; k < p_.inflight && may_send_closed(); ++k) enqueue(engine_.conn(i), engine_.now());
    }
    loop();
  }
  end_run(stats.first_error, phase_ != Phase::setup);
}

void EchoWorker::loop() {
  uint64_t drain_deadline = UINT64_MAX;
  for (;;) {
    uint64_t wait = 10'000'000;
    if (p_.rate > 0 && !schedule_done_ && phase_ == Phase::running) {
      uint64_t next = t0_ + uint64_t(double(cursor_) * period_ns_);
      uint64_t now = now_ns();
      wait = next > now ? std::min<uint64_t>(next - now, wait) : 0;
    }
    if (!engine_.poll(wait)) {
      stats.first_error = engine_.stats.first_error;
      break;
    }
    const uint64_t now = engine_.now();
    end_ = rc_.end_ns.load(std::memory_order_relaxed);
    if (phase_ == Phase::running) {
      if (engine_.live_count() == 0) break;  // every connection is gone: nothing left to measure
      if (p_.rate > 0) advance_schedule(now);
      bool over = p_.rate > 0 ? schedule_done_ : (now >= end_ || stats.measured_sent >= p_.quota);
      if (over || rc_.stop.load(std::memory_order_relaxed)) {
        begin_drain(now);
        drain_deadline = now + p_.drain_timeout_ns;
      }
    }
    if (phase_ != Phase::draining) continue;
    if (engine_.live_count() == 0) break;
    if (now >= drain_deadline || rc_.stop.load(std::memory_order_relaxed)) {
      abort_at_deadline(p_.conns, stats.first_error, "echo(es)", [&](uint32_t i) { return ce_[i].outstanding; });
      break;
    }
  }
}

uint64_t EchoWorker::due_time(uint32_t j, uint64_t m) const {
  return t0_ + uint64_t(double(m * p_.conns + j) * period_ns_);
}

void EchoWorker::advance_schedule(uint64_t now) {
  while (!schedule_done_) {
    const uint64_t due = t0_ + uint64_t(double(cursor_) * period_ns_);
    if (due > now) break;
    if (due >= end_ || (due >= measure_ && stats.measured_sent >= p_.quota)) {
      schedule_done_ = true;
      break;
    }
    const uint32_t j = uint32_t(cursor_ % p_.conns);
    ++cursor_;
    Conn& c = engine_.conn(j);
    if (c.state == ConnState::open) {
      ++ce_[j].owed;
      issue_owed(c);
    } else {
      ++stats.backlog_unsent;  // its connection is gone: the send never happens
    }
    // Quota counts sends as they fall due, so a backlog cannot overshoot it.
    if (due >= measure_) ++stats.measured_sent;
  }
}

void EchoWorker::issue_owed(Conn& c) {
  ConnEcho& e = ce_[c.index];
  const uint64_t now = engine_.now();
  while (e.send_seq < e.owed && e.outstanding < ring_cap_) {
    const uint64_t due = due_time(c.index, e.send_seq);
    if (!enqueue(c, due)) break;
    const uint64_t lag = now > due ? now - due : 0;
    if (lag > p_.late_ns) ++stats.late;
    stats.max_lag_ns = std::max(stats.max_lag_ns, lag);
  }
}

bool EchoWorker::may_send_closed() const {
  const uint64_t now = engine_.now();
  return phase_ == Phase::running && now < end_ && !(now >= measure_ && stats.measured_sent >= p_.quota);
}

bool EchoWorker::enqueue(Conn& c, uint64_t stamp) {
  ConnEcho& e = ce_[c.index];
  uint8_t* out = engine_.begin_message(c, p_.binary ? ws::kOpBinary : ws::kOpText, p_.size);
  if (!out) return false;
  payload_.write(out, e.send_seq + e.salt);
  engine_.commit_message(c, out, p_.size);
  e.stamps[(e.head + e.outstanding) % ring_cap_] = stamp;
  ++e.outstanding;
  ++e.send_seq;
  ++stats.sent;
  live.sent.add();
  if (p_.rate <= 0 && stamp >= measure_) ++stats.measured_sent;
  return true;
}

void EchoWorker::on_open(Conn&) {
  if (phase_ == Phase::setup) ++setup_.ready;
}

void EchoWorker::on_message_begin(Conn& c, uint8_t opcode) {
  ConnEcho& e = ce_[c.index];
  if (e.outstanding == 0) {
    ++stats.unexpected;
    return fail(c, stats.first_error, "a message arrived while no echo was outstanding");
  }
  e.msg_off = 0;
  e.msg_bad = opcode != (p_.binary ? ws::kOpBinary : ws::kOpText);
}

void EchoWorker::on_data(Conn& c, const uint8_t* p, size_t n, bool last) {
  ConnEcho& e = ce_[c.index];
  if (!p_.raw) {
    if (!e.msg_bad) e.msg_bad = !payload_.verify(e.recv_seq + e.salt, e.msg_off, p, n);
    e.msg_off += n;
    if (last) complete(c, e.msg_bad || e.msg_off != p_.size);
    return;
  }
  // Raw TCP has no message boundaries: every `size` bytes is one echo.
  while (n > 0 && c.state != ConnState::done) {
    if (e.outstanding == 0) {
      ++stats.unexpected;
      return fail(c, stats.first_error, "bytes arrived while no echo was outstanding");
    }
    size_t take = size_t(std::min<uint64_t>(n, p_.size - e.msg_off));
    if (!e.msg_bad) e.msg_bad = !payload_.verify(e.recv_seq + e.salt, e.msg_off, p, take);
    e.msg_off += take;
    p += take;
    n -= take;
    if (e.msg_off == p_.size) {
      complete(c, e.msg_bad);
      e.msg_off = 0;
      e.msg_bad = false;
    }
  }
}

void EchoWorker::complete(Conn& c, bool bad) {
  ConnEcho& e = ce_[c.index];
  const uint64_t sent = e.stamps[e.head];
  e.head = e.head + 1 == ring_cap_ ? 0 : e.head + 1;
  --e.outstanding;
  ++e.recv_seq;
  const uint64_t now = engine_.now();
  live.done.add();
  if (bad) {
    ++stats.mismatches;
    live.errors.add();
    if (stats.first_error.empty())
      stats.first_error = "connection " + std::to_string(p_.first_conn + c.index) + ": echo of message " +
                          std::to_string(e.recv_seq - 1) + " differs from what was sent";
  } else {
    ++stats.echoed;
    stats.last_echo_ns = now;
    if (sent >= measure_ && sent < end_) {
      ++stats.measured;
      hist.record(now > sent ? now - sent : 0);
    }
  }
  if (p_.rate > 0) issue_owed(c);
  else if (may_send_closed()) enqueue(c, now);
  maybe_close(c);
}

void EchoWorker::on_writable(Conn& c) {
  if (p_.rate > 0) issue_owed(c);
  maybe_close(c);
}

void EchoWorker::begin_drain(uint64_t now) {
  (void)now;
  phase_ = Phase::draining;
  for (uint32_t i = 0; i < p_.conns; ++i) maybe_close(engine_.conn(i));
}

void EchoWorker::maybe_close(Conn& c) {
  if (phase_ != Phase::draining || c.state != ConnState::open) return;
  const ConnEcho& e = ce_[c.index];
  if (e.outstanding == 0 && e.send_seq >= e.owed) engine_.close(c);
}

void EchoWorker::on_server_close(Conn& c, uint16_t code) {
  if (phase_ != Phase::setup) server_closed(c, stats.first_error, code);
}

void EchoWorker::on_closed(Conn& c, EndKind kind, const char* why) {
  if (phase_ == Phase::setup) return setup_.on_closed(engine_, kind, why, setup_error);
  ConnEcho& e = ce_[c.index];
  if (e.owed > e.send_seq) stats.backlog_unsent += e.owed - e.send_seq;
  e.owed = e.send_seq;
  drop_outstanding(e.outstanding, stats.lost);
  count_lost(c, kind, why, phase_ == Phase::running, stats.conns_lost, stats.first_error);
}

void EchoStats::add(const EchoStats& o) {
  sent += o.sent;
  echoed += o.echoed;
  measured += o.measured;
  measured_sent += o.measured_sent;
  mismatches += o.mismatches;
  unexpected += o.unexpected;
  lost += o.lost;
  late += o.late;
  max_lag_ns = std::max(max_lag_ns, o.max_lag_ns);
  backlog_unsent += o.backlog_unsent;
  conns_lost += o.conns_lost;
  last_echo_ns = std::max(last_echo_ns, o.last_echo_ns);
  if (first_error.empty()) first_error = o.first_error;
}

}  // namespace load
