// The summary of an echo or rate run, and whether it passed.
#pragma once

#include "echo_run.hpp"
#include "report.hpp"

namespace load {

// mode: "echo" or "rate". Sets ok / problems: any mismatch, lost echo, lost
// or failed connection, protocol error or unclean close fails the run.
Report echo_report(const char* mode, const EchoRunSpec& s, const EchoRunResult& r);

}  // namespace load
