// Which init a zone runs, told from its root file system, and how that init
// is asked to power off or reboot. Read as the zone's data (zone_root.hpp):
// the init path is resolved inside the zone's tree, the inittab read as a
// bounded regular file. Used by the monitor at each boot, so a guest that
// switched inits (apt install systemd-sysv) is stopped the right way.
#pragma once

#include <string>

#include "zone/zone_config.hpp"

namespace vcon {

enum class GuestInit {
  Busybox,   // SIGUSR2 powers off, SIGTERM reboots
  Systemd,   // SIGRTMIN+3 halts (in a zone, ends as a power off), SIGINT reboots (ctrl-alt-del.target)
  Sysvinit,  // SIGPWR runs inittab's powerfail entry, SIGINT its ctrlaltdel entry
  Other,     // anything else: asked as busybox's is, killed after the timeout if it does not listen
};

struct GuestInitInfo {
  GuestInit kind = GuestInit::Other;
  int halt_signal = 0;
  int reboot_signal = 0;
  // Something that will make halt or reboot end in a kill ("" if none):
  // a sysvinit inittab with no powerfail entry.
  std::string warning;
};

const char* guest_init_name(GuestInit kind);

// `root`: an fd of the zone's root directory; `init`: the init command's
// path in the zone. zone.toml's halt_signal and reboot_signal win.
GuestInitInfo detect_guest_init(int root, const ZoneConfig& config);

}  // namespace vcon
