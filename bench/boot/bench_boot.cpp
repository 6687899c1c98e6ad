// bench/boot driver. Interleaves, over N runs, the time from starting
// `vcon boot` to the zone's first console byte reaching the monitor's log
// (a user-namespaced zone, and a --privileged one), and the same for two
// floors: boot_floor (floor.cpp: the same isolation steps with nothing
// around them) and bare_floor (bare_floor.c: the old unisolated boot, no
// vcon code), all timed from here: from spawning the program to seeing the
// byte. Then the PSS of an idle monitor, and how many idle zones `vcon boot`
// starts in 10 s. Every zone has its own busybox root file system (vcon
// create's default); the floors boot ROOTFS, a copy of the same template.
//   bench_boot VCON FLOOR BARE_FLOOR ROOTFS WORKDIR [RUNS]
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
const char* kInit[] = {"/bin/sh", "-c", "echo first-line; exec sleep 1000"};

pid_t spawn(const std::vector<std::string>& args, int stdout_fd = -1) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdout_fd >= 0) posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
    std::perror("spawn");
    std::exit(1);
  }
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

int run(const std::vector<std::string>& args) {
  int status;
  int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  waitpid(spawn(args, null), &status, 0);
  close(null);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

bool log_has_console_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(" | first-line") != std::string::npos) return true;
  }
  return false;
}

double time_vcon(const std::string& vcon, const std::string& log_dir, const std::string& zone) {
  std::string log = log_dir + "/" + zone + ".log";
  ::unlink(log.c_str());
  int watch = inotify_init1(IN_CLOEXEC);
  inotify_add_watch(watch, log_dir.c_str(), IN_MODIFY | IN_CREATE);
  auto start = Clock::now();
  pid_t boot = spawn({vcon, "boot", zone}, ::open("/dev/null", O_WRONLY | O_CLOEXEC));
  while (!log_has_console_line(log)) {
    pollfd p{watch, POLLIN, 0};
    if (poll(&p, 1, 10000) != 1) {
      std::fprintf(stderr, "bench_boot: no console output from vcon\n");
      std::exit(1);
    }
    char events[4096];
    [[maybe_unused]] auto n = read(watch, events, sizeof events);
  }
  double micros = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  close(watch);
  int status;
  waitpid(boot, &status, 0);
  run({vcon, "halt", zone, "--force"});
  return micros;
}

double time_floor(const std::string& floor, const std::string& rootfs, const std::string& ids = "") {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) std::exit(1);
  auto start = Clock::now();
  std::vector<std::string> args{floor, rootfs};
  if (!ids.empty()) args.push_back(ids);
  args.insert(args.end(), std::begin(kInit), std::end(kInit));
  pid_t pid = spawn(args, pipe_fds[1]);
  close(pipe_fds[1]);
  char buf[64];
  if (read(pipe_fds[0], buf, sizeof buf) <= 0) {  // the floor prints on the first byte
    std::fprintf(stderr, "bench_boot: the floor failed\n");
    std::exit(1);
  }
  double micros = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  close(pipe_fds[0]);
  int status;
  waitpid(pid, &status, 0);
  return micros;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Pss, Pss_Anon (the monitor's own memory) and Pss_File (its share of
// mapped binaries and libraries) from smaps_rollup, in KiB.
struct Pss {
  long total = -1, anon = -1, file = -1;
};
Pss pss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  Pss pss;
  std::string key;
  long value;
  while (in >> key) {
    if (key == "Pss:" && in >> value) pss.total = value;
    if (key == "Pss_Anon:" && in >> value) pss.anon = value;
    if (key == "Pss_File:" && in >> value) pss.file = value;
    in.ignore(1 << 20, '\n');
  }
  return pss;
}

pid_t monitor_pid(const std::string& run_dir, const std::string& zone) {
  std::ifstream in(run_dir + "/" + zone + "/state.json");
  std::stringstream text;
  text << in.rdbuf();
  auto s = text.str();
  auto at = s.find("\"monitor_pid\":");
  return at == std::string::npos ? -1 : std::atoi(s.c_str() + at + 14);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: bench_boot VCON FLOOR BARE_FLOOR ROOTFS WORKDIR [RUNS]\n");
    return 2;
  }
  std::string vcon = argv[1], floor = argv[2], bare = argv[3], rootfs = argv[4], work = argv[5];
  int runs = argc > 6 ? std::atoi(argv[6]) : 20;
  std::string log_dir = work + "/log", run_dir = work + "/run";
  setenv("VCON_STATE_DIR", (work + "/state").c_str(), 1);
  setenv("VCON_RUN_DIR", run_dir.c_str(), 1);
  setenv("VCON_LOG_DIR", log_dir.c_str(), 1);
  mkdir(log_dir.c_str(), 0755);

  // Each zone gets a root file system of its own (zones never share one):
  // the busybox template, the same layout as the floors' ROOTFS.
  auto create = [&](const std::string& name, bool privileged) {
    std::vector<std::string> args{vcon, "create", name};
    if (privileged) args.push_back("--privileged");
    args.push_back("--");
    args.insert(args.end(), std::begin(kInit), std::end(kInit));
    return run(args) == 0;
  };
  if (!create("bench", false) || !create("benchpriv", true)) return 1;

  std::vector<double> userns, privileged, isolated_floor, bare_floor;
  time_vcon(vcon, log_dir, "bench");  // warm caches for all
  time_vcon(vcon, log_dir, "benchpriv");
  // The floor borrows the bench zone's id range: they never run together.
  std::ifstream definition(work + "/state/zones/bench/zone.toml");
  std::string line, ids;
  while (std::getline(definition, line)) {
    if (line.rfind("id_base = ", 0) == 0) ids = line.substr(10);
  }
  time_floor(floor, rootfs, ids);
  time_floor(bare, rootfs);
  for (int i = 0; i < runs; ++i) {
    userns.push_back(time_vcon(vcon, log_dir, "bench"));
    privileged.push_back(time_vcon(vcon, log_dir, "benchpriv"));
    isolated_floor.push_back(time_floor(floor, rootfs, ids));
    bare_floor.push_back(time_floor(bare, rootfs));
  }
  double u = median(userns), p = median(privileged), f = median(isolated_floor), b = median(bare_floor);
  std::printf("boot to first console byte, median of %d interleaved runs:\n", runs);
  std::printf("  vcon boot (user namespace, cgroup, seccomp, masks)  %8.0f us\n", u);
  std::printf("  vcon boot --privileged                              %8.0f us\n", p);
  std::printf("  isolation floor (the same steps, nothing around)    %8.0f us\n", f);
  std::printf("  bare floor (clone, pivot_root, devpts, console)     %8.0f us\n", b);
  std::printf("  vcon / isolation floor  %5.2fx   (target <= 1.5x)\n", u / f);
  std::printf("  vcon / bare floor       %5.2fx\n", u / b);
  std::printf("  isolation floor / bare  %5.2fx   (what isolation itself costs)\n", f / b);

  run({vcon, "boot", "bench"});
  Pss pss = pss_kib(monitor_pid(run_dir, "bench"));
  std::printf("idle monitor PSS: %ld KiB = %ld KiB anonymous (its own) + %ld KiB shared files\n"
              "  (1 MiB ring reserved; pages count only once written)\n",
              pss.total, pss.anon, pss.file);
  run({vcon, "destroy", "bench", "--force"});
  run({vcon, "destroy", "benchpriv", "--force"});

  int booted = 0;
  auto start = Clock::now();
  while (Clock::now() - start < std::chrono::seconds(10)) {
    std::string name = "idle" + std::to_string(booted);
    if (!create(name, false) || run({vcon, "boot", name}) != 0) break;
    ++booted;
  }
  std::printf("idle zones created and booted in 10 s (full isolation): %d\n", booted);
  for (int i = 0; i < booted; ++i) run({vcon, "destroy", "idle" + std::to_string(i), "--force"});
  return 0;
}
