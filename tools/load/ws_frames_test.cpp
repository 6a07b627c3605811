// The client's own framing and handshake: RFC vectors, every chunking of a
// server transcript, the reader's refusals, the JSON key scanner.
#include "handshake.hpp"
#include "json_scan.hpp"
#include "ws_frames.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace load {
namespace {

using namespace load::ws;

// Records what the reader reports, as a readable transcript.
struct Recorder {
  std::string log;
  std::string msg;
  bool on_message_begin(uint8_t op) {
    log += op == kOpText ? "[text:" : "[bin:";
    msg.clear();
    return true;
  }
  bool on_data(const uint8_t* p, size_t n, bool last) {
    msg.append(reinterpret_cast<const char*>(p), n);
    if (!last) return true;
    if (msg.size() > 64) {
      log += '<';
      log += std::to_string(msg.size());
      log += " bytes>";
    } else {
      log += msg;
    }
    log += ']';
    return true;
  }
  bool on_ping(const uint8_t* p, size_t n) {
    log += "(ping ";
    log.append(reinterpret_cast<const char*>(p), n);
    log += ')';
    return true;
  }
  bool on_pong() {
    log += "(pong)";
    return true;
  }
  bool on_close(uint16_t code) {
    log += "(close ";
    log += std::to_string(code);
    log += ')';
    return true;
  }
};

std::string frame(uint8_t b0, const std::string& payload) {
  std::string f(1, char(b0));
  size_t n = payload.size();
  if (n < 126) {
    f += char(n);
  } else if (n <= 0xFFFF) {
    f += char(126);
    f += char(n >> 8);
    f += char(n & 0xFF);
  } else {
    f += char(127);
    for (int i = 7; i >= 0; --i) f += char((uint64_t(n) >> (8 * i)) & 0xFF);
  }
  return f + payload;
}

std::string feed_all(const std::string& wire, size_t chunk) {
  ServerFrameReader r;
  Recorder rec;
  for (size_t off = 0; off < wire.size(); off += chunk) {
    size_t n = std::min(chunk, wire.size() - off);
    if (!r.feed(reinterpret_cast<const uint8_t*>(wire.data()) + off, n, rec)) return std::string("ERROR ") + r.error();
  }
  return rec.log;
}

TEST(WsHandshake, AcceptMatchesRfc6455Example) {
  char out[28];
  expected_accept("dGhlIHNhbXBsZSBub25jZQ==", out);
  EXPECT_EQ(std::string(out, 28), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsHandshake, ChecksTheResponse) {
  const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  const std::string ok =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
  auto r = check_response(ok + "\x81\x02hi", key);
  EXPECT_EQ(r.status, HandshakeStatus::ok);
  EXPECT_EQ(r.head_bytes, ok.size());
  EXPECT_EQ(check_response(ok.substr(0, ok.size() - 1), key).status, HandshakeStatus::incomplete);
  std::string wrong = ok;
  wrong.replace(wrong.find("s3p"), 3, "X3p");
  EXPECT_STREQ(check_response(wrong, key).error, "wrong Sec-WebSocket-Accept");
  EXPECT_EQ(check_response("HTTP/1.1 404 Not Found\r\n\r\n", key).status, HandshakeStatus::failed);
  std::string no_conn = ok;
  no_conn.replace(no_conn.find("keep-alive, Upgrade"), 19, "keep-alive");
  EXPECT_STREQ(check_response(no_conn, key).error, "101 without Connection: Upgrade");
}

TEST(WsHandshake, RequestFitsOrRefuses) {
  char buf[512];
  size_t n = write_request(buf, sizeof buf, "127.0.0.1:8080", "/echo", "dGhlIHNhbXBsZSBub25jZQ==");
  std::string req(buf, n);
  EXPECT_TRUE(req.starts_with("GET /echo HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
  EXPECT_NE(req.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos);
  EXPECT_TRUE(req.ends_with("\r\n\r\n"));
  EXPECT_EQ(write_request(buf, 40, "127.0.0.1:8080", "/echo", "dGhlIHNhbXBsZSBub25jZQ=="), 0u);
}

TEST(WsFrames, ClientHeaderAndMaskRoundTrip) {
  for (size_t len : {0u, 5u, 125u, 126u, 65535u, 65536u}) {
    std::vector<uint8_t> buf(kMaxClientHeader + len);
    const uint32_t key = 0xA1B2C3D4;
    size_t h = write_client_header(buf.data(), kOpBinary, len, key);
    EXPECT_EQ(h, client_header_size(len));
    EXPECT_EQ(buf[0], 0x82);
    EXPECT_TRUE(buf[1] & 0x80);
    for (size_t i = 0; i < len; ++i) buf[h + i] = uint8_t(i * 7);
    mask_payload(buf.data() + h, len, key);
    const uint8_t* k = buf.data() + h - 4;  // the key as it went on the wire
    for (size_t i = 0; i < len; ++i) ASSERT_EQ(uint8_t(buf[h + i] ^ k[i % 4]), uint8_t(i * 7));
  }
}

TEST(WsFrames, TranscriptSurvivesEveryChunking) {
  const std::string big(70000, 'x');
  const std::string wire = frame(0x81, "hello") + frame(0x01, "frag") + frame(0x89, "p1") +  // ping mid-message
                           frame(0x00, "men") + frame(0x80, "ted") + frame(0x82, big) + frame(0x81, "") +
                           frame(0x8A, "") + frame(0x88, std::string("\x03\xe8", 2));
  // The ping is reported when it arrives, inside the fragmented message.
  const std::string want = "[text:hello][text:(ping p1)fragmented][bin:<70000 bytes>][text:](pong)(close 1000)";
  for (size_t chunk : {1u, 2u, 3u, 7u, 10u, 64u, 4096u, 1u << 20}) EXPECT_EQ(feed_all(wire, chunk), want) << chunk;
}

TEST(WsFrames, RefusesWhatAServerMustNotSend) {
  EXPECT_EQ(feed_all(std::string("\x81\x85" "abcd" "hello", 11), 3), "ERROR server frame is masked");
  EXPECT_EQ(feed_all(frame(0xC1, "x"), 1), "ERROR RSV bits set without an extension");
  EXPECT_EQ(feed_all(frame(0x80, "x"), 1), "ERROR continuation frame outside a message");
  EXPECT_EQ(feed_all(frame(0x01, "a") + frame(0x81, "b"), 1), "ERROR new message inside a fragmented one");
  EXPECT_EQ(feed_all(frame(0x09, "x"), 1), "ERROR fragmented control frame");
  EXPECT_EQ(feed_all(frame(0x89, std::string(126, 'p')), 1), "ERROR control frame longer than 125 bytes");
  EXPECT_EQ(feed_all(std::string("\x81\x7e\x00\x05hello", 9), 1), "ERROR 16-bit length not minimal");
  EXPECT_EQ(feed_all(frame(0x83, "x"), 1), "ERROR reserved data opcode");
  EXPECT_EQ(feed_all(frame(0x88, "x"), 1), "ERROR close payload of 1 byte");
}

TEST(JsonScan, FindsKeysInAnyOrder) {
  const std::string_view m =
      R"({"channel":"bench-3","type":"bench","timestamp":"2024","data":{"ts": 123456789,"seq":42,"pub":7}})";
  uint64_t v = 0;
  EXPECT_TRUE(scan_u64(m, "\"pub\"", v));
  EXPECT_EQ(v, 7u);
  EXPECT_TRUE(scan_u64(m, "\"seq\"", v));
  EXPECT_EQ(v, 42u);
  EXPECT_TRUE(scan_u64(m, "\"ts\"", v));
  EXPECT_EQ(v, 123456789u);
  EXPECT_FALSE(scan_u64(m, "\"channel\"", v));  // a string, not a number
  EXPECT_TRUE(has_string(m, "\"type\"", "bench"));
  EXPECT_FALSE(has_string(m, "\"type\"", "ben"));
  EXPECT_TRUE(has_string(R"({"data":{"type":"x"},"type" : "subscribed"})", "\"type\"", "subscribed"));
  // A string value equal to the key is not the key.
  EXPECT_FALSE(scan_u64(R"({"a":"\"seq\"","b":1})", "\"seq\"", v));
}

}  // namespace
}  // namespace load
