// close_later: descriptors handed over are closed, on another thread, and
// counted until they are.
#include "base/fd_closer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace vcon {

namespace {

bool open_fd(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

bool eventually(const auto& condition) {
  for (int i = 0; i < 500 && !condition(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
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

}  // namespace vcon
