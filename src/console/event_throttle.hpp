// EventThrottle: how often one user's lines reach a log one by one. A user
// who attaches and leaves in a loop (thousands a second) would otherwise
// write the audit log full and rotate away what it must keep, root's
// sessions and takeovers among them; one who keeps opening past a limit
// would fill a log that is never rotated. Each user may have a burst of
// `burst` lines, then one per `every` (a token bucket); what the owner
// does not log meanwhile it counts here, and the count goes into that
// user's next line logged.
// Pure logic: the owner keeps the time.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace vcon {

class EventThrottle {
 public:
  using Time = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;

  // `what`: the lines counted, as the count names them ("short attaches").
  explicit EventThrottle(std::string what, unsigned burst = 30, Duration every = std::chrono::seconds(2))
      : what_(std::move(what)), burst_(std::max(burst, 1u)), every_(every) {}
  // The line to log for `uid` now, with the count of those not logged one
  // by one before it, if any; nothing while the user is over the rate (the
  // owner counts what it then does not log).
  std::optional<std::string> pass(uid_t uid, std::string text, Time now);
  // Takes `uid`'s next line: the time it may be logged (`now`, or later
  // while the user is over the rate; lines reserved go in turn).
  Time reserve(uid_t uid, Time now);
  // A line reserved and then not logged: its time is the next one's.
  void give_back(uid_t uid, Time now);
  // `text` with the count of `uid`'s lines not logged one by one before
  // it, if any (the count starts again).
  std::string with_count(uid_t uid, std::string text);
  // One more of `uid`'s lines not logged one by one.
  void count(uid_t uid) { ++users_[uid].unlogged; }
  std::uint64_t counted(uid_t uid) const {
    auto found = users_.find(uid);
    return found == users_.end() ? 0 : found->second.unlogged;
  }
  // When pass() gives `uid` a line again (`now` if it would now).
  Time next(uid_t uid, Time now) const;
  // For what is refused past the rate rather than not logged (a
  // read-write user's takes, breaks and ctl commands): whether `uid` may
  // act now, taking its turn if so (zero); if not, the refusal is counted
  // and the answer is how long until it may.
  Duration admit(uid_t uid, Time now);
  // How many of `uid`'s were counted since the last time; the count starts
  // again.
  std::uint64_t take_count(uid_t uid);

 private:
  struct User {
    // The bucket as the time it is empty until: a line passes if that is
    // less than burst * every ahead of now, and moves it one `every` on.
    std::optional<Time> full_until;
    std::uint64_t unlogged = 0;
  };
  std::string what_;
  unsigned burst_;
  Duration every_;
  std::map<uid_t, User> users_;  // one per user seen: the consoledb's users
};

}  // namespace vcon
