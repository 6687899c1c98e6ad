// The zones vcon knows: their definitions in the state directory and whether
// a monitor is running them. A zone runs exactly while its monitor holds an
// exclusive flock on RUNDIR/NAME/monitor.lock, so there are no stale PID files
// to guess about. Used by the CLI.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/paths.hpp"
#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "zone/zone_config.hpp"

namespace vcon {

Result<ZoneConfig> load_zone(const Paths& paths, const std::string& name);
Result<void> save_zone(const Paths& paths, const ZoneConfig& config);
std::vector<std::string> list_zones(const Paths& paths);

// Gives the zone its own id range if it has none yet (and saves it), or
// makes sure its recorded range is still its own in the registry.
Result<void> assign_id_range(const Paths& paths, ZoneConfig& config);

// Fails if `rootfs` is, holds or lies in another zone's root file system, or
// holds vcon's state directory: two zones on one tree, or a zone that can
// reach others' definitions, are no boundary. Every zone on the host is
// checked (the id registry names them all), whatever its state directory.
Result<void> require_own_rootfs(const Paths& paths, const std::string& zone, const std::string& rootfs);
// The same check against a list read once, for booting many zones in one
// command (reading every zone's definition per boot made booting N zones
// cost N squared reads).
struct RegisteredRootfs {
  std::string owner;  // the zone's directory
  std::string name, rootfs;
};
std::vector<RegisteredRootfs> registered_rootfs(const Paths& paths);
Result<void> require_own_rootfs(const Paths& paths, const std::string& zone, const std::string& rootfs,
                                const std::vector<RegisteredRootfs>& registered);

// Takes the zone's lock (creating the run directory) or fails with "zone X is
// already running". The lock passes to the monitor, which holds it for life.
Result<UniqueFd> lock_zone(const Paths& paths, const std::string& name);
bool zone_running(const Paths& paths, const std::string& name);
// A zone whose processes run on with neither keeper nor monitor (both were
// killed): its console is lost; only a halt (through its cgroup) ends it.
bool zone_orphaned(const ZoneConfig& config);
// Fails with "zone X does not exist", "zone X is not running" or "zone X is
// orphaned" as the case may be.
Result<void> require_running(const Paths& paths, const std::string& name);
// The monitor's state file (init PID, boot time); only meaningful while running.
std::optional<nlohmann::json> zone_state(const Paths& paths, const std::string& name);

}  // namespace vcon
