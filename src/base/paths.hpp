// Where vcon keeps things. One resolver for every command: a flag wins over the
// environment, which wins over the built-in default, so tests can run side by
// side in temporary directories.
#pragma once

#include <string>

namespace vcon {

struct Paths {
  std::string state_dir;  // zone definitions and built root file systems
  std::string run_dir;    // per-zone run directories: lock, socket, state
  std::string log_dir;    // console logs
  std::string consoledb;  // who may use which console, and serial lines

  // Fills unset fields from VCON_STATE_DIR / VCON_RUN_DIR / VCON_LOG_DIR /
  // VCON_CONSOLEDB, then from the defaults /var/lib/vcon, /run/vcon,
  // /var/log/vcon, /etc/vcon/consoledb.
  void resolve_from_environment();

  std::string zone_dir(const std::string& zone) const { return state_dir + "/zones/" + zone; }
  std::string zone_config(const std::string& zone) const { return zone_dir(zone) + "/zone.toml"; }
  std::string zone_run_dir(const std::string& zone) const { return run_dir + "/" + zone; }
  std::string zone_lock(const std::string& zone) const { return zone_run_dir(zone) + "/monitor.lock"; }
  std::string zone_socket(const std::string& zone) const { return zone_run_dir(zone) + "/console.sock"; }
  std::string zone_state(const std::string& zone) const { return zone_run_dir(zone) + "/state.json"; }
  std::string zone_log(const std::string& zone) const { return log_dir + "/" + zone + ".log"; }
  std::string monitor_log(const std::string& zone) const { return log_dir + "/" + zone + ".monitor.log"; }
  // Serial lines (consoledb dev= entries): apart from zones, since a line
  // and a zone may share a name. Zone names cannot start with a dot.
  std::string line_socket(const std::string& console) const { return run_dir + "/.lines/" + console + "/console.sock"; }
  std::string fs_log() const { return log_dir + "/consolefs.log"; }
};

}  // namespace vcon
