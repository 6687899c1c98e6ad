// Zone names: what is allowed, and the one message that says so.
#pragma once

#include <string_view>

#include "base/result.hpp"

namespace vcon {

// A zone name is [a-z0-9][a-z0-9_.-]{0,62}: safe as a file name, a socket path
// component and a hostname-like label.
Result<void> validate_zone_name(std::string_view name);

}  // namespace vcon
