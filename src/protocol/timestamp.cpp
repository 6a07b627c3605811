#include "protocol/timestamp.hpp"

#include <cstdio>
#include <cstring>
#include <ctime>

namespace ringcast::protocol {

void format_timestamp(uint64_t wall_ms, char* out) {
  thread_local uint64_t cached_second = ~uint64_t(0);
  thread_local char cached[20];  // "YYYY-MM-DDTHH:MM:SS"
  const uint64_t second = wall_ms / 1000;
  if (second != cached_second) {
    const time_t t = time_t(second);
    tm parts;
    gmtime_r(&t, &parts);
    char tmp[64];
    std::snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d", parts.tm_year + 1900, parts.tm_mon + 1,
                  parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec);
    std::memcpy(cached, tmp, 19);
    cached_second = second;
  }
  std::memcpy(out, cached, 19);
  const unsigned ms = unsigned(wall_ms % 1000);
  out[19] = '.';
  out[20] = char('0' + ms / 100);
  out[21] = char('0' + ms / 10 % 10);
  out[22] = char('0' + ms % 10);
  out[23] = 'Z';
}

}  // namespace ringcast::protocol
