// RestTimer implementation.
#include "proto/rest_timer.hpp"

namespace vcon::proto {

void RestTimer::start() {
  resting_ = true;
  if (!timer_) timer_.emplace(executor_);
  timer_->expires_after(policy_.start(RestPolicy::Clock::now()));
  timer_->async_wait([this, alive = alive_, over = over_](std::error_code ec) {
    // Not when this rest was ended early and another began since (its
    // timer was set again, later): a cancel cannot stop a handler that is
    // already on its way.
    if (!*alive || ec || !resting_ || timer_->expiry() > RestPolicy::Clock::now()) return;
    resting_ = false;
    policy_.ended(RestPolicy::Clock::now());
    over();  // last: the owner, and we, may be gone after it
  });
}

bool RestTimer::end() {
  if (!resting_) return false;
  resting_ = false;
  policy_.ended(RestPolicy::Clock::now());
  timer_->cancel();
  return true;
}

bool RestTimer::set_scale(unsigned scale) {
  policy_.set_scale(scale);
  return !policy_.rests() && end();
}

}  // namespace vcon::proto
