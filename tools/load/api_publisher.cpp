#include "api_publisher.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace load {

namespace {

constexpr size_t kMaxBody = 160;  // {"channel":"bench-K","type":"bench","data":{"pub":0,"seq":N,"ts":T}}

char* put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}
char* put(char* p, uint64_t v) { return std::to_chars(p, p + 24, v).ptr; }

std::string request_prefix(const ApiPublishPlan& p) {
  std::string s = "POST " + p.path + " HTTP/1.1\r\nHost: " + p.target->host_header + "\r\n";
  if (!p.api_key.empty()) s += "Authorization: Bearer " + p.api_key + "\r\n";
  s += "Content-Type: application/json\r\nContent-Length: ";
  return s;
}

}  // namespace

ApiPublisher::ApiPublisher(const ApiPublishPlan& plan, RunControl& rc, FanoutShared& shared)
    : p_(plan), rc_(rc), sh_(shared), engine_([&] {
        EngineConfig e;
        e.target = plan.target;
        e.raw = true;
        e.connections = 1;
        // Room for a window's worth of requests per staging buffer (capped:
        // a bigger window just fills the next send).
        e.stage_bytes = uint32_t(std::clamp<uint64_t>(plan.window, 1, 256) *
                                 (request_prefix(plan).size() + 8 + kMaxBody));
        e.recv_bufs = 64;
        return e;
      }(), *this, live), prefix_(request_prefix(plan)) {}

ApiPublisher::~ApiPublisher() = default;

void ApiPublisher::run() {
  bool ok = false;
  setup_error = engine_.init();
  if (setup_error.empty()) {
    stamps_.reset(new uint64_t[p_.window]);
    ok = open_all(engine_, 1, setup_, rc_, now_ns() + p_.setup_timeout_ns, setup_error, [&] {
      return "the API connection (" + p_.target->text + ") did not open in time";
    });
    if (!ok && setup_error.find(p_.target->text) == std::string::npos)
      setup_error = "API " + p_.target->text + ": " + setup_error;
  }
  if (const uint64_t start = rc_.enter_run(ok)) {
    t0_ = start;
    end_ = rc_.end_ns.load();
    engine_.set_now(now_ns());
    phase_ = Phase::running;
    if (p_.rate > 0) period_ns_ = 1e9 / p_.rate;
    pump();
    loop();
  }
  engine_.shutdown();
  engine_stats = engine_.stats;
  if (phase_ != Phase::setup && !stats.publish_end_ns) mark_done(now_ns());
  rc_.finished.fetch_add(1);
}

void ApiPublisher::loop() {
  uint64_t close_deadline = UINT64_MAX;
  for (;;) {
    uint64_t wait = 10'000'000;
    if (phase_ == Phase::running && p_.rate > 0 && !stopped_sending_) {
      const uint64_t due = t0_ + uint64_t(double(owed_) * period_ns_), now = now_ns();
      wait = due > now ? std::min(due - now, wait) : 0;
    }
    if (!engine_.poll(wait)) {
      if (stats.first_error.empty()) stats.first_error = engine_.stats.first_error;
      break;
    }
    const uint64_t now = engine_.now();
    if (phase_ == Phase::running) {
      end_ = rc_.end_ns.load(std::memory_order_relaxed);
      if (p_.rate > 0) advance_schedule(now);
      pump();
      maybe_done(now);
    }
    if (phase_ != Phase::closing && rc_.stop.load(std::memory_order_relaxed)) {
      if (phase_ == Phase::running) mark_done(now);
      phase_ = Phase::closing;
      close_deadline = now + p_.close_timeout_ns;
      engine_.close(engine_.conn(0));  // raw: shut the write side, wait for the server's EOF
    }
    if (phase_ != Phase::closing) continue;
    if (engine_.live_count() == 0) break;
    if (now >= close_deadline) {
      engine_.abort(engine_.conn(0), EndKind::unclean, "the API did not close after our FIN");
      break;
    }
  }
}

void ApiPublisher::advance_schedule(uint64_t now) {
  // Request k is due at t0 + k * period.
  while (owed_ < p_.messages) {
    const uint64_t due = t0_ + uint64_t(double(owed_) * period_ns_);
    if (due > now || due >= end_) break;
    ++owed_;
  }
}

bool ApiPublisher::send_one(uint64_t ts) {
  char body[kMaxBody];
  char* w = body;
  w = put(w, R"({"channel":"bench-)");
  w = put(w, stats.sent % p_.channels);
  w = put(w, R"(","type":"bench","data":{"pub":0,"seq":)");
  w = put(w, stats.sent);
  w = put(w, R"(,"ts":)");
  w = put(w, ts);
  w = put(w, "}}");
  const size_t body_len = size_t(w - body);
  char len[32];
  char* l = put(len, body_len);
  l = put(l, "\r\n\r\n");
  const size_t n = prefix_.size() + size_t(l - len) + body_len;
  Conn& c = engine_.conn(0);
  uint8_t* out = engine_.begin_message(c, 0, n);
  if (!out) return false;
  uint8_t* o = out;
  std::memcpy(o, prefix_.data(), prefix_.size());
  o += prefix_.size();
  std::memcpy(o, len, size_t(l - len));
  o += l - len;
  std::memcpy(o, body, body_len);
  engine_.commit_message(c, out, n);
  stamps_[stats.sent % p_.window] = ts;
  ++stats.sent;
  live.sent.add();
  return true;
}

void ApiPublisher::pump() {
  if (phase_ != Phase::running || stopped_sending_) return;
  Conn& c = engine_.conn(0);
  if (c.state != ConnState::open) return;
  while (stats.sent < p_.messages && outstanding() < p_.window) {
    uint64_t ts;
    if (p_.rate > 0) {
      if (stats.sent >= owed_) break;
      ts = t0_ + uint64_t(double(stats.sent) * period_ns_);  // due time
    } else {
      if (engine_.now() >= end_) break;
      ts = now_ns();
    }
    if (!send_one(ts)) break;  // staging full: on_writable() goes on
  }
}

void ApiPublisher::maybe_done(uint64_t now) {
  const Conn& c = engine_.conn(0);
  const bool open = c.state == ConnState::open;
  if (open && !stopped_sending_) {
    // Nothing more will be sent once M is reached or the time is up.
    const bool all_sent = stats.sent >= p_.messages ||
                          (p_.rate > 0 ? now >= end_ && stats.sent >= owed_ : now >= end_);
    if (!all_sent) return;
    stopped_sending_ = true;
  }
  if (open && outstanding() > 0) return;  // the answers still coming
  mark_done(now);
}

void ApiPublisher::mark_done(uint64_t now) {
  if (phase_ != Phase::running) return;
  phase_ = Phase::done;
  stopped_sending_ = true;
  stats.unanswered = outstanding();
  stats.publish_end_ns = stats.last_answer_ns ? stats.last_answer_ns : now;
  sh_.pub_sent[0].store(stats.sent, std::memory_order_relaxed);
  uint64_t prev = sh_.publish_end_ns.load();
  while (prev < stats.publish_end_ns && !sh_.publish_end_ns.compare_exchange_weak(prev, stats.publish_end_ns)) {
  }
  sh_.pubs_done.fetch_add(1, std::memory_order_release);
}

void ApiPublisher::on_response(int status, std::string_view body, bool close) {
  if (outstanding() == 0) {
    ++stats.bad_responses;
    if (stats.first_error.empty()) stats.first_error = "the API sent a response to no request";
    return;
  }
  const uint64_t now = engine_.now();
  const uint64_t sent = stamps_[(stats.ok + stats.errors) % p_.window];
  hist.record(now > sent ? now - sent : 0);
  stats.last_answer_ns = now;
  if (status == 200) {
    ++stats.ok;
  } else {
    ++stats.errors;
    live.errors.add();
    if (stats.first_error.empty()) {
      std::string b(body.substr(0, 300));
      for (char& ch : b)
        if (ch == '\r' || ch == '\n') ch = ' ';
      stats.first_error = "HTTP " + std::to_string(status) + " to publish " +
                          std::to_string(stats.ok + stats.errors - 1) + ": " + b;
    }
  }
  if (close && !stats.server_said_close) {
    // Whatever we pipelined behind this request will not be answered.
    stats.server_said_close = true;
    stopped_sending_ = true;
    if (stats.first_error.empty())
      stats.first_error = "the API answered publish " + std::to_string(stats.ok + stats.errors - 1) +
                          " with Connection: close";
  }
}

void ApiPublisher::on_open(Conn&) {
  if (phase_ == Phase::setup) ++setup_.ready;
}

void ApiPublisher::on_data(Conn& c, const uint8_t* p, size_t n, bool) {
  if (reader_.feed(p, n, *this)) {
    pump();
    return;
  }
  ++stats.bad_responses;
  if (stats.first_error.empty()) stats.first_error = std::string("bad HTTP response from the API: ") + reader_.error();
  engine_.abort(c, EndKind::failed, "bad HTTP response");
}

void ApiPublisher::on_writable(Conn&) { pump(); }

void ApiPublisher::on_closed(Conn& c, EndKind kind, const char* why) {
  if (phase_ == Phase::setup) return setup_.on_closed(engine_, kind, why, setup_error);
  (void)c;
  if (phase_ == Phase::closing && kind == EndKind::clean) return;
  if (phase_ == Phase::running || kind != EndKind::clean) {
    if (phase_ == Phase::running) stats.conn_lost = true;
    if (stats.first_error.empty())
      stats.first_error = std::string("API connection ended: ") + (why ? why : "closed") +
                          (reader_.mid_response() ? " (in the middle of a response)" : "");
  }
  if (phase_ == Phase::running) mark_done(engine_.now());
}

}  // namespace load
