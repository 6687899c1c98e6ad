// Starting a zone: new namespaces (a user namespace unless --privileged),
// its cgroup, its root file system through an idmapped mount, its own /proc,
// /sys, /dev, devpts and console, masked kernel paths, a reduced capability
// bounding set and a seccomp filter, then init. Used by the monitor (and by
// bench/boot's floor program, which runs the very same steps without a
// monitor around them).
#pragma once

#include <sys/types.h>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "zone/cgroup.hpp"
#include "zone/zone_config.hpp"

namespace vcon {

struct LaunchedZone {
  pid_t init_pid = -1;     // host PID of the zone's init
  UniqueFd init_pidfd;     // signals go through this: no PID-reuse races
  UniqueFd console_master; // the monitor's end of the zone's console
  UniqueFd console_slave;  // held so the master never sees EIO between opens
};

enum class InitParent {
  Caller,         // init is the caller's child; the caller reaps it
  CallersParent,  // CLONE_PARENT: the caller's parent (a zone's keeper) reaps it
};

// Open files in a zone: a zone's root cannot raise a hard limit (that
// takes CAP_SYS_RESOURCE on the host), so the host side gives it room
// before the zone's processes start: a hard limit of 524,288 (systemd's
// default for services; dbus asks for 65,536), or the kernel's nr_open if
// less. Inside, the soft limit is the usual 1,024 (select() breaks past it).
// For init (launch_zone) and for vcon exec's commands alike.
void raise_file_limit_for_zone();
void set_zone_file_soft_limit();

// Returns once init has been exec'd in the zone, or with the failing setup
// step and its reason ("proc: mount proc: Permission denied"). `cgroup` must
// have been created. The caller must be single-threaded (the child starts as
// a copy of it).
Result<LaunchedZone> launch_zone(const ZoneConfig& config, const ZoneCgroup& cgroup,
                                 InitParent parent = InitParent::Caller);

// The capabilities removed from the zone's bounding set (documented in
// docs/zones.md); `vcon exec` drops the same.
const int* dropped_capabilities(std::size_t& count);

// /proc and /sys paths a zone cannot see (masked) or change (read-only);
// exposed for the docs' sake and for tests.
struct KernelPaths {
  const char* const* masked;
  std::size_t masked_count;
  const char* const* read_only;
  std::size_t read_only_count;
};
KernelPaths kernel_paths();

}  // namespace vcon
