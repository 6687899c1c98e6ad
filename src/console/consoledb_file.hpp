// The consoledb file as monitors, the file system and the CLI see it: re-read
// when it changes (checked on every access decision, so an edit takes effect
// for the next open or attach). Broken entries are reported once per version
// (file, line, reason) and left out; the good ones stay in force, the same
// for every reader. A missing file is an empty consoledb: every console
// root-only. Also who a Unix uid is.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "console/consoledb.hpp"

namespace vcon {

class ConsoleDbFile {
 public:
  using Reporter = std::function<void(const std::string&)>;

  ConsoleDbFile(std::string path, Reporter report) : path_(std::move(path)), report_(std::move(report)) {}

  // The consoledb in force now.
  const ConsoleDb& current();
  const std::string& path() const { return path_; }

 private:
  struct Version {
    bool exists = false;
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    long long mtime_ns = 0, ctime_ns = 0;
    bool operator==(const Version&) const = default;
  };

  std::string path_;
  Reporter report_;
  bool loaded_ = false;
  Version seen_;
  ConsoleDb db_;
};

// The user and groups of a uid, from the password and group databases.
Caller caller_for(uid_t uid);

}  // namespace vcon
