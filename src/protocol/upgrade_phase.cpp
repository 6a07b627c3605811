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
  char response[ws::kUpgradeResponseMax];
  const size_t n = ws::write_upgrade_response(response, sizeof(response), hs);
  write_raw(r, slot, std::string_view(response, n));

  s.phase = Phase::open;
  s.endpoint = uint16_t(index);
  s.last_rx_ms = r.now_ms();
  r.set_output_limit(slot, uint32_t(std::min<uint64_t>(ep.config.max_output_bytes, UINT32_MAX)));
  schedule_ping(r, slot);
  profile_open(*this, r, slot, ep.config.protocol);
  return true;
}

}  // namespace ringcast::protocol
