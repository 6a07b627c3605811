#include "ws/frame_writer.hpp"

#include <random>
#include <string>

#include "ringcast/close_code.hpp"
#include "ws/utf8.hpp"
#include "ws_test_util.hpp"

namespace ringcast::ws::test {
namespace {

TEST(FrameWriter, HeaderSizes) {
  struct Case {
    uint64_t len;
    size_t size;
  } cases[] = {{0, 2}, {125, 2}, {126, 4}, {65535, 4}, {65536, 10}, {uint64_t{1} << 32, 10}};
  for (const Case& c : cases) {
    EXPECT_EQ(frame_header_size(c.len, false), c.size) << c.len;
    EXPECT_EQ(frame_header_size(c.len, true), c.size + 4) << c.len;
    uint8_t out[kMaxFrameHeader];
    EXPECT_EQ(write_frame_header(out, Opcode::binary, c.len), c.size);
    EXPECT_EQ(write_frame_header(out, Opcode::binary, c.len, true, kKey), c.size + 4);
  }
}

TEST(FrameWriter, ExactBytes) {
  uint8_t out[kMaxFrameHeader];
  ASSERT_EQ(write_frame_header(out, Opcode::text, 5), 2u);
  EXPECT_EQ(Bytes(out, out + 2), (Bytes{0x81, 0x05}));
  ASSERT_EQ(write_frame_header(out, Opcode::binary, 256, false), 4u);
  EXPECT_EQ(Bytes(out, out + 4), (Bytes{0x02, 0x7E, 0x01, 0x00}));
  ASSERT_EQ(write_frame_header(out, Opcode::continuation, 65536, true, kKey, 0x40), 14u);
  EXPECT_EQ(Bytes(out, out + 14), (Bytes{0xC0, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 0x37, 0xFA, 0x21, 0x3D}));
  ASSERT_EQ(write_frame_header(out, Opcode::close, 0, true, nullptr, 0xFF), 2u);
  EXPECT_EQ(out[0], 0xF8) << "only RSV bits of rsv_bits are used";
}

TEST(FrameWriter, RoundTripThroughTheParser) {
  std::mt19937 rng(9);
  for (uint64_t len : {0u, 1u, 125u, 126u, 127u, 65535u, 65536u, 70000u}) {
    for (Opcode op : {Opcode::text, Opcode::binary}) {
      Bytes payload(len);
      for (auto& b : payload) b = static_cast<uint8_t>('a' + rng() % 26);
      uint8_t key[4];
      for (auto& k : key) k = static_cast<uint8_t>(rng());
      Bytes wire(kMaxFrameHeader);
      wire.resize(write_frame_header(wire.data(), op, len, true, key));
      EXPECT_EQ(wire.size(), frame_header_size(len, true));
      Bytes body = payload;
      apply_mask(body.data(), body.size(), key, 0);
      wire = cat({wire, body});
      const Outcome o = run_whole(wire);
      ASSERT_EQ(o.status, ParseStatus::ok);
      ASSERT_EQ(o.events, (std::vector<Event>{msg(op, payload)})) << len;
    }
  }
  // Fragments and controls written by the writer, read by the parser.
  Bytes wire;
  auto add = [&](Opcode op, const Bytes& payload, bool fin) {
    Bytes h(kMaxFrameHeader);
    h.resize(write_frame_header(h.data(), op, payload.size(), fin, kKey));
    Bytes body = payload;
    apply_mask(body.data(), body.size(), kKey, 0);
    wire = cat({wire, h, body});
  };
  add(Opcode::binary, bytes("ab"), false);
  add(Opcode::ping, bytes("!"), true);
  add(Opcode::continuation, bytes("cd"), true);
  uint8_t close[kMaxControlPayload];
  const size_t n = write_close_payload(close, to_wire(CloseCode::going_away), "restart");
  add(Opcode::close, Bytes(close, close + n), true);
  const Outcome o = run_whole(wire);
  EXPECT_EQ(o.status, ParseStatus::closed);
  EXPECT_EQ(o.events, (std::vector<Event>{ctl(Opcode::ping, bytes("!")), msg(Opcode::binary, bytes("abcd")),
                                          ctl(Opcode::close, close_payload(1001, "restart"))}));
}

TEST(FrameWriter, UnmaskedFramesForClientModeParser) {
  Bytes wire(kMaxFrameHeader);
  wire.resize(write_frame_header(wire.data(), Opcode::text, 3));
  wire = cat({wire, bytes("abc")});
  ParserConfig cfg;
  cfg.expect_masked = false;
  EXPECT_EQ(run_whole(wire, cfg).events, (std::vector<Event>{msg(Opcode::text, bytes("abc"))}));
}

TEST(FrameWriter, ClosePayload) {
  uint8_t out[kMaxControlPayload];
  ASSERT_EQ(write_close_payload(out, 1000, ""), 2u);
  EXPECT_EQ(out[0], 0x03);
  EXPECT_EQ(out[1], 0xE8);
  ASSERT_EQ(write_close_payload(out, 4321, "why"), 5u);
  EXPECT_EQ(Bytes(out, out + 5), (Bytes{0x10, 0xE1, 'w', 'h', 'y'}));
  EXPECT_EQ(write_close_payload(out, 1000, std::string(123, 'x')), 125u);
  EXPECT_EQ(write_close_payload(out, 1000, std::string(500, 'x')), 125u);
}

TEST(FrameWriter, CloseReasonIsCutAtACodePointBoundary) {
  // For each character width and each prefix length, a long reason is cut
  // to <= 123 bytes of valid UTF-8, losing less than one character.
  for (std::string ch : {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"}) {
    for (size_t lead = 0; lead < 4; ++lead) {
      std::string reason(lead, 'a');
      while (reason.size() < 200) reason += ch;
      uint8_t out[kMaxControlPayload];
      const size_t n = write_close_payload(out, 1000, reason);
      ASSERT_LE(n, 125u);
      EXPECT_GT(n + ch.size(), 125u);
      EXPECT_TRUE(utf8_valid(out + 2, n - 2)) << ch.size() << " " << lead;
      EXPECT_EQ(std::string(reinterpret_cast<char*>(out + 2), n - 2), reason.substr(0, n - 2));
      // And the peer's parser accepts it.
      EXPECT_EQ(run_whole(frame(Opcode::close, Bytes(out, out + n))).status, ParseStatus::closed);
    }
  }
}

}  // namespace
}  // namespace ringcast::ws::test
