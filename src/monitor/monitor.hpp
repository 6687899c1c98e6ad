// The per-zone monitor (`vcon monitor NAME`, started by `vcon boot`): parent
// and reaper of the zone's init, sole owner of its console master, ring buffer
// and log, and server of RUNDIR/NAME/console.sock.
#pragma once

#include "base/paths.hpp"
#include "base/unique_fd.hpp"
#include "zone/cgroup.hpp"
#include "zone/zone_config.hpp"

namespace vcon {

struct MonitorOptions {
  Paths paths;
  ZoneConfig config;    // as `vcon boot` loaded and checked it (with its id range)
  std::vector<CgroupHierarchy> cgroups;  // the host's cgroup layout
  UniqueFd lock;       // RUNDIR/NAME/monitor.lock, flock'ed: held for our whole life
  UniqueFd notify_fd;  // `vcon boot` waits on this for "ok" or the boot error
};

// Runs until the zone halts. Returns the process exit code.
int run_monitor(MonitorOptions options);

}  // namespace vcon
