// TerminalWriter implementation.
#include "monitor/terminal_writer.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "base/fd_closer.hpp"

namespace vcon {

namespace {

constexpr std::size_t kBookmarkSize = 4096;

// What the kernel already knows of `fd`'s file (AT_STATX_DONT_SYNC): stat()
// of a file on a FUSE mount may ask its server, and a client's own server
// need never answer.
std::optional<struct statx> known_file(int fd) {
  struct statx file {};
  if (::statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE | STATX_INO, &file) != 0) return std::nullopt;
  return file;
}

}  // namespace

Result<UniqueFd> reopen_client_terminal(int passed, TerminalAccess access) {
  bool read = access == TerminalAccess::Read;
  // Nothing that could wait on the client is asked of the fd before it is
  // known to be a terminal, opened: not an O_PATH fd (of a device node on
  // the client's own FUSE mount, say); a character device, in the kernel's
  // own view; then its driver answers the rest.
  int flags = ::fcntl(passed, F_GETFL);
  if (flags < 0 || (flags & O_PATH)) return make_error("what was passed as the terminal is not an open file");
  auto before = known_file(passed);
  if (!before || !S_ISCHR(before->stx_mode)) {
    return make_error("what was passed as the terminal is not a character device");
  }
  termios ignored{};
  if (::tcgetattr(passed, &ignored) != 0) return make_error("what was passed as the terminal is not a terminal");
  int pty_number = 0;
  if (::ioctl(passed, TIOCGPTN, &pty_number) == 0) return make_error("a pty master is not a terminal to write to");
  if ((flags & O_ACCMODE) == O_RDONLY) return make_error("the terminal was passed read-only");
  if (read && (flags & O_ACCMODE) != O_RDWR) return make_error("the terminal was passed write-only: no input");
  // The same tty, opened again: the client could write to it (and read it)
  // already, and the new description is ours to make non-blocking.
  std::string path = "/proc/self/fd/" + std::to_string(passed);
  UniqueFd tty(::open(path.c_str(), (read ? O_RDONLY : O_WRONLY) | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!tty) return errno_error("cannot open the client's terminal again");
  auto after = known_file(tty.get());
  if (!after || after->stx_rdev_major != before->stx_rdev_major || after->stx_rdev_minor != before->stx_rdev_minor ||
      after->stx_ino != before->stx_ino || after->stx_dev_major != before->stx_dev_major ||
      after->stx_dev_minor != before->stx_dev_minor) {
    return make_error("the client's terminal changed while it was opened again");
  }
  return tty;
}

TerminalWriter::TerminalWriter(const asio::any_io_executor& executor, UniqueFd tty, std::size_t limit,
                               std::function<std::string(std::uint64_t)> dropped_line)
    : tty_(executor, tty.release()), limit_(limit), dropped_line_(std::move(dropped_line)) {}

TerminalWriter::~TerminalWriter() {
  *alive_ = false;
  close_descriptor_later(tty_);  // the client's terminal: its last close may wait
  if (bookmark_) ::munmap(const_cast<std::uint64_t*>(bookmark_), kBookmarkSize);
}

Result<UniqueFd> TerminalWriter::make_bookmark() {
  UniqueFd memfd(::memfd_create("vcon-bookmark", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!memfd) return errno_error("memfd_create");
  if (::ftruncate(memfd.get(), kBookmarkSize) != 0 ||
      ::fcntl(memfd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    return errno_error("cannot make the bookmark page");
  }
  void* page = ::mmap(nullptr, kBookmarkSize, PROT_READ | PROT_WRITE, MAP_SHARED, memfd.get(), 0);
  if (page == MAP_FAILED) return errno_error("mmap");
  if (bookmark_) ::munmap(const_cast<std::uint64_t*>(bookmark_), kBookmarkSize);
  bookmark_ = static_cast<volatile std::uint64_t*>(page);
  *bookmark_ = done_offset_;
  return memfd;
}

void TerminalWriter::resume() {
  paused_ = false;
  if (!waiting_) flush();
}

void TerminalWriter::data(const Chunk& chunk, std::uint64_t end) {
  if (failed_) {
    done_offset_ = end;
    note_progress();
    return;
  }
  queue_.push_back(Item{chunk, 0, true, end});
  queued_console_ += chunk->size() + proto::OutputQueue::kFrameCost;  // as a socket client's queue counts
  rests_.offered(chunk->size());
  bool dropped = false;
  while (queued_console_ > (rests_.resting() ? rest_limit() : limit_) && drop_oldest()) dropped = true;
  if (dropped && rests_.rests() && !rests_.resting()) rest();
  // Even while waiting for the terminal to be writable: a pty's writer
  // seems to be woken late (bench/peers), and new output is a good moment
  // to try again.
  flush();
}

// The terminal fell behind: it rests (proto::RestPolicy), with only the
// newest output queued for it, as a socket client does.
void TerminalWriter::rest() {
  rests_.start();
  while (queued_console_ > rest_limit() && drop_oldest()) {
  }
}

void TerminalWriter::set_share(const proto::Share& share) {
  limit_ = share.queue;
  if (rests_.set_scale(share.rest_scale) && !waiting_) flush();  // alone now: it does not rest
}

bool TerminalWriter::text(std::string bytes) {
  if (failed_ || bytes.empty()) return true;
  if (queued_text_ + bytes.size() > kTextLimit) return false;
  queued_text_ += bytes.size();
  queue_.push_back(Item{std::make_shared<const std::string>(std::move(bytes))});
  if (!waiting_) flush();
  return true;
}

// The oldest console chunk not begun goes; a line saying how much went
// stands in its place (one line for a run of drops). False if there is
// none but the newest (a terminal that falls behind still gets the latest
// output) or the one being written (which still counts as queued).
bool TerminalWriter::drop_oldest() {
  auto newest = std::find_if(queue_.rbegin(), queue_.rend(), [](const Item& item) { return item.console; });
  if (newest == queue_.rend()) return false;
  auto last = std::prev(newest.base());
  auto victim = std::find_if(queue_.begin(), last, [](const Item& item) { return item.console && item.written == 0; });
  if (victim == last) return false;
  std::uint64_t size = victim->bytes->size(), end = victim->end;
  queued_console_ -= size + proto::OutputQueue::kFrameCost;
  dropped_total_ += size;
  auto at = queue_.erase(victim);
  if (at != queue_.begin()) {
    Item& before = *std::prev(at);
    if (before.dropped > 0 && !before.bytes) {  // a drop line not yet shown: it stands for these too
      before.dropped += size;
      before.end = end;
      return true;
    }
  }
  Item line;
  line.dropped = size;
  line.end = end;
  queue_.insert(at, std::move(line));
  return true;
}

void TerminalWriter::flush() {
  bool moved = false;
  // A rest holds console output back, not vcon's lines (join and leave
  // notices would pile up to kTextLimit in a crowd's long rests); they
  // take the little output kept before them along.
  while (!queue_.empty() && !paused_ && (!rests_.resting() || queued_text_ > 0) && !failed_) {
    std::vector<iovec> parts;
    for (auto& item : queue_) {
      if (parts.size() == 32) break;
      if (!item.bytes) item.bytes = std::make_shared<const std::string>(dropped_line_(item.dropped));
      parts.push_back({const_cast<char*>(item.bytes->data()) + item.written, item.bytes->size() - item.written});
    }
    ssize_t n = ::writev(tty_.native_handle(), parts.data(), static_cast<int>(parts.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (!waiting_) wait_writable();
      break;
    }
    if (n <= 0) {  // hung up or gone: the client leaves too
      fail();
      return;
    }
    auto left = static_cast<std::size_t>(n);
    rests_.taken(left);
    while (left > 0) {
      Item& front = queue_.front();
      std::size_t take = std::min(left, front.bytes->size() - front.written);
      front.written += take;
      left -= take;
      if (front.written < front.bytes->size()) break;
      if (front.console) queued_console_ -= front.bytes->size() + proto::OutputQueue::kFrameCost;
      if (!front.console && front.dropped == 0) queued_text_ -= front.bytes->size();
      if (front.console || front.dropped > 0) {
        done_offset_ = std::max(done_offset_, front.end);
        moved = true;
      }
      queue_.pop_front();
    }
  }
  if (moved) note_progress();
}

void TerminalWriter::note_progress() {
  if (bookmark_) *bookmark_ = done_offset_;
}

void TerminalWriter::fail() {
  failed_ = true;
  for (const Item& item : queue_) done_offset_ = std::max(done_offset_, item.end);
  queue_.clear();
  queued_console_ = queued_text_ = 0;
  note_progress();
}

void TerminalWriter::wait_writable() {
  waiting_ = true;
  tty_.async_wait(asio::posix::descriptor_base::wait_write, [this, alive = alive_](std::error_code ec) {
    if (!*alive) return;
    waiting_ = false;
    if (ec) {
      fail();
      return;
    }
    flush();
  });
}

}  // namespace vcon
