// Going into the background, for `vcon fs` and `vcon serve`.
#pragma once

#include <string>

#include "base/result.hpp"

namespace vcon {

// Forks. The parent prints `what` and the child's PID and log, and returns
// false; the child starts a session of its own, sends its output to
// `log_path` and returns true.
Result<bool> become_daemon(const std::string& what, const std::string& log_path);

}  // namespace vcon
