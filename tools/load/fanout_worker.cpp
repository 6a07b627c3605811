#include "fanout_worker.hpp"

#include "json_scan.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace load {

struct FanoutWorker::Peer {
  bool ready = false;        // subscriber: "subscribed" seen; publisher: open
  bool text = false;         // the message being received is text
  bool oversize = false;
  std::vector<char> buf;     // a fragmented message; reserved on first use
  // subscriber
  uint32_t channel = 0;
  uint64_t delivered = 0;
  // publisher
  uint32_t pub = 0;          // global publisher index
  uint64_t seq = 0;          // next seq = publishes sent
  uint64_t owed = 0;         // fixed rate: publishes due so far
  uint64_t acks = 0, errors = 0;
  bool done = false;
};

namespace {

constexpr uint32_t kSubRoom = 512;     // subscribe request; pongs go in the control room
constexpr uint32_t kPubRoom = 16384;   // ~100 publishes per send at full speed

// Publishes from a publisher that land on channel `ch` when it sent `sent`.
uint64_t count_on_channel(uint64_t sent, uint32_t ch, uint32_t channels) {
  return sent > ch ? (sent - ch - 1) / channels + 1 : 0;
}

char* put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}
char* put(char* p, uint64_t v) { return std::to_chars(p, p + 24, v).ptr; }

}  // namespace

FanoutWorker::FanoutWorker(const FanoutPlan& plan, RunControl& rc, FanoutShared& shared, uint32_t workers)
    : EngineWorker([&] {
        EngineConfig e;
        e.target = plan.target;
        e.connections = plan.subs + plan.pubs;
        e.stage_bytes_per_conn.assign(plan.subs, kSubRoom);
        e.stage_bytes_per_conn.resize(plan.subs + plan.pubs, kPubRoom);
        e.max_connecting = plan.max_connecting;
        // Many subscribers towards one port need more than one source address.
        e.spread_sources = plan.target->ipv4 && uint64_t(plan.subs + plan.pubs) * workers > 20000;
        e.source_offset = plan.sub_first + plan.pub_first;
        return e;
      }(), rc),
      p_(plan),
      sh_(shared),
      workers_(workers) {}

FanoutWorker::~FanoutWorker() = default;

bool FanoutWorker::setup() {
  if (!init_engine()) return false;
  const uint32_t n = p_.subs + p_.pubs;
  peers_.resize(n);
  const size_t pairs = size_t(p_.subs) * p_.total_pubs;
  next_.reset(new uint32_t[pairs ? pairs : 1]);
  gaps_.reset(new uint32_t[pairs ? pairs : 1]());
  reorders_.reset(new uint32_t[pairs ? pairs : 1]());
  got_.reset(new uint32_t[pairs ? pairs : 1]());
  fills_.reset(new uint32_t[pairs ? pairs : 1]());
  dups_.reset(new uint32_t[pairs ? pairs : 1]());
  for (uint32_t i = 0; i < p_.subs; ++i) {
    peers_[i].channel = (p_.sub_first + i) % p_.channels;
    // The first seq of any publisher on channel K is K.
    std::fill_n(next_.get() + size_t(i) * p_.total_pubs, p_.total_pubs, peers_[i].channel);
  }
  for (uint32_t j = 0; j < p_.pubs; ++j) peers_[p_.subs + j].pub = p_.pub_first + j;

  return open_all(engine_, n, setup_, rc_, now_ns() + p_.setup_timeout_ns, setup_error, [&] {
    uint32_t subscribed = 0, open_subs = 0;
    for (uint32_t i = 0; i < p_.subs; ++i) {
      subscribed += peers_[i].ready;
      open_subs += engine_.conn(i).state == ConnState::open;
    }
    return "setup timed out: " + std::to_string(subscribed) + " of " + std::to_string(p_.subs) +
           " subscribers of this thread got \"type\":\"subscribed\" (" + std::to_string(open_subs) +
           " upgraded); does the server speak the envelope protocol at this path?";
  });
}

void FanoutWorker::run() {
  if (const uint64_t start = rc_.enter_run(setup())) {
    t0_ = start;
    end_ = rc_.end_ns.load();
    engine_.set_now(now_ns());
    phase_ = Phase::running;
    if (p_.rate > 0) period_ns_ = 1e9 / p_.rate;
    else
      for (uint32_t j = 0; j < p_.pubs; ++j) pump(engine_.conn(p_.subs + j));
    loop();
  }
  stop_engine();
  finish_stats();
  rc_.finished.fetch_add(1);
}

void FanoutWorker::loop() {
  uint64_t close_deadline = UINT64_MAX;
  for (;;) {
    uint64_t wait = 10'000'000;
    if (phase_ == Phase::running && p_.rate > 0 && !schedule_done_) {
      const uint64_t due = t0_ + uint64_t(double(cursor_) * period_ns_), now = now_ns();
      wait = due > now ? std::min(due - now, wait) : 0;
    }
    if (!engine_.poll(wait)) break;
    const uint64_t now = engine_.now();
    if (phase_ == Phase::running) {
      end_ = rc_.end_ns.load(std::memory_order_relaxed);
      if (p_.rate > 0) advance_schedule(now);
      check_publishing_done(now);
      check_drained();
      if (rc_.stop.load(std::memory_order_relaxed)) {
        phase_ = Phase::closing;
        close_deadline = now + p_.close_timeout_ns;
        for (uint32_t i = 0; i < engine_.size(); ++i) engine_.close(engine_.conn(i));
      }
    }
    if (phase_ != Phase::closing) continue;
    if (engine_.live_count() == 0) break;
    if (now >= close_deadline) {
      for (uint32_t i = 0; i < engine_.size(); ++i) engine_.abort(engine_.conn(i), EndKind::unclean, "close timeout");
      break;
    }
  }
}

void FanoutWorker::advance_schedule(uint64_t now) {
  // Send k is due at t0 + k * period and belongs to local publisher k % pubs.
  const uint64_t total = p_.messages * p_.pubs;
  while (!schedule_done_) {
    if (cursor_ >= total) {
      schedule_done_ = true;
      break;
    }
    const uint64_t due = t0_ + uint64_t(double(cursor_) * period_ns_);
    if (due > now) break;
    if (due >= end_) {
      schedule_done_ = true;
      break;
    }
    const uint32_t j = uint32_t(cursor_ % p_.pubs);
    ++cursor_;
    ++peers_[p_.subs + j].owed;
    pump(engine_.conn(p_.subs + j));
  }
}

bool FanoutWorker::publish(Conn& c, uint64_t ts) {
  Peer& p = peers_[c.index];
  char buf[256];
  char* w = buf;
  w = put(w, R"({"type":"publish","data":{"channel":"bench-)");
  w = put(w, p.seq % p_.channels);
  w = put(w, R"(","type":"bench","data":{"pub":)");
  w = put(w, p.pub);
  w = put(w, R"(,"seq":)");
  w = put(w, p.seq);
  w = put(w, R"(,"ts":)");
  w = put(w, ts);
  w = put(w, R"(}},"request_id":"p"})");
  if (!engine_.send_message(c, ws::kOpText, buf, size_t(w - buf))) return false;
  ++p.seq;
  ++stats.published;
  live.sent.add();
  return true;
}

void FanoutWorker::pump(Conn& c) {
  Peer& p = peers_[c.index];
  if (phase_ != Phase::running || p.done || c.state != ConnState::open) return;
  while (p.seq < p_.messages) {
    if (p_.window && p.seq - p.acks - p.errors >= p_.window) break;
    uint64_t ts;
    if (p_.rate > 0) {
      if (p.seq >= p.owed) break;
      const uint32_t j = c.index - p_.subs;
      ts = t0_ + uint64_t(double(p.seq * p_.pubs + j) * period_ns_);  // due time
    } else {
      if (engine_.now() >= end_) break;
      ts = now_ns();
    }
    if (!publish(c, ts)) break;
  }
  if (p.seq >= p_.messages) p.done = true;
}

void FanoutWorker::check_publishing_done(uint64_t now) {
  if (pubs_done_) return;
  for (uint32_t j = 0; j < p_.pubs; ++j) {
    Peer& p = peers_[p_.subs + j];
    const Conn& c = engine_.conn(p_.subs + j);
    if (!p.done && c.state == ConnState::open && now < end_) return;
  }
  // Every publisher is finished, gone, or out of time: publish the counts
  // before the flag (release), so a reader of the flag sees them.
  for (uint32_t j = 0; j < p_.pubs; ++j) {
    Peer& p = peers_[p_.subs + j];
    p.done = true;
    sh_.pub_sent[p.pub].store(p.seq, std::memory_order_relaxed);
  }
  uint64_t prev = sh_.publish_end_ns.load();
  while (prev < now && !sh_.publish_end_ns.compare_exchange_weak(prev, now)) {
  }
  pubs_done_ = true;
  sh_.pubs_done.fetch_add(1, std::memory_order_release);
}

void FanoutWorker::check_drained() {
  if (drained_ || !pubs_done_ || sh_.pubs_done.load(std::memory_order_acquire) < workers_) return;
  if (!expected_known_) {
    expected_known_ = true;
    stats.expected = 0;
    for (uint32_t i = 0; i < p_.subs; ++i)
      for (uint32_t pub = 0; pub < p_.total_pubs; ++pub)
        stats.expected += count_on_channel(sh_.pub_sent[pub].load(std::memory_order_relaxed),
                                           peers_[i].channel, p_.channels);
  }
  if (stats.delivered < stats.expected) return;
  for (uint32_t j = 0; j < p_.pubs; ++j) {
    const Peer& p = peers_[p_.subs + j];
    if (engine_.conn(p_.subs + j).state == ConnState::open && p.acks + p.errors < p.seq) return;
  }
  drained_ = true;
  sh_.drained.fetch_add(1);
}

void FanoutWorker::on_open(Conn& c) {
  Peer& p = peers_[c.index];
  if (!is_sub(c)) {
    p.ready = true;
    ++setup_.ready;
    return;
  }
  char buf[128];
  char* w = buf;
  w = put(w, R"({"type":"subscribe","data":{"channels":["bench-)");
  w = put(w, p.channel);
  w = put(w, R"("]},"request_id":"s1"})");
  engine_.send_message(c, ws::kOpText, buf, size_t(w - buf));
}

void FanoutWorker::on_message_begin(Conn& c, uint8_t opcode) {
  Peer& p = peers_[c.index];
  p.text = opcode == ws::kOpText;
  p.oversize = false;
  p.buf.clear();
}

void FanoutWorker::on_data(Conn& c, const uint8_t* data, size_t n, bool last) {
  Peer& p = peers_[c.index];
  if (last && p.buf.empty() && !p.oversize) {
    // The common case: the whole message in one chunk, read in place.
    if (p.text) on_message(c, std::string_view(reinterpret_cast<const char*>(data), n));
    return;
  }
  if (!p.oversize) {
    if (p.buf.size() + n > kMaxMessage) {
      p.oversize = true;
      p.buf.clear();
    } else {
      if (p.buf.capacity() == 0) p.buf.reserve(4096);  // once per connection
      p.buf.insert(p.buf.end(), reinterpret_cast<const char*>(data), reinterpret_cast<const char*>(data) + n);
    }
  }
  if (!last) return;
  if (p.oversize) ++stats.oversize;
  else if (p.text) on_message(c, std::string_view(p.buf.data(), p.buf.size()));
  p.buf.clear();
}

void FanoutWorker::on_message(Conn& c, std::string_view msg) {
  Peer& p = peers_[c.index];
  constexpr std::string_view kType = "\"type\"";
  if (is_sub(c)) {
    if (p.ready) {
      if (msg.find("\"seq\"") != msg.npos) return on_delivery(c, p, msg);
      if (has_string(msg, kType, "error")) {
        ++stats.sub_errors;
        live.errors.add();
        if (stats.first_error.empty()) stats.first_error = "subscriber got: " + std::string(msg.substr(0, 300));
      } else {
        ++stats.other_messages;
      }
      return;
    }
    if (has_string(msg, kType, "subscribed")) {
      p.ready = true;
      ++setup_.ready;
    } else if (has_string(msg, kType, "error")) {
      if (setup_error.empty()) setup_error = "subscribe refused: " + std::string(msg.substr(0, 300));
      engine_.abort(c, EndKind::failed, "subscribe refused");
    }
    return;  // the greeting, or anything else before "subscribed"
  }
  if (has_string(msg, kType, "published")) {
    ++p.acks;
    ++stats.acks;
  } else if (has_string(msg, kType, "error")) {
    ++p.errors;
    ++stats.publish_errors;
    live.errors.add();
    if (stats.first_publish_error.empty()) stats.first_publish_error = std::string(msg.substr(0, 300));
  } else {
    if (!has_string(msg, kType, "connected")) ++stats.other_messages;
    return;
  }
  if (p_.window) pump(c);
}

void FanoutWorker::on_delivery(Conn& c, Peer& s, std::string_view msg) {
  uint64_t pub, seq, ts;
  if (!scan_u64(msg, "\"pub\"", pub) || !scan_u64(msg, "\"seq\"", seq) || !scan_u64(msg, "\"ts\"", ts)) {
    ++stats.other_messages;
    return;
  }
  const uint64_t now = engine_.now();
  if (pub >= p_.total_pubs || seq % p_.channels != s.channel) {
    ++stats.misrouted;
    live.errors.add();
    if (stats.first_error.empty())
      stats.first_error = "subscriber " + std::to_string(p_.sub_first + c.index) + " on bench-" +
                          std::to_string(s.channel) + " got a message for another channel: " +
                          std::string(msg.substr(0, 200));
    return;
  }
  hist.record(now > ts ? now - ts : 0);
  if (!stats.first_delivery_ns) stats.first_delivery_ns = now;
  stats.last_delivery_ns = now;
  const size_t k = size_t(c.index) * p_.total_pubs + pub;
  if (seq >= next_[k]) {
    if (seq > next_[k]) {
      const uint64_t skipped = (seq - next_[k]) / p_.channels;
      gaps_[k] += uint32_t(skipped);
      stats.gaps += skipped;
      live.errors.add();
    }
    next_[k] = uint32_t(seq + p_.channels);
    ++got_[k];
    ++s.delivered;
    ++stats.delivered;
    live.done.add();
  } else if (fills_[k] < gaps_[k]) {
    // Below the next expected seq while a gap is open: a late arrival that
    // fills it. It counts as delivered, and as a reorder. (Without a bitmap
    // per pair, a duplicate arriving while a gap is open looks the same.)
    ++fills_[k];
    ++reorders_[k];
    ++stats.reorders;
    ++got_[k];
    ++s.delivered;
    ++stats.delivered;
    live.done.add();
    live.errors.add();
  } else {
    ++dups_[k];
    ++stats.duplicates;
    live.errors.add();
  }
}

void FanoutWorker::on_writable(Conn& c) {
  if (!is_sub(c)) pump(c);
}

void FanoutWorker::on_server_close(Conn& c, uint16_t code) {
  if (phase_ != Phase::running) return;
  if (stats.first_error.empty())
    stats.first_error = std::string(is_sub(c) ? "subscriber" : "publisher") + " connection closed by the server (code " +
                        std::to_string(code) + ")";
}

void FanoutWorker::on_closed(Conn& c, EndKind kind, const char* why) {
  if (phase_ == Phase::setup) return setup_.on_closed(engine_, kind, why, setup_error);
  if (phase_ == Phase::running && kind != EndKind::clean) {
    ++stats.conns_lost;
    if (stats.first_error.empty() && why)
      stats.first_error = std::string(is_sub(c) ? "subscriber" : "publisher") + " connection lost: " + why;
  }
  if (!is_sub(c)) peers_[c.index].done = true;
}

void FanoutWorker::finish_stats() {
  if (phase_ == Phase::setup) return;
  if (!expected_known_) {
    stats.expected = 0;
    for (uint32_t i = 0; i < p_.subs; ++i)
      for (uint32_t pub = 0; pub < p_.total_pubs; ++pub)
        stats.expected += count_on_channel(sh_.pub_sent[pub].load(), peers_[i].channel, p_.channels);
  }
  for (uint32_t i = 0; i < p_.subs; ++i) {
    bool bad = false;
    for (uint32_t pub = 0; pub < p_.total_pubs; ++pub) {
      const size_t k = size_t(i) * p_.total_pubs + pub;
      const uint64_t want = count_on_channel(sh_.pub_sent[pub].load(), peers_[i].channel, p_.channels);
      const uint64_t missing = want > got_[k] ? want - got_[k] : 0;
      if (!gaps_[k] && !reorders_[k] && !dups_[k] && !missing) continue;
      bad = true;
      ++stats.pairs_with_problems;
      if (stats.worst.size() < FanoutStats::kMaxListed)
        stats.worst.push_back({p_.sub_first + i, pub, peers_[i].channel, gaps_[k], reorders_[k], dups_[k], missing});
    }
    if (bad) ++stats.subs_with_problems;
  }
}

void FanoutStats::add(const FanoutStats& o) {
  published += o.published;
  acks += o.acks;
  publish_errors += o.publish_errors;
  delivered += o.delivered;
  expected += o.expected;
  gaps += o.gaps;
  reorders += o.reorders;
  duplicates += o.duplicates;
  misrouted += o.misrouted;
  other_messages += o.other_messages;
  oversize += o.oversize;
  sub_errors += o.sub_errors;
  conns_lost += o.conns_lost;
  pairs_with_problems += o.pairs_with_problems;
  subs_with_problems += o.subs_with_problems;
  if (o.first_delivery_ns && (!first_delivery_ns || o.first_delivery_ns < first_delivery_ns))
    first_delivery_ns = o.first_delivery_ns;
  last_delivery_ns = std::max(last_delivery_ns, o.last_delivery_ns);
  if (first_publish_error.empty()) first_publish_error = o.first_publish_error;
  if (first_error.empty()) first_error = o.first_error;
  for (const PairProblem& p : o.worst)
    if (worst.size() < kMaxListed) worst.push_back(p);
}

}  // namespace load
