// JSON string escaping for text we echo back inside server messages. The
// input is already-validated UTF-8 (the frame parser checks text messages),
// so only '"', '\\' and control characters need escaping; everything else is
// copied as is. Two passes (size, then write) let callers write the frame
// header before the payload without a temporary copy.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringcast::protocol {

size_t json_escaped_size(const uint8_t* s, size_t n);
// Writes json_escaped_size(s, n) bytes to out; returns the end.
uint8_t* json_escape(uint8_t* out, const uint8_t* s, size_t n);

}  // namespace ringcast::protocol
