// Zone name rules.
#include "base/names.hpp"

#include <gtest/gtest.h>

namespace vcon {

TEST(ZoneName, AcceptsTheAllowedAlphabet) {
  for (const std::string& name : std::vector<std::string>{"a", "web", "db-1", "z0.test_2", "0zone", std::string(63, 'x')}) {
    EXPECT_TRUE(validate_zone_name(name).ok()) << name;
  }
}

TEST(ZoneName, RejectsWithAReason) {
  struct Case {
    std::string name;
    const char* reason;
  };
  for (const auto& c : {Case{"", "empty"}, Case{"-x", "start"}, Case{"Web", "start"}, Case{"a/b", "'/'"},
                        Case{"a b", "' '"}, Case{std::string(64, 'x'), "longer"}, Case{"..", "start"}}) {
    auto result = validate_zone_name(c.name);
    ASSERT_FALSE(result.ok()) << c.name;
    EXPECT_NE(result.error().message().find(c.reason), std::string::npos) << result.error().message();
  }
}

}  // namespace vcon
