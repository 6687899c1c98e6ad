// bench/boot's isolation floor: the least a fully isolated zone boot can cost
// here. The same setup steps vcon runs (a cgroup, clone3 with a user
// namespace and the others, the idmapped root, /proc, /sys, /dev, masks,
// devpts and the console bind, seccomp, exec of init), with no CLI,
// monitor, daemon, log or socket around them. Prints microseconds from
// start to the first console byte, then kills the zone and cleans up. It
// runs as the zone IDBASE's range (that of a halted zone of the caller's:
// taking a range from the registry would time an fsync that no boot does).
//   boot_floor ROOTFS IDBASE INIT [ARGS...]
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "zone/cgroup.hpp"
#include "zone/id_ranges.hpp"
#include "zone/zone_setup.hpp"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: boot_floor ROOTFS IDBASE INIT [ARGS...]\n");
    return 2;
  }
  auto start = std::chrono::steady_clock::now();
  auto layout = vcon::host_cgroup_layout();
  if (!layout) {
    std::fprintf(stderr, "boot_floor: %s\n", layout.error().message().c_str());
    return 1;
  }
  vcon::ZoneConfig config;
  config.name = "floor";
  config.hostname = "floor";
  config.rootfs = argv[1];
  config.ids = {static_cast<std::uint32_t>(std::strtoul(argv[2], nullptr, 10)), vcon::kZoneIdCount};
  config.init.assign(argv + 3, argv + argc);
  vcon::ZoneCgroup cgroup(std::move(layout.value()), config.cgroup_name());

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
      std::fflush(stdout);  // the bench times until it reads this line
    }
    ::syscall(SYS_pidfd_send_signal, zone->init_pidfd.get(), SIGKILL, nullptr, 0);
    int wait_status;
    ::waitpid(zone->init_pid, &wait_status, 0);
  }
  cgroup.kill_all();
  while (cgroup.populated()) ::usleep(1000);
  (void)cgroup.remove();
  return status;
}
