// OutputQueue: shared chunks, dropping oldest data, drop notices, in-flight safety, rests; RestPolicy.
#include "proto/output_queue.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace vcon::proto {

namespace {
Chunk chunk(std::string text) { return std::make_shared<const std::string>(std::move(text)); }

std::string drain(OutputQueue& queue) {
  std::string out;
  while (!queue.empty()) {
    const OutgoingFrame& frame = queue.front_batch(1)[0];
    out += frame.is_data ? *frame.payload : "{" + *frame.payload + "}";
    queue.pop_batch();
  }
  return out;
}
}  // namespace

TEST(OutputQueue, SharesChunksWithoutCopying) {
  OutputQueue a(100), b(100);
  Chunk data = chunk("hello");
  a.push_data(data);
  b.push_data(data);
  EXPECT_EQ(a.front_batch(1)[0].payload.get(), data.get());
  EXPECT_EQ(b.front_batch(1)[0].payload.get(), data.get());
  EXPECT_EQ(data.use_count(), 3);
}

TEST(OutputQueue, HeaderEncodesLengthAndType) {
  OutputQueue queue(100);
  queue.push_data(chunk("ab"));
  const auto& frame = queue.front_batch(1)[0];
  EXPECT_EQ(std::string(frame.header.data(), 5), encode(FrameType::Data, "").substr(0, 3) + std::string("\3\3", 2));
}

TEST(OutputQueue, DropsOldestDataAndReportsItFirst) {
  OutputQueue queue(10 + 2 * OutputQueue::kFrameCost);  // two frames of 4
  queue.push_data(chunk("aaaa"));
  queue.push_data(chunk("bbbb"));
  queue.push_control(FrameType::Notice, "n");
  queue.push_data(chunk("cccc"));  // three: "aaaa" goes
  EXPECT_EQ(queue.queued_data_bytes(), 8u);
  EXPECT_EQ(queue.dropped_bytes(), 4u);
  EXPECT_EQ(drain(queue), std::string("{") + R"({"bytes":4,"type":"dropped"})" + "}bbbb{n}cccc");
}

TEST(OutputQueue, NeverDropsTheFrameBeingWritten) {
  OutputQueue queue(4 + OutputQueue::kFrameCost);
  queue.push_data(chunk("1111"));
  const OutgoingFrame& writing = queue.front_batch(1)[0];
  const std::string* payload = writing.payload.get();
  queue.push_data(chunk("2222"));
  queue.push_data(chunk("3333"));
  EXPECT_EQ(queue.front_batch(1)[0].payload.get(), payload) << "the in-flight frame stays at the front";
  queue.pop_batch();
  EXPECT_EQ(drain(queue), std::string("{") + R"({"bytes":4,"type":"dropped"})" + "}3333");
}

TEST(OutputQueue, FrameBeingWrittenStaysPutWhileTheQueueChurns) {
  OutputQueue queue(8);
  queue.push_data(chunk("first"));
  const OutgoingFrame& writing = queue.front_batch(1)[0];
  const char* header = writing.header.data();
  std::string before(header, 5);
  for (int i = 0; i < 1000; ++i) {
    queue.push_control(FrameType::Notice, "n");
    queue.push_data(chunk("churn" + std::to_string(i)));
  }
  EXPECT_EQ(std::string(header, 5), before) << "a writer's buffer must not move or change under it";
  EXPECT_EQ(&queue.front_batch(1)[0], &writing);
  EXPECT_EQ(*queue.front_batch(1)[0].payload, "first");
}

TEST(OutputQueue, ControlFramesAreNeverDropped) {
  OutputQueue queue(1);
  for (int i = 0; i < 5; ++i) queue.push_control(FrameType::Notice, std::to_string(i));
  queue.push_data(chunk("xx"));
  queue.push_data(chunk("yy"));
  EXPECT_EQ(drain(queue), std::string("{") + R"({"bytes":2,"type":"dropped"})" + "}{0}{1}{2}{3}{4}yy")
      << "the newest chunk is kept even when it alone is over the limit";
}

TEST(OutputQueue, MemoryStaysBoundedUnderAFlood) {
  OutputQueue queue(64 * 1024);
  Chunk block = chunk(std::string(4096, 'x'));
  for (int i = 0; i < 100000; ++i) queue.push_data(block);
  EXPECT_LE(queue.queued_data_bytes(), 64u * 1024 + 4096);
  EXPECT_EQ(queue.dropped_bytes() + queue.queued_data_bytes(), 100000u * 4096);
}

// A zone that writes a byte at a time makes a frame of each byte: the
// limit counts what a frame costs, so a client that stops reading holds
// a few thousand of them, not a quarter of a million.
TEST(OutputQueue, FramesOfAByteCountWhatTheyCostNotTheirByte) {
  const std::size_t limit = 256 * 1024;
  OutputQueue queue(limit);
  Chunk byte = chunk("x");
  for (int i = 0; i < 300000; ++i) queue.push_data(byte);
  std::size_t frames = queue.queued_data_bytes();  // a byte each
  EXPECT_LE(frames, limit / (1 + OutputQueue::kFrameCost) + 1);
  EXPECT_GE(frames, limit / (1 + OutputQueue::kFrameCost) - 1);
  EXPECT_EQ(queue.queued_data_cost(), frames * (1 + OutputQueue::kFrameCost));
  EXPECT_EQ(queue.dropped_bytes() + frames, 300000u);
}

}  // namespace vcon::proto

namespace vcon::proto {

TEST(OutputQueue, BatchTakesFramesInOrderAndStaysPut) {
  OutputQueue queue(6 + 2 * OutputQueue::kFrameCost);  // two frames of 3
  queue.push_data(chunk("aaa"));
  queue.push_control(FrameType::Notice, "n");
  queue.push_data(chunk("bbb"));
  const auto& batch = queue.front_batch(2);
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(*batch[0].payload, "aaa");
  EXPECT_EQ(*batch[1].payload, "n");
  const char* first_header = batch[0].header.data();
  for (int i = 0; i < 100; ++i) queue.push_data(chunk("zzz"));  // drops queued data, not the batch
  EXPECT_EQ(batch[0].header.data(), first_header);
  EXPECT_EQ(*batch[0].payload, "aaa");
  queue.pop_batch();
  EXPECT_EQ(queue.queued_control_bytes(), 0u);
  std::string rest = drain(queue);
  EXPECT_EQ(rest.substr(0, 1), "{") << "the loss is reported before the rest";
  EXPECT_EQ(rest.substr(rest.size() - 6), "zzzzzz");
}

}  // namespace vcon::proto

namespace vcon::proto {
namespace {

TEST(OutputQueue, ARestingClientKeepsOnlyTheNewestUntilItsRestEnds) {
  OutputQueue queue(256 * 1024);
  std::string kib(1024, 'o');
  for (int i = 0; i < 40; ++i) EXPECT_FALSE(queue.push_data(chunk(kib))) << "under the limit nothing goes";
  queue.rest();
  EXPECT_TRUE(queue.resting());
  EXPECT_LE(queue.queued_data_cost(), RestPolicy::kKeep) << "cut to the newest";
  EXPECT_GT(queue.queued_data_cost(), RestPolicy::kKeep - 1024 - OutputQueue::kFrameCost);
  queue.push_data(chunk("newest"));
  std::size_t kept = queue.queued_data_bytes();
  EXPECT_LE(queue.queued_data_cost(), RestPolicy::kKeep);
  queue.end_rest();
  std::string out = drain(queue);
  EXPECT_NE(out.find("dropped"), std::string::npos) << "told first";
  EXPECT_EQ(out.substr(out.size() - 6), "newest");
  EXPECT_EQ(queue.dropped_bytes(), 40 * 1024 + 6 - kept);
}

TEST(OutputQueue, PushSaysWhenTheClientFellBehind) {
  OutputQueue queue(10 + 2 * OutputQueue::kFrameCost);
  EXPECT_FALSE(queue.push_data(chunk("aaaa")));
  EXPECT_FALSE(queue.push_data(chunk("bbbb")));
  EXPECT_TRUE(queue.push_data(chunk("cccc")));
}

using Clock = RestPolicy::Clock;

TEST(RestPolicy, AClientFarBehindRestsLongerEachTimeUpToTheMost) {
  RestPolicy policy;
  Clock::time_point now{};
  EXPECT_EQ(policy.start(now), RestPolicy::kMin);
  Clock::duration last = RestPolicy::kMin;
  for (int i = 0; i < 10; ++i) {
    now += last;
    policy.ended(now);
    policy.offered(100'000);
    policy.taken(10'000);  // took a tenth of what came
    now += std::chrono::milliseconds(5);
    Clock::duration next = policy.start(now);
    EXPECT_EQ(next, std::min<Clock::duration>(2 * last, RestPolicy::kMax));
    last = next;
  }
  EXPECT_EQ(last, RestPolicy::kMax);
}

TEST(RestPolicy, AClientThatNearlyKeepsUpOrKeptUpAWhileRestsTheLeast) {
  RestPolicy policy;
  Clock::time_point now{};
  policy.start(now);
  policy.ended(now += RestPolicy::kMin);
  policy.offered(100'000);
  policy.taken(10'000);
  EXPECT_EQ(policy.start(now += std::chrono::milliseconds(5)), 2 * RestPolicy::kMin) << "far behind";
  policy.ended(now += 2 * RestPolicy::kMin);
  policy.offered(100'000);
  policy.taken(80'000);  // most of it
  EXPECT_EQ(policy.start(now += std::chrono::milliseconds(5)), RestPolicy::kMin) << "nearly keeps up";
  policy.ended(now += RestPolicy::kMin);
  policy.offered(100'000);
  policy.taken(0);
  EXPECT_EQ(policy.start(now += RestPolicy::kStreak), RestPolicy::kMin) << "a while after its last rest";
}

TEST(RestPolicy, RestsAreScaledByTheShare) {
  RestPolicy policy;
  policy.set_scale(10);
  Clock::time_point now{};
  EXPECT_EQ(policy.start(now), 10 * RestPolicy::kMin);
  Clock::duration last = 10 * RestPolicy::kMin;
  for (int i = 0; i < 10; ++i) {
    policy.ended(now += last);
    policy.offered(100'000);
    now += std::chrono::milliseconds(5);
    last = policy.start(now);
  }
  EXPECT_EQ(last, 10 * RestPolicy::kMax);
  policy.set_scale(1);  // fewer clients now
  policy.ended(now += last);
  policy.offered(100'000);
  EXPECT_EQ(policy.start(now += std::chrono::milliseconds(5)), RestPolicy::kMax) << "no longer than the new most";
  EXPECT_TRUE(policy.rests());
  policy.set_scale(0);
  EXPECT_FALSE(policy.rests()) << "alone";
}

TEST(Share, AFewClientsGetTheFullAmountManyShareTheBudget) {
  constexpr std::size_t full = 256 * 1024;
  for (std::size_t clients : {0, 1}) EXPECT_EQ(share_of(clients, full), (Share{full, 0, 0})) << "alone: no rest";
  for (std::size_t clients : {2, 4}) EXPECT_EQ(share_of(clients, full), (Share{full, 0, 1})) << clients;
  Share last = share_of(4, full);
  for (std::size_t clients = 5; clients <= 2000; ++clients) {
    Share share = share_of(clients, full);
    EXPECT_LE(share.queue, last.queue) << clients << " clients: not more than fewer got";
    EXPECT_GE(share.queue, kShareFloor);
    EXPECT_EQ(share.socket, share.queue);
    EXPECT_EQ(share.rest_scale, std::min<std::size_t>((clients + 9) / 10, kMostRestScale))
        << "one more time as long per ten more clients, up to the most";
    if (share.queue > kShareFloor) {
      EXPECT_LE(clients * (share.queue + share.socket), kShareBudget) << clients << " clients within the budget";
    }
    last = share;
  }
  EXPECT_EQ(share_of(100, full), (Share{kShareFloor, kShareFloor, 10})) << "a hundred clients: the least each";
  EXPECT_EQ(share_of(10, full).queue, kShareBudget / 20);
  EXPECT_EQ(share_of(1024, full).rest_scale, 10u) << "rests of 2 s at most, however many attach";
}

}  // namespace
}  // namespace vcon::proto
