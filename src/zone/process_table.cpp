// Process table: /proc parsing and scanning.
#include "zone/process_table.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <sstream>

#include "base/files.hpp"

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

std::string command_line(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  if (!text || text->empty()) {
    auto comm = read_file("/proc/" + std::to_string(pid) + "/comm");
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
}  // namespace

std::vector<ZoneProcess> processes_in_pid_namespace_of(pid_t init_pid) {
  std::vector<ZoneProcess> processes;
  auto zone_ns = pid_namespace(init_pid);
  if (!zone_ns) return processes;
  DIR* proc = ::opendir("/proc");
  if (!proc) return processes;
  while (dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    if (pid_namespace(static_cast<pid_t>(pid)) != zone_ns) continue;
    auto text = read_file("/proc/" + std::to_string(pid) + "/status");
    if (!text) continue;  // it exited meanwhile
    auto status = parse_proc_status(text.value());
    if (!status) continue;
    processes.push_back({static_cast<pid_t>(pid), status->nspid.back(), status->uid,
                         command_line(static_cast<pid_t>(pid))});
  }
  ::closedir(proc);
  std::sort(processes.begin(), processes.end(), [](auto& a, auto& b) { return a.zone_pid < b.zone_pid; });
  return processes;
}

}  // namespace vcon
