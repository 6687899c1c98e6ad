// File-system and fd helpers.
#include "base/files.hpp"

#include <fcntl.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>

extern char** environ;

namespace vcon {

Result<void> write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, -1);
      continue;
    }
    if (n < 0) return errno_error("write");
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

namespace {
Result<void> check_unlink(int rc, const std::string& path) {
  if (rc != 0 && errno != ENOENT) return errno_error("remove " + path);
  return {};
}
}  // namespace

Result<void> read_to_end(int fd, std::string& out) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read");
    if (n == 0) return {};
    out.append(buf, static_cast<std::size_t>(n));
  }
}

namespace {
// Reads at most `limit` bytes, growing `out` only by what came: a bound of
// 1 MiB must not cost 1 MiB (zero-filled in advance, those pages stayed in
// every monitor's heap and were shared into every keeper; bench/fleet).
Result<void> read_bounded(int fd, std::size_t limit, std::string& out) {
  char buf[16384];
  while (out.size() < limit) {
    ssize_t n = ::read(fd, buf, std::min(sizeof buf, limit - out.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read");
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return {};
}
}  // namespace

Result<std::string> read_file(const std::string& path, std::size_t limit) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("open " + path);
  std::string content;
  if (auto done = read_bounded(fd.get(), limit, content); !done) return Error{"read " + path, done.error().errno_value};
  return content;
}

Result<std::string> read_regular_fd(int fd, const std::string& path, std::size_t limit) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return errno_error("stat " + path);
  if (!S_ISREG(st.st_mode)) return make_error(path + " is not a regular file");
  if (static_cast<std::uint64_t>(st.st_size) > limit) {
    return make_error(path + " is larger than " + std::to_string(limit) + " bytes");
  }
  std::string content;
  if (auto done = read_bounded(fd, limit, content); !done) return Error{"read " + path, done.error().errno_value};
  return content;
}

Result<std::string> read_regular_file(const std::string& path, std::size_t limit) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC));
  if (!fd) return errno_error("open " + path);
  return read_regular_fd(fd.get(), path, limit);
}

Result<void> write_file_atomic(const std::string& path, const std::string& content, int mode) {
  std::string temporary = path + ".tmp." + std::to_string(::getpid());
  UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) return errno_error("create " + temporary);
  if (!write_all(fd.get(), content) || ::fsync(fd.get()) != 0 || ::rename(temporary.c_str(), path.c_str()) != 0) {
    Error error = errno_error("save " + path);
    ::unlink(temporary.c_str());
    return error;
  }
  return {};
}

Result<void> write_file_in_place(const std::string& path, const std::string& content) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return errno_error("open " + path);
  ssize_t n = ::write(fd.get(), content.data(), content.size());
  if (n != static_cast<ssize_t>(content.size())) return errno_error("write '" + content + "' to " + path);
  return {};
}

Result<void> make_directories(const std::string& path, int mode) {
  for (std::size_t i = 1; i <= path.size(); ++i) {
    if (i != path.size() && path[i] != '/') continue;
    std::string prefix = path.substr(0, i);
    if (::mkdir(prefix.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST) {
      return errno_error("create directory " + prefix);
    }
  }
  if (!is_directory(path)) return make_error("create directory " + path + ": a file of that name is in the way");
  return {};
}

namespace {

std::vector<std::string> directory_entries(int fd) {
  std::vector<std::string> names;
  int copy = ::dup(fd);
  DIR* dir = copy >= 0 ? ::fdopendir(copy) : nullptr;
  if (!dir) {
    if (copy >= 0) ::close(copy);
    return names;
  }
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(dir);
  return names;
}

std::optional<std::uint64_t> mount_id(int fd) {
  struct statx st;
  if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &st) != 0) return std::nullopt;
  return st.stx_mnt_id;
}

// One directory on the way down: what it holds, and who it is (to check
// the way back up).
struct Level {
  std::string name;  // in its parent
  dev_t dev;
  ino_t ino;
  std::vector<std::string> entries;
  std::size_t next = 0;
};

// TOP/a/b/... for messages, shortened in the middle when long.
std::string level_path(const std::string& top, const std::vector<Level>& levels, const std::string& last = "") {
  std::string path = top;
  for (std::size_t i = 1; i < levels.size(); ++i) path += "/" + levels[i].name;
  if (!last.empty()) path += "/" + last;
  if (path.size() > 240) path = path.substr(0, 100) + "/.../" + path.substr(path.size() - 100);
  return path;
}

}  // namespace

Result<void> remove_tree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT ? Result<void>{} : errno_error("remove " + path);
  if (!S_ISDIR(st.st_mode)) return check_unlink(::unlink(path.c_str()), path);
  // By file descriptor all the way down: a name swapped for a symlink is
  // removed as the link it is, never followed. One fd at a time (the way
  // back up is "..", checked against where we came from), so no depth a
  // zone builds runs out of fds or path length.
  UniqueFd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir || ::fstat(dir.get(), &st) != 0) return errno_error("remove " + path);
  auto mount = mount_id(dir.get());
  std::vector<Level> levels;
  levels.push_back({"", st.st_dev, st.st_ino, directory_entries(dir.get())});
  while (true) {
    Level& level = levels.back();
    if (level.next == level.entries.size()) {
      if (levels.size() == 1) break;
      std::string where = level_path(path, levels);
      UniqueFd parent(::openat(dir.get(), "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      const Level& above = levels[levels.size() - 2];
      if (!parent || ::fstat(parent.get(), &st) != 0 || st.st_dev != above.dev || st.st_ino != above.ino) {
        return make_error("remove " + path + ": " + where + " was moved while it was being removed");
      }
      std::string name = level.name;
      levels.pop_back();
      dir = std::move(parent);
      if (::unlinkat(dir.get(), name.c_str(), AT_REMOVEDIR) != 0) return errno_error("remove " + where);
      ++levels.back().next;
      continue;
    }
    const std::string& name = level.entries[level.next];
    if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) {
      if (::unlinkat(dir.get(), name.c_str(), 0) != 0 && errno != ENOENT) {
        return errno_error("remove " + level_path(path, levels, name));
      }
      ++level.next;
      continue;
    }
    UniqueFd child(::openat(dir.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!child || ::fstat(child.get(), &st) != 0) return errno_error("remove " + level_path(path, levels, name));
    if (mount_id(child.get()) != mount) {
      return make_error("remove " + path + ": something is mounted on " + level_path(path, levels, name) +
                        " (unmount it first)");
    }
    auto entries = directory_entries(child.get());
    levels.push_back({name, st.st_dev, st.st_ino, std::move(entries)});
    dir = std::move(child);
  }
  dir.reset();
  if (::rmdir(path.c_str()) != 0) return errno_error("remove " + path);
  return {};
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<void> send_fds(int socket, const std::vector<int>& fds, std::string_view text, int flags) {
  iovec iov{const_cast<char*>(text.data()), text.size()};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do n = ::sendmsg(socket, &msg, MSG_NOSIGNAL | flags);
  while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(text.size())) return errno_error("send file descriptors");
  return {};
}

Result<SocketMessage> receive_message(int socket, std::size_t max_fds) {
  char buffer[4096];
  iovec iov{buffer, sizeof buffer};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * std::max<std::size_t>(max_fds, 1)));
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  ssize_t n;
  do n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return errno_error("receive file descriptors");
  SocketMessage message;
  message.text.assign(buffer, static_cast<std::size_t>(n));
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
    std::size_t received = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < received; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof fd);
      message.fds.emplace_back(fd);
    }
  }
  return message;
}

ssize_t receive_some(int socket, char* buffer, std::size_t size, std::vector<UniqueFd>& fds) {
  iovec iov{buffer, size};
  constexpr std::size_t kMostFds = 253;  // the kernel's SCM_MAX_FD: what one message may carry
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMostFds)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(socket, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0) return n;
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
    std::size_t received = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < received; ++i) {
      int passed;
      std::memcpy(&passed, CMSG_DATA(cmsg) + i * sizeof(int), sizeof passed);
      fds.emplace_back(passed);
    }
  }
  return n;
}

Result<std::vector<UniqueFd>> receive_fds(int socket, std::size_t count) {
  auto message = receive_message(socket, count);
  if (!message) return message.error();
  if (message->text.empty()) return make_error("receive file descriptors: the sender closed the socket first");
  if (message->fds.size() != count) {
    return make_error("receive file descriptors: expected " + std::to_string(count) + ", got " +
                      std::to_string(message->fds.size()));
  }
  return std::move(message->fds);
}

std::optional<ucred> peer_credentials(int socket) {
  ucred peer{};
  socklen_t length = sizeof peer;
  if (::getsockopt(socket, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0) return std::nullopt;
  return peer;
}

Result<void> set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return errno_error("make fd non-blocking");
  return {};
}

Result<std::string> run_command(const std::vector<std::string>& argv, const std::string& input) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return errno_error("create pipe");
  UniqueFd in_read(in[0]), in_write(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return errno_error("create pipe");
  UniqueFd out_read(out[0]), out_write(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return errno_error("create pipe");
  UniqueFd err_read(err[0]), err_write(err[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_read.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_write.get(), 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    errno = rc;
    return errno_error("run " + argv[0]);
  }
  in_read.reset();
  out_write.reset();
  err_write.reset();
  ::signal(SIGPIPE, SIG_IGN);  // a command that does not read its input
  std::string output, errors;
  std::size_t written = 0;
  if (input.empty()) in_write.reset();
  // stdin, stdout and stderr at once: a command that writes much to one
  // while we wait on another never stalls.
  while (out_read || err_read) {
    std::vector<pollfd> fds;
    if (in_write) fds.push_back({in_write.get(), POLLOUT, 0});
    if (out_read) fds.push_back({out_read.get(), POLLIN, 0});
    if (err_read) fds.push_back({err_read.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (const auto& p : fds) {
      if (!p.revents) continue;
      if (in_write && p.fd == in_write.get()) {
        ssize_t n = ::write(p.fd, input.data() + written, input.size() - written);
        if (n > 0) written += static_cast<std::size_t>(n);
        if (n < 0 || written == input.size()) in_write.reset();
        continue;
      }
      char buffer[16384];
      ssize_t n = ::read(p.fd, buffer, sizeof buffer);
      if (n <= 0) {
        (out_read && p.fd == out_read.get() ? out_read : err_read).reset();
        continue;
      }
      if (out_read && p.fd == out_read.get()) {
        output.append(buffer, static_cast<std::size_t>(n));
      } else {
        errors.append(buffer, static_cast<std::size_t>(n));
        if (errors.size() > 8192) errors.erase(0, errors.size() - 4096);  // the end is what says why
      }
    }
  }
  in_write.reset();
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!errors.empty() && (errors.back() == '\n' || errors.back() == ' ')) errors.pop_back();
    std::size_t tail = errors.size() > 600 ? errors.find('\n', errors.size() - 600) : std::string::npos;
    if (tail != std::string::npos) errors.erase(0, tail + 1);
    return make_error("run " + argv[0] + ": it failed" + (errors.empty() ? "" : ":\n" + errors));
  }
  return output;
}

std::optional<FileId> file_id(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return std::nullopt;
  return FileId{info.st_dev, info.st_ino};
}

FileId file_id(int fd) {
  struct stat info {};
  ::fstat(fd, &info);
  return FileId{info.st_dev, info.st_ino};
}

bool names_file(const std::string& path, int fd) { return file_id(path) == file_id(fd); }

Result<UniqueFd> take_lock_file(const std::string& path, const std::string& busy_message) {
  for (;;) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd) return errno_error("open lock " + path);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) return make_error(busy_message);
      return errno_error("lock " + path);
    }
    if (names_file(path, fd.get())) return fd;  // not one unlinked by its last holder meanwhile
  }
}

bool lock_file_held(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  return fd && ::flock(fd.get(), LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
}

RemoveOnExit::~RemoveOnExit() {
  for (const auto& file : files_) ::unlink(file.c_str());
  ::rmdir(directory_.c_str());
}

}  // namespace vcon
