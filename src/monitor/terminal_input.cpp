// TerminalInput implementation.
#include "monitor/terminal_input.hpp"

#include "base/fd_closer.hpp"

namespace vcon {

TerminalInput::TerminalInput(const asio::any_io_executor& executor, UniqueFd tty, std::optional<char> escape,
                             Bytes on_bytes, Action on_action)
    : tty_(executor, tty.release()), escape_(escape), on_bytes_(std::move(on_bytes)), on_action_(std::move(on_action)) {}

TerminalInput::~TerminalInput() {
  *alive_ = false;
  close_descriptor_later(tty_);
}

void TerminalInput::stop() {
  stopped_ = true;
  close_descriptor_later(tty_);  // the terminal is the client's alone again
}

void TerminalInput::read_more() {
  // async_read_some, not a wait and a read: asio tries the read at once
  // and keeps the descriptor in its epoll set as it is (a wait re-arms it
  // with an epoll_ctl, at every key).
  tty_.async_read_some(asio::buffer(buffer_), [this, alive = alive_](std::error_code ec, std::size_t n) {
    if (!*alive || stopped_) return;
    if (ec) return stop();  // hung up (EIO), gone, or closed
    std::string_view bytes(buffer_.data(), n);
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
