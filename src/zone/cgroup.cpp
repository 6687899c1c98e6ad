// Zone cgroups: the host's layout from mountinfo (pure), and the zone's
// directories in it (thin syscalls, fd-relative so that nothing in a tree
// the zone can write is ever reached by a path).
#include "zone/cgroup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <sstream>

#include "base/files.hpp"
#include "base/unique_fd.hpp"

namespace vcon {

namespace {

// mountinfo escapes ' ', '\t', '\n' and '\\' as \ooo.
std::string unescape_octal(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::istringstream in(text);
  for (std::string part; std::getline(in, part, separator);) parts.push_back(part);
  return parts;
}

// Deep enough for any systemd guest (user@.service/app.slice/... is ~6);
// a zone cannot make the monitor recurse without bound.
constexpr int kMaxWalkDepth = 64;

UniqueFd open_directory_at(int dirfd, const std::string& name) {
  return UniqueFd(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

std::vector<std::string> subdirectories(int dirfd) {
  std::vector<std::string> names;
  int copy = ::dup(dirfd);
  if (copy < 0) return names;
  DIR* dir = ::fdopendir(copy);
  if (!dir) {
    ::close(copy);
    return names;
  }
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (entry->d_type == DT_DIR && name != "." && name != "..") names.push_back(name);
  }
  ::closedir(dir);
  return names;
}

std::string read_small_at(int dirfd, const char* name, std::size_t limit = 4096) {
  UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return {};
  std::string text(limit, '\0');
  ssize_t n = ::read(fd.get(), text.data(), limit);
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return text;
}

Result<void> write_at(int dirfd, const std::string& where, const char* name, const std::string& text) {
  UniqueFd fd(::openat(dirfd, name, O_WRONLY | O_CLOEXEC));
  if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return errno_error("write '" + text + "' to " + where + "/" + name);
  }
  return {};
}

// Calls visit(dirfd) on `dirfd` and every directory below it, deepest first.
template <class Visit>
bool walk_depth_first(int dirfd, Visit& visit, int depth = 0) {
  if (depth > kMaxWalkDepth) return false;
  for (const auto& name : subdirectories(dirfd)) {
    UniqueFd child = open_directory_at(dirfd, name);
    if (child && !walk_depth_first(child.get(), visit, depth + 1)) return false;
  }
  visit(dirfd);
  return true;
}

Result<void> remove_below(int dirfd, const std::string& where, int depth = 0) {
  if (depth > kMaxWalkDepth) return make_error("remove cgroup " + where + ": nested deeper than " + std::to_string(kMaxWalkDepth));
  for (const auto& name : subdirectories(dirfd)) {
    UniqueFd child = open_directory_at(dirfd, name);
    if (!child) continue;
    VCON_TRY(remove_below(child.get(), where + "/" + name, depth + 1));
    if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
      return errno_error("remove cgroup " + where + "/" + name);
    }
  }
  return {};
}

// v1 cpuset refuses tasks until cpus and mems are set: inherit the parent's.
void inherit_cpuset(const std::string& parent, const std::string& child) {
  for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
    auto mine = read_file(child + "/" + file);
    if (mine && mine->find_first_not_of(" \n") != std::string::npos) continue;
    auto theirs = read_file(parent + "/" + file);
    if (theirs) (void)write_file_in_place(child + "/" + file, theirs.value());
  }
}

}  // namespace

bool CgroupHierarchy::has(const std::string& controller) const {
  return std::find(controllers.begin(), controllers.end(), controller) != controllers.end();
}

std::vector<CgroupHierarchy> parse_cgroup_mounts(const std::string& mountinfo) {
  std::vector<CgroupHierarchy> layout;
  std::istringstream lines(mountinfo);
  for (std::string line; std::getline(lines, line);) {
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    auto before = split(line.substr(0, dash), ' ');
    auto after = split(line.substr(dash + 3), ' ');
    if (before.size() < 5 || after.size() < 3) continue;
    const std::string& type = after[0];
    if (type != "cgroup" && type != "cgroup2") continue;
    CgroupHierarchy h;
    h.mountpoint = unescape_octal(before[4]);
    h.unified = type == "cgroup2";
    if (!h.unified) {
      for (const auto& option : split(after[2], ',')) {
        if (option.rfind("name=", 0) == 0) {
          h.name = option.substr(5);
        } else if (option != "rw" && option != "ro" && option.find('=') == std::string::npos && option != "noprefix" &&
                   option != "clone_children" && option != "xattr" && option != "cpuset_v2_mode" &&
                   option != "favordynmods" && option != "nofavordynmods") {
          h.controllers.push_back(option);
        }
      }
      std::sort(h.controllers.begin(), h.controllers.end());
    }
    auto same = [&](const CgroupHierarchy& o) {
      return o.unified == h.unified && o.controllers == h.controllers && o.name == h.name;
    };
    if (std::none_of(layout.begin(), layout.end(), same)) layout.push_back(std::move(h));
  }
  return layout;
}

Result<std::vector<CgroupHierarchy>> host_cgroup_layout() {
  auto text = read_file("/proc/self/mountinfo");
  if (!text) return text.error();
  auto layout = parse_cgroup_mounts(text.value());
  if (std::none_of(layout.begin(), layout.end(), [](const CgroupHierarchy& h) { return h.unified; })) {
    return make_error("this host has no cgroup v2 hierarchy, which zones need (mount cgroup2 on /sys/fs/cgroup, "
                      "or beside cgroup v1 on /sys/fs/cgroup/unified)");
  }
  return layout;
}

Result<std::uint64_t> parse_byte_size(const std::string& text) {
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  std::string unit(end, text.data() + text.size());
  int shift = unit.empty() || unit == "B" ? 0 : -1;
  for (auto [suffix, bits] : {std::pair{"K", 10}, {"M", 20}, {"G", 30}, {"T", 40}}) {
    if (unit == suffix || unit == std::string(suffix) + "iB" || unit == std::string(suffix) + "B") shift = bits;
  }
  if (error != std::errc() || end == text.data() || shift < 0 || (shift && value > (~std::uint64_t{0} >> shift))) {
    return make_error("'" + text + "' is not a size (a number of bytes, or with K, M, G or T: 512M)");
  }
  return value << shift;
}

Result<void> ZoneCgroup::create(const CgroupLimits& limits, std::optional<std::pair<uid_t, gid_t>> owner) const {
  for (const auto& h : layout_) {
    std::string path = h.mountpoint;
    for (const auto& part : split(relative_, '/')) {
      std::string parent = path;
      path += "/" + part;
      if (h.unified) {
        // Below vcon's own level, the zone gets what that level was given;
        // at the host's root only what the limits need (what else the
        // host's root hands down is the host's business).
        auto controllers = read_file(parent + "/cgroup.controllers");
        for (auto controller : split(controllers ? controllers.value() : "", ' ')) {
          while (!controller.empty() && std::isspace(static_cast<unsigned char>(controller.back()))) controller.pop_back();
          bool needed = (controller == "memory" && limits.memory_max) || (controller == "pids" && limits.pids_max);
          if (!controller.empty() && (parent != h.mountpoint || needed)) {
            (void)write_file_in_place(parent + "/cgroup.subtree_control", "+" + controller);
          }
        }
      }
      if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return errno_error("create cgroup " + path);
      if (h.has("cpuset")) inherit_cpuset(parent, path);
    }
  }
  if (populated()) {
    return make_error("cgroup " + relative_ + " still holds processes of an earlier boot (vcon halt --force ends them)");
  }
  for (const auto& h : layout_) {
    std::string path = path_in(h);
    UniqueFd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return errno_error("open cgroup " + path);
    VCON_TRY(remove_below(dir.get(), path));  // sub-cgroups of a previous boot
    if (h.unified) {
      // A zone may nest cgroups as systemd does, not without bound.
      (void)write_at(dir.get(), path, "cgroup.max.depth", "32");
      (void)write_at(dir.get(), path, "cgroup.max.descendants", "4096");
    }
    if (h.has("devices")) {
      // Only the nodes a zone's /dev has: null zero full random urandom,
      // tty console ptmx, and its own ptys. Nothing else opens, whatever
      // node a zone finds or makes (no block device, so no disk mounts).
      VCON_TRY(write_at(dir.get(), path, "devices.deny", "a"));
      for (const char* rule : {"c 1:3 rw", "c 1:5 rw", "c 1:7 rw", "c 1:8 rw", "c 1:9 rw", "c 5:0 rw", "c 5:1 rw",
                               "c 5:2 rw", "c 136:* rw"}) {
        VCON_TRY(write_at(dir.get(), path, "devices.allow", rule));
      }
    }
    if (owner && h.unified) {
      if (::fchown(dir.get(), owner->first, owner->second) != 0) return errno_error("delegate cgroup " + path);
      for (const char* file : {"cgroup.procs", "cgroup.threads", "cgroup.subtree_control"}) {
        if (::fchownat(dir.get(), file, owner->first, owner->second, AT_SYMLINK_NOFOLLOW) != 0 && errno != ENOENT) {
          return errno_error(std::string("delegate cgroup ") + path + "/" + file);
        }
      }
    }
  }
  auto limit = [&](const char* what, std::uint64_t value, const char* v2_file,
                   std::vector<const char*> v1_files, const char* v1_controller) -> Result<void> {
    for (const auto& h : layout_) {
      std::string path = path_in(h);
      if (h.unified && path_exists(path + "/" + v2_file)) return write_file_in_place(path + "/" + v2_file, std::to_string(value));
    }
    for (const auto& h : layout_) {
      if (h.unified || !h.has(v1_controller)) continue;
      for (const char* file : v1_files) {
        std::string target = path_in(h) + "/" + file;
        if (path_exists(target)) VCON_TRY(write_file_in_place(target, std::to_string(value)));
      }
      return {};
    }
    return make_error(std::string("this host has no ") + v1_controller + " cgroup controller (neither in cgroup v2 nor v1); " +
                      what + " cannot be limited");
  };
  if (limits.memory_max) {
    VCON_TRY(limit("memory", *limits.memory_max, "memory.max",
                   {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes"}, "memory"));
  }
  if (limits.pids_max) VCON_TRY(limit("the number of processes", *limits.pids_max, "pids.max", {"pids.max"}, "pids"));
  return {};
}

Result<void> ZoneCgroup::add(pid_t pid) const {
  for (const auto& h : layout_) VCON_TRY(write_file_in_place(path_in(h) + "/cgroup.procs", std::to_string(pid)));
  return {};
}

std::optional<std::string> unified_cgroup_path(const std::string& proc_cgroup) {
  std::istringstream lines(proc_cgroup);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return std::nullopt;
}

namespace {
// `path` is `root` or below it (no "..": cgroupfs paths from the kernel have none).
bool within(const std::string& path, const std::string& root) {
  return path == root || (path.rfind(root + "/", 0) == 0 && path.find("/..") == std::string::npos);
}
}  // namespace

Result<void> ZoneCgroup::add_beside_init(pid_t pid, pid_t init_pid) const {
  auto text = read_file("/proc/" + std::to_string(init_pid) + "/cgroup", 1 << 16);
  if (!text) return text.error();
  for (const auto& h : layout_) {
    std::string target = path_in(h);
    if (h.unified) {
      auto path = unified_cgroup_path(text.value());
      if (!path || !within(*path, "/" + relative_)) {
        return make_error("the zone's init is not in the zone's cgroup " + relative_);
      }
      target = h.mountpoint + *path;
    }
    VCON_TRY(write_file_in_place(target + "/cgroup.procs", std::to_string(pid)));
  }
  return {};
}

bool ZoneCgroup::holds(pid_t pid) const {
  auto text = read_file("/proc/" + std::to_string(pid) + "/cgroup", 1 << 16);
  if (!text) return false;
  auto path = unified_cgroup_path(text.value());
  return path && within(*path, "/" + relative_);
}

bool ZoneCgroup::populated() const {
  for (const auto& h : layout_) {
    UniqueFd dir(::open(path_in(h).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) continue;
    if (h.unified) {
      std::string events = read_small_at(dir.get(), "cgroup.events");
      if (events.find("populated 1") != std::string::npos) return true;
      continue;
    }
    bool found = false;
    auto visit = [&](int fd) { found = found || !read_small_at(fd, "cgroup.procs", 16).empty(); };
    if (!walk_depth_first(dir.get(), visit) || found) return true;  // too deep to tell: assume alive
  }
  return false;
}

void ZoneCgroup::kill_all() const {
  // cgroup.kill, where there is v2: all at once, no PID to race with.
  for (const auto& h : layout_) {
    UniqueFd dir(::open(path_in(h).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir && h.unified && write_at(dir.get(), path_in(h), "cgroup.kill", "1")) return;
  }
  for (const auto& h : layout_) {
    UniqueFd dir(::open(path_in(h).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) continue;
    auto visit = [&](int fd) {
      std::istringstream pids(read_small_at(fd, "cgroup.procs", 1 << 20));
      for (pid_t pid; pids >> pid;) ::kill(pid, SIGKILL);
    };
    (void)walk_depth_first(dir.get(), visit);
  }
}

Result<void> ZoneCgroup::remove() const {
  for (const auto& h : layout_) {
    std::string path = path_in(h);
    UniqueFd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) continue;
    VCON_TRY(remove_below(dir.get(), path));
    dir.reset();
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT) return errno_error("remove cgroup " + path);
  }
  return {};
}

}  // namespace vcon
