// UTF-8 validation for text messages and close reasons (RFC 3629, as required
// by RFC 6455 section 8.1).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringcast::ws {

// Incremental validator. Its whole state is one byte so that it can live in
// the per-connection FrameParser; a message may be validated across any
// number of feeds split anywhere, even inside a multi-byte sequence.
//
// Rejects overlong encodings, surrogates (U+D800..U+DFFF), code points above
// U+10FFFF, stray continuation bytes and, via complete(), truncation.
struct Utf8Validator {
  // Returns false as soon as the bytes seen so far (in this and previous
  // feeds since reset) cannot be a prefix of valid UTF-8, i.e. at the first
  // byte that makes it impossible: F4 90, ED A0, C0, F5, E0 80 fail at their
  // second, first, first, second byte respectively. Once false, stays false
  // until reset().
  bool feed(const uint8_t* p, size_t n);
  // True when not in the middle of a multi-byte sequence (and nothing failed).
  bool complete() const { return state_ == 0; }
  void reset() { state_ = 0; }

 private:
  // DFA state: 0 = between code points, 1 = rejected, 2.. = inside a sequence.
  uint8_t state_ = 0;
};

// Whole-buffer check: valid and not truncated.
bool utf8_valid(const uint8_t* p, size_t n);

}  // namespace ringcast::ws
