// EndpointTable::find: exact paths, and templates whose {tenant_id},
// {agent_id} and {channel_id} segments each take one non-empty segment of
// the request path. Exact paths win over templates.
#include "protocol/endpoints.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace ringcast::protocol {
namespace {

constexpr int kNone = EndpointTable::kNotFound;

EndpointConfig endpoint(std::string path, Protocol protocol = Protocol::channel) {
  EndpointConfig e;
  e.path = std::move(path);
  e.protocol = protocol;
  e.auth = AuthMode::jwt;
  return e;
}

// True if `part` is a view into `whole` (not a copy).
bool points_into(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

constexpr std::string_view kSeed003 = "/v1/ws/tenant/{tenant_id}/agent/{agent_id}/channel/{channel_id}";

TEST(EndpointTable, TemplatedFlagAndRouteKey) {
  const EndpointTable t({endpoint("/v1/ws"), endpoint(std::string(kSeed003)), endpoint("/bot", Protocol::action),
                         endpoint("/env", Protocol::envelope)});
  ASSERT_EQ(t.size(), 4u);
  EXPECT_FALSE(t[0].templated);
  EXPECT_TRUE(t[1].templated);
  EXPECT_FALSE(t[2].templated);
  EXPECT_EQ(t[1].route_key, "type");
  EXPECT_EQ(t[2].route_key, "action");
  EXPECT_EQ(t[3].route_key, "type");
  EXPECT_EQ(t[1].config.path, kSeed003) << "the template is kept as configured";
}

TEST(EndpointTable, TemplateExtractsEveryParameter) {
  const EndpointTable t({endpoint("/v1/ws"), endpoint(std::string(kSeed003))});
  const std::string path = "/v1/ws/tenant/acme/agent/bot-7/channel/room.1";
  PathParams p;
  ASSERT_EQ(t.find(path, &p), 1);
  EXPECT_EQ(p.tenant, "acme");
  EXPECT_EQ(p.agent, "bot-7");
  EXPECT_EQ(p.channel, "room.1");
  // Views into the request path, not copies.
  EXPECT_TRUE(points_into(p.tenant, path));
  EXPECT_TRUE(points_into(p.agent, path));
  EXPECT_TRUE(points_into(p.channel, path));
  // Without a PathParams it still matches.
  EXPECT_EQ(t.find(path), 1);
}

TEST(EndpointTable, ParameterValuesAreRawSegments) {
  // Whatever one segment holds, undecoded; checking it is the caller's job.
  const EndpointTable t({endpoint("/rooms/{channel_id}")});
  for (const char* value : {"a", "a%2Fb", "x:y@z", "..", ".", "A-Z_0.9", "%20", "tenant|x", "{channel_id}"}) {
    const std::string path = "/rooms/" + std::string(value);  // the params view into it
    PathParams p;
    ASSERT_EQ(t.find(path, &p), 0) << value;
    EXPECT_EQ(p.channel, value);
    EXPECT_TRUE(p.tenant.empty()) << value;
    EXPECT_TRUE(p.agent.empty()) << value;
  }
  PathParams p;
  const std::string long_value(4000, 'x');
  const std::string long_path = "/rooms/" + long_value;
  ASSERT_EQ(t.find(long_path, &p), 0);
  EXPECT_EQ(p.channel.size(), long_value.size());
}

TEST(EndpointTable, ParametersInAnyOrderAndPosition) {
  const EndpointTable t({endpoint("/{channel_id}"), endpoint("/a/{agent_id}/t/{tenant_id}"),
                         endpoint("/{tenant_id}/x/{channel_id}/y")});
  PathParams p;
  ASSERT_EQ(t.find("/lobby", &p), 0);
  EXPECT_EQ(p.channel, "lobby");
  p = {};
  ASSERT_EQ(t.find("/a/bot/t/acme", &p), 1);
  EXPECT_EQ(p.agent, "bot");
  EXPECT_EQ(p.tenant, "acme");
  EXPECT_TRUE(p.channel.empty()) << "a parameter the template lacks stays empty";
  p = {};
  ASSERT_EQ(t.find("/acme/x/room/y", &p), 2);
  EXPECT_EQ(p.tenant, "acme");
  EXPECT_EQ(p.channel, "room");
  EXPECT_TRUE(p.agent.empty());
}

TEST(EndpointTable, ExactPathsWinOverTemplates) {
  // The exact path is listed after the template that would also match it.
  const EndpointTable t({endpoint("/rooms/{channel_id}"), endpoint("/rooms/lobby"), endpoint("/{channel_id}"),
                         endpoint("/rooms")});
  PathParams p;
  EXPECT_EQ(t.find("/rooms/lobby", &p), 1);
  EXPECT_TRUE(p.tenant.empty() && p.agent.empty() && p.channel.empty()) << "no parameters from an exact path";
  EXPECT_EQ(t.find("/rooms", &p), 3) << "not /{channel_id} with channel \"rooms\"";
  EXPECT_TRUE(p.channel.empty());
  ASSERT_EQ(t.find("/rooms/kitchen", &p), 0);
  EXPECT_EQ(p.channel, "kitchen");
  ASSERT_EQ(t.find("/hall", &p), 2);
  EXPECT_EQ(p.channel, "hall");
}

TEST(EndpointTable, FirstMatchingTemplateInOrder) {
  const EndpointTable t({endpoint("/x/{tenant_id}"), endpoint("/x/{channel_id}")});
  PathParams p;
  ASSERT_EQ(t.find("/x/a", &p), 0);
  EXPECT_EQ(p.tenant, "a");
  EXPECT_TRUE(p.channel.empty());
}

TEST(EndpointTable, AFailedTemplateLeavesNoParameters) {
  // The first template matches its first parameter, then fails; the second
  // matches. Nothing of the first attempt shows.
  const EndpointTable t({endpoint("/a/{tenant_id}/x"), endpoint("/a/{channel_id}/y")});
  PathParams p;
  ASSERT_EQ(t.find("/a/t1/y", &p), 1);
  EXPECT_EQ(p.channel, "t1");
  EXPECT_TRUE(p.tenant.empty()) << "left over from the failed template";
  // No match: the caller's PathParams is left as it was.
  PathParams q;
  q.tenant = "keep";
  EXPECT_EQ(t.find("/a/t1/z", &q), kNone);
  EXPECT_EQ(q.tenant, "keep");
  EXPECT_TRUE(q.channel.empty());
}

TEST(EndpointTable, EmptySegmentDoesNotMatch) {
  const EndpointTable t({endpoint(std::string(kSeed003)), endpoint("/rooms/{channel_id}")});
  for (const char* path : {"/v1/ws/tenant//agent/a/channel/c", "/v1/ws/tenant/t/agent//channel/c",
                           "/v1/ws/tenant/t/agent/a/channel/", "/v1/ws/tenant//agent//channel/", "/rooms/",
                           "/rooms//"}) {
    PathParams p;
    EXPECT_EQ(t.find(path, &p), kNone) << path;
  }
}

TEST(EndpointTable, ExtraOrMissingSegmentDoesNotMatch) {
  const EndpointTable t({endpoint(std::string(kSeed003)), endpoint("/rooms/{channel_id}")});
  for (const char* path : {"/v1/ws/tenant/t/agent/a/channel/c/d", "/v1/ws/tenant/t/agent/a/channel/c/extra/more",
                           "/v1/ws/tenant/t/x/agent/a/channel/c", "/v1/ws/tenant/t/agent/a", "/v1/ws/tenant/t",
                           "/v1/ws", "/rooms/a/b", "/rooms", "/x/rooms/a", "//rooms/a"}) {
    EXPECT_EQ(t.find(path), kNone) << path;
  }
}

TEST(EndpointTable, TrailingSlashDoesNotMatch) {
  const EndpointTable t({endpoint(std::string(kSeed003)), endpoint("/rooms/{channel_id}"), endpoint("/t/{tenant_id}/x")});
  EXPECT_EQ(t.find("/v1/ws/tenant/t/agent/a/channel/c/"), kNone);
  EXPECT_EQ(t.find("/rooms/a/"), kNone);
  EXPECT_EQ(t.find("/t/acme/x/"), kNone);
  // Without the slash they do.
  EXPECT_EQ(t.find("/v1/ws/tenant/t/agent/a/channel/c"), 0);
  EXPECT_EQ(t.find("/rooms/a"), 1);
  EXPECT_EQ(t.find("/t/acme/x"), 2);
}

TEST(EndpointTable, LiteralPartsMatchExactly) {
  const EndpointTable t({endpoint(std::string(kSeed003)), endpoint("/t/{tenant_id}/room")});
  for (const char* path : {"/V1/ws/tenant/t/agent/a/channel/c", "/v1/ws/Tenant/t/agent/a/channel/c",
                           "/v1/ws/tenant/t/agents/a/channel/c", "/v1/ws/tenant/t/agent/a/chan/c", "/v2/ws/tenant/t/agent/a/channel/c",
                           "v1/ws/tenant/t/agent/a/channel/c", "/t/acme/rooms", "/t/acme/roo", "/t/acme/", "/t/acme",
                           "", "/"}) {
    EXPECT_EQ(t.find(path), kNone) << '"' << path << '"';
  }
  PathParams p;
  ASSERT_EQ(t.find("/t/acme/room", &p), 1);
  EXPECT_EQ(p.tenant, "acme");
}

TEST(EndpointTable, ExactPathsAreNotPrefixes) {
  const EndpointTable t({endpoint("/v1/ws"), endpoint("/echo")});
  EXPECT_EQ(t.find("/v1/ws"), 0);
  EXPECT_EQ(t.find("/echo"), 1);
  for (const char* path : {"/v1/ws/", "/v1/w", "/v1", "/v1/ws/x", "/echo/", "/ECHO", ""})
    EXPECT_EQ(t.find(path), kNone) << path;
  // A path that holds braces but is not configured matches nothing.
  EXPECT_EQ(t.find("/v1/ws/{channel_id}"), kNone);
}

TEST(EndpointTable, EmptyTable) {
  const EndpointTable t(std::vector<EndpointConfig>{});
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.find("/"), kNone);
  EXPECT_EQ(t.find(""), kNone);
}

}  // namespace
}  // namespace ringcast::protocol
