// Zone exec. Three processes: this one (vcon exec, on the host: it holds the
// caller's terminal and relays), a helper that joins the zone's cgroup and
// namespaces and becomes the zone's root, and the command, forked by the
// helper so that it lands in the zone's PID namespace.
#include "zone/zone_exec.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/keyctl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "base/files.hpp"
#include "base/terminal.hpp"
#include "base/unique_fd.hpp"
#include "zone/exec_relay.hpp"
#include "zone/seccomp_filter.hpp"
#include "zone/zone_setup.hpp"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

namespace vcon {

namespace {


// The helper's way in: user namespace first (then it has the capabilities to
// enter the others), the mount namespace last (the other paths are opened
// before it changes), then the zone's root. The user namespace is the one
// that owns init's PID namespace (vcon's): init may have moved into one
// nested below it, which would leave the helper without the capabilities
// to enter the rest. All of it from a process proven to be the zone's init
// (its cgroup, then its pidfd still alive after the opens): the PID in the
// state file may be stale, and reused by another process.
Result<void> enter_zone(const ExecTarget& target) {
  std::string proc = "/proc/" + std::to_string(target.init_pid);
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, target.init_pid, 0)));
  if (!pidfd || !target.cgroup.holds(target.init_pid)) {
    return make_error("zone " + target.config.name + " is between boots; try again");
  }
  UniqueFd root(::open((proc + "/root").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return errno_error("open " + proc + "/root");
  const char* names[] = {"user", "cgroup", "ipc", "uts", "net", "pid", "mnt"};
  std::array<UniqueFd, std::size(names)> namespaces;
  for (std::size_t i = 1; i < namespaces.size(); ++i) {
    namespaces[i].reset(::open((proc + "/ns/" + names[i]).c_str(), O_RDONLY | O_CLOEXEC));
    if (!namespaces[i]) return errno_error(std::string("open ") + proc + "/ns/" + names[i]);
  }
  namespaces[0].reset(::ioctl(namespaces[5].get(), NS_GET_USERNS));
  if (!namespaces[0]) return errno_error("find the zone's user namespace");
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), 0, nullptr, 0) != 0) {
    return make_error("zone " + target.config.name + " is between boots; try again");
  }
  bool user_namespace = !names_file("/proc/self/ns/user", namespaces[0].get());
  if (user_namespace != !target.config.privileged) {
    return make_error("zone " + target.config.name + " runs " +
                      (user_namespace ? "with" : "without") + " a user namespace, unlike its definition; reboot it");
  }
  for (std::size_t i = 0; i < namespaces.size(); ++i) {
    // One the zone shares with the host (user for --privileged, net for
    // --net host) is ours already, and not ours to enter from its side.
    if (names_file("/proc/self/ns/" + std::string(names[i]), namespaces[i].get())) continue;
    if (::setns(namespaces[i].get(), 0) != 0) return errno_error(std::string("enter the zone's ") + names[i] + " namespace");
  }
  if (user_namespace && (::setgroups(0, nullptr) != 0 || ::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0)) {
    return errno_error("become the zone's root");
  }
  if (::fchdir(root.get()) != 0 || ::chroot(".") != 0 || ::chdir("/") != 0) return errno_error("enter the zone's root");
  return {};
}

// The zone's own pty, from its /dev/ptmx: the zone may have put anything
// there, so open without blocking and check it is a pty master.
Result<std::pair<UniqueFd, UniqueFd>> open_zone_pty() {
  UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!master) return errno_error("open the zone's /dev/ptmx");
  int number = 0, unlock = 0;
  if (::ioctl(master.get(), TIOCGPTN, &number) != 0) return make_error("the zone's /dev/ptmx is not a pty multiplexer");
  if (::ioctl(master.get(), TIOCSPTLCK, &unlock) != 0) return errno_error("unlock pty");
  UniqueFd slave(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) return errno_error("open pty slave");
  ::fcntl(master.get(), F_SETFL, ::fcntl(master.get(), F_GETFL) & ~O_NONBLOCK);
  return std::pair{std::move(master), std::move(slave)};
}

struct Stdio {
  bool terminal;                 // stdin is a terminal: a zone pty for all three
  std::array<UniqueFd, 3> pipes;  // otherwise the command's ends of three pipes
};

[[noreturn]] void run_command(const std::vector<std::string>& argv, const Stdio& stdio, int slave, int error_pipe) {
  // A session of its own in any case: the caller's session has the
  // caller's terminal as its controlling tty (/dev/tty would reach it).
  ::setsid();
  if (stdio.terminal) {
    ::ioctl(slave, TIOCSCTTY, 0);
    for (int fd = 0; fd <= 2; ++fd) ::dup2(slave, fd);
  } else {
    for (int fd = 0; fd <= 2; ++fd) ::dup2(stdio.pipes[fd].get(), fd);
  }
  // Only 0-2 reach the command (the error pipe closes on exec).
  ::syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
  ::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, nullptr);
  std::size_t count;
  const int* caps = dropped_capabilities(count);
  for (std::size_t i = 0; i < count; ++i) ::prctl(PR_CAPBSET_DROP, caps[i], 0, 0, 0);
  for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  const char* term = std::getenv("TERM");
  std::string term_value = term ? term : "linux";
  ::clearenv();
  ::setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin", 1);
  ::setenv("HOME", "/root", 1);
  ::setenv("TERM", term_value.c_str(), 1);
  ::setenv("container", "vcon", 1);
  set_zone_file_soft_limit();
  int error = 0;
  if (auto filtered = load_zone_seccomp_filter(); !filtered) {
    error = filtered.error().errno_value ? filtered.error().errno_value : EPERM;
  } else {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    error = errno;
  }
  [[maybe_unused]] auto n = ::write(error_pipe, &error, sizeof error);
  ::_exit(127);
}

// Closes every fd but those listed (-1s ignored).
void keep_only(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  int next = 0;
  for (int fd : keep) {
    if (fd < next) continue;
    if (fd > next) ::syscall(SYS_close_range, next, fd - 1, 0);
    next = fd + 1;
  }
  ::syscall(SYS_close_range, next, ~0U, 0);
}

// The helper: joins the zone, reports the command's PID (and the pty master)
// over `socket`, waits for the command and exits with its status.
[[noreturn]] void run_helper(const ExecTarget& target, const std::vector<std::string>& argv, const Stdio& stdio,
                             int socket, int error_pipe) {
  // Until the command runs, nothing of the zone may inspect us (/proc/PID/exe
  // is the host's vcon binary).
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  auto fail = [&](const Error& error) {
    std::string text = error.message();
    [[maybe_unused]] auto n = ::send(socket, text.data(), text.size(), MSG_NOSIGNAL);
    ::_exit(126);
  };
  // Nothing of the caller's but what the command gets: no fd of the
  // caller's stays open in the zone, not even while the command's path is
  // looked up (/proc/self/fd/7 as a zone's symlink target).
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);  // the host's, before we enter the zone
  for (int fd = 0; fd <= 2; ++fd) ::dup2(null, fd);
  keep_only({0, 1, 2, socket, error_pipe, stdio.pipes[0].get(), stdio.pipes[1].get(), stdio.pipes[2].get()});
  if (auto joined = target.cgroup.add_beside_init(::getpid(), target.init_pid); !joined) fail(joined.error());
  raise_file_limit_for_zone();  // while still the host's root
  if (auto entered = enter_zone(target); !entered) fail(entered.error());
  UniqueFd master, slave;
  if (stdio.terminal) {
    auto pty = open_zone_pty();
    if (!pty) fail(pty.error());
    master = std::move(pty->first);
    slave = std::move(pty->second);
  }
  pid_t command = ::fork();
  if (command < 0) fail(errno_error("fork into the zone"));
  if (command == 0) run_command(argv, stdio, slave.get(), error_pipe);
  ::close(error_pipe);  // vcon exec reads it to its end: the command's exec
  std::string pid = "pid " + std::to_string(command);
  std::vector<int> fds;
  if (master) fds.push_back(master.get());
  (void)send_fds(socket, fds, pid);
  master.reset();
  slave.reset();
  int status;
  while (::waitpid(command, &status, 0) < 0 && errno == EINTR) {
  }
  ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

// What the helper says: "pid N" (with the pty master, with a terminal), or
// why it could not join the zone.
Result<std::pair<pid_t, UniqueFd>> hear_from_helper(int socket, bool terminal) {
  auto message = receive_message(socket, 1);
  if (!message) return message.error();
  const std::string& said = message->text;
  if (said.rfind("pid ", 0) != 0 || message->fds.size() != (terminal ? 1u : 0u)) {
    return make_error(said.empty() ? std::string("the helper died before entering the zone") : said);
  }
  UniqueFd master;
  if (terminal) master = std::move(message->fds[0]);
  return std::pair{static_cast<pid_t>(std::atoi(said.c_str() + 4)), std::move(master)};
}

}  // namespace

Result<int> exec_in_zone(const ExecTarget& target, const std::vector<std::string>& argv) {
  if (argv.empty()) return make_error("vcon exec: no command given");
  ::signal(SIGPIPE, SIG_IGN);  // a command that closes its stdin early is no reason to die
  const std::string& zone = target.config.name;
  Stdio stdio{static_cast<bool>(::isatty(0)), {}};
  // Without a terminal, the command's stdin, stdout and stderr are pipes we
  // relay: it never holds one of the caller's fds (a file it could reopen
  // through /proc/self/fd, or keep writing to after we return).
  std::array<UniqueFd, 3> ours;
  if (!stdio.terminal) {
    for (int fd = 0; fd <= 2; ++fd) {
      int p[2];
      if (::pipe2(p, O_CLOEXEC) != 0) return errno_error("pipe");
      ours[fd].reset(p[fd == 0 ? 1 : 0]);
      stdio.pipes[fd].reset(p[fd == 0 ? 0 : 1]);
    }
  }
  int sockets[2], error_pipe[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sockets) != 0) return errno_error("socketpair");
  UniqueFd socket(sockets[0]), helper_socket(sockets[1]);
  if (::pipe2(error_pipe, O_CLOEXEC) != 0) return errno_error("pipe");
  UniqueFd error_read(error_pipe[0]), error_write(error_pipe[1]);

  sigset_t handled;
  sigemptyset(&handled);
  for (int sig : {SIGCHLD, SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT}) sigaddset(&handled, sig);
  sigprocmask(SIG_BLOCK, &handled, nullptr);  // the helper keeps them blocked: it lives as long as the command
  UniqueFd signals(::signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signals) return errno_error("signalfd");

  pid_t helper = ::fork();
  if (helper < 0) return errno_error("fork");
  if (helper == 0) {
    socket.reset();
    error_read.reset();
    signals.reset();
    for (auto& fd : ours) fd.reset();
    run_helper(target, argv, stdio, helper_socket.get(), error_write.get());
  }
  helper_socket.reset();
  error_write.reset();
  for (auto& fd : stdio.pipes) fd.reset();
  auto reap_helper = [&] {
    int status;
    while (::waitpid(helper, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
  };

  auto heard = hear_from_helper(socket.get(), stdio.terminal);
  if (!heard) {
    reap_helper();
    return make_error("cannot enter zone " + zone + ": " + heard.error().message());
  }
  pid_t command = heard->first;
  // The helper reaps the command: its PID may be reused before we hear
  // that. Signals go through a pidfd taken now, while it is ours to wait for.
  UniqueFd command_fd(static_cast<int>(::syscall(SYS_pidfd_open, command, 0)));
  UniqueFd master = std::move(heard->second);
  if (master) {
    winsize size;
    if (::ioctl(0, TIOCGWINSZ, &size) == 0) ::ioctl(master.get(), TIOCSWINSZ, &size);
  }
  int exec_errno = 0;
  if (::read(error_read.get(), &exec_errno, sizeof exec_errno) == sizeof exec_errno) {
    reap_helper();
    errno = exec_errno;
    Error error = errno_error("cannot run '" + argv[0] + "' in zone " + zone);
    error.exit_code = exec_errno == ENOENT ? 127 : 126;  // as sh and docker exec do
    return error;
  }

  std::optional<RawTerminal> raw;
  ExecRelay relay;
  if (stdio.terminal) {
    auto entered = RawTerminal::enter(0);
    if (entered) raw.emplace(std::move(entered.value()));
    int master_fd = master.get();
    relay.add(0, master_fd, UniqueFd(::dup(master_fd)));
    relay.add(master_fd, 1);
  } else {
    int stdin_pipe = ours[0].get();
    relay.add(0, stdin_pipe, std::move(ours[0]));
    relay.add(ours[1].get(), 1);
    relay.add(ours[2].get(), 2);
  }

  std::optional<int> status;
  while (!status) {
    auto signalled = relay.step(signals.get());
    if (!signalled) return signalled.error();
    if (signalled.value()) {
      signalfd_siginfo info;
      while (::read(signals.get(), &info, sizeof info) == sizeof info) {
        int sig = static_cast<int>(info.ssi_signo);
        if (sig == SIGWINCH && master) {
          winsize size;
          if (::ioctl(0, TIOCGWINSZ, &size) == 0) ::ioctl(master.get(), TIOCSWINSZ, &size);
        } else if (sig != SIGCHLD && sig != SIGWINCH && command_fd) {
          ::syscall(SYS_pidfd_send_signal, command_fd.get(), sig, nullptr, 0);
        }
      }
    }
    int wait_status;
    if (::waitpid(helper, &wait_status, WNOHANG) == helper) status = wait_status;
  }
  relay.drain();  // the command is gone: pass on what it wrote last, then stop
  return exit_code(*status);
}

}  // namespace vcon
