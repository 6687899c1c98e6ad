// A zone's cgroup: one directory per mounted hierarchy (cgroup v2, and on
// hybrid hosts every v1 hierarchy too), at RELATIVE under each hierarchy's
// root. It bounds the zone (memory, pids; devices on v1), tells whether any
// process of the zone still lives (even after its monitor died), and is
// what the zone sees as its cgroup root (cgroup namespace). Only the v2
// directory is delegated to the zone's root (chown, per the kernel's cgroup
// v2 delegation rules), bounded by cgroup.max.depth and .descendants; v1
// has no such bounds, so nothing of v1 is the zone's to write. Used by the
// monitor (boot, halt), `vcon exec` and `vcon destroy`.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace vcon {

struct CgroupHierarchy {
  std::string mountpoint;                // on the host: /sys/fs/cgroup/memory
  bool unified = false;                  // cgroup2
  std::vector<std::string> controllers;  // v1 only: "cpu", "cpuacct"
  std::string name;                      // v1 named hierarchy ("systemd"), else empty

  bool has(const std::string& controller) const;
};

// Every cgroup and cgroup2 file system in a /proc/self/mountinfo text, each
// hierarchy once (the first mount of it), in mount order.
std::vector<CgroupHierarchy> parse_cgroup_mounts(const std::string& mountinfo);
// The cgroup v2 path in a /proc/PID/cgroup text ("0::/vcon/web/init.scope").
std::optional<std::string> unified_cgroup_path(const std::string& proc_cgroup);
// The host's layout, read from /proc/self/mountinfo. It must have cgroup v2
// (alone, or beside v1 hierarchies): that is what zones see.
Result<std::vector<CgroupHierarchy>> host_cgroup_layout();

// "512M", "2G", "1048576" -> bytes (K, M, G, T: powers of 1024).
Result<std::uint64_t> parse_byte_size(const std::string& text);

struct CgroupLimits {
  std::optional<std::uint64_t> memory_max;  // bytes
  std::optional<std::uint64_t> pids_max;
};

class ZoneCgroup {
 public:
  ZoneCgroup(std::vector<CgroupHierarchy> layout, std::string relative)
      : layout_(std::move(layout)), relative_(std::move(relative)) {}

  // Makes the directories (an existing empty one is taken over: a zone that
  // died with its monitor), applies `limits`, restricts devices (v1) and
  // delegates the v2 directory to `owner` (zone root's host uid/gid).
  Result<void> create(const CgroupLimits& limits, std::optional<std::pair<uid_t, gid_t>> owner) const;
  // Moves `pid` into the zone's cgroup in every hierarchy.
  Result<void> add(pid_t pid) const;
  // Moves `pid` beside the zone's init: into init's own cgroup v2 (the zone
  // may have moved it down its tree, and a cgroup with controllers on for
  // its children takes no processes), which must lie in the zone's; and
  // into the zone's cgroup of each v1 hierarchy. For `vcon exec`.
  Result<void> add_beside_init(pid_t pid, pid_t init_pid) const;
  // Whether `pid` is in the zone's cgroup tree (v2, else the first v1).
  bool holds(pid_t pid) const;
  // Any process left in the cgroup or below it, in any hierarchy.
  bool populated() const;
  // SIGKILL to every process in the tree (cgroup.kill on v2).
  void kill_all() const;
  // Removes the tree, deepest first, in every hierarchy; fails while a
  // process is left.
  Result<void> remove() const;

  const std::vector<CgroupHierarchy>& layout() const { return layout_; }
  const std::string& relative() const { return relative_; }
  std::string path_in(const CgroupHierarchy& hierarchy) const { return hierarchy.mountpoint + "/" + relative_; }

 private:
  std::vector<CgroupHierarchy> layout_;
  std::string relative_;  // "vcon/web-40000000"
};

}  // namespace vcon
