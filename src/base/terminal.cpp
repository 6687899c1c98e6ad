// RawTerminal implementation.
#include "base/terminal.hpp"

#include <unistd.h>

namespace vcon {

Result<RawTerminal> RawTerminal::enter(int fd) {
  termios saved;
  if (::tcgetattr(fd, &saved) != 0) return errno_error("read terminal settings");
  termios raw = saved;
  ::cfmakeraw(&raw);
  if (::tcsetattr(fd, TCSAFLUSH, &raw) != 0) return errno_error("set terminal to raw mode");
  return RawTerminal(fd, saved);
}

void RawTerminal::restore() {
  if (fd_ < 0) return;
  ::tcsetattr(fd_, TCSAFLUSH, &saved_);
  fd_ = -1;
}

}  // namespace vcon
