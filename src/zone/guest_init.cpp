#include "zone/guest_init.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <unistd.h>

#include <sstream>

#include "zone/zone_root.hpp"

namespace vcon {

namespace {

// The last component of what `path` names in the zone, symlinks followed
// inside its tree: "systemd" for /sbin/init -> /lib/systemd/systemd.
std::string resolved_name(int root, const std::string& path) {
  auto fd = open_in_root(root, path, O_PATH | O_CLOEXEC);
  if (!fd) return {};
  char target[4096];
  ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(fd->get())).c_str(), target, sizeof target - 1);
  if (n <= 0) return {};
  std::string resolved(target, static_cast<std::size_t>(n));
  return resolved.substr(resolved.rfind('/') + 1);
}

// Whether an inittab has an entry for `action` (id:runlevels:action:process).
bool has_action(const std::string& inittab, const std::string& action) {
  std::istringstream lines(inittab);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::size_t first = line.find(':');
    std::size_t second = first == std::string::npos ? first : line.find(':', first + 1);
    std::size_t third = second == std::string::npos ? second : line.find(':', second + 1);
    if (third == std::string::npos) continue;
    if (line.compare(second + 1, third - second - 1, action) == 0 && line.size() > third + 1) return true;
  }
  return false;
}

}  // namespace

const char* guest_init_name(GuestInit kind) {
  switch (kind) {
    case GuestInit::Busybox: return "busybox init";
    case GuestInit::Systemd: return "systemd";
    case GuestInit::Sysvinit: return "sysvinit";
    case GuestInit::Other: break;
  }
  return "an init vcon does not know";
}

GuestInitInfo detect_guest_init(int root, const ZoneConfig& config) {
  GuestInitInfo info;
  std::string name = config.init.empty() ? std::string() : resolved_name(root, config.init.front());
  std::string inittab;
  if (name == "systemd") {
    info.kind = GuestInit::Systemd;
  } else if (name == "busybox") {
    // One binary, many programs: which one runs is argv[0]'s name.
    const std::string& invoked = config.init.front();
    if (invoked.substr(invoked.rfind('/') + 1) == "init") info.kind = GuestInit::Busybox;
  } else if (name == "init") {
    auto text = read_zone_file(root, "/etc/inittab", 1 << 20);
    if (text) {
      info.kind = GuestInit::Sysvinit;
      inittab = std::move(text.value());
    }
  }
  switch (info.kind) {
    case GuestInit::Systemd:
      info.halt_signal = SIGRTMIN + 3;
      info.reboot_signal = SIGINT;
      break;
    case GuestInit::Sysvinit:
      info.halt_signal = SIGPWR;
      info.reboot_signal = SIGINT;
      // Debian's own inittab has powerwait: /etc/init.d/powerfail, a script
      // no longer shipped: SIGPWR does nothing there.
      if (!config.halt_signal && !has_action(inittab, "powerfail")) {
        info.warning = "its /etc/inittab has no powerfail entry, so sysvinit does nothing on vcon halt's SIGPWR and "
                       "the zone is killed after the timeout; add one, as p0::powerfail:/sbin/init 0";
      }
      break;
    case GuestInit::Busybox:
    case GuestInit::Other:
      info.halt_signal = kDefaultHaltSignal;
      info.reboot_signal = kDefaultRebootSignal;
      break;
  }
  if (config.halt_signal) info.halt_signal = config.halt_signal;
  if (config.reboot_signal) info.reboot_signal = config.reboot_signal;
  return info;
}

}  // namespace vcon
