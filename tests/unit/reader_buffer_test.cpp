// ReaderBuffer: sequential and seeking readers, and a reader that falls behind.
#include "fs/reader_buffer.hpp"

#include <gtest/gtest.h>

namespace vcon {

TEST(ReaderBuffer, SequentialReads) {
  ReaderBuffer buffer(1024);
  EXPECT_FALSE(buffer.readable(0));
  EXPECT_EQ(buffer.read(0, 100), "");
  buffer.append("hello ");
  buffer.append("world\n");
  EXPECT_TRUE(buffer.readable(0));
  EXPECT_EQ(buffer.end(), 12u);
  EXPECT_EQ(buffer.read(0, 5), "hello");
  EXPECT_EQ(buffer.read(5, 100), " world\n");
  EXPECT_FALSE(buffer.readable(12));
  EXPECT_TRUE(buffer.at_line_start());
  buffer.append("more");
  EXPECT_FALSE(buffer.at_line_start());
  EXPECT_EQ(buffer.read(12, 100), "more");
}

TEST(ReaderBuffer, SeekingReadsLikeTail) {
  ReaderBuffer buffer(1024);
  for (int i = 0; i < 20; ++i) buffer.append("line " + std::to_string(i) + "\n");
  std::uint64_t end = buffer.end();
  // tail reads the last block first, then earlier ones.
  EXPECT_EQ(buffer.read(end - 8, 8), "line 19\n");
  EXPECT_EQ(buffer.read(0, 7), "line 0\n");
  EXPECT_EQ(buffer.skipped(), 0u);
}

TEST(ReaderBuffer, ASlowReaderSkipsAheadAndStaysInOrder) {
  ReaderBuffer buffer(10);
  buffer.append("0123456789");
  EXPECT_EQ(buffer.read(0, 4), "0123");
  buffer.append("abcdefghijklmnopqrst");  // 30 bytes: past twice the capacity, the oldest go
  std::string got(buffer.read(4, 100));
  EXPECT_EQ(got, "klmnopqrst");
  EXPECT_EQ(buffer.skipped(), 16u);
  EXPECT_EQ(buffer.end(), 14u);  // 4 read + 10 kept: the file's offsets run behind the stream's
  buffer.append("XY");
  EXPECT_EQ(buffer.read(4 + got.size(), 100), "XY");
}

}  // namespace vcon
