// `vcon exec`: run a command inside a running zone. Used by the CLI.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.hpp"

namespace vcon {

// Enters all namespaces and the root of the zone whose init is `init_pid` and
// runs `argv` there. When stdin is a terminal the command gets a fresh pty from
// the zone's own devpts and this process relays; the caller's terminal is never
// handed to zone code (no TIOCSTI injection). Returns the command's exit status
// (128 + N when killed by signal N).
Result<int> exec_in_zone(const std::string& zone, pid_t init_pid, const std::vector<std::string>& argv);

}  // namespace vcon
