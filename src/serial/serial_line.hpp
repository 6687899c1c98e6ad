// Opening a serial line the way vcon shares it with minicom and picocom:
// flock(LOCK_EX|LOCK_NB) on the open device (picocom's lock), the line set
// raw, 8N1, no flow control, at its speed. The UUCP lock file (minicom's)
// is uucp_lock.hpp's. Thin syscalls; covered by the end-to-end tests.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace vcon {

struct OpenedLine {
  UniqueFd fd;
  std::optional<pid_t> busy_holder;  // set (and fd empty) when another process flocks the line
};

// Opens and configures `device`. A line another process holds with flock
// is not an error: busy_holder names it (from /proc/locks) when it can.
Result<OpenedLine> open_line(const std::string& device, unsigned speed);
Result<void> set_line_speed(int fd, unsigned speed);

}  // namespace vcon
