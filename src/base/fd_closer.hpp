// close_later(): closes a descriptor on a thread of its own, for an event
// loop that must not wait. close() can wait as long as somebody else
// wants when the descriptor came from somebody else: a file on a FUSE
// mount whose server never answers the FLUSH that every close sends (for
// ever, and SIGKILL does not end it), a TCP socket with SO_LINGER and
// unsent data its peer does not read (its linger time), a serial line
// draining its output (its closing_wait, 30 s by default), and a Unix
// socket whose queue still holds such descriptors (its last close releases
// them). A monitor hands every descriptor a client passed, every client
// terminal it opened again, and every client's socket to these threads.
//
// A watcher ends a close that takes more than a second where it can: a
// file of a FUSE mount that the descriptor's passer mounted (user_id=) by
// aborting that connection (fusectl, on a detached mount: root only),
// another's by a signal to its closer (a linger and a drain wait
// interruptibly). A close that still does not end (another user's FUSE
// mount, one under an overlay) holds its closer: after 5 s the next
// close_later() starts another, up to 8; what waits meanwhile (at most
// 4,096, then kept open) holds its fd-table slot, and a child forked then
// inherits it. Not for use in a child between fork and exec.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <utility>

#include "base/unique_fd.hpp"

namespace vcon {

// Who passed a descriptor: unknown, for what no client passed.
inline constexpr uid_t kNoPasser = static_cast<uid_t>(-1);

void close_later(UniqueFd fd, uid_t passer = kNoPasser);
// Descriptors handed over and not closed yet (the ones being closed among
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
  explicit ForeignFd(UniqueFd fd, uid_t passer = kNoPasser) : fd_(std::move(fd)), passer_(passer) {}
  ForeignFd(ForeignFd&& other) noexcept : fd_(std::move(other.fd_)), passer_(other.passer_) {}
  ForeignFd& operator=(ForeignFd&& other) noexcept {
    if (this != &other) {
      close_later(std::move(fd_), passer_);
      fd_ = std::move(other.fd_);
      passer_ = other.passer_;
    }
    return *this;
  }
  ~ForeignFd() { close_later(std::move(fd_), passer_); }

  int get() const { return fd_.get(); }
  explicit operator bool() const { return fd_.valid(); }
  // The descriptor, for an owner that will close it with close_later() too.
  UniqueFd take() { return std::move(fd_); }

 private:
  UniqueFd fd_;
  uid_t passer_ = kNoPasser;
};

}  // namespace vcon
