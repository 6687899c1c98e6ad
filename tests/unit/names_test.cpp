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

TEST(ConsoleName, ZoneNamesAndSerialLineNames) {
  for (const std::string& name : std::vector<std::string>{"web", "ttyS0", "USB-serial.1", "a", std::string(63, 'X')}) {
    EXPECT_TRUE(validate_console_name(name).ok()) << name;
  }
  for (const std::string& name : std::vector<std::string>{"", "-x", "a/b", "..", ".lines", std::string(64, 'x'), "a b"}) {
    auto result = validate_console_name(name);
    ASSERT_FALSE(result.ok()) << name;
    EXPECT_NE(result.error().message().find("invalid console name"), std::string::npos);
  }
  EXPECT_FALSE(validate_zone_name("ttyS0").ok()) << "zones stay lower-case";
}

}  // namespace vcon
