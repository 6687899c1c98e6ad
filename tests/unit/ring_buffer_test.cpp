// RingBuffer: offsets, wrap-around, non-destructive reads, clamping.
#include "console/ring_buffer.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

namespace vcon {

TEST(RingBuffer, KeepsEverythingBelowCapacity) {
  RingBuffer ring(16);
  ring.append("hello ");
  ring.append("world");
  EXPECT_EQ(ring.begin_offset(), 0u);
  EXPECT_EQ(ring.end_offset(), 11u);
  std::string out;
  EXPECT_EQ(ring.read(0, 100, out), 0u);
  EXPECT_EQ(out, "hello world");
}

TEST(RingBuffer, ReadsDoNotConsume) {
  RingBuffer ring(16);
  ring.append("abc");
  std::string first, second;
  ring.read(0, 10, first);
  ring.read(0, 10, second);
  EXPECT_EQ(first, "abc");
  EXPECT_EQ(second, "abc");
}

TEST(RingBuffer, WrapsAndDropsOldest) {
  RingBuffer ring(8);
  ring.append("0123456");
  ring.append("789ab");
  EXPECT_EQ(ring.end_offset(), 12u);
  EXPECT_EQ(ring.begin_offset(), 4u);
  std::string out;
  EXPECT_EQ(ring.read(0, 100, out), 4u) << "a read from a dropped offset starts at the oldest byte";
  EXPECT_EQ(out, "456789ab");
}

TEST(RingBuffer, ReadFromMiddleAcrossTheSeam) {
  RingBuffer ring(8);
  ring.append("abcdefgh");
  ring.append("ij");
  std::string out;
  EXPECT_EQ(ring.read(7, 2, out), 7u);
  EXPECT_EQ(out, "hi");
}

TEST(RingBuffer, ChunkLargerThanCapacityKeepsTail) {
  RingBuffer ring(4);
  ring.append("abcdefghij");
  EXPECT_EQ(ring.end_offset(), 10u);
  std::string out;
  ring.read(0, 100, out);
  EXPECT_EQ(out, "ghij");
}

TEST(RingBuffer, ReadAtEndGivesNothing) {
  RingBuffer ring(4);
  ring.append("ab");
  std::string out;
  EXPECT_EQ(ring.read(2, 10, out), 2u);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(ring.read(99, 10, out), 2u) << "an offset past the end is clamped";
}

TEST(RingBuffer, AMemfdRingOutlivesItsMapping) {
  auto memfd = RingBuffer::create_memfd(8, "test");
  ASSERT_TRUE(memfd.ok()) << memfd.error().message();
  {
    auto ring = RingBuffer::map(memfd->get());  // a monitor
    ASSERT_TRUE(ring.ok()) << ring.error().message();
    ring->append("0123456789ab");
  }
  auto again = RingBuffer::map(memfd->get());  // the next monitor, after a crash
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->end_offset(), 12u);
  std::string out;
  EXPECT_EQ(again->read(0, 100, out), 4u);
  EXPECT_EQ(out, "456789ab");
  again->append("cd");
  out.clear();
  again->read(10, 100, out);
  EXPECT_EQ(out, "abcd");
}

TEST(RingBuffer, AForeignMemfdIsRefused) {
  UniqueFd other(::memfd_create("not-a-ring", MFD_CLOEXEC));
  ASSERT_EQ(::ftruncate(other.get(), 8192), 0);
  EXPECT_FALSE(RingBuffer::map(other.get()).ok());
}

}  // namespace vcon
