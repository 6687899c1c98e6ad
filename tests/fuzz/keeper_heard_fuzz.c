// libFuzzer: what vcon-keeper makes of one message on its channel, in C as
// the keeper parses it (src/keeper/vcon_keeper.c, heard()). The keeper is
// included whole, its main renamed. Each input is one message: its first
// byte says how many fds come with it (0 to 4, each a fresh /dev/null),
// the rest is the text, cut where hear_monitor() would cut it. After each
// message the keeper's state must be one it can act on: fds held only with
// a `console` written exactly as keeper::encode writes it, strings
// terminated, a `release`d fd held only from a `release` with one fd, and
// no fd left open that it does not hold (counted with a probe fd before and
// after).
#define main vcon_keeper_main
#include "keeper/vcon_keeper.c"
#undef main

#include <stdint.h>

static int lowest_free_fd(void) {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0) abort();
  close(fd);
  return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  struct keeper keeper = {.master = -1, .slave = -1, .channel = -1};
  int n_fds = data[0] % 5;
  int fds[4];
  int before = lowest_free_fd();
  for (int i = 0; i < n_fds; i++) {
    fds[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fds[i] < 0) abort();
  }
  char text[PATH_MAX + 64];
  size_t length = size - 1 < sizeof text - 1 ? size - 1 : sizeof text - 1;
  memcpy(text, data + 1, length);
  text[length] = '\0';
  if (strlen(text) != length) {  // hear_monitor() drops a message with a NUL in it
    for (int i = 0; i < n_fds; i++) close(fds[i]);
    return 0;
  }
  heard(&keeper, text, fds, n_fds);
  if (keeper.held != (keeper.master >= 0) || keeper.held != (keeper.slave >= 0)) abort();
  if (keeper.held) {  // only what keeper::encode writes is taken, and nothing else
    char canonical[sizeof text];
    snprintf(canonical, sizeof canonical, "console %d %s %d", keeper.init_pid, keeper.booted, keeper.boots);
    if (strcmp(canonical, text) != 0 || n_fds != 2 || keeper.init_pid <= 0 || keeper.boots < 0) abort();
  }
  if (memchr(keeper.booted, '\0', sizeof keeper.booted) == NULL) abort();
  if (memchr(keeper.upgrade, '\0', sizeof keeper.upgrade) == NULL) abort();
  if (keeper.upgrade[0] != '\0' && keeper.upgrade[0] != '/') abort();
  bool release = strcmp(text, "release") == 0 && n_fds == 1;  // held: exactly its fd, nothing else
  if (keeper.n_released != (release ? 1 : 0) || (release && keeper.released[0] != fds[0])) abort();
  close_held(&keeper);
  close_released(&keeper, LLONG_MAX);
  if (lowest_free_fd() != before) abort();  // every fd that came was kept or closed
  return 0;
}
