// ConsoleHub with a crowd, on real socket pairs: what `who` answers and
// what join notices say when more clients are attached than fit.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "base/json_text.hpp"
#include "console/ring_buffer.hpp"
#include "monitor/console_hub.hpp"
#include "proto/connection.hpp"
#include "proto/frame.hpp"

namespace vcon {
namespace {

using nlohmann::json;

struct Port : ConsolePort {
  RingBuffer ring_{4096};
  std::string name_ = "web";
  void write_input(std::string, const Peer&) override {}
  void resize(unsigned, unsigned) override {}
  const RingBuffer& ring() const override { return ring_; }
  const std::string& console_name() const override { return name_; }
  void log_event(const std::string&) override {}
  Result<void> send_break(const std::string&) override { return {}; }
};

struct Crowd {
  asio::io_context io;
  Port port;
  ConsoleHub hub{port, io.get_executor()};
  std::vector<asio::local::stream_protocol::socket> peers;  // the clients' ends

  // Attaches a client named `user` (as root unless `uid`: no throttle),
  // read-write if asked (with force: `force`).
  void attach(const std::string& user, bool rw, uid_t uid = 0, bool force = false) {
    asio::local::stream_protocol::socket ours(io), theirs(io);
    asio::local::connect_pair(ours, theirs);
    theirs.non_blocking(true);
    peers.push_back(std::move(theirs));
    auto connection = std::make_shared<proto::FrameConnection>(std::move(ours));
    connection->start([](proto::Frame) {}, [](const std::string&) {});
    proto::Hello hello;
    hello.mode = rw ? proto::Mode::ReadWrite : proto::Mode::ReadOnly;
    hello.force = force;
    hub.attach(connection, Peer{uid, 100, user, false}, hello);
    io.poll();
  }

  // The frames client `i` was sent so far, and whether it was closed.
  std::vector<proto::Frame> frames(std::size_t i, bool* closed = nullptr) {
    io.poll();
    proto::FrameDecoder decoder;
    char buffer[65536];
    std::error_code ec;
    while (std::size_t n = peers[i].read_some(asio::buffer(buffer), ec)) decoder.feed({buffer, n});
    if (closed) *closed = ec == asio::error::eof;
    std::vector<proto::Frame> out;
    while (auto frame = decoder.next()) {
      if (*frame) out.push_back(**frame);
    }
    return out;
  }

  // The notices client `i` was sent so far.
  std::vector<json> notices(std::size_t i) {
    io.poll();
    proto::FrameDecoder decoder;
    char buffer[65536];
    std::error_code ec;
    while (std::size_t n = peers[i].read_some(asio::buffer(buffer), ec)) decoder.feed({buffer, n});
    std::vector<json> out;
    while (auto frame = decoder.next()) {
      if (*frame && (*frame)->type == proto::FrameType::Notice) out.push_back(json::parse((*frame)->payload));
    }
    return out;
  }

  ~Crowd() { hub.close_all(); io.poll(); }
};

TEST(ConsoleHub, WhoListsWhatFitsTheWriterAlwaysAndCountsTheRest) {
  Crowd crowd;
  for (int i = 0; i < 39; ++i) crowd.attach("viewer" + std::to_string(i), false);
  crowd.attach("writer", true);  // last in attach order
  json all = crowd.hub.who();
  ASSERT_EQ(all["clients"].size(), 40u);
  EXPECT_FALSE(all.contains("more"));

  json some = crowd.hub.who(2048);
  std::size_t listed = some["clients"].size();
  EXPECT_LT(listed, 40u);
  EXPECT_EQ(some.value("more", 0u), 40u - listed);
  EXPECT_LE(json_text(some["clients"]).size(), 2048u + 512u) << "what fits, and the writer";
  EXPECT_EQ(some["clients"].back().value("user", ""), "writer");
  EXPECT_EQ(some["clients"].back().value("mode", ""), "rw");
}

TEST(ConsoleHub, JoinNoticesNameSixteenAndCountTheRest) {
  Crowd crowd;
  for (int i = 0; i < 20; ++i) crowd.attach("u" + std::to_string(i), false);
  std::vector<json> told = crowd.notices(0);
  ASSERT_EQ(told.size(), 20u) << "a join for each, its own first";
  EXPECT_EQ(told.front()["clients"], json::array({"u0"}));
  const json& last = told.back();
  EXPECT_EQ(last.value("type", ""), "join");
  ASSERT_EQ(last["clients"].size(), proto::kNamesShown);
  EXPECT_EQ(last["clients"][0], "u19") << "the newcomer first";
  EXPECT_EQ(last.value("more", 0u), 20u - proto::kNamesShown);
  EXPECT_FALSE(told[15].contains("more")) << "sixteen attached: all named";
  EXPECT_EQ(told[16].value("more", 0u), 1u);
}

// A user's read-write attaches that take the lock (here with force) come
// in a burst of 30; the next one's welcome waits for its turn, and a hub
// closing all its clients closes it too.
TEST(ConsoleHub, ATakingAttachPastTheBurstWaitsItsTurnAndIsClosedWithTheRest) {
  Crowd crowd;
  for (int i = 0; i < 31; ++i) crowd.attach("alice", true, 1000, true);
  auto thirtieth = crowd.frames(29);
  ASSERT_FALSE(thirtieth.empty());
  EXPECT_EQ(thirtieth.front().type, proto::FrameType::Welcome);
  bool closed = true;
  EXPECT_TRUE(crowd.frames(30, &closed).empty()) << "the 31st: no welcome yet";
  EXPECT_FALSE(closed);
  crowd.hub.close_all();
  crowd.frames(30, &closed);
  EXPECT_TRUE(closed) << "closed with the rest, not left waiting";
}

}  // namespace
}  // namespace vcon
