// vcon-keeper: a running zone's keeper (docs/monitor.md, "A zone outlives
// its monitor"). `vcon boot` forks the zone's first monitor and then execs
// this in its place, so the keeper is the parent of the monitor and (by the
// monitor's CLONE_PARENT) of the zone's init. It holds what must not die with
// a monitor: the zone's lock, the ring's memfd, the console's pty master and
// slave. When its monitor dies or hands over, it starts `vcon monitor NAME
// --handoff ...` with those fds. It also closes, a second after it gets
// them, the rotated-away logs its monitor releases: their last close may
// wait for the disk, and the monitor's loop must not.
//
// Small on purpose: one of these idles beside every zone, so it is C, static,
// with no heap (bench/fleet measures what it costs), and it listens only to
// its monitor, over a SOCK_SEQPACKET pair (src/monitor/keeper_channel.hpp):
//
//   monitor -> keeper   console INIT BOOTED_AT BOOTS + [master, slave]
//                       down
//                       upgrade PATH
//                       release + [fd]
//   keeper -> monitor   exited PID STATUS
//
//   vcon-keeper NAME --exe=FD --channel=FD --lock=FD --ring=FD --monitor=PID
//               [--remove=PATH]... [--remove-dir=PATH] -- [VCON-OPTION]...
//
// --exe is the running vcon binary (a new monitor runs that version, even
// if the file was replaced since); the VCON-OPTIONs come before `monitor` in
// a new monitor's command line. At the end it removes the --remove files,
// then the --remove-dir directory, while it still holds the lock.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAX_REMOVE = 8, MAX_VCON_OPTIONS = 16, MAX_MONITOR_ARGS = MAX_VCON_OPTIONS + 8 };
// Rotated-away logs (`release`): held a second, so that the monitor's own
// close of its copy comes first and is not the one that frees the file
// (hold_released). Four at most: the monitor sends one only when we have
// read the last, and a rotation takes 16 MiB of output by default.
enum { MAX_RELEASED = 4, RELEASE_HOLD_MS = 1000 };

struct keeper {
  const char *zone;
  int exe, lock, ring, channel, signals;
  pid_t monitor, last_monitor;
  long long started_at_ms;
  long long restart_at_ms;  // -1: no restart due
  long long backoff_ms;
  // What the keeper holds of a running zone (from the last `console`).
  bool held;
  pid_t init_pid;
  int master, slave;
  char booted[32];
  int boots;
  bool init_ended;  // init ended (reaped here) since; its waitpid status:
  int init_status;
  char upgrade[PATH_MAX];  // the next monitor's binary, or ""
  char reason[PATH_MAX + 512];
  bool down, done;
  const char *remove[MAX_REMOVE];
  int n_remove;
  const char *remove_dir;
  char *vcon_options[MAX_VCON_OPTIONS];
  int n_vcon_options;
  int released[MAX_RELEASED];  // oldest first
  long long released_at_ms[MAX_RELEASED];
  int n_released;
};

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

// A line on stderr (the zone's monitor log), as vcon's report() writes them.
static void report(const char *format, ...) {
  char line[sizeof ((struct keeper *)0)->reason + 128];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
  va_list args;
  va_start(args, format);
  int more = vsnprintf(line + n, sizeof line - n - 1, format, args);
  va_end(args);
  if (more < 0) return;
  n += (size_t)more < sizeof line - n - 1 ? (size_t)more : sizeof line - n - 2;
  line[n++] = '\n';
  (void)!write(2, line, n);
}

static void describe_end(char *out, size_t size, int status) {
  if (WIFEXITED(status)) {
    snprintf(out, size, "exited with status %d", WEXITSTATUS(status));
  } else {
    int sig = WTERMSIG(status);
    const char *abbrev = sigabbrev_np(sig);
    if (sig >= SIGRTMIN && sig <= SIGRTMAX) snprintf(out, size, "was killed by SIGRTMIN+%d", sig - SIGRTMIN);
    else if (abbrev) snprintf(out, size, "was killed by SIG%s", abbrev);
    else snprintf(out, size, "was killed by %d", sig);
  }
}

static void close_held(struct keeper *k) {
  if (k->held) {
    close(k->master);
    close(k->slave);
  }
  k->held = false;
  k->master = k->slave = -1;
}

// A decimal number as the monitor writes it (digits, no sign, no leading
// zero) that fits an int, then `end`: advances *p past both.
static bool take_int(const char **p, char end, int *out) {
  const char *s = *p;
  long value = 0;
  int digits = 0;
  for (; *s >= '0' && *s <= '9'; s++, digits++) {
    value = value * 10 + (*s - '0');
    if (value > INT_MAX) return false;
  }
  if (digits == 0 || (digits > 1 && **p == '0') || *s != end) return false;
  *out = (int)value;
  *p = s + (end ? 1 : 0);
  return true;
}

// "console INIT BOOTED_AT BOOTS", fields split by one space each, as
// keeper::encode writes it (BOOTED_AT: digits and a point, < 32 chars).
static bool parse_console(const char *text, int *pid, char *booted, size_t booted_size, int *boots) {
  if (strncmp(text, "console ", 8) != 0) return false;
  const char *p = text + 8;
  if (!take_int(&p, ' ', pid) || *pid <= 0) return false;
  size_t n = strspn(p, "0123456789.");
  if (n == 0 || n >= booted_size || p[n] != ' ') return false;
  memcpy(booted, p, n);
  booted[n] = '\0';
  p += n + 1;
  return take_int(&p, '\0', boots);
}

// Closes the released fds received at or before `until_ms` (a last close:
// it may wait for the disk, which only we can afford).
static void close_released(struct keeper *k, long long until_ms) {
  int kept = 0;
  for (int i = 0; i < k->n_released; i++) {
    if (k->released_at_ms[i] <= until_ms) {
      close(k->released[i]);
    } else {
      k->released[kept] = k->released[i];
      k->released_at_ms[kept++] = k->released_at_ms[i];
    }
  }
  k->n_released = kept;
}

// A rotated-away log's last reference (`release`): its last close frees the
// file and may wait for the disk, which the monitor must not. The monitor
// closes its own copy right after sending; closed here at once, ours could
// come first and leave the wait to it (2-5 ms each, strace). So it is held
// a second, and the oldest goes early when more come.
static void hold_released(struct keeper *k, int fd) {
  if (k->n_released == MAX_RELEASED) close_released(k, k->released_at_ms[0]);
  k->released[k->n_released] = fd;
  k->released_at_ms[k->n_released++] = now_ms();
}

// One message from the monitor; fds[] are what came with it.
static void heard(struct keeper *k, char *text, int *fds, int n_fds) {
  int pid, boots;
  char booted[sizeof k->booted];
  if (strcmp(text, "release") == 0 && n_fds == 1) {
    hold_released(k, fds[0]);
    return;
  }
  if (parse_console(text, &pid, booted, sizeof booted, &boots) && n_fds == 2) {
    close_held(k);
    k->held = true;
    k->init_pid = pid;
    k->master = fds[0];
    k->slave = fds[1];
    memcpy(k->booted, booted, sizeof booted);
    k->boots = boots;
    k->init_ended = false;
    return;
  }
  for (int i = 0; i < n_fds; i++) close(fds[i]);
  if (strcmp(text, "down") == 0) {
    k->down = true;
    close_held(k);
    k->init_ended = false;
  } else if (strncmp(text, "upgrade /", 9) == 0 && strlen(text + 8) < sizeof k->upgrade) {
    strcpy(k->upgrade, text + 8);
  }
  // Anything else is from a later version: ignored.
}

static void hear_monitor(struct keeper *k) {
  for (;;) {
    char text[PATH_MAX + 64];
    char control[CMSG_SPACE(4 * sizeof(int))];
    struct iovec iov = {text, sizeof text - 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    ssize_t n = recvmsg(k->channel, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    int fds[4], n_fds = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); n >= 0 && c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        if (n_fds < 4) fds[n_fds++] = fd;
        else close(fd);
      }
    }
    if (n <= 0) {  // the monitor is gone (its exit follows as SIGCHLD)
      for (int i = 0; i < n_fds; i++) close(fds[i]);
      close(k->channel);
      k->channel = -1;
      return;
    }
    text[n] = '\0';
    if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC) || strlen(text) != (size_t)n) {
      for (int i = 0; i < n_fds; i++) close(fds[i]);
      continue;
    }
    heard(k, text, fds, n_fds);
  }
}

static void tell_monitor(struct keeper *k, const char *text) {
  if (k->channel >= 0) (void)send(k->channel, text, strlen(text), MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void monitor_ended(struct keeper *k, int status) {
  if (k->channel >= 0) close(k->channel);
  k->channel = -1;
  if (k->down || !k->held) {  // the zone is down (or never came up): nothing left to keep
    k->done = true;
    return;
  }
  bool upgrading = k->upgrade[0] != '\0';
  if (upgrading) {
    snprintf(k->reason, sizeof k->reason, "monitor PID %d handed over to %s", (int)k->last_monitor, k->upgrade);
  } else {
    char end[64];
    describe_end(end, sizeof end, status);
    snprintf(k->reason, sizeof k->reason, "monitor PID %d %s", (int)k->last_monitor, end);
  }
  report("%s; keeper PID %d starts another", k->reason, (int)getpid());
  // One that keeps dying waits longer each time (to 5 s), not in a tight loop.
  if (upgrading || now_ms() - k->started_at_ms > 10000) k->backoff_ms = 0;
  else k->backoff_ms = k->backoff_ms * 2 < 250 ? 250 : (k->backoff_ms * 2 > 5000 ? 5000 : k->backoff_ms * 2);
  k->restart_at_ms = now_ms() + k->backoff_ms;
}

static void reap(struct keeper *k) {
  int status;
  for (pid_t pid; (pid = waitpid(-1, &status, WNOHANG)) > 0;) {
    if (pid == k->monitor) {
      k->monitor = -1;
      monitor_ended(k, status);
    } else if (k->held && pid == k->init_pid) {
      // The monitor decides what comes next (halt: it says down; reboot: it
      // sends the new console). Until it has, this stays, for a monitor that
      // might take over meanwhile.
      k->init_ended = true;
      k->init_status = status;
      char text[64];
      snprintf(text, sizeof text, "exited %d %d", (int)pid, status);
      tell_monitor(k, text);
    }
    // Anything else was an orphan of the zone's side (we are a subreaper).
  }
}

static void handle_signals(struct keeper *k) {
  struct signalfd_siginfo info;
  while (read(k->signals, &info, sizeof info) == (ssize_t)sizeof info) {
    int sig = (int)info.ssi_signo;
    if (sig == SIGCHLD) reap(k);
    else if (k->monitor > 0) kill(k->monitor, sig);  // a stop (SIGTERM: halt) or SIGHUP is the monitor's to handle
    else if (sig != SIGHUP && k->held) kill(k->init_pid, SIGKILL);  // no monitor to halt it gracefully
  }
}

// An fd the exec'd monitor inherits under the same number.
static int inherit(int fd) {
  if (fd >= 0) fcntl(fd, F_SETFD, 0);
  return fd;
}

// In the forked child: becomes the new monitor, or exits 127.
static void exec_monitor(struct keeper *k, int channel) {
  char handoff[512];
  int n = snprintf(handoff, sizeof handoff, "keeper=%d lock=%d ring=%d master=%d slave=%d init=%d booted=%s boots=%d",
                   inherit(channel), inherit(k->lock), inherit(k->ring), inherit(k->held ? k->master : -1),
                   inherit(k->held ? k->slave : -1), k->held ? (int)k->init_pid : -1, k->held ? k->booted : "0",
                   k->held ? k->boots : 0);
  if (k->init_ended) snprintf(handoff + n, sizeof handoff - (size_t)n, " exited=%d", k->init_status);
  char *argv[MAX_MONITOR_ARGS];
  int argc = 0;
  argv[argc++] = k->upgrade[0] ? k->upgrade : "vcon";
  for (int i = 0; i < k->n_vcon_options; i++) argv[argc++] = k->vcon_options[i];
  argv[argc++] = "monitor";
  argv[argc++] = (char *)k->zone;
  argv[argc++] = "--handoff";
  argv[argc++] = handoff;
  argv[argc++] = "--reason";
  argv[argc++] = k->reason;
  argv[argc] = NULL;
  extern char **environ;
  if (k->upgrade[0]) {
    execv(k->upgrade, argv);
    // The new binary cannot run: the running version carries on, rather than no monitor at all.
    size_t used = strlen(k->reason);
    snprintf(k->reason + used, sizeof k->reason - used,
             " (but %s could not be started: %s; the running version carries on)", k->upgrade, strerror(errno));
    argv[0] = "vcon";
  }
  execveat(k->exe, "", argv, environ, AT_EMPTY_PATH);
  report("keeper of zone %s: cannot start a monitor: exec vcon: %s", k->zone, strerror(errno));
  _exit(127);
}

static void start_monitor(struct keeper *k) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    report("keeper of zone %s: cannot start a monitor: socketpair: %s", k->zone, strerror(errno));
    k->restart_at_ms = now_ms() + 1000;
    return;
  }
  pid_t pid = fork();
  if (pid < 0) {
    report("keeper of zone %s: cannot start a monitor: fork: %s", k->zone, strerror(errno));
    close(pair[0]);
    close(pair[1]);
    k->restart_at_ms = now_ms() + 1000;
    return;
  }
  if (pid == 0) {
    close(pair[0]);
    close(k->signals);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    exec_monitor(k, pair[1]);
  }
  close(pair[1]);
  k->upgrade[0] = '\0';
  k->monitor = k->last_monitor = pid;
  k->started_at_ms = now_ms();
  k->channel = pair[0];
  fcntl(k->channel, F_SETFL, O_NONBLOCK);
  // The held fds stay: the monitor has copies, and may die too.
}

static void run(struct keeper *k) {
  while (!k->done) {
    struct pollfd fds[2] = {{k->signals, POLLIN, 0}, {k->channel, POLLIN, 0}};
    int timeout = -1;
    long long wake_at_ms = k->restart_at_ms;
    if (k->n_released > 0) {
      long long close_at_ms = k->released_at_ms[0] + RELEASE_HOLD_MS;
      if (wake_at_ms < 0 || close_at_ms < wake_at_ms) wake_at_ms = close_at_ms;
    }
    if (wake_at_ms >= 0) {
      long long wait = wake_at_ms - now_ms();
      timeout = wait < 0 ? 0 : (int)wait;
    }
    if (poll(fds, 2, timeout) < 0 && errno != EINTR) {
      report("keeper of zone %s: poll: %s", k->zone, strerror(errno));
      sleep(1);
      continue;
    }
    if (fds[1].revents) hear_monitor(k);
    if (fds[0].revents & POLLIN) handle_signals(k);
    close_released(k, now_ms() - RELEASE_HOLD_MS);
    if (k->restart_at_ms >= 0 && now_ms() >= k->restart_at_ms && k->monitor < 0 && !k->done) {
      k->restart_at_ms = -1;
      start_monitor(k);
    }
  }
}

static bool parse_fd(const char *text, int *out) {
  char *end;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno || *end || end == text || value < 0 || value > INT_MAX) return false;
  *out = (int)value;
  return true;
}

static int usage(const char *what) {
  report("vcon-keeper: %s (it is started by `vcon boot`, not by hand)", what);
  return 2;
}

// Static, not on main's stack: its pages stay untouched (and cost nothing)
// until written, where initialising a local would write all of it.
static struct keeper k;

int main(int argc, char **argv) {
  k.exe = k.lock = k.ring = k.channel = k.master = k.slave = -1;
  k.monitor = -1;
  k.restart_at_ms = -1;
  if (argc < 2 || argv[1][0] == '-') return usage("the zone's name is missing");
  k.zone = argv[1];
  int i = 2;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    const char *arg = argv[i];
    const char *value = strchr(arg, '=');
    if (!value) return usage(arg);
    value++;
    int pid;
    bool ok = true;
    if (strncmp(arg, "--exe=", 6) == 0) ok = parse_fd(value, &k.exe);
    else if (strncmp(arg, "--channel=", 10) == 0) ok = parse_fd(value, &k.channel);
    else if (strncmp(arg, "--lock=", 7) == 0) ok = parse_fd(value, &k.lock);
    else if (strncmp(arg, "--ring=", 7) == 0) ok = parse_fd(value, &k.ring);
    else if (strncmp(arg, "--monitor=", 10) == 0) ok = parse_fd(value, &pid) && pid > 0 && (k.monitor = pid);
    else if (strncmp(arg, "--remove=", 9) == 0 && k.n_remove < MAX_REMOVE) k.remove[k.n_remove++] = value;
    else if (strncmp(arg, "--remove-dir=", 13) == 0) k.remove_dir = value;
    else return usage(arg);
    if (!ok) return usage(arg);
  }
  for (i++; i < argc; i++) {
    if (k.n_vcon_options == MAX_VCON_OPTIONS) return usage("too many vcon options");
    k.vcon_options[k.n_vcon_options++] = argv[i];
  }
  if (k.exe < 0 || k.channel < 0 || k.lock < 0 || k.ring < 0 || k.monitor < 0) {
    return usage("needs --exe, --channel, --lock, --ring and --monitor");
  }
  int ours[] = {k.exe, k.channel, k.lock, k.ring};
  for (size_t j = 0; j < sizeof ours / sizeof ours[0]; j++) {
    if (fcntl(ours[j], F_SETFD, FD_CLOEXEC) != 0) return usage("an fd it was given is not open");
  }
  fcntl(k.channel, F_SETFL, O_NONBLOCK);
  k.last_monitor = k.monitor;
  k.started_at_ms = now_ms();

  signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);  // orphans of the zone's side end up here, not at PID 1
  // `vcon boot` blocked these before forking the monitor; any that came
  // since are pending, and read here.
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGCHLD);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGINT);
  sigaddset(&handled, SIGHUP);
  sigprocmask(SIG_BLOCK, &handled, NULL);
  k.signals = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
  if (k.signals < 0) {
    report("keeper of zone %s: signalfd: %s", k.zone, strerror(errno));
    return 1;
  }
  reap(&k);  // a monitor that ended before we ran
  run(&k);
  // Leave no socket, state or lock file behind; the lock file goes while we
  // still hold its lock (vcon's take_lock_file copes with that).
  for (int j = 0; j < k.n_remove; j++) unlink(k.remove[j]);
  if (k.remove_dir) rmdir(k.remove_dir);
  return 0;
}
