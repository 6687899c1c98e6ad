// Zone setup in ordered, named steps (crun's style). The child runs each step;
// the first failure is written to an error pipe as "step: reason" and the child
// exits. Success is the pipe closing on exec (it is O_CLOEXEC) with nothing
// written, so the parent knows init really started.
#include "zone/zone_setup.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "base/files.hpp"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

namespace vcon {

namespace {

const int kDroppedCapabilities[] = {
    CAP_SYS_MODULE,  CAP_SYS_RAWIO,  CAP_SYS_TIME,    CAP_MKNOD,         CAP_AUDIT_CONTROL,
    CAP_MAC_OVERRIDE, CAP_MAC_ADMIN, CAP_SYSLOG,      CAP_WAKE_ALARM,    CAP_BLOCK_SUSPEND,
};

// What the child works with; lives in the child's copy of memory only.
struct SetupContext {
  const ZoneConfig& config;
  int fd_socket;  // the monitor's end receives master and slave over this
  UniqueFd master;
  UniqueFd slave;
  std::string at(const char* relative) const { return config.rootfs + relative; }
};

Result<void> check(int rc, std::string what) {
  if (rc != 0) return errno_error(std::move(what));
  return {};
}

Result<void> close_inherited_fds(SetupContext&) {
  // Nothing the monitor had open may reach init, whoever forgot O_CLOEXEC.
  return check(static_cast<int>(::syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC)),
               "mark inherited fds close-on-exec");
}

Result<void> reset_signals(SetupContext&) {
  // The monitor's handlers and mask must not leak into init.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
  return {};
}

Result<void> make_mounts_private(SetupContext&) {
  return check(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "make / private");
}

Result<void> bind_rootfs(SetupContext& ctx) {
  const std::string& rootfs = ctx.config.rootfs;
  if (!is_directory(rootfs)) return make_error("rootfs " + rootfs + " is not a directory");
  return check(::mount(rootfs.c_str(), rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr),
               "bind-mount rootfs " + rootfs);
}

Result<void> ensure_directory(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return errno_error("create " + path);
  return {};
}

Result<void> mount_proc(SetupContext& ctx) {
  std::string target = ctx.at("/proc");
  VCON_TRY(ensure_directory(target));
  return check(::mount("proc", target.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr),
               "mount proc on " + target);
}

Result<void> mount_sys(SetupContext& ctx) {
  std::string target = ctx.at("/sys");
  VCON_TRY(ensure_directory(target));
  return check(::mount("sysfs", target.c_str(), "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr),
               "mount read-only sysfs on " + target);
}

Result<void> mount_dev(SetupContext& ctx) {
  std::string dev = ctx.at("/dev");
  VCON_TRY(ensure_directory(dev));
  VCON_TRY(check(::mount("tmpfs", dev.c_str(), "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=1024k"),
                 "mount tmpfs on " + dev));
  struct Node {
    const char* name;
    unsigned major, minor;
  };
  for (Node node : {Node{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9},
                    {"tty", 5, 0}}) {
    std::string path = dev + "/" + node.name;
    VCON_TRY(check(::mknod(path.c_str(), S_IFCHR | 0666, makedev(node.major, node.minor)), "mknod " + path));
    VCON_TRY(check(::chmod(path.c_str(), 0666), "chmod " + path));  // undo the umask
  }
  struct Link {
    const char* name;
    const char* target;
  };
  for (Link link : {Link{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
                    {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"}}) {
    std::string path = dev + "/" + link.name;
    VCON_TRY(check(::symlink(link.target, path.c_str()), "symlink " + path));
  }
  VCON_TRY(check(::mkdir((dev + "/pts").c_str(), 0755), "create " + dev + "/pts"));
  VCON_TRY(check(::mkdir((dev + "/shm").c_str(), 01777), "create " + dev + "/shm"));
  return check(::chmod((dev + "/shm").c_str(), 01777), "chmod " + dev + "/shm");
}

Result<void> mount_devpts(SetupContext& ctx) {
  std::string target = ctx.at("/dev/pts");
  return check(::mount("devpts", target.c_str(), "devpts", MS_NOSUID | MS_NOEXEC,
                       "newinstance,ptmxmode=0666,mode=0620,gid=5"),
               "mount a new devpts instance on " + target);
}

Result<void> create_console(SetupContext& ctx) {
  // The pty comes from the zone's own devpts, so the zone's /dev/pts lists it
  // and ttyname() works inside; TIOCGPTPEER avoids a path lookup for the slave.
  std::string ptmx = ctx.at("/dev/pts/ptmx");
  ctx.master.reset(::open(ptmx.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!ctx.master) return errno_error("open " + ptmx);
  int unlock = 0;
  VCON_TRY(check(::ioctl(ctx.master.get(), TIOCSPTLCK, &unlock), "unlock console pty"));
  ctx.slave.reset(::ioctl(ctx.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!ctx.slave) return errno_error("open console pty slave");
  winsize size{24, 80, 0, 0};
  ::ioctl(ctx.master.get(), TIOCSWINSZ, &size);
  std::string console = ctx.at("/dev/console");
  UniqueFd mountpoint(::open(console.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!mountpoint) return errno_error("create " + console);
  std::string source = "/proc/self/fd/" + std::to_string(ctx.slave.get());
  VCON_TRY(check(::mount(source.c_str(), console.c_str(), nullptr, MS_BIND, nullptr),
                 "bind-mount console pty on " + console));
  return send_fds(ctx.fd_socket, {ctx.master.get(), ctx.slave.get()});
}

Result<void> set_hostname(SetupContext& ctx) {
  const std::string& name = ctx.config.hostname;
  return check(::sethostname(name.data(), name.size()), "set hostname " + name);
}

Result<void> bring_up_loopback(SetupContext& ctx) {
  if (ctx.config.net != NetMode::None) return {};
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return errno_error("open socket for lo");
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  VCON_TRY(check(::ioctl(sock.get(), SIOCGIFFLAGS, &request), "read flags of lo"));
  request.ifr_flags |= IFF_UP | IFF_RUNNING;
  return check(::ioctl(sock.get(), SIOCSIFFLAGS, &request), "bring up lo");
}

Result<void> enter_rootfs(SetupContext& ctx) {
  // pivot_root(".", ".") stacks the old root on top of the new one; detaching
  // it leaves the zone with no path back to the host's file system.
  VCON_TRY(check(::chdir(ctx.config.rootfs.c_str()), "chdir " + ctx.config.rootfs));
  VCON_TRY(check(static_cast<int>(::syscall(SYS_pivot_root, ".", ".")), "pivot_root " + ctx.config.rootfs));
  VCON_TRY(check(::umount2(".", MNT_DETACH), "detach the host's root"));
  return check(::chdir("/"), "chdir /");
}

Result<void> drop_capabilities(SetupContext&) {
  for (int cap : kDroppedCapabilities) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      return errno_error("drop capability " + std::to_string(cap));
    }
  }
  return {};
}

Result<void> attach_console(SetupContext& ctx) {
  VCON_TRY(check(::setsid() < 0 ? -1 : 0, "setsid"));
  VCON_TRY(check(::ioctl(ctx.slave.get(), TIOCSCTTY, 0), "make the console init's controlling terminal"));
  for (int fd = 0; fd <= 2; ++fd) {
    if (::dup2(ctx.slave.get(), fd) < 0) return errno_error("dup console to fd " + std::to_string(fd));
  }
  return {};
}

Result<void> exec_init(SetupContext& ctx) {
  std::vector<char*> argv;
  for (const auto& arg : ctx.config.init) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::string hostname = "HOSTNAME=" + ctx.config.hostname;
  char* envp[] = {const_cast<char*>("PATH=/bin:/sbin:/usr/bin:/usr/sbin"), const_cast<char*>("TERM=linux"),
                  const_cast<char*>("HOME=/root"), const_cast<char*>("container=vcon"), hostname.data(), nullptr};
  ::execve(argv[0], argv.data(), envp);
  if (errno == ENOENT) {
    return make_error("rootfs " + ctx.config.rootfs + " has no " + ctx.config.init[0] +
                      " (give another init after '--' in vcon create)");
  }
  return errno_error("exec " + ctx.config.init[0] + " in rootfs " + ctx.config.rootfs);
}

struct SetupStep {
  const char* name;
  Result<void> (*run)(SetupContext&);
};

const SetupStep kSteps[] = {
    {"inherited fds", close_inherited_fds},
    {"reset signals", reset_signals},
    {"private mounts", make_mounts_private},
    {"root file system", bind_rootfs},
    {"proc", mount_proc},
    {"sys", mount_sys},
    {"dev", mount_dev},
    {"devpts", mount_devpts},
    {"console", create_console},
    {"hostname", set_hostname},
    {"loopback", bring_up_loopback},
    {"pivot_root", enter_rootfs},
    {"capabilities", drop_capabilities},
    {"console as stdio", attach_console},
    {"exec init", exec_init},
};

[[noreturn]] void run_child(const ZoneConfig& config, int fd_socket, int error_pipe) {
  SetupContext ctx{config, fd_socket, {}, {}};
  for (const SetupStep& step : kSteps) {
    auto result = step.run(ctx);
    if (!result) {
      std::string report = std::string(step.name) + ": " + result.error().message();
      [[maybe_unused]] auto n = ::write(error_pipe, report.data(), report.size());
      ::_exit(127);
    }
  }
  ::_exit(127);  // exec_init returns only on failure
}

Result<pid_t> clone_zone(std::uint64_t flags, int& pidfd) {
  clone_args args{};
  args.flags = flags | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<std::uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) return errno_error("clone3 with new namespaces");
  return static_cast<pid_t>(pid);
}

}  // namespace

const int* dropped_capabilities(std::size_t& count) {
  count = std::size(kDroppedCapabilities);
  return kDroppedCapabilities;
}

Result<LaunchedZone> launch_zone(const ZoneConfig& config) {
  int sockets[2], pipe_fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sockets) != 0) return errno_error("socketpair");
  UniqueFd parent_socket(sockets[0]), child_socket(sockets[1]);
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return errno_error("pipe");
  UniqueFd error_read(pipe_fds[0]), error_write(pipe_fds[1]);

  std::uint64_t flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
  if (config.net == NetMode::None) flags |= CLONE_NEWNET;
  int pidfd = -1;
  auto pid = clone_zone(flags, pidfd);
  if (!pid) return pid.error();
  if (pid.value() == 0) run_child(config, child_socket.get(), error_write.get());

  LaunchedZone zone;
  zone.init_pid = pid.value();
  zone.init_pidfd.reset(pidfd);
  child_socket.reset();
  error_write.reset();

  auto fds = receive_fds(parent_socket.get(), 2);  // fails if the child died first
  std::string report;
  (void)read_to_end(error_read.get(), report);  // EOF on exec: empty means init runs
  if (!report.empty() || !fds) {
    int status;
    while (::waitpid(zone.init_pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (report.empty()) report = fds.error().message();
    return make_error(report);
  }
  zone.console_master = std::move(fds.value()[0]);
  zone.console_slave = std::move(fds.value()[1]);
  return zone;
}

}  // namespace vcon
