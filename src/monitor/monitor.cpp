// The monitor's event loop. One thread, one asio::io_context: the console
// master is drained whenever it is readable, whatever clients do, so the zone
// never blocks on /dev/console.
#include "base/json_text.hpp"
#include "monitor/monitor.hpp"

#include <fmt/chrono.h>
#include <fmt/core.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio.hpp>
#include <chrono>
#include <csignal>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "base/clock.hpp"
#include "base/files.hpp"
#include "base/report.hpp"
#include "console/console_log.hpp"
#include "console/consoledb_file.hpp"
#include "console/ring_buffer.hpp"
#include "monitor/console_hub.hpp"
#include "monitor/console_stream.hpp"
#include "monitor/control_session.hpp"
#include "zone/process_table.hpp"
#include "zone/zone_config.hpp"
#include "zone/zone_setup.hpp"

namespace vcon {

namespace {

using json = nlohmann::json;

int pidfd_signal(int pidfd, int sig) { return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0)); }

class Monitor final : public ControlTarget, public ConsolePort {
 public:
  Monitor(asio::io_context& io, Paths paths, ZoneConfig config, std::vector<CgroupHierarchy> cgroups, ConsoleLog log)
      : io_(io),
        paths_(std::move(paths)),
        config_(std::move(config)),
        cgroup_(std::move(cgroups), config_.cgroup_name()),
        ring_(config_.ring_size),
        log_(std::move(log)),
        consoledb_(paths_.consoledb, report),
        signals_(io, SIGCHLD, SIGTERM, SIGINT),
        listener_(io, *this, ClientListener::fitted_to_fd_limit({})),
        kill_timer_(io),
        hub_(*this) {}

  Result<void> start() {
    signals_.add(SIGHUP);
    apply_consoledb();
    VCON_TRY(listener_.listen(paths_.zone_socket(config_.name)));
    VCON_TRY(boot());
    watch_signals();
    return {};
  }

  // ControlTarget
  json status() const override {
    return {{"zone", config_.name},
            {"state", zone_ ? (stopping_ ? "stopping" : "running") : "booting"},
            {"monitor_pid", ::getpid()},
            {"init_pid", zone_ ? zone_->init_pid : -1},
            {"booted_at", booted_at_},
            {"boots", boots_},
            {"console_bytes", ring_.end_offset()},
            {"input_bytes", input_total_ + (console_ ? console_->input_total() : 0)},
            {"dropped_bytes", hub_.dropped_bytes()},
            {"log_write_failures", log_.failed_writes()},
            {"log_lost_bytes", log_.lost_bytes()}};
  }

  ConsoleHub& hub() override { return hub_; }

  Access access(const Peer& peer) override {
    const ConsoleDb& db = apply_consoledb();
    return access_for(db, db.for_zone(config_.name), caller_for(peer.uid));
  }

  std::string consoledb_path() const override { return consoledb_.path(); }

  Result<void> ctl(const CtlCommand& command, const std::string& who) override {
    switch (command.kind) {
      case CtlCommand::Kind::Resize:
        if (!console_) return make_error("the zone is not running");
        resize(command.rows, command.cols);
        log_.event(fmt::format("{}: resize {} {}", who, command.rows, command.cols));
        return {};
      case CtlCommand::Kind::Hangup: {
        // What a modem hangup does to a tty's processes: SIGHUP to the
        // controlling process (getty's shell) and the foreground job. init
        // keeps running and starts a fresh getty. (TIOCSIG on the master
        // allows only SIGINT, SIGQUIT and SIGTSTP.)
        // The numbers come from the zone's tty: only the zone's processes
        // are signalled, whatever they name by now.
        pid_t session = 0, group = 0;
        if (!console_) return make_error("the zone is not running");
        ::ioctl(console_->native_handle(), TIOCGSID, &session);
        ::ioctl(console_->native_handle(), TIOCGPGRP, &group);
        pid_t init = zone_->init_pid;
        bool sent = false;
        if (session > 0 && session != init) sent = signal_zone_process(init, session, SIGHUP) || sent;
        if (group > 0 && group != init) {
          for (pid_t member : zone_process_group(init, group)) {
            if (member != init) sent = signal_zone_process(init, member, SIGHUP) || sent;
          }
        }
        if (!sent) return make_error("hangup: no process but init has the console as its terminal");
        log_.event(fmt::format("{}: hangup", who));
        return {};
      }
      case CtlCommand::Kind::Break:
      case CtlCommand::Kind::Speed:
        return make_error(fmt::format("{} is for serial lines; {} is a zone's console",
                                      command.kind == CtlCommand::Kind::Break ? "break" : "bSPEED", config_.name));
    }
    return make_error("unknown command");
  }

  void log_event(const std::string& text) override { log_.event(text); }

  Result<void> send_break(const std::string&) override {
    return make_error("break is for serial lines; " + config_.name + " is a zone's console");
  }

  // ConsolePort
  const RingBuffer& ring() const override { return ring_; }
  const std::string& console_name() const override { return config_.name; }

  void write_input(std::string bytes) override {
    // Typed input waits while the zone does not read its console; past a
    // bound it is dropped rather than letting the monitor grow or block.
    if (console_) console_->write(std::move(bytes));
  }

  void resize(unsigned rows, unsigned cols) override {
    if (!console_) return;
    winsize size{static_cast<unsigned short>(rows), static_cast<unsigned short>(cols), 0, 0};
    ::ioctl(console_->native_handle(), TIOCSWINSZ, &size);
  }

  void stop(StopKind kind, std::chrono::seconds grace, Reply reply) override {
    (kind == StopKind::Reboot ? reboot_waiters_ : halt_waiters_).push_back(std::move(reply));
    if (stopping_) {  // a halt overrides a reboot under way, never the reverse
      if (kind == StopKind::Halt) stopping_ = StopKind::Halt;
      return;
    }
    stopping_ = kind;
    int sig = kind == StopKind::Halt ? (config_.halt_signal ? config_.halt_signal : kDefaultHaltSignal)
                                     : (config_.reboot_signal ? config_.reboot_signal : kDefaultRebootSignal);
    log_.event(fmt::format("{} requested: sending {} to init", kind == StopKind::Halt ? "halt" : "reboot",
                           signal_name(sig)));
    if (zone_) pidfd_signal(zone_->init_pidfd.get(), grace.count() > 0 ? sig : SIGKILL);
    kill_timer_.expires_after(grace);
    kill_timer_.async_wait([this](std::error_code ec) {
      if (ec || !zone_) return;
      log_.event(fmt::format("init did not stop in time: killing the zone"));
      pidfd_signal(zone_->init_pidfd.get(), SIGKILL);
    });
  }

 private:
  Result<void> boot() {
    std::optional<std::pair<uid_t, gid_t>> owner;
    if (!config_.privileged) owner = std::pair{config_.ids.base, config_.ids.base};
    VCON_TRY(cgroup_.create(config_.limits, owner));
    auto launched = launch_zone(config_, cgroup_);
    if (!launched) {
      remove_cgroup();
      return launched.error();
    }
    zone_ = std::move(launched.value());
    ++boots_;
    booted_at_ = wall_clock_seconds();
    // Read errors mean the zone is gone (or going): on_init_exit() takes over.
    console_.emplace(io_, zone_->console_master.release(),
                     [this](std::string_view bytes) { take_console_output(bytes); }, [](std::error_code) {});
    announce("booted", fmt::format("zone {} booted, init is host PID {}", config_.name, zone_->init_pid));
    write_state();
    console_->start();
    return {};
  }

  // The consoledb in force, with this console's log settings applied.
  const ConsoleDb& apply_consoledb() {
    const ConsoleDb& db = consoledb_.current();
    log_.set_rotation(log_rotation(db.for_zone(config_.name)));
    return db;
  }

  // A zone state change goes to the log, the monitor's own log and every client.
  void announce(const char* state, const std::string& text) {
    log_.event(text);
    report(text);
    hub_.notice_all({{"type", "state"}, {"state", state}, {"zone", config_.name}});
  }

  void write_state() {
    auto saved = write_file_atomic(paths_.zone_state(config_.name), json_text(status()) + "\n");
    if (!saved) report("cannot save state: " + saved.error().message());
  }

  void take_console_output(std::string_view bytes) {
    ring_.append(bytes);
    log_.console(bytes);
    hub_.broadcast(bytes);
  }


  void watch_signals() {
    signals_.async_wait([this](std::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGCHLD) {
        reap();
      } else if (sig == SIGHUP) {  // logrotate moved the log away
        apply_consoledb();
        auto reopened = log_.reopen();
        if (!reopened) report(reopened.error().message());
        log_.event("log reopened (SIGHUP)");
      } else {
        report(fmt::format("got {}: halting the zone", signal_name(sig)));
        stop(StopKind::Halt, std::chrono::seconds(10), nullptr);
      }
      if (!finished_) watch_signals();
    });
  }

  void reap() {
    for (;;) {
      int status;
      pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) return;
      if (zone_ && pid == zone_->init_pid) on_init_exit(status);
    }
  }

  static std::string describe_exit(int status) {
    if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
    return fmt::format("was killed by {}", signal_name(WTERMSIG(status)));
  }

  void on_init_exit(int status) {
    // What the zone wrote just before it died is still in the pty: read it
    // all before the pty goes away.
    if (console_) {
      console_->drain();
      input_total_ += console_->input_total();
    }
    console_.reset();
    zone_.reset();
    kill_timer_.cancel();
    remove_cgroup();
    // reboot(2) in a PID namespace ends its init with SIGHUP (restart) or
    // SIGINT (power off / halt): that is how a zone asks for a reboot itself.
    bool self_reboot = WIFSIGNALED(status) && WTERMSIG(status) == SIGHUP;
    bool reboot = stopping_ ? *stopping_ == StopKind::Reboot : self_reboot;
    stopping_.reset();
    std::string how = "init " + describe_exit(status);
    if (reboot) {
      announce("rebooting", "zone rebooting: " + how);
      auto booted = boot();
      if (booted) {
        answer(reboot_waiters_, {});
        return;
      }
      how = "reboot failed: " + booted.error().message();
    }
    announce("halted", "zone halted: " + how);
    answer(reboot_waiters_, make_error("the zone halted instead of rebooting: " + how));
    answer(halt_waiters_, {});
    finish();
  }

  // init is gone, and with it its PID namespace; what may be left in the
  // cgroup (a `vcon exec` on its way in) goes too, then the cgroup.
  void remove_cgroup() {
    cgroup_.kill_all();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (cgroup_.populated() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    auto removed = cgroup_.remove();
    if (!removed) log_.event("cgroup not removed: " + removed.error().message());
  }

  static void answer(std::vector<Reply>& waiters, const Result<void>& result) {
    for (auto& reply : waiters) {
      if (reply) reply(result);
    }
    waiters.clear();
  }

  void finish() {
    finished_ = true;
    std::error_code ignored;
    listener_.close();
    signals_.cancel(ignored);
    hub_.close_all();
    io_.stop();  // run_monitor() flushes what is queued, for a bounded time
  }

  asio::io_context& io_;
  Paths paths_;
  ZoneConfig config_;
  ZoneCgroup cgroup_;
  RingBuffer ring_;
  ConsoleLog log_;
  ConsoleDbFile consoledb_;
  asio::signal_set signals_;
  ClientListener listener_;
  asio::steady_timer kill_timer_;
  std::uint64_t input_total_ = 0;  // of earlier boots
  std::optional<LaunchedZone> zone_;
  std::optional<ConsoleStream> console_;
  std::optional<StopKind> stopping_;
  std::vector<Reply> halt_waiters_, reboot_waiters_;
  int boots_ = 0;
  double booted_at_ = 0;
  bool finished_ = false;
  ConsoleHub hub_;  // last: its clients may call back into the members above
};

void notify(UniqueFd& fd, const std::string& message) {
  if (!fd) return;
  [[maybe_unused]] auto n = ::write(fd.get(), message.data(), message.size());
  fd.reset();
}

}  // namespace

int run_monitor(MonitorOptions options) {
  ::signal(SIGPIPE, SIG_IGN);
  for (int fd : {options.lock.get(), options.notify_fd.get()}) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  UniqueFd notify_fd = std::move(options.notify_fd);
  UniqueFd lock = std::move(options.lock);  // destroyed last: released after the cleanup below
  // Whatever happens next, leave no socket, state or lock file behind. The
  // lock file goes while we still hold its lock (take_lock_file copes with that).
  const std::string zone = options.config.name;
  const Paths& paths = options.paths;
  RemoveOnExit cleanup({paths.zone_socket(zone), paths.zone_state(zone), paths.zone_lock(zone)},
                       paths.zone_run_dir(zone));
  auto fail = [&](const std::string& message) {
    report("boot failed: " + message);
    notify(notify_fd, "error " + message);
    return 1;
  };
  auto log = ConsoleLog::open(options.paths.zone_log(zone));
  if (!log) return fail(log.error().message());

  asio::io_context io;
  Monitor monitor(io, options.paths, std::move(options.config), std::move(options.cgroups), std::move(log.value()));
  auto started = monitor.start();
  if (!started) return fail(started.error().message());
  notify(notify_fd, "ok\n");
  io.run();
  // The zone is down. Replies and notices already queued get written; a
  // client that stopped reading must not keep the monitor alive.
  io.restart();
  io.run_for(std::chrono::seconds(2));
  return 0;
}

}  // namespace vcon
