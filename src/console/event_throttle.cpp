// EventThrottle implementation.
#include "console/event_throttle.hpp"

#include <algorithm>
#include <utility>

#include <fmt/core.h>

namespace vcon {

EventThrottle::Time EventThrottle::next(uid_t uid, Time now) const {
  auto found = users_.find(uid);
  if (found == users_.end() || !found->second.full_until) return now;
  return std::max(now, *found->second.full_until - (burst_ - 1) * every_);
}

EventThrottle::Time EventThrottle::reserve(uid_t uid, Time now) {
  Time at = next(uid, now);
  User& user = users_[uid];
  user.full_until = std::max(user.full_until.value_or(at), at) + every_;
  return at;
}

void EventThrottle::give_back(uid_t uid, Time now) {
  User& user = users_[uid];
  if (user.full_until) user.full_until = std::max(*user.full_until - every_, now);
}

std::string EventThrottle::with_count(uid_t uid, std::string text) {
  User& user = users_[uid];
  if (user.unlogged) {
    text += fmt::format(" ({} not logged one by one before this: {})", what_, user.unlogged);
    user.unlogged = 0;
  }
  return text;
}

std::optional<std::string> EventThrottle::pass(uid_t uid, std::string text, Time now) {
  if (next(uid, now) > now) return std::nullopt;
  reserve(uid, now);
  return with_count(uid, std::move(text));
}

EventThrottle::Duration EventThrottle::admit(uid_t uid, Time now) {
  Time at = next(uid, now);
  if (at > now) {
    count(uid);
    return at - now;
  }
  reserve(uid, now);
  return Duration::zero();
}

std::uint64_t EventThrottle::take_count(uid_t uid) {
  auto found = users_.find(uid);
  if (found == users_.end()) return 0;
  return std::exchange(found->second.unlogged, 0);
}

}  // namespace vcon
