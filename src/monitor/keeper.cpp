// Starting a zone's keeper (the first monitor forked, then the exec of
// vcon-keeper: src/keeper/vcon_keeper.c), and the monitors it starts later.
#include "monitor/keeper.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <limits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "base/files.hpp"
#include "base/process_title.hpp"
#include "base/report.hpp"
#include "console/ring_buffer.hpp"
#include "monitor/keeper_channel.hpp"
#include "monitor/monitor.hpp"
#include "zone/zone_store.hpp"

namespace vcon {

namespace {

// An fd the exec'd keeper inherits under the same number.
int inherit(int fd) {
  ::fcntl(fd, F_SETFD, 0);
  return fd;
}

}  // namespace

Result<std::string> keeper_binary() {
  char buffer[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  if (n <= 0) return errno_error("readlink /proc/self/exe");
  std::string self(buffer, static_cast<std::size_t>(n));
  std::string dir = self.substr(0, self.rfind('/'));
  for (const std::string& path : {dir + "/vcon-keeper", dir + "/../libexec/vcon/vcon-keeper"}) {
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return make_error(fmt::format("the zone keeper vcon-keeper is neither next to {} nor in {}/../libexec/vcon "
                                "(make install puts it there)",
                                self, dir));
}

int run_keeper(KeeperOptions options) {
  ::signal(SIGPIPE, SIG_IGN);
  const Paths paths = options.paths;
  const std::string zone = options.config.name;
  auto fail = [&](const std::string& message) {
    report("cannot start the keeper of zone " + zone + ": " + message);
    std::string answer = "error cannot start the zone's keeper: " + message;
    (void)!::write(options.notify_fd.get(), answer.data(), answer.size());
    RemoveOnExit cleanup({paths.zone_socket(zone), paths.zone_state(zone), paths.zone_lock(zone)},
                         paths.zone_run_dir(zone));
    return 1;
  };
  // Until the keeper reads them from its signalfd, these wait (exec keeps
  // them pending); the monitor unblocks them.
  sigset_t handled;
  sigemptyset(&handled);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&handled, sig);
  ::sigprocmask(SIG_BLOCK, &handled, nullptr);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

  auto ring = RingBuffer::create_memfd(options.config.ring_size, zone);
  if (!ring) return fail(ring.error().message());
  UniqueFd exe(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!exe) return fail(std::string("open /proc/self/exe: ") + strerror(errno));
  int pair[2], go[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return fail(std::string("socketpair: ") + strerror(errno));
  }
  UniqueFd ours(pair[0]), theirs(pair[1]);
  // The monitor waits for this pipe's end before it boots: closed by our
  // exec (the keeper runs), or a byte (it cannot: the zone must not start).
  if (::pipe2(go, O_CLOEXEC) != 0) return fail(std::string("pipe: ") + strerror(errno));
  UniqueFd go_read(go[0]), go_write(go[1]);

  // The first monitor is a fork of `vcon boot`, as cheap as a fork is (no
  // exec on the boot's path, pages shared with every zone booted by the same
  // command); the keeper is this process, exec'd into the small vcon-keeper.
  pid_t pid = ::fork();
  if (pid < 0) return fail(std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    ours.reset();
    go_write.reset();
    exe.reset();
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
    set_process_title("vcon-monitor", {"vcon", "monitor", zone});
    MonitorOptions monitor;
    monitor.paths = paths;
    monitor.config = std::move(options.config);
    monitor.cgroups = std::move(options.cgroups);
    monitor.lock = std::move(options.lock);
    monitor.keeper = std::move(theirs);
    monitor.ring = std::move(ring.value());
    monitor.notify_fd = std::move(options.notify_fd);
    monitor.keeper_started = std::move(go_read);
    ::_exit(run_monitor(std::move(monitor)));
  }
  theirs.reset();
  go_read.reset();
  std::vector<std::string> args = {
      "vcon-keeper",
      zone,
      fmt::format("--exe={}", inherit(exe.get())),
      fmt::format("--channel={}", inherit(ours.get())),
      fmt::format("--lock={}", inherit(options.lock.get())),
      fmt::format("--ring={}", inherit(ring->get())),
      fmt::format("--monitor={}", pid),
      "--remove=" + paths.zone_socket(zone),
      "--remove=" + paths.zone_state(zone),
      "--remove=" + paths.zone_lock(zone),
      "--remove-dir=" + paths.zone_run_dir(zone),
      "--",
      "--state-dir=" + paths.state_dir,
      "--run-dir=" + paths.run_dir,
      "--log-dir=" + paths.log_dir,
      "--consoledb=" + paths.consoledb,
  };
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  ::execv(options.keeper_binary.c_str(), argv.data());
  std::string why = fmt::format("exec {}: {}", options.keeper_binary, strerror(errno));
  (void)!::write(go_write.get(), "x", 1);  // the monitor gives up before it boots anything
  go_write.reset();
  int status;
  ::waitpid(pid, &status, 0);
  return fail(why);
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
  options.started_by_keeper = true;
  return run_monitor(std::move(options));
}

}  // namespace vcon
