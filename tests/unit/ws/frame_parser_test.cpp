#include "ws/frame_parser.hpp"

#include <random>

#include "ws_test_util.hpp"

namespace ringcast::ws::test {
namespace {

Bytes filled(size_t n, uint8_t seed = 1) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7);
  return b;
}

ParserConfig client_cfg() {
  ParserConfig cfg;
  cfg.expect_masked = false;
  return cfg;
}

// ---------------------------------------------------------------- samples

struct Sample {
  const char* name;
  Bytes wire;
  std::vector<Event> expected;
  ParseStatus status = ParseStatus::ok;
};

std::vector<Sample> samples() {
  std::vector<Sample> s;
  s.push_back({"text", frame(Opcode::text, bytes("Hello")), {msg(Opcode::text, bytes("Hello"))}});
  s.push_back({"binary", frame(Opcode::binary, Bytes{0, 1, 0xFF, 0x80}),
               {msg(Opcode::binary, Bytes{0, 1, 0xFF, 0x80})}});
  s.push_back({"empty text", frame(Opcode::text, {}), {msg(Opcode::text, {})}});
  s.push_back({"empty binary", frame(Opcode::binary, {}), {msg(Opcode::binary, {})}});
  for (size_t n : {125u, 126u}) {
    s.push_back({"binary 125/126", frame(Opcode::binary, filled(n)), {msg(Opcode::binary, filled(n))}});
  }
  s.push_back({"text 126 utf8", frame(Opcode::text, Bytes(126, 'a')), {msg(Opcode::text, Bytes(126, 'a'))}});
  s.push_back({"fragmented with ping",
               cat({frame(Opcode::text, bytes("Hel"), false), frame(Opcode::ping, bytes("p")),
                    frame(Opcode::continuation, bytes("lo"), false), frame(Opcode::pong, {}),
                    frame(Opcode::continuation, {}, true)}),
               {ctl(Opcode::ping, bytes("p")), ctl(Opcode::pong, {}), msg(Opcode::text, bytes("Hello"))}});
  // "é€😀" with code points cut across fragment boundaries.
  const Bytes utf = bytes("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  s.push_back({"utf8 across fragments",
               cat({frame(Opcode::text, Bytes(utf.begin(), utf.begin() + 1), false),
                    frame(Opcode::continuation, Bytes(utf.begin() + 1, utf.begin() + 4), false),
                    frame(Opcode::ping, {}),
                    frame(Opcode::continuation, Bytes(utf.begin() + 4, utf.begin() + 7), false),
                    frame(Opcode::continuation, Bytes(utf.begin() + 7, utf.end()), true)}),
               {ctl(Opcode::ping, {}), msg(Opcode::text, utf)}});
  s.push_back({"binary fragments", cat({frame(Opcode::binary, filled(3), false), frame(Opcode::continuation, {}, false),
                                         frame(Opcode::continuation, filled(200, 9), true)}),
               {msg(Opcode::binary, cat({filled(3), filled(200, 9)}))}});
  s.push_back({"close with reason", frame(Opcode::close, close_payload(1000, "bye")),
               {ctl(Opcode::close, close_payload(1000, "bye"))}, ParseStatus::closed});
  s.push_back({"empty close", frame(Opcode::close, {}), {ctl(Opcode::close, {})}, ParseStatus::closed});
  s.push_back({"nothing after close",
               cat({frame(Opcode::text, bytes("a")), frame(Opcode::close, close_payload(4000)),
                    frame(Opcode::text, bytes("never")), Bytes{0xFF, 0xFF}}),
               {msg(Opcode::text, bytes("a")), ctl(Opcode::close, close_payload(4000))}, ParseStatus::closed});
  s.push_back({"non-minimal lengths",
               cat({raw_frame(0x81, bytes("abc"), true, LenForm::ext16),
                    raw_frame(0x89, bytes("ping"), true, LenForm::ext64),
                    raw_frame(0x82, bytes("xyz"), true, LenForm::ext64)}),
               {msg(Opcode::text, bytes("abc")), ctl(Opcode::ping, bytes("ping")), msg(Opcode::binary, bytes("xyz"))}});
  s.push_back({"full control payload", cat({frame(Opcode::ping, filled(125)), frame(Opcode::close, close_payload(1001, std::string(123, 'r')))}),
               {ctl(Opcode::ping, filled(125)), ctl(Opcode::close, close_payload(1001, std::string(123, 'r')))},
               ParseStatus::closed});
  return s;
}

TEST(FrameParser, SamplesGiveExpectedEventsAtEverySplit) {
  for (const Sample& s : samples()) {
    SCOPED_TRACE(s.name);
    const Outcome whole = run_whole(s.wire);
    EXPECT_EQ(whole.events, s.expected);
    EXPECT_EQ(whole.status, s.status);
    EXPECT_TRUE(whole.tail.empty());
    EXPECT_FALSE(whole.in_message);
    expect_split_invariant(s.wire);
  }
}

TEST(FrameParser, LargePayloadsAtSplits) {
  for (size_t n : {65535u, 65536u}) {
    SCOPED_TRACE(n);
    const Bytes wire = cat({frame(Opcode::binary, filled(n)), frame(Opcode::ping, bytes("x"))});
    const Outcome whole = run_whole(wire);
    ASSERT_EQ(whole.events.size(), 2u);
    EXPECT_EQ(whole.events[0], msg(Opcode::binary, filled(n)));
    // Every cut within 300 bytes of either end (header, control frame) and
    // every 97th in between: all cuts would take minutes under ASan for no
    // extra coverage of the middle of a payload.
    expect_split_invariant(wire, {}, 97);
  }
}

TEST(FrameParser, ClientModeReadsUnmaskedFrames) {
  const Bytes wire = cat({frame(Opcode::text, bytes("hi"), false, false), frame(Opcode::ping, bytes("p"), true, false),
                          frame(Opcode::continuation, bytes("!"), true, false),
                          frame(Opcode::close, close_payload(1001, "gone"), true, false)});
  const Outcome whole = run_whole(wire, client_cfg());
  EXPECT_EQ(whole.events, (std::vector<Event>{ctl(Opcode::ping, bytes("p")), msg(Opcode::text, bytes("hi!")),
                                               ctl(Opcode::close, close_payload(1001, "gone"))}));
  EXPECT_EQ(whole.status, ParseStatus::closed);
  expect_split_invariant(wire, client_cfg());
}

// ---------------------------------------------------------------- violations

struct Violation {
  std::string name;
  Bytes wire;
  uint16_t code;
  ParserConfig cfg = {};
};

std::vector<Violation> violations() {
  std::vector<Violation> v;
  v.push_back({"unmasked client frame", frame(Opcode::text, bytes("a"), true, false), 1002});
  v.push_back({"masked frame to a client", frame(Opcode::text, bytes("a")), 1002, client_cfg()});
  for (uint8_t rsv : {0x40, 0x20, 0x10}) {
    v.push_back({"rsv " + std::to_string(rsv), raw_frame(static_cast<uint8_t>(0x81 | rsv), bytes("a")), 1002});
  }
  ParserConfig rsv1;
  rsv1.allowed_rsv = 0x40;
  v.push_back({"rsv2 with only rsv1 allowed", raw_frame(0xA1, bytes("a")), 1002, rsv1});
  for (uint8_t op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
    v.push_back({"reserved opcode " + std::to_string(op), raw_frame(static_cast<uint8_t>(0x80 | op), {}), 1002});
  }
  v.push_back({"ping of 126", frame(Opcode::ping, filled(126)), 1002});
  v.push_back({"close of 126 via 64-bit length", raw_frame(0x88, filled(126), true, LenForm::ext64), 1002});
  v.push_back({"fragmented ping", frame(Opcode::ping, bytes("p"), false), 1002});
  v.push_back({"fragmented close", frame(Opcode::close, {}, false), 1002});
  v.push_back({"continuation without message", frame(Opcode::continuation, bytes("a")), 1002});
  v.push_back({"continuation after complete message",
               cat({frame(Opcode::text, bytes("a")), frame(Opcode::continuation, bytes("b"))}), 1002});
  v.push_back({"text inside fragmented text",
               cat({frame(Opcode::text, bytes("a"), false), frame(Opcode::text, bytes("b"))}), 1002});
  v.push_back({"binary inside fragmented text",
               cat({frame(Opcode::text, bytes("a"), false), frame(Opcode::ping, {}), frame(Opcode::binary, bytes("b"))}),
               1002});
  {
    Bytes w{0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1};
    w.insert(w.end(), kKey, kKey + 4);
    v.push_back({"64-bit length with top bit", w, 1002});
  }
  v.push_back({"close payload of 1", frame(Opcode::close, Bytes{0x03}), 1002});
  for (uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535}) {
    v.push_back({"close code " + std::to_string(code), frame(Opcode::close, close_payload(code, "x")), 1002});
  }
  v.push_back({"invalid utf8 text", frame(Opcode::text, bytes("ab\xC0\xAF")), 1007});
  v.push_back({"surrogate in text", frame(Opcode::text, bytes("\xED\xA0\x80")), 1007});
  v.push_back({"truncated utf8 at message end", frame(Opcode::text, bytes("ab\xE2\x82")), 1007});
  v.push_back({"truncated utf8 at end of fragments",
               cat({frame(Opcode::text, bytes("\xF0\x9F"), false), frame(Opcode::continuation, bytes("\x98"), true)}),
               1007});
  v.push_back({"incomplete sequence ended by empty continuation",
               cat({frame(Opcode::text, bytes("\xC3"), false), frame(Opcode::continuation, {}, true)}), 1007});
  v.push_back({"invalid utf8 close reason", frame(Opcode::close, close_payload(1000, "\xFF")), 1007});
  v.push_back({"truncated utf8 close reason", frame(Opcode::close, close_payload(1000, "ok\xE2\x82")), 1007});
  ParserConfig small;
  small.max_message_bytes = 10;
  v.push_back({"too big", frame(Opcode::binary, filled(11)), 1009, small});
  v.push_back({"too big across fragments",
               cat({frame(Opcode::text, bytes("12345"), false), frame(Opcode::continuation, bytes("678901"))}), 1009,
               small});
  return v;
}

TEST(FrameParser, EveryViolationHasItsCodeAtEverySplit) {
  for (const Violation& v : violations()) {
    SCOPED_TRACE(v.name);
    const Outcome whole = run_whole(v.wire, v.cfg);
    EXPECT_EQ(whole.status, ParseStatus::error);
    EXPECT_EQ(whole.close_code, v.code);
    expect_split_invariant(v.wire, v.cfg);
  }
}

TEST(FrameParser, AllowedRsvPassesAndSkipsUtf8Validation) {
  ParserConfig cfg;
  cfg.allowed_rsv = 0x40;
  // A compressed text message is not UTF-8 until inflated: not validated here.
  const Bytes wire = cat({raw_frame(0x41, bytes("\xFF\x00"), true), frame(Opcode::continuation, bytes("\xC0"), true)});
  FrameParser p;
  struct Sink {
    FrameParser* p;
    int rsv_seen = -1;
    bool on_data(Opcode, std::span<const uint8_t>, bool) {
      rsv_seen = p->message_rsv();
      return true;
    }
    bool on_control(Opcode, std::span<const uint8_t>) { return true; }
  } sink{&p};
  Bytes buf = wire;
  const ParseResult r = p.feed(buf, sink, cfg);
  EXPECT_EQ(r.status, ParseStatus::ok);
  EXPECT_EQ(r.consumed, buf.size());
  EXPECT_EQ(sink.rsv_seen, 0x40);
  EXPECT_FALSE(p.in_message());
}

TEST(FrameParser, ValidCloseCodes) {
  for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999}) {
    const Outcome o = run_whole(frame(Opcode::close, close_payload(code, "why")));
    EXPECT_EQ(o.status, ParseStatus::closed) << code;
  }
}

TEST(FrameParser, HeaderErrorsAreReportedFromTheFirstRevealingByte) {
  // A reserved opcode is refused with one byte in hand, not after waiting
  // for a whole header that may never come.
  FrameParser p;
  Recorder sink;
  uint8_t one[1] = {0x83};
  const ParseResult r = p.feed(one, sink, ParserConfig{});
  EXPECT_EQ(r.status, ParseStatus::error);
  EXPECT_EQ(r.close_code, 1002);
  FrameParser q;
  uint8_t two[2] = {0x81, 0x05};  // unmasked
  EXPECT_EQ(q.feed(two, sink, ParserConfig{}).close_code, 1002);
}

// ---------------------------------------------------------------- limits

TEST(FrameParser, MaxMessageBytesBoundary) {
  ParserConfig cfg;
  cfg.max_message_bytes = 100;
  EXPECT_EQ(run_whole(frame(Opcode::binary, filled(100)), cfg).events, (std::vector<Event>{msg(Opcode::binary, filled(100))}));
  const Outcome over = run_whole(frame(Opcode::binary, filled(101)), cfg);
  EXPECT_EQ(over.status, ParseStatus::error);
  EXPECT_EQ(over.close_code, 1009);
  EXPECT_TRUE(over.events.empty());

  const Bytes fragments_ok = cat({frame(Opcode::binary, filled(40), false), frame(Opcode::ping, filled(100)),
                                  frame(Opcode::continuation, filled(60), true)});
  const Outcome ok = run_whole(fragments_ok, cfg);
  EXPECT_EQ(ok.status, ParseStatus::ok);
  ASSERT_EQ(ok.events.size(), 2u) << "control frames do not count toward the message size";
  expect_split_invariant(fragments_ok, cfg);

  // The count restarts with each message.
  const Bytes two = cat({frame(Opcode::text, Bytes(100, 'a')), frame(Opcode::text, Bytes(100, 'b'))});
  EXPECT_EQ(run_whole(two, cfg).events.size(), 2u);

  const Bytes fragments_over = cat({frame(Opcode::binary, filled(40), false), frame(Opcode::continuation, filled(61), true)});
  const Outcome o = run_whole(fragments_over, cfg);
  EXPECT_EQ(o.close_code, 1009);
  expect_split_invariant(fragments_over, cfg);
}

TEST(FrameParser, TooBigIsDetectedFromTheHeaderAlone) {
  ParserConfig cfg;
  cfg.max_message_bytes = 1000;
  // Only the header of a 1 MiB frame: the error must not wait for payload.
  Bytes hdr{0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0x10, 0, 0};
  FrameParser p;
  Recorder sink;
  const ParseResult r = p.feed(hdr, sink, cfg);  // no mask key yet, even
  EXPECT_EQ(r.status, ParseStatus::error);
  EXPECT_EQ(r.close_code, 1009);
  EXPECT_EQ(sink.data_calls, 0u);
}

TEST(FrameParser, InvalidUtf8FailsFastMidMessage) {
  // A 1000-byte text frame whose 6th byte is impossible: the error comes with
  // the first 10 bytes of payload, long before the message ends.
  Bytes payload(1000, 'a');
  payload[5] = 0xF5;
  const Bytes wire = frame(Opcode::text, payload);
  const size_t header = wire.size() - payload.size();
  FrameParser p;
  Recorder sink;
  Bytes first(wire.begin(), wire.begin() + static_cast<ptrdiff_t>(header + 3));
  ParseResult r = p.feed(first, sink, ParserConfig{});
  EXPECT_EQ(r.status, ParseStatus::ok);
  EXPECT_EQ(sink.partial, bytes("aaa"));
  Bytes next(wire.begin() + static_cast<ptrdiff_t>(header + 3), wire.begin() + static_cast<ptrdiff_t>(header + 10));
  r = p.feed(next, sink, ParserConfig{});
  EXPECT_EQ(r.status, ParseStatus::error);
  EXPECT_EQ(r.close_code, 1007);
  EXPECT_EQ(sink.partial, bytes("aaa")) << "the bad chunk is not delivered";

  // Across fragments: the first fragment already makes the message impossible.
  const Bytes frag = frame(Opcode::text, bytes("ok\xED\xA0"), false);
  FrameParser q;
  Recorder s2;
  Bytes buf = frag;
  r = q.feed(buf, s2, ParserConfig{});
  EXPECT_EQ(r.status, ParseStatus::error);
  EXPECT_EQ(r.close_code, 1007);
}

TEST(FrameParser, Utf8ValidationCanBeTurnedOff) {
  ParserConfig cfg;
  cfg.validate_utf8 = false;
  const Outcome o = run_whole(frame(Opcode::text, bytes("\xFF\xC0")), cfg);
  EXPECT_EQ(o.status, ParseStatus::ok);
  EXPECT_EQ(o.events.size(), 1u);
  // Close reasons are still checked.
  EXPECT_EQ(run_whole(frame(Opcode::close, close_payload(1000, "\xFF")), cfg).close_code, 1007);
}

// ---------------------------------------------------------------- contract

TEST(FrameParser, ConsumptionContract) {
  FrameParser p;
  Recorder sink;
  ParserConfig cfg;
  // A partial header is not consumed.
  Bytes ping = frame(Opcode::ping, filled(125));
  Bytes part(ping.begin(), ping.begin() + 5);
  ParseResult r = p.feed(part, sink, cfg);
  EXPECT_EQ(r.status, ParseStatus::ok);
  EXPECT_EQ(r.consumed, 0u);
  // A complete control header without all its payload is not consumed either.
  part.assign(ping.begin(), ping.end() - 1);
  r = p.feed(part, sink, cfg);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_TRUE(sink.events.empty());
  // The longest tail: a 64-bit-length masked control header + 124 of 125 bytes.
  Bytes longest = raw_frame(0x89, filled(125), true, LenForm::ext64);
  EXPECT_EQ(longest.size(), kMaxUnconsumedTail);
  longest.pop_back();
  r = p.feed(longest, sink, cfg);
  EXPECT_EQ(r.consumed, 0u);
  // Data headers are consumed once complete, payload as it comes.
  Bytes data = frame(Opcode::binary, filled(50));
  Bytes head(data.begin(), data.begin() + 6 + 20);
  r = p.feed(head, sink, cfg);
  EXPECT_EQ(r.consumed, head.size());
  EXPECT_TRUE(p.in_message());
  EXPECT_EQ(sink.partial, Bytes(filled(20)));
}

TEST(FrameParser, StopAndResume) {
  const Bytes wire = cat({frame(Opcode::text, bytes("one")), frame(Opcode::ping, bytes("p")),
                          frame(Opcode::binary, bytes("two"), false), frame(Opcode::continuation, bytes("!"))});
  const Outcome expected = run_whole(wire);
  for (size_t stop = 0; stop < 4; ++stop) {
    // run() re-feeds the unconsumed remainder after `stopped`.
    expect_same(run(wire, {}, ParserConfig{}, nullptr, stop), expected, "stop at " + std::to_string(stop));
  }
  FrameParser p;
  Recorder sink;
  sink.stop_at_call = 0;
  Bytes buf = wire;
  const ParseResult r = p.feed(buf, sink, ParserConfig{});
  EXPECT_EQ(r.status, ParseStatus::stopped);
  EXPECT_EQ(r.consumed, frame(Opcode::text, bytes("one")).size());
}

TEST(FrameParser, CloseEndsParsingEvenIfSinkStops) {
  const Bytes wire = cat({frame(Opcode::close, close_payload(1000)), frame(Opcode::text, bytes("x"))});
  FrameParser p;
  Recorder sink;
  sink.stop_at_call = 0;
  Bytes buf = wire;
  ParseResult r = p.feed(buf, sink, ParserConfig{});
  EXPECT_EQ(r.status, ParseStatus::closed);
  EXPECT_EQ(r.consumed, 8u);
  r = p.feed(buf, sink, ParserConfig{});
  EXPECT_EQ(r.status, ParseStatus::closed);
  EXPECT_EQ(r.consumed, 0u);
  p.reset();
  Bytes text = frame(Opcode::text, bytes("x"));
  EXPECT_EQ(p.feed(text, sink, ParserConfig{}).status, ParseStatus::ok);
}

TEST(FrameParser, ContinuationChunksCarryTheMessageOpcode) {
  struct Sink {
    std::vector<Opcode> ops;
    bool on_data(Opcode op, std::span<const uint8_t>, bool) {
      ops.push_back(op);
      return true;
    }
    bool on_control(Opcode, std::span<const uint8_t>) { return true; }
  } sink;
  Bytes wire = cat({frame(Opcode::binary, bytes("a"), false), frame(Opcode::continuation, bytes("b"), false),
                    frame(Opcode::continuation, bytes("c"))});
  FrameParser p;
  EXPECT_EQ(p.feed(wire, sink, ParserConfig{}).status, ParseStatus::ok);
  EXPECT_EQ(sink.ops, (std::vector<Opcode>{Opcode::binary, Opcode::binary, Opcode::binary}));
}

TEST(FrameParser, StateIsSmall) {
  static_assert(sizeof(FrameParser) <= 32);
  EXPECT_LE(sizeof(FrameParser), 24u);
}

TEST(FrameParser, GuardPageEveryPrefix) {
  // Every prefix of a mixed stream sits right before a PROT_NONE page: a
  // read past the end of any partial header or payload faults.
  const Bytes wire = cat({raw_frame(0x82, filled(300), true, LenForm::ext64), frame(Opcode::ping, filled(125)),
                          frame(Opcode::text, bytes("x"), false), frame(Opcode::continuation, bytes("y")),
                          frame(Opcode::close, close_payload(1000, "r"))});
  GuardBuffer guard(wire.size());
  for (size_t n = 0; n <= wire.size(); ++n) {
    Bytes copy(wire.begin(), wire.begin() + static_cast<ptrdiff_t>(n));
    std::span<uint8_t> in = guard.place(copy.data(), n);
    FrameParser p;
    Recorder sink;
    const ParseResult r = p.feed(in, sink, ParserConfig{});
    EXPECT_NE(r.status, ParseStatus::error) << n;
  }
}

TEST(FrameParser, RandomStreamsMatchAcrossRandomSplits) {
  // Random valid streams (random masks, fragments, interleaved controls)
  // fed in random chunks give the events of the whole-buffer run.
  std::mt19937 rng(12345);
  for (int iter = 0; iter < 300; ++iter) {
    Bytes wire;
    std::vector<Event> expected;
    const int messages = static_cast<int>(rng() % 5) + 1;
    for (int m = 0; m < messages; ++m) {
      const Opcode op = rng() % 2 ? Opcode::text : Opcode::binary;
      const int frags = static_cast<int>(rng() % 4) + 1;
      Bytes whole;
      for (int f = 0; f < frags; ++f) {
        Bytes part(rng() % 300);
        for (auto& b : part) b = op == Opcode::text ? static_cast<uint8_t>('a' + rng() % 26) : static_cast<uint8_t>(rng());
        uint8_t key[4];
        for (auto& k : key) k = static_cast<uint8_t>(rng());
        if (rng() % 3 == 0) {
          Bytes pl(rng() % 126, 'p');
          wire = cat({wire, raw_frame(0x8A, pl, true, static_cast<LenForm>(rng() % 3), UINT64_MAX, key)});
          expected.push_back(ctl(Opcode::pong, pl));
        }
        const uint8_t first = static_cast<uint8_t>(f == 0 ? static_cast<uint8_t>(op) : 0);
        wire = cat({wire, raw_frame(static_cast<uint8_t>((f == frags - 1 ? 0x80 : 0) | first), part, true,
                                    static_cast<LenForm>(rng() % 3), UINT64_MAX, key)});
        whole = cat({whole, part});
      }
      expected.push_back(msg(op, whole));
    }
    std::vector<size_t> cuts;
    for (size_t at = 0; at < wire.size(); at += rng() % 40) cuts.push_back(at);
    const Outcome o = run(wire, cuts);
    ASSERT_EQ(o.events, expected) << iter;
    EXPECT_EQ(o.status, ParseStatus::ok);
  }
}

}  // namespace
}  // namespace ringcast::ws::test
