// Writing frame headers: what the server does once per outgoing message.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "ws/frame_writer.hpp"

namespace {

using ringcast::ws::Opcode;

// Server frames (unmasked), the three length encodings.
void BM_WriteServerHeader(benchmark::State& state) {
  const uint64_t payload = uint64_t(state.range(0));
  uint8_t out[ringcast::ws::kMaxFrameHeader];
  for (auto _ : state) {
    benchmark::DoNotOptimize(payload);
    const size_t n = ringcast::ws::write_frame_header(out, Opcode::text, payload);
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}

// Client frames carry the 4-byte key as well.
void BM_WriteMaskedHeader(benchmark::State& state) {
  const uint64_t payload = uint64_t(state.range(0));
  static const uint8_t kKey[4] = {0x37, 0xfa, 0x21, 0x3d};
  uint8_t out[ringcast::ws::kMaxFrameHeader];
  for (auto _ : state) {
    benchmark::DoNotOptimize(payload);
    const size_t n = ringcast::ws::write_frame_header(out, Opcode::binary, payload, true, kKey);
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}

void BM_WriteClosePayload(benchmark::State& state) {
  uint8_t out[ringcast::ws::kMaxControlPayload];
  for (auto _ : state) {
    const size_t n = ringcast::ws::write_close_payload(out, 1001, "server shutting down");
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}

}  // namespace

BENCHMARK(BM_WriteServerHeader)->Arg(16)->Arg(1024)->Arg(1 << 20);
BENCHMARK(BM_WriteMaskedHeader)->Arg(16)->Arg(1024)->Arg(1 << 20);
BENCHMARK(BM_WriteClosePayload);
