// The keeper's loop: poll on its signals and its monitor's channel; reap
// children; start monitors. Deliberately not on Asio: a few fds, no clients.
#include "monitor/keeper.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <fmt/core.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>

#include "base/files.hpp"
#include "base/process_title.hpp"
#include "base/report.hpp"
#include "console/console_log.hpp"
#include "console/ring_buffer.hpp"
#include "monitor/keeper_channel.hpp"
#include "monitor/monitor.hpp"
#include "zone/zone_store.hpp"

namespace vcon {

namespace {

using Clock = std::chrono::steady_clock;

std::string describe_end(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  return fmt::format("was killed by {}", signal_name(WTERMSIG(status)));
}

// An fd the exec'd monitor inherits under the same number.
int inherit(int fd) {
  if (fd >= 0) ::fcntl(fd, F_SETFD, 0);
  return fd;
}

class Keeper {
 public:
  explicit Keeper(KeeperOptions options) : options_(std::move(options)) {}

  Result<void> start() {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);  // orphans of the zone's side end up here, not at PID 1
    sigset_t handled;
    sigemptyset(&handled);
    for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&handled, sig);
    ::sigprocmask(SIG_BLOCK, &handled, nullptr);
    signals_.reset(::signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!signals_) return errno_error("signalfd");
    auto ring = RingBuffer::create_memfd(options_.config.ring_size, options_.config.name);
    if (!ring) return ring.error();
    ring_ = std::move(ring.value());
    start_monitor(std::move(options_.notify_fd));
    // The keeper is a fork of `vcon boot`: whatever that freed goes back to
    // the system rather than staying in every idle zone (bench/fleet).
    ::malloc_trim(0);
    return {};
  }

  void run() {
    while (!done_) {
      pollfd fds[2] = {{signals_.get(), POLLIN, 0}, {channel_ ? channel_.get() : -1, POLLIN, 0}};
      int timeout = -1;
      if (restart_at_) {
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(*restart_at_ - Clock::now()).count();
        timeout = static_cast<int>(std::max<long long>(wait, 0));
      }
      if (::poll(fds, 2, timeout) < 0 && errno != EINTR) break;
      if (fds[1].revents) hear_monitor();
      if (fds[0].revents & POLLIN) handle_signals();
      if (restart_at_ && Clock::now() >= *restart_at_ && monitor_ < 0 && !done_) {
        restart_at_.reset();
        start_monitor({});
      }
    }
  }

 private:
  // What the keeper holds of a running zone.
  struct Held {
    pid_t init_pid;
    UniqueFd master, slave;
    double booted_at;
    int boots;
  };

  void hear_monitor() {
    for (;;) {
      auto message = receive_message(channel_.get(), 2);
      if (!message) {
        if (message.error().errno_value == EAGAIN) return;
        channel_.reset();
        return;
      }
      if (message->text.empty()) {  // the monitor is gone (its exit follows as SIGCHLD)
        channel_.reset();
        return;
      }
      auto decoded = keeper::decode(message->text);
      if (!decoded) continue;
      if (auto* console = std::get_if<keeper::Console>(&*decoded); console && message->fds.size() == 2) {
        held_.emplace(Held{console->init_pid, std::move(message->fds[0]), std::move(message->fds[1]),
                           console->booted_at, console->boots});
        exited_.reset();
      } else if (std::holds_alternative<keeper::Down>(*decoded)) {
        down_ = true;
        held_.reset();
        exited_.reset();
      } else if (auto* upgrade = std::get_if<keeper::Upgrade>(&*decoded)) {
        upgrade_ = upgrade->binary;
      }
    }
  }

  void handle_signals() {
    signalfd_siginfo info;
    while (::read(signals_.get(), &info, sizeof info) == sizeof info) {
      int sig = static_cast<int>(info.ssi_signo);
      if (sig == SIGCHLD) {
        reap();
      } else if (monitor_ > 0) {
        ::kill(monitor_, sig);  // a stop (SIGTERM: halt the zone) or SIGHUP is the monitor's to handle
      } else if (sig != SIGHUP && held_) {
        ::kill(held_->init_pid, SIGKILL);  // no monitor to halt it gracefully
      }
    }
  }

  void reap() {
    int status;
    for (pid_t pid; (pid = ::waitpid(-1, &status, WNOHANG)) > 0;) {
      if (pid == monitor_) {
        monitor_ = -1;
        monitor_ended(status);
      } else if (held_ && pid == held_->init_pid) {
        // The monitor decides what comes next (halt: it says down; reboot:
        // it sends the new console). Until it has, this stays, for a
        // monitor that might take over meanwhile.
        exited_ = status;
        if (channel_) (void)send_fds(channel_.get(), {}, keeper::encode(keeper::Exited{pid, status}));
      }
    }
  }

  void monitor_ended(int status) {
    channel_.reset();
    if (down_ || !held_) {  // the zone is down (or never came up): nothing left to keep
      done_ = true;
      return;
    }
    bool upgrading = !upgrade_.empty();
    std::string what = upgrading ? fmt::format("monitor PID {} handed over to {}", last_monitor_, upgrade_)
                                 : fmt::format("monitor PID {} {}", last_monitor_, describe_end(status));
    reason_ = what;
    log_event(fmt::format("{}; keeper PID {} starts another", what, ::getpid()));
    report(what);
    // One that keeps dying waits longer each time (to 5 s), not in a tight loop.
    auto lived = Clock::now() - started_at_;
    if (upgrading || lived > std::chrono::seconds(10)) backoff_ = std::chrono::milliseconds(0);
    else backoff_ = std::min<std::chrono::milliseconds>(std::max(backoff_ * 2, std::chrono::milliseconds(250)),
                                                         std::chrono::seconds(5));
    restart_at_ = Clock::now() + backoff_;
  }

  // A line in the console's log and audit log (the monitor that would
  // write it is gone).
  void log_event(const std::string& text) {
    for (const auto& path : {options_.paths.zone_log(options_.config.name),
                             options_.paths.zone_audit_log(options_.config.name)}) {
      auto log = ConsoleLog::open(path);
      if (log) log->event(text);
    }
  }

  void start_monitor(UniqueFd notify_fd) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
      report("cannot start a monitor: socketpair: " + std::string(strerror(errno)));
      restart_at_ = Clock::now() + std::chrono::seconds(1);
      return;
    }
    UniqueFd ours(pair[0]), theirs(pair[1]);
    std::string binary = std::move(upgrade_);
    upgrade_.clear();
    pid_t pid = ::fork();
    if (pid < 0) {
      report("cannot start a monitor: fork: " + std::string(strerror(errno)));
      restart_at_ = Clock::now() + std::chrono::seconds(1);
      return;
    }
    if (pid == 0) {
      ours.reset();
      signals_.reset();
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      if (!binary.empty()) exec_monitor(binary, theirs.get());  // returns only if exec failed
      set_process_title("vcon-monitor", {"vcon", "monitor", options_.config.name});
      ::_exit(run_monitor(monitor_options(std::move(theirs), std::move(notify_fd))));
    }
    monitor_ = last_monitor_ = pid;
    started_at_ = Clock::now();
    (void)set_nonblocking(ours.get());
    channel_ = std::move(ours);
    // held_ stays: the monitor has copies, and may die too.
  }

  MonitorOptions monitor_options(UniqueFd channel, UniqueFd notify_fd) {
    MonitorOptions options;
    options.paths = options_.paths;
    options.config = options_.config;
    options.cgroups = options_.cgroups;
    options.lock.reset(::dup(options_.lock.get()));
    options.keeper = std::move(channel);
    options.ring.reset(::dup(ring_.get()));
    options.notify_fd = std::move(notify_fd);
    if (held_) {  // copies: this runs in the monitor's process, after the fork
      options.running.emplace(RunningZone{held_->init_pid, UniqueFd(::dup(held_->master.get())),
                                          UniqueFd(::dup(held_->slave.get())), held_->booted_at, held_->boots});
    }
    options.exited = exited_;
    options.taking_over = reason_;
    return options;
  }

  [[noreturn]] void exec_monitor(const std::string& binary, int channel) {
    keeper::Handoff handoff;
    handoff.keeper = inherit(channel);
    handoff.lock = inherit(options_.lock.get());
    handoff.ring = inherit(ring_.get());
    if (held_) {
      handoff.master = inherit(held_->master.get());
      handoff.slave = inherit(held_->slave.get());
      handoff.init_pid = held_->init_pid;
      handoff.booted_at = held_->booted_at;
      handoff.boots = held_->boots;
    }
    handoff.exited = exited_;
    std::string text = keeper::format_handoff(handoff);
    std::string run_dir = "--run-dir=" + options_.paths.run_dir, state_dir = "--state-dir=" + options_.paths.state_dir,
                log_dir = "--log-dir=" + options_.paths.log_dir, consoledb = "--consoledb=" + options_.paths.consoledb;
    ::execl(binary.c_str(), binary.c_str(), state_dir.c_str(), run_dir.c_str(), log_dir.c_str(), consoledb.c_str(),
            "monitor", options_.config.name.c_str(), "--handoff", text.c_str(), "--reason", reason_.c_str(),
            static_cast<char*>(nullptr));
    // The new binary cannot run: this one carries on, rather than no monitor at all.
    reason_ += fmt::format(" (but {} could not be started: {}; the running version carries on)", binary,
                           strerror(errno));
    set_process_title("vcon-monitor", {"vcon", "monitor", options_.config.name});
    ::_exit(run_monitor(monitor_options(UniqueFd(channel), {})));
  }

  KeeperOptions options_;
  UniqueFd signals_;
  UniqueFd ring_;
  UniqueFd channel_;  // to the monitor of the moment
  pid_t monitor_ = -1, last_monitor_ = -1;
  Clock::time_point started_at_;
  std::optional<Clock::time_point> restart_at_;
  std::chrono::milliseconds backoff_{0};
  std::optional<Held> held_;
  std::optional<int> exited_;  // init's end, for the next monitor
  std::string upgrade_;        // the next monitor's binary
  std::string reason_;         // why the next monitor takes over
  bool down_ = false;
  bool done_ = false;
};

}  // namespace

int run_keeper(KeeperOptions options) {
  ::signal(SIGPIPE, SIG_IGN);
  const Paths paths = options.paths;
  const std::string zone = options.config.name;
  UniqueFd lock(::dup(options.lock.get()));  // released after the cleanup below
  {
    // Whatever happens next, leave no socket, state or lock file behind. The
    // lock file goes while we still hold its lock (take_lock_file copes with that).
    RemoveOnExit cleanup({paths.zone_socket(zone), paths.zone_state(zone), paths.zone_lock(zone)},
                         paths.zone_run_dir(zone));
    Keeper keeper(std::move(options));
    auto started = keeper.start();
    if (!started) {
      report("keeper: " + started.error().message());
      return 1;
    }
    keeper.run();
  }
  return 0;
}

Result<int> run_handed_over_monitor(const Paths& paths, const std::string& zone, const std::string& text,
                                    const std::string& reason) {
  auto handoff = keeper::parse_handoff(text);
  if (!handoff) return make_error("vcon monitor: a malformed --handoff (it is for a zone's keeper to give)");
  auto config = load_zone(paths, zone);
  if (!config) return config.error();
  auto layout = host_cgroup_layout();
  if (!layout) return layout.error();
  set_process_title("vcon-monitor", {"vcon", "monitor", zone});
  MonitorOptions options;
  options.paths = paths;
  options.config = std::move(config.value());
  options.cgroups = std::move(layout.value());
  options.lock.reset(handoff->lock);
  options.keeper.reset(handoff->keeper);
  options.ring.reset(handoff->ring);
  if (handoff->init_pid > 0) {
    options.running.emplace(RunningZone{handoff->init_pid, UniqueFd(handoff->master), UniqueFd(handoff->slave),
                                        handoff->booted_at, handoff->boots});
  }
  options.exited = handoff->exited;
  options.taking_over = reason;
  return run_monitor(std::move(options));
}

}  // namespace vcon
