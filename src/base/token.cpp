#include "base/token.hpp"

#include <sys/random.h>

#include <chrono>

#include <fmt/core.h>

namespace vcon {

std::string attach_token() {
  unsigned char bytes[2] = {0, 0};
  if (::getrandom(bytes, sizeof bytes, GRND_NONBLOCK) != sizeof bytes) {
    // Only before the kernel's pool is ready (early boot): the clock's low
    // bits are still unknown to a zone that does not see this reader.
    auto now = static_cast<unsigned long>(std::chrono::steady_clock::now().time_since_epoch().count());
    bytes[0] = static_cast<unsigned char>(now);
    bytes[1] = static_cast<unsigned char>(now >> 8);
  }
  return fmt::format("#{:02x}{:02x}", bytes[0], bytes[1]);
}

}  // namespace vcon
