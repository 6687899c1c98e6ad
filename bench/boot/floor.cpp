// bench/boot's isolation floor: the least a fully isolated zone boot can cost
// here. The same setup steps vcon runs (a cgroup, clone3 with a user
// namespace and the others, the idmapped root, /proc, /sys, /dev, masks,
// devpts and the console bind, seccomp, exec of init), with no CLI,
// monitor, daemon, log or socket around them. Prints microseconds from
// start to the first console byte, then kills the zone and cleans up.
//   boot_floor ROOTFS INIT [ARGS...]
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "base/paths.hpp"
#include "zone/cgroup.hpp"
#include "zone/id_ranges.hpp"
#include "zone/zone_setup.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: boot_floor ROOTFS INIT [ARGS...]\n");
    return 2;
  }
  vcon::Paths paths;
  paths.resolve_from_environment();
  char owner[] = "/tmp/vcon-floor-XXXXXX";  // holds the id range while we run
  if (!::mkdtemp(owner)) return 1;
  vcon::IdRegistry registry(paths.id_registry);
  auto layout = vcon::host_cgroup_layout();
  auto ids = registry.allocate(owner);
  if (!layout || !ids) {
    std::fprintf(stderr, "boot_floor: %s\n", (!layout ? layout.error() : ids.error()).message().c_str());
    return 1;
  }
  vcon::ZoneConfig config;
  config.name = "floor";
  config.hostname = "floor";
  config.rootfs = argv[1];
  config.init.assign(argv + 2, argv + argc);
  config.ids = ids.value();
  vcon::ZoneCgroup cgroup(std::move(layout.value()), config.cgroup_name());

  auto start = std::chrono::steady_clock::now();
  auto made = cgroup.create({}, std::pair{config.ids.base, config.ids.base});
  auto zone = made ? vcon::launch_zone(config, cgroup) : vcon::Result<vcon::LaunchedZone>(made.error());
  int status = 0;
  if (!zone) {
    std::fprintf(stderr, "boot_floor: %s\n", zone.error().message().c_str());
    status = 1;
  } else {
    pollfd p{zone->console_master.get(), POLLIN, 0};
    char byte;
    if (::poll(&p, 1, 10000) != 1 || ::read(p.fd, &byte, 1) != 1) {
      std::fprintf(stderr, "boot_floor: no console output\n");
      status = 1;
    } else {
      auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
      std::printf("%lld\n", static_cast<long long>(elapsed.count()));
    }
    ::syscall(SYS_pidfd_send_signal, zone->init_pidfd.get(), SIGKILL, nullptr, 0);
    int wait_status;
    ::waitpid(zone->init_pid, &wait_status, 0);
  }
  cgroup.kill_all();
  while (cgroup.populated()) ::usleep(1000);
  (void)cgroup.remove();
  (void)registry.release(owner);
  ::rmdir(owner);
  return status;
}
