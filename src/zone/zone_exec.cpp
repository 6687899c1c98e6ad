// Zone exec: setns into every namespace, chroot to the zone's root, fork (the
// child lands in the zone's PID namespace), then relay through a pty or pipes.
#include "zone/zone_exec.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <optional>

#include "base/files.hpp"
#include "base/terminal.hpp"
#include "base/unique_fd.hpp"
#include "zone/zone_setup.hpp"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

namespace vcon {

namespace {

Result<void> enter_zone(pid_t init_pid) {
  std::string proc = "/proc/" + std::to_string(init_pid);
  UniqueFd root(::open((proc + "/root").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return errno_error("open " + proc + "/root");
  // The mount namespace last: the other paths are opened before it changes.
  std::array<UniqueFd, 5> namespaces;
  const char* names[] = {"ipc", "uts", "net", "pid", "mnt"};
  for (std::size_t i = 0; i < namespaces.size(); ++i) {
    namespaces[i].reset(::open((proc + "/ns/" + names[i]).c_str(), O_RDONLY | O_CLOEXEC));
    if (!namespaces[i]) return errno_error(std::string("open ") + proc + "/ns/" + names[i]);
  }
  for (std::size_t i = 0; i < namespaces.size(); ++i) {
    if (::setns(namespaces[i].get(), 0) != 0) return errno_error(std::string("enter the zone's ") + names[i] + " namespace");
  }
  if (::fchdir(root.get()) != 0 || ::chroot(".") != 0 || ::chdir("/") != 0) return errno_error("enter the zone's root");
  return {};
}

[[noreturn]] void run_command(const std::vector<std::string>& argv, int error_pipe) {
  std::size_t count;
  const int* caps = dropped_capabilities(count);
  for (std::size_t i = 0; i < count; ++i) ::prctl(PR_CAPBSET_DROP, caps[i], 0, 0, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  const char* term = std::getenv("TERM");
  ::clearenv();
  ::setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin", 1);
  ::setenv("HOME", "/root", 1);
  ::setenv("TERM", term ? term : "linux", 1);
  ::setenv("container", "vcon", 1);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  int error = errno;
  [[maybe_unused]] auto n = ::write(error_pipe, &error, sizeof error);
  ::_exit(127);
}

struct Relay {
  int from;
  int to;
  bool open = true;
};

// Copies whatever is readable; false at end of input.
bool pump(Relay& relay) {
  char buf[16384];
  ssize_t n = ::read(relay.from, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;  // EOF, or EIO from a pty master whose slave is gone
  return write_all(relay.to, std::string_view(buf, static_cast<std::size_t>(n))).ok();
}

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

}  // namespace

Result<int> exec_in_zone(const std::string& zone, pid_t init_pid, const std::vector<std::string>& argv) {
  if (argv.empty()) return make_error("vcon exec: no command given");
  VCON_TRY(enter_zone(init_pid));

  bool terminal = ::isatty(0);
  UniqueFd master, slave;
  if (terminal) {
    master.reset(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));  // the zone's devpts
    if (!master) return errno_error("open the zone's /dev/ptmx");
    int unlock = 0;
    if (::ioctl(master.get(), TIOCSPTLCK, &unlock) != 0) return errno_error("unlock pty");
    slave.reset(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) return errno_error("open pty slave");
    winsize size;
    if (::ioctl(0, TIOCGWINSZ, &size) == 0) ::ioctl(master.get(), TIOCSWINSZ, &size);
  }
  // Without a terminal on stdin, stdout and stderr pass straight through,
  // unless they are terminals: those go through pipes so zone code never
  // holds one of the caller's ttys.
  std::array<UniqueFd, 3> pipe_read, pipe_write;
  if (!terminal) {
    for (int fd = 1; fd <= 2; ++fd) {
      if (!::isatty(fd)) continue;
      int p[2];
      if (::pipe2(p, O_CLOEXEC) != 0) return errno_error("pipe");
      pipe_read[fd].reset(p[0]);
      pipe_write[fd].reset(p[1]);
    }
  }

  sigset_t handled;
  sigemptyset(&handled);
  for (int sig : {SIGCHLD, SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT}) sigaddset(&handled, sig);
  sigprocmask(SIG_BLOCK, &handled, nullptr);
  UniqueFd signals(::signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signals) return errno_error("signalfd");

  int error_pipe[2];
  if (::pipe2(error_pipe, O_CLOEXEC) != 0) return errno_error("pipe");
  UniqueFd error_read(error_pipe[0]), error_write(error_pipe[1]);

  pid_t child = ::fork();
  if (child < 0) return errno_error("fork into the zone");
  if (child == 0) {
    if (terminal) {
      ::setsid();
      ::ioctl(slave.get(), TIOCSCTTY, 0);
      for (int fd = 0; fd <= 2; ++fd) ::dup2(slave.get(), fd);
    } else {
      for (int fd = 1; fd <= 2; ++fd) {
        if (pipe_write[fd]) ::dup2(pipe_write[fd].get(), fd);
      }
    }
    run_command(argv, error_write.get());
  }
  error_write.reset();
  slave.reset();
  for (auto& fd : pipe_write) fd.reset();

  int exec_errno = 0;
  if (::read(error_read.get(), &exec_errno, sizeof exec_errno) == sizeof exec_errno) {
    int status;
    ::waitpid(child, &status, 0);
    errno = exec_errno;
    Error error = errno_error("cannot run '" + argv[0] + "' in zone " + zone);
    error.exit_code = exec_errno == ENOENT ? 127 : 126;  // as sh and docker exec do
    return error;
  }

  std::optional<RawTerminal> raw;
  std::vector<Relay> relays;
  if (terminal) {
    auto entered = RawTerminal::enter(0);
    if (entered) raw.emplace(std::move(entered.value()));
    relays.push_back({0, master.get()});
    relays.push_back({master.get(), 1});
  } else {
    for (int fd = 1; fd <= 2; ++fd) {
      if (pipe_read[fd]) relays.push_back({pipe_read[fd].get(), fd});
    }
  }

  std::optional<int> status;
  while (!status) {
    std::vector<pollfd> fds{{signals.get(), POLLIN, 0}};
    for (auto& relay : relays) fds.push_back({relay.open ? relay.from : -1, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return errno_error("poll");
    for (std::size_t i = 0; i < relays.size(); ++i) {
      if (fds[i + 1].revents && !pump(relays[i])) relays[i].open = false;
    }
    if (!(fds[0].revents & POLLIN)) continue;
    signalfd_siginfo info;
    while (::read(signals.get(), &info, sizeof info) == sizeof info) {
      int sig = static_cast<int>(info.ssi_signo);
      if (sig == SIGWINCH && terminal) {
        winsize size;
        if (::ioctl(0, TIOCGWINSZ, &size) == 0) ::ioctl(master.get(), TIOCSWINSZ, &size);
      } else if (sig != SIGCHLD && sig != SIGWINCH) {
        ::kill(child, sig);
      }
    }
    int wait_status;
    if (::waitpid(child, &wait_status, WNOHANG) == child) status = wait_status;
  }
  // The command is gone: pass on what it wrote last, then stop.
  for (auto& relay : relays) {
    if (relay.from == 0 || !relay.open) continue;
    ::fcntl(relay.from, F_SETFL, ::fcntl(relay.from, F_GETFL) | O_NONBLOCK);
    pollfd p{relay.from, POLLIN, 0};
    while (::poll(&p, 1, 0) > 0 && (p.revents & POLLIN) && pump(relay)) {
    }
  }
  return exit_code(*status);
}

}  // namespace vcon
