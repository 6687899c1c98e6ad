/* bench/boot's bare floor: the old, unisolated boot reduced to its bones,
 * with none of vcon's code: clone into PID, mount, UTS, IPC and network
 * namespaces, bind the rootfs, proc, a new devpts instance, the console pty
 * bound on /dev/console, pivot_root, exec init. No user namespace, cgroup,
 * masks or seccomp. Prints microseconds from start to the first console
 * byte, then kills the zone.
 *   bare_floor ROOTFS INIT [ARGS...]
 * The rootfs needs /dev/console (a file) and /dev/pts (a directory). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char stack[1 << 16];
static char** init_argv;
static const char* rootfs;
static int console_pipe[2];

static int child(void* unused) {
  (void)unused;
  char path[4096];
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) || mount(rootfs, rootfs, NULL, MS_BIND, NULL)) _exit(1);
  snprintf(path, sizeof path, "%s/proc", rootfs);
  if (mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) _exit(2);
  snprintf(path, sizeof path, "%s/dev/pts", rootfs);
  if (mount("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666")) _exit(3);
  snprintf(path, sizeof path, "%s/dev/pts/ptmx", rootfs);
  int master = open(path, O_RDWR | O_NOCTTY), unlock = 0;
  if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock)) _exit(4);
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  char source[64];
  snprintf(source, sizeof source, "/proc/self/fd/%d", slave);
  snprintf(path, sizeof path, "%s/dev/console", rootfs);
  if (slave < 0 || mount(source, path, NULL, MS_BIND, NULL)) _exit(5);
  /* the parent reads the console */
  struct msghdr msg = {0};
  char byte = 0, control[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {&byte, 1};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  *(int*)CMSG_DATA(cmsg) = master;
  if (sendmsg(console_pipe[1], &msg, 0) != 1) _exit(6);
  if (chdir(rootfs) || syscall(SYS_pivot_root, ".", ".") || umount2(".", MNT_DETACH) || chdir("/")) _exit(7);
  setsid();
  for (int fd = 0; fd <= 2; ++fd) dup2(slave, fd);
  char* envp[] = {"PATH=/bin:/sbin", NULL};
  execve(init_argv[0], init_argv, envp);
  _exit(8);
}

int main(int argc, char** argv) {
  if (argc < 3) return fprintf(stderr, "usage: bare_floor ROOTFS INIT [ARGS...]\n"), 2;
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  rootfs = argv[1];
  init_argv = argv + 2;
  if (socketpair(AF_UNIX, SOCK_DGRAM, 0, console_pipe)) return 1;
  pid_t pid = clone(child, stack + sizeof stack,
                    CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | SIGCHLD, NULL);
  if (pid < 0) return perror("clone"), 1;
  char byte, control[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {&byte, 1};
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (recvmsg(console_pipe[0], &msg, 0) != 1) return fprintf(stderr, "bare_floor: setup failed\n"), 1;
  int master = *(int*)CMSG_DATA(CMSG_FIRSTHDR(&msg));
  struct pollfd p = {master, POLLIN, 0};
  if (poll(&p, 1, 10000) != 1 || read(master, &byte, 1) != 1) return fprintf(stderr, "bare_floor: no output\n"), 1;
  clock_gettime(CLOCK_MONOTONIC, &now);
  printf("%ld\n", (now.tv_sec - start.tv_sec) * 1000000L + (now.tv_nsec - start.tv_nsec) / 1000);
  fflush(stdout); /* the bench times until it reads this line */
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return 0;
}
