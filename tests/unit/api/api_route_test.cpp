// Paths, methods, query parameters and connection ids of the server API.
#include "api/api_route.hpp"

#include <gtest/gtest.h>

namespace ringcast::api {
namespace {

TEST(ApiRoute, Endpoints) {
  struct Case {
    const char* method;
    const char* path;
    Endpoint endpoint;
    const char* param;
  };
  for (const Case& c : {
           Case{"GET", "/healthz", Endpoint::healthz, ""},
           Case{"HEAD", "/healthz", Endpoint::healthz, ""},
           Case{"GET", "/readyz", Endpoint::readyz, ""},
           Case{"GET", "/metrics", Endpoint::metrics, ""},
           Case{"POST", "/api/v1/publish", Endpoint::publish, ""},
           Case{"POST", "/api/v1/broadcast", Endpoint::broadcast, ""},
           Case{"GET", "/api/v1/connections/0100000200000003", Endpoint::connection, "0100000200000003"},
           Case{"POST", "/api/v1/connections/42", Endpoint::connection, "42"},
           Case{"DELETE", "/api/v1/connections/42", Endpoint::connection, "42"},
           Case{"POST", "/api/v1/users/alice/disconnect", Endpoint::disconnect_user, "alice"},
           Case{"POST", "/api/v1/users/a%2Fb/disconnect", Endpoint::disconnect_user, "a%2Fb"},
           Case{"GET", "/api/v1/channels", Endpoint::channels, ""},
           Case{"GET", "/api/v1/channels/room-1/presence", Endpoint::presence, "room-1"},
           Case{"GET", "/api/v1/channels/a/b:c/presence", Endpoint::presence, "a/b:c"},
           Case{"GET", "/api/v1/channels/presence/presence", Endpoint::presence, "presence"},
       }) {
    const RouteMatch m = route(c.method, c.path);
    EXPECT_EQ(m.status, 0) << c.method << " " << c.path;
    EXPECT_EQ(m.endpoint, c.endpoint) << c.path;
    EXPECT_EQ(m.param, c.param) << c.path;
  }
}

TEST(ApiRoute, NotFound) {
  for (const char* path : {"/", "/api", "/api/v1", "/api/v1/", "/api/v1/publish/", "/api/v2/publish",
                           "/api/v1/connections/", "/api/v1/connections/1/2", "/api/v1/users//disconnect",
                           "/api/v1/users/disconnect", "/api/v1/users/a/b/disconnect", "/api/v1/channels/",
                           "/api/v1/channels//presence", "/api/v1/channels/presence", "/healthz/", "/METRICS"}) {
    EXPECT_EQ(route("GET", path).status, 404) << path;
    EXPECT_EQ(route("POST", path).status, 404) << path;
  }
}

TEST(ApiRoute, MethodNotAllowed) {
  RouteMatch m = route("GET", "/api/v1/publish");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.allow, "POST");
  m = route("POST", "/healthz");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.endpoint, Endpoint::healthz);  // still known to be public
  EXPECT_EQ(m.allow, "GET, HEAD");
  m = route("PUT", "/api/v1/connections/1");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.allow, "GET, HEAD, POST, DELETE");
  EXPECT_EQ(route("DELETE", "/api/v1/channels").status, 405);
  EXPECT_EQ(route("GET", "/api/v1/users/u/disconnect").status, 405);
  EXPECT_EQ(route("get", "/healthz").status, 405);  // methods are case-sensitive
}

TEST(ApiRoute, Public) {
  EXPECT_TRUE(is_public(Endpoint::healthz));
  EXPECT_TRUE(is_public(Endpoint::readyz));
  EXPECT_FALSE(is_public(Endpoint::metrics));
  EXPECT_FALSE(is_public(Endpoint::publish));
}

TEST(ApiRoute, PercentDecode) {
  std::string out;
  EXPECT_TRUE(percent_decode("a%2Fb%20c+d", false, &out));
  EXPECT_EQ(out, "a/b c+d");
  EXPECT_TRUE(percent_decode("a+b%2b", true, &out));
  EXPECT_EQ(out, "a b+");
  EXPECT_TRUE(percent_decode("%e2%82%AC", false, &out));
  EXPECT_EQ(out, "\xe2\x82\xac");
  EXPECT_TRUE(percent_decode("", false, &out));
  EXPECT_EQ(out, "");
  for (const char* bad : {"%", "%2", "a%g0", "%0x", "abc%"}) EXPECT_FALSE(percent_decode(bad, false, &out)) << bad;
}

TEST(ApiRoute, QueryParam) {
  std::string v;
  EXPECT_EQ(query_param("tenant_id=acme&prefix=news%3A", "prefix", &v), QueryValue::ok);
  EXPECT_EQ(v, "news:");
  EXPECT_EQ(query_param("tenant_id=acme&prefix=x", "tenant_id", &v), QueryValue::ok);
  EXPECT_EQ(v, "acme");
  EXPECT_EQ(query_param("a=1&a=2", "a", &v), QueryValue::ok);
  EXPECT_EQ(v, "1");
  EXPECT_EQ(query_param("reason=going+away", "reason", &v), QueryValue::ok);
  EXPECT_EQ(v, "going away");
  EXPECT_EQ(query_param("flag&x=1", "flag", &v), QueryValue::ok);
  EXPECT_EQ(v, "");
  EXPECT_EQ(query_param("x=1", "y", &v), QueryValue::absent);
  EXPECT_EQ(query_param("", "y", &v), QueryValue::absent);
  EXPECT_EQ(query_param("code=%zz", "code", &v), QueryValue::bad);
  EXPECT_EQ(query_param("%zz=1&code=2", "code", &v), QueryValue::ok);
  EXPECT_EQ(v, "2");
  EXPECT_EQ(query_param("ten%61nt_id=t", "tenant_id", &v), QueryValue::ok);
  EXPECT_EQ(v, "t");
}

TEST(ApiRoute, ConnectionIds) {
  uint64_t id = 0;
  ASSERT_TRUE(parse_conn_id("0100000200000003", &id));
  EXPECT_EQ(id, 0x0100000200000003ull);
  EXPECT_EQ(conn_reactor(id), 1u);
  ASSERT_TRUE(parse_conn_id("FF000000ABCDEF12", &id));
  EXPECT_EQ(id, 0xFF000000ABCDEF12ull);
  EXPECT_EQ(conn_reactor(id), 255u);
  // Decimal when not 16 characters.
  ASSERT_TRUE(parse_conn_id("72057602627862531", &id));  // 17 digits
  EXPECT_EQ(id, 0x0100000200000003ull);
  ASSERT_TRUE(parse_conn_id("0", &id));
  EXPECT_EQ(id, 0u);
  ASSERT_TRUE(parse_conn_id("18446744073709551615", &id));
  EXPECT_EQ(id, UINT64_MAX);
  // A 16-digit decimal string is hex.
  ASSERT_TRUE(parse_conn_id("1000000000000000", &id));
  EXPECT_EQ(id, 0x1000000000000000ull);
  for (const char* bad : {"", "x", "-1", "12a", "010000020000000g", "18446744073709551616", "0x10", " 1",
                          "123456789012345678901"})
    EXPECT_FALSE(parse_conn_id(bad, &id)) << bad;
  EXPECT_EQ(format_conn_id(0x0100000200000003ull), "0100000200000003");
  ASSERT_TRUE(parse_conn_id(format_conn_id(0xdeadbeef01234567ull), &id));
  EXPECT_EQ(id, 0xdeadbeef01234567ull);
}

}  // namespace
}  // namespace ringcast::api
