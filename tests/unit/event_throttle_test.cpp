// EventThrottle: a user's lines pass in a burst, then one per interval; what
// did not pass is counted, and the count comes with the user's next line;
// each user has a bucket of their own.
#include "console/event_throttle.hpp"

#include <gtest/gtest.h>

namespace vcon {

using namespace std::chrono_literals;

TEST(EventThrottle, ABurstThenOnePerIntervalWithTheCountInTheNextLine) {
  EventThrottle throttle("short attaches", 3, 2s);
  EventThrottle::Time start{};
  start += 1h;
  for (int i = 0; i < 3; ++i) {
    auto line = throttle.pass(1000, "alice attached", start);
    ASSERT_TRUE(line) << i;
    EXPECT_EQ(*line, "alice attached");
  }
  EXPECT_FALSE(throttle.pass(1000, "alice attached", start + 1s));
  throttle.count(1000);  // a short attach the owner did not log
  EXPECT_EQ(throttle.next(1000, start + 1s), start + 2s);
  EXPECT_TRUE(throttle.pass(1001, "bob attached", start + 1s)) << "a bucket of one's own";
  auto later = throttle.pass(1000, "alice attached", start + 2s);
  ASSERT_TRUE(later);
  EXPECT_EQ(*later, "alice attached (short attaches not logged one by one before this: 1)");
  EXPECT_FALSE(throttle.pass(1000, "alice attached", start + 3s)) << "one per interval";
  auto next = throttle.pass(1000, "alice attached", start + 4s);
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, "alice attached") << "the count is told once";
  // A quiet minute fills the bucket again.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(throttle.pass(1000, "alice attached", start + 70s)) << i;
  EXPECT_FALSE(throttle.pass(1000, "alice attached", start + 70s));
}

}  // namespace vcon
