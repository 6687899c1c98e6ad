// EscapeParser: ~. ~? ~~ at line start only; -e and -E.
#include "console/escape.hpp"

#include <gtest/gtest.h>

namespace vcon {

TEST(Escape, DetachAtStartOfInput) {
  EscapeParser parser('~');
  auto result = parser.feed("~.");
  EXPECT_EQ(result.action, EscapeParser::Action::Detach);
  EXPECT_EQ(result.send, "");
}

TEST(Escape, DetachAfterEnterOnly) {
  EscapeParser parser('~');
  auto mid = parser.feed("ls ~.");
  EXPECT_FALSE(mid.action);
  EXPECT_EQ(mid.send, "ls ~.");
  auto after = parser.feed("\r~.rest");
  EXPECT_EQ(after.action, EscapeParser::Action::Detach);
  EXPECT_EQ(after.send, "\r");
  EXPECT_EQ(after.rest, "rest");
}

TEST(Escape, SplitAcrossReads) {
  EscapeParser parser('~');
  EXPECT_EQ(parser.feed("~").send, "");
  EXPECT_EQ(parser.feed(".").action, EscapeParser::Action::Detach);
}

TEST(Escape, DoubledEscapeSendsOne) {
  EscapeParser parser('~');
  auto result = parser.feed("~~/bin\r");
  EXPECT_FALSE(result.action);
  EXPECT_EQ(result.send, "~/bin\r");
}

TEST(Escape, OtherCharacterPassesThroughWithEscape) {
  EscapeParser parser('~');
  EXPECT_EQ(parser.feed("~x").send, "~x");
}

TEST(Escape, Help) {
  EscapeParser parser('~');
  EXPECT_EQ(parser.feed("~?").action, EscapeParser::Action::Help);
  EXPECT_EQ(parser.feed("~.").action, EscapeParser::Action::Detach) << "still at line start after help";
}

TEST(Escape, OtherEscapeCharacter) {
  EscapeParser parser('^');
  EXPECT_EQ(parser.feed("~.").send, "~.");
  EXPECT_EQ(parser.feed("\r^.").action, EscapeParser::Action::Detach);
}

TEST(Escape, TerminalRepliesKeepTheLineStart) {
  EscapeParser parser('~');
  // Enter, then the terminal's answer to the prompt's cursor query.
  auto result = parser.feed("ls\r\x1b[30;6R~.");
  EXPECT_EQ(result.action, EscapeParser::Action::Detach);
  EXPECT_EQ(result.send, "ls\r\x1b[30;6R");
  EscapeParser split('~');
  split.feed("\r\x1b[");
  split.feed("12;1");
  EXPECT_EQ(split.feed("R~.").action, EscapeParser::Action::Detach) << "a sequence split across reads";
}

TEST(Escape, ArrowKeysMidLineDoNotStartALine) {
  EscapeParser parser('~');
  auto result = parser.feed("ab\x1b[D~.");
  EXPECT_FALSE(result.action);
  EXPECT_EQ(result.send, "ab\x1b[D~.");
}

TEST(Escape, Disabled) {
  EscapeParser parser(std::nullopt);
  auto result = parser.feed("~.~?");
  EXPECT_FALSE(result.action);
  EXPECT_EQ(result.send, "~.~?");
}

}  // namespace vcon

namespace vcon {

TEST(Escape, BreakAtLineStart) {
  EscapeParser parser('~');
  auto result = parser.feed("~#x");
  EXPECT_EQ(result.action, EscapeParser::Action::Break);
  EXPECT_EQ(result.rest, "x");
  EXPECT_EQ(parser.feed("a~#").send, "a~#") << "only at a line start";
}

TEST(Escape, ConserverStyleCommands) {
  struct Case {
    char key;
    EscapeParser::Action action;
  } cases[] = {{'w', EscapeParser::Action::Who},     {'f', EscapeParser::Action::Force},
               {'r', EscapeParser::Action::ReadOnly}, {'p', EscapeParser::Action::Replay},
               {'b', EscapeParser::Action::Break},    {'#', EscapeParser::Action::Break}};
  for (const auto& c : cases) {
    EscapeParser parser('~');
    const std::string input = std::string("~") + c.key + "rest";  // result's views point into it
    auto result = parser.feed(input);
    EXPECT_EQ(result.action, c.action) << c.key;
    EXPECT_EQ(result.rest, "rest");
  }
  EscapeParser parser('~');
  EXPECT_EQ(parser.feed("echo ~w\r").send, "echo ~w\r") << "not at a line start";
}

TEST(Escape, CaretNotation) {
  EXPECT_EQ(parse_escape_character("^]").value(), '\x1d');
  EXPECT_EQ(parse_escape_character("^a").value(), '\x01');
  EXPECT_EQ(parse_escape_character("^?").value(), '\x7f');
  EXPECT_EQ(parse_escape_character("%").value(), '%');
  EXPECT_FALSE(parse_escape_character("ab").ok());
  EXPECT_FALSE(parse_escape_character("^1").ok());
  EXPECT_FALSE(parse_escape_character("").ok());
}

TEST(Escape, ShownAsTyped) {
  EXPECT_EQ(escape_display('~'), "~");
  EXPECT_EQ(escape_display('\x1d'), "^]");
  EXPECT_EQ(escape_display('\x01'), "^A");
  EXPECT_EQ(escape_display('\x7f'), "^?");
  for (const char* typed : {"^]", "^A", "^?", "&"}) EXPECT_EQ(escape_display(parse_escape_character(typed).value()), typed);
}

TEST(Escape, ActionNamesGoBothWays) {
  for (auto action : {EscapeParser::Action::Detach, EscapeParser::Action::Help, EscapeParser::Action::Break,
                      EscapeParser::Action::Who, EscapeParser::Action::Force, EscapeParser::Action::ReadOnly,
                      EscapeParser::Action::Replay}) {
    EXPECT_EQ(escape_action_named(escape_action_name(action)), action);
  }
  EXPECT_FALSE(escape_action_named("reboot").has_value());
  EXPECT_FALSE(escape_action_named("").has_value());
}

}  // namespace vcon
