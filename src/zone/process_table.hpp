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

// The process group of `pid`, from the text of /proc/PID/stat (whose comm
// field may hold spaces and parentheses).
std::optional<pid_t> parse_stat_process_group(const std::string& stat);
// Sends `sig` to `pid` only if it is a process of the zone whose init is
// `init_pid`: a number a zone hands the host (TIOCGPGRP keeps returning a
// group that is gone) may name a host process by then. The pidfd is taken
// before the check, so the process checked is the one signalled.
bool signal_zone_process(pid_t init_pid, pid_t pid, int sig);
// The zone's processes in process group `group`.
std::vector<pid_t> zone_process_group(pid_t init_pid, pid_t group);

}  // namespace vcon
