// viewers [-s] N CMD...: N copies of CMD (a console client), each on a pty of
// its own, as N people with a terminal each would be.
//
// Without -s every pty master is read as fast as it fills (a terminal that
// keeps up); with -s nothing is ever read from them (a terminal that hangs:
// a stopped xterm, a dead ssh link).
//
// Talks to the driver on stdin/stdout:
//   prints "ready A TTY" once every client has shown something (attached)
//     and gone quiet, or after a time limit; A = clients that showed
//     something, TTY = the first client's pty (the bare pty case uses it);
//   byte counts start from zero at that point;
//   on end of stdin (or SIGTERM) it keeps reading until the clients are quiet,
//     prints "BYTES LINES" for each client, one per line, then ends them.
//
// LINES counts the different data lines a client showed: the driver's data
// numbers its lines "@NNNNNNNNN" (VIEWERS_LINES of them), and a number is
// counted once however often it comes (a redraw, a client that repeats).
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAX = 1000 };
static int master[MAX];
static pid_t child[MAX];
static long long got[MAX];
static int shown[MAX], alive[MAX];
static long lines;                  // how many numbered lines the data has
static unsigned char *seen[MAX];    // one bit per line number, per client
static long distinct[MAX];
static int digits[MAX];             // in "@NNNNNNNNN": how many digits so far, -1 outside
static long number[MAX];
static int n;
static volatile sig_atomic_t stop;

static void on_term(int sig) { (void)sig; stop = 1; }

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

// Looks for line numbers in what client i showed (they may span reads).
static void count_lines(int i, const char *p, ssize_t len) {
  for (ssize_t j = 0; j < len; j++) {
    char c = p[j];
    if (c == '@') {
      digits[i] = 0;
      number[i] = 0;
    } else if (digits[i] >= 0 && c >= '0' && c <= '9') {
      number[i] = number[i] * 10 + (c - '0');
      if (++digits[i] == 9) {
        long n = number[i];
        if (n < lines && !(seen[i][n / 8] & (1 << (n % 8)))) {
          seen[i][n / 8] |= 1 << (n % 8);
          distinct[i]++;
        }
        digits[i] = -1;
      }
    } else {
      digits[i] = -1;
    }
  }
}

// Waits up to ms for output from the clients (and, if watch_stdin, for the
// driver's end of input); reads it unless stalled. Returns bytes read.
static long long pump_once(int ms, int read_them, int watch_stdin) {
  struct pollfd p[MAX + 1];
  for (int i = 0; i < n; i++) p[i] = (struct pollfd){alive[i] ? master[i] : -1, POLLIN, 0};
  p[n] = (struct pollfd){watch_stdin ? 0 : -1, POLLIN, 0};
  if (poll(p, n + 1, ms) <= 0) return 0;
  if (p[n].revents) {
    char b[64];
    if (read(0, b, sizeof b) <= 0) stop = 1;
  }
  long long total = 0;
  static char buf[65536];
  for (int i = 0; i < n; i++) {
    if (!p[i].revents) continue;
    shown[i] = 1;
    if (!read_them) continue;
    ssize_t r = read(master[i], buf, sizeof buf);
    if (r > 0) {
      got[i] += r;
      total += r;
      if (lines) count_lines(i, buf, r);
    } else if (r == 0 || errno != EINTR) {
      alive[i] = 0;  // the client ended (EIO on a pty master)
    }
  }
  return total;
}

int main(int argc, char **argv) {
  int stall = argc > 1 && strcmp(argv[1], "-s") == 0;
  argv += stall;
  argc -= stall;
  if (argc < 3 || (n = atoi(argv[1])) < 1 || n > MAX) {
    fprintf(stderr, "usage: viewers [-s] N CMD...\n");
    return 2;
  }
  const char *nlines = getenv("VIEWERS_LINES");
  lines = nlines ? atol(nlines) : 0;
  for (int i = 0; i < n; i++) {
    digits[i] = -1;
    if (lines && !(seen[i] = calloc(lines / 8 + 1, 1))) return 1;
  }
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  signal(SIGPIPE, SIG_IGN);
  // Every client gets the same 80x24 window, so tmux and screen agree on
  // one size and no client makes the others redraw.
  struct winsize ws = {.ws_row = 24, .ws_col = 80};
  char first_tty[64] = "";
  for (int i = 0; i < n; i++) {
    char name[64];
    child[i] = forkpty(&master[i], name, NULL, &ws);
    if (child[i] < 0) {
      perror("viewers: forkpty");
      n = i;
      break;
    }
    if (child[i] == 0) {
      execvp(argv[2], argv + 2);
      _exit(127);
    }
    alive[i] = 1;
    if (i == 0) snprintf(first_tty, sizeof first_tty, "%s", name);
  }

  // Attach: wait until all have drawn something, then for 250 ms of quiet
  // (the banner or first screen is not console output and is not counted).
  // VIEWERS_WAIT=0 for a CMD that never shows anything (the bare pty's sleep).
  const char *wait = getenv("VIEWERS_WAIT");
  double limit = now() + (wait ? atof(wait) : 3 + 0.03 * n), quiet_since = now();
  while (!stop && now() < limit) {
    if (pump_once(50, !stall, 0) > 0) quiet_since = now();
    int all = 1;
    for (int i = 0; i < n; i++) all &= shown[i];
    if (all && now() - quiet_since > 0.25) break;
    if (stall && all) break;  // nothing is read, so no quiet to wait for
  }
  int attached = 0;
  for (int i = 0; i < n; i++) {
    attached += shown[i];
    got[i] = distinct[i] = 0;  // a first screen may show the last run's lines
    if (lines) memset(seen[i], 0, lines / 8 + 1);
  }
  printf("ready %d %s\n", attached, first_tty);
  fflush(stdout);

  // The measurement: keep up (or not) until the driver closes our stdin.
  while (!stop) {
    if (stall) {
      struct pollfd in = {0, POLLIN, 0};
      char b[64];
      if (poll(&in, 1, 1000) > 0 && read(0, b, sizeof b) <= 0) stop = 1;
    } else {
      pump_once(1000, 1, 1);
    }
  }
  // The tail: a client may still be catching up with what the writer wrote.
  if (!stall) {
    double end = now() + 10;
    quiet_since = now();
    while (now() < end && now() - quiet_since < 0.3)
      if (pump_once(50, 1, 0) > 0) quiet_since = now();
  }
  for (int i = 0; i < n; i++) printf("%lld %ld\n", got[i], distinct[i]);
  fflush(stdout);

  // End the clients as a closed terminal would (hangup), then for sure.
  for (int i = 0; i < n; i++) kill(child[i], SIGHUP);
  double grace = now() + 1;
  int left = n;
  while (left > 0 && now() < grace) {
    pid_t gone;
    while ((gone = waitpid(-1, NULL, WNOHANG)) > 0) {
      left--;
      for (int i = 0; i < n; i++)
        if (child[i] == gone) child[i] = 0;  // reaped: its pid may be reused
    }
    if (!stall) pump_once(20, 1, 0); else usleep(20000);
  }
  for (int i = 0; i < n; i++)
    if (child[i] > 0) kill(child[i], SIGKILL);
  while (waitpid(-1, NULL, 0) > 0) {}
  return 0;
}
