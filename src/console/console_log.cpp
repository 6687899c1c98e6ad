// ConsoleLog implementation.
#include "console/console_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <utility>

#include <fmt/core.h>

#include "base/files.hpp"

namespace vcon {

namespace {
Result<std::pair<UniqueFd, std::uint64_t>> open_append(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!fd) return errno_error("open console log " + path);
  struct stat info {};
  ::fstat(fd.get(), &info);
  return std::pair{std::move(fd), static_cast<std::uint64_t>(info.st_size)};
}

// Whether the log ends inside a line: the last writer (a monitor that
// died, or was replaced) stopped in the middle of a console line.
bool ends_mid_line(int fd, std::uint64_t size) {
  char last = '\n';
  return size > 0 && ::pread(fd, &last, 1, static_cast<off_t>(size - 1)) == 1 && last != '\n';
}
}  // namespace

LogRotation log_rotation(const ConsoleEntry* entry) {
  LogRotation rotation;
  if (entry && entry->log_size) rotation.max_bytes = entry->log_size;
  if (entry && entry->log_keep) rotation.keep = entry->log_keep;
  return rotation;
}

LogRotation audit_rotation(const ConsoleEntry* entry) {
  LogRotation rotation{4u << 20, 8};
  if (entry && entry->audit_size) rotation.max_bytes = entry->audit_size;
  if (entry && entry->audit_keep) rotation.keep = entry->audit_keep;
  return rotation;
}

Result<ConsoleLog> ConsoleLog::open(const std::string& path, LogRotation rotation) {
  auto opened = open_append(path);
  if (!opened) return opened.error();
  bool mid_line = ends_mid_line(opened->first.get(), opened->second);
  ConsoleLog log(path, std::move(opened->first), opened->second, rotation);
  if (mid_line) log.writer_.resume_mid_line();
  return log;
}

Result<void> ConsoleLog::reopen() {
  auto opened = open_append(path_);
  if (!opened) return opened.error();
  UniqueFd old = std::exchange(fd_, std::move(opened->first));
  size_ = opened->second;
  // Deleted meanwhile (logrotate's `rotate 0`, `maxage`): ours is its last
  // reference, whose close may wait for the disk, as a rotation's would.
  struct stat info {};
  if (release_ && old && ::fstat(old.get(), &info) == 0 && info.st_nlink == 0) release_(std::move(old));
  return {};
}

void ConsoleLog::console(std::string_view bytes) {
  if (!ready_to_write()) {
    lose(bytes.size(), errno);
    return;
  }
  pieces_.clear();
  line_starts_.clear();
  writer_.console(bytes, std::chrono::system_clock::now(), pieces_, &line_starts_);
  // One chunk holds many lines (each with its stamp): rotate between them,
  // so that no file grows much past the limit.
  std::span<const std::string_view> pieces(pieces_);
  std::size_t written = 0, next_start = 0;
  std::uint64_t run = 0;  // bytes of pieces[written, i)
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    bool line_start = next_start < line_starts_.size() && line_starts_[next_start] == i;
    if (line_start) ++next_start;
    if (line_start && i > written && size_ + run >= rotation_.max_bytes) {
      if (std::size_t unwritten = write_pieces(pieces.subspan(written, i - written))) {
        lose(std::min(unwritten, bytes.size()), errno);
        return;
      }
      written = i;
      run = 0;
      rotate(true);
    }
    run += pieces[i].size();
  }
  if (std::size_t unwritten = write_pieces(pieces.subspan(written))) lose(std::min(unwritten, bytes.size()), errno);
}

void ConsoleLog::event(std::string_view text) {
  std::string line = writer_.event(text, std::chrono::system_clock::now());
  if (!ready_to_write() || write_line(line) > 0) lose(0, errno);
}

void ConsoleLog::lose(std::size_t bytes, int error) {
  if (lost_bytes_ == 0 && gap_errno_ == 0) gap_since_ = std::chrono::system_clock::now();
  lost_bytes_ += bytes;
  lost_bytes_total_ += bytes;
  if (error) gap_errno_ = error;
}

bool ConsoleLog::ready_to_write() {
  if (size_ >= rotation_.max_bytes) rotate();
  if (gap_errno_ == 0) return true;
  std::string line = writer_.event(fmt::format("log gap: {} bytes of console output not logged since {} ({})",
                                               lost_bytes_, format_timestamp(gap_since_), std::strerror(gap_errno_)),
                                   std::chrono::system_clock::now());
  if (write_line(line) > 0) return false;
  lost_bytes_ = 0;
  gap_errno_ = 0;
  return true;
}

void ConsoleLog::rotate(bool mid_chunk) {
  std::string next = path_ + ".1";
  auto now = std::chrono::system_clock::now();
  std::string line = mid_chunk ? LogLineWriter::event_line("log rotated: continued in " + path_, now)
                               : writer_.event("log rotated: continued in " + path_, now);
  write_line(line);
  if (!names_file(path_, fd_.get())) {
    // NAME.log was moved or deleted without the SIGHUP that reopens it
    // (logrotate with no postrotate): the files beside it are not ours to
    // shift. Go on in a NAME.log, as the reopen would.
    if (!reopen()) {
      ++failed_writes_;
      size_ = 0;
      return;
    }
    write_line(LogLineWriter::event_line("log reopened: " + path_ + " had been moved or deleted", now));
    return;
  }
  UniqueFd fresh = make_fresh();  // first: a failure to make it must not cost a rotated log
  remove_held(fmt::format("{}.{}", path_, rotation_.keep));
  for (unsigned i = rotation_.keep; i > 1; --i) {
    ::rename(fmt::format("{}.{}", path_, i - 1).c_str(), fmt::format("{}.{}", path_, i).c_str());
  }
  if (!replace_current(std::move(fresh), next)) {
    ++failed_writes_;
    size_ = 0;  // do not try again before another max_bytes were written
    return;
  }
  line = LogLineWriter::event_line("log rotated: earlier output in " + next, now);
  write_line(line);
}

// A rotated log goes, and not by a rename over it: deleting a file's last
// name frees its pages and blocks, and while the flusher writes them back
// that waits for the disk (13-17 ms each rotation under a flood,
// bench/peers; the zone's console stood still meanwhile). We hold it by an
// O_PATH fd while we unlink it, so the freeing waits for that fd's last
// close, which whoever release_ names can afford.
void ConsoleLog::remove_held(const std::string& path) {
  UniqueFd held(::open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (held && ::unlink(path.c_str()) == 0 && release_) release_(std::move(held));
}

// The next log, made as NAME.log.0 after whatever is there went (a
// monitor that died mid-rotation left a file; a FIFO or a device must not
// become the log). An empty fd if it cannot be made (a directory there).
UniqueFd ConsoleLog::make_fresh() {
  std::string fresh = path_ + ".0";
  remove_held(fresh);
  return UniqueFd(::open(fresh.c_str(), O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640));
}

// The log's own name never goes missing, so that a reader (`vcon log`,
// `tail -F`) opening it mid-rotation finds a log: the current file gets
// its next name as a second link, then the fresh file takes NAME.log in
// one rename.
bool ConsoleLog::replace_current(UniqueFd fresh, const std::string& next) {
  std::string fresh_path = path_ + ".0";
  if (fresh) {
    if (::link(path_.c_str(), next.c_str()) != 0 && errno == EEXIST) {
      remove_held(next);  // left by a failed shift
      ::link(path_.c_str(), next.c_str());
    }
    if (names_file(next, fd_.get())) {
      if (::rename(fresh_path.c_str(), path_.c_str()) != 0) {
        ::unlink(fresh_path.c_str());
        ::unlink(next.c_str());  // the current file keeps its one name, and its pages
        return false;
      }
      fd_ = std::move(fresh);
      size_ = 0;
      return true;
    }
    ::unlink(fresh_path.c_str());
  }
  // No fresh file, or no link (a file system without hard links): the old
  // way, with a moment without NAME.log.
  remove_held(next);
  return ::rename(path_.c_str(), next.c_str()) == 0 && reopen();
}

std::size_t ConsoleLog::write_line(const std::string& line) {
  std::string_view view = line;
  return write_pieces({&view, 1});
}

std::size_t ConsoleLog::write_pieces(std::span<const std::string_view> pieces) {
  std::vector<iovec> iov;
  iov.reserve(std::min<std::size_t>(pieces.size(), IOV_MAX));
  std::size_t next = 0, skip = 0;  // first piece not yet written, and bytes of it already written
  while (next < pieces.size()) {
    iov.clear();
    for (std::size_t i = next; i < pieces.size() && iov.size() < IOV_MAX; ++i) {
      std::string_view piece = pieces[i].substr(i == next ? skip : 0);
      iov.push_back({const_cast<char*>(piece.data()), piece.size()});
    }
    ssize_t n = ::writev(fd_.get(), iov.data(), static_cast<int>(iov.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ++failed_writes_;
      if (n == 0) errno = EIO;
      std::size_t unwritten = pieces[next].size() - skip;
      for (std::size_t i = next + 1; i < pieces.size(); ++i) unwritten += pieces[i].size();
      return unwritten;
    }
    size_ += static_cast<std::uint64_t>(n);
    // Advance past what was written (a short write is rare on a file).
    auto left = static_cast<std::size_t>(n);
    while (next < pieces.size() && left >= pieces[next].size() - skip) {
      left -= pieces[next].size() - skip;
      skip = 0;
      ++next;
    }
    skip += left;
  }
  return 0;
}

}  // namespace vcon
