// Topic names: how channels, inboxes and presence feeds of different tenants
// share one topic table without ever meeting. A client names a channel with
// the characters valid_channel allows, which exclude '|' and '>', so
//   "<tenant>|<channel>"      a tenant's channel ("<channel>" without a tenant)
//   "<tenant>|>a:<agent>"     every connection of an agent (direct messages)
//   "<tenant>|>u:<user>"      every connection of a user
//   "<tenant>|>p:<channel>"   join/leave events of a channel's presence (envelope shape)
//   "<tenant>|>q:<channel>"   the same events in the channel profile's flat shape
// can never be produced from a client's channel name in another tenant.
#pragma once

#include <string>
#include <string_view>

namespace ringcast::protocol {

enum class TopicKind : char { channel = 0, agent = 'a', user = 'u', presence = 'p', presence_flat = 'q' };

// Writes the topic for (tenant, kind, name) into out (replacing it).
inline void make_topic(std::string& out, std::string_view tenant, TopicKind kind, std::string_view name) {
  out.clear();
  if (!tenant.empty()) {
    out.append(tenant);
    out.push_back('|');
  }
  if (kind != TopicKind::channel) {
    if (tenant.empty()) out.push_back('|');
    out.push_back('>');
    out.push_back(char(kind));
    out.push_back(':');
  }
  out.append(name);
}

// The channel part of a channel topic of `tenant` ("" if topic is another
// tenant's or not a channel).
inline std::string_view topic_channel(std::string_view topic, std::string_view tenant) {
  if (tenant.empty()) return topic.find('|') == std::string_view::npos ? topic : std::string_view();
  if (topic.size() <= tenant.size() + 1 || topic.substr(0, tenant.size()) != tenant || topic[tenant.size()] != '|')
    return {};
  std::string_view rest = topic.substr(tenant.size() + 1);
  return rest.empty() || rest[0] == '>' ? std::string_view() : rest;
}

}  // namespace ringcast::protocol
