// ConsoleLog implementation.
#include "console/console_log.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>

namespace vcon {

Result<ConsoleLog> ConsoleLog::open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!fd) return errno_error("open console log " + path);
  return ConsoleLog(std::move(fd));
}

void ConsoleLog::console(std::string_view bytes) {
  pieces_.clear();
  writer_.console(bytes, std::chrono::system_clock::now(), pieces_);
  write_pieces(pieces_);
}

void ConsoleLog::event(std::string_view text) {
  std::string line = writer_.event(text, std::chrono::system_clock::now());
  write_pieces({line});
}

void ConsoleLog::write_pieces(const std::vector<std::string_view>& pieces) {
  std::vector<iovec> iov;
  iov.reserve(std::min<std::size_t>(pieces.size(), IOV_MAX));
  std::size_t next = 0, skip = 0;  // first piece not yet written, and bytes of it already written
  while (next < pieces.size()) {
    iov.clear();
    for (std::size_t i = next; i < pieces.size() && iov.size() < IOV_MAX; ++i) {
      std::string_view piece = pieces[i].substr(i == next ? skip : 0);
      iov.push_back({const_cast<char*>(piece.data()), piece.size()});
    }
    ssize_t n = ::writev(fd_.get(), iov.data(), static_cast<int>(iov.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ++failed_writes_;
      return;
    }
    // Advance past what was written (a short write is rare on a file).
    auto left = static_cast<std::size_t>(n);
    while (next < pieces.size() && left >= pieces[next].size() - skip) {
      left -= pieces[next].size() - skip;
      skip = 0;
      ++next;
    }
    skip += left;
  }
}

}  // namespace vcon
