// create, boot, halt, reboot, destroy, ls, ps, exec.
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fmt/core.h>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <tuple>

#include "base/clock.hpp"
#include "base/files.hpp"
#include "base/json_text.hpp"
#include "base/names.hpp"
#include "cli/commands.hpp"
#include "console/console_log.hpp"
#include "console/consoledb_file.hpp"
#include "console/log_format.hpp"
#include "monitor/keeper.hpp"
#include "proto/client.hpp"
#include "zone/busybox_template.hpp"
#include "zone/debian_template.hpp"
#include "zone/cgroup.hpp"
#include "zone/id_ranges.hpp"
#include "zone/process_table.hpp"
#include "zone/zone_exec.hpp"
#include "zone/zone_root.hpp"
#include "zone/zone_store.hpp"

namespace vcon::cli {

namespace {

using json = nlohmann::json;

// Is `path` present inside `rootfs`, following symlinks as the zone would?
bool rootfs_has(const std::string& rootfs, const std::string& path) {
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  return root && open_in_root(root.get(), path, O_PATH).ok();
}

ZoneCgroup zone_cgroup(const ZoneConfig& config, std::vector<CgroupHierarchy> layout) {
  return ZoneCgroup(std::move(layout), config.cgroup_name());
}

Result<pid_t> running_init_pid(const Paths& paths, const std::string& name) {
  VCON_TRY(require_running(paths, name));
  auto state = zone_state(paths, name);
  if (!state || !state->contains("init_pid")) return make_error("zone " + name + " is running but has no state yet; try again");
  return (*state)["init_pid"].get<pid_t>();
}

// Waits until the monitor has let go of the zone lock (it has exited).
Result<void> wait_for_monitor_exit(const Paths& paths, const std::string& name, int seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (zone_running(paths, name)) {
    if (std::chrono::steady_clock::now() > deadline) {
      return make_error("zone " + name + " halted but its monitor is still running; see " + paths.monitor_log(name));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return {};
}

std::string format_uptime(double seconds) {
  long s = static_cast<long>(seconds);
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
  return fmt::format("{}d{:02}h", s / 86400, s % 86400 / 3600);
}

}  // namespace

Result<int> create_zone(const Paths& paths, const CreateOptions& options) {
  VCON_TRY(validate_zone_name(options.name));
  ZoneConfig config;
  config.name = options.name;
  config.hostname = options.hostname.empty() ? options.name : options.hostname;
  if (auto valid = validate_hostname(config.hostname); !valid) {
    return make_error(options.hostname.empty() ? "zone " + options.name + " cannot be its own hostname: " +
                                                     valid.error().message() + "; give --hostname"
                                               : "--hostname: " + valid.error().message());
  }
  auto net = parse_net_mode(options.net);
  if (!net) return net.error();
  config.net = net.value();
  if (!options.init.empty()) config.init = options.init;
  config.ring_size = options.ring_size;
  config.privileged = options.privileged;
  if (!options.memory.empty()) {
    auto bytes = parse_byte_size(options.memory);
    if (!bytes) return make_error("--memory: " + bytes.error().message());
    if (bytes.value() < (4u << 20)) return make_error("--memory " + options.memory + " is too small for a zone (at least 4M)");
    config.limits.memory_max = bytes.value();
  }
  if (options.pids) {
    if (*options.pids < 8) return make_error("--pids " + std::to_string(*options.pids) + " is too few for a zone (at least 8)");
    config.limits.pids_max = static_cast<std::uint64_t>(*options.pids);
  }
  if (config.init[0].empty() || config.init[0][0] != '/') {
    return make_error("init '" + config.init[0] + "' must be an absolute path inside the zone");
  }
  if (!options.rootfs.empty() && !options.template_name.empty()) {
    return make_error("give either --rootfs or --template, not both");
  }
  const DebianTemplate* debian = find_debian_template(options.template_name);
  if (!options.template_name.empty() && options.template_name != "busybox" && !debian) {
    return make_error("unknown template '" + options.template_name + "' (vcon has: busybox, debian, debian-sysvinit)");
  }
  if (!debian && (!options.root_password_file.empty() || options.rebuild_template)) {
    return make_error(std::string(options.root_password_file.empty() ? "--rebuild-template" : "--root-password-file") +
                      " is for the Debian templates (--template debian or debian-sysvinit)");
  }
  for (auto [flag, text, field] : {std::tuple{"--halt-signal", &options.halt_signal, &config.halt_signal},
                                   {"--reboot-signal", &options.reboot_signal, &config.reboot_signal}}) {
    if (text->empty()) continue;
    auto sig = parse_signal(*text);
    if (!sig) return make_error(std::string(flag) + ": " + sig.error().message());
    *field = sig.value();
  }
  std::optional<std::string> root_password;
  if (!options.root_password_file.empty()) {
    auto text = read_regular_file(options.root_password_file, 4096);
    if (!text) return make_error("--root-password-file: " + text.error().message());
    std::string line = text->substr(0, text->find('\n'));
    if (line.empty()) return make_error("--root-password-file " + options.root_password_file + ": its first line is empty");
    if (line.find(':') != std::string::npos || line.find('\r') != std::string::npos) {
      return make_error("--root-password-file " + options.root_password_file + ": a password may not hold ':'");
    }
    root_password = line;
  }
  if (auto uuid = read_file("/proc/sys/kernel/random/uuid", 64)) {
    config.uuid = uuid->substr(0, uuid->find('\n'));
    if (!is_uuid(config.uuid)) config.uuid.clear();
  }
  if (!options.rootfs.empty()) {
    char resolved[PATH_MAX];
    if (!::realpath(options.rootfs.c_str(), resolved) || !is_directory(resolved)) {
      return make_error("rootfs " + options.rootfs + " does not exist or is not a directory");
    }
    config.rootfs = resolved;
    if (!config.privileged) VCON_TRY(require_private_rootfs(config.rootfs));
    VCON_TRY(require_own_rootfs(paths, config.name, config.rootfs));
    if (!rootfs_has(config.rootfs, config.init[0])) {
      return make_error("rootfs " + config.rootfs + " has no " + config.init[0] +
                        " (give the zone's init after '--')");
    }
  }

  VCON_TRY(make_directories(paths.state_dir + "/zones", 0700));
  std::string dir = paths.zone_dir(config.name);
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) return make_error("zone " + config.name + " already exists (vcon destroy " + config.name + " first, or choose another name)");
    return errno_error("create " + dir);
  }
  // From here on, a failure removes what was made.
  IdRegistry registry(paths.id_registry);
  auto built = [&]() -> Result<void> {
    auto ids = registry.allocate(dir);
    if (!ids) return ids.error();
    config.ids = ids.value();
    if (config.rootfs.empty()) {
      config.rootfs = dir + "/rootfs";
      config.rootfs_owned = true;
      if (debian) {
        VCON_TRY(install_debian_rootfs(paths, *debian, config.rootfs, {config.hostname, root_password},
                                       options.rebuild_template));
      } else {
        VCON_TRY(build_busybox_rootfs(config.rootfs, config.hostname));
      }
      if (!rootfs_has(config.rootfs, config.init[0])) {
        return make_error("the " + std::string(debian ? debian->name : "busybox") + " template has no " +
                          config.init[0] + " (give the zone's init after '--')");
      }
    }
    return save_zone(paths, config);
  }();
  if (!built) {
    (void)remove_tree(dir);
    (void)registry.release(dir);
    return built.error();
  }
  fmt::print("created zone {} (rootfs {}{})\n", config.name, config.rootfs,
             config.privileged ? "; privileged: its root is the host's root, not a security boundary" : "");
  if (debian && !root_password) {
    fmt::print("root's password is locked: set one with vcon exec {} -- passwd (or create with --root-password-file)\n",
               config.name);
  }
  if (!options.rootfs.empty() && !options.hostname.empty()) {
    // The guest's own /etc/hostname wins over the UTS name at boot
    // (systemd, sysvinit's hostname.sh): asked for a hostname, set it there.
    UniqueFd root(::open(config.rootfs.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    auto file = root ? open_in_root(root.get(), "/etc/hostname", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW,
                                    RESOLVE_NO_SYMLINKS)
                     : Result<UniqueFd>(errno_error("open " + config.rootfs));
    if (file && write_all(file->get(), config.hostname + "\n")) {
      fmt::print("wrote /etc/hostname in its root file system: {}\n", config.hostname);
    } else {
      fmt::print(stderr, "vcon: warning: could not write /etc/hostname in {} ({}): a guest that reads it takes its "
                         "hostname from there\n", config.rootfs, file ? "write failed" : file.error().message());
    }
  }
  return 0;
}

namespace {

// A boot under way: its keeper is forked, its monitor answers on `notify`
// ("ok", or "error WHY") and closes it.
struct PendingBoot {
  std::string name;
  pid_t keeper = -1;
  UniqueFd notify;
  std::string answer;
};

// What a keeper needs of its zone, checked: in the process that becomes the
// keeper. `registered`: every zone's root file system, read once for many
// boots; without it, read here (and freed before the monitor is forked).
Result<KeeperOptions> prepare_boot(const Paths& paths, const std::string& name,
                                   const std::vector<RegisteredRootfs>* registered) {
  auto config = load_zone(paths, name);
  if (!config) return config.error();
  if (!is_directory(config->rootfs)) return make_error("rootfs " + config->rootfs + " of zone " + name + " does not exist");
  if (!config->privileged) {
    auto closed = require_private_rootfs(config->rootfs);
    if (!closed) return make_error("cannot boot zone " + name + ": " + closed.error().message());
  }
  if (auto own = registered ? require_own_rootfs(paths, name, config->rootfs, *registered)
                            : require_own_rootfs(paths, name, config->rootfs);
      !own) {
    return make_error("cannot boot zone " + name + ": " + own.error().message());
  }
  auto layout = host_cgroup_layout();
  if (!layout) return make_error("cannot boot zone " + name + ": " + layout.error().message());
  auto lock = lock_zone(paths, name);
  if (!lock) return lock.error();
  if (zone_orphaned(config.value())) {  // never a second copy on the same root file system
    return make_error("zone " + name + " is orphaned: its processes still run, with neither keeper nor monitor "
                      "(vcon halt " + name + " ends them; then boot it)");
  }
  VCON_TRY(assign_id_range(paths, config.value()));
  auto keeper = keeper_binary();
  if (!keeper) return make_error("cannot boot zone " + name + ": " + keeper.error().message());
  return KeeperOptions{paths, std::move(config.value()), std::move(layout.value()), std::move(lock.value()), {},
                       std::move(keeper.value())};
}

// Forks the zone's keeper, which checks the zone (prepare_boot), forks the
// monitor and answers on `notify` ("fail MESSAGE" if the checks failed).
// The checks run there, not here, so that this process, whose pages every
// keeper and monitor it forks share, writes next to nothing between forks:
// a page it writes becomes a private copy in every monitor forked before
// (bench/fleet: 40 KiB of each idle monitor). `others` are the boots still
// under way in this command: the keeper must not hold their pipes.
Result<PendingBoot> start_boot(const Paths& paths, const std::string& name,
                               const std::vector<RegisteredRootfs>* registered,
                               const std::vector<PendingBoot>& others) {
  VCON_TRY(validate_zone_name(name));
  VCON_TRY(make_directories(paths.log_dir, 0755));
  int notify[2];
  if (::pipe2(notify, O_CLOEXEC) != 0) return errno_error("pipe");
  UniqueFd notify_read(notify[0]), notify_write(notify[1]);

  // The keeper (and its first monitor) are forks of this process, not new
  // execs: on small VMs an exec costs as much as all of zone setup
  // (bench/boot). We are single-threaded, so the copy is sound.
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork the zone's keeper");
  if (pid == 0) {
    for (const auto& other : others) ::close(other.notify.get());
    notify_read.reset();
    auto prepared = prepare_boot(paths, name, registered);
    if (!prepared) {
      std::string answer = "fail " + prepared.error().message();
      (void)!::write(notify_write.get(), answer.data(), answer.size());
      ::_exit(1);
    }
    std::string monitor_log = paths.monitor_log(name);
    UniqueFd log(::open(monitor_log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
    if (!log) {
      std::string answer = fmt::format("fail cannot boot zone {}: open {}: {}", name, monitor_log, strerror(errno));
      (void)!::write(notify_write.get(), answer.data(), answer.size());
      ::_exit(1);
    }
    ::setsid();
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(log.get(), 2);
    prepared->notify_fd = std::move(notify_write);
    ::_exit(run_keeper(std::move(prepared.value())));
  }
  return PendingBoot{name, pid, std::move(notify_read), {}};
}

// Once the monitor has answered (its end of the pipe is closed).
Result<void> finish_boot(const Paths& paths, PendingBoot& boot) {
  if (boot.answer.rfind("ok", 0) == 0) {
    fmt::print("zone {} booted\n", boot.name);
    return {};
  }
  int status;
  ::waitpid(boot.keeper, &status, 0);  // the keeper's monitor gave up: the keeper has cleaned up and exits
  if (boot.answer.rfind("fail ", 0) == 0) return make_error(boot.answer.substr(5));  // the keeper's checks
  if (boot.answer.rfind("error ", 0) == 0) {
    return make_error("cannot boot zone " + boot.name + ": " + boot.answer.substr(6));
  }
  return make_error("cannot boot zone " + boot.name + ": its monitor died while booting; see " +
                    paths.monitor_log(boot.name));
}

}  // namespace

Result<int> boot_zone(const Paths& paths, const std::string& name) {
  auto pending = start_boot(paths, name, nullptr, {});
  if (!pending) return pending.error();
  (void)read_to_end(pending->notify.get(), pending->answer);  // nothing at all: the monitor died, said below
  VCON_TRY(finish_boot(paths, pending.value()));
  return 0;
}

Result<int> boot_zones(const Paths& paths, const std::vector<std::string>& names) {
  if (names.size() == 1) return boot_zone(paths, names[0]);
  // Every zone's root file system is read once for all of them, and a few
  // boots run at once: each monitor sets its zone up on its own, so this
  // command only forks and waits. A zone that fails is reported; the others
  // boot on.
  auto registered = registered_rootfs(paths);
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  std::size_t window = static_cast<std::size_t>(std::clamp(cpus * 4, 4L, 32L));
  std::vector<PendingBoot> pending;
  int failures = 0;
  std::size_t next = 0;
  while (next < names.size() || !pending.empty()) {
    while (next < names.size() && pending.size() < window) {
      auto started = start_boot(paths, names[next++], &registered, pending);
      if (!started) {
        fmt::print(stderr, "vcon: {}\n", started.error().message());
        ++failures;
        continue;
      }
      pending.push_back(std::move(started.value()));
    }
    if (pending.empty()) continue;
    std::vector<pollfd> fds;
    for (const auto& boot : pending) fds.push_back({boot.notify.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return errno_error("wait for the zones' monitors");
    }
    for (std::size_t i = pending.size(); i-- > 0;) {
      if (!fds[i].revents) continue;
      char buf[512];
      ssize_t n = ::read(pending[i].notify.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) {
        pending[i].answer.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (auto done = finish_boot(paths, pending[i]); !done) {
        fmt::print(stderr, "vcon: {}\n", done.error().message());
        ++failures;
      }
      pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  return failures ? 1 : 0;
}

namespace {
// The monitor's answer: {"ok", "killed", "how"}.
Result<json> stop_zone(const Paths& paths, const std::string& name, const char* op, int timeout) {
  VCON_TRY(require_running(paths, name));
  auto client = proto::MonitorClient::connect_control(paths.zone_socket(name));
  if (!client) return client.error();
  auto answer = client->request({{"op", op}, {"grace", timeout}}, timeout + 30);
  if (!answer) return make_error(std::string("cannot ") + op + " zone " + name + ": " + answer.error().message());
  return answer.value();
}

// halt and reboot: 0 when init did as asked; kExitKilled when the zone had
// to be killed (not asked for with --force), which the message says.
int stopped(const std::string& name, const char* done, const json& answer, int timeout, bool forced) {
  std::string how = answer.value("how", "");
  if (!answer.value("killed", false)) {
    fmt::print("zone {} {}{}\n", name, done, how.empty() ? "" : " (" + how + ")");
    return 0;
  }
  if (forced) {
    fmt::print("zone {} {} (killed at once, as asked)\n", name, done);
    return 0;
  }
  fmt::print("zone {} {}, but not cleanly: {}\n", name, done, how);
  fmt::print(stderr,
             "vcon: zone {}'s init did not stop within {} s and was killed (exit status {}); if its init is not the "
             "one vcon detected, set halt_signal and reboot_signal (vcon create --halt-signal, --reboot-signal)\n",
             name, timeout, kExitKilled);
  return kExitKilled;
}
}  // namespace

namespace {
// A zone with neither keeper nor monitor: nobody to ask init nicely; its
// cgroup holds all its processes, and they are killed together.
Result<int> halt_orphan(const Paths& paths, const std::string& name) {
  auto config = load_zone(paths, name);
  if (!config) return config.error();
  auto layout = host_cgroup_layout();
  if (!layout) return layout.error();
  ZoneCgroup cgroup(std::move(layout.value()), config->cgroup_name());
  cgroup.kill_all();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (cgroup.populated()) {
    if (std::chrono::steady_clock::now() > deadline) return make_error("zone " + name + "'s processes did not end");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  (void)cgroup.remove();
  for (const auto& path : {paths.zone_log(name), paths.zone_audit_log(name)}) {
    auto log = ConsoleLog::open(path);
    if (log) log->event("zone halted: it ran with neither keeper nor monitor; its processes were killed");
  }
  (void)remove_tree(paths.zone_run_dir(name));
  fmt::print("zone {} halted (it had no monitor: its processes were killed)\n", name);
  return 0;
}
}  // namespace

Result<int> halt_zone(const Paths& paths, const std::string& name, int timeout, bool force) {
  if (!zone_running(paths, name)) {
    auto config = load_zone(paths, name);
    if (config && zone_orphaned(config.value())) return halt_orphan(paths, name);
  }
  auto answer = stop_zone(paths, name, "halt", force ? 0 : timeout);
  if (!answer) return answer.error();
  VCON_TRY(wait_for_monitor_exit(paths, name, 10));
  return stopped(name, "halted", answer.value(), timeout, force);
}

Result<int> reboot_zone(const Paths& paths, const std::string& name, int timeout) {
  auto answer = stop_zone(paths, name, "reboot", timeout);
  if (!answer) return answer.error();
  return stopped(name, "rebooted", answer.value(), timeout, false);
}

Result<int> upgrade_command(const Paths& paths, const std::string& name, bool all, const std::string& binary) {
  if (all == !name.empty()) return make_error("vcon upgrade: name one zone, or give --all");
  std::string path = binary;
  char resolved[PATH_MAX];
  if (path.empty()) {
    ssize_t n = ::readlink("/proc/self/exe", resolved, sizeof resolved - 1);
    if (n <= 0) return errno_error("find this vcon binary");
    path.assign(resolved, static_cast<std::size_t>(n));
  } else if (::realpath(path.c_str(), resolved)) {
    path = resolved;
  }
  if (::access(path.c_str(), X_OK) != 0) return errno_error("vcon upgrade: " + path + " cannot run");
  std::vector<std::string> names;
  if (all) {
    for (const auto& zone : list_zones(paths)) {
      if (zone_running(paths, zone)) names.push_back(zone);
    }
  } else {
    VCON_TRY(require_running(paths, name));
    names.push_back(name);
  }
  int failures = 0;
  for (const auto& zone : names) {
    auto before = zone_state(paths, zone);
    int old_pid = before ? before->value("monitor_pid", -1) : -1;
    auto client = proto::MonitorClient::connect_control(paths.zone_socket(zone));
    auto answer = client ? client->request({{"op", "upgrade"}, {"binary", path}}, 30)
                         : Result<nlohmann::json>(client.error());
    if (!answer) {
      fmt::print(stderr, "vcon: cannot upgrade zone {}: {}\n", zone, answer.error().message());
      ++failures;
      continue;
    }
    // The new monitor is up once the state names it.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int new_pid = old_pid;
    while (new_pid == old_pid && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      auto after = zone_state(paths, zone);
      if (after) new_pid = after->value("monitor_pid", -1);
    }
    if (new_pid == old_pid) {
      fmt::print(stderr, "vcon: zone {}: no new monitor within 10 s; see {}\n", zone, paths.monitor_log(zone));
      ++failures;
      continue;
    }
    fmt::print("zone {}: monitor PID {} handed over to PID {} ({})\n", zone, old_pid, new_pid, path);
  }
  return failures ? 1 : 0;
}

namespace {

// Whether `file` in the log directory is one of zone `name`'s logs: its
// console log, audit log or monitor log, or a rotation of one (vcon's
// NAME.log.1, logrotate's NAME.log-20261130, either compressed).
bool is_zone_log(const std::string& name, std::string_view file) {
  for (const char* kind : {".log", ".audit.log", ".monitor.log"}) {
    std::string base = name + kind;
    if (file.substr(0, base.size()) != base) continue;
    std::string_view rest = file.substr(base.size());
    if (!rest.empty() && (rest[0] == '.' || rest[0] == '-') && rest.size() > 1 &&
        std::isdigit(static_cast<unsigned char>(rest[1]))) {
      rest.remove_prefix(1);
      while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest[0]))) rest.remove_prefix(1);
    }
    if (rest.empty() || rest == ".gz" || rest == ".xz" || rest == ".zst" || rest == ".bz2") return true;
  }
  return false;
}

// Removes zone `name`'s logs; how many there were.
Result<int> purge_zone_logs(const Paths& paths, const std::string& name) {
  UniqueFd dir(::open(paths.log_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) {
    if (errno == ENOENT) return 0;
    return errno_error("open " + paths.log_dir);
  }
  std::vector<std::string> found;
  DIR* listing = ::fdopendir(::dup(dir.get()));
  if (!listing) return errno_error("list " + paths.log_dir);
  for (dirent* entry = ::readdir(listing); entry; entry = ::readdir(listing)) {
    if (entry->d_type != DT_DIR && is_zone_log(name, entry->d_name)) found.push_back(entry->d_name);
  }
  ::closedir(listing);
  for (const auto& file : found) {
    if (::unlinkat(dir.get(), file.c_str(), 0) != 0 && errno != ENOENT) {
      return errno_error("remove " + paths.log_dir + "/" + file);
    }
  }
  return static_cast<int>(found.size());
}

}  // namespace

Result<int> destroy_zone(const Paths& paths, const std::string& name, bool force, bool purge) {
  VCON_TRY(validate_zone_name(name));
  if (!path_exists(paths.zone_dir(name)) && purge) {
    // A zone destroyed before: its logs may still be here.
    auto removed = purge_zone_logs(paths, name);
    if (!removed) return removed.error();
    if (*removed == 0) return make_error("zone " + name + " does not exist, and " + paths.log_dir + " has no logs of it");
    fmt::print("removed {} log files of zone {} (it was destroyed before)\n", *removed, name);
    return 0;
  }
  if (!path_exists(paths.zone_dir(name))) return make_error("zone " + name + " does not exist (vcon ls lists zones)");
  if (zone_running(paths, name)) {
    if (!force) return make_error("zone " + name + " is running (vcon halt " + name + " first, or destroy --force)");
    VCON_TRY(stop_zone(paths, name, "halt", 0));
    VCON_TRY(wait_for_monitor_exit(paths, name, 10));
  }
  // A zone whose monitor died may still run: its files stay while any of
  // its processes could change them under us.
  auto config = load_zone(paths, name);
  if (config) {
    auto layout = host_cgroup_layout();
    if (!layout) return layout.error();
    ZoneCgroup cgroup = zone_cgroup(config.value(), std::move(layout.value()));
    if (cgroup.populated()) {
      if (!force) {
        return make_error("zone " + name + " still has processes though no monitor runs it (cgroup " +
                          config->cgroup_name() + "); vcon destroy --force " + name + " ends them");
      }
      cgroup.kill_all();
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (cgroup.populated()) {
        if (std::chrono::steady_clock::now() > deadline) return make_error("zone " + name + "'s processes did not end");
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    (void)cgroup.remove();
  }
  VCON_TRY(remove_tree(paths.zone_dir(name)));
  (void)IdRegistry(paths.id_registry).release(paths.zone_dir(name));
  (void)remove_tree(paths.zone_run_dir(name));
  if (purge) {
    auto removed = purge_zone_logs(paths, name);
    if (!removed) return make_error("destroyed zone " + name + ", but not all its logs: " + removed.error().message());
    fmt::print("destroyed zone {} and its {} log files\n", name, *removed);
  } else {
    fmt::print("destroyed zone {}; its logs stay in {} ({}.log...; vcon destroy --purge {} removes them)\n", name,
               paths.log_dir, name, name);
  }
  return 0;
}

namespace {
// What a user who may not read the zone definitions (they are root's) may
// see: the running zones whose console the consoledb lets them use.
Result<int> list_zones_for_user(const Paths& paths, bool as_json) {
  ConsoleDbFile consoledb(paths.consoledb, nullptr);
  const ConsoleDb& db = consoledb.current();
  Caller caller = caller_for(::getuid());
  json zones = json::array();
  DIR* run = ::opendir(paths.run_dir.c_str());
  std::vector<std::string> names;
  for (dirent* entry = run ? ::readdir(run) : nullptr; entry; entry = ::readdir(run)) {
    std::string name = entry->d_name;
    if (validate_zone_name(name) && zone_running(paths, name) &&
        access_for(db, db.for_zone(name), caller) != Access::None) {
      names.push_back(name);
    }
  }
  if (run) ::closedir(run);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    auto state = zone_state(paths, name);
    zones.push_back({{"name", name},
                     {"state", "running"},
                     {"init_pid", state ? state->value("init_pid", -1) : -1},
                     {"uptime_seconds", wall_clock_seconds() - (state ? state->value("booted_at", wall_clock_seconds())
                                                                      : wall_clock_seconds())}});
  }
  if (as_json) {
    fmt::print("{}\n", json_text(zones, 2));
    return 0;
  }
  fmt::print("{:<24} {:<8} {:>9} {}\n", "NAME", "STATE", "INIT-PID", "UPTIME");
  for (auto& zone : zones) {
    fmt::print("{:<24} {:<8} {:>9} {}\n", zone["name"].get<std::string>(), "running", zone["init_pid"].get<int>(),
               format_uptime(zone["uptime_seconds"].get<double>()));
  }
  fmt::print(stderr, "vcon ls: as {} you see the running zones whose console the consoledb lets you use; zone "
                     "definitions ({}) are root's\n", caller.user, paths.state_dir);
  return 0;
}
}  // namespace

Result<int> list_zones_command(const Paths& paths, bool as_json) {
  if (::geteuid() != 0 && ::access((paths.state_dir + "/zones").c_str(), R_OK | X_OK) != 0) {
    if (errno != ENOENT) return list_zones_for_user(paths, as_json);
  }
  json zones = json::array();
  for (const auto& name : list_zones(paths)) {
    auto config = load_zone(paths, name);
    bool privileged = config && config->privileged;
    bool orphaned = !zone_running(paths, name) && config && zone_orphaned(config.value());
    json zone{{"name", name},
              {"state", "halted"},
              {"init_pid", nullptr},
              {"uptime_seconds", nullptr},
              {"isolation", privileged ? "privileged" : "userns"}};
    if (orphaned) zone["state"] = "orphaned";
    if (zone_running(paths, name)) {
      zone["state"] = "running";
      if (auto state = zone_state(paths, name)) {
        zone["init_pid"] = state->value("init_pid", -1);
        zone["uptime_seconds"] = wall_clock_seconds() - state->value("booted_at", wall_clock_seconds());
      }
    }
    zones.push_back(zone);
  }
  if (as_json) {
    fmt::print("{}\n", json_text(zones, 2));
    return 0;
  }
  fmt::print("{:<24} {:<8} {:>9} {:<8} {}\n", "NAME", "STATE", "INIT-PID", "UPTIME", "ISOLATION");
  bool any_privileged = false;
  for (auto& zone : zones) {
    bool running = zone["init_pid"].is_number();
    bool privileged = zone["isolation"] == "privileged";
    any_privileged = any_privileged || privileged;
    fmt::print("{:<24} {:<8} {:>9} {:<8} {}\n", zone["name"].get<std::string>(), zone["state"].get<std::string>(),
               running ? std::to_string(zone["init_pid"].get<int>()) : "-",
               running ? format_uptime(zone["uptime_seconds"].get<double>()) : "-",
               privileged ? "privileged (no boundary)" : "userns");
  }
  if (any_privileged) fmt::print("A privileged zone's root is the host's root: it is not a security boundary.\n");
  for (auto& zone : zones) {
    if (zone["state"] == "orphaned") {
      fmt::print("Zone {} is orphaned: it runs with neither keeper nor monitor, its console lost; vcon halt {} ends it.\n",
                 zone["name"].get<std::string>(), zone["name"].get<std::string>());
    }
  }
  return 0;
}

namespace {

// The zone's user names, read as the zone's data: inside its root, a regular
// file, bounded (a FIFO or /dev/zero there must not hang or bloat ps).
std::map<uid_t, std::string> zone_users(pid_t init_pid) {
  UniqueFd root(::open(("/proc/" + std::to_string(init_pid) + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return {};
  auto passwd = read_zone_file(root.get(), "/etc/passwd", 1 << 20);
  return passwd ? parse_passwd(passwd.value()) : std::map<uid_t, std::string>{};
}

// A command line as the zone set it, safe to print (no escape sequences).
std::string printable(const std::string& text) {
  std::string shown = make_visible(text);
  std::string out;
  for (char c : shown) {
    if (c == '\n') out += "^J";
    else if (c == '\t') out += "^I";
    else out += c;
  }
  return out;
}

}  // namespace

Result<int> ps_command(const Paths& paths, const std::string& name, bool as_json) {
  std::vector<std::string> names;
  if (!name.empty()) {
    VCON_TRY(require_running(paths, name));
    names.push_back(name);
  } else {
    for (const auto& zone : list_zones(paths)) {
      if (zone_running(paths, zone)) names.push_back(zone);
    }
  }
  json rows = json::array();
  for (const auto& zone : names) {
    auto init = running_init_pid(paths, zone);
    if (!init) continue;  // halted meanwhile
    auto users = zone_users(init.value());
    auto map = read_file("/proc/" + std::to_string(init.value()) + "/uid_map");
    auto uid_map = parse_id_map(map ? map.value() : "");
    for (const auto& process : processes_in_pid_namespace_of(init.value())) {
      auto uid = inside_id(uid_map, process.uid);
      auto user = uid ? users.find(*uid) : users.end();
      rows.push_back({{"zone", zone},
                      {"host_pid", process.host_pid},
                      {"zone_pid", process.zone_pid},
                      {"user", user != users.end() ? printable(user->second) : uid ? std::to_string(*uid) : "-"},
                      {"uid", uid ? json(*uid) : json(nullptr)},
                      {"host_uid", process.uid},
                      {"command", printable(process.command)}});
    }
  }
  if (as_json) {
    fmt::print("{}\n", json_text(rows, 2));
    return 0;
  }
  fmt::print("{:<16} {:>8} {:>8} {:<10} {:>10} {}\n", "ZONE", "HOST-PID", "ZONE-PID", "USER", "HOST-UID", "COMMAND");
  for (auto& row : rows) {
    fmt::print("{:<16} {:>8} {:>8} {:<10} {:>10} {}\n", row["zone"].get<std::string>(), row["host_pid"].get<int>(),
               row["zone_pid"].get<int>(), row["user"].get<std::string>(), row["host_uid"].get<std::uint32_t>(),
               row["command"].get<std::string>());
  }
  return 0;
}

Result<int> exec_command(const Paths& paths, const std::string& name, const std::vector<std::string>& argv) {
  auto init = running_init_pid(paths, name);
  if (!init) return init.error();
  auto config = load_zone(paths, name);
  if (!config) return config.error();
  auto layout = host_cgroup_layout();
  if (!layout) return layout.error();
  ZoneCgroup cgroup = zone_cgroup(config.value(), std::move(layout.value()));
  return exec_in_zone({config.value(), cgroup, init.value()}, argv);
}

}  // namespace vcon::cli
