// The workers' side of the server API (control.hpp): each call is answered
// on the reactor that owns what it asks about, with that reactor's own data.
#include <algorithm>

#include "core/clock.hpp"
#include "protocol/conn_info.hpp"
#include "protocol/gateway.hpp"
#include "protocol/json_out.hpp"

namespace ringcast::protocol {


void Gateway::answer_call(core::Reactor& r, ControlCall& call) {
  uint32_t slot = 0;
  const bool needs_conn = call.op == ControlOp::send || call.op == ControlOp::close || call.op == ControlOp::info;
  if (needs_conn && (!r.owns(call.conn, &slot) || sessions_[slot].phase != Phase::open)) {
    call.status = 410;
    return;
  }
  call.status = 200;
  call.body.clear();
  switch (call.op) {
    case ControlOp::send:
      if (!send_text(r, slot, call.text)) call.status = 410;
      break;
    case ControlOp::close:
      fail(r, slot, CloseCode(call.close_code), call.text);  // (trimmed to fit, at a character boundary)
      call.status = 204;
      break;
    case ControlOp::info: {
      const Session& s = sessions_[slot];
      const ConnMeta* m = s.meta;
      char ip[INET6_ADDRSTRLEN] = "";
      format_peer_ip(r.peer(slot), ip, sizeof(ip));
      JsonOut j(call.body);
      char hex[16];
      format_conn_id(call.conn, hex);
      j.raw(R"({"connection_id":)").str(std::string_view(hex, 16)).raw(R"(,"endpoint":)").str(endpoint_of(slot).config.path);
      // last_active_at on the wall clock, from the reactor clock's distance.
      const uint64_t wall = core::wall_ms();
      const uint64_t idle = r.now_ms() - std::min(r.now_ms(), s.last_rx_ms);
      const uint64_t connected = m ? m->connected_at_ms : wall;
      // The reactor clock is coarse (a few ms): never before the connection began.
      j.raw(R"(,"connected_at":)").timestamp(connected);
      j.raw(R"(,"last_active_at":)").timestamp(std::max(connected, wall - std::min(wall, idle)));
      j.raw(R"(,"ip":)").str(ip).raw(R"(,"user_agent":)");
      if (m) j.str(m->user_agent);
      else j.raw("null");
      j.raw(R"(,"identity":)");
      write_identity(j, identity_of(slot));
      j.raw(R"(,"channels":[)");
      bool first = true;
      const std::string_view tenant = tenant_of(slot);
      broker_.for_each_subscription(slot, [&](std::string_view topic) {
        const std::string_view ch = topic_channel(topic, tenant);
        if (ch.empty()) return;
        if (!first) j.raw(",");
        first = false;
        j.str(ch);
      });
      j.raw("]}");
      break;
    }
    case ControlOp::disconnect_user: {
      uint64_t closed = 0;
      r.for_each_open([&](uint32_t s) {
        const auth::Identity* id = identity_of(s);
        if (!id || id->user_id != call.name || id->tenant_id != call.tenant || sessions_[s].phase != Phase::open) return;
        fail(r, s, CloseCode(call.close_code), call.text.empty() ? "disconnected by the server" : call.text);
        ++closed;
      });
      call.body = std::to_string(closed);
      break;
    }
    case ControlOp::channels: {
      JsonOut j(call.body);
      j.raw("[");
      bool first = true;
      broker_.table().for_each([&](const pubsub::Topic& t) {
        if (t.local.empty()) return;
        const std::string_view ch = topic_channel(t.name, call.tenant);
        if (ch.empty() || !ch.starts_with(call.name)) return;
        if (!first) j.raw(",");
        first = false;
        j.raw(R"({"channel":)").str(ch).raw(R"(,"subscribers":)").number(t.local.size()).raw("}");
      });
      j.raw("]");
      break;
    }
    case ControlOp::presence: {
      std::string topic;
      make_topic(topic, call.tenant, TopicKind::channel, call.name);
      JsonOut(call.body).raw(R"({"channel":)").str(call.name).raw(R"(,"members":)");
      presence_members(topic, call.body);
      call.body += "}";
      break;
    }
    case ControlOp::stats:
      call.stats = stats_;
      call.stats.output_bytes_queued = 0;
      r.for_each_open([&](uint32_t s) { call.stats.output_bytes_queued += r.out_bytes(s); });
      call.stats.mesh_spilled = broker_.spilled();
      break;
  }
}

}  // namespace ringcast::protocol
