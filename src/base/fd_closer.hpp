// close_later(): closes a descriptor on a thread of its own, for an event
// loop that must not wait. close() can wait as long as somebody else
// wants when the descriptor came from somebody else: a file on a FUSE
// mount whose server never answers the FLUSH that every close sends (for
// ever, and SIGKILL does not end it), a TCP socket with SO_LINGER and
// unsent data (its linger time), a serial line draining its output (its
// closing_wait, 30 s by default), and a Unix socket whose queue still holds
// such descriptors (its last close releases them). A monitor hands every
// descriptor a client passed, and every client's socket, to this thread.
//
// One thread, started on first use, never joined, and a watcher: a close
// that takes more than a second is ended, a FUSE file's by aborting its
// connection (through fusectl, mounted in a mount namespace of the
// watcher's own: nothing else ends that wait, not even SIGKILL), any
// other's by a signal to the closer (a linger, a drain: interruptible
// waits). Meanwhile the descriptors queued behind it wait, each in its
// slot of the fd table (the connection limits bound them), and a child
// forked then inherits them. Root only (the abort). Not for use in a
// child between fork and exec.
#pragma once

#include <cstddef>
#include <utility>

#include "base/unique_fd.hpp"

namespace vcon {

void close_later(UniqueFd fd);
// Descriptors handed over and not closed yet (the one being closed among
// them): more than a few only while a close is stuck.
std::size_t closes_pending();

// An Asio descriptor's fd (a client's terminal opened again), let go of
// the same way; its pending operations end (operation_aborted).
template <typename Descriptor>
void close_descriptor_later(Descriptor& descriptor) {
  if (descriptor.is_open()) close_later(UniqueFd(descriptor.release()));
}

// A descriptor that somebody else passed (or that leads to what they
// hold): closed with close_later() when it goes, never in place.
class ForeignFd {
 public:
  ForeignFd() = default;
  explicit ForeignFd(UniqueFd fd) : fd_(std::move(fd)) {}
  ForeignFd(ForeignFd&&) noexcept = default;
  ForeignFd& operator=(ForeignFd&& other) noexcept {
    if (this != &other) {
      close_later(std::move(fd_));
      fd_ = std::move(other.fd_);
    }
    return *this;
  }
  ~ForeignFd() { close_later(std::move(fd_)); }

  int get() const { return fd_.get(); }
  explicit operator bool() const { return fd_.valid(); }
  // The descriptor, for an owner that will close it with close_later() too.
  UniqueFd take() { return std::move(fd_); }

 private:
  UniqueFd fd_;
};

}  // namespace vcon
