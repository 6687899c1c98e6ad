// Bounded reads cost what they read, not their bound: every monitor reads
// files with 1-4 MiB bounds, and a buffer sized to the bound stayed in its
// heap (and, inherited by fork, in its keeper's): bench/fleet.
#include "base/files.hpp"

#include <gtest/gtest.h>

#include "temp_dir.hpp"

namespace vcon {

TEST(ReadFile, ASmallFileUnderABigBoundTakesLittleMemory) {
  TempDir dir;
  std::string path = dir.path + "/small";
  ASSERT_TRUE(write_file_atomic(path, "name = \"web\"\n").ok());
  auto text = read_file(path, 1 << 20);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text.value(), "name = \"web\"\n");
  EXPECT_LT(text->capacity(), 64u * 1024);
  auto regular = read_regular_file(path, 1 << 20);
  ASSERT_TRUE(regular.ok());
  EXPECT_EQ(regular.value(), "name = \"web\"\n");
  EXPECT_LT(regular->capacity(), 64u * 1024);
}

TEST(ReadFile, StopsAtTheBound) {
  TempDir dir;
  std::string path = dir.path + "/big";
  ASSERT_TRUE(write_file_atomic(path, std::string(100000, 'x')).ok());
  auto text = read_file(path, 40000);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->size(), 40000u);
  EXPECT_EQ(read_file(path)->size(), 100000u);
}

}  // namespace vcon
