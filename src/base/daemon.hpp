// Going into the background, and stopping cleanly, for the long-running
// commands (`vcon fs`, `vcon serve`, line monitors).
#pragma once

#include <string>

#include "base/result.hpp"

namespace vcon {

// Forks. The parent prints `what` and the child's PID and log, and returns
// false; the child starts a session of its own, sends its output to
// `log_path` and returns true.
Result<bool> become_daemon(const std::string& what, const std::string& log_path);

// SIGTERM, SIGINT and SIGHUP held back (true) until the event loop's
// handlers for them exist, then let through (false): a stop that comes
// early is handled then, instead of killing the process before it can
// clean up (unmount, remove its lock files).
void hold_stop_signals(bool hold);

}  // namespace vcon
