// The HTTP phase of a connection: request heads, read until one upgrades to
// WebSocket. Heads are parsed in place when a whole one sits in one receive
// buffer; only a head that straddles buffers is copied (and only up to the
// configured limit, past which the answer is 431).
#include <algorithm>
#include <cstring>
#include <utility>

#include "http/request_head.hpp"
#include "http/response.hpp"
#include "protocol/gateway.hpp"
#include "protocol/profiles.hpp"
#include "ws/handshake.hpp"

namespace ringcast::protocol {

namespace {

void write_raw(core::Reactor& r, uint32_t slot, std::string_view bytes) {
  uint8_t* p = r.out_reserve(slot, bytes.size());
  if (!p) return;
  std::memcpy(p, bytes.data(), bytes.size());
  r.out_commit(slot, bytes.size());
}

constexpr std::string_view kHealthPath = "/healthz";

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

enum class QueryValue { absent, ok, bad };

// The value of `name` in an application/x-www-form-urlencoded query,
// percent-decoded into out (at most cap bytes). The first occurrence wins.
QueryValue query_param(std::string_view query, std::string_view name, char* out, size_t cap, size_t* len) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    const std::string_view raw = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    size_t n = 0;
    for (size_t i = 0; i < raw.size(); ++i) {
      char c = raw[i];
      if (c == '%') {
        if (i + 2 >= raw.size()) return QueryValue::bad;
        const int hi = hex_digit(raw[i + 1]), lo = hex_digit(raw[i + 2]);
        if (hi < 0 || lo < 0) return QueryValue::bad;
        c = char(hi * 16 + lo);
        i += 2;
      } else if (c == '+') {
        c = ' ';
      }
      if (n == cap) return QueryValue::bad;
      out[n++] = c;
    }
    *len = n;
    return QueryValue::ok;
  }
  return QueryValue::absent;
}

}  // namespace

void Gateway::reject(core::Reactor& r, uint32_t slot, std::string_view response) {
  write_raw(r, slot, response);
  r.close(slot, true);
}

void Gateway::handle_http(core::Reactor& r, uint32_t slot, std::span<uint8_t> bytes) {
  Session& s = sessions_[slot];
  const size_t limit = server_.max_request_head_bytes;
  bool in_spill = !s.pending.empty();
  if (in_spill && !s.pending.append(bytes.data(), bytes.size())) {
    reject(r, slot, http::error_response(503));
    return;
  }
  std::span<uint8_t> data = in_spill ? std::span<uint8_t>(s.pending.data, s.pending.size) : bytes;
  size_t searched = in_spill ? s.head_searched : 0;
  for (;;) {
    const std::string_view view(reinterpret_cast<const char*>(data.data()), data.size());
    const size_t end = http::find_head_end(view, searched);
    if (end == 0) {
      if (!http::head_prefix_plausible(view, searched)) {
        reject(r, slot, http::error_response(400));
        return;
      }
      if (data.size() > limit) {
        reject(r, slot, http::error_response(431));
        return;
      }
      if (!in_spill && !s.pending.append(data.data(), data.size())) {
        reject(r, slot, http::error_response(503));
        return;
      }
      s.head_searched = uint32_t(data.size());
      return;
    }
    if (end > limit) {
      reject(r, slot, http::error_response(431));
      return;
    }
    if (!answer_head(r, slot, view.substr(0, end))) return;
    s.head_searched = 0;
    if (s.phase == Phase::joining) {
      std::span<uint8_t> rest = data.subspan(end);
      if (in_spill) {
        s.pending.drop_front(end);
      } else if (!rest.empty() && !s.pending.append(rest.data(), rest.size())) {
        r.close(slot, false);
      }
      return;
    }
    if (s.phase == Phase::open) {
      // Frames may follow the upgrade request in the same packet.
      std::span<uint8_t> rest = data.subspan(end);
      if (in_spill) {
        Spill held = std::exchange(s.pending, Spill{});
        if (!rest.empty()) handle_frames(r, slot, rest);
        held.release();
      } else if (!rest.empty()) {
        handle_frames(r, slot, rest);
      }
      return;
    }
    // A keep-alive request was answered; another may follow.
    if (in_spill) {
      s.pending.drop_front(end);
      if (s.pending.empty()) return;
      data = std::span<uint8_t>(s.pending.data, s.pending.size);
    } else {
      data = data.subspan(end);
      if (data.empty()) return;
    }
    searched = 0;
  }
}

bool Gateway::answer_head(core::Reactor& r, uint32_t slot, std::string_view head) {
  Session& s = sessions_[slot];
  http::RequestHead req;
  switch (http::parse_request_head(head, req)) {
    case http::HeadError::none:
      break;
    case http::HeadError::too_many_headers:
      reject(r, slot, http::error_response(431));
      return false;
    case http::HeadError::malformed:
      reject(r, slot, http::error_response(400));
      return false;
  }
  if (req.path == kHealthPath) {
    const bool head_only = req.method == "HEAD";
    if (req.method != "GET" && !head_only) {
      reject(r, slot, http::error_response(405));
      return false;
    }
    if (req.has_body) {
      reject(r, slot, http::error_response(400));
      return false;
    }
    write_raw(r, slot, http::health_response(req.keep_alive, head_only));
    if (!req.keep_alive) {
      r.close(slot, true);
      return false;
    }
    r.set_timer(slot, r.now_ms() + server_.handshake_timeout_ms);
    return true;
  }
  const int index = endpoints_->find(req.path);
  if (index == EndpointTable::kNotFound) {
    reject(r, slot, http::error_response(404));
    return false;
  }
  const Endpoint& ep = (*endpoints_)[size_t(index)];
  const ws::HandshakeResult hs = ws::validate_upgrade(req, ep.config.subprotocols);
  if (hs.status != 101) {
    reject(r, slot, ws::rejection_response(hs));
    return false;
  }
  // The channel profile joins the room named in the query before the 101.
  char channel[kMaxChannelBytes];
  size_t channel_len = 0;
  bool join = false;
  if (ep.config.protocol == Protocol::channel) {
    switch (query_param(req.query, ep.config.channel_param, channel, sizeof(channel), &channel_len)) {
      case QueryValue::absent:
        break;
      case QueryValue::bad:
        reject(r, slot, http::error_response(400));
        return false;
      case QueryValue::ok:
        if (!valid_channel(std::string_view(channel, channel_len))) {
          reject(r, slot, http::error_response(400));
          return false;
        }
        join = true;
        break;
    }
  }
  char response[ws::kUpgradeResponseMax];
  const size_t n = ws::write_upgrade_response(response, sizeof(response), hs);
  s.endpoint = uint16_t(index);
  if (join) {
    uint64_t wait = 0;
    if (!broker_.subscribe(slot, std::string_view(channel, channel_len), &wait)) {
      reject(r, slot, http::error_response(503));
      return false;
    }
    if (wait != 0) {
      // Told "open" only once every reactor routes the room to it.
      s.phase = Phase::joining;
      deferred_.push_back(Deferred{r.conn_id(slot), wait, std::string(response, n), true});
      return true;
    }
  }
  open_session(r, slot, std::string_view(response, n), false);
  return true;
}

void Gateway::open_session(core::Reactor& r, uint32_t slot, std::string_view response, bool joined) {
  Session& s = sessions_[slot];
  const Endpoint& ep = (*endpoints_)[s.endpoint];
  write_raw(r, slot, response);
  s.phase = Phase::open;
  s.last_rx_ms = r.now_ms();
  r.set_output_limit(slot, uint32_t(std::min<uint64_t>(ep.config.max_output_bytes, UINT32_MAX)));
  schedule_ping(r, slot);
  profile_open(*this, r, slot, ep.config.protocol);
  if (joined && !s.pending.empty() && s.phase == Phase::open) {
    // Frames that arrived while joining.
    Spill early = std::exchange(s.pending, Spill{});
    handle_frames(r, slot, std::span<uint8_t>(early.data, early.size));
    early.release();
  }
}

}  // namespace ringcast::protocol
