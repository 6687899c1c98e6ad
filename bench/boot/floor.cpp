// bench/boot's floor: the least a zone boot can cost here. The same setup
// steps vcon runs (clone3 with the namespaces, pivot_root, /proc, /sys, /dev,
// a devpts instance, the console bind, exec of init), with no CLI, monitor,
// daemon, log or socket around them. Prints microseconds from start to the
// first console byte, then kills the zone.
//   boot_floor ROOTFS INIT [ARGS...]
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "zone/zone_setup.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: boot_floor ROOTFS INIT [ARGS...]\n");
    return 2;
  }
  auto start = std::chrono::steady_clock::now();
  vcon::ZoneConfig config;
  config.name = "floor";
  config.hostname = "floor";
  config.rootfs = argv[1];
  config.init.assign(argv + 2, argv + argc);
  auto zone = vcon::launch_zone(config);
  if (!zone) {
    std::fprintf(stderr, "boot_floor: %s\n", zone.error().message().c_str());
    return 1;
  }
  pollfd p{zone->console_master.get(), POLLIN, 0};
  char byte;
  if (::poll(&p, 1, 10000) != 1 || ::read(p.fd, &byte, 1) != 1) {
    std::fprintf(stderr, "boot_floor: no console output\n");
    return 1;
  }
  auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  std::printf("%lld\n", static_cast<long long>(elapsed.count()));
  ::syscall(SYS_pidfd_send_signal, zone->init_pidfd.get(), SIGKILL, nullptr, 0);
  int status;
  ::waitpid(zone->init_pid, &status, 0);
  return 0;
}
