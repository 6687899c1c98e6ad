// RawTerminal: puts a terminal in raw mode and restores it when it goes away,
// on every exit path that unwinds. Used by `vcon exec` (and `vcon console`).
#pragma once

#include <termios.h>

#include "base/result.hpp"

namespace vcon {

class RawTerminal {
 public:
  static Result<RawTerminal> enter(int fd);
  RawTerminal(RawTerminal&& other) noexcept : fd_(other.fd_), saved_(other.saved_) { other.fd_ = -1; }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  ~RawTerminal() { restore(); }
  void restore();

 private:
  RawTerminal(int fd, const termios& saved) : fd_(fd), saved_(saved) {}
  int fd_ = -1;
  termios saved_{};
};

}  // namespace vcon
