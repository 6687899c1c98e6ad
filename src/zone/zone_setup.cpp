// Zone setup in ordered, named steps (crun's style). The monitor clones the
// child into new namespaces, then runs its own steps (the user namespace's
// id maps, the cgroup, the root file system as an idmapped mount) and hands
// the child the root. The child runs its steps; the first failure on either
// side is reported as "step: reason" and the child dies. Success is the
// error pipe closing on exec (it is O_CLOEXEC) with nothing written, so the
// monitor knows init really started.
//
// Everything the child mounts inside the zone's tree is placed through file
// descriptors found with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS) from
// the zone's root: a rootfs whose /dev is a symlink to "/" is refused, not
// followed onto the host. Host things (/dev/null, /sys) are opened by fixed
// host paths before pivot_root and never through the zone's tree.
#include "zone/zone_setup.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/keyctl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "base/files.hpp"
#include "zone/seccomp_filter.hpp"
#include "zone/zone_root.hpp"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

namespace vcon {

namespace {

// Those of an unprivileged LXC container's drop list that still mean
// something, plus mknod (no device node is ever made in a zone). In a user
// namespace most of these are powerless on the host anyway; for a
// --privileged zone they are what stands between it and the kernel.
const int kDroppedCapabilities[] = {
    CAP_SYS_MODULE,  CAP_SYS_RAWIO,  CAP_SYS_TIME,    CAP_MKNOD,         CAP_AUDIT_CONTROL,
    CAP_MAC_OVERRIDE, CAP_MAC_ADMIN, CAP_SYSLOG,      CAP_WAKE_ALARM,    CAP_BLOCK_SUSPEND,
    CAP_SYS_PACCT,
};

// As LXC and podman do. Masked files get /dev/null bound over them, masked
// directories an empty read-only tmpfs; read-only ones a read-only bind of
// themselves. Missing ones (another kernel) are skipped.
const char* const kMaskedPaths[] = {
    "proc/kcore",   "proc/keys",     "proc/key-users", "proc/timer_list", "proc/sched_debug", "proc/latency_stats",
    "proc/timer_stats", "proc/kmsg", "proc/acpi",      "proc/scsi",       "proc/sysrq-trigger",
    "sys/firmware", "sys/devices/virtual/powercap",    "sys/kernel/debug", "sys/kernel/security",
    "sys/kernel/tracing", "sys/fs/pstore",
};
const char* const kReadOnlyPaths[] = {"proc/sys", "proc/bus", "proc/fs", "proc/irq", "proc/asound"};

// The host's device nodes a zone gets, bound from the host's /dev (a user
// namespace cannot mknod; binding is what LXC and nspawn do).
const char* const kDeviceNodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

// What the child works with; lives in the child's copy of memory only.
struct SetupContext {
  const ZoneConfig& config;
  const ZoneCgroup& cgroup;
  int socket;              // to the monitor: the root comes in, the console goes out
  UniqueFd attach_point;   // config.rootfs, where the zone's root is attached
  UniqueFd root;           // the zone's root mount (from the monitor)
  UniqueFd host_sys;       // --net host in a user namespace: the host's /sys, alone (from the monitor)
  UniqueFd dev;            // the zone's /dev tmpfs
  UniqueFd devpts;         // the zone's devpts instance
  UniqueFd master;
  UniqueFd slave;
};

Result<void> check(int rc, std::string what) {
  if (rc != 0) return errno_error(std::move(what));
  return {};
}

// --- mount helpers (the new mount API: fds all the way, no path races) ---

// A new, not yet attached mount of `type`. An option without a value is a flag.
Result<UniqueFd> new_mount(const char* type, std::initializer_list<std::pair<const char*, const char*>> options,
                           unsigned attributes) {
  UniqueFd context(::fsopen(type, FSOPEN_CLOEXEC));
  if (!context) return errno_error(std::string("open a ") + type + " file system");
  ::fsconfig(context.get(), FSCONFIG_SET_STRING, "source", type, 0);  // what /proc/mounts names, as mount(8) would
  for (auto [key, value] : options) {
    int rc = value ? ::fsconfig(context.get(), FSCONFIG_SET_STRING, key, value, 0)
                   : ::fsconfig(context.get(), FSCONFIG_SET_FLAG, key, nullptr, 0);
    if (rc != 0) return errno_error(std::string("set ") + key + (value ? std::string("=") + value : "") + " on " + type);
  }
  if (::fsconfig(context.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    return errno_error(std::string("create a ") + type + " file system");
  }
  UniqueFd mount(::fsmount(context.get(), FSMOUNT_CLOEXEC, attributes));
  if (!mount) return errno_error(std::string("mount ") + type);
  return mount;
}

// A detached copy of the mount at dirfd/path (a bind mount to be).
Result<UniqueFd> clone_mount(int dirfd, const char* path, bool recursive, const std::string& what) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0) | (*path ? 0 : AT_EMPTY_PATH);
  UniqueFd tree(::open_tree(dirfd, path, flags));
  if (!tree) return errno_error("bind " + what);
  return tree;
}

Result<void> set_attributes(int mount, unsigned attributes, bool recursive, const std::string& what) {
  mount_attr attr{};
  attr.attr_set = attributes;
  return check(::mount_setattr(mount, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr),
               "make " + what + " read-only");
}

Result<void> attach(int mount, int target, const std::string& what) {
  return check(::move_mount(mount, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH),
               "mount " + what);
}

// A directory of the zone's tree to mount on: never through a symlink, and
// made when missing (the zone's root may lack /proc, /sys or /dev).
Result<UniqueFd> mount_point(SetupContext& ctx, const char* path) {
  auto fd = open_in_root(ctx.root.get(), path, O_PATH | O_DIRECTORY, RESOLVE_NO_SYMLINKS);
  if (!fd && fd.error().errno_value == ENOENT && !std::strchr(path, '/')) {
    if (::mkdirat(ctx.root.get(), path, 0755) != 0 && errno != EEXIST) {
      return errno_error(std::string("create /") + path + " in the zone's root");
    }
    fd = open_in_root(ctx.root.get(), path, O_PATH | O_DIRECTORY, RESOLVE_NO_SYMLINKS);
  }
  if (!fd) {
    return make_error(fd.error().message() + " (vcon mounts its own /" + path +
                      " there and needs a plain directory: fix the zone's root file system)");
  }
  return fd;
}

Result<void> mask(SetupContext& ctx, const char* path) {
  auto target = open_in_root(ctx.root.get(), path, O_PATH, RESOLVE_NO_SYMLINKS);
  if (!target) return target.error().errno_value == ENOENT ? Result<void>{} : Result<void>{target.error()};
  struct stat st;
  if (::fstat(target->get(), &st) != 0) return errno_error(std::string("stat /") + path);
  UniqueFd cover;
  if (S_ISDIR(st.st_mode)) {
    auto empty = new_mount("tmpfs", {{"mode", "0555"}, {"size", "4k"}},
                           MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    if (!empty) return empty.error();
    cover = std::move(empty.value());
  } else {
    auto null = clone_mount(AT_FDCWD, "/dev/null", false, "/dev/null");
    if (!null) return null.error();
    cover = std::move(null.value());
  }
  return attach(cover.get(), target->get(), std::string("a mask over /") + path);
}

Result<void> make_read_only(SetupContext& ctx, const char* path) {
  auto target = open_in_root(ctx.root.get(), path, O_PATH, RESOLVE_NO_SYMLINKS);
  if (!target) return target.error().errno_value == ENOENT ? Result<void>{} : Result<void>{target.error()};
  std::string what = std::string("/") + path;
  auto copy = clone_mount(target->get(), "", true, what);
  if (!copy) return copy.error();
  VCON_TRY(set_attributes(copy->get(), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                          true, what));
  return attach(copy->get(), target->get(), "read-only " + what);
}

// --- the child's steps, in order ---

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

Result<void> open_attach_point(SetupContext& ctx) {
  // Still with the monitor's uid: the state directory is root's, 0700.
  ctx.attach_point.reset(::open(ctx.config.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!ctx.attach_point) return errno_error("open rootfs " + ctx.config.rootfs);
  return {};
}

bool needs_host_sys(const ZoneConfig& config) { return !config.privileged && config.net == NetMode::Host; }

Result<void> receive_root(SetupContext& ctx) {
  // The monitor writes our id maps, puts us in the zone's cgroup and
  // sends the root; a monitor that gave up closes the socket instead.
  auto fds = receive_fds(ctx.socket, needs_host_sys(ctx.config) ? 2 : 1);
  if (!fds) return fds.error();
  ctx.root = std::move(fds.value()[0]);
  if (fds->size() > 1) ctx.host_sys = std::move(fds.value()[1]);
  return {};
}

Result<void> become_zone_root(SetupContext& ctx) {
  if (ctx.config.privileged) return {};
  VCON_TRY(check(::setgroups(0, nullptr), "drop supplementary groups"));
  VCON_TRY(check(::setresgid(0, 0, 0), "become the zone's root group"));
  return check(::setresuid(0, 0, 0), "become the zone's root");
}

Result<void> enter_cgroup_namespace(SetupContext&) {
  // The monitor has moved us into the zone's cgroup: that becomes "/".
  return check(::unshare(CLONE_NEWCGROUP), "new cgroup namespace");
}

Result<void> make_mounts_private(SetupContext&) {
  return check(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "make / private");
}

Result<void> attach_root(SetupContext& ctx) {
  return attach(ctx.root.get(), ctx.attach_point.get(), "the root file system on " + ctx.config.rootfs);
}

Result<void> mount_proc(SetupContext& ctx) {
  auto target = mount_point(ctx, "proc");
  if (!target) return target.error();
  auto proc = new_mount("proc", {}, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
  if (!proc) return proc.error();
  return attach(proc->get(), target->get(), "proc");
}

Result<void> mount_sys(SetupContext& ctx) {
  auto target = mount_point(ctx, "sys");
  if (!target) return target.error();
  constexpr unsigned kReadOnly = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
  if (ctx.config.privileged || ctx.config.net == NetMode::None) {
    auto sys = new_mount("sysfs", {}, kReadOnly);
    if (!sys) return sys.error();
    return attach(sys->get(), target->get(), "read-only sysfs");
  }
  // A user namespace may mount sysfs only for a network namespace of its
  // own: with --net host, the monitor's read-only bind of the host's /sys.
  return attach(ctx.host_sys.get(), target->get(), "the host's /sys, read-only");
}

Result<void> mask_kernel_paths(SetupContext& ctx) {
  for (const char* path : kMaskedPaths) VCON_TRY(mask(ctx, path));
  for (const char* path : kReadOnlyPaths) VCON_TRY(make_read_only(ctx, path));
  return {};
}

Result<void> mount_cgroup(SetupContext& ctx) {
  // cgroup v2 alone, also on a hybrid host, showing only the zone's own
  // subtree (cgroup namespace), which its root owns: what systemd-nspawn
  // gives a guest in unified mode. The v1 hierarchies the zone is in stay
  // out of sight; none of them is the zone's to change.
  auto target = open_in_root(ctx.root.get(), "sys/fs/cgroup", O_PATH | O_DIRECTORY, RESOLVE_NO_SYMLINKS);
  if (!target) return target.error();
  auto cgroup = new_mount("cgroup2", {}, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
  if (!cgroup) return cgroup.error();
  return attach(cgroup->get(), target->get(), "cgroup2 on /sys/fs/cgroup");
}

Result<void> mount_dev(SetupContext& ctx) {
  auto target = mount_point(ctx, "dev");
  if (!target) return target.error();
  auto dev = new_mount("tmpfs", {{"mode", "0755"}, {"size", "1024k"}},
                       MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODEV);
  if (!dev) return dev.error();
  VCON_TRY(attach(dev->get(), target->get(), "tmpfs on /dev"));
  ctx.dev = std::move(dev.value());  // from here on, its root: a fresh tmpfs nobody else has seen
  for (const char* name : kDeviceNodes) {
    UniqueFd file(::openat(ctx.dev.get(), name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
    if (!file) return errno_error(std::string("create /dev/") + name);
    std::string host = std::string("/dev/") + name;
    auto node = clone_mount(AT_FDCWD, host.c_str(), false, "the host's " + host);
    if (!node) return node.error();
    UniqueFd where(::openat(ctx.dev.get(), name, O_PATH | O_NOFOLLOW | O_CLOEXEC));
    VCON_TRY(attach(node->get(), where.get(), host));
  }
  struct Link {
    const char* name;
    const char* target;
  };
  for (Link link : {Link{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
                    {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"}}) {
    VCON_TRY(check(::symlinkat(link.target, ctx.dev.get(), link.name), std::string("symlink /dev/") + link.name));
  }
  VCON_TRY(check(::mkdirat(ctx.dev.get(), "pts", 0755), "create /dev/pts"));
  VCON_TRY(check(::mkdirat(ctx.dev.get(), "shm", 01777), "create /dev/shm"));
  return check(::fchmodat(ctx.dev.get(), "shm", 01777, 0), "chmod /dev/shm");  // undo the umask
}

Result<void> mount_devpts(SetupContext& ctx) {
  auto devpts = new_mount("devpts", {{"newinstance", nullptr}, {"ptmxmode", "0666"}, {"mode", "0620"}, {"gid", "5"}},
                          MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
  if (!devpts) return devpts.error();
  UniqueFd where(::openat(ctx.dev.get(), "pts", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  VCON_TRY(attach(devpts->get(), where.get(), "a new devpts instance on /dev/pts"));
  ctx.devpts = std::move(devpts.value());
  return {};
}

Result<void> create_console(SetupContext& ctx) {
  // The pty comes from the zone's own devpts, so the zone's /dev/pts lists it
  // and ttyname() works inside; TIOCGPTPEER avoids a path lookup for the slave.
  ctx.master.reset(::openat(ctx.devpts.get(), "ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!ctx.master) return errno_error("open the zone's /dev/pts/ptmx");
  int unlock = 0;
  VCON_TRY(check(::ioctl(ctx.master.get(), TIOCSPTLCK, &unlock), "unlock console pty"));
  ctx.slave.reset(::ioctl(ctx.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!ctx.slave) return errno_error("open console pty slave");
  winsize size{24, 80, 0, 0};
  ::ioctl(ctx.master.get(), TIOCSWINSZ, &size);
  UniqueFd file(::openat(ctx.dev.get(), "console", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!file) return errno_error("create /dev/console");
  auto pty = clone_mount(ctx.slave.get(), "", false, "the console pty");
  if (!pty) return pty.error();
  UniqueFd where(::openat(ctx.dev.get(), "console", O_PATH | O_NOFOLLOW | O_CLOEXEC));
  VCON_TRY(attach(pty->get(), where.get(), "the console pty on /dev/console"));
  return send_fds(ctx.socket, {ctx.master.get(), ctx.slave.get()});
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
  VCON_TRY(check(::fchdir(ctx.root.get()), "chdir into the zone's root"));
  VCON_TRY(check(static_cast<int>(::syscall(SYS_pivot_root, ".", ".")), "pivot_root " + ctx.config.rootfs));
  VCON_TRY(check(::umount2(".", MNT_DETACH), "detach the host's root"));
  return check(::chdir("/"), "chdir /");
}

Result<void> new_session_keyring(SetupContext&) {
  // Keys are reachable by whoever possesses the keyring that holds them:
  // the zone must not inherit the session keyring of whoever booted it.
  long key = ::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, nullptr);
  return check(key < 0 ? -1 : 0, "join a new session keyring");
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
  // A session of its own with the console as stdio but not as controlling
  // terminal, as the kernel starts a real init: the first session leader
  // that opens it (getty) gets it. A user namespace's root could not take
  // it from init (stealing a tty needs CAP_SYS_ADMIN on the host).
  VCON_TRY(check(::setsid() < 0 ? -1 : 0, "setsid"));
  for (int fd = 0; fd <= 2; ++fd) {
    if (::dup2(ctx.slave.get(), fd) < 0) return errno_error("dup console to fd " + std::to_string(fd));
  }
  return {};
}

Result<void> install_seccomp(SetupContext&) { return load_zone_seccomp_filter(); }

Result<void> exec_init(SetupContext& ctx) {
  std::vector<char*> argv;
  for (const auto& arg : ctx.config.init) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  // As systemd's container interface asks: container= names the manager,
  // container_uuid= gives the machine id (when /etc/machine-id is empty).
  std::string hostname = "HOSTNAME=" + ctx.config.hostname;
  std::string uuid = "container_uuid=" + ctx.config.uuid;
  std::vector<char*> envp = {const_cast<char*>("PATH=/bin:/sbin:/usr/bin:/usr/sbin"), const_cast<char*>("TERM=linux"),
                             const_cast<char*>("HOME=/root"), const_cast<char*>("container=vcon"), hostname.data()};
  if (!ctx.config.uuid.empty()) envp.push_back(uuid.data());
  envp.push_back(nullptr);
  set_zone_file_soft_limit();
  ::execve(argv[0], argv.data(), envp.data());
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
    {"root file system", open_attach_point},
    {"waiting for the monitor", receive_root},
    {"identity", become_zone_root},
    {"cgroup namespace", enter_cgroup_namespace},
    {"private mounts", make_mounts_private},
    {"root file system", attach_root},
    {"proc", mount_proc},
    {"sys", mount_sys},
    {"masked paths", mask_kernel_paths},
    {"cgroup file system", mount_cgroup},
    {"dev", mount_dev},
    {"devpts", mount_devpts},
    {"console", create_console},
    {"hostname", set_hostname},
    {"loopback", bring_up_loopback},
    {"pivot_root", enter_rootfs},
    {"keyring", new_session_keyring},
    {"capabilities", drop_capabilities},
    {"console as stdio", attach_console},
    {"seccomp", install_seccomp},
    {"exec init", exec_init},
};

[[noreturn]] void run_child(const ZoneConfig& config, const ZoneCgroup& cgroup, int socket, int error_pipe) {
  SetupContext ctx{config, cgroup, socket, {}, {}, {}, {}, {}, {}, {}};
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

// --- the monitor's steps, between the clone and the child's setup ---

Result<void> write_id_maps(pid_t child, const IdRange& ids) {
  std::string map = "0 " + std::to_string(ids.base) + " " + std::to_string(ids.count) + "\n";
  for (const char* file : {"uid_map", "gid_map"}) {
    VCON_TRY(write_file_in_place("/proc/" + std::to_string(child) + "/" + file, map));
  }
  return {};
}

// The zone's root: a detached copy of the rootfs directory's mount, shown
// through the zone's user namespace (idmapped): on disk the files keep
// their ids (0 stays 0), the zone sees them as its own, and no copy or
// chown of the tree is needed.
Result<UniqueFd> prepare_root(pid_t child, const ZoneConfig& config) {
  auto tree = clone_mount(AT_FDCWD, config.rootfs.c_str(), false, "rootfs " + config.rootfs);
  if (!tree || config.privileged) return tree;
  UniqueFd userns(::open(("/proc/" + std::to_string(child) + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC));
  if (!userns) return errno_error("open the zone's user namespace");
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<std::uint64_t>(userns.get());
  if (::mount_setattr(tree->get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
    return errno_error("idmapped mount of rootfs " + config.rootfs +
                       " (its file system cannot show files under the zone's ids: use ext4, xfs, btrfs or tmpfs, "
                       "or create the zone with --privileged)");
  }
  return tree;
}

// --net host in a user namespace: the host's /sys without what is mounted
// below it (the host's cgroup trees, debugfs...). Only the monitor can take
// it alone: in the zone's mount namespace those mounts are locked to it.
Result<UniqueFd> host_sys() {
  auto sys = clone_mount(AT_FDCWD, "/sys", false, "the host's /sys");
  if (!sys) return sys;
  VCON_TRY(set_attributes(sys->get(), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                          false, "the host's /sys"));
  return sys;
}

Result<void> prepare_child(pid_t child, const ZoneConfig& config, const ZoneCgroup& cgroup, int socket) {
  auto step = [](const char* name, Result<void> result) -> Result<void> {
    if (!result) return make_error(std::string(name) + ": " + result.error().message());
    return {};
  };
  if (!config.privileged) VCON_TRY(step("user namespace", write_id_maps(child, config.ids)));
  VCON_TRY(step("cgroup", cgroup.add(child)));
  auto root = prepare_root(child, config);
  if (!root) return step("root file system", root.error());
  std::vector<int> fds{root->get()};
  UniqueFd sys;
  if (needs_host_sys(config)) {
    auto cloned = host_sys();
    if (!cloned) return step("sys", cloned.error());
    sys = std::move(cloned.value());
    fds.push_back(sys.get());
  }
  return step("root file system", send_fds(socket, fds));
}

Result<pid_t> clone_zone(std::uint64_t flags, int& pidfd) {
  clone_args args{};
  args.flags = flags | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<std::uint64_t>(&pidfd);
  // With CLONE_PARENT clone3 takes no exit signal: the caller's own (SIGCHLD) goes to its parent.
  args.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) return errno_error("clone3 with new namespaces");
  return static_cast<pid_t>(pid);
}

// With CLONE_PARENT the child is not ours: its parent reaps it (ECHILD here).
void reap(pid_t pid) {
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

const int* dropped_capabilities(std::size_t& count) {
  count = std::size(kDroppedCapabilities);
  return kDroppedCapabilities;
}

KernelPaths kernel_paths() {
  return {kMaskedPaths, std::size(kMaskedPaths), kReadOnlyPaths, std::size(kReadOnlyPaths)};
}

void raise_file_limit_for_zone() {
  constexpr rlim_t kWanted = 524288;
  rlim_t ceiling = kWanted;
  if (auto text = read_file("/proc/sys/fs/nr_open", 64)) ceiling = std::min<rlim_t>(kWanted, std::stoul(*text));
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_max >= ceiling) return;
  files.rlim_max = ceiling;
  ::setrlimit(RLIMIT_NOFILE, &files);
}

void set_zone_file_soft_limit() {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur > 1024) {
    files.rlim_cur = 1024;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
}

Result<LaunchedZone> launch_zone(const ZoneConfig& config, const ZoneCgroup& cgroup, InitParent parent) {
  if (!config.privileged && config.ids.count == 0) return make_error("zone " + config.name + " has no id range");
  int sockets[2], pipe_fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sockets) != 0) return errno_error("socketpair");
  UniqueFd parent_socket(sockets[0]), child_socket(sockets[1]);
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return errno_error("pipe");
  UniqueFd error_read(pipe_fds[0]), error_write(pipe_fds[1]);

  raise_file_limit_for_zone();
  std::uint64_t flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
  if (!config.privileged) flags |= CLONE_NEWUSER;
  if (config.net == NetMode::None) flags |= CLONE_NEWNET;
  if (parent == InitParent::CallersParent) flags |= CLONE_PARENT;
  int pidfd = -1;
  auto pid = clone_zone(flags, pidfd);
  if (!pid) return pid.error();
  if (pid.value() == 0) run_child(config, cgroup, child_socket.get(), error_write.get());

  LaunchedZone zone;
  zone.init_pid = pid.value();
  zone.init_pidfd.reset(pidfd);
  child_socket.reset();
  error_write.reset();

  auto prepared = prepare_child(zone.init_pid, config, cgroup, parent_socket.get());
  if (!prepared) {
    ::syscall(SYS_pidfd_send_signal, zone.init_pidfd.get(), SIGKILL, nullptr, 0);
    reap(zone.init_pid);
    return prepared.error();
  }
  auto fds = receive_fds(parent_socket.get(), 2);  // fails if the child died first
  std::string report;
  (void)read_to_end(error_read.get(), report);  // EOF on exec: empty means init runs
  if (!report.empty() || !fds) {
    reap(zone.init_pid);
    if (report.empty()) report = fds.error().message();
    return make_error(report);
  }
  zone.console_master = std::move(fds.value()[0]);
  zone.console_slave = std::move(fds.value()[1]);
  return zone;
}

}  // namespace vcon
