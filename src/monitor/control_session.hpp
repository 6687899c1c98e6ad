// Sessions on the monitor socket start here: the hello decides. Mode
// "control": requests (status, who, halt, reboot, ctl), one response each.
// Modes "rw" and "ro": the connection is handed to the ConsoleHub as an
// attached client. Who may do what is decided here, once per session, from
// the consoledb and the caller's SO_PEERCRED. See docs/protocol.md.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "console/consoledb.hpp"
#include "console/ctl_command.hpp"
#include "monitor/console_hub.hpp"

namespace vcon {

enum class StopKind { Halt, Reboot };

// What a control session may ask of the monitor.
class ControlTarget {
 public:
  using Reply = std::function<void(const Result<void>&)>;
  virtual ~ControlTarget() = default;
  virtual nlohmann::json status() const = 0;
  // Asks init to stop (halt or reboot), kills the zone after `grace`; `reply`
  // is called once the zone is down (halt) or up again (reboot).
  virtual void stop(StopKind kind, std::chrono::seconds grace, Reply reply) = 0;
  virtual ConsoleHub& hub() = 0;
  // What this caller may do with the console, per the consoledb in force.
  virtual Access access(const Peer& peer) = 0;
  // Where that consoledb is, for messages.
  virtual std::string consoledb_path() const = 0;
  // A NAMEctl command, from `who`; the error says why it cannot be done.
  virtual Result<void> ctl(const CtlCommand& command, const std::string& who) = 0;
  virtual void log_event(const std::string& text) = 0;
};

void start_control_session(asio::local::stream_protocol::socket socket, ControlTarget& target);

// A monitor's socket: listens on `path` (a stale socket there is replaced:
// the caller holds the console's lock), mode 0666, since each hello is
// checked against the consoledb.
Result<void> listen_for_clients(asio::local::stream_protocol::acceptor& acceptor, const std::string& path);
// Accepts clients until the acceptor is closed; each gets a control session.
void accept_clients(asio::local::stream_protocol::acceptor& acceptor, ControlTarget& target);

}  // namespace vcon
