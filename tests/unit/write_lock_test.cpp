// WriteLock: first writer wins, refusal, force, hand-back.
#include "console/write_lock.hpp"

#include <gtest/gtest.h>

namespace vcon {

TEST(WriteLock, FirstReadWriteClientHoldsIt) {
  WriteLock lock;
  EXPECT_TRUE(lock.request(1, false).granted);
  EXPECT_EQ(lock.holder(), 1u);
  auto refused = lock.request(2, false);
  EXPECT_FALSE(refused.granted);
  EXPECT_FALSE(refused.displaced);
  EXPECT_EQ(lock.holder(), 1u);
}

TEST(WriteLock, ForceDisplacesAndHandsBack) {
  WriteLock lock;
  lock.request(1, false);
  auto forced = lock.request(2, true);
  EXPECT_TRUE(forced.granted);
  EXPECT_EQ(forced.displaced, 1u);
  EXPECT_EQ(lock.holder(), 2u);
  EXPECT_EQ(lock.release(2), 1u) << "the displaced client gets the lock back";
  EXPECT_EQ(lock.holder(), 1u);
  EXPECT_EQ(lock.release(1), std::nullopt);
  EXPECT_EQ(lock.holder(), std::nullopt);
}

TEST(WriteLock, ChainOfTakeoversUnwindsInOrder) {
  WriteLock lock;
  lock.request(1, false);
  lock.request(2, true);
  lock.request(3, true);
  EXPECT_EQ(lock.release(3), 2u);
  EXPECT_EQ(lock.release(2), 1u);
}

TEST(WriteLock, DisplacedClientLeavingIsForgotten) {
  WriteLock lock;
  lock.request(1, false);
  lock.request(2, true);
  EXPECT_EQ(lock.release(1), std::nullopt) << "a viewer leaving changes nothing";
  EXPECT_EQ(lock.release(2), std::nullopt) << "and does not get the lock back later";
  EXPECT_EQ(lock.holder(), std::nullopt);
}

TEST(WriteLock, FreeLockNeedsNoForce) {
  WriteLock lock;
  auto outcome = lock.request(7, true);
  EXPECT_TRUE(outcome.granted);
  EXPECT_FALSE(outcome.displaced);
}

}  // namespace vcon
