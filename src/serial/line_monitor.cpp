// The serial line monitor's loop. Like the zone monitor: one thread, one
// asio::io_context, the line drained whenever it is readable.
#include "serial/line_monitor.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <asio.hpp>
#include <chrono>
#include <csignal>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/clock.hpp"
#include "base/daemon.hpp"
#include "base/files.hpp"
#include "base/report.hpp"
#include "monitor/console_server.hpp"
#include "monitor/console_stream.hpp"
#include "serial/serial_line.hpp"
#include "serial/uucp_lock.hpp"

namespace vcon {

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr std::size_t kRingSize = 1 << 20;
constexpr auto kFirstRetry = 200ms;
// How long an open-on-demand line stays open after its last client left:
// a client that attaches and leaves in a loop would otherwise open and
// close the line (DTR up and down) and log both each time.
constexpr auto kOnDemandLinger = 5s;
constexpr auto kLastRetry = 5s;

class LineDevice final : public ConsoleDevice {
 public:
  LineDevice(ConsoleServer& server, const Paths& paths, std::string console)
      : server_(server),
        io_(server.io()),
        paths_(paths),
        name_(std::move(console)),
        retry_timer_(io_),
        dtr_timer_(io_),
        linger_timer_(io_) {}

  Result<void> start() {
    if (!reload_entry(false)) return make_error("console " + name_ + " is not a serial line in " + paths_.consoledb);
    server_.log_event(fmt::format("serving {} on {} at {} 8N1{}{}", name_, entry_.device, speed_,
                                  entry_.cronly ? ", cronly" : "", entry_.open_on_demand ? ", open on demand" : ""));
    if (!entry_.open_on_demand) open_now();
    return {};
  }

  // ConsoleDevice
  const ConsoleEntry* entry(const ConsoleDb& db) const override { return db.find(name_); }
  std::string consoledb_problem(const ConsoleDb& db, const std::string& path) const override {
    return consoledb_problem_note(db, name_, {}, path);
  }

  json status() const override {
    return {{"console", name_},
            {"device", entry_.device},
            {"state", state_},
            {"detail", detail_},
            {"speed", fmt::format("{} 8N1", speed_)},
            {"lock_file", lock_.held() ? lock_.path() : ""},
            {"input_bytes", input_total_ + (line_ ? line_->input_total() : 0)}};
  }

  void stop(StopKind, std::chrono::seconds, ControlTarget::Reply reply) override {
    if (reply) reply(make_error(name_ + " is a serial line: there is no zone to halt or reboot"));
  }

  Result<void> ctl(const CtlCommand& command, const std::string& who) override {
    switch (command.kind) {
      case CtlCommand::Kind::Break:
        return server_.send_break(who);
      case CtlCommand::Kind::Speed: {
        if (line_) VCON_TRY(set_line_speed(line_->native_handle(), command.speed));
        speed_ = command.speed;  // until the consoledb says otherwise
        server_.log_event(fmt::format("{}: line speed {}", who, speed_));
        return {};
      }
      case CtlCommand::Kind::Hangup: {
        // Drop DTR for half a second, as a modem hangup would.
        if (!line_) return make_error("hangup: the line is not open");
        int dtr = TIOCM_DTR;
        if (::ioctl(line_->native_handle(), TIOCMBIC, &dtr) != 0) return errno_error("hangup: drop DTR");
        dtr_timer_.expires_after(500ms);
        dtr_timer_.async_wait([this](std::error_code ec) {
          int dtr = TIOCM_DTR;
          if (!ec && line_) ::ioctl(line_->native_handle(), TIOCMBIS, &dtr);
        });
        server_.log_event(fmt::format("{}: hangup (DTR dropped)", who));
        return {};
      }
      case CtlCommand::Kind::Resize:
        return make_error("resize: a serial line has no window size; set the size on the machine's side");
    }
    return make_error("unknown command");
  }

  void write_input(std::string bytes) override {
    if (!line_) return;
    if (entry_.cronly) std::replace(bytes.begin(), bytes.end(), '\n', '\r');
    line_->write(std::move(bytes));
  }

  void resize(unsigned, unsigned) override {}  // a line has no window

  Result<void> send_break(const std::string&) override {
    if (!line_) return make_error("break: the line is not open");
    if (::tcsendbreak(line_->native_handle(), 0) != 0) return errno_error("break");
    return {};
  }

  void clients_changed(std::size_t count) override {
    if (!entry_.open_on_demand) return;
    if (count > 0) {
      linger_timer_.cancel();
      open_now();
      return;
    }
    linger_timer_.expires_after(kOnDemandLinger);
    linger_timer_.async_wait([this](std::error_code ec) {
      if (!ec && entry_.open_on_demand && line_ && server_.hub().size() == 0) {
        close_line("open on demand: no client attached, line closed", "closed");
      }
    });
  }

  void reload() override {  // the consoledb changed (vcon serve says so), or logrotate
    if (!reload_entry()) finish("the consoledb no longer has this line");
  }

  void terminate(int sig) override { finish(fmt::format("stopped by signal {}", sig)); }

 private:
  // Re-reads this console's entry; applies settings that changed (and with
  // `apply`, opens or closes the line as they want). False if the entry is
  // gone (or is no serial line).
  bool reload_entry(bool apply = true) {
    const ConsoleEntry* entry = this->entry(server_.consoledb());
    if (!entry || entry->device.empty()) return false;
    bool device_changed = entry->device != entry_.device;
    bool speed_changed = entry->speed != entry_.speed;
    entry_ = *entry;
    if (speed_changed || device_changed) speed_ = entry_.speed;
    if (!apply) return true;
    if (device_changed && line_) close_line("the consoledb names another device: reopening", "closed");
    if (speed_changed && line_) {
      auto set = set_line_speed(line_->native_handle(), speed_);
      server_.log_event(set ? fmt::format("line speed {} (consoledb)", speed_) : set.error().message());
    }
    if (!entry_.open_on_demand) linger_timer_.cancel();
    bool wanted = !entry_.open_on_demand || server_.hub().size() > 0;
    if (wanted && !line_) open_now();
    if (!wanted && line_) close_line("open on demand: no client attached, line closed", "closed");
    return true;
  }

  // The line changed state: the log, the monitor's log and every client hear it.
  void announce(const std::string& state, const std::string& text) {
    if (state == state_ && text == detail_) return;
    state_ = state;
    detail_ = text;
    server_.announce({{"type", "info"}, {"text", fmt::format("line {}: {}", name_, text)}}, text);
  }

  void open_now() {
    if (line_) return;
    retry_timer_.cancel();
    auto locked = lock_.acquire(paths_.lock_dir, entry_.device);
    if (!locked) {
      retry(locked.error().message());
      return;
    }
    if (*locked == UucpLock::Outcome::Busy) {
      retry(fmt::format("busy: {} holds it (lock file {}/{})", lock_.busy()->holder, paths_.lock_dir,
                        uucp_lock_name(entry_.device)),
            "busy");
      return;
    }
    auto opened = open_line(entry_.device, speed_);
    if (!opened || opened->busy_holder) {
      lock_.release();
      if (!opened) retry(opened.error().message());
      else retry(fmt::format("busy: {} holds it (flock)", *opened->busy_holder ? describe_process(*opened->busy_holder)
                                                                               : std::string("another process")),
                 "busy");
      return;
    }
    line_.emplace(io_, opened->fd.release(), [this](std::string_view bytes) { server_.output(bytes); },
                  [this](std::error_code ec) { lost(ec); });
    line_->set_on_quiet([this] { server_.log().release_buffers(); });
    line_->start();
    delay_ = kFirstRetry;
    announce("open", fmt::format("open: {} at {} 8N1{}", entry_.device, speed_,
                                 *locked == UucpLock::Outcome::Locked ? ", lock file " + lock_.path()
                                                                      : ", no lock file (the lock directory is not writable)"));
  }

  // Tries again later, each time waiting longer (up to kLastRetry).
  void retry(const std::string& why, const std::string& state = "waiting") {
    announce(state, why + "; retrying");
    retry_timer_.expires_after(delay_);
    delay_ = std::min<std::chrono::milliseconds>(delay_ * 2, kLastRetry);
    retry_timer_.async_wait([this](std::error_code ec) {
      if (!ec && (!entry_.open_on_demand || server_.hub().size() > 0)) open_now();
    });
  }

  void close_line(const std::string& why, const std::string& state) {
    if (line_) {
      line_->drain();
      input_total_ += line_->input_total();
    }
    line_.reset();
    lock_.release();  // every way out gives the line back
    retry_timer_.cancel();
    announce(state, why);
  }

  // Read or write failed: the device went away, or the other end hung up.
  void lost(std::error_code ec) {
    asio::post(io_, [this, ec] {  // not from inside the stream's own handler
      if (!line_) return;  // a read and a write may both fail: handle it once
      close_line("lost: " + ec.message(), "lost");
      retry("reopening " + entry_.device, "lost");
    });
  }

  void finish(const std::string& why) {
    close_line(why, "stopped");
    retry_timer_.cancel();
    dtr_timer_.cancel();
    linger_timer_.cancel();
    server_.finish();
  }

  ConsoleServer& server_;
  asio::io_context& io_;
  const Paths& paths_;
  std::string name_;
  ConsoleEntry entry_;
  unsigned speed_ = 9600;
  asio::steady_timer retry_timer_, dtr_timer_, linger_timer_;
  std::chrono::milliseconds delay_ = kFirstRetry;
  UucpLock lock_;
  std::optional<ConsoleStream> line_;
  std::uint64_t input_total_ = 0;
  std::string state_ = "closed", detail_;
};

}  // namespace

int run_line_monitor(LineMonitorOptions options) {
  ::signal(SIGPIPE, SIG_IGN);
  hold_stop_signals(true);
  UniqueFd lock = std::move(options.lock);  // released after the cleanup below
  const Paths& paths = options.paths;
  RemoveOnExit cleanup({paths.line_socket(options.console), paths.line_lock(options.console)},
                       paths.line_run_dir(options.console));
  auto logs = open_console_logs(paths.line_log(options.console), paths.line_audit_log(options.console));
  if (!logs) {
    report(logs.error().message());
    return 1;
  }
  asio::io_context io;
  ConsoleServer server(io, options.console, paths.consoledb, std::move(logs->log), std::move(logs->audit),
                       RingBuffer(kRingSize));
  LineDevice device(server, paths, options.console);
  auto started = server.start(device, paths.line_socket(options.console));
  if (started) started = device.start();
  if (!started) {
    report(started.error().message());
    return 1;
  }
  hold_stop_signals(false);
  server.run();
  return 0;
}

}  // namespace vcon
