// RestTimer: a rest runs its length and then `over`; one ended early (by its
// owner, or by a share that leaves the client alone) does not call it; and
// an owner may go away inside `over` or before the timer fires.
#include "proto/rest_timer.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace vcon::proto {
namespace {

TEST(RestTimer, ARestRunsItsLengthAndThenCallsOver) {
  asio::io_context io;
  int overs = 0;
  RestTimer rests(io.get_executor(), [&] { ++overs; });
  EXPECT_TRUE(rests.rests()) << "by default a client rests";
  auto before = RestPolicy::Clock::now();  // before start(): its timer cannot end sooner than kMin after this
  rests.start();
  EXPECT_TRUE(rests.resting());
  io.run();  // until the timer has fired
  EXPECT_EQ(overs, 1);
  EXPECT_FALSE(rests.resting());
  EXPECT_GE(RestPolicy::Clock::now() - before, RestPolicy::kMin) << "not before its length";
}

TEST(RestTimer, ARestEndedEarlyDoesNotCallOver) {
  asio::io_context io;
  int overs = 0;
  RestTimer rests(io.get_executor(), [&] { ++overs; });
  rests.start();
  EXPECT_TRUE(rests.end());
  EXPECT_FALSE(rests.resting());
  EXPECT_FALSE(rests.end()) << "none on";
  io.run();
  EXPECT_EQ(overs, 0);
}

TEST(RestTimer, AShareThatLeavesTheClientAloneEndsItsRest) {
  asio::io_context io;
  int overs = 0;
  RestTimer rests(io.get_executor(), [&] { ++overs; });
  EXPECT_FALSE(rests.set_scale(2)) << "no rest on to end";
  rests.start();
  EXPECT_FALSE(rests.set_scale(3)) << "still in company: the rest goes on";
  EXPECT_TRUE(rests.resting());
  EXPECT_TRUE(rests.set_scale(0));
  EXPECT_FALSE(rests.resting());
  EXPECT_FALSE(rests.rests());
  io.run();
  EXPECT_EQ(overs, 0);
}

TEST(RestTimer, TheOwnerMayGoAwayInsideOverOrBeforeTheTimerFires) {
  asio::io_context io;
  int overs = 0;
  std::unique_ptr<RestTimer> rests;
  rests = std::make_unique<RestTimer>(io.get_executor(), [&] {
    rests.reset();  // as an owner that closes and is let go
    ++overs;
  });
  rests->start();
  io.run();
  EXPECT_EQ(overs, 1);
  EXPECT_EQ(rests, nullptr);

  io.restart();
  rests = std::make_unique<RestTimer>(io.get_executor(), [&] { ++overs; });
  rests->start();
  rests.reset();
  io.run();  // the cancelled wait's handler runs, and touches nothing (ASan)
  EXPECT_EQ(overs, 1);
}

}  // namespace
}  // namespace vcon::proto
