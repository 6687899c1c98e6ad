// The cgroup layout read from mountinfo, and byte sizes.
#include "zone/cgroup.hpp"

#include <gtest/gtest.h>

namespace vcon {

const char* const kHybrid =
    "35 24 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
    "36 35 0:31 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
    "37 35 0:32 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup rw,xattr,name=systemd\n"
    "40 35 0:35 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:14 - cgroup cgroup rw,cpu,cpuacct\n"
    "41 35 0:36 / /sys/fs/cgroup/memory rw,nosuid shared:15 - cgroup cgroup rw,memory\n"
    "42 24 0:36 / /mnt/again rw,nosuid shared:15 - cgroup cgroup rw,memory\n"
    "43 24 0:40 / /mnt/with\\040space rw - ext4 /dev/vda rw\n";

TEST(CgroupLayout, HybridHostEachHierarchyOnce) {
  auto layout = parse_cgroup_mounts(kHybrid);
  ASSERT_EQ(layout.size(), 4u);
  EXPECT_TRUE(layout[0].unified);
  EXPECT_EQ(layout[0].mountpoint, "/sys/fs/cgroup/unified");
  EXPECT_EQ(layout[1].name, "systemd");
  EXPECT_TRUE(layout[1].controllers.empty());
  EXPECT_EQ(layout[2].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_TRUE(layout[3].has("memory"));
}

TEST(CgroupLayout, PureV2) {
  auto layout = parse_cgroup_mounts(
      "30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n");
  ASSERT_EQ(layout.size(), 1u);
  EXPECT_TRUE(layout[0].unified);
  EXPECT_EQ(layout[0].mountpoint, "/sys/fs/cgroup");
}

TEST(CgroupLayout, EscapedMountpoints) {
  auto layout = parse_cgroup_mounts("50 24 0:50 / /mnt/my\\040cgroups rw - cgroup2 none rw\n");
  ASSERT_EQ(layout.size(), 1u);
  EXPECT_EQ(layout[0].mountpoint, "/mnt/my cgroups");
}

TEST(ByteSize, SuffixesAndErrors) {
  EXPECT_EQ(parse_byte_size("1048576").value(), 1048576u);
  EXPECT_EQ(parse_byte_size("512M").value(), 512ull << 20);
  EXPECT_EQ(parse_byte_size("2G").value(), 2ull << 30);
  EXPECT_EQ(parse_byte_size("64KiB").value(), 64ull << 10);
  for (const char* bad : {"", "M", "12X", "-5", "1.5G", "99999999999T"}) EXPECT_FALSE(parse_byte_size(bad).ok()) << bad;
}

}  // namespace vcon
