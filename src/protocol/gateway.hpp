// The gateway: what a reactor's connections mean. It turns bytes into HTTP
// answers, a WebSocket upgrade, frames and messages, and hands each complete
// message to the endpoint's profile (echo, json-echo, or a routed profile:
// envelope, channel, action). One Gateway per reactor, called only on that
// reactor's thread; it owns the reactor's pub/sub broker.
#pragma once

#include <deque>
#include <unordered_map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <simdjson.h>

#include "core/mesh.hpp"
#include "core/reactor.hpp"
#include "http/request_head.hpp"
#include "protocol/auth_keys.hpp"
#include "protocol/conn_meta.hpp"
#include "protocol/control.hpp"
#include "protocol/endpoints.hpp"
#include "protocol/envelope.hpp"
#include "protocol/error_code.hpp"
#include "protocol/router.hpp"
#include "protocol/session.hpp"
#include "pubsub/broker.hpp"
#include "pubsub/presence.hpp"
#include "protocol/topics.hpp"
#include "protocol/upstream_pool.hpp"
#include "ringcast/close_code.hpp"
#include "ringcast/config.hpp"
#include "ws/opcode.hpp"

namespace ringcast::protocol {

// An upgrade refused: HTTP status and a short reason (0 = not refused).
struct Refusal {
  int status = 0;
  std::string_view reason;
};

class Gateway final : public core::ConnectionHandler,
                      public pubsub::DeliverySink,
                      public pubsub::MeshReceiver,
                      public UpstreamSink {
 public:
  // mesh: null with a single reactor and no API node. workers: the reactors
  // serving clients (mesh members 0..workers-1; a mesh member past them is
  // the API node). auth: the current JWT keys (null: no endpoint uses jwt).
  Gateway(const ServerConfig& server, std::shared_ptr<const EndpointTable> endpoints,
          std::shared_ptr<const HandlerRegistry> handlers, core::Mesh* mesh, uint32_t reactor_index,
          uint32_t workers, std::shared_ptr<const AuthKeysSlot> auth);
  ~Gateway() override;

  void on_open(core::Reactor& r, uint32_t slot) override;
  void on_data(core::Reactor& r, uint32_t slot, std::span<uint8_t> bytes) override;
  void on_timer(core::Reactor& r, uint32_t slot) override;
  void on_close(core::Reactor& r, uint32_t slot) override;
  void on_reject(core::Reactor& r, uint32_t slot) override;
  void on_stop(core::Reactor& r) override;
  void on_turn(core::Reactor& r) override;
  uint64_t before_sleep(core::Reactor& r, uint64_t wait_ms) override;
  void deliver(core::Reactor& r, uint32_t slot, core::OutBuffer* b, uint32_t offset, uint32_t length) override;
  void on_mesh(core::Reactor& r, const core::MeshMessage& m) override;
  void on_connected(core::Reactor& r, uint32_t slot, int res, uint64_t tag) override;
  void on_upstream_answer(core::Reactor& r, uint64_t token, int status, std::string_view content_type,
                          std::string_view body) override;
  void on_upstream_failure(core::Reactor& r, uint64_t token, UpstreamFailure why) override;
  void arrived(uint64_t latency_us) override {
    size_t i = 0;
    while (i < kLatencyBucketsUs.size() && latency_us > kLatencyBucketsUs[i]) ++i;
    ++stats_.delivery_latency[i];
    stats_.delivery_latency_sum_us += latency_us;
  }

  // --- for profiles ---
  // Queues one whole frame with this payload; false if memory ran out (the
  // connection is then closed with 1011).
  bool send_frame(core::Reactor& r, uint32_t slot, ws::Opcode op, std::span<const uint8_t> payload);
  // Reserves room for a frame of payload_len bytes and writes its header;
  // the caller writes exactly payload_len bytes at the returned pointer, then
  // calls r.out_commit(slot, returned_total).
  uint8_t* begin_frame(core::Reactor& r, uint32_t slot, ws::Opcode op, uint64_t payload_len, size_t* total);
  // Sends a close frame and closes gracefully; later input is ignored.
  void fail(core::Reactor& r, uint32_t slot, CloseCode code, std::string_view reason);

  // --- for routed profiles and handlers (routed_phase.cpp, replies.cpp) ---
  // One whole text frame with this payload, after any held reply.
  bool send_text(core::Reactor& r, uint32_t slot, std::string_view payload);
  // Writes a reply's JSON in the endpoint's shape into out (replacing it).
  void compose_reply(std::string& out, uint32_t slot, const Envelope* env, std::string_view type,
                     std::string_view fields_json);
  // A reply in the endpoint's shape (ringcast::Responder::reply).
  void send_reply(core::Reactor& r, uint32_t slot, const Envelope* env, std::string_view type,
                  std::string_view fields_json);
  // An error in the endpoint's shape. details_json: an object text or "".
  // Client faults count towards the abuse limit, which closes with 1008.
  void send_error(core::Reactor& r, uint32_t slot, const Envelope* env, const Route* route, std::string_view code,
                  std::string_view message, std::string_view details_json, bool abuse);
  void send_error(core::Reactor& r, uint32_t slot, const Envelope* env, const Route* route, ErrorCode code,
                  std::string_view message, std::string_view details_json = {});
  // Publishes {"type","data","channel","timestamp"} (the envelope and action
  // shape) to topic (channel's topic in the publisher's tenant: topic_for).
  bool publish_typed(core::Reactor& r, std::string_view topic, std::string_view channel, std::string_view type,
                     std::string_view data_json, uint64_t exclude);
  // Publishes an already composed JSON payload to a topic.
  bool publish_payload(core::Reactor& r, std::string_view topic, std::string_view payload, uint64_t exclude);
  // --- identity (identity.cpp) ---
  // The connection's identity, or null (no token on this endpoint).
  const auth::Identity* identity_of(uint32_t slot) const {
    const ConnMeta* m = sessions_[slot].meta;
    return m && m->authenticated ? &m->identity : nullptr;
  }
  ConnMeta* meta_of(uint32_t slot) { return sessions_[slot].meta; }
  std::string_view tenant_of(uint32_t slot) const {
    const auth::Identity* id = identity_of(slot);
    return id ? std::string_view(id->tenant_id) : std::string_view();
  }
  // The topic of a channel (or an inbox, or a presence feed) in the
  // connection's tenant; valid until the next call.
  const std::string& topic_for(uint32_t slot, std::string_view name, TopicKind kind = TopicKind::channel);
  // True if the token allows the channel (always, without a token).
  bool channel_allowed(uint32_t slot, std::string_view channel) const {
    const auth::Identity* id = identity_of(slot);
    return !id || auth::channel_allowed(*id, channel);
  }
  // Subscribes to a channel of the connection's tenant (presence follows);
  // *wait = the barrier to wait for. False if memory ran out.
  bool join_channel(core::Reactor& r, uint32_t slot, std::string_view channel, uint64_t* wait);
  void leave_channel(core::Reactor& r, uint32_t slot, std::string_view channel);
  bool in_channel(uint32_t slot, std::string_view channel);
  // Channel subscriptions (inboxes and presence feeds not counted).
  size_t channel_count(uint32_t slot) const;
  // The channel profile's room ("" = none).
  std::string_view room_of(uint32_t slot) const {
    const ConnMeta* m = sessions_[slot].meta;
    return m ? std::string_view(m->room) : std::string_view();
  }
  // Presence of a channel in the connection's tenant, as JSON members
  // [{"user_id","agent_id","connections"}] appended to out.
  void presence_members(std::string_view topic, std::string& out) const;
  // Follows (or stops following) a channel's join/leave events.
  bool follow_presence(core::Reactor& r, uint32_t slot, std::string_view channel, bool on);
  // A verified refresh token for the same identity: the connection's
  // expiry moves. False with *refused (UNAUTHORIZED: not a valid token;
  // FORBIDDEN: another identity's) otherwise.
  bool refresh(core::Reactor& r, uint32_t slot, std::string_view token, int64_t* expires_at, ErrorCode* refused);
  // Queues a reply frame payload to go out once barrier `seq` passed.
  void defer_text(core::Reactor& r, uint32_t slot, uint64_t seq, std::string payload);

  pubsub::Broker& broker() { return broker_; }
  const pubsub::PresenceTable& presence() const { return presence_; }
  simdjson::dom::parser& parser() { return parser_; }
  // Scratch for composing JSON; handlers take one, use it, give it back.
  std::string& scratch(int i) { return scratch_[i]; }
  const Endpoint& endpoint_of(uint32_t slot) const { return (*endpoints_)[sessions_[slot].endpoint]; }
  std::string_view route_key_of(uint32_t slot) const { return endpoint_of(slot).route_key; }
  const ServerConfig& server() const { return server_; }
  ReactorStats& stats() { return stats_; }

 private:
  struct FrameSink;

  // HTTP phase: request heads until an upgrade; bytes after a 101 (frames
  // pipelined with the request) go straight on to the frame phase.
  void handle_http(core::Reactor& r, uint32_t slot, std::span<uint8_t> bytes);
  // Answers one complete head; returns false when the connection is done.
  bool answer_head(core::Reactor& r, uint32_t slot, std::string_view head);
  void reject(core::Reactor& r, uint32_t slot, std::string_view response);
  // A canned error answer, counted by status.
  void refuse(core::Reactor& r, uint32_t slot, int status);
  void count_refusal(int status);
  Refusal authenticate(core::Reactor& r, const http::RequestHead& req, const Endpoint& ep, const PathParams& params,
                       ConnMeta* meta, std::string_view* token_protocol);
  // After a successful handshake: asks the $connect hook (if any), then
  // finish_handshake: inboxes, the room (if any), then opens.
  bool begin_session(core::Reactor& r, uint32_t slot, std::string response);
  // held: the 101 was held (frames may be waiting in Session::pending).
  bool finish_handshake(core::Reactor& r, uint32_t slot, std::string response, bool held);

  // Frame phase.
  void handle_frames(core::Reactor& r, uint32_t slot, std::span<uint8_t> bytes);
  // Feeds bytes; keeps any unconsumed tail in the session. Returns false
  // when the connection stopped reading (closed or failed).
  bool feed_frames(core::Reactor& r, uint32_t slot, std::span<uint8_t> bytes, size_t* consumed);
  bool on_message_chunk(core::Reactor& r, uint32_t slot, ws::Opcode op, std::span<const uint8_t> chunk,
                        bool complete);
  bool on_control(core::Reactor& r, uint32_t slot, ws::Opcode op, std::span<const uint8_t> payload);
  void deliver_message(core::Reactor& r, uint32_t slot, ws::Opcode op, std::span<const uint8_t> message);
  void schedule_ping(core::Reactor& r, uint32_t slot);
  // Sets the connection's one timer to at_ms (0 = none) or its token's expiry, whichever is sooner.
  void arm_timer(core::Reactor& r, uint32_t slot, uint64_t at_ms);

  // Upgrade completion: the 101 and the profile's greeting; `joined`: the
  // 101 was held (Phase::joining) and frames may be waiting in `pending`.
  void open_session(core::Reactor& r, uint32_t slot, std::string_view response, bool joined);
  // Routed profiles: a whole message.
  void routed_message(core::Reactor& r, uint32_t slot, ws::Opcode op, std::span<const uint8_t> message);
  bool rate_allows(core::Reactor& r, Session& s, const EndpointConfig& cfg, uint64_t* retry_ms);
  void send_shutdown_notice(core::Reactor& r, uint32_t slot);
  // Identity bookkeeping: inboxes and the presence feed before the 101
  // (*wait: the barrier), presence at open and close.
  bool subscribe_identity(core::Reactor& r, uint32_t slot, uint64_t* wait);
  void enter_identity(core::Reactor& r, uint32_t slot);
  void leave_identity(core::Reactor& r, uint32_t slot);
  // A presence change made here: applied, sent to every other worker.
  void presence_change(core::Reactor& r, std::string_view topic, const auth::Identity& id, int32_t change);
  void apply_presence(core::Reactor& r, std::string_view topic, std::string_view user, std::string_view agent,
                      int32_t change);
  void presence_event(core::Reactor& r, std::string_view topic, std::string_view user, std::string_view agent,
                      bool join);
  // Upstreams (upstream_phase.cpp): a routed message POSTed to its route's
  // upstream; the answer (or error) is held in order with the connection's
  // other replies.
  void forward_upstream(core::Reactor& r, uint32_t slot, const Envelope& env, const Route& route,
                        std::string_view text);
  void post_hook(core::Reactor& r, uint32_t slot, int target, std::string_view event, uint64_t token);
  void upstream_error(std::string& out, uint32_t slot, std::string_view rid_json, std::string_view mid_json,
                      ErrorCode code, std::string_view message, std::string_view details);
  struct Deferred;
  Deferred* find_call(uint64_t token);
  // Server API calls (control.cpp).
  void answer_call(core::Reactor& r, ControlCall& call);
  void release_deferred(core::Reactor& r);
  // A text frame now, even past held replies (releasing them, or closing).
  bool send_text_now(core::Reactor& r, uint32_t slot, std::string_view payload);
  // slow_consumer = "drop": tells a subscriber how many messages it missed.
  void send_drop_notice(core::Reactor& r, uint32_t slot);
  void check_drop_watch(core::Reactor& r);

  // A reply (or a 101) waiting: for an interest barrier (seq), or for an
  // upstream's answer (call != 0 until it came). Per connection, entries
  // leave in order; different connections do not wait for each other.
  struct Deferred {
    Deferred(uint64_t c, uint64_t s, std::string b, bool u) : conn(c), seq(s), bytes(std::move(b)), upgrade(u) {}
    uint64_t conn;
    uint64_t seq;
    std::string bytes;  // a text frame's payload, or the raw 101 response
    bool upgrade;
    uint64_t call = 0;               // upstream token still unanswered
    std::vector<std::string> texts;  // an upstream's answer: the frames to send (bytes unused)
    int refuse = 0;                  // $connect said no: answer this status instead of the 101
    bool hook = false;               // a 101 held for the $connect hook (then finish_handshake)
  };
  // What an upstream call was for (keyed by token).
  struct Call {
    uint64_t conn;
    std::string request_id;  // the request's request_id as JSON ("" = none)
    std::string message_id;  // channel profile: the message's id as JSON ("" = none)
    bool hook;               // $connect/$disconnect: no reply to the client
  };

  const ServerConfig& server_;
  std::shared_ptr<const EndpointTable> endpoints_;
  std::shared_ptr<const HandlerRegistry> handlers_;
  std::vector<Session> sessions_;
  std::vector<std::unique_ptr<Handler>> handler_objects_;
  std::vector<Router> routers_;  // per endpoint
  simdjson::dom::parser parser_;
  std::string scratch_[2];  // handlers'
  std::string compose_;     // replies, errors and published messages being written
  std::deque<Deferred> deferred_;
  std::vector<uint64_t> blocked_;  // release_deferred: connections with an entry still waiting
  bool deferred_dirty_ = false;    // an entry was queued or an upstream answered since the last release
  uint64_t acks_seen_ = 0;         // broker_.acks_received() at the last release
  std::vector<uint64_t> drop_watch_;  // connections owed a MESSAGES_DROPPED notice
  pubsub::Broker broker_;
  pubsub::PresenceTable presence_;
  UpstreamPool upstream_;
  std::vector<int> connect_hook_, disconnect_hook_;  // per endpoint: upstream target, -1 = none
  std::unordered_map<uint64_t, Call> calls_;
  std::string upstream_body_;  // a request being written (not scratch: a close inside a handler may post a hook)
  uint64_t next_call_ = 1;
  std::shared_ptr<const AuthKeysSlot> auth_;
  uint32_t workers_;
  std::string token_buf_;
  std::string topic_buf_;
  std::string presence_buf_;
  ReactorStats stats_;
};

}  // namespace ringcast::protocol
