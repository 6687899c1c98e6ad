// close_later: descriptors handed over are closed, on another thread, and
// counted until they are.
#include "base/fd_closer.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace vcon {

namespace {

bool open_fd(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

bool eventually(const auto& condition) {
  for (int i = 0; i < 1000 && !condition(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return condition();
}

}  // namespace

TEST(CloseLater, ClosesWhatItIsGivenAndCountsItUntilThen) {
  int ends[2];
  ASSERT_EQ(::pipe2(ends, O_CLOEXEC), 0);
  close_later(UniqueFd(ends[0]));
  close_later(UniqueFd());  // nothing to close: no harm
  EXPECT_TRUE(eventually([&] { return !open_fd(ends[0]); }));
  EXPECT_TRUE(eventually([] { return closes_pending() == 0; }));
  ::close(ends[1]);
}

TEST(ForeignFd, IsClosedLaterWhenItGoesAndNotWhenTaken) {
  int ends[2];
  ASSERT_EQ(::pipe2(ends, O_CLOEXEC), 0);
  { ForeignFd gone{UniqueFd(ends[0])}; }
  EXPECT_TRUE(eventually([&] { return !open_fd(ends[0]); }));
  ForeignFd kept{UniqueFd(ends[1])};
  UniqueFd taken = kept.take();
  EXPECT_FALSE(kept);
  EXPECT_EQ(taken.get(), ends[1]);
  EXPECT_TRUE(open_fd(ends[1])) << "taken: its new owner closes it";
}

// A TCP socket whose close waits an hour (SO_LINGER) for data its peer
// never reads: the watcher interrupts that close after a second, and the
// closer goes on with the next.
TEST(CloseLater, ACloseThatLingersIsCutShort) {
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener.get(), 1), 0);
  ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);
  UniqueFd sender(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  ASSERT_TRUE(::connect(sender.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 ||
              errno == EINPROGRESS);
  UniqueFd receiver(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(receiver);
  static char block[65536];
  while (::send(sender.get(), block, sizeof block, MSG_NOSIGNAL) > 0) {
  }
  linger hour{1, 3600};
  ASSERT_EQ(::setsockopt(sender.get(), SOL_SOCKET, SO_LINGER, &hour, sizeof hour), 0);
  close_later(std::move(sender));
  EXPECT_TRUE(eventually([] { return closes_pending() == 0; })) << "still in the close of the lingering socket";
  int ends[2];
  ASSERT_EQ(::pipe2(ends, O_CLOEXEC), 0);
  close_later(UniqueFd(ends[0]));
  EXPECT_TRUE(eventually([&] { return !open_fd(ends[0]); })) << "the closer went on";
  ::close(ends[1]);
}

}  // namespace vcon
