// The live progress line on stderr, once a second.
//
// Reads only the Live counter blocks the workers publish (relaxed atomics),
// so printing never stalls a worker. `sent_label`/`done_label` name what a
// mode counts there ("sent", "echoed"; "published", "delivered"); a null
// label hides the column.
#pragma once

#include "live.hpp"

#include <cstdint>
#include <vector>

namespace load {

struct LiveTotals {
  uint64_t open = 0, handshakes = 0, failures = 0, sent = 0, done = 0, errors = 0;
};

LiveTotals sum_live(const std::vector<const Live*>& blocks);

class Progress {
 public:
  Progress(bool quiet, const char* sent_label, const char* done_label)
      : quiet_(quiet), sent_label_(sent_label), done_label_(done_label) {}

  // Call often; prints when a second has passed since the last line.
  // `phase` is a short word ("setup", "run", "drain", "hold").
  void maybe_print(const std::vector<const Live*>& blocks, const char* phase, uint64_t target_conns);
  void finish_line();  // ends the line if one is showing

 private:
  bool quiet_;
  const char* sent_label_;
  const char* done_label_;
  uint64_t t0_ = 0, last_ = 0;
  LiveTotals prev_{};
  bool printed_ = false;
};

}  // namespace load
