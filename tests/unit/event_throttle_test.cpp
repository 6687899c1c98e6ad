// EventThrottle: a user's lines pass up to the rate, are counted past it,
// and the count comes with the user's next line after the minute; each
// user has a rate of their own.
#include "console/event_throttle.hpp"

#include <gtest/gtest.h>

namespace vcon {

TEST(EventThrottle, PassesUpToTheRateThenCountsAndTellsTheCountLater) {
  EventThrottle throttle(3);
  EventThrottle::Time start{};
  start += std::chrono::hours(1);
  for (int i = 0; i < 3; ++i) {
    auto line = throttle.pass(1000, "alice attached", start + std::chrono::seconds(i));
    ASSERT_TRUE(line) << i;
    EXPECT_EQ(*line, "alice attached");
  }
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(throttle.pass(1000, "alice detached", start + std::chrono::seconds(10)));
  EXPECT_TRUE(throttle.pass(1001, "bob attached", start + std::chrono::seconds(10))) << "a rate of one's own";
  EXPECT_FALSE(throttle.pass(1000, "alice attached", start + std::chrono::seconds(59)));
  auto later = throttle.pass(1000, "alice attached", start + std::chrono::seconds(60));
  ASSERT_TRUE(later);
  EXPECT_EQ(*later, "alice attached (and 6 more attaches and detaches of this user, not logged one by one, before)");
  auto next = throttle.pass(1000, "alice detached", start + std::chrono::seconds(61));
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, "alice detached") << "the count is told once";
}

}  // namespace vcon
