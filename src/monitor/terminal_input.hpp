// TerminalInput: a direct client's keystrokes, read by the monitor from the
// client's terminal itself (as screen's server does), not through the
// client process: one hop less for every keystroke (docs/monitor.md,
// "Direct output"). The client stops reading its terminal first, and reads
// it again when the monitor has stopped (its connection ended).
//
// Escapes are seen here, with the client's escape character and the same
// parser the client uses: what they ask for is handed back to the client
// (which detaches, shows help, asks who...), and after a detach nothing
// more is read. Reads are non-blocking, at most 4 KiB at a time, on a
// description of the terminal the monitor opened itself, read-only.
#pragma once

#include <asio.hpp>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/unique_fd.hpp"
#include "console/escape.hpp"

namespace vcon {

class TerminalInput {
 public:
  using Bytes = std::function<void(std::string_view)>;
  // Returns false to stop reading (a detach).
  using Action = std::function<bool(EscapeParser::Action)>;

  TerminalInput(const asio::any_io_executor& executor, UniqueFd tty, std::optional<char> escape, Bytes on_bytes,
                Action on_action);
  ~TerminalInput();
  TerminalInput(const TerminalInput&) = delete;
  TerminalInput& operator=(const TerminalInput&) = delete;

  void start() { read_more(); }
  // Stopped: the terminal hung up or failed, or an action said so.
  bool stopped() const { return stopped_; }

 private:
  void read_more();
  void stop();

  asio::posix::stream_descriptor tty_;
  EscapeParser escape_;
  Bytes on_bytes_;
  Action on_action_;
  std::array<char, 4096> buffer_;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vcon
