// TerminalInput implementation.
#include "monitor/terminal_input.hpp"

#include <unistd.h>

#include <array>

namespace vcon {

TerminalInput::TerminalInput(const asio::any_io_executor& executor, UniqueFd tty, std::optional<char> escape,
                             Bytes on_bytes, Action on_action)
    : tty_(executor, tty.release()), escape_(escape), on_bytes_(std::move(on_bytes)), on_action_(std::move(on_action)) {}

TerminalInput::~TerminalInput() {
  *alive_ = false;
  std::error_code ignored;
  tty_.close(ignored);
}

void TerminalInput::stop() {
  stopped_ = true;
  std::error_code ignored;
  tty_.close(ignored);  // the terminal is the client's alone again
}

void TerminalInput::read_more() {
  tty_.async_wait(asio::posix::descriptor_base::wait_read, [this, alive = alive_](std::error_code ec) {
    if (!*alive || stopped_) return;
    if (ec) return stop();
    std::array<char, 4096> buffer;
    ssize_t n = ::read(tty_.native_handle(), buffer.data(), buffer.size());
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return read_more();
    if (n <= 0) return stop();  // hung up (EIO) or gone
    std::string_view bytes(buffer.data(), static_cast<std::size_t>(n));
    while (true) {
      auto parsed = escape_.feed(bytes);
      if (!parsed.send.empty()) on_bytes_(parsed.send);
      if (!*alive) return;  // a callback may end the client, and us with it
      if (!parsed.action) break;
      bool go_on = on_action_(*parsed.action);
      if (!*alive) return;
      if (!go_on) return stop();
      bytes = parsed.rest;
    }
    read_more();
  });
}

}  // namespace vcon
