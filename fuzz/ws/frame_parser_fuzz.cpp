// libFuzzer target for ws::FrameParser.
//
// Input layout: byte 0 = flags, byte 1 = message size limit, bytes 2..5 =
// chunk sizes, the rest = body.
//   flags bit 0: structure-aware mode: the body drives a generator of
//                mostly-valid frame sequences with known expected events;
//                otherwise the body is fed to the parser as raw wire bytes.
//   bit 1: client mode (expect_masked = false); bit 2: RSV1 allowed;
//   bit 3: UTF-8 validation off; bits 4..7: the sink stops every Nth call.
//
// Every input is parsed twice: whole, and in chunks (sizes cycling through
// bytes 2..5) the way the connection does it, keeping and re-feeding the
// unconsumed tail, each feed in an exact-size heap copy so ASan sees any
// over-read. Both runs must give the same events and end (and, in structured
// mode, exactly the generator's), and the sink checks each event's invariants.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "../../tests/unit/ws/utf8_reference.hpp"
#include "../fuzz_check.hpp"
#include "ws/close_code.hpp"
#include "ws/frame_parser.hpp"
#include "ws/frame_writer.hpp"
#include "ws/mask.hpp"

namespace {

using namespace ringcast::ws;
using Bytes = std::vector<uint8_t>;


struct Event {
  char kind;  // 'M' message, 'C' control
  uint8_t op;
  Bytes payload;
  bool operator==(const Event&) const = default;
};

struct Transcript {
  std::vector<Event> events;
  Bytes partial;  // payload of the message in progress
  ParseStatus status = ParseStatus::ok;
  uint16_t close_code = 0;
  Bytes tail;
};

struct Sink {
  const ParserConfig& cfg;
  const FrameParser& parser;
  Transcript& t;
  unsigned stop_every;
  const uint8_t* buf_begin = nullptr;
  const uint8_t* buf_end = nullptr;
  unsigned calls = 0;

  bool inside(std::span<const uint8_t> s) const {
    return s.empty() || (s.data() >= buf_begin && s.data() + s.size() <= buf_end);
  }
  bool go() { return stop_every == 0 || ++calls % stop_every != 0; }

  bool on_data(Opcode op, std::span<const uint8_t> chunk, bool complete) {
    FUZZ_CHECK(op == Opcode::text || op == Opcode::binary);
    FUZZ_CHECK(inside(chunk));
    FUZZ_CHECK(complete || !chunk.empty());
    t.partial.insert(t.partial.end(), chunk.begin(), chunk.end());
    FUZZ_CHECK(t.partial.size() <= cfg.max_message_bytes);
    const bool checked = op == Opcode::text && cfg.validate_utf8 && parser.message_rsv() == 0;
    if (checked && t.partial.size() <= 512) {
      FUZZ_CHECK(reference::utf8_prefix_ok(t.partial.data(), t.partial.size()));
    }
    if (complete) {
      if (checked) FUZZ_CHECK(reference::utf8_valid(t.partial.data(), t.partial.size()));
      t.events.push_back({'M', static_cast<uint8_t>(op), t.partial});
      t.partial.clear();
    }
    return go();
  }

  bool on_control(Opcode op, std::span<const uint8_t> payload) {
    FUZZ_CHECK(op == Opcode::ping || op == Opcode::pong || op == Opcode::close);
    FUZZ_CHECK(inside(payload));
    FUZZ_CHECK(payload.size() <= kMaxControlPayload);
    if (op == Opcode::close && !payload.empty()) {
      FUZZ_CHECK(payload.size() >= 2);
      FUZZ_CHECK(close_code_valid(static_cast<uint16_t>(payload[0] << 8 | payload[1])));
      FUZZ_CHECK(reference::utf8_valid(payload.data() + 2, payload.size() - 2));
    }
    t.events.push_back({'C', static_cast<uint8_t>(op), Bytes(payload.begin(), payload.end())});
    return go();
  }
};

// Feeds `wire` in chunks as a connection would. chunk_sizes empty = at once.
Transcript run(const Bytes& wire, const uint8_t* chunk_sizes, size_t n_sizes, const ParserConfig& cfg,
               unsigned stop_every) {
  Transcript t;
  FrameParser parser;
  Sink sink{cfg, parser, t, stop_every};
  Bytes pending;
  size_t pos = 0;
  size_t which = 0;
  while (pos < wire.size() || !pending.empty()) {
    if (pos < wire.size()) {
      size_t n = wire.size() - pos;
      if (n_sizes) {
        const size_t want = chunk_sizes[which++ % n_sizes];
        if (want != 0 && want < n) n = want;
      }
      pending.insert(pending.end(), wire.begin() + static_cast<ptrdiff_t>(pos),
                     wire.begin() + static_cast<ptrdiff_t>(pos + n));
      pos += n;
    }
    for (;;) {
      const size_t size = pending.size();
      std::unique_ptr<uint8_t[]> copy(new uint8_t[size ? size : 1]);
      if (size) std::memcpy(copy.get(), pending.data(), size);
      sink.buf_begin = copy.get();
      sink.buf_end = copy.get() + size;
      const ParseResult r = parser.feed(std::span<uint8_t>(copy.get(), size), sink, cfg);
      FUZZ_CHECK(r.consumed <= size);
      if (r.status == ParseStatus::ok || r.status == ParseStatus::stopped) {
        // Bytes to be fed again must still be exactly as they came off the wire.
        FUZZ_CHECK(std::memcmp(copy.get() + r.consumed, pending.data() + r.consumed, size - r.consumed) == 0);
      }
      pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(r.consumed));
      if (r.status == ParseStatus::stopped) continue;
      if (r.status == ParseStatus::ok) {
        FUZZ_CHECK(r.close_code == 0);
        FUZZ_CHECK(pending.size() <= kMaxUnconsumedTail);
        break;
      }
      if (r.status == ParseStatus::error) {
        FUZZ_CHECK(r.close_code == 1002 || r.close_code == 1007 || r.close_code == 1009);
      } else {
        FUZZ_CHECK(r.close_code == 0);
      }
      uint8_t more[2] = {0x81, 0x80};
      const ParseResult again = parser.feed(std::span<uint8_t>(more, 2), sink, cfg);
      FUZZ_CHECK(again.consumed == 0 && again.status == r.status && again.close_code == r.close_code);
      t.status = r.status;
      t.close_code = r.close_code;
      return t;
    }
    if (pos == wire.size()) break;  // what is left is a tail awaiting bytes that will never come
  }
  t.tail = pending;
  return t;
}

void expect_same(const Transcript& a, const Transcript& b) {
  FUZZ_CHECK(a.events == b.events);
  FUZZ_CHECK(a.status == b.status);
  FUZZ_CHECK(a.close_code == b.close_code);
  FUZZ_CHECK(a.tail == b.tail);
  // A message refused part-way (1007 fail-fast) may have delivered a
  // different valid prefix depending on where chunks ended.
  if (a.status != ParseStatus::error) FUZZ_CHECK(a.partial == b.partial);
}

// ------------------------------------------------------------ structured mode

class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool empty() const { return n_ == 0; }
  uint8_t byte() {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  uint16_t u16() { return static_cast<uint16_t>(byte() << 8 | byte()); }

 private:
  const uint8_t* p_;
  size_t n_;
};

struct Generator {
  Reader& r;
  const ParserConfig& cfg;
  Bytes wire;
  std::vector<Event> expected;
  ParseStatus status = ParseStatus::ok;
  uint16_t code = 0;

  void emit(uint8_t b0, const Bytes& payload, uint64_t declared = UINT64_MAX) {
    const uint64_t len = declared == UINT64_MAX ? payload.size() : declared;
    uint8_t key[4] = {r.byte(), r.byte(), r.byte(), r.byte()};
    uint8_t hdr[kMaxFrameHeader];
    size_t n = write_frame_header(hdr, static_cast<Opcode>(b0 & 0x0F), len, (b0 & 0x80) != 0,
                                  cfg.expect_masked ? key : nullptr, b0 & 0x70);
    if (len <= 0xFFFF && r.byte() % 4 == 0) {
      // Non-minimal 64-bit length, which peers may send.
      hdr[1] = static_cast<uint8_t>((hdr[1] & 0x80) | 127);
      for (int i = 0; i < 8; ++i) hdr[2 + i] = static_cast<uint8_t>(len >> (56 - 8 * i));
      if (cfg.expect_masked) std::memcpy(hdr + 10, key, 4);
      n = cfg.expect_masked ? 14 : 10;
    }
    wire.insert(wire.end(), hdr, hdr + n);
    Bytes body = payload;
    if (cfg.expect_masked) apply_mask(body.data(), body.size(), key, 0);
    wire.insert(wire.end(), body.begin(), body.end());
  }

  Bytes text(size_t approx) {
    Bytes out;
    while (out.size() < approx && !r.empty()) {
      const uint8_t kind = r.byte();
      uint32_t cp;
      switch (kind % 4) {
        case 0: cp = 0x20 + kind % 0x5F; break;
        case 1: cp = 0x80 + r.u16() % 0x780; break;
        case 2: cp = 0x800 + r.u16() % 0xF800; break;
        default: cp = 0x10000 + (static_cast<uint32_t>(r.u16()) << 4 | (kind >> 4)) % 0x100000; break;
      }
      if (cp >= 0xD800 && cp <= 0xDFFF) cp -= 0x800;
      if (cp < 0x80) {
        out.push_back(static_cast<uint8_t>(cp));
      } else if (cp < 0x800) {
        out.insert(out.end(), {static_cast<uint8_t>(0xC0 | cp >> 6), static_cast<uint8_t>(0x80 | (cp & 0x3F))});
      } else if (cp < 0x10000) {
        out.insert(out.end(), {static_cast<uint8_t>(0xE0 | cp >> 12), static_cast<uint8_t>(0x80 | (cp >> 6 & 0x3F)),
                               static_cast<uint8_t>(0x80 | (cp & 0x3F))});
      } else {
        out.insert(out.end(), {static_cast<uint8_t>(0xF0 | cp >> 18), static_cast<uint8_t>(0x80 | (cp >> 12 & 0x3F)),
                               static_cast<uint8_t>(0x80 | (cp >> 6 & 0x3F)), static_cast<uint8_t>(0x80 | (cp & 0x3F))});
      }
    }
    return out;
  }

  Bytes binary(size_t n) {
    Bytes out(n);
    for (auto& b : out) b = r.byte();
    return out;
  }

  void control(Opcode op) {
    const Bytes payload = binary(r.byte() % 126);
    emit(static_cast<uint8_t>(0x80 | static_cast<uint8_t>(op)), payload);
    expected.push_back({'C', static_cast<uint8_t>(op), payload});
  }

  // One data message, fragmented at arbitrary byte positions (so code points
  // straddle frames), with controls between fragments. Returns false when it
  // ended the stream (1009).
  bool message() {
    const uint8_t how = r.byte();
    const bool is_text = how & 1;
    const size_t len = how & 2 ? r.u16() % 3000 : r.byte();
    const Bytes payload = is_text ? text(len) : binary(len);
    const size_t frags = 1 + r.byte() % 4;
    const uint8_t rsv = (how & 4) && cfg.allowed_rsv ? 0x40 : 0;
    size_t at = 0;
    for (size_t f = 0; f < frags; ++f) {
      if (f > 0 && r.byte() % 3 == 0) control(r.byte() & 1 ? Opcode::ping : Opcode::pong);
      const size_t end = f + 1 == frags ? payload.size() : at + (payload.size() - at ? r.u16() % (payload.size() - at + 1) : 0);
      const uint8_t op = f == 0 ? (is_text ? 0x1 : 0x2) : 0x0;
      emit(static_cast<uint8_t>((f + 1 == frags ? 0x80 : 0) | (f == 0 ? rsv : 0) | op),
           Bytes(payload.begin() + static_cast<ptrdiff_t>(at), payload.begin() + static_cast<ptrdiff_t>(end)));
      if (end > cfg.max_message_bytes) {
        status = ParseStatus::error;
        code = 1009;
        return false;
      }
      at = end;
    }
    expected.push_back({'M', static_cast<uint8_t>(is_text ? 0x1 : 0x2), payload});
    return true;
  }

  // A protocol violation; always ends the stream.
  void violation() {
    status = ParseStatus::error;
    code = 1002;
    const uint8_t which = r.byte();
    switch (which % 10) {
      case 0: emit(static_cast<uint8_t>(0x80 | (3 + which / 16 % 5)), {}); break;   // reserved data opcode
      case 1: emit(static_cast<uint8_t>(0x80 | (0xB + which / 16 % 5)), {}); break; // reserved control opcode
      case 2: emit(0xA1, binary(3)); break;                                          // RSV2
      case 3: emit(0x89, binary(126)); break;                                        // control too long
      case 4: emit(0x09, binary(3)); break;                                          // fragmented ping
      case 5: emit(0x80, binary(3)); break;                                          // continuation, no message
      case 6: emit(0x88, Bytes{0x03}); break;                                        // close payload of 1
      case 7: {
        const uint16_t bad[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 0xFFFF};
        const uint16_t c = bad[which / 16 % 10];
        emit(0x88, Bytes{static_cast<uint8_t>(c >> 8), static_cast<uint8_t>(c)});
        break;
      }
      case 8: {
        emit(0x01, text(r.byte() % 8));
        emit(0x82, binary(2));  // new message inside a fragmented one
        break;
      }
      default: {
        Bytes bad = text(r.byte() % 8);
        bad.push_back(0xFF);
        emit(0x81, bad);
        if (!cfg.validate_utf8) {
          status = ParseStatus::ok;
          code = 0;
          expected.push_back({'M', 0x1, bad});
        } else {
          code = 1007;
        }
        break;
      }
    }
  }

  void build() {
    while (!r.empty() && wire.size() < (1u << 16)) {
      const uint8_t choice = r.byte();
      switch (choice % 16) {
        case 0: control(Opcode::ping); break;
        case 1: control(Opcode::pong); break;
        case 2: {
          // A valid close ends the stream; bytes after it must be ignored.
          const uint16_t good[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1011, 1013, 1014, 3000, 4999};
          uint8_t payload[kMaxControlPayload];
          const Bytes reason = text(r.byte() % 60);
          const size_t n = write_close_payload(
              payload, good[r.byte() % 12],
              std::string_view(reinterpret_cast<const char*>(reason.data()), reason.size()));
          const Bytes p = choice & 0x10 ? Bytes{} : Bytes(payload, payload + n);
          emit(0x88, p);
          expected.push_back({'C', 0x8, p});
          status = ParseStatus::closed;
          const Bytes junk = binary(r.byte() % 16);
          wire.insert(wire.end(), junk.begin(), junk.end());
          return;
        }
        case 3:
          if (choice & 0x80) {
            violation();
            return;
          }
          break;
        default:
          if (!message()) return;
      }
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 6) return 0;
  const uint8_t flags = data[0];
  ParserConfig cfg;
  cfg.expect_masked = (flags & 2) == 0;
  cfg.allowed_rsv = flags & 4 ? 0x40 : 0;
  cfg.validate_utf8 = (flags & 8) == 0;
  if (data[1] != 0) cfg.max_message_bytes = uint64_t{data[1]} * 16;
  const uint8_t* sizes = data + 2;
  const unsigned stop_every = flags >> 4;
  const uint8_t* body = data + 6;
  const size_t body_size = size - 6;

  if (flags & 1) {
    Reader reader(body, body_size);
    Generator g{reader, cfg, {}, {}, ParseStatus::ok, 0};
    g.build();
    const Transcript whole = run(g.wire, nullptr, 0, cfg, 0);
    FUZZ_CHECK(whole.events == g.expected);
    FUZZ_CHECK(whole.status == g.status);
    FUZZ_CHECK(whole.close_code == g.code);
    if (g.status == ParseStatus::ok) FUZZ_CHECK(whole.tail.empty() && whole.partial.empty());
    expect_same(whole, run(g.wire, sizes, 4, cfg, stop_every));
  } else {
    const Bytes wire(body, body + body_size);
    expect_same(run(wire, nullptr, 0, cfg, 0), run(wire, sizes, 4, cfg, stop_every));
  }
  return 0;
}
