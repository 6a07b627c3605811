// Gather: the workers' answers to one request, combined into its HTTP answer.
#include "api/api_gather.hpp"

#include <gtest/gtest.h>

namespace ringcast::api {
namespace {

using protocol::ControlCall;
using protocol::ControlOp;

ControlCall answer(uint32_t part, int status, std::string body = {}) {
  ControlCall c;
  c.part = part;
  c.status = status;
  c.body = std::move(body);
  return c;
}

class GatherTest : public testing::Test {
 protected:
  simdjson::dom::parser parser_;
  ApiNodeStats api_;
};

TEST_F(GatherTest, Send) {
  Gather g(ControlOp::send, 1, 4, "0100000000000002");
  EXPECT_FALSE(g.complete());
  g.add(parser_, answer(1, 200));
  ASSERT_TRUE(g.complete());
  const ApiResponse r = g.finish(api_);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"sent":true})");
}

TEST_F(GatherTest, Gone) {
  for (ControlOp op : {ControlOp::send, ControlOp::close, ControlOp::info}) {
    Gather g(op, 1, 4, "0100000000000002");
    g.add(parser_, answer(1, 410));
    const ApiResponse r = g.finish(api_);
    EXPECT_EQ(r.status, 410);
    EXPECT_EQ(r.body.find(R"({"error":{"code":"GONE","message":)"), 0u) << r.body;
    EXPECT_NE(r.body.find("0100000000000002"), std::string::npos);
  }
}

TEST_F(GatherTest, CloseIs204) {
  Gather g(ControlOp::close, 1, 1);
  g.add(parser_, answer(0, 204));
  const ApiResponse r = g.finish(api_);
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.body, "");
  Gather unset(ControlOp::close, 1, 1);
  unset.add(parser_, answer(0, 0));  // status left unset: success
  EXPECT_EQ(unset.finish(api_).status, 204);
}

TEST_F(GatherTest, InfoAndPresencePassTheBody) {
  Gather g(ControlOp::info, 1, 1, "x");
  g.add(parser_, answer(0, 200, R"({"ip":"127.0.0.1","channels":["a"]})"));
  ApiResponse r = g.finish(api_);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"ip":"127.0.0.1","channels":["a"]})");
  Gather nf(ControlOp::info, 1, 1, "x");
  nf.add(parser_, answer(0, 404));
  EXPECT_EQ(nf.finish(api_).status, 404);
  Gather p(ControlOp::presence, 1, 3);
  p.add(parser_, answer(0, 200, R"({"channel":"c","members":[]})"));
  r = p.finish(api_);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"channel":"c","members":[]})");
}

TEST_F(GatherTest, OtherStatusesArePassedOn) {
  Gather g(ControlOp::send, 1, 1);
  g.add(parser_, answer(0, 503, "stopping"));
  ApiResponse r = g.finish(api_);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, R"({"error":{"code":"UNAVAILABLE","message":"stopping"}})");
  Gather j(ControlOp::info, 1, 1);
  j.add(parser_, answer(0, 409, R"({"error":{"code":"NOT_OPEN","message":"still upgrading"}})"));
  r = j.finish(api_);
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body, R"({"error":{"code":"NOT_OPEN","message":"still upgrading"}})");
  Gather odd(ControlOp::send, 1, 1);
  odd.add(parser_, answer(0, 302));
  EXPECT_EQ(odd.finish(api_).status, 500);
}

TEST_F(GatherTest, DisconnectSums) {
  Gather g(ControlOp::disconnect_user, 3, 3);
  g.add(parser_, answer(2, 200, "2"));
  g.add(parser_, answer(0, 200, "0"));
  EXPECT_FALSE(g.complete());
  g.add(parser_, answer(1, 0, "5"));
  ASSERT_TRUE(g.complete());
  const ApiResponse r = g.finish(api_);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"closed":7})");
  Gather bad(ControlOp::disconnect_user, 2, 2);
  bad.add(parser_, answer(0, 200, "x1"));
  bad.add(parser_, answer(1, 200, "1"));
  EXPECT_EQ(bad.finish(api_).status, 500);
}

TEST_F(GatherTest, ChannelsMergeSortedAndSummed) {
  Gather g(ControlOp::channels, 3, 3);
  g.add(parser_, answer(0, 200, R"([{"channel":"news","subscribers":3},{"channel":"alpha","subscribers":1}])"));
  g.add(parser_, answer(1, 200, "[]"));
  g.add(parser_, answer(2, 200, R"([{"channel":"news","subscribers":2},{"channel":"zeta","subscribers":4}])"));
  const ApiResponse r = g.finish(api_);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            R"({"channels":[{"channel":"alpha","subscribers":1},{"channel":"news","subscribers":5},)"
            R"({"channel":"zeta","subscribers":4}]})");
  Gather empty(ControlOp::channels, 1, 1);
  empty.add(parser_, answer(0, 200, ""));
  EXPECT_EQ(empty.finish(api_).body, R"({"channels":[]})");
  Gather bad(ControlOp::channels, 1, 1);
  bad.add(parser_, answer(0, 200, R"([{"channel":1}])"));
  EXPECT_EQ(bad.finish(api_).status, 500);
}

TEST_F(GatherTest, StatsBecomeMetrics) {
  Gather g(ControlOp::stats, 2, 2);
  ControlCall a = answer(1, 200);
  a.stats.connections_open = 42;
  g.add(parser_, a);
  ControlCall b = answer(0, 200);
  b.stats.connections_open = 7;
  g.add(parser_, b);
  api_.requests[200] = 1;
  const ApiResponse r = g.finish(api_);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, kPrometheusText);
  EXPECT_NE(r.body.find("ringcast_connections_open{reactor=\"0\"} 7\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("ringcast_connections_open{reactor=\"1\"} 42\n"), std::string::npos);
  EXPECT_NE(r.body.find("ringcast_api_requests_total{status=\"200\"} 1\n"), std::string::npos);
}

TEST_F(GatherTest, Timeout) {
  const ApiResponse r = Gather::timeout();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body.find(R"({"error":{"code":"UNAVAILABLE")"), 0u);
}

}  // namespace
}  // namespace ringcast::api
