#include "base/token.hpp"

#include <sys/random.h>

#include <chrono>

#include <fmt/core.h>

namespace vcon {

std::string attach_token() {
  // 48 bits: a zone printing guesses at a reader's token needs 2^47 lines
  // on average (16 bits took 65,536 lines, 2 MB: a red-team run).
  unsigned char bytes[6] = {};
  if (::getrandom(bytes, sizeof bytes, GRND_NONBLOCK) != sizeof bytes) {
    // Only before the kernel's pool is ready (early boot): the clock's low
    // bits are still unknown to a zone that does not see this reader.
    auto now = static_cast<unsigned long long>(std::chrono::steady_clock::now().time_since_epoch().count());
    for (auto& byte : bytes) {
      byte = static_cast<unsigned char>(now);
      now >>= 8;
    }
  }
  std::string token = "#";
  for (unsigned char byte : bytes) token += fmt::format("{:02x}", byte);
  return token;
}

}  // namespace vcon
