#include "ws/close_code.hpp"

namespace ringcast::ws {

bool close_code_valid(uint16_t code) {
  if (code >= 1000 && code <= 1003) return true;
  // 1012-1014 are IANA-registered (service restart, try again later, bad
  // gateway), so browsers and servers send them; accepting them is what peers expect.
  if (code >= 1007 && code <= 1014) return true;
  return code >= 3000 && code <= 4999;
}

}  // namespace ringcast::ws
