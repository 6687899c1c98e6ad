// close_later() implementation: closer threads, and a watcher that ends a
// close that does not.
//
// The threads never allocate (fixed arrays, fixed buffers): the monitor
// clones zone processes with clone3, which skips fork's handlers, and a
// child must not find malloc's lock held by one of them. Threads are
// started from close_later() only (the caller's thread).
#include "base/fd_closer.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>

namespace vcon {

namespace {

using Clock = std::chrono::steady_clock;

// How long a close may take before the watcher steps in (and again after
// each such time), and before a close counts as stuck for good: the next
// close_later() then starts another closer, up to kMostClosers.
constexpr std::chrono::seconds kPatience{1};
constexpr std::chrono::seconds kStuck{5};
constexpr std::size_t kMostClosers = 8;
// Descriptors waiting to be closed: past this (closers all stuck) one is
// kept open instead, never closed.
constexpr std::size_t kQueueSize = 4096;

// Sent to a closer to end an interruptible wait (a socket's linger, a
// tty's drain): its handler does nothing, and close() then returns.
int interrupt_signal() { return SIGRTMIN + 7; }
void interrupted(int) {}

struct Item {
  int fd = -1;
  uid_t passer = kNoPasser;
};

// One closer thread and what it is closing.
class Closer;
struct Slot {
  Closer* owner = nullptr;
  pthread_t thread{};
  bool started = false;
  bool busy = false;
  uid_t passer = kNoPasser;  // of what it is closing
  int mount_id = -1;  // the file's mount (fdinfo: asks no file system)
  Clock::time_point since{};
};

// The mount id of `fd`'s file, from /proc/self/fdinfo; -1 if unknown.
int mount_id_of(int fd) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  int info = ::open(path, O_RDONLY | O_CLOEXEC);
  if (info < 0) return -1;
  char text[1024];
  ssize_t n = ::read(info, text, sizeof text - 1);
  ::close(info);
  if (n <= 0) return -1;
  text[n] = '\0';
  const char* at = std::strstr(text, "mnt_id:");
  return at ? std::atoi(at + 7) : -1;
}

// If `line` of mountinfo is mount `id`'s: whether it is a FUSE file system
// that user `owner` mounted (its user_id=), with its device's minor.
std::optional<bool> owned_fuse_mount(const char* line, int id, uid_t owner, unsigned& minor) {
  int mount = -1, parent = -1;
  unsigned major = 0;
  if (std::sscanf(line, "%d %d %u:%u", &mount, &parent, &major, &minor) != 4 || mount != id) return std::nullopt;
  const char* fields = std::strstr(line, " - ");  // spaces in paths are escaped: this is the separator
  char type[64] = "", source[256] = "", options[1024] = "";
  if (!fields || std::sscanf(fields + 3, "%63s %255s %1023s", type, source, options) != 3) return false;
  char wanted[32];
  int length = std::snprintf(wanted, sizeof wanted, "user_id=%u", owner);
  const char* at = std::strstr(options, wanted);
  return major == 0 && std::strncmp(type, "fuse", 4) == 0 && at && (at == options || at[-1] == ',') &&
         (at[length] == ',' || at[length] == '\0');
}

// Whether mount `id` is a FUSE file system that user `owner` mounted, and
// its device's minor: /proc/self/mountinfo, line by line in a fixed buffer
// (it asks no file system).
bool fuse_mount_of(int id, uid_t owner, unsigned& minor) {
  int fd = ::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  static char buffer[64 * 1024];  // the watcher's alone
  std::size_t filled = 0;
  std::optional<bool> owned;
  while (!owned) {
    ssize_t n = ::read(fd, buffer + filled, sizeof buffer - 1 - filled);
    if (n <= 0) break;
    filled += static_cast<std::size_t>(n);
    buffer[filled] = '\0';
    char* line = buffer;
    for (char* end; !owned && (end = std::strchr(line, '\n')); line = end + 1) {
      *end = '\0';
      owned = owned_fuse_mount(line, id, owner, minor);
    }
    // Keep the unfinished line; a line longer than the buffer is skipped.
    std::size_t left = filled - static_cast<std::size_t>(line - buffer);
    if (left == sizeof buffer - 1) left = 0;
    std::memmove(buffer, line, left);
    filled = left;
  }
  ::close(fd);
  return owned.value_or(false);
}

class Closer {
 public:
  void add(int fd, uid_t passer) {
    std::lock_guard lock(mutex_);
    if (count_ == kQueueSize) return;  // kept open: every closer stuck, 4,096 waiting
    queue_[(head_ + count_++) % kQueueSize] = Item{fd, passer};
    ++pending_;
    if (!start_closer_if_needed()) {
      // No thread at all (none could be started): the old way.
      --count_;
      --pending_;
      ::close(fd);
      return;
    }
    work_.notify_one();
  }

  std::size_t pending() {
    std::lock_guard lock(mutex_);
    return pending_;
  }

 private:
  // Under mutex_. A first closer and the watcher, or one more closer when
  // every closer has been stuck in one close for kStuck. False if no
  // closer runs.
  bool start_closer_if_needed() {
    auto now = Clock::now();
    std::size_t running = 0;
    bool all_stuck = true;
    for (const Slot& slot : slots_) {
      if (!slot.started) continue;
      ++running;
      if (!slot.busy || now - slot.since < kStuck) all_stuck = false;
    }
    bool closer = running == 0 || (all_stuck && running < kMostClosers);
    bool watcher = !watching_;
    if (!closer && !watcher) return true;
    if (running == 0) {
      struct sigaction action {};
      action.sa_handler = interrupted;  // no SA_RESTART: the wait ends with EINTR
      sigemptyset(&action.sa_mask);
      ::sigaction(interrupt_signal(), &action, nullptr);
    }
    // The new threads take no signal of the process's (they go to the
    // caller's loop); a closer only the interruption.
    sigset_t all, old;
    sigfillset(&all);
    ::pthread_sigmask(SIG_BLOCK, &all, &old);
    // pthread_create with the slot as its argument: no heap memory for a
    // thread's start (LeakSanitizer saw such a block, held by a thread
    // just starting at exit, as lost). Failing to start one is not fatal:
    // what runs goes on.
    pthread_attr_t attributes;
    ::pthread_attr_init(&attributes);
    ::pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    if (closer) {
      Slot& slot = slots_[running];
      slot.owner = this;
      if (::pthread_create(&slot.thread, &attributes, start_closer, &slot) == 0) {
        slot.started = true;
        ++running;
      }
    }
    if (watcher) {
      pthread_t thread;
      if (::pthread_create(&thread, &attributes, start_watcher, this) == 0) watching_ = true;
    }
    ::pthread_attr_destroy(&attributes);
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return running > 0;
  }

  static void* start_closer(void* argument) {
    auto& slot = *static_cast<Slot*>(argument);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, interrupt_signal());
    ::pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
    slot.owner->run(slot);
  }

  static void* start_watcher(void* argument) { static_cast<Closer*>(argument)->watch(); }

  [[noreturn]] void run(Slot& slot) {
    while (true) {
      Item item;
      {
        std::unique_lock lock(mutex_);
        work_.wait(lock, [this] { return count_ > 0; });
        item = queue_[head_];
        head_ = (head_ + 1) % kQueueSize;
        --count_;
      }
      // Only a passed file's mount can be aborted (a socket's queue is out of sight).
      int mount = item.passer == kNoPasser ? -1 : mount_id_of(item.fd);
      bool wake;
      {
        std::lock_guard lock(mutex_);
        slot.busy = true;
        slot.passer = item.passer;
        slot.mount_id = mount;
        slot.since = Clock::now();
        wake = watcher_idle_;  // woken once for a run of closes, not for each
        watcher_idle_ = false;
      }
      if (wake) watched_.notify_one();
      ::close(item.fd);  // whatever it says, the descriptor is gone
      std::lock_guard lock(mutex_);
      slot.busy = false;  // the watcher finds it so when it wakes: no wake for it
      --pending_;
    }
  }

  // Every kPatience, each close that has taken longer is ended if it can
  // be: a file of a FUSE mount that its passer mounted, by aborting that
  // connection (its server did not answer the flush in time, and nothing
  // else ends that wait; another user's mount is never touched), any
  // other by a signal to its closer.
  [[noreturn]] void watch() {
    std::unique_lock lock(mutex_);
    auto busy = [this] {
      for (const Slot& slot : slots_) {
        if (slot.busy) return true;
      }
      return false;
    };
    while (true) {
      while (!busy()) {  // asleep while nothing is being closed
        watcher_idle_ = true;  // (each time: a close may have come and gone before it woke)
        watched_.wait(lock);
      }
      watcher_idle_ = false;
      watched_.wait_for(lock, kPatience);
      auto now = Clock::now();
      for (Slot& slot : slots_) {
        if (!slot.started || !slot.busy || now - slot.since < kPatience) continue;
        int mount = slot.mount_id;
        uid_t passer = slot.passer;
        pthread_t thread = slot.thread;
        lock.unlock();
        unsigned minor = 0;
        bool aborted = mount >= 0 && passer != kNoPasser && fuse_mount_of(mount, passer, minor) && abort_fuse(minor);
        if (!aborted) ::pthread_kill(thread, interrupt_signal());
        lock.lock();
      }
    }
  }

  // Through fusectl, mounted where nobody sees it (a detached mount: no
  // namespace, nothing of the host's pinned).
  bool abort_fuse(unsigned minor) {
    if (fusectl_ < 0) {
      int context = ::fsopen("fusectl", FSOPEN_CLOEXEC);
      if (context < 0) return false;
      if (::fsconfig(context, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) == 0) {
        fusectl_ = ::fsmount(context, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
      }
      ::close(context);
      if (fusectl_ < 0) return false;
    }
    char path[32];
    std::snprintf(path, sizeof path, "%u/abort", minor);
    int fd = ::openat(fusectl_, path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool done = ::write(fd, "1", 1) == 1;
    ::close(fd);
    return done;
  }

  std::mutex mutex_;
  std::condition_variable work_, watched_;
  std::array<Item, kQueueSize> queue_{};
  std::size_t head_ = 0, count_ = 0;
  std::size_t pending_ = 0;
  std::array<Slot, kMostClosers> slots_{};
  bool watching_ = false;
  bool watcher_idle_ = false;  // in its wait for a close to start
  int fusectl_ = -1;  // the watcher's alone
};

// Never destroyed: a closer may still be in a close() at exit.
Closer& closer() {
  static Closer* the = new Closer;
  return *the;
}

}  // namespace

void close_later(UniqueFd fd, uid_t passer) {
  if (!fd) return;
  closer().add(fd.release(), passer);
}

std::size_t closes_pending() { return closer().pending(); }

}  // namespace vcon
