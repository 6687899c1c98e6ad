// bench/fanout driver, all in one run.
//  1. Throughput (ROUNDS interleaved rounds, default 3): busybox dd writes
//     256 MiB into a console. The limit: the same
//     dd into a bare pty drained by a plain reader. vcon: dd in a zone writing
//     its /dev/console while 1, 10 and 100 clients are attached and drained
//     (epoll, this thread). Both are timed from spawning the writer to its
//     exit; for vcon that includes `vcon exec` entering the zone (one more
//     exec, a few ms), a small bias against vcon. Also reported: how much of the
//     output each client received (a client that falls behind loses the
//     oldest data rather than slowing the zone).
//  2. Echo: one keystroke's round trip through `vcon console` to a zone whose
//     console echoes in the kernel (cooked mode, nobody reading), against the
//     same keystroke on a bare pty. Median and p99 of N round trips.
//   bench_fanout VCON ZONE_RUN_SOCKET ZONE [MIB] [ECHOES]
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "proto/frame.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// Runs argv with stdout/stderr captured; returns what it printed.
std::string run_capture(std::vector<std::string> args) {
  int p[2];
  if (pipe(p) != 0) std::exit(1);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 1);
    dup2(p[1], 2);
    close(p[0]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(p[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(p[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  close(p[0]);
  int status;
  waitpid(pid, &status, 0);
  return out;
}

double limit_rate(int mib) {
  int master, slave;
  termios raw{};
  cfmakeraw(&raw);
  if (openpty(&master, &slave, nullptr, &raw, nullptr) != 0) std::exit(1);
  std::string name = ttyname(slave);
  pid_t reader = fork();
  if (reader == 0) {
    close(slave);
    char buf[65536];
    while (read(master, buf, sizeof buf) > 0) {
    }
    _exit(0);
  }
  auto start = Clock::now();
  run_capture({"busybox", "dd", "if=/dev/zero", "of=" + name, "bs=65536", "count=" + std::to_string(mib * 16)});
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  close(slave);
  close(master);
  kill(reader, SIGKILL);
  waitpid(reader, nullptr, 0);
  return mib * 1048576.0 / seconds / 1e6;
}

int connect_client(const std::string& socket_path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  std::string hello = vcon::proto::encode(vcon::proto::FrameType::Hello, R"({"version":1,"mode":"ro"})");
  if (write(fd, hello.data(), hello.size()) != static_cast<ssize_t>(hello.size())) std::exit(1);
  return fd;
}

struct FanoutResult {
  double rate;
  double delivered_fraction;  // mean over clients of data received / data written
};

FanoutResult vcon_rate(const std::string& vcon, const std::string& socket_path, const std::string& zone,
                       int clients, int mib) {
  int epoll = epoll_create1(EPOLL_CLOEXEC);
  std::vector<int> fds;
  std::vector<vcon::proto::FrameDecoder> decoders(static_cast<std::size_t>(clients));
  std::vector<std::uint64_t> received(static_cast<std::size_t>(clients));
  for (int i = 0; i < clients; ++i) {
    int fd = connect_client(socket_path);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    epoll_event event{EPOLLIN, {.u32 = static_cast<std::uint32_t>(i)}};
    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
    fds.push_back(fd);
  }
  int out_pipe[2];
  if (pipe(out_pipe) != 0) std::exit(1);
  auto start = Clock::now();
  double seconds = 0;
  pid_t writer = fork();
  if (writer == 0) {
    dup2(out_pipe[1], 1);
    dup2(out_pipe[1], 2);
    execl(vcon.c_str(), "vcon", "exec", zone.c_str(), "--", "dd", "if=/dev/zero", "of=/dev/console", "bs=65536",
          ("count=" + std::to_string(mib * 16)).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out_pipe[1]);
  fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
  std::string dd_output;
  bool writer_done = false;
  auto quiet_since = Clock::now();
  static char buf[1 << 16];
  epoll_event events[128];
  // Drain until dd is done and the clients have had 300 ms of quiet.
  while (!writer_done || Clock::now() - quiet_since < std::chrono::milliseconds(300)) {
    int n = epoll_wait(epoll, events, 128, 50);
    for (int e = 0; e < n; ++e) {
      std::uint32_t i = events[e].data.u32;
      for (ssize_t got; (got = read(fds[i], buf, sizeof buf)) > 0;) {
        decoders[i].feed(std::string_view(buf, static_cast<std::size_t>(got)));
        while (auto frame = decoders[i].next()) {
          if (frame->ok() && frame->value().type == vcon::proto::FrameType::Data) {
            received[i] += frame->value().payload.size();
          }
        }
      }
    }
    if (n > 0) quiet_since = Clock::now();
    for (ssize_t got; (got = read(out_pipe[0], buf, sizeof buf)) > 0;) dd_output.append(buf, static_cast<std::size_t>(got));
    if (!writer_done && waitpid(writer, nullptr, WNOHANG) == writer) {
      writer_done = true;
      seconds = std::chrono::duration<double>(Clock::now() - start).count();
      for (ssize_t got; (got = read(out_pipe[0], buf, sizeof buf)) > 0;) dd_output.append(buf, static_cast<std::size_t>(got));
    }
  }
  for (int fd : fds) close(fd);
  close(epoll);
  close(out_pipe[0]);
  double total = 0;
  for (auto r : received) total += static_cast<double>(r);
  if (dd_output.find("records out") == std::string::npos) {
    std::fprintf(stderr, "bench_fanout: the writer in the zone failed: %s\n", dd_output.c_str());
    std::exit(1);
  }
  return {mib * 1048576.0 / seconds / 1e6, total / clients / (mib * 1048576.0)};
}

// One keystroke out, its echo back, `count` times; microseconds each.
std::vector<double> echo_times(int master, int count) {
  std::vector<double> times;
  char c = 'a', back[64];
  for (int i = 0; i < count; ++i) {
    if (i % 100 == 99) {  // keep the line short: a newline, untimed
      char nl = '\r';
      if (write(master, &nl, 1) != 1) std::exit(1);
      pollfd p{master, POLLIN, 0};
      while (poll(&p, 1, 200) > 0 && read(master, back, sizeof back) > 0) {
      }
    }
    auto start = Clock::now();
    if (write(master, &c, 1) != 1) std::exit(1);
    std::string got;
    while (got.find(c) == std::string::npos) {
      pollfd p{master, POLLIN, 0};
      if (poll(&p, 1, 5000) != 1) {
        std::fprintf(stderr, "bench_fanout: no echo\n");
        std::exit(1);
      }
      ssize_t n = read(master, back, sizeof back);
      if (n <= 0) std::exit(1);
      got.append(back, static_cast<std::size_t>(n));
    }
    times.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  return times;
}

void report_latency(const char* what, std::vector<double> times) {
  std::sort(times.begin(), times.end());
  std::printf("  %-22s median %7.1f us   p99 %7.1f us\n", what, times[times.size() / 2],
              times[times.size() * 99 / 100]);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: bench_fanout VCON SOCKET ZONE ECHO_ZONE [MIB] [ECHOES]\n");
    return 2;
  }
  std::string vcon = argv[1], socket_path = argv[2], zone = argv[3], echo_zone = argv[4];
  int mib = argc > 5 ? std::atoi(argv[5]) : 256;
  int echoes = argc > 6 ? std::atoi(argv[6]) : 2000;

  // Rounds interleave the limit and the three client counts, so a change in
  // the machine's speed during the run touches all of them alike; each
  // ratio is against its own round's limit, and medians are reported.
  const int rounds = std::max(1, std::atoi(std::getenv("ROUNDS") ? std::getenv("ROUNDS") : "3"));
  const int counts[] = {1, 10, 100};
  const double targets[] = {0.9, 0.8, 0.5};
  std::vector<double> limits, ratios[3], delivered[3];
  for (int round = 0; round < rounds; ++round) {
    double limit = limit_rate(mib);
    limits.push_back(limit);
    for (int c = 0; c < 3; ++c) {
      auto result = vcon_rate(vcon, socket_path, zone, counts[c], mib);
      ratios[c].push_back(result.rate / limit);
      delivered[c].push_back(result.delivered_fraction);
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  auto [low, high] = std::minmax_element(limits.begin(), limits.end());
  std::printf("console throughput, %d MiB written by dd, median of %d interleaved rounds:\n", mib, rounds);
  std::printf("  limit (bare pty)       %8.0f MB/s  (rounds ranged %.0f-%.0f)\n", median(limits), *low, *high);
  for (int c = 0; c < 3; ++c) {
    auto [rl, rh] = std::minmax_element(ratios[c].begin(), ratios[c].end());
    std::printf("  vcon, %3d client%s      %.2fx limit (rounds %.2f-%.2f; target >= %.1fx); clients got %.0f%% of it\n",
                counts[c], counts[c] == 1 ? " " : "s", median(ratios[c]), *rl, *rh, targets[c],
                median(delivered[c]) * 100);
  }

  // Echo through vcon console: it runs on a pty of ours, attached to a zone
  // whose console is in cooked mode with echo on and nobody reading it.
  std::printf("keystroke echo round trip, %d keystrokes:\n", echoes);
  int master, slave;
  termios raw{};
  cfmakeraw(&raw);
  raw.c_lflag |= ECHO;  // the bare pty echoes in the kernel, like the zone's console
  if (openpty(&master, &slave, nullptr, &raw, nullptr) != 0) return 1;
  auto bare = echo_times(master, echoes);
  close(master);
  close(slave);

  if (openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) return 1;
  pid_t client = fork();
  if (client == 0) {
    setsid();
    ioctl(slave, TIOCSCTTY, 0);
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(slave, 2);
    execl(vcon.c_str(), "vcon", "console", "-E", echo_zone.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(slave);
  std::string banner;
  char buf[4096];
  while (banner.find("[+") == std::string::npos) {  // attached: the join notice arrived
    pollfd p{master, POLLIN, 0};
    if (poll(&p, 1, 10000) != 1) return 1;
    ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) return 1;
    banner.append(buf, static_cast<std::size_t>(n));
  }
  auto through = echo_times(master, echoes);
  kill(client, SIGTERM);
  waitpid(client, nullptr, 0);
  close(master);
  report_latency("bare pty", bare);
  report_latency("through vcon console", through);
  std::sort(bare.begin(), bare.end());
  std::sort(through.begin(), through.end());
  std::printf("  added by vcon          median %7.1f us   p99 %7.1f us  (targets <= 20 us, <= 100 us)\n",
              through[through.size() / 2] - bare[bare.size() / 2],
              through[through.size() * 99 / 100] - bare[bare.size() * 99 / 100]);
  return 0;
}
