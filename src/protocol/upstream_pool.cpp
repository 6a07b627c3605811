#include "protocol/upstream_pool.hpp"

#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cstring>

#include "http/response_parser.hpp"

namespace ringcast::protocol {

namespace {

// A request buffer that held something bigger is given back when it is
// recycled, so one large exchange does not stay with the pool for good.
constexpr size_t kKeepRequestCapacity = 64u << 10;

constexpr char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (lower(s[i]) != prefix[i]) return false;
  }
  return true;
}

uint64_t make_tag(uint32_t conn, uint32_t gen) { return (uint64_t(gen) << 32) | conn; }

}  // namespace

const char* to_string(UpstreamFailure why) {
  switch (why) {
    case UpstreamFailure::unavailable:
      return "unavailable";
    case UpstreamFailure::timeout:
      return "timeout";
    case UpstreamFailure::error:
      return "error";
  }
  return "unknown";
}

bool parse_upstream_url(std::string_view url, UpstreamUrl* out, std::string* error) {
  auto fail = [&](const char* why) {
    if (error) *error = std::string(why) + ": \"" + std::string(url) + "\"";
    return false;
  };
  for (char c : url) {
    if (uint8_t(c) <= 0x20 || uint8_t(c) >= 0x7F) return fail("upstream URL has a space, control or non-ASCII byte");
  }
  if (starts_with_nocase(url, "https://")) return fail("https upstreams are not supported (plain http:// only)");
  if (!starts_with_nocase(url, "http://")) return fail("upstream URL must start with http://");
  std::string_view rest = url.substr(7);
  const size_t auth_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, auth_end);
  std::string_view path = auth_end == std::string_view::npos ? std::string_view{} : rest.substr(auth_end);
  if (authority.find('@') != std::string_view::npos) return fail("upstream URL must not carry user information");

  std::string_view host, port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("upstream URL has an unclosed IPv6 literal");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("upstream URL has bytes after its IPv6 literal");
      port = after.substr(1);
      if (port.empty()) return fail("upstream URL has an empty port");
    }
    if (host.find(':') == std::string_view::npos) return fail("upstream URL brackets something that is not IPv6");
  } else {
    const size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return fail("upstream URL has an empty port");
    }
  }
  if (host.empty()) return fail("upstream URL has no host");
  uint32_t port_value = 80;
  if (!port.empty()) {
    uint32_t v = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc() || end != port.data() + port.size() || v == 0 || v > 65535) {
      return fail("upstream URL has a bad port");
    }
    port_value = v;
  }
  const size_t hash = path.find('#');
  if (hash != std::string_view::npos) path = path.substr(0, hash);

  out->host = std::string(host);
  out->port = uint16_t(port_value);
  out->path = path.empty() || path.front() != '/' ? "/" + std::string(path) : std::string(path);
  out->host_header = authority.front() == '[' ? "[" + out->host + "]" : out->host;
  if (port_value != 80) out->host_header += ":" + std::to_string(port_value);
  return true;
}

struct UpstreamPool::Conn {
  http::ResponseParser parser{kUpstreamMaxAnswerBytes};
  uint32_t slot = kNone;
  uint32_t gen = 0;
  uint32_t req = kNone;
  int32_t target = -1;
  ConnState state = ConnState::free;
  bool reused = false;  // answered before: the server may have closed it while idle
};

UpstreamPool::UpstreamPool(UpstreamSink& sink) : sink_(sink) {}

UpstreamPool::~UpstreamPool() = default;

int UpstreamPool::add_target(const UpstreamTarget& t, std::string* error) {
  for (size_t i = 0; i < targets_.size(); ++i) {
    const UpstreamTarget& o = targets_[i].cfg;
    if (o.url == t.url && o.timeout_ms == t.timeout_ms && o.concurrency == t.concurrency && o.max_idle == t.max_idle &&
        o.idle_timeout_ms == t.idle_timeout_ms && o.queue_limit == t.queue_limit) {
      return int(i);
    }
  }
  if (t.concurrency == 0) {
    if (error) *error = "upstream concurrency must be at least 1: \"" + t.url + "\"";
    return -1;
  }
  if (t.timeout_ms == 0) {
    if (error) *error = "upstream timeout must be at least 1 ms: \"" + t.url + "\"";
    return -1;
  }
  UpstreamUrl u;
  if (!parse_upstream_url(t.url, &u, error)) return -1;

  addrinfo hints;
  std::memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(u.port);
  int rc = getaddrinfo(u.host.c_str(), port.c_str(), &hints, &res);
  if (rc == EAI_NONAME || rc == EAI_ADDRFAMILY || rc == EAI_NODATA) {
    // AI_ADDRCONFIG hides loopback literals on a host with no other address.
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(u.host.c_str(), port.c_str(), &hints, &res);
  }
  if (rc != 0 || res == nullptr) {
    if (error) *error = "cannot resolve upstream host \"" + u.host + "\": " + gai_strerror(rc);
    if (res) freeaddrinfo(res);
    return -1;
  }
  // One address per target, resolved once. For a name with both families,
  // IPv4 first: "localhost" then reaches a server bound to 127.0.0.1 only.
  const addrinfo* pick = res;
  for (const addrinfo* a = res; a != nullptr; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      pick = a;
      break;
    }
  }
  Target target;
  target.cfg = t;
  std::memset(&target.addr, 0, sizeof(target.addr));
  std::memcpy(&target.addr, pick->ai_addr, std::min<size_t>(pick->ai_addrlen, sizeof(target.addr)));
  target.addr_len = socklen_t(pick->ai_addrlen);
  freeaddrinfo(res);

  target.head = "POST " + u.path + " HTTP/1.1\r\nHost: " + u.host_header +
                "\r\nUser-Agent: ringcast\r\nContent-Type: application/json\r\nContent-Length: ";
  target.max_idle = t.max_idle ? t.max_idle : t.concurrency;
  target.queue.assign(t.queue_limit ? t.queue_limit : size_t(t.concurrency) * 4, kNone);
  target.idle.reserve(target.max_idle);
  targets_.push_back(std::move(target));
  return int(targets_.size() - 1);
}

// --- requests and connections: recycled, so a warm pool does not allocate ---

uint32_t UpstreamPool::new_request() {
  uint32_t id;
  if (!free_requests_.empty()) {
    id = free_requests_.back();
    free_requests_.pop_back();
  } else {
    id = uint32_t(requests_.size());
    requests_.push_back(std::make_unique<Request>());
  }
  Request& q = *requests_[id];
  q.body.clear();
  q.content_type.clear();
  q.token = 0;
  q.deadline_ms = 0;
  q.target = -1;
  q.conn = kNone;
  q.status = 0;
  q.outcome = Outcome::pending;
  q.why = UpstreamFailure::error;
  q.retried = false;
  return id;
}

void UpstreamPool::free_request(uint32_t id) {
  Request& q = *requests_[id];
  if (q.body.capacity() > kKeepRequestCapacity) std::string().swap(q.body);
  q.outcome = Outcome::pending;
  free_requests_.push_back(id);
}

uint32_t UpstreamPool::new_conn(int32_t target) {
  uint32_t id;
  if (!free_conns_.empty()) {
    id = free_conns_.back();
    free_conns_.pop_back();
  } else {
    id = uint32_t(conns_.size());
    conns_.push_back(std::make_unique<Conn>());
  }
  Conn& k = *conns_[id];
  ++k.gen;  // a stale on_connected tag no longer matches
  k.slot = kNone;
  k.req = kNone;
  k.target = target;
  k.state = ConnState::connecting;
  k.reused = false;
  return id;
}

void UpstreamPool::free_conn(uint32_t id) {
  Conn& k = *conns_[id];
  k.state = ConnState::free;
  k.slot = kNone;
  k.req = kNone;
  free_conns_.push_back(id);
}

// --- the request's path: post -> start -> (connect) -> send -> answer ---

void UpstreamPool::post(core::Reactor& r, int target, uint64_t token, std::string_view body) {
  ++stats_.requests;
  ++stats_.in_flight;
  const uint32_t id = new_request();
  Request& q = *requests_[id];
  q.token = token;
  if (target < 0 || size_t(target) >= targets_.size()) {
    fail(id, UpstreamFailure::error);
    return;
  }
  q.target = target;
  if (stopping_ || r.stopping()) {
    fail(id, UpstreamFailure::unavailable);
    return;
  }
  Target& t = targets_[size_t(target)];
  q.body.assign(body);
  q.deadline_ms = r.now_ms() + t.cfg.timeout_ms;
  if (t.queue_count == 0 && t.active < t.cfg.concurrency) {
    start(r, id);
    return;
  }
  expire_waiting(r.now_ms());  // a full queue of the already-dead does not turn this one away
  if (t.queue_count == t.queue.size()) {
    fail(id, UpstreamFailure::unavailable);
    return;
  }
  t.queue[(t.queue_head + t.queue_count) % t.queue.size()] = id;
  ++t.queue_count;
  ++stats_.waiting;
}

void UpstreamPool::start(core::Reactor& r, uint32_t req) {
  Request& q = *requests_[req];
  Target& t = targets_[size_t(q.target)];
  ++t.active;
  if (!t.idle.empty()) {
    const uint32_t c = t.idle.back();  // the warmest
    t.idle.pop_back();
    --stats_.idle;
    Conn& k = conn(c);
    assert(k.state == ConnState::idle);
    k.req = req;
    q.conn = c;
    send_request(r, c);
    return;
  }
  open_conn(r, req);
}

void UpstreamPool::open_conn(core::Reactor& r, uint32_t req) {
  Request& q = *requests_[req];
  Target& t = targets_[size_t(q.target)];
  const uint32_t c = new_conn(q.target);
  Conn& k = conn(c);
  uint32_t slot = kNone;
  if (!r.connect(reinterpret_cast<const sockaddr*>(&t.addr), t.addr_len, make_tag(c, k.gen), &slot)) {
    // Every outbound slot in use, or the reactor is stopping.
    free_conn(c);
    q.conn = kNone;
    --t.active;
    fail(req, UpstreamFailure::unavailable);
    return;
  }
  ++stats_.connects;
  ++stats_.connections;
  k.slot = slot;
  k.req = req;
  q.conn = c;
  if (by_slot_.empty()) slot_base_ = r.outbound_base();
  if (by_slot_.size() <= slot - slot_base_) by_slot_.resize(size_t(slot - slot_base_) + 1, kNone);
  slot_entry(slot) = c;
  r.set_timer(slot, q.deadline_ms);  // the connect counts against the request's time
}

void UpstreamPool::send_request(core::Reactor& r, uint32_t c) {
  Conn& k = conn(c);
  Request& q = *requests_[k.req];
  Target& t = targets_[size_t(k.target)];
  k.state = ConnState::busy;
  k.parser.reset();
  char digits[24];
  const size_t nd = size_t(std::to_chars(digits, digits + sizeof(digits), q.body.size()).ptr - digits);
  const size_t n = t.head.size() + nd + 4 + q.body.size();
  uint8_t* p = r.out_reserve(k.slot, n);
  if (p == nullptr) {  // out of memory: this request cannot go anywhere
    const uint32_t req = k.req;
    const int32_t target = k.target;
    q.conn = kNone;
    close_conn(r, c, false);
    fail(req, UpstreamFailure::error);
    leave_target(r, target);
    return;
  }
  std::memcpy(p, t.head.data(), t.head.size());
  p += t.head.size();
  std::memcpy(p, digits, nd);
  p += nd;
  std::memcpy(p, "\r\n\r\n", 4);
  p += 4;
  if (!q.body.empty()) std::memcpy(p, q.body.data(), q.body.size());
  r.out_commit(k.slot, n);
  r.set_timer(k.slot, q.deadline_ms);
}

void UpstreamPool::release_conn(core::Reactor& r, uint32_t c) {
  Conn& k = conn(c);
  Target& t = targets_[size_t(k.target)];
  k.req = kNone;
  expire_waiting(r.now_ms());
  if (t.queue_count != 0) {
    // Straight to the next waiting request: one left, one comes, active stays.
    const uint32_t req = t.queue[t.queue_head];
    t.queue_head = (t.queue_head + 1) % uint32_t(t.queue.size());
    --t.queue_count;
    --stats_.waiting;
    k.req = req;
    requests_[req]->conn = c;
    send_request(r, c);
    return;
  }
  --t.active;
  if (t.idle.size() >= t.max_idle) {
    close_conn(r, c, true);
    return;
  }
  k.state = ConnState::idle;
  t.idle.push_back(c);
  ++stats_.idle;
  r.set_timer(k.slot, r.now_ms() + t.cfg.idle_timeout_ms);
}

void UpstreamPool::close_conn(core::Reactor& r, uint32_t c, bool graceful) {
  Conn& k = conn(c);
  k.state = ConnState::closing;
  k.req = kNone;
  // A connected slot gets on_close from inside this call, which frees the
  // connection; a connecting one is freed when on_connected reports -ECANCELED.
  r.close(k.slot, graceful);
}

void UpstreamPool::answer(uint32_t req, http::ResponseParser& p) {
  Request& q = *requests_[req];
  q.status = p.status();
  q.content_type.assign(p.content_type());
  p.swap_body(q.body);  // the request's JSON buffer becomes the parser's next body buffer
  q.outcome = Outcome::answer;
  q.conn = kNone;
  done_.push_back(req);
}

void UpstreamPool::fail(uint32_t req, UpstreamFailure why) {
  Request& q = *requests_[req];
  q.outcome = Outcome::failure;
  q.why = why;
  q.conn = kNone;
  done_.push_back(req);
}

void UpstreamPool::leave_target(core::Reactor& r, int32_t target) {
  Target& t = targets_[size_t(target)];
  --t.active;
  pump(r, t);
}

void UpstreamPool::pump(core::Reactor& r, Target& t) {
  if (stopping_ || r.stopping()) return;
  expire_waiting(r.now_ms());
  // start() may fail a request at once (no outbound slot) and give its place
  // back: the loop then moves on to the next, never recursing.
  while (t.queue_count != 0 && t.active < t.cfg.concurrency) {
    const uint32_t req = t.queue[t.queue_head];
    t.queue_head = (t.queue_head + 1) % uint32_t(t.queue.size());
    --t.queue_count;
    --stats_.waiting;
    start(r, req);
  }
}

void UpstreamPool::expire_waiting(uint64_t now_ms) {
  // One timeout per target, so each FIFO is in deadline order: only heads expire.
  for (Target& t : targets_) {
    while (t.queue_count != 0 && requests_[t.queue[t.queue_head]]->deadline_ms <= now_ms) {
      const uint32_t req = t.queue[t.queue_head];
      t.queue_head = (t.queue_head + 1) % uint32_t(t.queue.size());
      --t.queue_count;
      --stats_.waiting;
      fail(req, UpstreamFailure::timeout);
    }
  }
}

// --- reactor events on the pool's connections ---

void UpstreamPool::on_connected(core::Reactor& r, uint32_t slot, int res, uint64_t tag) {
  connected(r, slot, res, tag);
  settle(r);
}

void UpstreamPool::connected(core::Reactor& r, uint32_t slot, int res, uint64_t tag) {
  const uint32_t c = uint32_t(tag);
  if (c >= conns_.size() || conn(c).gen != uint32_t(tag >> 32) || conn(c).slot != slot) {
    if (res == 0) r.close(slot, false);  // not a connection of this pool
    return;
  }
  Conn& k = conn(c);
  if (res < 0) {
    slot_entry(slot) = kNone;
    --stats_.connections;
    if (k.state == ConnState::connecting) {
      const uint32_t req = k.req;
      const int32_t target = k.target;
      free_conn(c);
      fail(req, UpstreamFailure::unavailable);
      leave_target(r, target);
    } else {
      free_conn(c);  // closed while connecting: its request was already answered
    }
    return;
  }
  if (k.state != ConnState::connecting) {
    close_conn(r, c, false);
    return;
  }
  send_request(r, c);
}

void UpstreamPool::on_data(core::Reactor& r, uint32_t slot, std::span<uint8_t> bytes) {
  received(r, slot, bytes);
  settle(r);
}

void UpstreamPool::received(core::Reactor& r, uint32_t slot, std::span<uint8_t> bytes) {
  const uint32_t c = slot_entry(slot);
  Conn& k = conn(c);
  if (k.state != ConnState::busy) {
    // Bytes nobody asked for (on an idle connection): the server is confused.
    if (k.state == ConnState::idle) {
      Target& t = targets_[size_t(k.target)];
      t.idle.erase(std::find(t.idle.begin(), t.idle.end(), c));
      --stats_.idle;
    }
    if (k.state != ConnState::closing) close_conn(r, c, false);
    return;
  }
  size_t used = 0;
  const http::ResponseParser::Result res = k.parser.feed(std::span<const uint8_t>(bytes.data(), bytes.size()), &used);
  if (res == http::ResponseParser::Result::need_more) return;
  const uint32_t req = k.req;
  const int32_t target = k.target;
  if (res == http::ResponseParser::Result::error) {
    fail(req, UpstreamFailure::error);
    close_conn(r, c, false);
    leave_target(r, target);
    return;
  }
  // Bytes after the answer were never asked for: the connection cannot be trusted again.
  const bool reusable = k.parser.keep_alive() && used == bytes.size() && !stopping_ && !r.stopping();
  answer(req, k.parser);
  k.reused = true;
  if (reusable) {
    release_conn(r, c);
  } else {
    close_conn(r, c, true);
    leave_target(r, target);
  }
}

void UpstreamPool::on_timer(core::Reactor& r, uint32_t slot) {
  timed_out(r, slot);
  settle(r);
}

void UpstreamPool::timed_out(core::Reactor& r, uint32_t slot) {
  const uint32_t c = slot_entry(slot);
  Conn& k = conn(c);
  const int32_t target = k.target;
  switch (k.state) {
    case ConnState::idle: {
      Target& t = targets_[size_t(target)];
      t.idle.erase(std::find(t.idle.begin(), t.idle.end(), c));
      --stats_.idle;
      close_conn(r, c, true);
      break;
    }
    case ConnState::connecting:
    case ConnState::busy: {
      // The request's deadline: give up on it and on the connection, whose
      // answer, if it ever comes, must not be read as the next request's.
      const uint32_t req = k.req;
      fail(req, UpstreamFailure::timeout);
      close_conn(r, c, false);
      leave_target(r, target);
      break;
    }
    case ConnState::closing:
    case ConnState::free:
      break;
  }
}

void UpstreamPool::on_close(core::Reactor& r, uint32_t slot) {
  closed(r, slot);
  settle(r);
}

void UpstreamPool::closed(core::Reactor& r, uint32_t slot) {
  const uint32_t c = slot_entry(slot);
  slot_entry(slot) = kNone;
  --stats_.connections;
  Conn& k = conn(c);
  const int32_t target = k.target;
  switch (k.state) {
    case ConnState::closing:
    case ConnState::free:
      free_conn(c);
      return;
    case ConnState::idle: {
      // The server closed an idle connection (its keep-alive timeout).
      Target& t = targets_[size_t(target)];
      t.idle.erase(std::find(t.idle.begin(), t.idle.end(), c));
      --stats_.idle;
      free_conn(c);
      return;
    }
    case ConnState::connecting:  // the reactor does not close a connecting slot on its own
    case ConnState::busy:
      break;
  }
  const uint32_t req = k.req;
  Request& q = *requests_[req];
  if (k.parser.finish() == http::ResponseParser::Result::complete) {
    answer(req, k.parser);  // a body that ran until the close
    free_conn(c);
    leave_target(r, target);
    return;
  }
  const bool nothing_read = !k.parser.started();
  const bool retry = nothing_read && k.reused && !q.retried && !stopping_ && !r.stopping();
  free_conn(c);
  if (retry) {
    // Most likely the server closed this keep-alive connection while it was
    // idle, just as the request went out: once more, on a new connection.
    // (The request keeps its place among the target's active ones.)
    q.retried = true;
    ++stats_.retries;
    open_conn(r, req);
    return;
  }
  fail(req, nothing_read ? UpstreamFailure::unavailable : UpstreamFailure::error);
  leave_target(r, target);
}

// --- the loop ---

void UpstreamPool::on_turn(core::Reactor& r) {
  now_ms_ = r.now_ms();
  expire_waiting(now_ms_);
  if (!stopping_ && !r.stopping()) {
    for (Target& t : targets_) {
      if (t.queue_count != 0 && t.active < t.cfg.concurrency) pump(r, t);
    }
  }
  if (!done_.empty()) deliver(r);
}

void UpstreamPool::settle(core::Reactor& r) {
  // Once the stop began, the loop may end before another on_turn: what the
  // stop failed is delivered at once (still never from inside post()).
  if ((stopping_ || r.stopping()) && !done_.empty() && !delivering_now_) deliver(r);
}

void UpstreamPool::deliver(core::Reactor& r) {
  // The sink may post() from inside: those land in done_, delivered next turn.
  delivering_now_ = true;
  delivering_.swap(done_);
  for (const uint32_t id : delivering_) {
    Request& q = *requests_[id];
    --stats_.in_flight;
    if (q.outcome == Outcome::answer) {
      sink_.on_upstream_answer(r, q.token, q.status, q.content_type, q.body);
    } else {
      ++stats_.failures;
      sink_.on_upstream_failure(r, q.token, q.why);
    }
    free_request(id);
  }
  delivering_.clear();
  delivering_now_ = false;
}

uint64_t UpstreamPool::before_sleep(uint64_t wait_ms) {
  if (!done_.empty()) return 0;
  for (const Target& t : targets_) {
    if (t.queue_count == 0) continue;
    const uint64_t deadline = requests_[t.queue[t.queue_head]]->deadline_ms;
    if (deadline <= now_ms_) return 0;
    wait_ms = std::min(wait_ms, deadline - now_ms_);
  }
  return wait_ms;
}

void UpstreamPool::on_stop(core::Reactor& r) {
  stopping_ = true;
  for (Target& t : targets_) {
    while (t.queue_count != 0) {
      const uint32_t req = t.queue[t.queue_head];
      t.queue_head = (t.queue_head + 1) % uint32_t(t.queue.size());
      --t.queue_count;
      --stats_.waiting;
      fail(req, UpstreamFailure::unavailable);
    }
    // close_conn -> on_close erases from t.idle: take the list first.
    std::vector<uint32_t> idle;
    idle.swap(t.idle);
    stats_.idle -= idle.size();
    for (const uint32_t c : idle) close_conn(r, c, false);
  }
  settle(r);
}

}  // namespace ringcast::protocol
