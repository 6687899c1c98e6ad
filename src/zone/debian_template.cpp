#include "zone/debian_template.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fmt/core.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <vector>

#include "base/clock.hpp"
#include "base/files.hpp"
#include "base/json_text.hpp"
#include "zone/zone_root.hpp"

namespace vcon {

namespace {

constexpr const char* kSuite = "bookworm";  // Debian 12

const DebianTemplate kTemplates[] = {
    {"debian", "systemd", "systemd-sysv,dbus,procps"},
    {"debian-sysvinit", "sysvinit", "sysvinit-core,procps"},
};

// sysvinit's inittab for a zone: its console is /dev/console, it has no
// virtual terminals; vcon halt sends SIGPWR (powerfail), vcon reboot SIGINT
// (ctrlaltdel).
const char* const kSysvinitInittab =
    "# /etc/inittab of a vcon zone (Debian, sysvinit). The zone's console is\n"
    "# /dev/console; it has no virtual terminals.\n"
    "id:2:initdefault:\n"
    "si::sysinit:/etc/init.d/rcS\n"
    "~~:S:wait:/sbin/sulogin --force\n"
    "l0:0:wait:/etc/init.d/rc 0\n"
    "l1:1:wait:/etc/init.d/rc 1\n"
    "l2:2:wait:/etc/init.d/rc 2\n"
    "l3:3:wait:/etc/init.d/rc 3\n"
    "l4:4:wait:/etc/init.d/rc 4\n"
    "l5:5:wait:/etc/init.d/rc 5\n"
    "l6:6:wait:/etc/init.d/rc 6\n"
    "z6:6:respawn:/sbin/sulogin --force\n"
    "# vcon reboot sends init SIGINT, vcon halt SIGPWR.\n"
    "ca:12345:ctrlaltdel:/sbin/shutdown -t1 -r now\n"
    "p0::powerfail:/sbin/shutdown -t1 -h -P now\n"
    "co:2345:respawn:/sbin/getty --noclear 38400 console\n";

// Boot and shutdown scripts for what a zone is given ready (its root
// mount, read-only /proc/sys) or does not have (a hardware clock, a kernel
// log, backlights, configfs): in a zone they only fail, loudly. (The ones
// that mount /proc, /sys, /run and /dev/pts stay: they leave what is
// mounted alone, and make /run/lock.)
const char* const kSysvinitScriptsLeftOut[] = {
    "hwclock.sh", "mount-configfs", "checkroot.sh", "checkroot-bootclean.sh", "checkfs.sh", "brightness",
    "bootlogs",   "procps",         "umountfs",     "umountroot",             "umountnfs.sh"};

// The machine's apt sources, as files mmdebstrap reads.
std::vector<std::string> apt_sources() {
  std::vector<std::string> files;
  struct stat st {};
  if (::stat("/etc/apt/sources.list", &st) == 0 && st.st_size > 0) files.push_back("/etc/apt/sources.list");
  if (DIR* dir = ::opendir("/etc/apt/sources.list.d")) {
    std::vector<std::string> names;
    for (dirent* entry = ::readdir(dir); entry; entry = ::readdir(dir)) {
      std::string name = entry->d_name;
      auto ends = [&](const std::string& suffix) {
        return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
      };
      if (ends(".list") || ends(".sources")) names.push_back(name);
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) files.push_back("/etc/apt/sources.list.d/" + name);
  }
  return files;
}

// Waits for (not fails on) another vcon building or copying the same
// template: the first builds it, the next ones use it.
Result<UniqueFd> wait_for_lock(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return errno_error("open " + path);
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return errno_error("lock " + path);
  }
  return fd;
}

Result<void> build_template(const DebianTemplate& flavor, const std::string& dir) {
  std::string target = dir + "/rootfs";
  std::vector<std::string> argv = {"/usr/bin/mmdebstrap", "--variant=minbase", std::string("--include=") + flavor.include};
  if (std::string(flavor.init) == "sysvinit") {
    for (const char* script : kSysvinitScriptsLeftOut) {
      argv.push_back(fmt::format("--customize-hook=chroot \"$1\" update-rc.d -f {} remove >/dev/null", script));
    }
  }
  argv.push_back(kSuite);
  argv.push_back(target);
  auto sources = apt_sources();
  if (sources.empty()) return make_error("this machine has no apt sources (/etc/apt/sources.list*) to build from");
  argv.insert(argv.end(), sources.begin(), sources.end());
  if (::access(argv[0].c_str(), X_OK) != 0) {
    return make_error("the Debian templates need mmdebstrap (apt install mmdebstrap; scripts/install-deps.sh has it)");
  }
  auto built = run_command(argv);
  if (!built) {
    return make_error(fmt::format("mmdebstrap could not build Debian 12 ({}) from this machine's apt sources ({}): {}",
                                  kSuite, fmt::join(sources, ", "), built.error().message()));
  }
  // Each zone gets its own machine id (systemd: from container_uuid).
  VCON_TRY(write_file_atomic(target + "/etc/machine-id", ""));
  if (std::string(flavor.init) == "sysvinit") {
    VCON_TRY(write_file_atomic(target + "/etc/inittab", kSysvinitInittab));
    VCON_TRY(make_directories(target + "/etc/inittab.d", 0755));  // else init says it has none, at each boot
  }
  nlohmann::json stamp{{"template", flavor.name}, {"suite", kSuite}, {"include", flavor.include},
                       {"built_at", wall_clock_seconds()}, {"sources", sources}};
  return write_file_atomic(dir + "/built.json", json_text(stamp, 2) + "\n", 0600);
}

// The template's root file system in the cache, built now if need be.
Result<std::string> cached_template(const Paths& paths, const DebianTemplate& flavor, bool rebuild) {
  std::string templates = paths.cache_dir + "/templates";
  VCON_TRY(make_directories(templates, 0700));
  ::chmod(paths.cache_dir.c_str(), 0700);  // setuid binaries inside: for root only
  std::string dir = templates + "/" + flavor.name;
  auto lock = wait_for_lock(dir + ".lock");
  if (!lock) return lock.error();
  if (!rebuild && path_exists(dir + "/built.json") && is_directory(dir + "/rootfs")) return dir + "/rootfs";
  std::string fresh = dir + ".new";
  if (path_exists(fresh)) VCON_TRY(remove_tree(fresh));
  VCON_TRY(make_directories(fresh, 0700));
  fmt::print(stderr, "vcon: building the {} template (Debian 12, {}) into {} with mmdebstrap; once, a minute or so\n",
             flavor.name, flavor.init, dir);
  if (auto built = build_template(flavor, fresh); !built) {
    (void)remove_tree(fresh);
    return built.error();
  }
  if (path_exists(dir)) {
    std::string old = dir + ".old";
    if (path_exists(old)) VCON_TRY(remove_tree(old));
    if (::rename(dir.c_str(), old.c_str()) != 0) return errno_error("move " + dir + " aside");
    (void)remove_tree(old);
  }
  if (::rename(fresh.c_str(), dir.c_str()) != 0) return errno_error("install " + dir);
  return dir + "/rootfs";
}

}  // namespace

const DebianTemplate* find_debian_template(const std::string& name) {
  for (const auto& flavor : kTemplates) {
    if (name == flavor.name) return &flavor;
  }
  return nullptr;
}

Result<void> install_debian_rootfs(const Paths& paths, const DebianTemplate& flavor, const std::string& rootfs,
                                   const DebianZoneSetup& setup, bool rebuild) {
  auto cached = cached_template(paths, flavor, rebuild);
  if (!cached) return cached.error();
  {
    // Copied while no one rebuilds it.
    auto lock = wait_for_lock(paths.cache_dir + "/templates/" + flavor.name + ".lock");
    if (!lock) return lock.error();
    auto copied = run_command({"/bin/cp", "-a", "--reflink=auto", *cached, rootfs});
    if (!copied) return make_error("copy the " + std::string(flavor.name) + " template: " + copied.error().message());
  }
  // The copy is ours (no zone has run in it yet), but written the way every
  // write into a zone's tree is: inside it, never through a symlink.
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root) return errno_error("open " + rootfs);
  auto write_in_zone = [&](const std::string& path, const std::string& content) -> Result<void> {
    auto fd = open_in_root(root.get(), path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                           RESOLVE_NO_SYMLINKS);
    if (!fd) return fd.error();
    if (!write_all(fd->get(), content)) return errno_error("write " + rootfs + path);
    return {};
  };
  VCON_TRY(write_in_zone("/etc/hostname", setup.hostname + "\n"));
  VCON_TRY(write_in_zone("/etc/hosts", fmt::format("127.0.0.1\tlocalhost\n127.0.1.1\t{}\n::1\tlocalhost "
                                                   "ip6-localhost ip6-loopback\n",
                                                   setup.hostname)));
  if (setup.root_password) {
    auto set = run_command({"/usr/sbin/chpasswd", "--root", rootfs}, "root:" + *setup.root_password + "\n");
    if (!set) return make_error("set root's password: " + set.error().message());
  }
  return {};
}

}  // namespace vcon
