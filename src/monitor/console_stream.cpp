// ConsoleStream implementation.
#include "monitor/console_stream.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <new>

#include "base/memory.hpp"

namespace vcon {

namespace {

constexpr std::size_t kPage = 4096;  // the first page of the buffer, which every read uses
constexpr std::size_t kShortRead = 1024;

// A mapping, not heap memory: its pages cost nothing until written, and the
// heap around it is not spread over 64 KiB more.
char* map_buffer(std::size_t size) {
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return static_cast<char*>(p);
}

}  // namespace

void ConsoleStream::Unmap::operator()(char* p) const { ::munmap(p, kBufferSize); }

ConsoleStream::ConsoleStream(asio::io_context& io, int fd, Output on_output, Failed on_failed)
    : descriptor_(io, fd),
      on_output_(std::move(on_output)),
      on_failed_(std::move(on_failed)),
      buffer_(map_buffer(kBufferSize)),
      release_timer_(io) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// A read of more than a page is part of a burst: what it took is given back
// once the console has been quiet for kQuiet.
void ConsoleStream::note_burst(std::size_t used) {
  if (used <= kPage) return;
  last_burst_ = std::chrono::steady_clock::now();
  if (release_pending_) return;  // it looks at last_burst_ when it fires
  release_pending_ = true;
  release_when_quiet(kQuiet);
}

// Two seconds after the last large read, not the first: a long flood keeps
// its buffer and heap until it is over (the check costs a clock read per
// read; moving the timer would cost a syscall).
void ConsoleStream::release_when_quiet(std::chrono::steady_clock::duration after) {
  release_timer_.expires_after(after);
  release_timer_.async_wait([this, alive = alive_](std::error_code ec) {
    if (!*alive || ec) return;
    auto quiet = std::chrono::steady_clock::now() - last_burst_;
    if (quiet < kQuiet) {
      release_when_quiet(kQuiet - quiet);
      return;
    }
    release_pending_ = false;
    // Between reads nothing lives in the buffer: its pages past the first
    // (which every small read uses) come back zero-filled when needed.
    ::madvise(buffer_.get() + kPage, kBufferSize - kPage, MADV_DONTNEED);
    // And the heap the burst's chunks spread over (clients that keep up
    // have long written them): what heavy traffic took goes back.
    if (on_quiet_) on_quiet_();
    give_back_memory();
  });
}

std::size_t ConsoleStream::read_ready(std::size_t filled) {
  int fd = descriptor_.native_handle();
  while (filled < kBufferSize) {
    ssize_t n = ::read(fd, buffer_.get() + filled, kBufferSize - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    filled += static_cast<std::size_t>(n);
    // A short read (a keystroke's echo, a prompt) goes out at once: on a
    // pty the read after it, to find nothing more, can wait in the kernel
    // for the tty's buffer work (flush_work) before it says so, and that
    // wait would be in every echo's round trip. Under a flood reads come
    // full (4 KiB on a pty) and are gathered into large chunks as before.
    if (static_cast<std::size_t>(n) < kShortRead) break;
  }
  return filled;
}

void ConsoleStream::read_more() {
  // Wait for readiness and read here, rather than async_read_some: bytes are
  // then never held in a completed read that has not been delivered yet, so
  // drain() sees everything a dying zone wrote.
  descriptor_.async_wait(asio::posix::descriptor_base::wait_read, [this, alive = alive_](std::error_code ec) {
    if (!*alive) return;  // destroyed: touch nothing
    if (ec) {
      on_failed_(ec);
      return;
    }
    // Under load take all that is ready, so the log, the ring and every
    // client see fewer, larger chunks (each costs a write per client).
    errno = 0;
    std::size_t n = read_ready(0);
    if (n > 0) {
      note_burst(n);
      on_output_(std::string_view(buffer_.get(), n));
      read_more();
    } else if (errno == EAGAIN || errno == EINTR) {
      read_more();  // woken for nothing
    } else {
      on_failed_(std::error_code(errno ? errno : EIO, std::system_category()));  // EIO or end of file: gone
    }
  });
}

void ConsoleStream::drain() {
  while (std::size_t n = read_ready(0)) on_output_(std::string_view(buffer_.get(), n));
}

void ConsoleStream::write(std::string bytes) {
  if (input_bytes_ + bytes.size() > kInputLimit) return;
  input_bytes_ += bytes.size();
  input_total_ += bytes.size();
  input_.push_back(std::move(bytes));
  if (input_.size() == 1) write_front();
}

void ConsoleStream::write_front() {
  asio::async_write(descriptor_, asio::buffer(input_.front()), [this, alive = alive_](std::error_code ec, std::size_t) {
    if (!*alive) return;
    if (ec) {  // the console is gone: forget what it did not read
      input_.clear();
      input_bytes_ = 0;
      on_failed_(ec);
      return;
    }
    input_bytes_ -= input_.front().size();
    input_.pop_front();
    if (!input_.empty()) write_front();
  });
}

}  // namespace vcon
