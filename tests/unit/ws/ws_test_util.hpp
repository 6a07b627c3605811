// Frame building, a recording sink and a chunked feeding driver shared by the
// ws unit tests. The driver behaves like the connection: it keeps the
// unconsumed tail, prepends it to the next bytes, and places every feed right
// before a PROT_NONE page so that any over-read crashes.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "ws/frame_parser.hpp"
#include "ws/mask.hpp"

namespace ringcast::ws::test {

using Bytes = std::vector<uint8_t>;

inline Bytes bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

enum class LenForm { minimal, ext16, ext64 };

constexpr uint8_t kKey[4] = {0x37, 0xFA, 0x21, 0x3D};

// One frame as on the wire. b0 is byte 0 verbatim (FIN | RSV | opcode), so
// tests can build any violation.
inline Bytes raw_frame(uint8_t b0, const Bytes& payload, bool masked = true,
                       LenForm form = LenForm::minimal, uint64_t declared_len = UINT64_MAX,
                       const uint8_t* key = kKey) {
  const uint64_t len = declared_len == UINT64_MAX ? payload.size() : declared_len;
  Bytes out{b0};
  const uint8_t m = masked ? 0x80 : 0;
  if (form == LenForm::minimal && len <= 125) {
    out.push_back(static_cast<uint8_t>(m | len));
  } else if (form != LenForm::ext64 && len <= 0xFFFF) {
    out.push_back(m | 126);
    out.push_back(static_cast<uint8_t>(len >> 8));
    out.push_back(static_cast<uint8_t>(len));
  } else {
    out.push_back(m | 127);
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<uint8_t>(len >> (8 * i)));
  }
  Bytes body = payload;
  if (masked) {
    out.insert(out.end(), key, key + 4);
    apply_mask(body.data(), body.size(), key, 0);
  }
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

inline uint8_t b0(Opcode op, bool fin = true) {
  return static_cast<uint8_t>((fin ? 0x80 : 0) | static_cast<uint8_t>(op));
}

inline Bytes frame(Opcode op, const Bytes& payload, bool fin = true, bool masked = true) {
  return raw_frame(b0(op, fin), payload, masked);
}

inline Bytes close_payload(uint16_t code, std::string_view reason = {}) {
  // Sized up front: g++ 12 gives a false -Warray-bounds for insert() here.
  Bytes p(2 + reason.size());
  p[0] = static_cast<uint8_t>(code >> 8);
  p[1] = static_cast<uint8_t>(code);
  if (!reason.empty()) std::memcpy(p.data() + 2, reason.data(), reason.size());
  return p;
}

// A whole message or a control frame, the split-independent view of events.
struct Event {
  char kind;  // 'M' message, 'C' control
  Opcode op;
  Bytes payload;
  bool operator==(const Event&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const Event& e) {
  os << e.kind << static_cast<int>(e.op) << "[" << e.payload.size() << "]";
  return os;
}

inline Event msg(Opcode op, const Bytes& payload) { return {'M', op, payload}; }
inline Event ctl(Opcode op, const Bytes& payload) { return {'C', op, payload}; }

struct Recorder {
  std::vector<Event> events;
  Bytes partial;           // the message being received
  size_t data_calls = 0;
  size_t stop_at_call = SIZE_MAX;  // return false from this call number (0-based)
  size_t calls = 0;

  bool on_data(Opcode op, std::span<const uint8_t> chunk, bool complete) {
    EXPECT_TRUE(op == Opcode::text || op == Opcode::binary);
    EXPECT_TRUE(complete || !chunk.empty()) << "non-final chunks are never empty";
    partial.insert(partial.end(), chunk.begin(), chunk.end());
    ++data_calls;
    if (complete) {
      events.push_back(msg(op, partial));
      partial.clear();
    }
    return calls++ != stop_at_call;
  }
  bool on_control(Opcode op, std::span<const uint8_t> payload) {
    EXPECT_TRUE(is_control(op));
    EXPECT_LE(payload.size(), 125u);
    events.push_back(ctl(op, Bytes(payload.begin(), payload.end())));
    return calls++ != stop_at_call;
  }
};

// Memory whose last usable byte sits right before a PROT_NONE page.
class GuardBuffer {
 public:
  explicit GuardBuffer(size_t capacity) {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    usable_ = (capacity + page_ - 1) / page_ * page_;
    if (usable_ == 0) usable_ = page_;
    void* m = mmap(nullptr, usable_ + page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) std::abort();
    base_ = static_cast<uint8_t*>(m);
    if (mprotect(base_ + usable_, page_, PROT_NONE) != 0) std::abort();
  }
  ~GuardBuffer() { munmap(base_, usable_ + page_); }
  GuardBuffer(const GuardBuffer&) = delete;
  GuardBuffer& operator=(const GuardBuffer&) = delete;

  // Copies n bytes so that they end exactly at the guard page.
  std::span<uint8_t> place(const uint8_t* p, size_t n) {
    if (n > usable_) std::abort();
    uint8_t* dst = base_ + usable_ - n;
    if (n) std::memcpy(dst, p, n);
    return {dst, n};
  }

 private:
  uint8_t* base_ = nullptr;
  size_t page_ = 0;
  size_t usable_ = 0;
};

struct Outcome {
  std::vector<Event> events;
  ParseStatus status = ParseStatus::ok;  // ok if input ran out
  uint16_t close_code = 0;
  Bytes tail;  // unconsumed at the end (as on the wire)
  bool in_message = false;
};

// Feeds `wire` in pieces ending at `cuts` (ascending offsets), honoring the
// tail-refeed contract and checking it on every call.
inline Outcome run(const Bytes& wire, const std::vector<size_t>& cuts, const ParserConfig& cfg = {},
                   GuardBuffer* guard = nullptr, size_t stop_at_call = SIZE_MAX) {
  GuardBuffer local(guard ? 0 : wire.size() + 1);
  GuardBuffer& g = guard ? *guard : local;
  FrameParser parser;
  Recorder sink;
  sink.stop_at_call = stop_at_call;
  Outcome out;
  Bytes pending;
  size_t start = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(wire.size());
  for (size_t end : ends) {
    if (end < start) continue;
    pending.insert(pending.end(), wire.begin() + static_cast<ptrdiff_t>(start),
                   wire.begin() + static_cast<ptrdiff_t>(end));
    start = end;
    for (;;) {
      std::span<uint8_t> in = g.place(pending.data(), pending.size());
      const ParseResult r = parser.feed(in, sink, cfg);
      EXPECT_LE(r.consumed, in.size());
      // The tail is taken from what the parser saw: it must not have
      // modified (e.g. unmasked) bytes it did not consume.
      Bytes tail(in.begin() + static_cast<ptrdiff_t>(r.consumed), in.end());
      if (r.status == ParseStatus::ok) {
        EXPECT_EQ(r.close_code, 0);
        EXPECT_LE(tail.size(), kMaxUnconsumedTail);
        EXPECT_TRUE(std::equal(tail.begin(), tail.end(), pending.end() - static_cast<ptrdiff_t>(tail.size())))
            << "unconsumed bytes were modified";
        pending = tail;
        break;
      }
      if (r.status == ParseStatus::stopped) {
        pending = tail;
        continue;
      }
      out.status = r.status;
      out.close_code = r.close_code;
      if (r.status == ParseStatus::error) {
        EXPECT_TRUE(r.close_code == 1002 || r.close_code == 1007 || r.close_code == 1009);
      } else {
        EXPECT_EQ(r.close_code, 0);
      }
      // Terminal: later input is refused without being looked at.
      uint8_t more[3] = {0x81, 0x80, 0};
      const ParseResult again = parser.feed(std::span<uint8_t>(more, 3), sink, cfg);
      EXPECT_EQ(again.consumed, 0u);
      EXPECT_EQ(again.status, r.status);
      EXPECT_EQ(again.close_code, r.close_code);
      out.events = sink.events;
      out.in_message = parser.in_message();
      return out;
    }
  }
  out.events = sink.events;
  out.tail = pending;
  out.in_message = parser.in_message();
  return out;
}

inline Outcome run_whole(const Bytes& wire, const ParserConfig& cfg = {}) { return run(wire, {}, cfg); }

inline void expect_same(const Outcome& a, const Outcome& b, const std::string& where) {
  EXPECT_EQ(a.events, b.events) << where;
  EXPECT_EQ(a.status, b.status) << where;
  EXPECT_EQ(a.close_code, b.close_code) << where;
  EXPECT_EQ(a.tail, b.tail) << where;
  EXPECT_EQ(a.in_message, b.in_message) << where;
}

// Every two-chunk split (or a subset for big inputs: all cuts near the ends and
// every `stride`-th one in between), then byte by byte; each must match the
// whole-buffer run.
inline void expect_split_invariant(const Bytes& wire, const ParserConfig& cfg = {}, size_t stride = 1) {
  const Outcome whole = run_whole(wire, cfg);
  GuardBuffer guard(wire.size() + 1);
  for (size_t cut = 0; cut <= wire.size(); ++cut) {
    const bool near_end = cut < 300 || wire.size() - cut < 300;
    if (!near_end && cut % stride != 0) continue;
    expect_same(run(wire, {cut}, cfg, &guard), whole, "split at " + std::to_string(cut));
    if (::testing::Test::HasFailure()) return;
  }
  std::vector<size_t> every(wire.size());
  for (size_t i = 0; i < wire.size(); ++i) every[i] = i;
  expect_same(run(wire, every, cfg, &guard), whole, "byte by byte");
}

}  // namespace ringcast::ws::test
