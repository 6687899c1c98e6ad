// EventThrottle: how often one user's comings and goings reach the logs one
// by one. A user who attaches and leaves in a loop (thousands a second)
// would otherwise write the audit log full and rotate away what it must
// keep, root's sessions and takeovers among them. Past `per_minute` lines
// in a minute a user's lines are counted instead, and the count goes into
// that user's next line logged after the minute.
// Pure logic: the owner keeps the time.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace vcon {

class EventThrottle {
 public:
  using Time = std::chrono::steady_clock::time_point;
  static constexpr unsigned kPerMinute = 30;

  explicit EventThrottle(unsigned per_minute = kPerMinute) : per_minute_(per_minute) {}
  // The line to log for `uid` now, with the count of those not logged one
  // by one since, if any; nothing while the user is over the rate.
  std::optional<std::string> pass(uid_t uid, std::string text, Time now);

 private:
  struct Window {
    Time start{};
    unsigned logged = 0;
    std::uint64_t unlogged = 0;
  };
  unsigned per_minute_;
  std::map<uid_t, Window> windows_;  // one per user who attached: the consoledb's users
};

}  // namespace vcon
