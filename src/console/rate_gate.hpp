// RateGate: how often one user may do something that is logged each time
// (a monitor's takes and breaks, ctl commands, who; the file system's lines
// a user causes): a burst, then one per interval (an EventThrottle), root
// exempt. Past it, the owner refuses or does not log; those are counted,
// and the count is logged with the user's next admitted one or, if none
// comes, once the next would be admitted: a user who stops is on record.
#pragma once

#include <sys/types.h>

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "console/event_throttle.hpp"

namespace vcon {

class RateGate {
 public:
  using Duration = std::chrono::steady_clock::duration;
  // Logs the count of `user`'s (uid) not admitted since the last time.
  using LogCount = std::function<void(const std::string& user, uid_t uid, std::uint64_t count)>;

  // Without `log_count` nothing is counted (who: only refused).
  RateGate(asio::any_io_executor executor, LogCount log_count, unsigned burst = 30,
           Duration every = std::chrono::seconds(2));
  RateGate(const RateGate&) = delete;
  RateGate& operator=(const RateGate&) = delete;

  // Zero if `user` (uid `uid`) may act now, and it is taken; else how
  // long until they may (the refusal is counted). Root always may.
  Duration admit(uid_t uid, const std::string& user);
  // Why one was refused, for the user: "30 in a row, then one every 2 s;
  // the next may come in 1.3 s" (`wait`, as admit() said, rounded up).
  std::string why(Duration wait) const;

 private:
  asio::any_io_executor executor_;
  LogCount log_count_;
  unsigned burst_;
  Duration every_;
  EventThrottle throttle_;
  std::map<uid_t, std::unique_ptr<asio::steady_timer>> flushes_;  // per user, while a count waits
};

}  // namespace vcon
