// NAMEctl commands: what is accepted, and a clear error for the rest.
#include "console/ctl_command.hpp"

#include <gtest/gtest.h>

namespace vcon {

TEST(CtlCommand, Accepted) {
  auto resize = parse_ctl_command("resize 40 120\n");
  ASSERT_TRUE(resize.ok()) << resize.error().message();
  EXPECT_EQ(resize->kind, CtlCommand::Kind::Resize);
  EXPECT_EQ(resize->rows, 40u);
  EXPECT_EQ(resize->cols, 120u);
  EXPECT_EQ(parse_ctl_command("break")->kind, CtlCommand::Kind::Break);
  EXPECT_EQ(parse_ctl_command("  hangup \n")->kind, CtlCommand::Kind::Hangup);
  auto speed = parse_ctl_command("b115200\n");
  ASSERT_TRUE(speed.ok());
  EXPECT_EQ(speed->kind, CtlCommand::Kind::Speed);
  EXPECT_EQ(speed->speed, 115200u);
}

TEST(CtlCommand, Rejected) {
  struct Case {
    const char* text;
    const char* expected;
  } cases[] = {
      {"", "empty command"},
      {"\n", "empty command"},
      {"resize 40", "usage: resize ROWS COLS"},
      {"resize 0 80", "usage: resize ROWS COLS"},
      {"resize 40 x", "usage: resize ROWS COLS"},
      {"resize 70000 80", "usage: resize ROWS COLS"},
      {"break now", "'break' takes no arguments"},
      {"b9601", "9601 is not a standard line speed"},
      {"bfast", "unknown command 'bfast'"},
      {"reboot", "unknown command 'reboot'"},
  };
  for (const auto& c : cases) {
    auto command = parse_ctl_command(c.text);
    ASSERT_FALSE(command.ok()) << c.text;
    EXPECT_NE(command.error().message().find(c.expected), std::string::npos) << command.error().message();
  }
}

}  // namespace vcon
