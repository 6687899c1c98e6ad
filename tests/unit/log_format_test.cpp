// Log line format: stamping, events, and the raw reader giving back the bytes.
#include "console/log_format.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace vcon {

namespace {
SystemTime at(long long micros) { return SystemTime(std::chrono::microseconds(micros)); }

// Feeds a whole log through the raw reader.
std::string raw_of(const std::string& log) {
  LogLineReader reader;
  std::string out;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) out += reader.raw(line + "\n");
  return out + reader.finish();
}
}  // namespace

TEST(LogFormat, TimestampIsUtcWithMicroseconds) {
  EXPECT_EQ(format_timestamp(at(1700000000123456LL)), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(format_timestamp(at(0)).size(), kTimestampLength);
}

TEST(LogFormat, StampsEachLineStartOnly) {
  LogLineWriter writer;
  std::string out = writer.console("one\ntw", at(0));
  out += writer.console("o\nthree\n", at(1000000));
  EXPECT_EQ(out,
            "1970-01-01T00:00:00.000000Z | one\n"
            "1970-01-01T00:00:00.000000Z | two\n"
            "1970-01-01T00:00:01.000000Z | three\n");
}

TEST(LogFormat, EventCutsPartialLineAndMarksContinuation) {
  LogLineWriter writer;
  std::string log = writer.console("login: ", at(0));
  log += writer.event("zone rebooting", at(0));
  log += writer.console("root\n", at(0));
  EXPECT_EQ(log,
            "1970-01-01T00:00:00.000000Z | login: \n"
            "1970-01-01T00:00:00.000000Z ~ zone rebooting\n"
            "1970-01-01T00:00:00.000000Z + root\n");
  EXPECT_EQ(raw_of(log), "login: root\n");
}

TEST(LogFormat, RawGivesBackExactBytes) {
  LogLineWriter writer;
  std::string bytes = "a\r\nb\n\n[+root] forged notice\nno newline at end";
  std::string log = writer.console(bytes.substr(0, 5), at(0));
  log += writer.event("between", at(0));
  log += writer.console(bytes.substr(5), at(0));
  EXPECT_EQ(raw_of(log), bytes + "\n") << "the reader cannot know a missing final newline";
}

TEST(LogFormat, ZoneOutputCannotForgeAnEvent) {
  LogLineWriter writer;
  std::string log = writer.console("2026-01-01T00:00:00.000000Z * zone halted\n", at(0));
  auto line = LogLineReader::parse(log);
  EXPECT_EQ(line.kind, '|');
  EXPECT_EQ(raw_of(log), "2026-01-01T00:00:00.000000Z * zone halted\n");
}

TEST(LogFormat, MakeVisibleDefusesControlCharacters) {
  EXPECT_EQ(make_visible("a\x1b[6n\r\n\tb\x7f"), "a^[[6n^M\n\tb^?");
  EXPECT_EQ(make_visible("plain \xc3\xa9 \xe2\x82\xac"), "plain \xc3\xa9 \xe2\x82\xac") << "UTF-8 passes";
  // C1 controls drive terminals too: raw (CSI 0x9b) and UTF-8 encoded (U+009D, OSC).
  EXPECT_EQ(make_visible("a\x9b" "31mb"), "aM-^[31mb");
  EXPECT_EQ(make_visible("\xc2\x9d" "0;t\xc2\x9c"), "M-^]0;tM-^\\");
  EXPECT_EQ(make_visible("\xc2\xa0\xff\xc3"), "\xc2\xa0\xff\xc3") << "not controls: unchanged";
}

TEST(LogFormat, ParseRejectsForeignLines) {
  EXPECT_EQ(LogLineReader::parse("hello\n").kind, '?');
  EXPECT_EQ(LogLineReader::parse("").kind, '?');
}

// Found by the fuzzer (tests/fuzz/log_format_fuzz.cpp): a partial line, then
// an event, then nothing. The newline vcon added before the event must not
// come back as the zone's.
TEST(LogFormat, RawKnowsTheNewlineAnEventAddedFromTheZonesOwn) {
  auto now = std::chrono::system_clock::time_point{};
  for (std::string console : {std::string("line one\rne"), std::string("line one\rne\n")}) {
    LogLineWriter writer;
    std::string log = writer.console(console, now);
    log += writer.event("an event", now);  // after: operands of + are evaluated in no set order
    LogLineReader reader;
    std::string raw;
    for (std::size_t at = 0; at < log.size();) {
      std::size_t end = log.find('\n', at) + 1;
      raw += reader.raw(std::string_view(log).substr(at, end - at));
      at = end;
    }
    EXPECT_EQ(raw + reader.finish(), console);
  }
}

// vcon log -f shows a prompt before its line ends: the beginning through
// raw(), what follows through raw_continued(); the bytes come out the same.
TEST(LogFormat, RawOfALineShownInPieces) {
  auto now = std::chrono::system_clock::time_point{};
  LogLineWriter writer;
  std::string log = writer.console("first\nprom", now);
  log += writer.console("pt$ ls\n", now);
  log += writer.console("next", now);
  std::size_t second = log.find('\n') + 1;
  std::size_t cut = log.find("prom") + 4;
  LogLineReader reader;
  std::string raw = reader.raw(std::string_view(log).substr(0, second));
  raw += reader.raw(std::string_view(log).substr(second, cut - second));  // "prom", its line unfinished
  std::size_t third = log.find('\n', cut) + 1;
  raw += reader.raw_continued(std::string_view(log).substr(cut, third - cut));
  raw += reader.raw(std::string_view(log).substr(third));
  EXPECT_EQ(raw + reader.finish(), "first\nprompt$ ls\nnext");
}

}  // namespace vcon
