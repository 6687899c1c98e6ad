// `vcon exec`'s relay between the caller's stdio and the command's (a zone
// pty, or pipes): the command never holds one of the caller's fds. Nothing
// blocks on a slow side: bytes that cannot be written yet wait (at most
// 64 KiB per direction, then reading that side pauses) while the other
// directions go on. Used by zone_exec.cpp.
#pragma once

#include <poll.h>

#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace vcon {

class ExecRelay {
 public:
  // Copies from `from` to `to`. With `owned_to`, `to` is ours: closed once
  // `from` ends and all is written (the command sees end of input).
  void add(int from, int to, UniqueFd owned_to = {});
  // Waits until something can move (or `extra`, a signalfd, is readable)
  // and moves it. Returns whether `extra` is readable.
  Result<bool> step(int extra);
  // After the command ended: copies what is readable now, without waiting
  // for the end of input (a process left in the zone may hold the pipe).
  void drain();

 private:
  struct Channel {
    int from;
    int to;
    UniqueFd owned_to;
    std::string pending;
    bool reading = true;
  };
  bool read_some(Channel& channel);
  bool write_some(Channel& channel);
  void finish(Channel& channel);
  std::vector<Channel> channels_;
};

}  // namespace vcon
