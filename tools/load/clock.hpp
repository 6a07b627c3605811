// Time and randomness for the load tool.
//
// Every timestamp is CLOCK_MONOTONIC nanoseconds: fanout publishers put it in
// messages and subscribers on the same host subtract it, so all processes and
// threads must read the same clock. Rng is splitmix64: mask keys and payload
// salts need to be unpredictable to a server cache, not to an attacker, so a
// getrandom() seed per thread is enough.
#pragma once

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>

namespace load {

inline uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

inline void sleep_ns(uint64_t ns) {
  timespec ts{time_t(ns / 1'000'000'000u), long(ns % 1'000'000'000u)};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

inline uint64_t random_seed() {
  uint64_t v = 0;
  if (getrandom(&v, sizeof v, 0) != sizeof v) v = now_ns() ^ (uint64_t(getpid()) << 32);
  return v;
}

struct Rng {
  uint64_t s = random_seed();
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

}  // namespace load
