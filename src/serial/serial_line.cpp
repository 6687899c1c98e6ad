// Serial line opening and settings.
#include "serial/serial_line.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <fmt/core.h>

namespace vcon {

namespace {

std::optional<speed_t> speed_constant(unsigned speed) {
  switch (speed) {
    case 50: return B50;
    case 75: return B75;
    case 110: return B110;
    case 134: return B134;
    case 150: return B150;
    case 200: return B200;
    case 300: return B300;
    case 600: return B600;
    case 1200: return B1200;
    case 1800: return B1800;
    case 2400: return B2400;
    case 4800: return B4800;
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 115200: return B115200;
    case 230400: return B230400;
    case 460800: return B460800;
    case 500000: return B500000;
    case 576000: return B576000;
    case 921600: return B921600;
    case 1000000: return B1000000;
    case 1152000: return B1152000;
    case 1500000: return B1500000;
    case 2000000: return B2000000;
    case 2500000: return B2500000;
    case 3000000: return B3000000;
    case 3500000: return B3500000;
    case 4000000: return B4000000;
  }
  return std::nullopt;
}

// The PID holding a flock on the file `fd` is open on, from /proc/locks
// ("1: FLOCK  ADVISORY  WRITE 812 00:05:123 0 EOF").
std::optional<pid_t> flock_holder(int fd) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) return std::nullopt;
  std::string wanted = fmt::format("{:02x}:{:02x}:{}", major(info.st_dev), minor(info.st_dev), info.st_ino);
  std::ifstream locks("/proc/locks");
  std::string line;
  while (std::getline(locks, line)) {
    std::istringstream fields(line);
    std::string number, kind, advisory, mode, pid, file;
    fields >> number >> kind;
    if (kind == "->") fields >> kind;  // a waiter
    fields >> advisory >> mode >> pid >> file;
    if (kind == "FLOCK" && file == wanted) return static_cast<pid_t>(std::stol(pid));
  }
  return std::nullopt;
}

}  // namespace

Result<void> set_line_speed(int fd, unsigned speed) {
  auto constant = speed_constant(speed);
  if (!constant) return make_error(fmt::format("{} is not a standard line speed", speed));
  termios settings{};
  if (::tcgetattr(fd, &settings) != 0) return errno_error("read the line settings");
  ::cfmakeraw(&settings);
  settings.c_cflag &= ~static_cast<tcflag_t>(CSTOPB | PARENB | CRTSCTS | CSIZE);
  settings.c_cflag |= CS8 | CLOCAL | CREAD;
  settings.c_iflag &= ~static_cast<tcflag_t>(IXON | IXOFF | IXANY);
  settings.c_cc[VMIN] = 1;
  settings.c_cc[VTIME] = 0;
  ::cfsetispeed(&settings, *constant);
  ::cfsetospeed(&settings, *constant);
  if (::tcsetattr(fd, TCSANOW, &settings) != 0) return errno_error(fmt::format("set the line to {} 8N1", speed));
  return {};
}

Result<OpenedLine> open_line(const std::string& device, unsigned speed) {
  UniqueFd fd(::open(device.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return errno_error("open " + device);
  if (!::isatty(fd.get())) return make_error(device + " is not a terminal device");
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return errno_error("flock " + device);
    return OpenedLine{UniqueFd(), flock_holder(fd.get()).value_or(0)};
  }
  VCON_TRY(set_line_speed(fd.get(), speed));
  return OpenedLine{std::move(fd), std::nullopt};
}

}  // namespace vcon
