#include "app/cli.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace ringcast::app {
namespace {

// Runs parse_cli on {"ringcast", args...}.
struct Parsed {
  CliOptions opts;
  std::string error;
};

Parsed run(std::initializer_list<const char*> args) {
  std::vector<std::string> storage{"ringcast"};
  for (const char* a : args) storage.emplace_back(a);
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  Parsed r;
  r.error = parse_cli(int(storage.size()), argv.data(), r.opts);
  return r;
}

TEST(Cli, NoArguments) {
  const Parsed r = run({});
  EXPECT_EQ(r.error, "");
  EXPECT_FALSE(r.opts.config_path);
  EXPECT_FALSE(r.opts.listen);
  EXPECT_FALSE(r.opts.threads);
  EXPECT_FALSE(r.opts.help);
  EXPECT_FALSE(r.opts.version);
  EXPECT_FALSE(r.opts.print_config);
}

TEST(Cli, BooleanFlags) {
  EXPECT_TRUE(run({"--help"}).opts.help);
  EXPECT_TRUE(run({"-h"}).opts.help);
  EXPECT_TRUE(run({"--version"}).opts.version);
  EXPECT_TRUE(run({"--print-config"}).opts.print_config);
  const Parsed r = run({"--version", "--print-config"});
  EXPECT_EQ(r.error, "");
  EXPECT_TRUE(r.opts.version);
  EXPECT_TRUE(r.opts.print_config);
  EXPECT_FALSE(r.opts.help);
}

TEST(Cli, Config) {
  Parsed r = run({"--config", "/etc/ringcast.toml"});
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.opts.config_path, "/etc/ringcast.toml");
  r = run({"--config=/tmp/a=b.toml"});  // only the first '=' splits
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.opts.config_path, "/tmp/a=b.toml");
}

TEST(Cli, Listen) {
  Parsed r = run({"--listen", "127.0.0.1:0"});
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.opts.listen, "127.0.0.1:0");
  r = run({"--listen=[::1]:9000"});
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.opts.listen, "[::1]:9000");
}

TEST(Cli, Threads) {
  Parsed r = run({"--threads", "4"});
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.opts.threads, 4u);
  r = run({"--threads=0"});
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.opts.threads, 0u) << "0 = one per core, set explicitly";
  r = run({"--threads", "64"});
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.opts.threads, 64u);
}

TEST(Cli, ThreadsOutOfRangeOrNotANumber) {
  for (const char* v : {"65", "-1", "4x", "x", "", " 4", "4 ", "+4", "1e3", "99999999999"}) {
    const Parsed r = run({"--threads", v});
    EXPECT_EQ(r.error, "--threads: expected a number from 0 to 64, got \"" + std::string(v) + "\"") << v;
    EXPECT_FALSE(r.opts.threads) << v;
  }
  const Parsed r = run({"--threads=300"});
  EXPECT_EQ(r.error, "--threads: expected a number from 0 to 64, got \"300\"");
}

TEST(Cli, MissingValues) {
  EXPECT_EQ(run({"--config"}).error, "--config: missing FILE");
  EXPECT_EQ(run({"--listen"}).error, "--listen: missing HOST:PORT");
  EXPECT_EQ(run({"--threads"}).error, "--threads: missing N");
  EXPECT_EQ(run({"--version", "--threads"}).error, "--threads: missing N");
}

TEST(Cli, UnknownOptions) {
  EXPECT_EQ(run({"--bogus"}).error, "unknown option \"--bogus\" (see --help)");
  EXPECT_EQ(run({"--bogus=1"}).error, "unknown option \"--bogus\" (see --help)") << "named without its value";
  EXPECT_EQ(run({"-x"}).error, "unknown option \"-x\" (see --help)");
  EXPECT_EQ(run({"config.toml"}).error, "unknown option \"config.toml\" (see --help)");
  EXPECT_EQ(run({"--Help"}).error, "unknown option \"--Help\" (see --help)");
  EXPECT_EQ(run({"--threads", "2", "--nope"}).error, "unknown option \"--nope\" (see --help)");
}

TEST(Cli, AllTogetherAndLastWins) {
  const Parsed r = run({"--config", "a.toml", "--listen=0.0.0.0:1", "--threads", "2", "--config=b.toml",
                     "--threads=3"});
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.opts.config_path, "b.toml");
  EXPECT_EQ(r.opts.listen, "0.0.0.0:1");
  EXPECT_EQ(r.opts.threads, 3u);
}

TEST(Cli, ValueMayLookLikeAFlag) {
  // A separate value is taken as is, even if it starts with "--".
  const Parsed r = run({"--config", "--weird-name.toml"});
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.opts.config_path, "--weird-name.toml");
}

TEST(Cli, UsageMentionsEveryFlag) {
  const std::string usage = kUsage;
  for (const char* flag : {"--config", "--listen", "--threads", "--print-config", "--version", "--help"}) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace ringcast::app
