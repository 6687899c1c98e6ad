// Starting a zone: new namespaces, its root file system, its own devpts and
// console, then init. Used by the monitor (and by bench/boot's floor program,
// which runs the very same steps without a monitor around them).
#pragma once

#include <sys/types.h>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "zone/zone_config.hpp"

namespace vcon {

struct LaunchedZone {
  pid_t init_pid = -1;     // host PID of the zone's init
  UniqueFd init_pidfd;     // signals go through this: no PID-reuse races
  UniqueFd console_master; // the monitor's end of the zone's console
  UniqueFd console_slave;  // held so the master never sees EIO between opens
};

// Returns once init has been exec'd in the zone, or with the failing setup
// step and its reason ("pivot_root: Invalid argument"). The caller must be
// single-threaded (the child starts as a copy of it) and reaps init.
Result<LaunchedZone> launch_zone(const ZoneConfig& config);

// The capabilities removed from the zone's bounding set (documented in
// docs/zones.md); exposed for tests.
const int* dropped_capabilities(std::size_t& count);

}  // namespace vcon
