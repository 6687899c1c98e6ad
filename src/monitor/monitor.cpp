// A zone's monitor: the zone's pty as a ConsoleDevice on the console core,
// and the zone's life cycle (boot, halt, reboot) with its keeper.
#include "monitor/monitor.hpp"

#include <fmt/core.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "base/clock.hpp"
#include "base/files.hpp"
#include "base/json_text.hpp"
#include "base/memory.hpp"
#include "base/report.hpp"
#include "monitor/console_server.hpp"
#include "monitor/console_stream.hpp"
#include "monitor/keeper_channel.hpp"
#include "zone/guest_init.hpp"
#include "zone/process_table.hpp"
#include "zone/zone_setup.hpp"

namespace vcon {

namespace {

using json = nlohmann::json;

int pidfd_signal(int pidfd, int sig) { return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0)); }

// The zone that runs now.
struct Zone {
  pid_t init_pid;
  UniqueFd init_pidfd;  // signals go through this: no PID-reuse races
  UniqueFd slave;       // held so the master never sees EIO between opens
};

// How init ended, as the log and halt/reboot tell it. reboot(2) in a PID
// namespace ends its init with SIGINT (power off, halt) or SIGHUP
// (restart); nothing else can: a signal from outside the namespace that
// init has no handler for never reaches it, one from inside neither.
std::string describe_exit(int status) {
  if (status < 0) return "init ended (how is unknown: its keeper was gone)";
  if (WIFEXITED(status)) return fmt::format("init exited with status {}", WEXITSTATUS(status));
  if (WTERMSIG(status) == SIGINT) return "init powered off";
  if (WTERMSIG(status) == SIGHUP) return "init rebooted";
  return fmt::format("init was killed by {}", signal_name(WTERMSIG(status)));
}

class ZoneDevice final : public ConsoleDevice {
 public:
  ZoneDevice(ConsoleServer& server, MonitorOptions& options)
      : server_(server),
        io_(server.io()),
        paths_(options.paths),
        config_(options.config),
        cgroup_(std::move(options.cgroups), config_.cgroup_name()),
        keeper_(io_, options.keeper.release()),
        init_watch_(io_),
        kill_timer_(io_),
        signal_timer_(io_) {
    server_.set_log_release([this](UniqueFd fd) { release(std::move(fd)); });
  }
  ~ZoneDevice() override { server_.set_log_release(nullptr); }

  // A new zone: boot it.
  Result<void> boot() {
    learn_init();
    std::optional<std::pair<uid_t, gid_t>> owner;
    if (!config_.privileged) owner = std::pair{config_.ids.base, config_.ids.base};
    VCON_TRY(cgroup_.create(config_.limits, owner));
    auto launched = launch_zone(config_, cgroup_, InitParent::CallersParent);
    if (!launched) {
      remove_cgroup();
      return launched.error();
    }
    ++boots_;
    booted_at_ = wall_clock_seconds();
    // The keeper holds the console too: a monitor that dies does not take it along.
    auto held = send_fds(keeper_.native_handle(),
                         {launched->console_master.get(), launched->console_slave.get()},
                         keeper::encode(keeper::Console{launched->init_pid, booted_at_, boots_}));
    if (!held) report("cannot hand the console to the keeper: " + held.error().message());
    run(launched->init_pid, std::move(launched->init_pidfd), std::move(launched->console_master),
        std::move(launched->console_slave));
    server_.announce({{"type", "state"}, {"state", "booted"}, {"zone", config_.name}},
                     fmt::format("zone {} booted, init is host PID {}", config_.name, launched->init_pid));
    write_state();
    return {};
  }

  // A zone that runs already (this monitor replaces one that died or was
  // upgraded): its console, as the keeper held it.
  // `ended`: init ended already (the keeper reaped it): there is only the
  // console to drain and the halt or reboot to see to.
  Result<void> adopt(RunningZone running, const std::string& why, bool ended, bool started_by_keeper) {
    learn_init();
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, running.init_pid, 0)));
    if (!pidfd && !ended) return errno_error(fmt::format("take over init (PID {})", running.init_pid));
    boots_ = running.boots;
    booted_at_ = running.booted_at;
    run(running.init_pid, std::move(pidfd), std::move(running.master), std::move(running.slave));
    if (started_by_keeper && !why.empty()) {  // the keeper's word (it writes no log of its own)
      server_.log_event(fmt::format("{}; keeper PID {} starts another", why, ::getppid()));
    }
    server_.log_event(fmt::format("monitor PID {} took over the console of zone {} (init is host PID {}){}",
                                  ::getpid(), config_.name, running.init_pid, why.empty() ? "" : ": " + why));
    write_state();
    return {};
  }

  void watch_keeper() {
    keeper_.async_wait(asio::posix::descriptor_base::wait_read, [this](std::error_code ec) {
      if (ec) return;
      auto message = receive_message(keeper_.native_handle(), 0);
      if (!message || message->text.empty()) {
        keeper_lost();
        return;
      }
      if (auto decoded = keeper::decode(message->text)) {
        if (auto* exited = std::get_if<keeper::Exited>(&*decoded); exited && zone_ && exited->pid == zone_->init_pid) {
          on_init_exit(exited->status);
        }
      }
      if (!finished_) watch_keeper();
    });
  }

  // init ended while no monitor ran.
  void init_ended_meanwhile(int status) {
    if (zone_) on_init_exit(status);
  }

  // ConsoleDevice
  const ConsoleEntry* entry(const ConsoleDb& db) const override { return db.for_zone(config_.name); }
  std::string consoledb_problem(const ConsoleDb& db, const std::string& path) const override {
    return consoledb_problem_note(db, config_.name, config_.name, path);
  }

  json status() const override {
    return {{"zone", config_.name},
            {"state", zone_ ? (stopping_ ? "stopping" : "running") : "booting"},
            {"keeper_pid", keeper_pid_},
            {"init_pid", zone_ ? zone_->init_pid : -1},
            {"booted_at", booted_at_},
            {"boots", boots_},
            {"input_bytes", input_total_ + (console_ ? console_->input_total() : 0)}};
  }

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

  Result<void> send_break(const std::string&) override {
    return make_error("break is for serial lines; " + config_.name + " is a zone's console");
  }

  Result<void> ctl(const CtlCommand& command, const std::string& who) override {
    switch (command.kind) {
      case CtlCommand::Kind::Resize:
        if (!console_) return make_error("the zone is not running");
        resize(command.rows, command.cols);
        server_.log_event(fmt::format("{}: resize {} {}", who, command.rows, command.cols));
        return {};
      case CtlCommand::Kind::Hangup:
        VCON_TRY(hangup());
        server_.log_event(fmt::format("{}: hangup", who));
        return {};
      case CtlCommand::Kind::Break:
      case CtlCommand::Kind::Speed:
        return make_error(fmt::format("{} is for serial lines; {} is a zone's console",
                                      command.kind == CtlCommand::Kind::Break ? "break" : "bSPEED", config_.name));
    }
    return make_error("unknown command");
  }

  void stop(StopKind kind, std::chrono::seconds grace, ControlTarget::Reply reply) override {
    (kind == StopKind::Reboot ? reboot_waiters_ : halt_waiters_).push_back(std::move(reply));
    if (!zone_ && kind == StopKind::Halt) {  // between boots (a reboot loop held back): nothing to stop
      kill_timer_.cancel();
      last_stop_ = {};
      halted("halt requested while the zone waited to boot again");
      return;
    }
    if (stopping_) {  // a halt overrides a reboot under way, never the reverse
      if (kind == StopKind::Halt) stopping_ = StopKind::Halt;
      return;
    }
    stopping_ = kind;
    int sig = kind == StopKind::Halt ? init_.halt_signal : init_.reboot_signal;
    if (grace.count() == 0) {
      server_.log_event(fmt::format("{} requested at once: killing the zone", kind == StopKind::Halt ? "halt" : "reboot"));
      killed_ = "killed at once, as asked";
      if (zone_) pidfd_signal(zone_->init_pidfd.get(), SIGKILL);
      return;
    }
    server_.log_event(fmt::format("{} requested: sending {} to init ({})", kind == StopKind::Halt ? "halt" : "reboot",
                                  signal_name(sig), guest_init_name(init_.kind)));
    send_when_handled(sig);
    kill_timer_.expires_after(grace);
    kill_timer_.async_wait([this, grace, sig](std::error_code ec) {
      if (ec || !zone_) return;
      killed_ = fmt::format("init did not stop within {} s of {}: killed", grace.count(), signal_name(sig));
      server_.log_event(*killed_ + " (SIGKILL)");
      pidfd_signal(zone_->init_pidfd.get(), SIGKILL);
    });
  }

  Result<void> upgrade(const std::string& binary) override {
    if (keeper_pid_ <= 0) return make_error("this monitor has no keeper to start the new one");
    VCON_TRY(send_fds(keeper_.native_handle(), {}, keeper::encode(keeper::Upgrade{binary})));
    server_.announce({{"type", "state"}, {"state", "restarting"}, {"zone", config_.name}},
                     fmt::format("monitor PID {} hands the console of zone {} over to {}", ::getpid(),
                                 config_.name, binary));
    asio::post(io_, [this] { finish(); });  // the reply goes out first
    return {};
  }

  void terminate(int sig) override {
    report(fmt::format("got {}: halting the zone", signal_name(sig)));
    stop(StopKind::Halt, std::chrono::seconds(10), nullptr);
  }

  bool keeper_gone() const { return keeper_pid_ <= 0; }

 private:
  // A signal from outside init's PID namespace that init neither catches
  // nor blocks is dropped, not queued: one sent while init is still
  // starting (systemd blocks its signals for a signalfd a few milliseconds
  // in) would be lost. So it is sent at once, and again once init catches
  // or blocks it (SigCgt, SigBlk; checked every 10 ms until the kill) if it
  // did neither at first. (/proc does not show a signal init waits for in
  // sigtimedwait, as busybox init does: that one arrives the first time.)
  void send_when_handled(int sig, bool first = true) {
    if (!zone_) return;
    bool handled = handles(zone_->init_pid, sig);
    if (first || handled) pidfd_signal(zone_->init_pidfd.get(), sig);
    if (handled) return;
    signal_timer_.expires_after(std::chrono::milliseconds(10));
    signal_timer_.async_wait([this, sig](std::error_code ec) {
      if (!ec && stopping_) send_when_handled(sig, false);
    });
  }

  static bool handles(pid_t pid, int sig) {
    auto status = read_file("/proc/" + std::to_string(pid) + "/status", 1 << 20);
    if (!status) return false;
    unsigned long long taken = 0;
    for (const char* field : {"\nSigCgt:\t", "\nSigBlk:\t"}) {
      std::size_t at = status->find(field);
      if (at != std::string::npos) taken |= std::strtoull(status->c_str() + at + 9, nullptr, 16);
    }
    return sig >= 1 && sig <= 64 && (taken >> (sig - 1)) & 1;
  }

  // Which init the zone runs decides how it is asked to stop.
  void learn_init() {
    UniqueFd root(::open(config_.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    init_ = detect_guest_init(root.get(), config_);  // no root: an init vcon does not know
    if (!init_.warning.empty()) server_.log_event("warning: " + init_.warning);
  }

  void run(pid_t init_pid, UniqueFd pidfd, UniqueFd master, UniqueFd slave) {
    zone_.emplace(Zone{init_pid, std::move(pidfd), std::move(slave)});
    // Read errors mean the zone is gone (or going): on_init_exit() takes over.
    console_.emplace(io_, master.release(), [this](std::string_view bytes) { server_.output(bytes); },
                     [](std::error_code) {});
    console_->set_on_quiet([this] { server_.log().release_buffers(); });
    console_->start();
  }

  // What a modem hangup does to a tty's processes: SIGHUP to the
  // controlling process (getty's shell) and the foreground job; init keeps
  // running and starts a fresh getty. (TIOCSIG on the master allows only
  // SIGINT, SIGQUIT and SIGTSTP.) The numbers come from the zone's tty:
  // only the zone's processes are signalled, whatever they name by now.
  Result<void> hangup() {
    if (!console_) return make_error("the zone is not running");
    pid_t session = 0, group = 0;
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
    return {};
  }

  // A file whose last close may wait for the disk goes to the keeper, which
  // can wait. Only when it has read all we sent before: the channel also
  // carries what the zone depends on (console, down), and must never fill
  // with these, nor pin more deleted logs than the keeper holds. Otherwise
  // (no keeper, a keeper busy or stuck) it is closed here, and the first
  // time that happens the monitor's log says so.
  void release(UniqueFd fd) {
    int unread = -1;
    if (keeper_pid_ > 0 && ::ioctl(keeper_.native_handle(), SIOCOUTQ, &unread) == 0 && unread == 0 &&
        send_fds(keeper_.native_handle(), {fd.get()}, keeper::encode(keeper::Release{}), MSG_DONTWAIT)) {
      return;
    }
    if (!released_here_) {
      released_here_ = true;
      report(fmt::format("a rotated-away log of zone {} is deleted by the monitor itself ({}): the console may "
                         "stand still while the disk frees it",
                         config_.name, keeper_pid_ > 0 ? "its keeper has not read what it was sent" : "no keeper"));
    }
  }

  void keeper_lost() {
    server_.log_event(fmt::format("the keeper (PID {}) is gone: the zone runs on, but if this monitor dies now "
                                  "its console is lost",
                                  keeper_pid_));
    keeper_pid_ = -1;
    write_state();
    // init is no longer anyone's to reap here: its pidfd says when it ends.
    if (zone_) {
      init_watch_.assign(::dup(zone_->init_pidfd.get()));
      init_watch_.async_wait(asio::posix::descriptor_base::wait_read, [this](std::error_code ec) {
        if (!ec && zone_) on_init_exit(-1);
      });
    }
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
    std::error_code ignored;
    init_watch_.close(ignored);
    kill_timer_.cancel();
    signal_timer_.cancel();
    remove_cgroup();
    // reboot(2) in a PID namespace ends its init with SIGHUP (restart) or
    // SIGINT (power off / halt): that is how a zone asks for a reboot itself.
    bool self_reboot = status >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGHUP;
    bool reboot = stopping_ ? *stopping_ == StopKind::Reboot : self_reboot;
    bool asked = stopping_.has_value();
    stopping_.reset();
    std::string how = killed_ ? *killed_ : describe_exit(status) + (asked ? "" : ", by itself");
    last_stop_ = StopOutcome{killed_.has_value(), how};
    killed_.reset();
    if (reboot) {
      server_.announce({{"type", "state"}, {"state", "rebooting"}, {"zone", config_.name}}, "zone rebooting: " + how);
      auto delay = reboot_delay();
      if (delay.count() > 0) {
        server_.log_event(fmt::format("zone rebooting too often ({} boots in {} s): the next boot in {} s",
                                      kRebootBurst, kRebootWindow.count(), delay.count()));
        kill_timer_.expires_after(delay);
        kill_timer_.async_wait([this](std::error_code ec) {
          if (!ec) reboot_now();
        });
        return;
      }
      reboot_now();
      return;
    }
    halted(how);
  }

  // A zone that reboots itself in a loop (an init that calls reboot() at
  // once) must not spin the monitor: past kRebootBurst boots within
  // kRebootWindow, each boot waits longer (1 s doubling to 30 s).
  static constexpr int kRebootBurst = 10;
  static constexpr std::chrono::seconds kRebootWindow{10};
  std::chrono::seconds reboot_delay() {
    auto now = std::chrono::steady_clock::now();
    recent_boots_.push_back(now);
    while (recent_boots_.size() > kRebootBurst) recent_boots_.pop_front();
    if (recent_boots_.size() < kRebootBurst || now - recent_boots_.front() > kRebootWindow) {
      reboot_backoff_ = std::chrono::seconds(0);
      return reboot_backoff_;
    }
    reboot_backoff_ = std::min(std::max(reboot_backoff_ * 2, std::chrono::seconds(1)), std::chrono::seconds(30));
    return reboot_backoff_;
  }

  void reboot_now() {
    auto booted = boot();
    if (booted) {
      answer(reboot_waiters_, last_stop_);
      return;
    }
    halted("reboot failed: " + booted.error().message());
  }

  void halted(const std::string& how) {
    server_.announce({{"type", "state"}, {"state", "halted"}, {"zone", config_.name}}, "zone halted: " + how);
    answer(reboot_waiters_, make_error("the zone halted instead of rebooting: " + how));
    answer(halt_waiters_, StopOutcome{last_stop_.killed, how});
    if (keeper_pid_ > 0) (void)send_fds(keeper_.native_handle(), {}, keeper::encode(keeper::Down{}));
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
    if (!removed) server_.log_event("cgroup not removed: " + removed.error().message());
  }

  static void answer(std::vector<ControlTarget::Reply>& waiters, const Result<StopOutcome>& result) {
    for (auto& reply : waiters) {
      if (reply) reply(result);
    }
    waiters.clear();
  }

  void write_state() {
    json state = server_.status();
    auto saved = write_file_atomic(paths_.zone_state(config_.name), json_text(state) + "\n");
    if (!saved) report("cannot save state: " + saved.error().message());
  }

  void finish() {
    finished_ = true;
    std::error_code ignored;
    keeper_.cancel(ignored);
    init_watch_.close(ignored);
    server_.finish();
  }

  ConsoleServer& server_;
  asio::io_context& io_;
  const Paths& paths_;
  const ZoneConfig& config_;
  ZoneCgroup cgroup_;
  asio::posix::stream_descriptor keeper_;
  asio::posix::stream_descriptor init_watch_;
  asio::steady_timer kill_timer_;
  asio::steady_timer signal_timer_;
  pid_t keeper_pid_ = ::getppid();
  bool released_here_ = false;  // a log was deleted here, not by the keeper (release)
  std::optional<Zone> zone_;
  std::optional<ConsoleStream> console_;
  std::optional<StopKind> stopping_;
  std::optional<std::string> killed_;  // why the zone was killed, while stopping it
  StopOutcome last_stop_;
  GuestInitInfo init_;
  std::vector<ControlTarget::Reply> halt_waiters_, reboot_waiters_;
  std::uint64_t input_total_ = 0;  // of earlier boots
  std::deque<std::chrono::steady_clock::time_point> recent_boots_;
  std::chrono::seconds reboot_backoff_{0};
  int boots_ = 0;
  double booted_at_ = 0;
  bool finished_ = false;
};

void notify(UniqueFd& fd, const std::string& message) {
  if (!fd) return;
  [[maybe_unused]] auto n = ::write(fd.get(), message.data(), message.size());
  fd.reset();
}

// Whether the keeper runs: the process that forked us is exec'ing it, which
// closes the pipe's other end; a byte instead means the exec failed.
bool keeper_runs(UniqueFd pipe) {
  char byte;
  ssize_t n;
  do {
    n = ::read(pipe.get(), &byte, 1);
  } while (n < 0 && errno == EINTR);
  return n == 0;
}

}  // namespace

int run_monitor(MonitorOptions options) {
  ::signal(SIGPIPE, SIG_IGN);
  for (int fd : {options.lock.get(), options.notify_fd.get(), options.keeper.get(), options.ring.get()}) {
    if (fd >= 0) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  UniqueFd notify_fd = std::move(options.notify_fd);
  UniqueFd lock = std::move(options.lock);  // destroyed last
  int keeper = options.keeper.get();  // the device owns it
  const std::string zone = options.config.name;
  const Paths& paths = options.paths;
  auto fail = [&](const std::string& message) {
    report((options.running ? "cannot take over: " : "boot failed: ") + message);
    notify(notify_fd, "error " + message);
    if (keeper >= 0) (void)send_fds(keeper, {}, keeper::encode(keeper::Down{}));
    return 1;
  };
  auto logs = open_console_logs(paths.zone_log(zone), paths.zone_audit_log(zone));
  if (!logs) return fail(logs.error().message());
  auto ring = RingBuffer::map(options.ring.get());
  if (!ring) return fail(ring.error().message());

  asio::io_context io;
  ConsoleServer server(io, zone, paths.consoledb, std::move(logs->log), std::move(logs->audit),
                       std::move(ring.value()));
  ZoneDevice device(server, options);
  auto started = server.start(device, paths.zone_socket(zone));
  if (started && options.keeper_started && !keeper_runs(std::move(options.keeper_started))) {
    return 1;  // the keeper could not start, and told `vcon boot` why: nothing booted, nothing to undo
  }
  if (started) {
    started = options.running
                  ? device.adopt(std::move(*options.running), options.taking_over, options.exited.has_value(),
                                 options.started_by_keeper)
                  : device.boot();
  }
  if (!started) return fail(started.error().message());
  notify(notify_fd, "ok\n");
  // What booting freed (and what `vcon boot` left in the heap we were
  // forked with) goes back to the system: an idle monitor is mostly this.
  // A moment later, off the path of the zone's first console output.
  asio::steady_timer trim(io, std::chrono::milliseconds(500));
  trim.async_wait([](std::error_code) { give_back_memory(); });
  device.watch_keeper();
  if (options.exited) device.init_ended_meanwhile(*options.exited);
  server.run();
  // The keeper cleans up after the last of us; without one, this monitor does.
  if (device.keeper_gone()) {
    RemoveOnExit cleanup({paths.zone_socket(zone), paths.zone_state(zone), paths.zone_lock(zone)},
                         paths.zone_run_dir(zone));
  }
  return 0;
}

}  // namespace vcon
