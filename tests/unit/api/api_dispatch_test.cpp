// dispatch: a whole request -> answer, publish or control calls.
#include "api/api_dispatch.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ringcast::api {
namespace {

using protocol::ControlOp;

class Dispatch : public testing::Test {
 protected:
  Dispatch() : keys_(std::vector<std::string>{"key-1"}) { config_.close_code = 4001; }

  // head: request line and headers, "\n"-separated, without the blank line.
  Action run(std::string head, std::string_view body = {}, bool with_key = true) {
    raw_.clear();
    for (char c : head) {
      if (c == '\n') raw_ += '\r';
      raw_ += c;
    }
    if (with_key) raw_ += "\r\nAuthorization: Bearer key-1";
    raw_ += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    EXPECT_EQ(http::parse_request_head(raw_, head_), http::HeadError::none) << raw_;
    const DispatchContext ctx{config_, keys_, workers_, ready_, parser_};
    return dispatch(ctx, head_, body);
  }

  static std::string header(const Action& a) { return a.response.headers; }

  ApiConfig config_;
  ApiKeys keys_;
  uint32_t workers_ = 4;
  bool ready_ = true;
  simdjson::dom::parser parser_;
  std::string raw_;
  http::RequestHead head_;
};

TEST_F(Dispatch, KeyRequired) {
  for (const char* line : {"GET /metrics HTTP/1.1", "POST /api/v1/publish HTTP/1.1", "GET /nowhere HTTP/1.1",
                           "PUT /api/v1/publish HTTP/1.1"}) {
    const Action a = run(line, {}, false);
    EXPECT_EQ(a.kind, Action::Kind::respond);
    EXPECT_EQ(a.response.status, 401) << line;
    EXPECT_EQ(header(a), "WWW-Authenticate: Bearer\r\n");
    EXPECT_EQ(a.response.body.find(R"({"error":{"code":"UNAUTHORIZED")"), 0u);
  }
  const Action wrong = run("GET /metrics HTTP/1.1\nAuthorization: Bearer nope", {}, false);
  EXPECT_EQ(wrong.response.status, 401);
}

TEST_F(Dispatch, HealthAndReadinessNeedNoKey) {
  Action a = run("GET /healthz HTTP/1.1", {}, false);
  EXPECT_EQ(a.response.status, 200);
  EXPECT_EQ(a.response.body, R"({"status":"ok"})");
  a = run("GET /readyz HTTP/1.1", {}, false);
  EXPECT_EQ(a.response.status, 200);
  EXPECT_EQ(a.response.body, R"({"ready":true})");
  ready_ = false;
  a = run("GET /readyz HTTP/1.1", {}, false);
  EXPECT_EQ(a.response.status, 503);
  EXPECT_EQ(a.response.body, R"({"ready":false})");
  a = run("POST /healthz HTTP/1.1", {}, false);
  EXPECT_EQ(a.response.status, 405);
  EXPECT_EQ(header(a), "Allow: GET, HEAD\r\n");
}

TEST_F(Dispatch, NotFoundAndMethodNotAllowed) {
  Action a = run("GET /api/v1/nothing HTTP/1.1");
  EXPECT_EQ(a.response.status, 404);
  EXPECT_EQ(a.response.body.find(R"({"error":{"code":"NOT_FOUND")"), 0u);
  a = run("GET /api/v1/publish HTTP/1.1");
  EXPECT_EQ(a.response.status, 405);
  EXPECT_EQ(header(a), "Allow: POST\r\n");
}

TEST_F(Dispatch, Publish) {
  Action a = run("POST /api/v1/publish HTTP/1.1", R"({"channel":"news","tenant_id":"t1","type":"x","data":{"a":1}})");
  ASSERT_EQ(a.kind, Action::Kind::publish);
  EXPECT_EQ(a.publish.channels, std::vector<std::string>{"news"});
  EXPECT_EQ(a.publish.tenant, "t1");
  EXPECT_EQ(a.publish.type, "x");
  EXPECT_EQ(a.publish.data, R"({"a":1})");
  EXPECT_EQ(a.response.status, 200);
  EXPECT_EQ(a.response.body, R"({"published":true,"channel":"news"})");
  a = run("POST /api/v1/publish HTTP/1.1", R"({"channel":"bad name"})");
  EXPECT_EQ(a.kind, Action::Kind::respond);
  EXPECT_EQ(a.response.status, 400);
  EXPECT_EQ(a.response.body.find(R"({"error":{"code":"INVALID_FIELD")"), 0u);
  EXPECT_NE(a.response.body.find(R"("field":"channel")"), std::string::npos);
  a = run("POST /api/v1/broadcast HTTP/1.1", R"({"channels":["a","b"]})");
  ASSERT_EQ(a.kind, Action::Kind::publish);
  EXPECT_EQ(a.publish.channels.size(), 2u);
  EXPECT_EQ(a.response.body, R"({"published":true,"count":2})");
}

TEST_F(Dispatch, ConnectionOps) {
  // Reactor 2, generation 5, slot 9.
  const std::string id = "0200000500000009";
  Action a = run("GET /api/v1/connections/" + id + " HTTP/1.1");
  ASSERT_EQ(a.kind, Action::Kind::call);
  ASSERT_EQ(a.calls.size(), 1u);
  EXPECT_EQ(a.calls[0]->op, ControlOp::info);
  EXPECT_EQ(a.calls[0]->conn, 0x0200000500000009ull);
  EXPECT_EQ(a.calls[0]->part, 2u);
  ASSERT_TRUE(a.gather);
  EXPECT_EQ(a.gather->op(), ControlOp::info);

  a = run("POST /api/v1/connections/" + id + " HTTP/1.1", "hello \xc3\xa9");
  ASSERT_EQ(a.kind, Action::Kind::call);
  EXPECT_EQ(a.calls[0]->op, ControlOp::send);
  EXPECT_EQ(a.calls[0]->text, "hello \xc3\xa9");

  a = run("POST /api/v1/connections/" + id + " HTTP/1.1", "bad \xc3");
  EXPECT_EQ(a.response.status, 400);
  EXPECT_NE(a.response.body.find(R"("field":"body")"), std::string::npos);

  a = run("DELETE /api/v1/connections/" + id + " HTTP/1.1");
  ASSERT_EQ(a.kind, Action::Kind::call);
  EXPECT_EQ(a.calls[0]->op, ControlOp::close);
  EXPECT_EQ(a.calls[0]->close_code, 4001);  // ApiConfig::close_code
  EXPECT_EQ(a.calls[0]->text, "");

  a = run("DELETE /api/v1/connections/" + id + "?code=4000&reason=bye+now%21 HTTP/1.1");
  ASSERT_EQ(a.kind, Action::Kind::call);
  EXPECT_EQ(a.calls[0]->close_code, 4000);
  EXPECT_EQ(a.calls[0]->text, "bye now!");
  a = run("DELETE /api/v1/connections/" + id + "?code=1000 HTTP/1.1");
  EXPECT_EQ(a.calls.at(0)->close_code, 1000);
  for (const char* code : {"999", "1001", "2999", "5000", "abc", "", "40000"}) {
    a = run("DELETE /api/v1/connections/" + id + "?code=" + code + " HTTP/1.1");
    EXPECT_EQ(a.response.status, 400) << code;
    EXPECT_NE(a.response.body.find(R"("field":"code")"), std::string::npos);
  }
  a = run("DELETE /api/v1/connections/" + id + "?reason=" + std::string(124, 'r') + " HTTP/1.1");
  EXPECT_EQ(a.response.status, 400);
  a = run("DELETE /api/v1/connections/" + id + "?reason=%ff HTTP/1.1");
  EXPECT_EQ(a.response.status, 400);
}

TEST_F(Dispatch, DecimalIdsAndIdsThatNameNoConnection) {
  Action a = run("GET /api/v1/connections/" + std::to_string(0x0300000000000001ull) + " HTTP/1.1");
  ASSERT_EQ(a.kind, Action::Kind::call);
  EXPECT_EQ(a.calls[0]->part, 3u);
  for (const char* bad : {"0400000000000001", "zz", "0100000000000001g", "ff00000000000000"}) {
    a = run(std::string("GET /api/v1/connections/") + bad + " HTTP/1.1");
    EXPECT_EQ(a.kind, Action::Kind::respond) << bad;
    EXPECT_EQ(a.response.status, 404) << bad;
  }
}

TEST_F(Dispatch, DisconnectUser) {
  Action a = run("POST /api/v1/users/al%20ice/disconnect?tenant_id=t1 HTTP/1.1");
  ASSERT_EQ(a.kind, Action::Kind::call);
  ASSERT_EQ(a.calls.size(), 4u);
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(a.calls[i]->part, i);
    EXPECT_EQ(a.calls[i]->op, ControlOp::disconnect_user);
    EXPECT_EQ(a.calls[i]->name, "al ice");
    EXPECT_EQ(a.calls[i]->tenant, "t1");
    EXPECT_EQ(a.calls[i]->close_code, 4001);
  }
  a = run("POST /api/v1/users/bob/disconnect HTTP/1.1", R"({"tenant_id":"t2"})");
  ASSERT_EQ(a.kind, Action::Kind::call);
  EXPECT_EQ(a.calls[0]->tenant, "t2");
  a = run("POST /api/v1/users/bob/disconnect HTTP/1.1", "not json");
  EXPECT_EQ(a.response.status, 400);
  a = run("POST /api/v1/users/bob/disconnect?tenant_id=a%7Cb HTTP/1.1");
  EXPECT_EQ(a.response.status, 400);
  a = run("POST /api/v1/users/%zz/disconnect HTTP/1.1");
  EXPECT_EQ(a.response.status, 400);
  a = run("POST /api/v1/users/%0a/disconnect HTTP/1.1");
  EXPECT_EQ(a.response.status, 400);
}

TEST_F(Dispatch, ChannelsAndPresence) {
  Action a = run("GET /api/v1/channels?prefix=news%3A&tenant_id=acme HTTP/1.1");
  ASSERT_EQ(a.kind, Action::Kind::call);
  ASSERT_EQ(a.calls.size(), 4u);
  EXPECT_EQ(a.calls[0]->op, ControlOp::channels);
  EXPECT_EQ(a.calls[0]->name, "news:");
  EXPECT_EQ(a.calls[0]->tenant, "acme");
  a = run("GET /api/v1/channels HTTP/1.1");
  ASSERT_EQ(a.kind, Action::Kind::call);
  EXPECT_EQ(a.calls[3]->name, "");
  a = run("GET /api/v1/channels?prefix=a%20b HTTP/1.1");
  EXPECT_EQ(a.response.status, 400);

  a = run("GET /api/v1/channels/room%2F1/presence?tenant_id=acme HTTP/1.1");
  ASSERT_EQ(a.kind, Action::Kind::call);
  ASSERT_EQ(a.calls.size(), 1u);
  EXPECT_EQ(a.calls[0]->part, 0u);
  EXPECT_EQ(a.calls[0]->op, ControlOp::presence);
  EXPECT_EQ(a.calls[0]->name, "room/1");
  EXPECT_EQ(a.calls[0]->tenant, "acme");
  a = run("GET /api/v1/channels/bad%20name/presence HTTP/1.1");
  EXPECT_EQ(a.response.status, 400);
}

TEST_F(Dispatch, MetricsAsksEveryWorker) {
  const Action a = run("GET /metrics HTTP/1.1");
  ASSERT_EQ(a.kind, Action::Kind::call);
  ASSERT_EQ(a.calls.size(), 4u);
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(a.calls[i]->op, ControlOp::stats);
    EXPECT_EQ(a.calls[i]->part, i);
    EXPECT_EQ(a.calls[i]->id, 0u);  // numbered by the server
  }
}

}  // namespace
}  // namespace ringcast::api
