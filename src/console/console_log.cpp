// ConsoleLog implementation.
#include "console/console_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>

namespace vcon {

Result<ConsoleLog> ConsoleLog::open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!fd) return errno_error("open console log " + path);
  return ConsoleLog(std::move(fd));
}

void ConsoleLog::console(std::string_view bytes) {
  write_all(writer_.console(bytes, std::chrono::system_clock::now()));
}

void ConsoleLog::event(std::string_view text) { write_all(writer_.event(text, std::chrono::system_clock::now())); }

void ConsoleLog::write_all(const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd_.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ++failed_writes_;
      return;
    }
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace vcon
