// The subcommands. Each takes argv with argv[0] = the mode name and returns
// the process exit status: 0 ok, 1 the run found a problem (mismatch, loss,
// gap, failed connection...), 2 bad usage, 3 could not set up.
#pragma once

namespace load {

int mode_echo(int argc, char** argv);
int mode_rate(int argc, char** argv);
int mode_fanout(int argc, char** argv);
int mode_connect(int argc, char** argv);
int mode_idle(int argc, char** argv);
int mode_api_publish(int argc, char** argv);
int mode_request(int argc, char** argv);

inline constexpr int kExitOk = 0;
inline constexpr int kExitProblem = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitSetup = 3;

}  // namespace load
