// The routed profiles' per-message cost before the handler: parse_envelope
// (simdjson DOM, in place) plus Router::find, on typical seed-002 messages;
// and composing a published message with JsonOut, against simdjson's own
// serializer in the same harness. Messages/s is items_per_second.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <simdjson.h>

#include "protocol/envelope.hpp"
#include "protocol/json_out.hpp"
#include "protocol/router.hpp"

namespace {

using namespace ringcast;
using namespace ringcast::protocol;

const char kPing[] = R"({"type":"ping","request_id":"ping_1"})";
const char kSubscribe[] =
    R"({"type":"subscribe","data":{"channels":["uploads","search_results","system_status"]},"request_id":"req_1"})";
// data.data is a 200-byte object.
const char kPublish[] =
    R"({"type":"publish","data":{"channel":"uploads","type":"upload_progress","data":)"
    R"({"upload_id":"upload_123","status":"processing","progress":45,"emails_processed":4500,)"
    R"("total_emails":10000,"current_operation":"indexing_emails","eta_ms":120000,"note":"batch 3 of 7"}},)"
    R"("request_id":"req_3"})";

// A message as the receive path holds it: followed by SIMDJSON_PADDING bytes.
struct Padded {
  explicit Padded(std::string_view s) : bytes(s.size() + simdjson::SIMDJSON_PADDING, 0) {
    std::memcpy(bytes.data(), s.data(), s.size());
    size = s.size();
  }
  std::vector<uint8_t> bytes;
  size_t size;
};

Router envelope_router() {
  Router r;
  for (const RouteConfig& rc : default_routes(Protocol::envelope)) r.add(Route{rc.name, nullptr, rc.required});
  return r;
}

constexpr EnvelopeRules kRules{"type", true};

// range(0): 0 ping, 1 subscribe, 2 publish.
void BM_ParseAndRoute(benchmark::State& state) {
  const char* texts[] = {kPing, kSubscribe, kPublish};
  const char* labels[] = {"ping", "subscribe", "publish(200B data)"};
  Padded msg(texts[state.range(0)]);
  const Router router = envelope_router();
  simdjson::dom::parser parser;
  if (parser.allocate(64 * 1024) != simdjson::SUCCESS) state.SkipWithError("allocate failed");
  for (auto _ : state) {
    Envelope env;
    EnvelopeError err;
    if (!parse_envelope(parser, msg.bytes.data(), msg.size, kRules, &env, &err)) state.SkipWithError("parse failed");
    const Route* route = router.find(env.route);
    benchmark::DoNotOptimize(route);
  }
  state.SetLabel(std::string(labels[state.range(0)]) + ", " + std::to_string(msg.size) + " B");
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.SetBytesProcessed(int64_t(state.iterations() * msg.size));
}
BENCHMARK(BM_ParseAndRoute)->DenseRange(0, 2);

// The same, plus the field lookups the handlers do (publish: data.channel,
// data.type, data.data; subscribe: data.channels and each name checked).
void BM_ParseRouteAndFields(benchmark::State& state) {
  const bool publish = state.range(0) == 1;
  Padded msg(publish ? kPublish : kSubscribe);
  const Router router = envelope_router();
  simdjson::dom::parser parser;
  if (parser.allocate(64 * 1024) != simdjson::SUCCESS) state.SkipWithError("allocate failed");
  for (auto _ : state) {
    Envelope env;
    EnvelopeError err;
    parse_envelope(parser, msg.bytes.data(), msg.size, kRules, &env, &err);
    benchmark::DoNotOptimize(router.find(env.route));
    simdjson::dom::element e;
    if (publish) {
      find_field(env.root, "data.channel", &e);
      benchmark::DoNotOptimize(valid_channel(e.get_string().value_unsafe()));
      find_field(env.root, "data.type", &e);
      find_field(env.root, "data.data", &e);
      benchmark::DoNotOptimize(e);
    } else {
      find_field(env.root, "data.channels", &e);
      simdjson::dom::array channels;
      if (e.get_array().get(channels) != simdjson::SUCCESS) state.SkipWithError("no channels");
      for (simdjson::dom::element ch : channels)
        benchmark::DoNotOptimize(valid_channel(ch.get_string().value_unsafe()));
    }
  }
  state.SetLabel(publish ? "publish" : "subscribe");
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.SetBytesProcessed(int64_t(state.iterations() * msg.size));
}
BENCHMARK(BM_ParseRouteAndFields)->Arg(0)->Arg(1);

// Router::find alone: the five envelope routes and a miss, in turn.
void BM_RouterFind(benchmark::State& state) {
  const Router router = envelope_router();
  const std::string_view names[] = {"subscribe", "unsubscribe", "ping", "publish", "echo", "stream_search"};
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(router.find(names[i]));
    i = i == 5 ? 0 : i + 1;
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_RouterFind);

// What a publish writes for its subscribers:
// {"type":T,"data":{...},"channel":C,"timestamp":"..."}, composed in a
// reused string. range(0): 0 = JsonOut::element, 1 = simdjson::to_string.
void BM_ComposePublished(benchmark::State& state) {
  Padded msg(kPublish);
  simdjson::dom::parser parser;
  Envelope env;
  EnvelopeError err;
  if (!parse_envelope(parser, msg.bytes.data(), msg.size, kRules, &env, &err)) {
    state.SkipWithError("parse failed");
    return;
  }
  simdjson::dom::element channel, type, data;
  find_field(env.root, "data.channel", &channel);
  find_field(env.root, "data.type", &type);
  find_field(env.root, "data.data", &data);
  const std::string_view ch = channel.get_string().value_unsafe();
  const std::string_view ty = type.get_string().value_unsafe();
  const bool jsonout = state.range(0) == 0;
  std::string out;
  out.reserve(1024);
  for (auto _ : state) {
    out.clear();
    JsonOut j(out);
    j.raw(R"({"type":)").str(ty).raw(R"(,"data":)");
    if (jsonout)
      j.element(data);
    else
      j.raw(simdjson::to_string(data));
    j.raw(R"(,"channel":)").str(ch).raw(R"(,"timestamp":)").timestamp(1768125600123ull).raw("}");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(std::string(jsonout ? "JsonOut::element" : "simdjson::to_string") + ", " +
                 std::to_string(out.size()) + " B out");
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.SetBytesProcessed(int64_t(state.iterations() * out.size()));
}
BENCHMARK(BM_ComposePublished)->Arg(0)->Arg(1);

}  // namespace
