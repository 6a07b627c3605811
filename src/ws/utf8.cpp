#include "ws/utf8.hpp"

#include <array>
#include <cstring>

namespace ringcast::ws {
namespace {

// A DFA over byte classes, in the style of Bjoern Hoehrmann's decoder. Each
// state knows exactly which byte range may come next, which is what makes it
// fail at the first impossible byte rather than at the end of a sequence.
enum Class : uint8_t {
  kAscii,      // 00..7F
  kCont80,     // 80..8F
  kCont90,     // 90..9F
  kContA0,     // A0..BF
  kBad,        // C0, C1 (always overlong), F5..FF (beyond U+10FFFF)
  kLead2,      // C2..DF
  kLeadE0,     // E0: second byte A0..BF, else overlong
  kLead3,      // E1..EC, EE, EF
  kLeadED,     // ED: second byte 80..9F, else surrogate
  kLeadF0,     // F0: second byte 90..BF, else overlong
  kLead4,      // F1..F3
  kLeadF4,     // F4: second byte 80..8F, else above U+10FFFF
  kClasses
};

enum State : uint8_t {
  kAccept,
  kReject,
  kNeed1,      // one continuation byte left
  kNeed2,      // two left, any continuation
  kNeedE0,     // two left, next must be A0..BF
  kNeedED,     // two left, next must be 80..9F
  kNeed3,      // three left, any continuation
  kNeedF0,     // three left, next must be 90..BF
  kNeedF4,     // three left, next must be 80..8F
  kStates
};

constexpr std::array<uint8_t, 256> make_classes() {
  std::array<uint8_t, 256> c{};
  for (int b = 0; b < 256; ++b) {
    uint8_t k = kBad;
    if (b < 0x80) k = kAscii;
    else if (b < 0x90) k = kCont80;
    else if (b < 0xA0) k = kCont90;
    else if (b < 0xC0) k = kContA0;
    else if (b < 0xC2) k = kBad;
    else if (b < 0xE0) k = kLead2;
    else if (b == 0xE0) k = kLeadE0;
    else if (b == 0xED) k = kLeadED;
    else if (b < 0xF0) k = kLead3;
    else if (b == 0xF0) k = kLeadF0;
    else if (b < 0xF4) k = kLead4;
    else if (b == 0xF4) k = kLeadF4;
    c[static_cast<size_t>(b)] = k;
  }
  return c;
}

using Table = std::array<std::array<uint8_t, kClasses>, kStates>;

constexpr Table make_transitions() {
  Table t{};
  for (auto& row : t) row.fill(kReject);
  t[kAccept][kAscii] = kAccept;
  t[kAccept][kLead2] = kNeed1;
  t[kAccept][kLeadE0] = kNeedE0;
  t[kAccept][kLead3] = kNeed2;
  t[kAccept][kLeadED] = kNeedED;
  t[kAccept][kLeadF0] = kNeedF0;
  t[kAccept][kLead4] = kNeed3;
  t[kAccept][kLeadF4] = kNeedF4;
  for (uint8_t k : {kCont80, kCont90, kContA0}) {
    t[kNeed1][k] = kAccept;
    t[kNeed2][k] = kNeed1;
    t[kNeed3][k] = kNeed2;
  }
  t[kNeedE0][kContA0] = kNeed1;
  t[kNeedED][kCont80] = kNeed1;
  t[kNeedED][kCont90] = kNeed1;
  t[kNeedF0][kCont90] = kNeed2;
  t[kNeedF0][kContA0] = kNeed2;
  t[kNeedF4][kCont80] = kNeed2;
  return t;
}

constexpr std::array<uint8_t, 256> kClassOf = make_classes();
constexpr Table kNext = make_transitions();

constexpr uint64_t kHighBits = 0x8080808080808080ull;

inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Length of the valid multi-byte sequence at p, or 0 if there is none (bad
// or cut off by the end of the buffer). Plain range checks: cheaper than
// walking the DFA byte by byte when the whole sequence is in hand.
inline size_t whole_sequence(const uint8_t* p, size_t avail) {
  const uint8_t c = p[0];
  if (c >= 0xC2 && c <= 0xDF) return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (avail < 3) return 0;
    const uint8_t lo = c == 0xE0 ? 0xA0 : 0x80;  // E0 80..9F would be overlong
    const uint8_t hi = c == 0xED ? 0x9F : 0xBF;  // ED A0..BF would be a surrogate
    return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (avail < 4) return 0;
    const uint8_t lo = c == 0xF0 ? 0x90 : 0x80;  // F0 80..8F would be overlong
    const uint8_t hi = c == 0xF4 ? 0x8F : 0xBF;  // F4 90.. would pass U+10FFFF
    return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80 ? 4 : 0;
  }
  return 0;
}

}  // namespace

bool Utf8Validator::feed(const uint8_t* p, size_t n) {
  uint8_t s = state_;
  size_t i = 0;
  // Finish a sequence that an earlier feed left open.
  while (s > kReject && i < n) s = kNext[s][kClassOf[p[i++]]];
  while (s == kAccept && i < n) {
    // Chat traffic is mostly ASCII: skip it 16 bytes per step, two
    // independent loads so the OR and test pipeline well.
    while (i + 16 <= n && ((load64(p + i) | load64(p + i + 8)) & kHighBits) == 0) i += 16;
    if (i == n) break;
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    if (const size_t len = whole_sequence(p + i, n - i)) {
      i += len;
      continue;
    }
    // Invalid or cut off by the end of the buffer: the DFA decides, failing
    // at exactly the first impossible byte or keeping the open sequence.
    do {
      s = kNext[s][kClassOf[p[i++]]];
    } while (s > kReject && i < n);
  }
  state_ = s;
  return s != kReject;
}

bool utf8_valid(const uint8_t* p, size_t n) {
  Utf8Validator v;
  return v.feed(p, n) && v.complete();
}

}  // namespace ringcast::ws
