// A zone's definition as stored in STATE_DIR/zones/NAME/zone.toml, and its
// parsing/serialising (toml++). Used by the CLI and the monitor.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "zone/cgroup.hpp"
#include "zone/id_ranges.hpp"

namespace vcon {

enum class NetMode { None, Host };

struct ZoneConfig {
  std::string name;
  std::string rootfs;              // absolute path
  bool rootfs_owned = false;       // built by a template: destroy removes it
  std::string hostname;
  NetMode net = NetMode::None;
  std::vector<std::string> init{"/sbin/init"};
  std::size_t ring_size = 1 << 20;  // bytes of console output kept for replay
  int halt_signal = 0;              // what asks init to power off (0: default)
  int reboot_signal = 0;            // what asks init to reboot (0: default)
  // false: a user namespace maps the zone's root to `ids.base` on the host.
  // true: no user namespace; zone root is host root (not a security boundary).
  bool privileged = false;
  IdRange ids;                      // count 0: none yet (given at the next boot)
  CgroupLimits limits;
  std::string uuid;                 // the zone's container_uuid for its init ("": none), made at create

  // The zone's cgroup under each hierarchy's root. Its id range (unique on
  // the host) makes it unique too, also across state directories.
  std::string cgroup_name() const;
};

// busybox init: SIGUSR2 powers off, SIGTERM reboots; for inits vcon does
// not know. systemd and sysvinit are recognized at boot (guest_init.hpp);
// zone.toml's halt_signal and reboot_signal win over all of these.
constexpr int kDefaultHaltSignal = 12;    // SIGUSR2
constexpr int kDefaultRebootSignal = 15;  // SIGTERM

Result<NetMode> parse_net_mode(const std::string& text);
const char* net_mode_name(NetMode mode);

// "SIGUSR2", "USR2", "12", "SIGRTMIN+4" -> number.
Result<int> parse_signal(const std::string& text);
// Lowercase 8-4-4-4-12 hex.
bool is_uuid(std::string_view text);
std::string signal_name(int signal);

std::string serialize_zone_config(const ZoneConfig& config);
// `source` names the file in error messages.
Result<ZoneConfig> parse_zone_config(const std::string& text, const std::string& source);

}  // namespace vcon
