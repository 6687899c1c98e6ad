// Sessions on the monitor socket start here: the hello decides. Mode
// "control": requests (status, who, halt, reboot, ctl), one response each.
// Modes "rw" and "ro": the connection is handed to the ConsoleHub as an
// attached client. Who may do what is decided here, once per session, from
// the consoledb and the caller's SO_PEERCRED. See docs/protocol.md.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "base/result.hpp"
#include "console/consoledb.hpp"
#include "console/ctl_command.hpp"
#include "console/rate_gate.hpp"
#include "monitor/console_hub.hpp"
#include "proto/connection.hpp"

namespace vcon {

enum class StopKind { Halt, Reboot };

// How a halt or reboot went: `killed` when init did not stop in time (or
// was killed at once, as asked) and the zone was killed instead.
struct StopOutcome {
  bool killed = false;
  std::string how;  // "init powered off", "init did not stop within 10 s: killed", ...
};

// What a control session may ask of the monitor.
class ControlTarget {
 public:
  using Reply = std::function<void(const Result<StopOutcome>&)>;
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
  // What is wrong with the consoledb that may be why someone has no access
  // ("" if nothing bears on this console).
  virtual std::string consoledb_problem() = 0;
  // A NAMEctl command, from `who`; the error says why it cannot be done.
  virtual Result<void> ctl(const CtlCommand& command, const std::string& who) = 0;
  // How often a user (not root) may send ctl commands, done or refused
  // (each is logged): past a burst they are refused unlogged, and counted.
  virtual RateGate& command_gate() = 0;
  virtual void log_event(const std::string& text) = 0;
  // A refusal (no access, too many connections...): logged at most once a
  // minute per user, with a count, so a hostile user cannot flood the logs.
  virtual void log_refusal(uid_t uid, const std::string& text) = 0;
  // Hands the console over to a new monitor running `binary` (root only).
  virtual Result<void> upgrade(const std::string& binary) = 0;
  // The console's log (or audit log), open for reading: how a user the
  // consoledb lets in reads a log that is root's on disk.
  virtual Result<UniqueFd> open_log(bool audit) = 0;
};

// What one monitor takes from its clients, whoever they are (documented in
// docs/protocol.md). Users other than root share `total`, each at most
// `per_user` connections; every connection must say hello within
// `hello_deadline`.
struct ClientLimits {
  std::size_t per_user = 32;
  std::size_t total = 1024;  // lowered to fit the monitor's fd limit
  std::chrono::milliseconds hello_deadline{10000};
};

// A monitor's socket and the connections it accepts. Listens on `path` (a
// stale socket there is replaced: the caller holds the console's lock),
// mode 0666, since each hello is checked against the consoledb. Never stops
// accepting on its own: out of fds, it takes a connection with a spare one
// and closes it at once; a client past a limit is told why and closed, and
// the console's log says so (once a minute per user, with a count).
class ClientListener {
 public:
  ClientListener(asio::io_context& io, ControlTarget& target, ClientLimits limits = {});
  ~ClientListener();
  Result<void> listen(const std::string& path);
  // Stops accepting; every connection is closed once what is queued for it
  // is written.
  void close();
  // Closes what is still open, queued or not (the monitor is done waiting).
  void abort_connections();
  // The limits, with `total` fitted to RLIMIT_NOFILE (raised to its hard
  // limit first).
  static ClientLimits fitted_to_fd_limit(ClientLimits limits);

 private:
  struct Counts;
  static std::shared_ptr<void> counted(const std::shared_ptr<Counts>& counts, uid_t uid);
  void accept();
  void admit(asio::local::stream_protocol::socket socket);
  void out_of_fds();
  void refuse(asio::local::stream_protocol::socket& socket, uid_t uid, const std::string& why);
  // After a crowd of connections came and went: forget them, and give the
  // heap's free pages back to the system.
  void give_back_memory();

  ControlTarget& target_;
  ClientLimits limits_;
  asio::local::stream_protocol::acceptor acceptor_;
  asio::steady_timer retry_;
  int spare_fd_ = -1;
  std::shared_ptr<Counts> counts_;  // shared with each connection's slot
  std::vector<std::weak_ptr<proto::FrameConnection>> connections_;  // every one accepted, to close at the end
};

}  // namespace vcon
