// The console core's loop parts: output, events, signals, status, access.
#include "monitor/console_server.hpp"

#include <fmt/core.h>
#include <fcntl.h>
#include <unistd.h>

#include <csignal>

#include "base/files.hpp"
#include "base/report.hpp"
#include "console/log_format.hpp"

namespace vcon {

using json = nlohmann::json;

ConsoleServer::ConsoleServer(asio::io_context& io, std::string name, const std::string& consoledb, ConsoleLog log,
                             ConsoleLog audit, RingBuffer ring)
    : io_(io),
      name_(std::move(name)),
      ring_(std::move(ring)),
      log_(std::move(log)),
      audit_(std::move(audit)),
      consoledb_(consoledb, report),
      commands_(io.get_executor(),
                [this](const std::string& user, uid_t uid, std::uint64_t count) {
                  log_event(fmt::format("{} (uid {}) was refused {} ctl commands, sent too fast", user, uid, count));
                }),
      signals_(io, SIGTERM, SIGINT, SIGHUP),
      listener_(io, *this, ClientListener::fitted_to_fd_limit({})),
      hub_(*this, io.get_executor()) {}

Result<void> ConsoleServer::start(ConsoleDevice& device, const std::string& socket_path) {
  device_ = &device;
  consoledb();
  VCON_TRY(listener_.listen(socket_path));
  watch_signals();
  return {};
}

const ConsoleDb& ConsoleServer::consoledb() {
  const ConsoleDb& db = consoledb_.current();
  const ConsoleEntry* entry = device_ ? device_->entry(db) : nullptr;
  log_.set_rotation(log_rotation(entry));
  audit_.set_rotation(audit_rotation(entry));
  audit_input_ = entry && entry->audit_input;
  return db;
}

void ConsoleServer::output(std::string_view bytes) {
  // Terminals first (a keystroke's echo waits for nothing else), then the
  // ring (before any client could ask for it), then the log.
  hub_.broadcast(bytes, ring_.end_offset() + bytes.size());
  ring_.append(bytes);
  log_.console(bytes);
}

void ConsoleServer::announce(const json& notice, const std::string& text) {
  log_event(text);
  report(name_ + ": " + text);
  hub_.notice_all(notice);
}

void ConsoleServer::log_event(const std::string& text) {
  log_.event(text);
  audit_.event(text);
}

void ConsoleServer::log_refusal(uid_t uid, const std::string& text) {
  auto now = std::chrono::steady_clock::now();
  Refusals& refusals = refusals_[uid];
  bool first = refusals.logged == std::chrono::steady_clock::time_point{};
  if (!first && now - refusals.logged < std::chrono::minutes(1)) {
    ++refusals.unlogged;
    return;
  }
  log_event(refusals.unlogged ? fmt::format("{} (and {} more refusals of this user since the last line)", text,
                                            refusals.unlogged)
                              : text);
  refusals.logged = now;
  refusals.unlogged = 0;
}

Result<UniqueFd> ConsoleServer::open_log(bool audit) {
  const std::string& path = (audit ? audit_ : log_).path();
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("open " + path);
  return fd;
}

void ConsoleServer::write_input(std::string bytes, const Peer& from) {
  if (audit_input_) audit_.event(describe(from) + " typed: " + make_visible(bytes));
  device_->write_input(std::move(bytes));
}

Result<void> ConsoleServer::send_break(const std::string& who) {
  auto sent = device_->send_break(who);
  if (sent) log_event(who + ": break sent");
  return sent;
}

Result<void> ConsoleServer::ctl(const CtlCommand& command, const std::string& who) {
  return device_->ctl(command, who);
}

std::string ConsoleServer::consoledb_problem() {
  const ConsoleDb& db = consoledb();
  return device_->consoledb_problem(db, consoledb_.path());
}

Access ConsoleServer::access(const Peer& peer) {
  const ConsoleDb& db = consoledb();
  return access_for(db, device_->entry(db), caller_for(peer.uid));
}

json ConsoleServer::status() const {
  json status = device_->status();
  status["monitor_pid"] = ::getpid();
  status["console_bytes"] = ring_.end_offset();
  status["dropped_bytes"] = hub_.dropped_bytes();
  status["log_write_failures"] = log_.failed_writes();
  status["log_lost_bytes"] = log_.lost_bytes();
  return status;
}

void ConsoleServer::watch_signals() {
  signals_.async_wait([this](std::error_code ec, int sig) {
    if (ec || finished_) return;
    if (sig == SIGHUP) {  // logrotate moved the logs away, or the consoledb changed
      consoledb();
      for (ConsoleLog* log : {&log_, &audit_}) {
        auto reopened = log->reopen();
        if (!reopened) report(reopened.error().message());
      }
      log_event("log reopened (SIGHUP)");
      device_->reload();
    } else {
      device_->terminate(sig);
    }
    if (!finished_) watch_signals();
  });
}

void ConsoleServer::finish() {
  finished_ = true;
  std::error_code ignored;
  signals_.cancel(ignored);
  hub_.close_all();
  listener_.close();
  io_.stop();
}

void ConsoleServer::run() {
  io_.run();
  // The console is done. Replies and notices already queued get written; a
  // client that stopped reading must not keep the monitor alive.
  io_.restart();
  io_.run_for(std::chrono::seconds(2));
  listener_.abort_connections();
  io_.restart();
  io_.poll();  // their close handlers: no session outlives the loop
}

Result<ConsoleLogs> open_console_logs(const std::string& log_path, const std::string& audit_path) {
  VCON_TRY(make_directories(log_path.substr(0, log_path.rfind('/')), 0755));
  auto log = ConsoleLog::open(log_path);
  if (!log) return log.error();
  auto audit = ConsoleLog::open(audit_path, {4u << 20, 8});
  if (!audit) return audit.error();
  return ConsoleLogs{std::move(log.value()), std::move(audit.value())};
}

}  // namespace vcon
