// GET /metrics: the worker reactors' counters (protocol::ReactorStats, one
// per reactor, indexed by reactor) and the API node's own, in the Prometheus
// text exposition format 0.0.4. Per reactor (label reactor="i") where the
// spread between reactors matters: open connections, messages in and out,
// mesh spill and output queue depth; summed over reactors otherwise. Pure.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>

#include "protocol/control.hpp"

namespace ringcast::api {

// The API node's own counters.
struct ApiNodeStats {
  std::map<int, uint64_t> requests;  // answers sent, by HTTP status
  uint64_t publishes = 0;            // channel publishes framed by the API node (a broadcast counts each
                                     // channel with an audience, as a worker counts its clients' publishes)
  uint64_t stalls = 0;               // requests held back until the mesh drained (backpressure)
};

// Appends the exposition to out.
void metrics_text(std::string& out, std::span<const protocol::ReactorStats> reactors, const ApiNodeStats& api);

// Microseconds as seconds, exact and without exponent: 25 -> "0.000025", 2500000 -> "2.5".
void append_seconds(std::string& out, uint64_t us);

}  // namespace ringcast::api
