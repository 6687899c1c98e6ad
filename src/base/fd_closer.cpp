// close_later() implementation: a closer thread, and a watcher that ends a
// close that does not.
#include "base/fd_closer.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace vcon {

namespace {

// How long a close may take before the watcher steps in, and again after.
constexpr std::chrono::seconds kPatience{1};

// Sent to the closer thread to end an interruptible wait (a socket's linger,
// a tty's drain): its handler does nothing, and close() then returns.
int interrupt_signal() { return SIGRTMIN + 7; }

void interrupted(int) {}

class Closer {
 public:
  void add(int fd) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(fd);
      ++pending_;
      if (!started_) {
        started_ = true;
        start();
      }
    }
    work_.notify_one();
  }

  std::size_t pending() {
    std::lock_guard lock(mutex_);
    return pending_;
  }

 private:
  // What is being closed: its file's device, from what the kernel knows
  // (no FUSE request), looked at before the close (during one the fd
  // number is gone, and may be another file's).
  struct Closing {
    std::uint64_t number;
    unsigned dev_major, dev_minor;
  };

  void start() {
    struct sigaction action {};
    action.sa_handler = interrupted;  // no SA_RESTART: the wait ends with EINTR
    sigemptyset(&action.sa_mask);
    ::sigaction(interrupt_signal(), &action, nullptr);
    // Both threads take no signal of the process's (they go to its loop),
    // and the closer only the interruption.
    sigset_t all, old;
    sigfillset(&all);
    ::pthread_sigmask(SIG_BLOCK, &all, &old);
    std::thread closer([this] {
      sigset_t only;
      sigemptyset(&only);
      sigaddset(&only, interrupt_signal());
      ::pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
      run();
    });
    closer_ = closer.native_handle();
    closer.detach();
    std::thread([this] { watch(); }).detach();
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }

  [[noreturn]] void run() {
    while (true) {
      int fd;
      {
        std::unique_lock lock(mutex_);
        work_.wait(lock, [this] { return !queue_.empty(); });
        fd = queue_.front();
        queue_.pop_front();
      }
      struct statx file {};
      bool known = ::statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &file) == 0;
      {
        std::lock_guard lock(mutex_);
        closing_ = Closing{++closes_, known ? file.stx_dev_major : ~0u, known ? file.stx_dev_minor : ~0u};
      }
      watched_.notify_one();
      ::close(fd);  // whatever it says, the descriptor is gone
      std::lock_guard lock(mutex_);
      closing_.reset();
      --pending_;
    }
  }

  // A close that takes longer than kPatience is ended: a FUSE file's by
  // aborting its connection (its server did not answer the flush in time;
  // nothing else ends that wait), any other's by a signal.
  [[noreturn]] void watch() {
    std::unique_lock lock(mutex_);
    while (true) {
      watched_.wait(lock, [this] { return closing_.has_value(); });
      Closing stuck = *closing_;
      bool done = watched_.wait_for(lock, kPatience, [&] { return !closing_ || closing_->number != stuck.number; });
      if (done) continue;
      lock.unlock();
      if (stuck.dev_major != 0 || !abort_fuse_connection(stuck.dev_minor)) ::pthread_kill(closer_, interrupt_signal());
      lock.lock();
    }
  }

  // FUSE connections are listed by device in the fusectl file system,
  // mounted here in a mount namespace of this thread's own (the host's is
  // left as it is). False if `minor` is no FUSE connection's.
  bool abort_fuse_connection(unsigned minor) {
    const std::string connections = "/sys/fs/fuse/connections";
    if (!fusectl_mounted_) {
      if (::unshare(CLONE_FS | CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
          ::mount("fusectl", connections.c_str(), "fusectl", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
        return false;
      }
      fusectl_mounted_ = true;
    }
    std::string abort = connections + "/" + std::to_string(minor) + "/abort";
    int fd = ::open(abort.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool done = ::write(fd, "1", 1) == 1;
    ::close(fd);
    return done;
  }

  std::mutex mutex_;
  std::condition_variable work_, watched_;
  std::deque<int> queue_;
  std::size_t pending_ = 0;
  bool started_ = false;
  std::optional<Closing> closing_;
  std::uint64_t closes_ = 0;
  pthread_t closer_{};
  bool fusectl_mounted_ = false;  // the watcher's alone
};

// Never destroyed: the thread may still be in a close() at exit.
Closer& closer() {
  static Closer* the = new Closer;
  return *the;
}

}  // namespace

void close_later(UniqueFd fd) {
  if (!fd) return;
  closer().add(fd.release());
}

std::size_t closes_pending() { return closer().pending(); }

}  // namespace vcon
