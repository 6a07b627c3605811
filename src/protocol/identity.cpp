// Identity features of the gateway: tenant-qualified channels, inboxes for
// direct messages, presence (replicated on every worker, events decided by
// each topic's home reactor) and token refresh.
#include <algorithm>

#include "core/clock.hpp"
#include "protocol/gateway.hpp"
#include "protocol/json_out.hpp"

namespace ringcast::protocol {

namespace {

// "tenant|channel" -> ("tenant", "channel"); a topic without '|' has no tenant.
void split_topic(std::string_view topic, std::string_view* tenant, std::string_view* name) {
  const size_t bar = topic.find('|');
  if (bar == std::string_view::npos) {
    *tenant = {};
    *name = topic;
  } else {
    *tenant = topic.substr(0, bar);
    *name = topic.substr(bar + 1);
  }
}

bool is_channel_topic(std::string_view topic) {
  std::string_view tenant, name;
  split_topic(topic, &tenant, &name);
  return !name.empty() && name[0] != '>' && name[0] != '|';
}

}  // namespace

const std::string& Gateway::topic_for(uint32_t slot, std::string_view name, TopicKind kind) {
  make_topic(topic_buf_, tenant_of(slot), kind, name);
  return topic_buf_;
}

bool Gateway::join_channel(core::Reactor& r, uint32_t slot, std::string_view channel, uint64_t* wait) {
  const std::string& topic = topic_for(slot, channel);
  const bool had = broker_.subscribed(slot, topic);
  if (!broker_.subscribe(slot, topic, wait)) return false;
  if (!had) {
    if (const auth::Identity* id = identity_of(slot)) presence_change(r, topic_for(slot, channel), *id, +1);
  }
  return true;
}

void Gateway::leave_channel(core::Reactor& r, uint32_t slot, std::string_view channel) {
  const std::string& topic = topic_for(slot, channel);
  if (!broker_.subscribed(slot, topic)) return;
  broker_.unsubscribe(slot, topic);
  if (const auth::Identity* id = identity_of(slot)) presence_change(r, topic_for(slot, channel), *id, -1);
}

bool Gateway::in_channel(uint32_t slot, std::string_view channel) { return broker_.subscribed(slot, topic_for(slot, channel)); }

size_t Gateway::channel_count(uint32_t slot) const {
  size_t n = 0;
  broker_.for_each_subscription(slot, [&](std::string_view topic) { n += is_channel_topic(topic) ? 1 : 0; });
  return n;
}

bool Gateway::subscribe_identity(core::Reactor&, uint32_t slot, uint64_t* wait) {
  const ConnMeta& m = *sessions_[slot].meta;
  const auth::Identity& id = m.identity;
  uint64_t seq = 0;
  // Inboxes: a direct message to the user or agent reaches every connection
  // of it on any reactor, through the same topic machinery as channels.
  auto add = [&](std::string_view name, TopicKind kind) {
    if (!broker_.subscribe(slot, topic_for(slot, name, kind), &seq)) return false;
    *wait = std::max(*wait, seq);
    return true;
  };
  if (!id.user_id.empty() && !add(id.user_id, TopicKind::user)) return false;
  if (!id.agent_id.empty() && !add(id.agent_id, TopicKind::agent)) return false;
  if (m.presence_events && !m.room.empty()) {
    const TopicKind feed = TopicKind::presence_flat;  // only the channel profile asks at upgrade
    if (!add(m.room, feed)) return false;
  }
  return true;
}

void Gateway::enter_identity(core::Reactor& r, uint32_t slot) {
  const auth::Identity& id = sessions_[slot].meta->identity;
  if (!id.agent_id.empty()) presence_change(r, topic_for(slot, id.agent_id, TopicKind::agent), id, +1);
}

void Gateway::leave_identity(core::Reactor& r, uint32_t slot) {
  const auth::Identity& id = sessions_[slot].meta->identity;
  // The agent's own count first, then its channels: the channel's home then
  // sees the agent at zero when it decides the leave, and says "offline".
  // A local list: a presence event published below may close another
  // connection, whose own leave_identity runs inside this one.
  std::vector<std::string> topics;
  broker_.for_each_subscription(slot, [&](std::string_view topic) {
    if (is_channel_topic(topic)) topics.emplace_back(topic);
  });
  if (!id.agent_id.empty()) presence_change(r, topic_for(slot, id.agent_id, TopicKind::agent), id, -1);
  for (const std::string& t : topics) presence_change(r, t, id, -1);
}

void Gateway::presence_change(core::Reactor& r, std::string_view topic, const auth::Identity& id, int32_t change) {
  apply_presence(r, topic, id.user_id, id.agent_id, change);
  if (workers_ <= 1) return;
  pubsub::PresenceDelta* d =
      pubsub::PresenceDelta::make(topic, id.user_id, id.agent_id, change, broker_.self(), workers_ - 1);
  if (!d) return;  // out of memory: the replicas miss this change
  for (uint32_t w = 0; w < workers_; ++w)
    if (w != broker_.self()) broker_.send(w, core::MeshMessage{kPresenceDelta, uint16_t(broker_.self()), 0, 0, d});
}

void Gateway::apply_presence(core::Reactor& r, std::string_view topic, std::string_view user, std::string_view agent,
                             int32_t change) {
  const pubsub::PresenceEvent e = presence_.apply(topic, user, agent, change);
  if (e == pubsub::PresenceEvent::none || pubsub::home_of(topic, workers_) != broker_.self()) return;
  if (!is_channel_topic(topic)) return;
  presence_event(r, topic, user, agent, e == pubsub::PresenceEvent::join);
}

void Gateway::presence_event(core::Reactor& r, std::string_view topic, std::string_view user, std::string_view agent,
                             bool join) {
  std::string_view tenant, channel;
  split_topic(topic, &tenant, &channel);
  std::string agent_topic;
  make_topic(agent_topic, tenant, TopicKind::agent, agent);
  const bool online = join || (!agent.empty() && presence_.connections(agent_topic, user, agent) > 0);
  const std::string_view status = online ? "online" : "offline";
  const uint64_t now = core::wall_ms();
  // Two shapes, two feeds: the envelope profile's and the channel profile's.
  std::string feed;
  make_topic(feed, tenant, TopicKind::presence, channel);
  if (broker_.has_audience(feed)) {
    presence_buf_.clear();
    JsonOut j(presence_buf_);
    j.raw(R"({"type":)").str(join ? "presence_join" : "presence_leave").raw(R"(,"data":{"channel":)").str(channel);
    j.raw(R"(,"user_id":)").str(user).raw(R"(,"agent_id":)").str(agent).raw(R"(,"status":)").str(status);
    j.raw(R"(},"channel":)").str(channel).raw(R"(,"timestamp":)").timestamp(now).raw("}");
    publish_payload(r, feed, presence_buf_, pubsub::kNobody);
  }
  make_topic(feed, tenant, TopicKind::presence_flat, channel);
  if (broker_.has_audience(feed)) {
    presence_buf_.clear();
    JsonOut j(presence_buf_);
    j.raw(R"({"type":"presence","event":)").str(join ? "join" : "leave").raw(R"(,"user_id":)").str(user);
    j.raw(R"(,"agent_id":)").str(agent).raw(R"(,"status":)").str(status).raw(R"(,"channel_id":)").str(channel);
    j.raw(R"(,"timestamp":)").timestamp(now).raw("}");
    publish_payload(r, feed, presence_buf_, pubsub::kNobody);
  }
}

void Gateway::presence_members(std::string_view topic, std::string& out) const {
  JsonOut j(out);
  j.raw("[");
  bool first = true;
  presence_.for_each_member(topic, [&](const pubsub::PresenceTable::Member& m) {
    if (!first) j.raw(",");
    first = false;
    j.raw(R"({"user_id":)").str(m.user).raw(R"(,"agent_id":)").str(m.agent);
    j.raw(R"(,"connections":)").number(m.connections).raw("}");
  });
  j.raw("]");
}

bool Gateway::follow_presence(core::Reactor&, uint32_t slot, std::string_view channel, bool on) {
  const TopicKind kind =
      endpoint_of(slot).config.protocol == Protocol::channel ? TopicKind::presence_flat : TopicKind::presence;
  const std::string& feed = topic_for(slot, channel, kind);
  if (!on) {
    broker_.unsubscribe(slot, feed);
    return true;
  }
  uint64_t ignored = 0;
  return broker_.subscribe(slot, feed, &ignored);
}

bool Gateway::refresh(core::Reactor& r, uint32_t slot, std::string_view token, int64_t* expires_at,
                      ErrorCode* refused) {
  ConnMeta* meta = sessions_[slot].meta;
  const std::shared_ptr<const AuthKeys> keys = auth_ ? auth_->get() : nullptr;
  if (!meta || !meta->authenticated || !keys || !keys->verifier) {
    *refused = ErrorCode::unauthorized;
    return false;
  }
  auth::Identity fresh;
  const uint64_t wall = core::wall_ms();
  if (token.size() > keys->config.max_token_bytes ||
      keys->verifier->verify(token, int64_t(wall / 1000), &fresh) != auth::AuthError::none) {
    *refused = ErrorCode::unauthorized;
    return false;
  }
  const auth::Identity& id = meta->identity;
  if (fresh.user_id != id.user_id || fresh.tenant_id != id.tenant_id || fresh.agent_id != id.agent_id) {
    *refused = ErrorCode::forbidden;
    return false;
  }
  meta->identity.exp = fresh.exp;
  meta->identity.channels = std::move(fresh.channels);
  meta->identity.any_channel = fresh.any_channel;
  meta->expires_ms = token_deadline_ms(fresh.exp, keys->config.leeway_s, r.now_ms(), wall);
  *expires_at = fresh.exp;
  schedule_ping(r, slot);
  // Channels the new token no longer allows are left (the room included).
  std::vector<std::string> gone;  // (local: see leave_identity)
  const std::string_view tenant = id.tenant_id;
  broker_.for_each_subscription(slot, [&](std::string_view topic) {
    const std::string_view ch = topic_channel(topic, tenant);
    if (!ch.empty() && !auth::channel_allowed(meta->identity, ch)) gone.emplace_back(ch);
  });
  for (const std::string& ch : gone) {
    leave_channel(r, slot, ch);
    if (ch == meta->room) meta->room.clear();
  }
  return true;
}

void Gateway::on_mesh(core::Reactor& r, const core::MeshMessage& m) {
  switch (m.kind) {
    case kPresenceDelta: {
      auto* d = static_cast<pubsub::PresenceDelta*>(m.ptr);
      apply_presence(r, d->topic(), d->user(), d->agent(), d->change);
      d->release();
      break;
    }
    case kControlCall:
      answer_call(r, *static_cast<ControlCall*>(m.ptr));
      broker_.send(m.from, core::MeshMessage{kControlAnswer, uint16_t(broker_.self()), 0, 0, m.ptr});
      break;
    default:
      break;
  }
}

}  // namespace ringcast::protocol
