#include "protocol/profiles.hpp"

#include <cstring>
#include <string_view>

#include "core/clock.hpp"
#include "protocol/conn_info.hpp"
#include "protocol/gateway.hpp"
#include "protocol/json_escape.hpp"
#include "protocol/json_out.hpp"
#include "protocol/timestamp.hpp"

namespace ringcast::protocol {

namespace {

uint8_t* put(uint8_t* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

// Seed 001 (a FastAPI echo): the greeting and the echo envelope.
constexpr std::string_view kConnected =
    R"({"type":"connection","message":"Connected to WebSocket server","timestamp":")";
constexpr std::string_view kEchoHead = R"({"type":"echo","message":"Server received: )";
constexpr std::string_view kEchoOriginal = R"(","original_message":")";
constexpr std::string_view kEchoTimestamp = R"(","timestamp":")";
constexpr std::string_view kEnd = R"("})";

void json_echo_open(Gateway& g, core::Reactor& r, uint32_t slot) {
  const size_t len = kConnected.size() + kTimestampLength + kEnd.size();
  size_t total = 0;
  uint8_t* p = g.begin_frame(r, slot, ws::Opcode::text, len, &total);
  if (!p) return;
  p = put(p, kConnected);
  format_timestamp(core::wall_ms(), reinterpret_cast<char*>(p));
  p += kTimestampLength;
  put(p, kEnd);
  r.out_commit(slot, total);
}

void json_echo_message(Gateway& g, core::Reactor& r, uint32_t slot, ws::Opcode op, std::span<const uint8_t> m) {
  if (op != ws::Opcode::text) {
    g.fail(r, slot, CloseCode::unsupported_data, "only text messages are accepted here");
    return;
  }
  // Sized first, so the frame header goes before the payload with no copy.
  const size_t escaped = json_escaped_size(m.data(), m.size());
  const size_t len = kEchoHead.size() + escaped + kEchoOriginal.size() + escaped + kEchoTimestamp.size() +
                     kTimestampLength + kEnd.size();
  size_t total = 0;
  uint8_t* p = g.begin_frame(r, slot, ws::Opcode::text, len, &total);
  if (!p) {
    g.fail(r, slot, CloseCode::internal_error, "out of memory");
    return;
  }
  p = put(p, kEchoHead);
  p = json_escape(p, m.data(), m.size());
  p = put(p, kEchoOriginal);
  p = json_escape(p, m.data(), m.size());
  p = put(p, kEchoTimestamp);
  format_timestamp(core::wall_ms(), reinterpret_cast<char*>(p));
  p += kTimestampLength;
  put(p, kEnd);
  r.out_commit(slot, total);
}

// Seed 002's greeting: the connection id as the session id.
void envelope_open(Gateway& g, core::Reactor& r, uint32_t slot) {
  char id[16];
  format_conn_id(r.conn_id(slot), id);
  std::string& fields = g.scratch(1);
  fields.assign(R"({"session_id":")");
  fields.append(id, 16);
  fields.append(R"(","user_id":)");
  const auth::Identity* who = g.identity_of(slot);
  JsonOut(fields).str(who ? std::string_view(who->user_id) : std::string_view("anonymous")).raw("}");
  g.send_reply(r, slot, nullptr, "connected", fields);
}

}  // namespace

void profile_open(Gateway& g, core::Reactor& r, uint32_t slot, Protocol protocol) {
  switch (protocol) {
    case Protocol::echo:
    case Protocol::channel:
    case Protocol::action:
      break;
    case Protocol::json_echo:
      json_echo_open(g, r, slot);
      break;
    case Protocol::envelope:
      envelope_open(g, r, slot);
      break;
  }
}

void profile_message(Gateway& g, core::Reactor& r, uint32_t slot, Protocol protocol, ws::Opcode op,
                     std::span<const uint8_t> message) {
  switch (protocol) {
    case Protocol::echo:
      g.send_frame(r, slot, op, message);
      break;
    case Protocol::json_echo:
      json_echo_message(g, r, slot, op, message);
      break;
    default:
      break;  // routed profiles go through Gateway::routed_message
  }
}

}  // namespace ringcast::protocol
