// The exec relay's loop.
#include "zone/exec_relay.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "base/files.hpp"

namespace vcon {

namespace {
constexpr std::size_t kPendingLimit = 64 * 1024;
}

void ExecRelay::add(int from, int to, UniqueFd owned_to) {
  if (owned_to) (void)set_nonblocking(owned_to.get());
  channels_.push_back({from, to, std::move(owned_to), {}, true});
}

bool ExecRelay::read_some(Channel& channel) {
  char buf[16384];
  ssize_t n = ::read(channel.from, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;  // EOF, or EIO from a pty master whose slave is gone
  channel.pending.append(buf, static_cast<std::size_t>(n));
  return true;
}

bool ExecRelay::write_some(Channel& channel) {
  // The caller's own fds stay blocking (they may be shared); ours are not.
  if (!channel.owned_to) return write_all(channel.to, channel.pending).ok() && (channel.pending.clear(), true);
  ssize_t n = ::write(channel.to, channel.pending.data(), channel.pending.size());
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n < 0) return false;
  channel.pending.erase(0, static_cast<std::size_t>(n));
  return true;
}

void ExecRelay::finish(Channel& channel) {
  channel.reading = false;
  if (channel.pending.empty()) channel.owned_to.reset();
}

Result<bool> ExecRelay::step(int extra) {
  std::vector<pollfd> fds{{extra, POLLIN, 0}};
  for (auto& c : channels_) {
    bool room = c.pending.size() < kPendingLimit;
    fds.push_back({c.reading && room ? c.from : -1, POLLIN, 0});
    fds.push_back({!c.pending.empty() ? c.to : -1, POLLOUT, 0});
  }
  if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return errno_error("poll");
  for (std::size_t i = 0; i < channels_.size(); ++i) {
    Channel& c = channels_[i];
    if (fds[1 + 2 * i].revents && !read_some(c)) finish(c);
    if (!c.pending.empty() && (fds[2 + 2 * i].revents || !c.owned_to)) {
      if (!write_some(c)) {
        c.pending.clear();
        finish(c);
      }
    }
    if (!c.reading && c.pending.empty()) c.owned_to.reset();
  }
  return (fds[0].revents & POLLIN) != 0;
}

void ExecRelay::drain() {
  for (auto& c : channels_) {
    if (c.from == 0) continue;  // the caller's input: nobody reads it any more
    ::fcntl(c.from, F_SETFL, ::fcntl(c.from, F_GETFL) | O_NONBLOCK);
    while (c.reading && read_some(c) && !c.pending.empty()) {
      if (!write_some(c)) break;
      if (c.owned_to && !c.pending.empty()) break;  // a stuck reader: give up
    }
    if (!c.owned_to && !c.pending.empty()) (void)write_all(c.to, c.pending);
  }
}

}  // namespace vcon
