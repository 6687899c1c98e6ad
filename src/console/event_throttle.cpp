// EventThrottle implementation.
#include "console/event_throttle.hpp"

#include <algorithm>

#include <fmt/core.h>

namespace vcon {

EventThrottle::Time EventThrottle::next(uid_t uid, Time now) const {
  auto found = users_.find(uid);
  if (found == users_.end() || !found->second.full_until) return now;
  return std::max(now, *found->second.full_until - (burst_ - 1) * every_);
}

std::optional<std::string> EventThrottle::pass(uid_t uid, std::string text, Time now) {
  if (next(uid, now) > now) return std::nullopt;
  User& user = users_[uid];
  user.full_until = std::max(user.full_until.value_or(now), now) + every_;
  if (user.unlogged) {
    text += fmt::format(" ({} not logged one by one before this: {})", what_, user.unlogged);
    user.unlogged = 0;
  }
  return text;
}

}  // namespace vcon
