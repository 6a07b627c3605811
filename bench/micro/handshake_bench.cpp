// The HTTP upgrade, step by step and whole, in handshakes/s: finding the end
// of the head, parsing it (llhttp), validating it (which includes SHA-1 +
// base64 of the key) and writing the 101 answer.
#include <benchmark/benchmark.h>

#include <span>
#include <string>
#include <string_view>

#include "http/request_head.hpp"
#include "ws/handshake.hpp"

namespace {

using ringcast::http::RequestHead;

// What Chrome sends (headers trimmed of cookies), about 500 bytes.
constexpr std::string_view kBrowserRequest =
    "GET /echo HTTP/1.1\r\n"
    "Host: 127.0.0.1:8080\r\n"
    "Connection: Upgrade\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36\r\n"
    "Upgrade: websocket\r\n"
    "Origin: http://127.0.0.1:8080\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "\r\n";

const std::span<const std::string> kNoSubprotocols{};

void BM_FindHeadEnd(benchmark::State& state) {
  for (auto _ : state) {
    size_t n = ringcast::http::find_head_end(kBrowserRequest, 0);
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.SetBytesProcessed(int64_t(state.iterations() * kBrowserRequest.size()));
}

void BM_ParseRequestHead(benchmark::State& state) {
  RequestHead head;
  for (auto _ : state) {
    auto e = ringcast::http::parse_request_head(kBrowserRequest, head);
    benchmark::DoNotOptimize(e);
    benchmark::DoNotOptimize(head);
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.SetBytesProcessed(int64_t(state.iterations() * kBrowserRequest.size()));
}

void BM_ValidateUpgrade(benchmark::State& state) {
  RequestHead head;
  if (ringcast::http::parse_request_head(kBrowserRequest, head) != ringcast::http::HeadError::none) {
    state.SkipWithError("request does not parse");
    return;
  }
  for (auto _ : state) {
    auto r = ringcast::ws::validate_upgrade(head, kNoSubprotocols);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}

void BM_WriteUpgradeResponse(benchmark::State& state) {
  RequestHead head;
  ringcast::http::parse_request_head(kBrowserRequest, head);
  const auto r = ringcast::ws::validate_upgrade(head, kNoSubprotocols);
  char out[ringcast::ws::kUpgradeResponseMax];
  for (auto _ : state) {
    size_t n = ringcast::ws::write_upgrade_response(out, sizeof(out), r);
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}

// Everything the server does between the request bytes and the 101 bytes.
void BM_FullHandshake(benchmark::State& state) {
  RequestHead head;
  char out[ringcast::ws::kUpgradeResponseMax];
  for (auto _ : state) {
    const size_t len = ringcast::http::find_head_end(kBrowserRequest, 0);
    if (len == 0 || ringcast::http::parse_request_head(kBrowserRequest.substr(0, len), head) !=
                        ringcast::http::HeadError::none) {
      state.SkipWithError("request does not parse");
      break;
    }
    const auto r = ringcast::ws::validate_upgrade(head, kNoSubprotocols);
    if (r.status != 101) {
      state.SkipWithError("upgrade refused");
      break;
    }
    size_t n = ringcast::ws::write_upgrade_response(out, sizeof(out), r);
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()));  // items = handshakes
}

}  // namespace

BENCHMARK(BM_FindHeadEnd);
BENCHMARK(BM_ParseRequestHead);
BENCHMARK(BM_ValidateUpgrade);
BENCHMARK(BM_WriteUpgradeResponse);
BENCHMARK(BM_FullHandshake);
