// Embedding ringcast with a handler of your own: a program that links
// libringcast, registers a "quote" handler and routes an action endpoint's
// `quote` messages to it, next to the built-in subscribe/publish routes.
//
//   quote_server [PORT]      (0 = pick one; prints "listening on 127.0.0.1:PORT")
//
//   > {"action":"quote","symbol":"ACME"}
//   < {"symbol":"ACME","price_cents":1234,"type":"quote"}
//   and every subscriber of "quotes.ACME" gets
//   {"type":"quote","data":{"symbol":"ACME","price_cents":1234},"channel":"quotes.ACME","timestamp":"..."}
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "ringcast/server.hpp"

namespace {

class QuoteHandler final : public ringcast::Handler {
 public:
  void handle(const ringcast::Request& req, ringcast::Responder& out) override {
    std::string_view symbol;
    if (!req.string_field("symbol", &symbol) || symbol.empty() || symbol.size() > 8) {
      out.error("BAD_SYMBOL", "symbol must be a string of 1 to 8 letters");
      return;
    }
    for (char c : symbol) {
      if (c < 'A' || c > 'Z') {
        out.error("BAD_SYMBOL", "symbol must be a string of 1 to 8 letters");
        return;
      }
    }
    // A made-up price, the same for the same symbol; each reactor counts its own requests.
    uint32_t price = 1000;
    for (char c : symbol) price = price * 31 + uint32_t(c);
    price %= 100000;
    ++served_;
    const std::string fields =
        "{\"symbol\":\"" + std::string(symbol) + "\",\"price_cents\":" + std::to_string(price) + "}";
    out.reply("quote", fields);
    out.publish("quotes." + std::string(symbol), "quote", fields);
  }

 private:
  uint64_t served_ = 0;  // per reactor: no locking needed
};

}  // namespace

int main(int argc, char** argv) {
  ringcast::Config config;
  config.server.listen_host = "127.0.0.1";
  config.server.listen_port = uint16_t(argc > 1 ? std::atoi(argv[1]) : 0);
  config.server.threads = 2;
  ringcast::EndpointConfig bot;
  bot.path = "/quotes";
  bot.protocol = ringcast::Protocol::action;
  ringcast::RouteConfig quote;
  quote.name = "quote";
  quote.handler = "quote";
  quote.required = {"symbol"};
  bot.routes.push_back(quote);
  config.endpoints.push_back(bot);

  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);

  ringcast::Server server(config);
  server.add_handler("quote", [] { return std::make_unique<QuoteHandler>(); });
  if (std::string err = server.start(); !err.empty()) {
    std::fprintf(stderr, "quote_server: %s\n", err.c_str());
    return 1;
  }
  std::fprintf(stderr, "quote_server: listening on 127.0.0.1:%u\n", server.port());
  int sig = 0;
  sigwait(&stop, &sig);
  server.stop();
  server.wait();
  return 0;
}
