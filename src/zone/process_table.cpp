// Process table: /proc parsing and scanning.
#include "zone/process_table.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <sstream>

#include "base/files.hpp"
#include "base/unique_fd.hpp"

namespace vcon {

std::optional<ProcessStatus> parse_proc_status(const std::string& text) {
  ProcessStatus status;
  bool have_uid = false;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string key;
    fields >> key;
    if (key == "Uid:") {
      have_uid = static_cast<bool>(fields >> status.uid);
    } else if (key == "NSpid:") {
      for (pid_t pid; fields >> pid;) status.nspid.push_back(pid);
    }
  }
  if (!have_uid || status.nspid.empty()) return std::nullopt;
  return status;
}

std::map<uid_t, std::string> parse_passwd(const std::string& text) {
  std::map<uid_t, std::string> users;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string name, password, uid;
    if (std::getline(fields, name, ':') && std::getline(fields, password, ':') && std::getline(fields, uid, ':')) {
      char* end = nullptr;
      unsigned long value = std::strtoul(uid.c_str(), &end, 10);
      if (!uid.empty() && *end == '\0') users.emplace(static_cast<uid_t>(value), name);
    }
  }
  return users;
}

namespace {
std::optional<ino_t> pid_namespace(pid_t pid) {
  struct stat st;
  std::string path = "/proc/" + std::to_string(pid) + "/ns/pid";
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return st.st_ino;
}

// A zone's process sets its own command line, as long as it likes
// (PR_SET_MM can point it at gigabytes): only its start is read.
constexpr std::size_t kCommandLineLimit = 4096;

std::string command_line(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/cmdline", kCommandLineLimit);
  if (!text || text->empty()) {
    auto comm = read_file("/proc/" + std::to_string(pid) + "/comm", 64);
    if (!comm) return "?";
    std::string name = comm.value();
    if (!name.empty() && name.back() == '\n') name.pop_back();
    return "[" + name + "]";
  }
  std::string command = text.value();
  while (!command.empty() && command.back() == '\0') command.pop_back();
  std::replace(command.begin(), command.end(), '\0', ' ');
  return command;
}
// Calls `each` with the host PID of every process in `init_pid`'s PID
// namespace (as /proc lists them now).
void each_process_in_pid_namespace_of(pid_t init_pid, const std::function<void(pid_t)>& each) {
  auto zone_ns = pid_namespace(init_pid);
  if (!zone_ns) return;
  DIR* proc = ::opendir("/proc");
  if (!proc) return;
  while (dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    if (pid_namespace(static_cast<pid_t>(pid)) == zone_ns) each(static_cast<pid_t>(pid));
  }
  ::closedir(proc);
}
}  // namespace

std::vector<ZoneProcess> processes_in_pid_namespace_of(pid_t init_pid) {
  std::vector<ZoneProcess> processes;
  each_process_in_pid_namespace_of(init_pid, [&](pid_t pid) {
    // Up to NGROUPS_MAX groups come before NSpid: ~720 KB at most.
    auto text = read_file("/proc/" + std::to_string(pid) + "/status", 1 << 20);
    if (!text) return;  // it exited meanwhile
    auto status = parse_proc_status(text.value());
    if (!status) return;
    processes.push_back({pid, status->nspid.back(), status->uid, command_line(pid)});
  });
  std::sort(processes.begin(), processes.end(), [](auto& a, auto& b) { return a.zone_pid < b.zone_pid; });
  return processes;
}

std::optional<pid_t> parse_stat_process_group(const std::string& stat) {
  auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 1));
  std::string state;
  pid_t parent, group;
  if (!(fields >> state >> parent >> group)) return std::nullopt;
  return group;
}

bool signal_zone_process(pid_t init_pid, pid_t pid, int sig) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) return false;
  auto zone_ns = pid_namespace(init_pid);
  if (!zone_ns || pid_namespace(pid) != zone_ns) return false;
  // If `pid` was reused since pidfd_open, the pidfd's process is dead and
  // this fails; if not, the process we checked is the one signalled.
  return ::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) == 0;
}

// Each process's stat alone (its group is there), not what
// processes_in_pid_namespace_of() reads: a monitor asks this in its loop
// (ctl hangup), and a zone's root chooses how large a process's status is
// (up to ~720 KB of groups) and how many processes there are.
std::vector<pid_t> zone_process_group(pid_t init_pid, pid_t group) {
  std::vector<pid_t> members;
  each_process_in_pid_namespace_of(init_pid, [&](pid_t pid) {
    auto stat = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
    if (stat && parse_stat_process_group(stat.value()) == group) members.push_back(pid);
  });
  return members;
}

}  // namespace vcon
