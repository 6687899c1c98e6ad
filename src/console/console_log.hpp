// ConsoleLog: appends a console's bytes and vcon's events to LOGDIR/NAME.log in
// the format of log_format.hpp, as they arrive (a crash loses nothing already
// read). Console bytes are written straight from the monitor's buffer with
// their stamps (writev), not copied. A failed write is counted, never retried in a loop: the console path
// must not wait on the disk. Owned by the monitor.
#pragma once

#include <string>
#include <string_view>
#include <vector>

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
  // Writes the pieces in order with writev; a failure is counted and the
  // rest of this write given up (the console path must not wait on disk).
  void write_pieces(const std::vector<std::string_view>& pieces);

  UniqueFd fd_;
  LogLineWriter writer_;
  std::vector<std::string_view> pieces_;  // reused: no allocation per chunk
  std::uint64_t failed_writes_ = 0;
};

}  // namespace vcon
