// The connection-level part of every mode's report: the `connections`
// section, the problems its counters mean, and whether there were any.
#pragma once

#include "engine_stats.hpp"
#include "report.hpp"

namespace load {

// The `connections` section, the same in every mode.
void engine_section(Report& rep, const EngineStats& e);
// Adds a problem for each engine counter that means something went wrong.
void engine_problems(Report& rep, const EngineStats& e);
// No failed connect or handshake, protocol error, drop, server close or
// unclean close: nothing engine_problems() would list.
bool engine_clean(const EngineStats& e);

}  // namespace load
