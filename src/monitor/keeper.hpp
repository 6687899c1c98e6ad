// The keeper: one small process per running zone, so that the zone outlives
// its monitor. `vcon boot` forks it, which forks the first monitor and then
// execs vcon-keeper (src/keeper/vcon_keeper.c: C, static, no heap, since one
// idles beside every zone). It holds what must not die with a
// monitor (the zone's lock, the ring's memfd, the console pty's master and
// slave), is the parent of the zone's init (the monitor clones init with
// CLONE_PARENT) and a child subreaper, and runs the monitor as its child.
// When the monitor dies (a crash, kill -9) or hands over (an upgrade), the
// keeper starts another (`vcon monitor NAME --handoff`) at once, which takes over the running
// zone from what the keeper held; clients reconnect and ask from the
// offset they had. The keeper reads nothing from clients or the zone: it
// has only its monitor to talk to (keeper_channel.hpp), which keeps it
// small and hard to take down.
#pragma once

#include <string>
#include <vector>

#include "base/paths.hpp"
#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "zone/cgroup.hpp"
#include "zone/zone_config.hpp"

namespace vcon {

struct KeeperOptions {
  Paths paths;
  ZoneConfig config;
  std::vector<CgroupHierarchy> cgroups;
  UniqueFd lock;       // the zone's lock, taken by `vcon boot`
  UniqueFd notify_fd;  // for the first monitor: `vcon boot` waits for its word
  std::string keeper_binary;  // vcon-keeper (keeper_binary())
};

// Where vcon-keeper is: next to this vcon (the build directory), or in
// ../libexec/vcon (make install).
Result<std::string> keeper_binary();

// In the process `vcon boot` forked: forks the first monitor, then becomes
// the keeper (an exec). Returns (an exit code) only if that failed; the
// monitor then boots nothing and `vcon boot` is told why.
int run_keeper(KeeperOptions options);

// `vcon monitor NAME --handoff TEXT`: a monitor the keeper started from a new
// binary (an upgrade); TEXT names the fds it inherited and the zone's state.
Result<int> run_handed_over_monitor(const Paths& paths, const std::string& zone, const std::string& handoff,
                                    const std::string& reason);

}  // namespace vcon
