// Unmasking client payloads (RFC 6455 5.3), in GB/s, against the byte-at-a-
// time loop it replaces, in the same harness.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "ws/mask.hpp"

namespace {

const uint8_t kKey[4] = {0x37, 0xfa, 0x21, 0x3d};

// The textbook loop: what a per-byte unmask costs.
void mask_bytewise(uint8_t* data, size_t len, const uint8_t key[4], size_t key_offset) {
  for (size_t i = 0; i < len; ++i) data[i] ^= key[(key_offset + i) & 3];
}

// range(0) = bytes; range(1) = misalignment of the data pointer (a payload
// starts 2..14 bytes into a receive buffer, so it is rarely aligned).
void BM_ApplyMask(benchmark::State& state) {
  const size_t len = size_t(state.range(0));
  const size_t skew = size_t(state.range(1));
  std::vector<uint8_t> buf(len + 64, 0x5a);
  uint8_t* data = buf.data() + skew;
  for (auto _ : state) {
    ringcast::ws::apply_mask(data, len, kKey, 0);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations() * len));
}

void BM_MaskBytewise(benchmark::State& state) {
  const size_t len = size_t(state.range(0));
  std::vector<uint8_t> buf(len + 64, 0x5a);
  uint8_t* data = buf.data() + state.range(1);
  for (auto _ : state) {
    mask_bytewise(data, len, kKey, 0);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations() * len));
}

}  // namespace

BENCHMARK(BM_ApplyMask)->ArgsProduct({{16, 125, 1024, 4096, 16384, 65536}, {0, 6}});
BENCHMARK(BM_MaskBytewise)->ArgsProduct({{16, 1024, 65536}, {6}});
