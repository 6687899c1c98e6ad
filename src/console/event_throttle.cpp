// EventThrottle implementation.
#include "console/event_throttle.hpp"

#include <fmt/core.h>

namespace vcon {

std::optional<std::string> EventThrottle::pass(uid_t uid, std::string text, Time now) {
  Window& window = windows_[uid];
  if (window.logged == 0 || now - window.start >= std::chrono::minutes(1)) {
    window.start = now;
    window.logged = 0;
  }
  if (window.logged >= per_minute_) {
    ++window.unlogged;
    return std::nullopt;
  }
  ++window.logged;
  if (window.unlogged) {
    text += fmt::format(" (and {} more attaches and detaches of this user, not logged one by one, before)",
                        window.unlogged);
    window.unlogged = 0;
  }
  return text;
}

}  // namespace vcon
