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

// Lines reserved past the rate go in turn, each one interval after the
// one before; one given back makes room for the next at its time.
TEST(EventThrottle, ReservedLinesGoInTurnAndAGivenBackTimeIsTheNextOnes) {
  EventThrottle throttle("short attaches", 2, 2s);
  EventThrottle::Time start{};
  start += 1h;
  EXPECT_EQ(throttle.reserve(7, start), start);
  EXPECT_EQ(throttle.reserve(7, start), start);
  EXPECT_EQ(throttle.reserve(7, start), start + 2s);
  EXPECT_EQ(throttle.reserve(7, start), start + 4s);
  throttle.give_back(7, start + 1s);  // the last one's client left before its time
  throttle.count(7);
  EXPECT_EQ(throttle.reserve(7, start + 1s), start + 4s) << "takes the time given back";
  EXPECT_EQ(throttle.with_count(7, "x"), "x (short attaches not logged one by one before this: 1)");
  EXPECT_EQ(throttle.counted(7), 0u);
}

// What is refused past the rate: admitted in a burst, then one per
// interval; a refusal says how long until the next, and is counted once.
TEST(EventThrottle, AdmitsABurstThenOnePerIntervalAndCountsTheRefused) {
  EventThrottle throttle("takes", 2, 2s);
  EventThrottle::Time start{};
  start += 1h;
  EXPECT_EQ(throttle.admit(5, start), 0s);
  EXPECT_EQ(throttle.admit(5, start), 0s);
  EXPECT_EQ(throttle.admit(5, start + 500ms), 1500ms) << "refused: the next in 1.5 s";
  EXPECT_EQ(throttle.admit(5, start + 1s), 1s);
  EXPECT_EQ(throttle.admit(6, start + 1s), 0s) << "a bucket of one's own";
  EXPECT_EQ(throttle.admit(5, start + 2s), 0s) << "refusals do not push the next one back";
  EXPECT_EQ(throttle.take_count(5), 2u);
  EXPECT_EQ(throttle.take_count(5), 0u) << "counted once";
  EXPECT_EQ(throttle.take_count(9), 0u) << "a user never seen";
}

TEST(EventThrottle, ABurstOfZeroIsABurstOfOne) {
  EventThrottle throttle("lines", 0, 2s);
  EventThrottle::Time start{};
  start += 1h;
  EXPECT_TRUE(throttle.pass(1, "a", start));
  EXPECT_FALSE(throttle.pass(1, "b", start));
}

}  // namespace vcon
