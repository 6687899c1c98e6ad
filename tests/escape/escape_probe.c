/* escape_probe: the attacks of a hostile zone root, one per argument, run
 * inside a zone by tests/e2e/test_isolation.py (static, so it runs on a
 * busybox root file system). Each attack prints one line:
 *   NAME blocked ERRNO_NAME      the kernel or vcon refused it
 *   NAME ESCAPED what            it worked: the test fails
 * It never changes the host unless an attack succeeds; those that would are
 * aimed at harmless targets where possible.
 *
 * On the host, `escape_probe with-key SECRET -- CMD...` runs CMD in a new
 * session keyring holding a key whose payload is SECRET (to check that a
 * zone cannot read the keyring of whoever booted it). */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int say(const char* name, int ok, const char* what) {
  if (ok) printf("%s ESCAPED %s\n", name, what);
  else printf("%s blocked %s\n", name, strerrorname_np(errno) ? strerrorname_np(errno) : "?");
  fflush(stdout);
  return 0;
}

/* Writes `text` to `path`; 0 if it was taken. */
static int write_file(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, text, strlen(text));
  int saved = errno;
  close(fd);
  errno = saved;
  return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int devtmpfs(void) {
  mkdir("/tmp/devtmpfs", 0700);
  int rc = mount("devtmpfs", "/tmp/devtmpfs", "devtmpfs", 0, NULL);
  if (rc == 0) umount2("/tmp/devtmpfs", MNT_DETACH);
  return say("devtmpfs", rc == 0, "mounted a devtmpfs: the host's devices");
}

/* argv: MAJOR MINOR of the host's root file system's block device */
static int block_device(int major, int minor) {
  int rc = mknod("/tmp/hostdisk", S_IFBLK | 0600, makedev(major, minor));
  if (rc == 0) {
    int fd = open("/tmp/hostdisk", O_RDONLY);
    unlink("/tmp/hostdisk");
    if (fd >= 0) {
      close(fd);
      return say("block-device", 1, "opened the host's disk");
    }
  }
  say("block-device", 0, "");
  mkdir("/tmp/hostroot", 0700);
  rc = mount("/dev/vda", "/tmp/hostroot", "ext4", MS_RDONLY, NULL);
  if (rc == 0) umount2("/tmp/hostroot", MNT_DETACH);
  return say("disk-mount", rc == 0, "mounted the host's disk");
}

/* "shocker": the host's root directory by handle (ext4 root inode 2). */
static int open_by_handle(void) {
  struct {
    struct file_handle handle;
    unsigned int ino_gen[2];
  } h;
  h.handle.handle_bytes = 8;
  h.handle.handle_type = 1; /* FILEID_INO32_GEN */
  h.ino_gen[0] = 2;
  h.ino_gen[1] = 0;
  int mount_fd = open("/", O_RDONLY | O_DIRECTORY);
  int fd = open_by_handle_at(mount_fd, &h.handle, O_RDONLY | O_DIRECTORY);
  int saved = errno;
  close(mount_fd);
  if (fd >= 0) {
    int shadow = openat(fd, "etc/shadow", O_RDONLY);
    close(fd);
    if (shadow >= 0) close(shadow);
    return say("open-by-handle", 1, shadow >= 0 ? "opened the host's /etc/shadow" : "opened the host's root");
  }
  errno = saved;
  return say("open-by-handle", 0, "");
}

/* The value a file has now: what the attacks write back, so that even one
 * that got through changes nothing (the test then fails on its report). */
static const char* current(const char* path) {
  static char value[256];
  strcpy(value, "core\n");
  int fd = open(path, O_RDONLY);
  if (fd >= 0) {
    ssize_t n = read(fd, value, sizeof value - 1);
    value[n > 0 ? n : 0] = 0;
    close(fd);
  }
  return value;
}

static int core_pattern(void) {
  const char* path = "/proc/sys/kernel/core_pattern";
  say("core-pattern", write_file(path, current(path)) == 0, "wrote the host's core_pattern");
  /* The masks are the zone's own mounts: it may take them away. The kernel
   * must still refuse. */
  umount2("/proc/sys", MNT_DETACH);
  return say("core-pattern-unmasked", write_file(path, current(path)) == 0,
             "wrote the host's core_pattern after unmounting /proc/sys");
}

static int sysrq(void) {
  /* 'h' only prints help to the kernel log, should it ever get through */
  return say("sysrq", write_file("/proc/sysrq-trigger", "h") == 0, "wrote the host's sysrq-trigger");
}

static int sysfs(void) {
  /* mount -o remount,rw /sys (a superblock remount), then as a bind */
  int rc = mount(NULL, "/sys", NULL, MS_REMOUNT, NULL);
  say("sys-remount", rc == 0, "remounted sysfs read-write");
  mount(NULL, "/sys", NULL, MS_REMOUNT | MS_BIND, NULL);
  /* A host-wide knob (KSM), written with the value it has. */
  const char* ksm = "/sys/kernel/mm/ksm/run";
  return say("sys-write", write_file(ksm, current(ksm)) == 0, "wrote the host's /sys/kernel/mm/ksm/run");
}

static int remount_root(void) {
  int rc = mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL);
  if (rc == 0) mount(NULL, "/", NULL, MS_REMOUNT, NULL);
  return say("remount-root", rc == 0, "remounted the root file system's superblock");
}

static int host_tty(void) {
  int rc = mknod("/tmp/tty1", S_IFCHR | 0600, makedev(4, 1));
  int fd = rc == 0 ? open("/tmp/tty1", O_WRONLY | O_NOCTTY) : -1;
  unlink("/tmp/tty1");
  if (fd >= 0) close(fd);
  say("host-tty", fd >= 0, "opened the host's tty1");
  int console = open("/dev/console", O_RDWR | O_NOCTTY);
  char c = 'x';
  rc = ioctl(console, TIOCSTI, &c);
  close(console);
  return say("tiocsti", rc == 0, "typed into a terminal with TIOCSTI");
}

static int kmsg(void) {
  int rc = mknod("/tmp/kmsg", S_IFCHR | 0600, makedev(1, 11));
  int fd = rc == 0 ? open("/tmp/kmsg", O_WRONLY) : -1;
  unlink("/tmp/kmsg");
  if (fd >= 0) close(fd);
  say("kmsg", fd >= 0, "opened the host's /dev/kmsg");
  char buf[64];
  return say("syslog", syscall(SYS_syslog, 3, buf, sizeof buf) >= 0, "read the kernel log");
}

/* Looks for SECRET in every key this process can reach. */
static int keyring(const char* secret) {
  long found = 0;
  int denied_errno = 0;
  for (int ring = KEY_SPEC_THREAD_KEYRING; ring >= KEY_SPEC_USER_SESSION_KEYRING; --ring) {
    int ids[256];
    long n = syscall(SYS_keyctl, KEYCTL_READ, ring, ids, sizeof ids);
    if (n < 0) {
      denied_errno = errno;
      continue;
    }
    for (long i = 0; i < n / (long)sizeof(int) && i < 256; ++i) {
      char payload[256] = {0};
      if (syscall(SYS_keyctl, KEYCTL_READ, ids[i], payload, sizeof payload - 1) > 0 && strstr(payload, secret)) found = 1;
    }
  }
  errno = denied_errno ? denied_errno : EACCES;
  return say("keyring", found, "read the key of whoever booted the zone");
}

static int swap(void) {
  /* EPERM, not ENOENT: the call must not get as far as the path */
  int rc = swapoff("/no-such-swap-file");
  return say("swapoff", rc == 0 || errno != EPERM, "reached swapoff(2) past the permission check");
}

static int modules(void) {
  int fd = open("/bin/busybox", O_RDONLY);
  int rc = (int)syscall(SYS_finit_module, fd, "", 0);
  close(fd);
  say("finit-module", rc == 0 || errno != EPERM, "reached module loading");
  rc = (int)syscall(SYS_kexec_load, 0, 0, NULL, 0);
  return say("kexec", rc == 0 || errno != EPERM, "reached kexec");
}

/* A zone's root may mount a proc of its own, without vcon's masks (they
 * are its own mounts, as in LXC and podman): the kernel must refuse there
 * too. */
static int new_proc(void) {
  mkdir("/tmp/proc2", 0700);
  if (mount("proc", "/tmp/proc2", "proc", 0, NULL) != 0) return say("proc-unmasked", 0, "");
  const char* path = "/tmp/proc2/sys/kernel/core_pattern";
  say("proc-unmasked", write_file(path, current(path)) == 0, "wrote the host's core_pattern through a proc of its own");
  int rc = write_file("/tmp/proc2/sysrq-trigger", "h");
  umount2("/tmp/proc2", MNT_DETACH);
  return say("proc-unmasked-sysrq", rc == 0, "wrote sysrq-trigger through a proc of its own");
}

static int with_key(const char* secret, char** argv) {
  if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0) return perror("join"), 1;
  if (syscall(SYS_add_key, "user", "vcon-escape-test", secret, strlen(secret), KEY_SPEC_SESSION_KEYRING) < 0) {
    return perror("add_key"), 1;
  }
  execvp(argv[0], argv);
  return perror("exec"), 1;
}

/* Many supplementary groups make /proc/PID/status long: a process must not
 * drop out of `vcon ps` that way. */
static int with_groups(int count, char** argv) {
  static gid_t groups[65536];
  for (int i = 0; i < count && i < 65536; ++i) groups[i] = (gid_t)(1000 + i);
  if (setgroups((size_t)count, groups) != 0) return perror("setgroups"), 1;
  execvp(argv[0], argv);
  return perror("exec"), 1;
}

int main(int argc, char** argv) {
  if (argc >= 4 && strcmp(argv[1], "with-key") == 0 && strcmp(argv[3], "--") == 0) return with_key(argv[2], argv + 4);
  if (argc >= 5 && strcmp(argv[1], "with-groups") == 0 && strcmp(argv[3], "--") == 0) {
    return with_groups(atoi(argv[2]), argv + 4);
  }
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (!strcmp(a, "devtmpfs")) devtmpfs();
    else if (!strcmp(a, "block-device") && i + 2 < argc) block_device(atoi(argv[i + 1]), atoi(argv[i + 2])), i += 2;
    else if (!strcmp(a, "open-by-handle")) open_by_handle();
    else if (!strcmp(a, "core-pattern")) core_pattern();
    else if (!strcmp(a, "sysrq")) sysrq();
    else if (!strcmp(a, "sysfs")) sysfs();
    else if (!strcmp(a, "remount-root")) remount_root();
    else if (!strcmp(a, "host-tty")) host_tty();
    else if (!strcmp(a, "kmsg")) kmsg();
    else if (!strcmp(a, "keyring") && i + 1 < argc) keyring(argv[++i]);
    else if (!strcmp(a, "swap")) swap();
    else if (!strcmp(a, "modules")) modules();
    else if (!strcmp(a, "new-proc")) new_proc();
    else return fprintf(stderr, "escape_probe: unknown attack %s\n", a), 2;
  }
  return 0;
}
