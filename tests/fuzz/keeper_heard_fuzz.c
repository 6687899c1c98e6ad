// libFuzzer: what vcon-keeper makes of a run of messages on its channel,
// in C as the keeper parses it (src/keeper/vcon_keeper.c, heard()). The
// keeper is included whole, its main renamed.
//
// An input is a run of records, each:
//   one byte: bits 0-2, how many fds come with the message (mod 5, each a
//     fresh /dev/null); bit 3, first let held released logs expire; bits
//     4-5, up to which of them (received at or before the Nth's time);
//   one byte: the text's length; the text, cut where hear_monitor() would.
// After each message the keeper's state must be one it can act on:
// - fds held only with a `console` written exactly as keeper::encode
//   writes it, and strings terminated;
// - released logs: at most MAX_RELEASED, oldest first, each one of the
//   fds a `release` with exactly one fd brought, each open, none twice;
// - no fd open that it does not hold, or closed that it does (counted
//   over the fds the harness made), and none left at the end.
#define main vcon_keeper_main
#include "keeper/vcon_keeper.c"
#undef main

#include <stdint.h>

enum { MAX_RECORDS = 64, PROBE_FDS = 256 };

static int lowest_free_fd(void) {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0) abort();
  close(fd);
  return fd;
}

static bool fd_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

// How many fds from `first` on are open (the fuzzer's own, and the keeper's).
static int open_from(int first) {
  int n = 0;
  for (int fd = first; fd < first + PROBE_FDS; fd++) n += fd_open(fd);
  return n;
}

static void check(const struct keeper *k, int first, int others, const char *text, int n_fds, bool took_console) {
  if (k->held != (k->master >= 0) || k->held != (k->slave >= 0)) abort();
  if (took_console) {  // only what keeper::encode writes is taken, and nothing else
    char canonical[PATH_MAX + 64];
    snprintf(canonical, sizeof canonical, "console %d %s %d", k->init_pid, k->booted, k->boots);
    if (strcmp(canonical, text) != 0 || n_fds != 2 || k->init_pid <= 0 || k->boots < 0) abort();
  }
  if (k->held && (!fd_open(k->master) || !fd_open(k->slave) || k->master == k->slave)) abort();
  if (memchr(k->booted, '\0', sizeof k->booted) == NULL) abort();
  if (memchr(k->upgrade, '\0', sizeof k->upgrade) == NULL) abort();
  if (k->upgrade[0] != '\0' && k->upgrade[0] != '/') abort();
  if (k->n_released < 0 || k->n_released > MAX_RELEASED) abort();
  for (int i = 0; i < k->n_released; i++) {
    if (!fd_open(k->released[i])) abort();
    if (i > 0 && k->released_at_ms[i] < k->released_at_ms[i - 1]) abort();  // oldest first
    for (int j = 0; j < i; j++) {
      if (k->released[j] == k->released[i]) abort();
    }
    if (k->held && (k->released[i] == k->master || k->released[i] == k->slave)) abort();
  }
  if (open_from(first) != others + (k->held ? 2 : 0) + k->n_released) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct keeper keeper = {.master = -1, .slave = -1, .channel = -1};
  int first = lowest_free_fd(), others = open_from(first);
  size_t at = 0;
  for (int record = 0; record < MAX_RECORDS && at + 2 <= size; record++) {
    uint8_t head = data[at], length = data[at + 1];
    at += 2;
    if (length > size - at) length = (uint8_t)(size - at);
    if ((head & 8) && keeper.n_released > 0) {
      int upto = ((head >> 4) & 3) % keeper.n_released;
      close_released(&keeper, keeper.released_at_ms[upto]);
    }
    int n_fds = (head & 7) % 5;
    int fds[4];
    for (int i = 0; i < n_fds; i++) {
      fds[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
      if (fds[i] < 0) abort();
    }
    char text[PATH_MAX + 64];
    memcpy(text, data + at, length);
    text[length] = '\0';
    at += length;
    if (strlen(text) != length) {  // hear_monitor() drops a message with a NUL in it
      for (int i = 0; i < n_fds; i++) close(fds[i]);
      continue;
    }
    heard(&keeper, text, fds, n_fds);
    // Fresh fds: what the keeper held before is open, so never fds[0].
    bool took_console = n_fds == 2 && keeper.held && keeper.master == fds[0];
    check(&keeper, first, others, text, n_fds, took_console);
    if (strcmp(text, "release") == 0 && n_fds == 1 &&
        (keeper.n_released == 0 || keeper.released[keeper.n_released - 1] != fds[0])) {
      abort();  // a release is held, the newest last
    }
  }
  close_held(&keeper);
  close_released(&keeper, LLONG_MAX);
  if (lowest_free_fd() != first) abort();  // every fd that came was kept or closed
  return 0;
}
