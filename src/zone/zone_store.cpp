// Zone store implementation.
#include "zone/zone_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

#include "base/files.hpp"
#include "base/names.hpp"
#include "zone/cgroup.hpp"
#include "zone/id_ranges.hpp"

namespace vcon {

Result<ZoneConfig> load_zone(const Paths& paths, const std::string& name) {
  VCON_TRY(validate_zone_name(name));
  std::string path = paths.zone_config(name);
  if (!path_exists(paths.zone_dir(name))) {
    return make_error("zone " + name + " does not exist (vcon ls lists zones; vcon create makes one)");
  }
  auto text = read_file(path);
  if (!text) return text.error();
  auto config = parse_zone_config(text.value(), path);
  if (!config) {
    return make_error(config.error().message() + "; fix the file, or remove the zone with vcon destroy " + name);
  }
  if (config->name != name) {
    return make_error("zone definition " + path + " is invalid: it names zone '" + config->name + "'");
  }
  return config;
}

Result<void> save_zone(const Paths& paths, const ZoneConfig& config) {
  return write_file_atomic(paths.zone_config(config.name), serialize_zone_config(config));
}

std::vector<std::string> list_zones(const Paths& paths) {
  std::vector<std::string> names;
  std::string dir = paths.state_dir + "/zones";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return names;
  while (dirent* entry = ::readdir(d)) {
    std::string name = entry->d_name;
    if (validate_zone_name(name) && path_exists(paths.zone_config(name))) names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

namespace {
// `inner` is `outer` or below it (both absolute and canonical).
bool is_within(const std::string& inner, const std::string& outer) {
  return inner == outer || (inner.size() > outer.size() && inner.compare(0, outer.size(), outer) == 0 &&
                            (outer == "/" || inner[outer.size()] == '/'));
}
}  // namespace

std::vector<RegisteredRootfs> registered_rootfs(const Paths& paths) {
  std::vector<RegisteredRootfs> registered;
  auto registry_text = read_file(paths.id_registry);
  auto entries = parse_id_registry(registry_text ? registry_text.value() : "", paths.id_registry);
  if (!entries) return registered;  // a broken registry is reported where ids are handed out
  registered.reserve(entries->size());
  for (const auto& entry : entries.value()) {
    auto text = read_file(entry.owner + "/zone.toml", 1 << 20);
    if (!text) continue;  // a zone being created or destroyed: it has no rootfs to share yet
    auto other = parse_zone_config(text.value(), entry.owner + "/zone.toml");
    if (!other) continue;
    registered.push_back({entry.owner, other->name, other->rootfs});
  }
  return registered;
}

Result<void> require_own_rootfs(const Paths& paths, const std::string& zone, const std::string& rootfs,
                                const std::vector<RegisteredRootfs>& registered) {
  char state[PATH_MAX];
  std::string state_dir = ::realpath(paths.state_dir.c_str(), state) ? state : paths.state_dir;
  if (is_within(state_dir, rootfs)) {
    return make_error("rootfs " + rootfs + " holds vcon's state directory " + paths.state_dir +
                      " (every zone's definition): give the zone a tree of its own");
  }
  std::string self = paths.zone_dir(zone);
  for (const auto& other : registered) {
    if (other.owner == self) continue;
    if (is_within(rootfs, other.rootfs) || is_within(other.rootfs, rootfs)) {
      return make_error("rootfs " + rootfs + " is, holds or lies in the root file system " + other.rootfs +
                        " of zone " + other.name + " (" + other.owner + "): zones never share a tree");
    }
  }
  return {};
}

Result<void> require_own_rootfs(const Paths& paths, const std::string& zone, const std::string& rootfs) {
  return require_own_rootfs(paths, zone, rootfs, registered_rootfs(paths));
}

Result<void> assign_id_range(const Paths& paths, ZoneConfig& config) {
  IdRegistry registry(paths.id_registry);
  std::string owner = paths.zone_dir(config.name);
  if (config.ids.count) {
    auto claimed = registry.claim(owner, config.ids);
    if (!claimed) return make_error("zone " + config.name + ": " + claimed.error().message());
    return {};
  }
  auto range = registry.allocate(owner);
  if (!range) return range.error();
  config.ids = range.value();
  return save_zone(paths, config);
}

Result<UniqueFd> lock_zone(const Paths& paths, const std::string& name) {
  // Readable by all: users the consoledb lets in find the socket here, and
  // tell a running zone by its lock.
  VCON_TRY(make_directories(paths.zone_run_dir(name), 0755));
  return take_lock_file(paths.zone_lock(name), "zone " + name + " is already running (vcon halt " + name + " first)");
}

bool zone_running(const Paths& paths, const std::string& name) { return lock_file_held(paths.zone_lock(name)); }

bool zone_orphaned(const ZoneConfig& config) {
  auto layout = host_cgroup_layout();
  return layout && ZoneCgroup(std::move(layout.value()), config.cgroup_name()).populated();
}

Result<void> require_running(const Paths& paths, const std::string& name) {
  if (zone_running(paths, name)) return {};
  VCON_TRY(validate_zone_name(name));
  if (::access(paths.state_dir.c_str(), R_OK | X_OK) != 0 && errno == EACCES) {  // not root: zone definitions are private
    return make_error("zone " + name + " is not running, or does not exist");
  }
  auto config = load_zone(paths, name);
  if (!config) return config.error();
  if (zone_orphaned(config.value())) {
    return make_error("zone " + name + " is orphaned: its processes run on with neither keeper nor monitor, so its "
                      "console is lost (vcon halt " + name + " ends them)");
  }
  return make_error("zone " + name + " is not running (vcon boot " + name + ")");
}

std::optional<nlohmann::json> zone_state(const Paths& paths, const std::string& name) {
  auto text = read_file(paths.zone_state(name));
  if (!text) return std::nullopt;
  auto state = nlohmann::json::parse(text.value(), nullptr, false);
  if (!state.is_object()) return std::nullopt;
  return state;
}

}  // namespace vcon
