// ConsoleLog: appends a console's bytes and vcon's events to LOGDIR/NAME.log in
// the format of log_format.hpp, as they arrive (a crash loses nothing already
// read). A failed write is counted, never retried in a loop: the console path
// must not wait on the disk. Owned by the monitor.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "console/log_format.hpp"

namespace vcon {

class ConsoleLog {
 public:
  static Result<ConsoleLog> open(const std::string& path);

  void console(std::string_view bytes);
  void event(std::string_view text);
  std::uint64_t failed_writes() const { return failed_writes_; }

 private:
  explicit ConsoleLog(UniqueFd fd) : fd_(std::move(fd)) {}
  void write_all(const std::string& text);

  UniqueFd fd_;
  LogLineWriter writer_;
  std::uint64_t failed_writes_ = 0;
};

}  // namespace vcon
