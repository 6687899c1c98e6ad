// ConsoleLog: appends a console's bytes and vcon's events to LOGDIR/NAME.log in
// the format of log_format.hpp, as they arrive (a crash loses nothing already
// read). Console bytes are written straight from the monitor's buffer with
// their stamps (writev), not copied. Owned by the monitor.
//
// The console path never waits on the disk: a failed write (a full disk) is
// not retried in a loop. What could not be written is counted, every later
// write tries again, and the first one that succeeds records the gap (how
// many bytes, since when, why) before going on. Past `max_bytes` the log is
// rotated (NAME.log -> NAME.log.1 -> ... -> NAME.log.KEEP); reopen() follows
// an outside rotation (logrotate, then SIGHUP).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "console/consoledb.hpp"
#include "console/log_format.hpp"

namespace vcon {

struct LogRotation {
  std::uint64_t max_bytes = 16u << 20;
  unsigned keep = 4;
};

// A console's rotation: its consoledb entry's logsize= and logkeep=, else
// the defaults above (entry may be null).
LogRotation log_rotation(const ConsoleEntry* entry);
// Its audit log's: auditsize= and auditkeep=, else 4 MiB and 8 files.
LogRotation audit_rotation(const ConsoleEntry* entry);

class ConsoleLog {
 public:
  static Result<ConsoleLog> open(const std::string& path, LogRotation rotation = {});

  void console(std::string_view bytes);
  void event(std::string_view text);
  // The buffers console() reuses from chunk to chunk, given back (after a
  // burst: they grow with the largest chunk's count of lines).
  void release_buffers() {
    pieces_ = {};
    line_starts_ = {};
  }
  // Closes and opens the path again (it was moved away).
  Result<void> reopen();
  void set_rotation(LogRotation rotation) { rotation_ = rotation; }
  // Who takes the last reference to the oldest log when a rotation deletes
  // it: its last close may wait for the disk, and the console should not
  // (a monitor hands it to its keeper). Without one, it is closed here.
  void set_release(std::function<void(UniqueFd)> release) { release_ = std::move(release); }

  const std::string& path() const { return path_; }
  std::uint64_t failed_writes() const { return failed_writes_; }
  std::uint64_t lost_bytes() const { return lost_bytes_total_; }

 private:
  ConsoleLog(std::string path, UniqueFd fd, std::uint64_t size, LogRotation rotation)
      : path_(std::move(path)), fd_(std::move(fd)), size_(size), rotation_(rotation) {}
  // Writes the pieces in order with writev. Returns how many bytes could not
  // be written (0: all), giving up at the first failure.
  std::size_t write_pieces(std::span<const std::string_view> pieces);
  std::size_t write_line(const std::string& line);
  // Before each write: rotate when due, and record a pending gap. False while
  // the log still cannot be written.
  bool ready_to_write();
  // `mid_chunk`: at a line start inside a console chunk, where the line
  // writer's state is already past the chunk.
  void rotate(bool mid_chunk = false);
  void remove_held(const std::string& path);
  UniqueFd make_fresh();
  bool replace_current(UniqueFd fresh, const std::string& next);
  void lose(std::size_t bytes, int error);

  std::string path_;
  UniqueFd fd_;
  std::uint64_t size_ = 0;
  LogRotation rotation_;
  LogLineWriter writer_;
  std::vector<std::string_view> pieces_;  // reused: no allocation per chunk
  std::vector<std::size_t> line_starts_;
  std::function<void(UniqueFd)> release_;
  std::uint64_t failed_writes_ = 0;
  std::uint64_t lost_bytes_ = 0;  // of the gap not yet recorded
  std::uint64_t lost_bytes_total_ = 0;
  SystemTime gap_since_{};
  int gap_errno_ = 0;
};

}  // namespace vcon
