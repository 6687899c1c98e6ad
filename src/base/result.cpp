// Formatting of Error values.
#include "base/result.hpp"

#include <cstring>

namespace vcon {

std::string Error::message() const {
  if (errno_value == 0) return what;
  return what + ": " + std::strerror(errno_value);
}

Error errno_error(std::string what) { return Error{std::move(what), errno}; }

}  // namespace vcon
