// Which monitor serves the console NAME: a running zone's, else a served
// serial line's. Used by console, who and proxy.
#include "base/files.hpp"
#include "base/names.hpp"
#include "cli/commands.hpp"
#include "console/consoledb_file.hpp"
#include "zone/zone_store.hpp"

namespace vcon::cli {

namespace {
}  // namespace

Result<std::string> console_socket(const Paths& paths, const std::string& name) {
  VCON_TRY(validate_console_name(name));
  if (zone_running(paths, name)) return paths.zone_socket(name);
  if (lock_file_held(paths.line_lock(name))) return paths.line_socket(name);
  ConsoleDbFile consoledb(paths.consoledb, nullptr);
  const ConsoleEntry* entry = consoledb.current().find(name);
  if (entry && !entry->device.empty()) {
    return make_error("serial line " + name + " (" + entry->device + ") is not served; start vcon serve");
  }
  if (!validate_zone_name(name)) {
    return make_error("there is no console " + name + ": no zone has that name (zone names are lower-case), and no "
                      "serial line of the consoledb " + paths.consoledb + " either");
  }
  VCON_TRY(require_running(paths, name));  // says why the zone is not there
  return paths.zone_socket(name);
}

// The log of the monitor console_socket would pick (it is the one that
// hands the log to a user who may not open it), else whichever exists.
std::string console_log_path(const Paths& paths, const std::string& name, bool audit) {
  std::string zone_log = audit ? paths.zone_audit_log(name) : paths.zone_log(name);
  std::string line_log = audit ? paths.line_audit_log(name) : paths.line_log(name);
  if (zone_running(paths, name)) return zone_log;
  if (lock_file_held(paths.line_lock(name))) return line_log;
  if (!path_exists(zone_log) && path_exists(line_log)) return line_log;
  return zone_log;
}

}  // namespace vcon::cli
