// The CLI's subcommands. Each returns the process exit code; errors are
// printed as one line by the caller (main.cpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/paths.hpp"
#include "base/result.hpp"
#include "zone/zone_config.hpp"

namespace vcon::cli {

struct CreateOptions {
  std::string name;
  std::string rootfs;
  std::string template_name;
  std::string hostname;
  std::string net = "none";
  std::size_t ring_size = 1 << 20;
  std::vector<std::string> init;
  bool privileged = false;
  std::string memory;        // --memory BYTES (suffixes K M G T)
  std::optional<long> pids;  // --pids N
  std::string halt_signal, reboot_signal;  // override what the zone's init is asked with
  std::string root_password_file;          // Debian templates: root's password, first line of this file
  bool rebuild_template = false;           // Debian templates: build the cached one again first
};

struct LogOptions {
  std::string name;
  bool follow = false;
  long lines = -1;  // -1: all
  bool raw = false;
  bool audit = false;  // the audit log: who attached, took over, typed...
};

struct ConsoleOptions {
  std::string name;
  bool read_only = false;
  bool force = false;
  std::optional<char> escape = '~';  // nothing: escapes off (-E)
  long long replay = 0;               // bytes of recent output shown first
  bool detach_on_halt = false;
  std::string host;                   // attach through `ssh HOST vcon proxy NAME`
};

Result<int> create_zone(const Paths& paths, const CreateOptions& options);
Result<int> boot_zone(const Paths& paths, const std::string& name);
// `vcon boot A B C...`: several at once; each failure is reported and the
// others boot on (exit 1 if any failed).
Result<int> boot_zones(const Paths& paths, const std::vector<std::string>& names);
// halt and reboot exit with this when init did not stop in time and the
// zone was killed (the message says so); 0 when it stopped as asked.
constexpr int kExitKilled = 3;
Result<int> halt_zone(const Paths& paths, const std::string& name, int timeout, bool force);
Result<int> reboot_zone(const Paths& paths, const std::string& name, int timeout);
// Running zones' monitors handed over to new ones running `binary`
// (default: this process's own binary).
Result<int> upgrade_command(const Paths& paths, const std::string& name, bool all, const std::string& binary);
// `purge`: its logs too (or, for a zone destroyed before, only its logs).
Result<int> destroy_zone(const Paths& paths, const std::string& name, bool force, bool purge);
Result<int> list_zones_command(const Paths& paths, bool json);
Result<int> ps_command(const Paths& paths, const std::string& name, bool json);
Result<int> exec_command(const Paths& paths, const std::string& name, const std::vector<std::string>& argv);
Result<int> log_command(const Paths& paths, const LogOptions& options);
Result<int> console_command(const Paths& paths, const ConsoleOptions& options);
Result<int> proxy_command(const Paths& paths, const std::string& name);
Result<int> who_command(const Paths& paths, const std::string& name, bool json);
// One NAMEctl command (resize, break, hangup, bSPEED) without the file system.
Result<int> ctl_command(const Paths& paths, const std::string& name, const std::vector<std::string>& words);

// The socket of the monitor serving console NAME: a running zone's, else a
// served serial line's; the error says why there is none.
Result<std::string> console_socket(const Paths& paths, const std::string& name);
// The in-session commands after the escape character `e`, for ~? and --help.
std::string help_text(char e);

// `vcon check`; and the consoledb's problems as warnings on stderr (boot, serve, fs).
Result<int> check_command(const Paths& paths);
void warn_about_consoledb(const Paths& paths);

// A zone's console log (or its audit log), else a serial line's.
std::string console_log_path(const Paths& paths, const std::string& name, bool audit = false);

}  // namespace vcon::cli
