// ConsoleDbFile implementation.
#include "console/consoledb_file.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>

#include <vector>

#include "base/files.hpp"

namespace vcon {

const ConsoleDb& ConsoleDbFile::current() {
  Version now;
  struct stat info {};
  if (::stat(path_.c_str(), &info) == 0) {
    now = Version{true,         info.st_dev,
                  info.st_ino,  info.st_size,
                  info.st_mtim.tv_sec * 1000000000LL + info.st_mtim.tv_nsec,
                  info.st_ctim.tv_sec * 1000000000LL + info.st_ctim.tv_nsec};
  }
  if (loaded_ && now == seen_) return db_;
  loaded_ = true;
  seen_ = now;
  if (!now.exists) {
    db_ = ConsoleDb{};
    return db_;
  }
  auto text = read_file(path_, 4 << 20);
  if (!text) {
    if (report_) report_("consoledb " + path_ + ": " + text.error().message() + "; every console is root's until it can be read");
    db_ = ConsoleDb{};
    db_.problems.push_back({0, {}, {}, text.error().message()});
    return db_;
  }
  db_ = parse_consoledb(*text);
  if (report_) {
    for (const auto& problem : db_.problems) report_("consoledb " + path_ + " " + problem.message + " (entry left out)");
  }
  return db_;
}

Caller caller_for(uid_t uid) {
  Caller caller{uid, std::to_string(uid), {}};
  passwd entry{}, *found = nullptr;
  std::vector<char> buffer(16384);
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) != 0 || !found) return caller;
  caller.user = found->pw_name;
  int count = 64;
  std::vector<gid_t> gids(static_cast<std::size_t>(count));
  if (::getgrouplist(found->pw_name, found->pw_gid, gids.data(), &count) < 0) {
    gids.resize(static_cast<std::size_t>(count));
    ::getgrouplist(found->pw_name, found->pw_gid, gids.data(), &count);
  }
  gids.resize(static_cast<std::size_t>(count));
  for (gid_t gid : gids) {
    group group_entry{}, *group_found = nullptr;
    std::vector<char> group_buffer(16384);
    if (::getgrgid_r(gid, &group_entry, group_buffer.data(), group_buffer.size(), &group_found) == 0 && group_found) {
      caller.unix_groups.push_back(group_found->gr_name);
    }
  }
  return caller;
}

}  // namespace vcon
