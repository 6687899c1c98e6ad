// UUCP lock files: names, content, and taking, respecting and clearing locks.
#include "serial/uucp_lock.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/files.hpp"
#include "temp_dir.hpp"

namespace vcon {

TEST(UucpLock, Names) {
  EXPECT_EQ(uucp_lock_name("/dev/ttyS0"), "LCK..ttyS0");
  EXPECT_EQ(uucp_lock_name("/dev/pts/3"), "LCK..pts_3");
  EXPECT_EQ(uucp_lock_name("/dev/serial/by-id/usb-x"), "LCK..serial_by-id_usb-x");
  EXPECT_EQ(uucp_lock_name("ttyUSB0"), "LCK..ttyUSB0");
}

TEST(UucpLock, Content) {
  EXPECT_EQ(uucp_lock_content(812), "       812\n");
  EXPECT_EQ(parse_uucp_lock("       812\n"), 812);
  EXPECT_EQ(parse_uucp_lock("812\n"), 812);
  EXPECT_EQ(parse_uucp_lock("812"), 812);
  std::int32_t binary = 4242;
  EXPECT_EQ(parse_uucp_lock(std::string_view(reinterpret_cast<const char*>(&binary), sizeof binary)), 4242);
  for (const char* garbage : {"", "\n", "   \n", "abc\n", "12x\n", "-5\n", "0\n", "99999999999999\n"}) {
    EXPECT_FALSE(parse_uucp_lock(garbage)) << garbage;
  }
}

namespace {
pid_t dead_pid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}
}  // namespace

TEST(UucpLock, TakesHoldsAndReleases) {
  TempDir dir;
  std::string path = dir.path + "/LCK..ttyS0";
  {
    UucpLock lock;
    auto outcome = lock.acquire(dir.path, "/dev/ttyS0");
    ASSERT_TRUE(outcome.ok()) << outcome.error().message();
    EXPECT_EQ(*outcome, UucpLock::Outcome::Locked);
    EXPECT_EQ(read_file(path).value(), uucp_lock_content(::getpid()));
    UucpLock second;
    EXPECT_EQ(second.acquire(dir.path, "/dev/ttyS0").value(), UucpLock::Outcome::Busy);
    ASSERT_TRUE(second.busy());
    EXPECT_EQ(second.busy()->pid, ::getpid());
    EXPECT_NE(second.busy()->holder.find(std::to_string(::getpid())), std::string::npos);
  }
  EXPECT_FALSE(path_exists(path)) << "released when the lock went";
}

TEST(UucpLock, StaleAndGarbageLocksAreTakenOver) {
  TempDir dir;
  std::string path = dir.path + "/LCK..ttyS1";
  for (std::string content : {uucp_lock_content(dead_pid()), std::string("garbage\n"), std::string()}) {
    ASSERT_TRUE(write_file_atomic(path, content).ok());
    UucpLock lock;
    EXPECT_EQ(lock.acquire(dir.path, "/dev/ttyS1").value(), UucpLock::Outcome::Locked) << content;
    EXPECT_EQ(read_file(path).value(), uucp_lock_content(::getpid()));
  }
}

}  // namespace vcon

namespace vcon {

// The lock directory is world-writable: anyone may plant a FIFO, a symlink
// to a device or a huge file under a lock file's name. None may hang or
// bloat the monitor; each is garbage, taken over.
TEST(UucpLock, PlantedFifosLinksAndHugeFilesAreGarbageNotHangs) {
  TempDir dir;
  std::string path = dir.path + "/LCK..ttyS2";
  auto plant = [&](int kind) {
    if (kind == 0) return ::mkfifo(path.c_str(), 0644) == 0;
    if (kind == 1) return ::symlink("/dev/zero", path.c_str()) == 0;
    return write_file_atomic(path, std::string(1 << 20, '1')).ok();
  };
  for (int kind = 0; kind < 3; ++kind) {
    ASSERT_TRUE(plant(kind)) << kind;
    UucpLock lock;
    auto outcome = lock.acquire(dir.path, "/dev/ttyS2");
    ASSERT_TRUE(outcome.ok()) << outcome.error().message();
    EXPECT_EQ(*outcome, UucpLock::Outcome::Locked) << kind;
    EXPECT_EQ(read_file(path).value(), uucp_lock_content(::getpid()));
  }
}

}  // namespace vcon
