// ConsoleServer: the one console core every monitor runs, whatever is behind
// the console. It owns the ring, the console log, the audit log, the
// consoledb in force, the clients (hub), the listening socket and the stop
// signals; a ConsoleDevice is what differs: a zone's pty (monitor.cpp) or a
// serial line (serial/line_monitor.cpp). A fix to any of the shared parts
// lands once, for both.
//
// One thread, one asio::io_context: the device drains its console whenever
// it is readable and hands the bytes to output(), whatever clients do.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/paths.hpp"
#include "console/console_log.hpp"
#include "console/consoledb_file.hpp"
#include "console/ring_buffer.hpp"
#include "monitor/console_hub.hpp"
#include "monitor/control_session.hpp"

namespace vcon {

class ConsoleServer;

// What one kind of console adds to the core.
class ConsoleDevice {
 public:
  virtual ~ConsoleDevice() = default;
  // Its entry in the consoledb (access rules, log sizes), or null.
  virtual const ConsoleEntry* entry(const ConsoleDb& db) const = 0;
  // What is wrong in the consoledb that bears on this console ("" if nothing).
  virtual std::string consoledb_problem(const ConsoleDb& db, const std::string& path) const = 0;
  // Its own fields of `vcon who`/NAMEstat's status (state, PIDs, speed...).
  virtual nlohmann::json status() const = 0;
  virtual void write_input(std::string bytes) = 0;
  virtual void resize(unsigned rows, unsigned cols) = 0;
  virtual Result<void> send_break(const std::string& who) = 0;
  virtual Result<void> ctl(const CtlCommand& command, const std::string& who) = 0;
  virtual void stop(StopKind kind, std::chrono::seconds grace, ControlTarget::Reply reply) = 0;
  virtual void clients_changed(std::size_t) {}
  // SIGHUP: the consoledb (or the logs) changed; the server reopened its logs.
  virtual void reload() {}
  // SIGTERM or SIGINT reached the monitor.
  virtual void terminate(int signal) = 0;
  // Hand the console over to a new monitor running `binary`.
  virtual Result<void> upgrade(const std::string&) { return make_error("this console's monitor cannot be upgraded in place"); }
};

class ConsoleServer final : public ControlTarget, public ConsolePort {
 public:
  ConsoleServer(asio::io_context& io, std::string name, const std::string& consoledb, ConsoleLog log,
                ConsoleLog audit, RingBuffer ring);

  // Listens on `socket_path` and handles the stop signals; `device` must
  // outlive the server's loop.
  Result<void> start(ConsoleDevice& device, const std::string& socket_path);

  // For the device:
  // Console output: into the ring, the log and to every client.
  void output(std::string_view bytes);
  // A change of state: the log, the monitor's own log, and every client.
  void announce(const nlohmann::json& notice, const std::string& text);
  // An event for the log and the audit log.
  void log_event(const std::string& text) override;
  // Stops accepting, tells the clients, ends the loop (run() then flushes
  // what is queued for a bounded time).
  void finish();
  // Runs the loop until finish(); then writes what is queued for clients for
  // at most two seconds, and closes every connection left.
  void run();
  // The consoledb in force, with this console's log sizes applied.
  const ConsoleDb& consoledb();
  ConsoleLog& log() { return log_; }
  // Who closes the oldest log (and audit log) a rotation deletes (see
  // ConsoleLog::set_release).
  void set_log_release(const std::function<void(UniqueFd)>& release) {
    log_.set_release(release);
    audit_.set_release(release);
  }
  asio::io_context& io() { return io_; }

  // ControlTarget
  nlohmann::json status() const override;
  void stop(StopKind kind, std::chrono::seconds grace, Reply reply) override { device_->stop(kind, grace, reply); }
  ConsoleHub& hub() override { return hub_; }
  Access access(const Peer& peer) override;
  std::string consoledb_path() const override { return consoledb_.path(); }
  std::string consoledb_problem() override;
  Result<void> ctl(const CtlCommand& command, const std::string& who) override;
  RateGate& command_gate() override { return commands_; }
  Result<void> upgrade(const std::string& binary) override { return device_->upgrade(binary); }
  void log_refusal(uid_t uid, const std::string& text) override;
  Result<UniqueFd> open_log(bool audit) override;

  // ConsolePort
  void write_input(std::string bytes, const Peer& from) override;
  void resize(unsigned rows, unsigned cols) override { device_->resize(rows, cols); }
  const RingBuffer& ring() const override { return ring_; }
  const std::string& console_name() const override { return name_; }
  Result<void> send_break(const std::string& who) override;
  void clients_changed(std::size_t count) override { device_->clients_changed(count); }

 private:
  void watch_signals();

  asio::io_context& io_;
  std::string name_;
  ConsoleDevice* device_ = nullptr;
  RingBuffer ring_;
  ConsoleLog log_;
  ConsoleLog audit_;
  ConsoleDbFile consoledb_;
  bool audit_input_ = false;
  struct Refusals {
    std::chrono::steady_clock::time_point logged;
    std::size_t unlogged = 0;
  };
  std::map<uid_t, Refusals> refusals_;
  RateGate commands_;
  asio::signal_set signals_;
  bool finished_ = false;
  ClientListener listener_;
  ConsoleHub hub_;  // last: its clients may call back into the members above
};

// The logs of console NAME: LOGDIR/NAME.log and LOGDIR/NAME.audit.log for a
// zone, under LOGDIR/lines/ for a serial line.
struct ConsoleLogs {
  ConsoleLog log;
  ConsoleLog audit;
};
Result<ConsoleLogs> open_console_logs(const std::string& log_path, const std::string& audit_path);



}  // namespace vcon
