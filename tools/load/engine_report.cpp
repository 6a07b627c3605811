#include "engine_report.hpp"

namespace load {

void engine_section(Report& rep, const EngineStats& e) {
  Report::Section& c = rep.section("connections");
  c.count("connect_failed", e.connect_failed);
  c.count("handshake_failed", e.handshake_failed);
  c.count("protocol_errors", e.protocol_errors);
  c.count("dropped_by_server", e.dropped);
  c.count("closed_by_server", e.server_closes);
  if (e.first_server_close) c.count("first_server_close_code", e.first_server_close);
  c.count("clean_closes", e.clean_closes);
  c.count("unclean_closes", e.unclean_closes);
  c.count("pings_answered", e.pings - e.pings_unanswered);
  if (e.pings_unanswered) c.count("pings_unanswered", e.pings_unanswered);
  c.count("recv_rearms_enobufs", e.enobufs);
  c.count("bytes_out", e.bytes_out);
  c.count("bytes_in", e.bytes_in);
}

void engine_problems(Report& rep, const EngineStats& e) {
  rep.add_problem(e.connect_failed, "connect(s) failed");
  rep.add_problem(e.handshake_failed, "handshake(s) failed");
  rep.add_problem(e.protocol_errors, "protocol error(s)");
  rep.add_problem(e.dropped, "connection(s) dropped by the server without a close handshake");
  rep.add_problem(e.server_closes, "connection(s) closed by the server");
  rep.add_problem(e.unclean_closes, "close handshake(s) the server did not complete");
}

bool engine_clean(const EngineStats& e) {
  return !e.connect_failed && !e.handshake_failed && !e.protocol_errors && !e.dropped && !e.server_closes &&
         !e.unclean_closes;
}

}  // namespace load
