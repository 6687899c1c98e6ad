// `vcon exec`: run a command inside a running zone. Used by the CLI.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.hpp"
#include "zone/cgroup.hpp"
#include "zone/zone_config.hpp"

namespace vcon {

struct ExecTarget {
  const ZoneConfig& config;
  const ZoneCgroup& cgroup;
  pid_t init_pid;
};

// Runs `argv` in the zone as its root: in its cgroup, all its namespaces
// (user first), its root, with its capability bounding set, keyring rule and
// seccomp filter, and only fds 0-2. A helper process joins the zone and
// forks the command; this process stays on the host and relays. When stdin
// is a terminal the command gets a fresh pty from the zone's own devpts; the
// caller's terminal is never handed to zone code (no TIOCSTI injection).
// Returns the command's exit status (128 + N when killed by signal N).
Result<int> exec_in_zone(const ExecTarget& target, const std::vector<std::string>& argv);

}  // namespace vcon
