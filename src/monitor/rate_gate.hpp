// RateGate: how often one user may do something the monitor logs each
// time and refuses past a rate (a read-write user's takes, releases and
// breaks; ctl commands; who): a burst, then one per interval (an
// EventThrottle), root exempt. Refusals are counted, and the count is
// logged with the user's next admitted one or, if none comes, once the
// next would be admitted: a user who stops is on record too.
#pragma once

#include <sys/types.h>

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "console/event_throttle.hpp"

namespace vcon {

class RateGate {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using Log = std::function<void(const std::string&)>;

  // `what` names them in the count's line ("takes, releases and breaks");
  // `log`, when given, writes that line (nothing is logged without it).
  RateGate(asio::any_io_executor executor, std::string what, Log log, unsigned burst = 30,
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
  void log_count(uid_t uid, const std::string& user, std::uint64_t refused);

  asio::any_io_executor executor_;
  std::string what_;
  Log log_;
  unsigned burst_;
  Duration every_;
  EventThrottle throttle_;
  std::map<uid_t, std::unique_ptr<asio::steady_timer>> flushes_;  // per user, while a count waits
};

}  // namespace vcon
