// UUCP lock files.
#include "serial/uucp_lock.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include <fmt/core.h>

#include "base/files.hpp"
#include "base/unique_fd.hpp"

namespace vcon {

std::string uucp_lock_name(std::string_view device) {
  if (device.substr(0, 5) == "/dev/") device.remove_prefix(5);
  std::string name = "LCK..";
  for (char c : device) name += c == '/' ? '_' : c;
  return name;
}

std::string uucp_lock_content(pid_t pid) { return fmt::format("{:>10}\n", pid); }

std::optional<pid_t> parse_uucp_lock(std::string_view content) {
  bool text = std::all_of(content.begin(), content.end(),
                          [](char c) { return c == '\n' || (c >= ' ' && c <= '~'); });
  if (!text && content.size() == sizeof(std::int32_t)) {  // the old binary form
    std::int32_t pid;
    std::memcpy(&pid, content.data(), sizeof pid);
    if (pid > 0) return pid;
  }
  std::size_t start = content.find_first_not_of(' ');
  std::size_t end = content.find_last_not_of("\n");
  if (start == std::string_view::npos || end == std::string_view::npos || end < start) return std::nullopt;
  std::string_view digits = content.substr(start, end - start + 1);
  pid_t pid = 0;
  auto [stop, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
  if (ec != std::errc() || stop != digits.data() + digits.size() || pid <= 0) return std::nullopt;
  return pid;
}

std::string describe_process(pid_t pid) {
  auto comm = read_file(fmt::format("/proc/{}/comm", pid), 64);
  std::string name = comm ? *comm : "";
  while (!name.empty() && name.back() == '\n') name.pop_back();
  return name.empty() ? fmt::format("PID {}", pid) : fmt::format("{} (PID {})", name, pid);
}

namespace {
bool alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }
}  // namespace

UucpLock& UucpLock::operator=(UucpLock&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    other.path_.clear();
    busy_ = std::move(other.busy_);
  }
  return *this;
}

Result<UucpLock::Outcome> UucpLock::acquire(const std::string& lock_dir, const std::string& device) {
  release();
  busy_.reset();
  std::string path = lock_dir + "/" + uucp_lock_name(device);
  for (int attempt = 0; attempt < 3; ++attempt) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (fd) {
      std::string content = uucp_lock_content(::getpid());
      if (::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
        int saved = errno;
        ::unlink(path.c_str());
        errno = saved;
        return errno_error("write lock file " + path);
      }
      path_ = path;
      return Outcome::Locked;
    }
    bool writable = errno == EEXIST;
    if (!writable && errno != EACCES && errno != EPERM && errno != EROFS) {
      return errno_error("create lock file " + path);
    }
    // Whether or not we may write here, a live holder is respected. Anyone
    // may put anything here (a FIFO, a huge file): read it as data only.
    auto content = read_regular_file(path, 4096);
    if (!content && content.error().errno_value == ENOENT) {
      if (!writable) return Outcome::NotWritable;
      continue;  // gone meanwhile: try again
    }
    auto pid = content ? parse_uucp_lock(*content) : std::nullopt;  // not a lock file at all: garbage
    if (pid && alive(*pid)) {
      busy_ = Busy{*pid, describe_process(*pid)};
      return Outcome::Busy;
    }
    if (!writable) return Outcome::NotWritable;
    // Stale: its holder is dead, or it holds garbage.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      if (errno == EACCES || errno == EPERM) return Outcome::NotWritable;
      return errno_error("remove stale lock file " + path);
    }
  }
  return make_error("lock file " + path + " keeps reappearing; another program is racing for the line");
}

void UucpLock::release() {
  if (path_.empty()) return;
  ::unlink(path_.c_str());
  path_.clear();
}

}  // namespace vcon
