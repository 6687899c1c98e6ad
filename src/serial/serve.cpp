// The serial line supervisor.
#include "serial/serve.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/core.h>

#include <asio.hpp>
#include <chrono>
#include <csignal>
#include <map>

#include "base/daemon.hpp"
#include "base/files.hpp"
#include "base/report.hpp"
#include "base/unique_fd.hpp"
#include "console/consoledb_file.hpp"
#include "serial/line_monitor.hpp"

namespace vcon {

namespace {

using namespace std::chrono_literals;

// What a line monitor was started with; a change is sent to it as SIGHUP.
std::string settings_of(const ConsoleEntry& entry) {
  return fmt::format("{} {} {} {} {} {}", entry.device, entry.speed, entry.cronly, entry.open_on_demand,
                     entry.log_size, entry.log_keep);
}

class Supervisor {
 public:
  Supervisor(asio::io_context& io, const Paths& paths)
      : io_(io), paths_(paths), consoledb_(paths.consoledb, report), timer_(io), signals_(io, SIGCHLD, SIGTERM, SIGINT) {}

  void start() {
    watch_signals();
    check();
  }

 private:
  struct Child {
    pid_t pid = 0;
    std::string settings;
  };

  // Twice a second: the consoledb's lines against the running monitors.
  void check() {
    const ConsoleDb& db = consoledb_.current();
    std::map<std::string, std::string> wanted;
    for (const auto& entry : db.consoles) {
      if (!entry.device.empty()) wanted[entry.name] = settings_of(entry);
    }
    for (auto& [name, child] : children_) {
      auto found = wanted.find(name);
      if (found == wanted.end()) {
        if (!child.settings.empty()) report(fmt::format("{}: removed from the consoledb, stopping its monitor", name));
        child.settings.clear();  // stopping
        ::kill(child.pid, SIGTERM);
      } else if (found->second != child.settings && !child.settings.empty()) {
        report(fmt::format("{}: settings changed, telling its monitor", name));
        child.settings = found->second;
        ::kill(child.pid, SIGHUP);
      }
    }
    for (const auto& [name, settings] : wanted) {
      if (!children_.count(name) && !stopping_) spawn(name, settings);
    }
    timer_.expires_after(500ms);
    timer_.async_wait([this](std::error_code ec) {
      if (!ec) check();
    });
  }

  void spawn(const std::string& name, const std::string& settings) {
    std::string log = paths_.line_monitor_log(name);
    if (auto made = make_directories(log.substr(0, log.rfind('/')), 0755); !made) {
      report(made.error().message());
      return;
    }
    pid_t pid = ::fork();
    if (pid < 0) {
      report(fmt::format("{}: cannot start its monitor: {}", name, std::strerror(errno)));
      return;
    }
    if (pid == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);  // dup2 keeps 1 and 2
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      hold_stop_signals(true);  // until the line monitor's loop can handle them
      for (auto [variable, value] : {std::pair{"VCON_STATE_DIR", &paths_.state_dir}, {"VCON_RUN_DIR", &paths_.run_dir},
                                     {"VCON_LOG_DIR", &paths_.log_dir}, {"VCON_CONSOLEDB", &paths_.consoledb},
                                     {"VCON_LOCK_DIR", &paths_.lock_dir}}) {
        ::setenv(variable, value->c_str(), 1);
      }
      ::execl("/proc/self/exe", "vcon", "monitor-line", name.c_str(), nullptr);
      ::_exit(127);
    }
    report(fmt::format("{}: monitor started, PID {}", name, pid));
    children_[name] = Child{pid, settings};
  }

  void watch_signals() {
    signals_.async_wait([this](std::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGCHLD) {
        reap();
        watch_signals();
        return;
      }
      report(fmt::format("got signal {}: stopping every line's monitor", sig));
      stopping_ = true;
      for (auto& [name, child] : children_) ::kill(child.pid, SIGTERM);
      if (children_.empty()) io_.stop();
      watch_signals();
    });
  }

  void reap() {
    for (;;) {
      int status;
      pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      for (auto it = children_.begin(); it != children_.end(); ++it) {
        if (it->second.pid != pid) continue;
        if (!it->second.settings.empty() && !stopping_) {
          report(fmt::format("{}: monitor PID {} ended ({}); starting it again", it->first, pid,
                             WIFEXITED(status) ? fmt::format("status {}", WEXITSTATUS(status))
                                               : fmt::format("signal {}", WTERMSIG(status))));
        }
        children_.erase(it);
        break;
      }
    }
    if (stopping_ && children_.empty()) io_.stop();
  }

  asio::io_context& io_;
  Paths paths_;
  ConsoleDbFile consoledb_;
  asio::steady_timer timer_;
  asio::signal_set signals_;
  std::map<std::string, Child> children_;
  bool stopping_ = false;
};

}  // namespace

Result<int> run_serve(const Paths& paths, const ServeOptions& options) {
  hold_stop_signals(true);
  if (auto made = make_directories(paths.lines_run_dir(), 0755); !made) {
    if (made.error().errno_value != EACCES && made.error().errno_value != EPERM) return made.error();
    // A user serving the lines they own: the default run directory is root's.
    return make_error(fmt::format("{}; as a user, serve from a run directory of your own, as in "
                                  "vcon --run-dir ~/.vcon serve (or VCON_RUN_DIR=~/.vcon), and give vcon console the "
                                  "same; the lock directory must be writable too (--lock-dir, now {})",
                                  made.error().message(), paths.lock_dir));
  }
  std::string lock_path = paths.lines_run_dir() + "/serve.lock";
  auto holder = read_regular_file(lock_path, 64);  // the PID the running one wrote
  auto lock = take_lock_file(lock_path, fmt::format("vcon serve already runs for {} (PID {}); stop it first",
                                                    paths.run_dir, holder ? *holder : std::string("?")));
  if (!lock) return lock.error();
  if (!options.foreground) {
    auto daemon = become_daemon("serial lines of " + paths.consoledb, paths.serve_log());
    if (!daemon) return daemon.error();
    if (!*daemon) return 0;
  }
  std::string pid = std::to_string(::getpid());
  ::ftruncate(lock->get(), 0);
  [[maybe_unused]] auto written = ::pwrite(lock->get(), pid.data(), pid.size(), 0);
  ::signal(SIGPIPE, SIG_IGN);
  asio::io_context io;
  Supervisor supervisor(io, paths);
  supervisor.start();
  hold_stop_signals(false);
  report(fmt::format("serving the serial lines of {} (PID {})", paths.consoledb, pid));
  io.run();
  report("every line's monitor has stopped");
  return 0;
}

Result<int> run_monitor_line(const Paths& paths, const std::string& console) {
  VCON_TRY(make_directories(paths.line_run_dir(console), 0755));
  auto lock = take_lock_file(paths.line_lock(console), "a monitor already serves line " + console);
  if (!lock) return lock.error();
  return run_line_monitor(LineMonitorOptions{paths, console, std::move(lock.value())});
}

}  // namespace vcon
