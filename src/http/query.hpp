// application/x-www-form-urlencoded query strings: one parameter's value,
// percent-decoded. Pure code over the request target; nothing allocates
// beyond the output string.
#pragma once

#include <string>
#include <string_view>

namespace ringcast::http {

enum class QueryValue { absent, ok, bad };

// The value of `name` (first occurrence) decoded into *out, at most cap
// bytes; bad for a broken %-escape or a longer value.
QueryValue query_param(std::string_view query, std::string_view name, std::string* out, size_t cap);

}  // namespace ringcast::http
