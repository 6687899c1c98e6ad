// keyecho N CMD...: CMD (a console client, or `sleep` for the bare pty) on a
// pty of its own; types N keys one at a time into that pty and times each
// until the key shows up in what comes back: the console's echo, all the way
// round. Prints "COUNT MEDIAN_US P99_US"; with KEYECHO_SAMPLES=FILE it also
// appends every key's time (µs, one a line) to FILE, so that rounds can be
// pooled: one p99 over all their keys moves less than any round's.
//
// tmux and screen redraw with escape sequences full of letters, so the key
// is looked for only in text outside escape sequences, and no key repeats
// on a line (40 different keys, then ^U clears the line).
#define _GNU_SOURCE
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char keys[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN";  // 40
static int fd;

static double micros(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

// Where we are in the output stream: plain text or inside an escape sequence.
enum { TEXT, ESC, ESC_MORE, CSI, STRING, STRING_ESC } state = TEXT;

// Feeds output through the escape sequence filter; 1 if key was in the text.
static int feed(const char *p, ssize_t len, char key) {
  int seen = 0;
  for (ssize_t i = 0; i < len; i++) {
    unsigned char c = p[i];
    switch (state) {
      case TEXT: if (c == 0x1b) state = ESC; else if (c == (unsigned char)key) seen = 1; break;
      case ESC:
        state = c == '[' ? CSI : (c == ']' || c == 'P' || c == '_' || c == '^') ? STRING
              : (c >= 0x20 && c <= 0x2f) ? ESC_MORE : TEXT;
        break;
      case ESC_MORE: if (c < 0x20 || c > 0x2f) state = TEXT; break;
      case CSI: if (c >= 0x40 && c <= 0x7e) state = TEXT; break;
      case STRING: if (c == 0x07) state = TEXT; else if (c == 0x1b) state = STRING_ESC; break;
      case STRING_ESC: state = TEXT; break;
    }
  }
  return seen;
}

// Reads until nothing came for quiet_ms (at most max_ms); 1 if anything came.
static int drain(int quiet_ms, int max_ms) {
  static char buf[65536];
  struct pollfd p = {fd, POLLIN, 0};
  double end = micros() + max_ms * 1e3;
  int any = 0;
  while (micros() < end && poll(&p, 1, quiet_ms) > 0) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r <= 0) break;
    feed(buf, r, 0);
    any = 1;
  }
  return any;
}

// One keystroke into the client's terminal.
static void type(char c) {
  if (write(fd, &c, 1) != 1) perror("keyecho: write");
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  int n;
  if (argc < 3 || (n = atoi(argv[1])) < 1) {
    fprintf(stderr, "usage: keyecho N CMD...\n");
    return 2;
  }
  struct winsize ws = {.ws_row = 24, .ws_col = 80};
  pid_t pid = forkpty(&fd, NULL, NULL, &ws);
  if (pid < 0) { perror("keyecho: forkpty"); return 1; }
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    _exit(127);
  }
  // Let the client attach and draw: its first output (2 s at most;
  // KEYECHO_WAIT=0 for the bare pty's sleep, which shows nothing), then
  // quiet. Then start from an empty line.
  const char *wait = getenv("KEYECHO_WAIT");
  int first = wait ? atoi(wait) : 2000;
  if (first > 0 && drain(first, first)) drain(300, 5000);
  type(0x15);
  drain(50, 1000);

  double *took = calloc(n, sizeof *took);
  int done = 0;
  static char buf[65536];
  for (int i = 0; i < n; i++) {
    if (i > 0 && i % 40 == 0) {
      type(0x15);  // ^U: the kernel erases the line (echoke)
      drain(20, 500);
    }
    char key = keys[i % 40];
    double start = micros();
    type(key);
    int seen = 0;
    struct pollfd p = {fd, POLLIN, 0};
    while (!seen && poll(&p, 1, 2000) > 0) {
      ssize_t r = read(fd, buf, sizeof buf);
      if (r <= 0) break;
      seen = feed(buf, r, key);
    }
    if (!seen) {
      fprintf(stderr, "keyecho: key %d (%c) did not come back within 2 s\n", i, key);
      break;
    }
    took[done++] = micros() - start;
    drain(2, 100);  // a redraw may trail the echo; not the next key's
  }
  type(0x15);  // leave the console's line empty for the next one
  drain(50, 500);

  const char *samples = getenv("KEYECHO_SAMPLES");
  if (samples) {
    FILE *f = fopen(samples, "a");  // a failure shows as samples missing there
    if (f) {
      for (int i = 0; i < done; i++) fprintf(f, "%.1f\n", took[i]);
      if (fclose(f) != 0) perror("keyecho: KEYECHO_SAMPLES");
    } else {
      perror("keyecho: KEYECHO_SAMPLES");
    }
  }
  qsort(took, done, sizeof *took, by_value);
  if (done > 0) {
    int p99 = (int)(0.99 * done + 0.999999) - 1;  // nearest rank
    printf("%d %.1f %.1f\n", done, took[done / 2], took[p99 < 0 ? 0 : p99]);
  } else {
    printf("0 nan nan\n");
  }
  fflush(stdout);
  kill(pid, SIGHUP);
  int gone = 0;
  for (int t = 0; t < 50 && !gone; t++) {
    drain(20, 20);  // a client may want to restore its terminal on the way out
    gone = waitpid(pid, NULL, WNOHANG) == pid;
  }
  if (!gone) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
  }
  return done == n ? 0 : 1;
}
