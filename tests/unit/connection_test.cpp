// FrameConnection on a real socket pair: its share (how far behind it may
// fall, its socket's buffer, whether and how long it rests), and what goes
// while it rests.
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "proto/connection.hpp"

namespace vcon::proto {
namespace {

struct Pair {
  asio::io_context io;
  asio::local::stream_protocol::socket peer{io};  // the client's end; reads only when told
  std::shared_ptr<FrameConnection> connection;
  Pair() {
    asio::local::stream_protocol::socket ours(io);
    asio::local::connect_pair(ours, peer);
    peer.non_blocking(true);
    connection = std::make_shared<FrameConnection>(std::move(ours));
    connection->start([](Frame) {}, [](const std::string&) {});
  }
  ~Pair() { connection->close("test over"); }
  int send_buffer() {
    int value = 0;
    socklen_t length = sizeof value;
    ::getsockopt(connection->native_handle(), SOL_SOCKET, SO_SNDBUF, &value, &length);
    return value;
  }
  // Console output until the connection drops some (the peer reads nothing).
  void fall_behind() {
    auto filler = std::make_shared<const std::string>(4096, 'f');
    for (int i = 0; i < 10000 && connection->dropped_bytes() == 0; ++i) {
      connection->send_data(filler);
      io.poll();
    }
    ASSERT_GT(connection->dropped_bytes(), 0u) << "the socket never filled up";
  }
  // What the peer can read now, polling the loop for up to `ms`.
  std::string read_for(int ms, const std::string& until) {
    std::string seen;
    char buffer[65536];
    for (int round = 0; round < ms * 10 && seen.find(until) == std::string::npos; ++round) {
      io.poll();
      std::error_code ec;
      std::size_t n = peer.read_some(asio::buffer(buffer), ec);
      if (!ec) seen.append(buffer, n);
      ::usleep(100);
    }
    return seen;
  }
};

TEST(FrameConnection, ACrowdsShareSetsTheSocketsBufferAndGivesItBack) {
  Pair pair;
  int own = pair.send_buffer();
  pair.connection->set_share(share_of(100, FrameConnection::kDefaultDataLimit));
  EXPECT_EQ(pair.send_buffer(), static_cast<int>(kShareFloor)) << "the kernel doubles half of it";
  pair.connection->set_share(share_of(1, FrameConnection::kDefaultDataLimit));
  EXPECT_EQ(pair.send_buffer(), own) << "alone again: the system's own";
}

TEST(FrameConnection, AloneItKeepsItsWholeQueueInCompanyItRestsWithTheNewest) {
  constexpr std::size_t limit = 64 * 1024;
  for (unsigned scale : {0u, 1u}) {
    Pair pair;
    pair.connection->set_share(Share{limit, 0, scale});
    pair.fall_behind();
    if (scale == 0) {
      EXPECT_EQ(pair.connection->dropped_bytes(), 4096u) << "only the oldest chunk went";
    } else {
      EXPECT_GE(pair.connection->dropped_bytes(), limit - RestPolicy::kKeep) << "resting: cut to the newest";
    }
  }
}

TEST(FrameConnection, NoticesGoEvenWhileTheClientRests) {
  Pair pair;
  pair.connection->set_share(Share{64 * 1024, 0, kMostRestScale});  // its first rest: 250 ms
  pair.fall_behind();
  pair.read_for(20, "never");  // the client reads what its socket held; it rests still
  pair.connection->send(FrameType::Notice, R"({"type":"join","user":"bob"})");
  EXPECT_NE(pair.read_for(100, "bob").find("bob"), std::string::npos) << "within the rest";
}

TEST(FrameConnection, ALastOtherClientLeavingEndsTheRest) {
  Pair pair;
  pair.connection->set_share(Share{64 * 1024, 0, kMostRestScale});
  pair.fall_behind();
  pair.read_for(20, "never");
  pair.connection->send_data(std::make_shared<const std::string>("the newest"));
  EXPECT_EQ(pair.read_for(20, "the newest").find("the newest"), std::string::npos) << "resting";
  pair.connection->set_share(share_of(1, FrameConnection::kDefaultDataLimit));
  EXPECT_NE(pair.read_for(100, "the newest").find("the newest"), std::string::npos) << "at once, not in 250 ms";
}

// The answer to `who` with a crowd attached is larger than kControlLimit:
// it goes, whole, after a small answer still waiting (consolefs asks for
// the status and who at once); a second one on top of it is a client that
// asks and does not read, and is dropped.
TEST(FrameConnection, AFrameLargerThanTheControlLimitGoesButNotOnTopOfAnother) {
  Pair pair;
  const std::string answer(900 * 1024, 'w');  // more than the socket's buffer holds
  pair.connection->send(FrameType::Response, R"({"state":"running"})");
  pair.connection->send(FrameType::Response, answer);
  pair.io.poll();
  EXPECT_FALSE(pair.connection->is_closed()) << "alone in the queue: taken";
  pair.connection->send(FrameType::Response, answer);
  pair.io.poll();
  EXPECT_TRUE(pair.connection->is_closed()) << "on top of one not read yet: past the limit";

  Pair reader;
  reader.connection->send(FrameType::Response, answer);
  std::string seen;
  for (int round = 0; round < 20000 && seen.size() < answer.size() + 5 && !reader.connection->is_closed(); ++round) {
    seen += reader.read_for(1, "never");
  }
  EXPECT_EQ(seen.size(), answer.size() + 5) << "the whole frame: its 4-byte length, its type and the answer";
  EXPECT_EQ(seen.substr(seen.size() - 3), "www");
  EXPECT_FALSE(reader.connection->is_closed());
}

}  // namespace
}  // namespace vcon::proto
