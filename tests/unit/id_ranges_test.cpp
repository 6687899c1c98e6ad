// Zone id ranges: the registry format, choosing free ranges, id maps, and the
// locked registry file (allocate, claim, release, vanished owners).
#include "zone/id_ranges.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "base/files.hpp"
#include "temp_dir.hpp"

namespace vcon {

TEST(IdRegistry, FormatRoundTripsPathsWithColons) {
  std::vector<IdRangeEntry> entries{{"/var/lib/vcon/zones/web", {0x40000000, 65536}}, {"/odd:dir/zones/a", {5, 7}}};
  auto parsed = parse_id_registry(serialize_id_registry(entries), "subid");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[1].owner, "/odd:dir/zones/a");
  EXPECT_EQ((*parsed)[1].range.base, 5u);
  EXPECT_EQ((*parsed)[1].range.count, 7u);
}

TEST(IdRegistry, AMalformedLineIsAnErrorNamingIt) {
  for (const char* text : {"/z:1\n", "/z:x:5\n", "/z:1:0\n", "/z:4294967295:2\n", ":1:2\n"}) {
    auto parsed = parse_id_registry(std::string("# ok\n") + text, "subid");
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.error().message().find("subid line 2"), std::string::npos) << parsed.error().message();
  }
}

TEST(IdRanges, ChoosesTheLowestFreeAlignedRange) {
  EXPECT_EQ(choose_free_range({}, 65536)->base, kIdPoolStart);
  std::vector<IdRange> taken{{kIdPoolStart, 65536}, {kIdPoolStart + 65536 + 100, 1}};
  EXPECT_EQ(choose_free_range(taken, 65536)->base, kIdPoolStart + 2 * 65536);
  // A huge /etc/subuid range across the start of the pool pushes past it.
  taken = {{kIdPoolStart - 10, 200000}};
  EXPECT_EQ(choose_free_range(taken, 65536)->base, kIdPoolStart + 4 * 65536);
  EXPECT_FALSE(choose_free_range({{0, 0xffffffff}}, 65536).has_value());
}

TEST(IdRanges, SubidFilesAndIdMaps) {
  auto ranges = parse_subid_file("alice:100000:65536\ngarbage\nbob:165536:65536\n");
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[1].base, 165536u);
  auto map = parse_id_map("         0 1073741824      65536\n");
  EXPECT_EQ(inside_id(map, 1073741824u + 1000), 1000u);
  EXPECT_FALSE(inside_id(map, 0).has_value());
  EXPECT_FALSE(inside_id(map, 1073741824u + 65536).has_value());
}

TEST(IdRegistry, AllocatesClaimsAndReleases) {
  TempDir dir;
  IdRegistry registry(dir.path + "/etc/subid");
  std::string a = dir.path + "/a", b = dir.path + "/b", c = dir.path + "/c";
  for (const auto& owner : {a, b, c}) ASSERT_EQ(::mkdir(owner.c_str(), 0700), 0);
  auto first = registry.allocate(a);
  auto second = registry.allocate(b);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_FALSE(first->overlaps(second.value()));
  EXPECT_EQ(first->count, kZoneIdCount);
  // c copied a's range (a copied zone.toml): refused, naming a.
  auto stolen = registry.claim(c, first.value());
  ASSERT_FALSE(stolen.ok());
  EXPECT_NE(stolen.error().message().find(a), std::string::npos) << stolen.error().message();
  EXPECT_TRUE(registry.claim(a, first.value()).ok());
  // A zone directory that is gone gives its range back.
  ASSERT_EQ(::rmdir(a.c_str()), 0);
  auto third = registry.allocate(c);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->base, first->base);
  ASSERT_TRUE(registry.release(b).ok());
  auto text = read_file(registry.path());
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->find(b), std::string::npos);
  EXPECT_NE(text->find(c), std::string::npos);
}

}  // namespace vcon
