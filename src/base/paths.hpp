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
  std::string lock_dir;   // UUCP lock files of serial lines (LCK..NAME)
  // Every zone's range of host ids, for the whole host: not under state_dir,
  // so zones of different state directories never share a range.
  std::string id_registry;
  // Template root file systems built once (Debian's): copied for each zone.
  std::string cache_dir;

  // Fills unset fields from VCON_STATE_DIR / VCON_RUN_DIR / VCON_LOG_DIR /
  // VCON_CONSOLEDB / VCON_LOCK_DIR / VCON_ID_REGISTRY / VCON_CACHE_DIR, then
  // from the defaults /var/lib/vcon, /run/vcon, /var/log/vcon,
  // /etc/vcon/consoledb, /var/lock, /etc/vcon/subid, /var/cache/vcon.
  void resolve_from_environment();

  std::string zone_dir(const std::string& zone) const { return state_dir + "/zones/" + zone; }
  std::string zone_config(const std::string& zone) const { return zone_dir(zone) + "/zone.toml"; }
  std::string zone_run_dir(const std::string& zone) const { return run_dir + "/" + zone; }
  std::string zone_lock(const std::string& zone) const { return zone_run_dir(zone) + "/monitor.lock"; }
  std::string zone_socket(const std::string& zone) const { return zone_run_dir(zone) + "/console.sock"; }
  std::string zone_state(const std::string& zone) const { return zone_run_dir(zone) + "/state.json"; }
  std::string zone_log(const std::string& zone) const { return log_dir + "/" + zone + ".log"; }
  std::string zone_audit_log(const std::string& zone) const { return log_dir + "/" + zone + ".audit.log"; }
  std::string monitor_log(const std::string& zone) const { return log_dir + "/" + zone + ".monitor.log"; }
  // Serial lines (consoledb dev= entries): apart from zones, since a line
  // and a zone may share a name. Zone names cannot start with a dot.
  std::string lines_run_dir() const { return run_dir + "/.lines"; }
  std::string line_run_dir(const std::string& console) const { return lines_run_dir() + "/" + console; }
  std::string line_socket(const std::string& console) const { return line_run_dir(console) + "/console.sock"; }
  std::string line_lock(const std::string& console) const { return line_run_dir(console) + "/monitor.lock"; }
  std::string line_log(const std::string& console) const { return log_dir + "/lines/" + console + ".log"; }
  std::string line_audit_log(const std::string& console) const { return log_dir + "/lines/" + console + ".audit.log"; }
  std::string line_monitor_log(const std::string& console) const { return log_dir + "/lines/" + console + ".monitor.log"; }
  std::string serve_log() const { return log_dir + "/serve.log"; }
  std::string fs_log() const { return log_dir + "/consolefs.log"; }
};

}  // namespace vcon
