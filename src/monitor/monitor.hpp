// A zone's monitor: the console core (console_server.hpp) with the zone's
// pty behind it. It boots the zone (init becomes its keeper's child), drains
// the console, serves clients, halts and reboots, and tells its keeper what
// to hold (keeper.hpp). A monitor started after a crash or for an upgrade
// adopts the running zone from what the keeper held.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/paths.hpp"
#include "base/unique_fd.hpp"
#include "zone/cgroup.hpp"
#include "zone/zone_config.hpp"

namespace vcon {

// A zone that runs already: what the next monitor takes over.
struct RunningZone {
  pid_t init_pid = -1;
  UniqueFd master, slave;  // its console
  double booted_at = 0;
  int boots = 0;
};

struct MonitorOptions {
  Paths paths;
  ZoneConfig config;                     // as `vcon boot` loaded and checked it (with its id range)
  std::vector<CgroupHierarchy> cgroups;  // the host's cgroup layout
  UniqueFd lock;                         // RUNDIR/NAME/monitor.lock, flock'ed (shared with the keeper)
  UniqueFd keeper;                       // the channel to the keeper
  UniqueFd ring;                         // the ring's memfd (the keeper holds it too)
  UniqueFd notify_fd;                    // first monitor: `vcon boot` waits on this for "ok" or the error
  std::optional<RunningZone> running;    // adopting: the zone runs, with this console
  std::optional<int> exited;             // adopting: init ended (waitpid status) while no monitor ran
  std::string taking_over;               // adopting: why ("the monitor PID 812 was killed by SIGKILL")
  bool started_by_keeper = false;        // adopting: the keeper started us, after `taking_over`
  UniqueFd keeper_started;               // first monitor: its end (EOF) says the keeper runs; a byte, it could not
};

// Runs until the zone halts. Returns the process exit code.
int run_monitor(MonitorOptions options);

}  // namespace vcon
