// Router: add, replace by name, exact find; default_routes and
// default_route_key per profile, checked against docs/PROTOCOLS.md and the
// built-in handler registry.
#include "protocol/router.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace ringcast::protocol {
namespace {

// Distinct non-null Handler* values; never called.
Handler* fake(int n) { return reinterpret_cast<Handler*>(uintptr_t(0x1000 + 0x10 * n)); }

TEST(Router, EmptyFindsNothing) {
  Router r;
  EXPECT_EQ(r.find("ping"), nullptr);
  EXPECT_EQ(r.find(""), nullptr);
}

TEST(Router, AddAndFind) {
  Router r;
  r.add(Route{"subscribe", fake(1), {}});
  r.add(Route{"ping", fake(2), {}});
  r.add(Route{"message", fake(3), {"interview_id", "message"}});
  const Route* s = r.find("subscribe");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->name, "subscribe");
  EXPECT_EQ(s->handler, fake(1));
  const Route* p = r.find("ping");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->handler, fake(2));
  const Route* m = r.find("message");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->required, (std::vector<std::string>{"interview_id", "message"}));
}

TEST(Router, FindIsExact) {
  Router r;
  r.add(Route{"ping", fake(1), {}});
  for (const char* miss : {"Ping", "PING", "pin", "pingg", "ping ", " ping", "", "p"})
    EXPECT_EQ(r.find(miss), nullptr) << '"' << miss << '"';
  EXPECT_EQ(r.find(std::string_view("ping\0", 5)), nullptr);
  // The looked-up view need not be NUL-terminated.
  const char buf[] = "pingpong";
  EXPECT_NE(r.find(std::string_view(buf, 4)), nullptr);
}

TEST(Router, AddReplacesTheSameName) {
  Router r;
  r.add(Route{"ping", fake(1), {}});
  r.add(Route{"echo", fake(2), {}});
  r.add(Route{"ping", fake(3), {"id"}});
  const Route* p = r.find("ping");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->handler, fake(3));
  EXPECT_EQ(p->required, std::vector<std::string>{"id"});
  // The other route is untouched.
  ASSERT_NE(r.find("echo"), nullptr);
  EXPECT_EQ(r.find("echo")->handler, fake(2));
}

TEST(Router, EmptyNameIsARouteLikeAnyOther) {
  Router r;
  r.add(Route{"", fake(1), {}});
  ASSERT_NE(r.find(""), nullptr);
  EXPECT_EQ(r.find("")->handler, fake(1));
}

TEST(Router, ManyRoutes) {
  Router r;
  for (int i = 0; i < 100; ++i) r.add(Route{"route" + std::to_string(i), fake(i), {}});
  for (int i = 0; i < 100; ++i) {
    const Route* x = r.find("route" + std::to_string(i));
    ASSERT_NE(x, nullptr) << i;
    EXPECT_EQ(x->handler, fake(i));
  }
  EXPECT_EQ(r.find("route100"), nullptr);
}

TEST(Router, UpstreamRoutes) {
  // An upstream route has no handler, only its pool target.
  Router r;
  EXPECT_EQ(Route{}.upstream, -1) << "in process unless given a target";
  r.add(Route{"ask", nullptr, {"question"}, 2});
  r.add(Route{std::string(kDefaultRoute), nullptr, {}, 0});
  r.add(Route{"ping", fake(1), {}});
  const Route* ask = r.find("ask");
  ASSERT_NE(ask, nullptr);
  EXPECT_EQ(ask->handler, nullptr);
  EXPECT_EQ(ask->upstream, 2);
  EXPECT_EQ(ask->required, std::vector<std::string>{"question"});
  EXPECT_EQ(kDefaultRoute, "$default");
  ASSERT_NE(r.find("$default"), nullptr);
  EXPECT_EQ(r.find("$default")->upstream, 0);
  EXPECT_EQ(r.find("ping")->upstream, -1);
  // find is exact: "$default" is not a fallback inside the Router itself.
  EXPECT_EQ(r.find("unknown"), nullptr);
  // Replacing an upstream route by a handler route of the same name.
  r.add(Route{"ask", fake(2), {}});
  EXPECT_EQ(r.find("ask")->handler, fake(2));
  EXPECT_EQ(r.find("ask")->upstream, -1);
}

std::vector<std::string> names(const std::vector<RouteConfig>& routes) {
  std::vector<std::string> out;
  for (const RouteConfig& rc : routes) out.push_back(rc.name);
  return out;
}

TEST(DefaultRoutes, Envelope) {
  const auto routes = default_routes(Protocol::envelope);
  EXPECT_EQ(names(routes), (std::vector<std::string>{"subscribe", "unsubscribe", "ping", "publish", "echo", "direct",
                                                     "presence", "refresh"}));
  for (const RouteConfig& rc : routes) {
    EXPECT_EQ(rc.handler, rc.name);
    EXPECT_TRUE(rc.required.empty()) << rc.name;
    EXPECT_TRUE(rc.upstream.empty()) << rc.name << ": built-in routes are handled in process";
  }
  EXPECT_EQ(default_route_key(Protocol::envelope), "type");
}

TEST(DefaultRoutes, Action) {
  // "message" (seed 004) comes from the default config, not the profile;
  // and there is no "echo" route on the action profile.
  const auto routes = default_routes(Protocol::action);
  EXPECT_EQ(names(routes), (std::vector<std::string>{"subscribe", "unsubscribe", "ping", "publish", "direct",
                                                     "presence", "refresh"}));
  for (const RouteConfig& rc : routes) {
    EXPECT_EQ(rc.handler, rc.name);
    EXPECT_TRUE(rc.required.empty()) << rc.name;
    EXPECT_TRUE(rc.upstream.empty()) << rc.name;
  }
  EXPECT_EQ(default_route_key(Protocol::action), "action");
}

TEST(DefaultRoutes, Channel) {
  // The channel profile has no subscribe/publish/direct: its connection is
  // bound to one channel; "message" goes to the room.
  const auto routes = default_routes(Protocol::channel);
  ASSERT_EQ(routes.size(), 4u);
  EXPECT_EQ(routes[0].name, "message");
  EXPECT_EQ(routes[0].handler, "forward");
  EXPECT_EQ(routes[0].required, std::vector<std::string>{"id"});
  EXPECT_EQ(routes[1].name, "ping");
  EXPECT_EQ(routes[1].handler, "ping");
  EXPECT_TRUE(routes[1].required.empty());
  EXPECT_EQ(routes[2].name, "presence");
  EXPECT_EQ(routes[2].handler, "presence");
  EXPECT_TRUE(routes[2].required.empty());
  EXPECT_EQ(routes[3].name, "refresh");
  EXPECT_EQ(routes[3].handler, "refresh");
  EXPECT_TRUE(routes[3].required.empty());
  for (const RouteConfig& rc : routes) EXPECT_TRUE(rc.upstream.empty()) << rc.name;
  EXPECT_EQ(default_route_key(Protocol::channel), "type");
}

TEST(DefaultRoutes, UnroutedProfilesHaveNone) {
  EXPECT_TRUE(default_routes(Protocol::echo).empty());
  EXPECT_TRUE(default_routes(Protocol::json_echo).empty());
}

TEST(DefaultRoutes, EveryHandlerIsBuiltIn) {
  HandlerRegistry registry;
  register_builtin_handlers(registry);
  for (const char* name : {"subscribe", "unsubscribe", "ping", "publish", "echo", "forward", "direct", "presence",
                           "refresh"})
    EXPECT_EQ(registry.count(name), 1u) << name;
  for (Protocol p : {Protocol::echo, Protocol::json_echo, Protocol::envelope, Protocol::channel, Protocol::action}) {
    std::set<std::string> seen;
    for (const RouteConfig& rc : default_routes(p)) {
      EXPECT_EQ(registry.count(rc.handler), 1u) << rc.handler;
      EXPECT_TRUE(seen.insert(rc.name).second) << "duplicate route " << rc.name;
      ASSERT_TRUE(registry.at(rc.handler)) << rc.handler;
      EXPECT_NE(registry.at(rc.handler)(), nullptr) << rc.handler;
    }
  }
}

TEST(DefaultRoutes, BuildARouter) {
  // What the gateway does per reactor: the profile's routes, then the
  // config's, which replace same-named ones.
  HandlerRegistry registry;
  register_builtin_handlers(registry);
  std::vector<std::unique_ptr<Handler>> owned;
  Router router;
  for (const RouteConfig& rc : default_routes(Protocol::action)) {
    owned.push_back(registry.at(rc.handler)());
    router.add(Route{rc.name, owned.back().get(), rc.required});
  }
  owned.push_back(registry.at("echo")());
  router.add(Route{"message", owned.back().get(), {"interview_id", "message"}});
  owned.push_back(registry.at("echo")());
  router.add(Route{"ping", owned.back().get(), {}});
  for (const char* name : {"subscribe", "unsubscribe", "ping", "publish", "direct", "presence", "refresh", "message"})
    EXPECT_NE(router.find(name), nullptr) << name;
  EXPECT_EQ(router.find("ping")->handler, owned.back().get());
  EXPECT_EQ(router.find("echo"), nullptr);
}

}  // namespace
}  // namespace ringcast::protocol
