// Small file-system helpers with Result errors, shared by the CLI and monitor.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace vcon {

// Writes all of `bytes`, retrying on EINTR and waiting out EAGAIN (a
// descriptor someone else made non-blocking).
Result<void> write_all(int fd, std::string_view bytes);
// Appends what `fd` gives until end of file.
Result<void> read_to_end(int fd, std::string& out);

// At most `limit` bytes: files of other processes (/proc/PID/cmdline of a
// zone's process can be made gigabytes long) are read with a bound.
Result<std::string> read_file(const std::string& path, std::size_t limit = SIZE_MAX);
// A file someone else controls, read as data: a regular file (a FIFO or a
// device is an error, never a hang), at most `limit` bytes (a bigger one is
// an error), the last component not followed if it is a symlink. For lock
// files in world-writable directories; read_regular_fd() does the reading
// for an fd opened otherwise (inside a zone's root).
Result<std::string> read_regular_file(const std::string& path, std::size_t limit);
Result<std::string> read_regular_fd(int fd, const std::string& path, std::size_t limit);
// Writes to a temporary file beside `path`, fsyncs and renames: readers see
// the old or the new content, never half of it.
Result<void> write_file_atomic(const std::string& path, const std::string& content, int mode = 0644);
// One write to an existing file, no create, no truncate: for the kernel's
// files (cgroupfs, procfs), where each write is one command.
Result<void> write_file_in_place(const std::string& path, const std::string& content);
Result<void> make_directories(const std::string& path, int mode = 0755);
// Removes a directory tree by file descriptors, never following a symlink
// (not even one swapped in for a directory) and never crossing into
// anything mounted below it (a stray mount is reported, not emptied).
Result<void> remove_tree(const std::string& path);
bool path_exists(const std::string& path);
bool is_directory(const std::string& path);

// A file, by device and inode.
struct FileId {
  std::uint64_t dev = 0, ino = 0;
  bool operator==(const FileId&) const = default;
};
// What `path` names now (none if nothing, or it cannot be looked at).
std::optional<FileId> file_id(const std::string& path);
// The file behind `fd`.
FileId file_id(int fd);
// Whether `path` names the file behind `fd` (a log not moved away, a lock
// file not replaced, a namespace that is ours).
bool names_file(const std::string& path, int fd);

// Sends/receives file descriptors over a Unix socket (SCM_RIGHTS), with a
// few bytes of text in the same message. `flags` go to sendmsg (MSG_DONTWAIT:
// fail with EAGAIN rather than wait for room).
Result<void> send_fds(int socket, const std::vector<int>& fds, std::string_view text = "F", int flags = 0);
Result<std::vector<UniqueFd>> receive_fds(int socket, std::size_t count);
struct SocketMessage {
  std::string text;
  std::vector<UniqueFd> fds;
};
// One message (at most 4 KiB of text, `max_fds` fds); empty text at EOF.
Result<SocketMessage> receive_message(int socket, std::size_t max_fds);

// One non-blocking recvmsg of up to `size` bytes into `buffer`. Every fd
// that came with them goes to `fds`, in order: room is made for as many
// as one message can carry (SCM_MAX_FD), so the kernel never drops, and
// so closes, one in the caller (close_later() says why that matters).
// Returns what recvmsg does: bytes, 0 at the end, -1 with errno.
ssize_t receive_some(int socket, char* buffer, std::size_t size, std::vector<UniqueFd>& fds);

Result<void> set_nonblocking(int fd);

// Who is at the other end of a connected Unix socket (SO_PEERCRED), if
// the kernel says.
std::optional<ucred> peer_credentials(int socket);

// A running monitor is one that holds flock(LOCK_EX) on its lock file, so no
// stale PID file can lie. take_lock_file() creates (0644) and locks `path`,
// or fails with `busy_message` if another process holds it. It copes with a
// holder that, exiting, unlinks the file: a lock on an unlinked file is
// retried on the new one.
Result<UniqueFd> take_lock_file(const std::string& path, const std::string& busy_message);
bool lock_file_held(const std::string& path);

// Removes `files`, then `directory` if empty, when it goes out of scope: a
// monitor's run directory, whichever way the monitor ends. Holds copies.
class RemoveOnExit {
 public:
  RemoveOnExit(std::vector<std::string> files, std::string directory)
      : files_(std::move(files)), directory_(std::move(directory)) {}
  RemoveOnExit(const RemoveOnExit&) = delete;
  RemoveOnExit& operator=(const RemoveOnExit&) = delete;
  ~RemoveOnExit();

 private:
  std::vector<std::string> files_;
  std::string directory_;
};

// Runs argv (no shell; argv[0] a path) with `input` on its stdin and
// returns its stdout; if it fails, the error holds the end of its stderr.
Result<std::string> run_command(const std::vector<std::string>& argv, const std::string& input = {});

}  // namespace vcon
