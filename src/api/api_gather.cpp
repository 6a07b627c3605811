#include "api/api_gather.hpp"

#include "protocol/json_out.hpp"

namespace ringcast::api {

namespace {

using protocol::ControlOp;

bool is_success(int status) { return status == 0 || (status >= 200 && status < 300); }

std::string_view error_code_for(int status) {
  switch (status) {
    case 400: return "BAD_REQUEST";
    case 403: return "FORBIDDEN";
    case 404: return "NOT_FOUND";
    case 409: return "CONFLICT";
    case 410: return "GONE";
    case 429: return "RATE_LIMITED";
    case 503: return "UNAVAILABLE";
    default: return status >= 500 ? "INTERNAL" : "ERROR";
  }
}

bool looks_like_object(const std::string& body) {
  size_t i = 0;
  while (i < body.size() && (body[i] == ' ' || body[i] == '\n')) ++i;
  return i < body.size() && body[i] == '{' && body.back() == '}';
}

// A worker's decimal count ("" = 0).
bool parse_count(const std::string& body, uint64_t* n) {
  uint64_t v = 0;
  size_t digits = 0;
  for (char c : body) {
    if (c == ' ' || c == '\n') continue;
    if (c < '0' || c > '9' || ++digits > 19) return false;
    v = v * 10 + uint64_t(c - '0');
  }
  *n = v;
  return true;
}

// A worker's failure, passed on: its body when that is a JSON object.
ApiResponse passed_on(int status, const std::string& body) {
  if (status < 400 || status > 599) status = 500;
  if (looks_like_object(body)) return json_response(status, body);
  return error_response(status, error_code_for(status), body.empty() ? std::string(reason_phrase(status)) : body);
}

ApiResponse gone(const std::string& subject) {
  return error_response(410, "GONE", "connection " + subject + " is gone (closed, or never existed)");
}

}  // namespace

Gather::Gather(ControlOp op, uint32_t parts, uint32_t workers, std::string subject)
    : op_(op), parts_(parts), subject_(std::move(subject)) {
  if (op == ControlOp::stats) stats_.resize(workers);
}

void Gather::failed(int status, const std::string& body) {
  if (failed_) return;
  failed_ = true;
  failure_ = passed_on(status, body);
}

void Gather::add(simdjson::dom::parser& parser, const protocol::ControlCall& a) {
  ++received_;
  switch (op_) {
    case ControlOp::send:
    case ControlOp::close:
    case ControlOp::info:
    case ControlOp::presence:
      status_ = a.status;
      body_ = a.body;
      break;
    case ControlOp::disconnect_user: {
      uint64_t n = 0;
      if (!is_success(a.status)) {
        failed(a.status, a.body);
      } else if (!parse_count(a.body, &n)) {
        failed(500, "a worker's answer was malformed");
      } else {
        closed_ += n;
      }
      break;
    }
    case ControlOp::channels: {
      if (!is_success(a.status)) {
        failed(a.status, a.body);
        break;
      }
      if (a.body.empty()) break;  // nothing on that reactor
      simdjson::dom::array arr;
      if (parser.parse(a.body).get_array().get(arr) != simdjson::SUCCESS) {
        failed(500, "a worker's answer was malformed");
        break;
      }
      for (simdjson::dom::element item : arr) {
        std::string_view name;
        uint64_t n = 0;
        if (item["channel"].get_string().get(name) != simdjson::SUCCESS ||
            item["subscribers"].get_uint64().get(n) != simdjson::SUCCESS) {
          failed(500, "a worker's answer was malformed");
          break;
        }
        auto it = channels_.find(name);
        if (it == channels_.end()) {
          channels_.emplace(std::string(name), n);
        } else {
          it->second += n;
        }
      }
      break;
    }
    case ControlOp::stats:
      if (!is_success(a.status)) {
        failed(a.status, a.body);
      } else if (a.part < stats_.size()) {
        stats_[a.part] = a.stats;
      }
      break;
  }
}

ApiResponse Gather::single() const {
  if (status_ == 410) return gone(subject_);
  switch (op_) {
    case ControlOp::send:
      if (is_success(status_)) return json_response(200, R"({"sent":true})");
      break;
    case ControlOp::close:
      if (is_success(status_)) return json_response(204, {});
      break;
    case ControlOp::info:
      if (status_ == 404) return error_response(404, "NOT_FOUND", "no connection " + subject_);
      [[fallthrough]];
    case ControlOp::presence:
      if (is_success(status_)) return json_response(200, body_.empty() ? std::string("{}") : body_);
      break;
    default:
      break;
  }
  return passed_on(status_, body_);
}

ApiResponse Gather::finish(const ApiNodeStats& api) const {
  switch (op_) {
    case ControlOp::send:
    case ControlOp::close:
    case ControlOp::info:
    case ControlOp::presence:
      return single();
    default:
      break;
  }
  if (failed_) return failure_;
  ApiResponse r;
  protocol::JsonOut j(r.body);
  switch (op_) {
    case ControlOp::disconnect_user:
      j.raw(R"({"closed":)").number(closed_).raw("}");
      break;
    case ControlOp::channels: {
      j.raw(R"({"channels":[)");
      bool first = true;
      for (const auto& [name, n] : channels_) {
        if (!first) j.raw(",");
        first = false;
        j.raw(R"({"channel":)").str(name).raw(R"(,"subscribers":)").number(n).raw("}");
      }
      j.raw("]}");
      break;
    }
    case ControlOp::stats:
      metrics_text(r.body, stats_, api);
      r.content_type = kPrometheusText;
      break;
    default:
      break;
  }
  return r;
}

ApiResponse Gather::timeout() {
  return error_response(503, "UNAVAILABLE", "the worker reactors did not answer in time");
}

}  // namespace ringcast::api
