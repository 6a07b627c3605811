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
  EXPECT_FALSE(r.opts.api_listen);
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
  // 63 at most: one bit of the 64-bit reactor mask is kept for the API node.
  r = run({"--threads", "63"});
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.opts.threads, 63u);
  r = run({"--threads=1"});
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.opts.threads, 1u);
}

TEST(Cli, ThreadsOutOfRangeOrNotANumber) {
  for (const char* v : {"64", "65", "-1", "4x", "x", "", " 4", "4 ", "+4", "1e3", "0x10", "99999999999"}) {
    const Parsed r = run({"--threads", v});
    EXPECT_EQ(r.error, "--threads: expected a number from 0 to 63, got \"" + std::string(v) + "\"") << v;
    EXPECT_FALSE(r.opts.threads) << v;
  }
  Parsed r = run({"--threads=300"});
  EXPECT_EQ(r.error, "--threads: expected a number from 0 to 63, got \"300\"");
  r = run({"--threads=64"});
  EXPECT_EQ(r.error, "--threads: expected a number from 0 to 63, got \"64\"") << "the API node's bit";
  EXPECT_FALSE(r.opts.threads);
}

TEST(Cli, ApiListen) {
  Parsed r = run({"--api-listen", "127.0.0.1:9091"});
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.opts.api_listen, "127.0.0.1:9091");
  r = run({"--api-listen=[::1]:0"});
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.opts.api_listen, "[::1]:0");
  // "off" is passed on as is; main() turns it into api.enabled = false.
  r = run({"--api-listen", "off"});
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.opts.api_listen, "off");
  r = run({"--api-listen=off"});
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.opts.api_listen, "off");
  // It touches nothing else.
  EXPECT_FALSE(r.opts.listen);
  EXPECT_FALSE(r.opts.threads);
  EXPECT_FALSE(r.opts.config_path);
  // The last one wins, like the other flags.
  r = run({"--api-listen=off", "--api-listen", "0.0.0.0:9000"});
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.opts.api_listen, "0.0.0.0:9000");
}

TEST(Cli, MissingValues) {
  EXPECT_EQ(run({"--config"}).error, "--config: missing FILE");
  EXPECT_EQ(run({"--listen"}).error, "--listen: missing HOST:PORT");
  EXPECT_EQ(run({"--threads"}).error, "--threads: missing N");
  EXPECT_EQ(run({"--api-listen"}).error, "--api-listen: missing HOST:PORT (or off)");
  EXPECT_EQ(run({"--version", "--threads"}).error, "--threads: missing N");
}

TEST(Cli, UnknownOptions) {
  EXPECT_EQ(run({"--bogus"}).error, "unknown option \"--bogus\" (see --help)");
  EXPECT_EQ(run({"--bogus=1"}).error, "unknown option \"--bogus\" (see --help)") << "named without its value";
  EXPECT_EQ(run({"-x"}).error, "unknown option \"-x\" (see --help)");
  EXPECT_EQ(run({"config.toml"}).error, "unknown option \"config.toml\" (see --help)");
  EXPECT_EQ(run({"--Help"}).error, "unknown option \"--Help\" (see --help)");
  EXPECT_EQ(run({"--api_listen=off"}).error, "unknown option \"--api_listen\" (see --help)");
  EXPECT_EQ(run({"--api"}).error, "unknown option \"--api\" (see --help)");
  EXPECT_EQ(run({"--threads", "2", "--nope"}).error, "unknown option \"--nope\" (see --help)");
}

TEST(Cli, AllTogetherAndLastWins) {
  const Parsed r = run({"--config", "a.toml", "--listen=0.0.0.0:1", "--threads", "2", "--config=b.toml",
                     "--api-listen", "127.0.0.1:1", "--threads=3"});
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.opts.api_listen, "127.0.0.1:1");
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
  for (const char* flag : {"--config", "--listen", "--threads", "--api-listen", "--print-config", "--version", "--help"}) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace ringcast::app
