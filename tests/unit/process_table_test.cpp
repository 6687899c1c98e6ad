// /proc parsing for vcon ps.
#include "zone/process_table.hpp"

#include <gtest/gtest.h>

namespace vcon {

TEST(ProcStatus, ReadsUidAndNestedPids) {
  auto status = parse_proc_status("Name:\tsh\nUid:\t1000\t1000\t1000\t1000\nNSpid:\t4242\t7\n");
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->uid, 1000u);
  EXPECT_EQ(status->nspid, (std::vector<pid_t>{4242, 7}));
}

TEST(ProcStatus, MissingFieldsGiveNothing) {
  EXPECT_FALSE(parse_proc_status("Name:\tsh\nUid:\t0\t0\t0\t0\n").has_value());
  EXPECT_FALSE(parse_proc_status("NSpid:\t1\n").has_value());
}

TEST(Passwd, MapsUidsToNames) {
  auto users = parse_passwd("root:x:0:0:root:/root:/bin/sh\n# comment\nbroken\nops:x:1001:1001::/home/ops:/bin/sh\n");
  EXPECT_EQ(users.at(0), "root");
  EXPECT_EQ(users.at(1001), "ops");
  EXPECT_EQ(users.size(), 2u);
}

TEST(ProcessTable, ProcessGroupFromStatWithAHostileCommandName) {
  EXPECT_EQ(parse_stat_process_group("42 (sh) S 1 42 42 34816 42 4194560"), 42);
  // A zone names its processes: ") R 1 666" in comm must not fool the parser.
  EXPECT_EQ(parse_stat_process_group("43 (x) R 1 666 (y) S 7 43 43 0 -1"), 43);
  EXPECT_FALSE(parse_stat_process_group("garbage").has_value());
}

}  // namespace vcon
