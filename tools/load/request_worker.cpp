#include "request_worker.hpp"

#include <algorithm>

namespace load {

struct RequestWorker::ConnReq {
  uint64_t* stamps = nullptr;  // send times, ring of plan.inflight
  uint32_t head = 0;
  uint32_t outstanding = 0;
  bool text = false;
  bool oversize = false;
  std::vector<char> buf;       // an answer in pieces; reserved on first use
};

namespace {

// {"type":"error",...}, {"error":...}, {"error_code":...}: quoted, so an
// answer that merely mentions the word in a message is not an error.
bool is_error_answer(std::string_view msg) {
  return msg.find("\"error\"") != msg.npos || msg.find("\"error_code\"") != msg.npos;
}

std::string printable(std::string_view s, size_t max) {
  std::string o(s.substr(0, max));
  for (char& ch : o)
    if (ch == '\r' || ch == '\n') ch = ' ';
  return o;
}

}  // namespace

RequestWorker::RequestWorker(const RequestPlan& plan, RunControl& rc)
    : EngineWorker([&] {
        EngineConfig e;
        e.target = plan.target;
        e.connections = plan.conns;
        e.stage_bytes = uint32_t(uint64_t(plan.inflight) * (plan.message.size() + ws::kMaxClientHeader));
        e.max_connecting = plan.max_connecting;
        e.source_offset = plan.first_conn;
        return e;
      }(), rc, plan.first_conn), p_(plan) {}

RequestWorker::~RequestWorker() = default;

bool RequestWorker::setup() {
  if (!init_engine()) return false;
  stamps_.reset(new uint64_t[size_t(p_.inflight) * p_.conns]);
  cr_.resize(p_.conns);
  for (uint32_t i = 0; i < p_.conns; ++i) cr_[i].stamps = stamps_.get() + size_t(p_.inflight) * i;
  return open_upgraded(p_.conns, p_.setup_timeout_ns);
}

void RequestWorker::run() {
  if (rc_.enter_run(setup())) {
    measure_ = rc_.measure_ns.load();
    end_ = rc_.end_ns.load();
    engine_.set_now(now_ns());
    phase_ = Phase::running;
    for (uint32_t i = 0; i < p_.conns; ++i) fill(engine_.conn(i));
    loop();
  }
  end_run(stats.first_error, phase_ != Phase::setup);
}

void RequestWorker::loop() {
  uint64_t drain_deadline = UINT64_MAX;
  for (;;) {
    if (!engine_.poll(10'000'000)) {
      stats.first_error = engine_.stats.first_error;
      break;
    }
    const uint64_t now = engine_.now();
    end_ = rc_.end_ns.load(std::memory_order_relaxed);
    if (phase_ == Phase::running) {
      if (engine_.live_count() == 0) break;
      if (!may_send() || rc_.stop.load(std::memory_order_relaxed)) {
        phase_ = Phase::draining;
        drain_deadline = now + p_.drain_timeout_ns;
        for (uint32_t i = 0; i < p_.conns; ++i) maybe_close(engine_.conn(i));
      }
    }
    if (phase_ != Phase::draining) continue;
    if (engine_.live_count() == 0) break;
    if (now >= drain_deadline || rc_.stop.load(std::memory_order_relaxed)) {
      abort_at_deadline(p_.conns, stats.first_error, "answer(s)", [&](uint32_t i) { return cr_[i].outstanding; });
      break;
    }
  }
}

bool RequestWorker::may_send() const {
  const uint64_t now = engine_.now();
  return phase_ == Phase::running && now < end_ && !(now >= measure_ && stats.measured_sent >= p_.quota);
}

void RequestWorker::fill(Conn& c) {
  ConnReq& r = cr_[c.index];
  while (r.outstanding < p_.inflight && c.state == ConnState::open && may_send()) {
    if (!engine_.send_message(c, ws::kOpText, p_.message.data(), p_.message.size())) break;
    const uint64_t now = engine_.now();
    r.stamps[(r.head + r.outstanding) % p_.inflight] = now;
    ++r.outstanding;
    ++stats.sent;
    live.sent.add();
    if (now >= measure_) ++stats.measured_sent;
  }
}

void RequestWorker::on_open(Conn&) {
  if (phase_ == Phase::setup) ++setup_.ready;
}

void RequestWorker::on_message_begin(Conn& c, uint8_t opcode) {
  ConnReq& r = cr_[c.index];
  r.text = opcode == ws::kOpText;
  r.oversize = false;
  r.buf.clear();
}

void RequestWorker::on_data(Conn& c, const uint8_t* data, size_t n, bool last) {
  ConnReq& r = cr_[c.index];
  if (last && r.buf.empty() && !r.oversize) {
    // The common case: the whole answer in one piece, read in place.
    return on_answer(c, std::string_view(reinterpret_cast<const char*>(data), n), true);
  }
  if (!r.oversize) {
    if (r.buf.size() + n > kMaxAnswer) {
      r.oversize = true;
      r.buf.clear();
    } else {
      if (r.buf.capacity() == 0) r.buf.reserve(4096);  // once per connection
      r.buf.insert(r.buf.end(), reinterpret_cast<const char*>(data), reinterpret_cast<const char*>(data) + n);
    }
  }
  if (!last) return;
  if (r.oversize) ++stats.oversize;
  on_answer(c, std::string_view(r.buf.data(), r.buf.size()), !r.oversize);
  r.buf.clear();
}

void RequestWorker::on_answer(Conn& c, std::string_view msg, bool inspected) {
  ConnReq& r = cr_[c.index];
  if (!r.text) {
    ++stats.unexpected;
    return fail(c, stats.first_error, "a binary message arrived");
  }
  if (r.outstanding == 0) {
    ++stats.unexpected;
    return fail(c, stats.first_error, "a message arrived while no request was outstanding: " + printable(msg, 200));
  }
  const uint64_t sent = r.stamps[r.head];
  r.head = r.head + 1 == p_.inflight ? 0 : r.head + 1;
  --r.outstanding;
  const uint64_t now = engine_.now();
  const bool error = inspected && is_error_answer(msg);
  ++stats.answered;
  stats.last_answer_ns = now;
  live.done.add();
  if (error) {
    ++stats.errors;
    live.errors.add();
    if (stats.first_error_answer.empty()) stats.first_error_answer = printable(msg, 300);
  }
  if (sent >= measure_ && sent < end_) {
    ++stats.measured;
    if (error) ++stats.measured_errors;
    hist.record(now > sent ? now - sent : 0);
  }
  fill(c);
  maybe_close(c);
}

void RequestWorker::on_writable(Conn& c) {
  fill(c);
  maybe_close(c);
}

void RequestWorker::maybe_close(Conn& c) {
  if (phase_ != Phase::draining || c.state != ConnState::open) return;
  if (cr_[c.index].outstanding == 0) engine_.close(c);
}

void RequestWorker::on_server_close(Conn& c, uint16_t code) {
  if (phase_ != Phase::setup) server_closed(c, stats.first_error, code);
}

void RequestWorker::on_closed(Conn& c, EndKind kind, const char* why) {
  if (phase_ == Phase::setup) return setup_.on_closed(engine_, kind, why, setup_error);
  drop_outstanding(cr_[c.index].outstanding, stats.lost);
  count_lost(c, kind, why, phase_ == Phase::running, stats.conns_lost, stats.first_error);
}

void RequestStats::add(const RequestStats& o) {
  sent += o.sent;
  answered += o.answered;
  errors += o.errors;
  measured += o.measured;
  measured_errors += o.measured_errors;
  measured_sent += o.measured_sent;
  unexpected += o.unexpected;
  oversize += o.oversize;
  lost += o.lost;
  conns_lost += o.conns_lost;
  last_answer_ns = std::max(last_answer_ns, o.last_answer_ns);
  if (first_error_answer.empty()) first_error_answer = o.first_error_answer;
  if (first_error.empty()) first_error = o.first_error;
}

}  // namespace load
