// Processes as the global zone sees them: host PID, PID inside the zone, user,
// command. Parsing is pure (unit-tested); scanning /proc is thin. Used by
// `vcon ps`.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vcon {

struct ProcessStatus {
  uid_t uid = 0;
  std::vector<pid_t> nspid;  // outermost (host) first, innermost last
};

// Parses the text of /proc/PID/status; nothing if Uid or NSpid is missing.
std::optional<ProcessStatus> parse_proc_status(const std::string& text);
// /etc/passwd text -> uid to name.
std::map<uid_t, std::string> parse_passwd(const std::string& text);

struct ZoneProcess {
  pid_t host_pid;
  pid_t zone_pid;
  uid_t uid;
  std::string command;
};

// Every process in the same PID namespace as `init_pid`, sorted by zone PID.
std::vector<ZoneProcess> processes_in_pid_namespace_of(pid_t init_pid);

}  // namespace vcon
