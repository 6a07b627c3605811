// ISO 8601 UTC timestamps with milliseconds ("2026-11-25T10:57:17.123Z"),
// as the seeds' server messages carry them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringcast::protocol {

constexpr size_t kTimestampLength = 24;

// Writes exactly kTimestampLength bytes (no terminator). The date part is
// cached per thread and recomputed once per second, not per message.
void format_timestamp(uint64_t wall_ms, char* out);

}  // namespace ringcast::protocol
