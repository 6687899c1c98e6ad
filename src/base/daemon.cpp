// become_daemon() implementation.
#include "base/daemon.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>

#include <fmt/core.h>

#include "base/files.hpp"
#include "base/unique_fd.hpp"

namespace vcon {

Result<bool> become_daemon(const std::string& what, const std::string& log_path) {
  VCON_TRY(make_directories(log_path.substr(0, log_path.rfind('/')), 0755));
  UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!log) return errno_error("open " + log_path);
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork into the background");
  if (pid > 0) {
    fmt::print("{}, served by PID {} (log: {})\n", what, pid, log_path);
    return false;
  }
  ::setsid();
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  ::dup2(null.get(), 0);
  ::dup2(log.get(), 1);
  ::dup2(log.get(), 2);
  return true;
}

void hold_stop_signals(bool hold) {
  sigset_t stops;
  sigemptyset(&stops);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&stops, sig);
  ::sigprocmask(hold ? SIG_BLOCK : SIG_UNBLOCK, &stops, nullptr);
}

}  // namespace vcon
