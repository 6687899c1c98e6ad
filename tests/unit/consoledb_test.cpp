// The ndb parser and the consoledb's meaning and access decisions.
#include "console/consoledb.hpp"
#include "console/ndb.hpp"

#include <gtest/gtest.h>

namespace vcon {

TEST(Ndb, EntriesContinuationsQuotesAndComments) {
  auto parsed = parse_ndb(
      "# a comment\n"
      "console=web zone=web   # trailing comment\n"
      "\tuid=alice title=\"two words\" empty= bare\n"
      "\n"
      "group=ops uid=carol\n");
  ASSERT_EQ(parsed.size(), 2u);
  const NdbEntry& web = parsed[0];
  EXPECT_EQ(web.error, "");
  EXPECT_EQ(web.line, 2);
  ASSERT_EQ(web.pairs.size(), 6u);
  EXPECT_EQ(web.pairs[2].attr, "uid");
  EXPECT_EQ(web.pairs[2].value, "alice");
  EXPECT_EQ(web.pairs[3].value, "two words");
  EXPECT_EQ(web.pairs[4].value, "");
  EXPECT_EQ(web.pairs[5].attr, "bare");
  EXPECT_EQ(parsed[1].line, 5);
  EXPECT_EQ(parsed[1].all("uid"), std::vector<std::string>{"carol"});
}

TEST(Ndb, ErrorsNameTheLineAndBreakOnlyTheirEntry) {
  struct Case {
    const char* text;
    const char* expected;
  } cases[] = {
      {"  uid=alice\n", "line 1: indented line before any entry"},
      {"console=a\n\ttitle=\"open\n", "line 2: unterminated quote"},
      {"console=a =b\n", "line 1: unexpected '='"},
      {"console=a b=c=d\n", "line 1: unexpected '='"},
  };
  for (const auto& c : cases) {
    auto parsed = parse_ndb(std::string(c.text) + "console=good zone=good\n");
    ASSERT_EQ(parsed.size(), 2u) << c.text;
    EXPECT_NE(parsed[0].error.find(c.expected), std::string::npos) << parsed[0].error;
    EXPECT_EQ(parsed[1].error, "") << "the next entry is whole";
  }
}

TEST(ConsoleDb, ConsolesGroupsAndSettings) {
  auto db = parse_consoledb(
      "console=web zone=web uid=alice gid=ops ro=bob rogid=audit logsize=64K logkeep=3\n"
      "console=ttyS0 dev=/dev/ttyS0 speed=115200 cronly= openondemand=yes\n"
      "group=ops uid=carol uid=dave\n");
  ASSERT_TRUE(db.problems.empty()) << db.problems.front().message;
  ASSERT_EQ(db.consoles.size(), 2u);
  const ConsoleEntry* web = db.for_zone("web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->name, "web");
  EXPECT_EQ(web->log_size, 65536u);
  EXPECT_EQ(web->log_keep, 3u);
  const ConsoleEntry* serial = db.find("ttyS0");
  ASSERT_NE(serial, nullptr);
  EXPECT_EQ(serial->device, "/dev/ttyS0");
  EXPECT_EQ(serial->speed, 115200u);
  EXPECT_TRUE(serial->cronly);
  EXPECT_TRUE(serial->open_on_demand);
  EXPECT_EQ(web->speed, 9600u);
  EXPECT_EQ(db.groups.at("ops"), (std::vector<std::string>{"carol", "dave"}));
}

TEST(ConsoleDb, LeavesOutWhatWouldSurpriseWithTheLineAndKeepsTheRest) {
  struct Case {
    const char* text;
    const char* expected;
  } cases[] = {
      {"console=a\n", "line 1: console a needs exactly one of zone= and dev="},
      {"console=a zone=a dev=/dev/ttyS0\n", "exactly one of"},
      {"console=a zone=a\nconsole=a zone=b\n", "line 2: console a is already defined on line 1"},
      {"console=a zone=a\nconsole=b zone=a\n", "line 2: zone a already has a console entry"},
      {"console=a zone=a spede=9600\n", "unknown attribute spede="},
      {"console=a zone=a\n\tuid=alice\n\tspede=9600\n", "line 3: unknown attribute spede="},
      {"console=a dev=/dev/x speed=9601\n", "speed=9601 is not a standard line speed"},
      {"console=a dev=/dev/x speed=fast\n", "speed=\"fast\" is not a number"},
      {"console=a dev=ttyS0\n", "dev= needs an absolute device path"},
      {"console=a zone=a uid=\n", "uid= needs a value"},
      {"console=a zone=a cronly=maybe\n", "cronly=\"maybe\""},
      {"console=a zone=a logsize=10X\n", "logsize=\"10X\""},
      {"console=a zone=a logkeep=0\n", "logkeep= must be 1 to 1000"},
      {"console=../x zone=a\n", "invalid console name"},
      {"console=a zone=Bad/zone\n", "zone=:"},
      {"host=a\n", "line 1: an entry starts with host=; expected console= or group="},
      {"group=ops uid=a\ngroup=ops uid=b\n", "line 2: group ops is defined twice"},
      {"group=ops gid=wheel\n", "only uid=USER members"},
      {"console=a zone=a\nconsole=actl zone=b\n", "line 2: console actl would clash with the ctl file of console a"},
  };
  for (const auto& c : cases) {
    // Good entries after each bad one (the lines stay as the cases say): they stay.
    auto db = parse_consoledb(std::string(c.text) + "console=before zone=before uid=alice\n"
                                                     "console=after zone=after uid=alice\n");
    ASSERT_EQ(db.problems.size(), 1u) << c.text;
    EXPECT_NE(db.problems[0].message.find(c.expected), std::string::npos) << c.text << " -> " << db.problems[0].message;
    EXPECT_NE(db.find("before"), nullptr) << c.text;
    EXPECT_NE(db.find("after"), nullptr) << c.text;
  }
}

// The case: a typo in someone else's entry must not lock alice out,
// and whoever is refused is told the real reason.
TEST(ConsoleDb, ATypoElsewhereLocksNobodyOutAndIsNamed) {
  auto db = parse_consoledb("console=db zone=db uid=alice\nconsole=web zone=web uid=bob logsze=16M\n");
  ASSERT_NE(db.find("db"), nullptr);
  EXPECT_EQ(access_for(db, db.find("db"), {1000, "alice", {}}), Access::ReadWrite);
  EXPECT_EQ(db.find("web"), nullptr);
  auto note = consoledb_problem_note(db, "web", "web", "/etc/vcon/consoledb");
  EXPECT_NE(note.find("line 2: unknown attribute logsze="), std::string::npos) << note;
  EXPECT_NE(note.find("vcon check"), std::string::npos) << note;
  EXPECT_EQ(consoledb_problem_note(db, "db", "db", "/etc/vcon/consoledb"), "");
}

TEST(ConsoleDb, AccessDecisions) {
  auto db = parse_consoledb(
      "console=web zone=web uid=alice uid=1005 gid=ops gid=wheel ro=bob rogid=audit\n"
      "group=ops uid=carol\n"
      "group=audit uid=erin\n");
  ASSERT_TRUE(db.problems.empty());
  const ConsoleEntry* web = db.find("web");
  auto access = [&](Caller caller, const ConsoleEntry* entry) { return access_for(db, entry, caller); };
  EXPECT_EQ(access({0, "root", {}}, nullptr), Access::ReadWrite);  // root, even with no entry
  EXPECT_EQ(access({1000, "alice", {}}, web), Access::ReadWrite);
  EXPECT_EQ(access({1005, "someone", {}}, web), Access::ReadWrite);        // by number
  EXPECT_EQ(access({1001, "carol", {}}, web), Access::ReadWrite);          // consoledb group
  EXPECT_EQ(access({1002, "frank", {"wheel"}}, web), Access::ReadWrite);   // Unix group
  EXPECT_EQ(access({1003, "bob", {}}, web), Access::ReadOnly);
  EXPECT_EQ(access({1004, "erin", {}}, web), Access::ReadOnly);
  EXPECT_EQ(access({1006, "mallory", {"users"}}, web), Access::None);
  EXPECT_EQ(access({1000, "alice", {}}, nullptr), Access::None);           // no entry: root only
  // A defined group shadows the Unix group of the same name.
  EXPECT_EQ(access({1007, "gina", {"ops"}}, web), Access::None);
}

TEST(ConsoleDb, Sizes) {
  EXPECT_EQ(parse_size("512").value(), 512u);
  EXPECT_EQ(parse_size("64K").value(), 65536u);
  EXPECT_EQ(parse_size("16M").value(), 16u << 20);
  EXPECT_EQ(parse_size("1G").value(), 1u << 30);
  EXPECT_FALSE(parse_size("").ok());
  EXPECT_FALSE(parse_size("M").ok());
  EXPECT_FALSE(parse_size("1T").ok());
  EXPECT_FALSE(parse_size("99999999999999999999G").ok());
}

}  // namespace vcon
