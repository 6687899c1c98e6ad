// pump FILE TTY: the "zone" side of a measurement. Writes FILE into TTY in
// 64 KiB write()s, the way a busy program writes to its console, and prints
// the seconds it took. A console server that stops draining its pty blocks
// these writes; the driver kills pump after its time limit and calls that a
// timeout.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: pump FILE TTY\n");
    return 2;
  }
  int in = open(argv[1], O_RDONLY);
  // O_NOCTTY: we are a writer, not the console's session.
  int out = open(argv[2], O_WRONLY | O_NOCTTY);
  if (in < 0 || out < 0) {
    perror("pump: open");
    return 1;
  }
  static char chunk[65536];
  double start = seconds();
  for (;;) {
    ssize_t n = read(in, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    // A tty may take part of a write; the rest goes in the next call.
    for (ssize_t done = 0; done < n;) {
      ssize_t w = write(out, chunk + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        perror("pump: write");
        return 1;
      }
      done += w;
    }
  }
  printf("%.6f\n", seconds() - start);
  return 0;
}
