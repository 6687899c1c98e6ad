// Reaching into a hostile zone tree: symlinks stay inside, non-regular files
// and big files are refused without blocking; and removing a tree never
// follows a symlink out of it.
#include "zone/zone_root.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/openat2.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/files.hpp"
#include "temp_dir.hpp"

namespace vcon {

class ZoneTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root = dir.path + "/root";
    outside = dir.path + "/outside";
    ASSERT_TRUE(make_directories(root + "/etc").ok());
    ASSERT_TRUE(make_directories(outside).ok());
    ASSERT_TRUE(write_file_atomic(outside + "/passwd", "leak:x:0:0::/:/bin/sh\n").ok());
    ASSERT_TRUE(write_file_atomic(root + "/etc/group", "root:x:0:\n").ok());
    fd.reset(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  TempDir dir;
  std::string root, outside;
  UniqueFd fd;
};

TEST_F(ZoneTree, AbsoluteAndDotDotSymlinksStayInside) {
  ASSERT_EQ(::symlink((outside + "/passwd").c_str(), (root + "/etc/passwd").c_str()), 0);
  EXPECT_FALSE(read_zone_file(fd.get(), "/etc/passwd", 4096).ok());
  ASSERT_EQ(::unlink((root + "/etc/passwd").c_str()), 0);
  ASSERT_EQ(::symlink("../../../../outside/passwd", (root + "/etc/passwd").c_str()), 0);
  EXPECT_FALSE(read_zone_file(fd.get(), "/etc/passwd", 4096).ok());
  ASSERT_EQ(::unlink((root + "/etc/passwd").c_str()), 0);
  ASSERT_EQ(::symlink("/etc/group", (root + "/etc/passwd").c_str()), 0);  // inside: fine
  EXPECT_EQ(read_zone_file(fd.get(), "/etc/passwd", 4096).value(), "root:x:0:\n");
}

TEST_F(ZoneTree, FifosDevicesAndBigFilesAreRefusedAtOnce) {
  ASSERT_EQ(::mkfifo((root + "/etc/passwd").c_str(), 0644), 0);
  auto fifo = read_zone_file(fd.get(), "/etc/passwd", 4096);  // must not block
  ASSERT_FALSE(fifo.ok());
  EXPECT_NE(fifo.error().message().find("not a regular file"), std::string::npos);
  ASSERT_EQ(::unlink((root + "/etc/passwd").c_str()), 0);
  ASSERT_EQ(::symlink("/dev/zero", (root + "/etc/passwd").c_str()), 0);  // resolves to root/dev/zero: absent
  EXPECT_FALSE(read_zone_file(fd.get(), "/etc/passwd", 4096).ok());
  ASSERT_TRUE(write_file_atomic(root + "/etc/big", std::string(5000, 'x')).ok());
  auto big = read_zone_file(fd.get(), "/etc/big", 4096);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message().find("larger than 4096"), std::string::npos);
}

TEST_F(ZoneTree, MountPointsMustNotBeSymlinks) {
  ASSERT_EQ(::symlink("/", (root + "/dev").c_str()), 0);
  auto dev = open_in_root(fd.get(), "dev", O_PATH | O_DIRECTORY, RESOLVE_NO_SYMLINKS);
  ASSERT_FALSE(dev.ok());
  EXPECT_NE(dev.error().message().find("is a symlink"), std::string::npos) << dev.error().message();
}

TEST_F(ZoneTree, RemovingATreeNeverFollowsItsSymlinks) {
  ASSERT_TRUE(make_directories(root + "/a/b/c").ok());
  ASSERT_EQ(::symlink(outside.c_str(), (root + "/a/b/out").c_str()), 0);
  ASSERT_EQ(::symlink("/", (root + "/a/slash").c_str()), 0);
  // Deeper than any path could name (3,000 x 5 bytes > PATH_MAX), and than
  // the fd limit (256, set below) if each level held one.
  ASSERT_EQ(::mkdir((root + "/deep").c_str(), 0755), 0);
  {
    UniqueFd level(::open((root + "/deep").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    for (int i = 0; i < 3000; ++i) {
      ASSERT_EQ(::mkdirat(level.get(), "dddd", 0755), 0);
      level.reset(::openat(level.get(), "dddd", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    }
  }
  rlimit saved;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit few = saved;
  few.rlim_cur = 256;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &few), 0);
  auto removed = remove_tree(root);
  ::setrlimit(RLIMIT_NOFILE, &saved);
  ASSERT_TRUE(removed.ok()) << removed.error().message();
  EXPECT_FALSE(path_exists(root));
  EXPECT_TRUE(path_exists(outside + "/passwd"));
}

}  // namespace vcon
