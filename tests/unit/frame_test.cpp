// Frame codec: round trips, split input, malformed streams.
#include "proto/frame.hpp"

#include <gtest/gtest.h>

namespace vcon::proto {

TEST(Frame, RoundTripByteByByte) {
  std::string stream = encode(FrameType::Hello, R"({"version":1})");
  encode(FrameType::Data, std::string("\0\xff\n", 3), stream);
  encode(FrameType::Break, "", stream);
  FrameDecoder decoder;
  std::vector<Frame> frames;
  for (char c : stream) {
    decoder.feed(std::string_view(&c, 1));
    while (auto frame = decoder.next()) {
      ASSERT_TRUE(frame->ok());
      frames.push_back(frame->value());
    }
  }
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].type, FrameType::Hello);
  EXPECT_EQ(frames[0].payload, R"({"version":1})");
  EXPECT_EQ(frames[1].payload, std::string("\0\xff\n", 3));
  EXPECT_EQ(frames[2].type, FrameType::Break);
  EXPECT_TRUE(frames[2].payload.empty());
}

TEST(Frame, LengthIsBigEndianAndCountsTheTypeByte) {
  std::string bytes = encode(FrameType::Data, "ab");
  ASSERT_EQ(bytes.size(), 7u);
  EXPECT_EQ(bytes.substr(0, 4), std::string("\0\0\0\3", 4));
  EXPECT_EQ(bytes[4], 3);
}

TEST(Frame, RejectsZeroAndOversizedLengths) {
  FrameDecoder zero;
  zero.feed(std::string("\0\0\0\0", 4));
  auto frame = zero.next();
  ASSERT_TRUE(frame.has_value());
  EXPECT_FALSE(frame->ok());

  FrameDecoder huge;
  huge.feed(std::string("\x7f\0\0\0", 4));
  frame = huge.next();
  ASSERT_TRUE(frame.has_value());
  EXPECT_FALSE(frame->ok());
  EXPECT_NE(frame->error().message().find("out of range"), std::string::npos);
}

TEST(Frame, RejectsUnknownType) {
  FrameDecoder decoder;
  decoder.feed(std::string("\0\0\0\1\x63", 5));
  auto frame = decoder.next();
  ASSERT_TRUE(frame.has_value());
  EXPECT_FALSE(frame->ok());
}

TEST(Frame, WaitsForWholeFrame) {
  FrameDecoder decoder;
  std::string bytes = encode(FrameType::Notice, "partial");
  decoder.feed(std::string_view(bytes).substr(0, 6));
  EXPECT_FALSE(decoder.next().has_value());
  decoder.feed(std::string_view(bytes).substr(6));
  auto frame = decoder.next();
  ASSERT_TRUE(frame.has_value() && frame->ok());
  EXPECT_EQ(frame->value().payload, "partial");
}

}  // namespace vcon::proto
