// UUCP lock files, as the FHS, minicom and libvirt have them: before a
// line is opened, LOCKDIR/LCK..NAME is created with O_CREAT|O_EXCL holding
// the holder's PID as 10 ASCII characters, right-aligned, and a newline.
// NAME is the device path without its leading /dev/, other slashes turned
// into '_' (/dev/ttyS0 -> LCK..ttyS0, /dev/pts/3 -> LCK..pts_3). A lock
// whose PID is dead, or whose content is not a PID, is stale.
// The naming and content rules are pure and unit-tested; UucpLock does the
// file operations.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace vcon {

std::string uucp_lock_name(std::string_view device);
std::string uucp_lock_content(pid_t pid);
// The PID in a lock file's content (10-character ASCII, or the old 4-byte
// binary form); nullopt for garbage.
std::optional<pid_t> parse_uucp_lock(std::string_view content);

// Who holds a line, for messages: "picocom (PID 812)".
std::string describe_process(pid_t pid);

class UucpLock {
 public:
  struct Busy {
    pid_t pid;
    std::string holder;  // describe_process(pid)
  };
  enum class Outcome { Locked, NotWritable, Busy };

  UucpLock() = default;
  UucpLock(UucpLock&& other) noexcept { *this = std::move(other); }
  UucpLock& operator=(UucpLock&& other) noexcept;
  ~UucpLock() { release(); }

  // Takes the lock for `device` in `lock_dir` for this process. A live
  // holder gives Busy (see busy()); a stale lock is removed and taken. A
  // lock directory this process may not write gives NotWritable after
  // checking that no live holder exists: the line may then be used
  // without a lock file.
  Result<Outcome> acquire(const std::string& lock_dir, const std::string& device);
  const std::optional<Busy>& busy() const { return busy_; }
  bool held() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  void release();

 private:
  std::string path_;  // the lock file we created, while we hold it
  std::optional<Busy> busy_;
};

}  // namespace vcon
