// FrameParser throughput on what an echo server mostly sees: many small
// masked client frames back to back in one receive buffer.
//
// The frames are masked with the all-zero key so the buffer survives being
// unmasked in place every iteration unchanged (text stays valid UTF-8); the
// parser still runs apply_mask over every payload byte, it just XORs zeros.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "ws/frame_parser.hpp"
#include "ws/frame_writer.hpp"

namespace {

using ringcast::ws::FrameParser;
using ringcast::ws::Opcode;
using ringcast::ws::ParserConfig;
using ringcast::ws::ParseStatus;

constexpr size_t kRecvBuffer = 16384;  // ringcast's default receive buffer

struct CountingSink {
  uint64_t messages = 0, bytes = 0;
  bool on_data(Opcode, std::span<const uint8_t> chunk, bool complete) {
    bytes += chunk.size();
    messages += complete;
    return true;
  }
  bool on_control(Opcode, std::span<const uint8_t>) { return true; }
};

// As many whole masked frames of `payload` bytes as fit in one receive buffer.
std::vector<uint8_t> build_frames(Opcode op, size_t payload, size_t* frames) {
  static const uint8_t kZeroKey[4] = {0, 0, 0, 0};
  std::vector<uint8_t> buf;
  *frames = 0;
  const size_t one = ringcast::ws::frame_header_size(payload, true) + payload;
  while (buf.size() + one <= kRecvBuffer || *frames == 0) {
    uint8_t hdr[ringcast::ws::kMaxFrameHeader];
    const size_t n = ringcast::ws::write_frame_header(hdr, op, payload, true, kZeroKey);
    buf.insert(buf.end(), hdr, hdr + n);
    for (size_t i = 0; i < payload; ++i) buf.push_back(uint8_t('a' + i % 26));
    ++*frames;
  }
  return buf;
}

void parse_frames(benchmark::State& state, Opcode op) {
  const size_t payload = size_t(state.range(0));
  size_t frames = 0;
  std::vector<uint8_t> buf = build_frames(op, payload, &frames);
  FrameParser parser;
  CountingSink sink;
  const ParserConfig cfg;
  for (auto _ : state) {
    const auto r = parser.feed(buf, sink, cfg);
    if (r.status != ParseStatus::ok || r.consumed != buf.size()) {
      state.SkipWithError("parser did not consume the buffer");
      break;
    }
    benchmark::DoNotOptimize(sink);
  }
  state.SetItemsProcessed(int64_t(state.iterations() * frames));  // items = frames
  state.SetBytesProcessed(int64_t(state.iterations() * buf.size()));
  state.counters["frames_per_buffer"] = double(frames);
}

void BM_ParseMaskedText(benchmark::State& state) { parse_frames(state, Opcode::text); }
void BM_ParseMaskedBinary(benchmark::State& state) { parse_frames(state, Opcode::binary); }

// The header decoder alone, for the three length encodings (7, 16, 64 bit).
void BM_DecodeHeader(benchmark::State& state) {
  const uint64_t payload = uint64_t(state.range(0));
  static const uint8_t kKey[4] = {1, 2, 3, 4};
  uint8_t hdr[ringcast::ws::kMaxFrameHeader];
  const size_t n = ringcast::ws::write_frame_header(hdr, Opcode::binary, payload, true, kKey);
  const ParserConfig cfg;
  ringcast::ws::detail::FrameHeader h;
  uint16_t code = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(hdr);
    auto s = ringcast::ws::detail::decode_header(hdr, n, cfg, false, 0, h, code);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(h);
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}

}  // namespace

BENCHMARK(BM_ParseMaskedText)->Arg(16)->Arg(125)->Arg(1024)->Arg(8192);
BENCHMARK(BM_ParseMaskedBinary)->Arg(16)->Arg(125)->Arg(1024)->Arg(8192);
BENCHMARK(BM_DecodeHeader)->Arg(16)->Arg(1024)->Arg(1 << 20);
