// Notice texts as people see them.
#include "console/notice_text.hpp"

#include <gtest/gtest.h>

namespace vcon {

using json = nlohmann::json;

TEST(NoticeText, JoinAndLeaveAsConsolefsWritesThem) {
  EXPECT_EQ(notice_text(json{{"type", "join"}, {"clients", {"boris", "vlad", "barney"}}}), "[+boris, vlad, barney]");
  EXPECT_EQ(notice_text(json{{"type", "leave"}, {"clients", {"vlad", "boris", "barney"}}}), "[-vlad, boris, barney]");
}

TEST(NoticeText, ACrowdIsNamedInPartAndCounted) {
  EXPECT_EQ(notice_text(json{{"type", "join"}, {"clients", {"boris", "vlad"}}, {"more", 498}}),
            "[+boris, vlad and 498 more]");
  EXPECT_EQ(notice_text(json{{"type", "leave"}, {"clients", {"vlad"}}, {"more", "x"}}), "[-vlad]");
}

TEST(NoticeText, TakeoverAndHandBack) {
  EXPECT_EQ(notice_text(json{{"type", "forced"}, {"by_user", "ops2"}, {"by_pid", 812}}),
            "[forced to read-only by ops2 (PID 812)]");
  EXPECT_EQ(notice_text(json{{"type", "took"}, {"from_user", "ops1"}, {"from_pid", 7}}),
            "[took write access from ops1 (PID 7)]");
  EXPECT_EQ(notice_text(json{{"type", "write"}, {"granted", true}}), "[write access is yours again]");
}

TEST(NoticeText, StateAndDrops) {
  EXPECT_EQ(notice_text(json{{"type", "state"}, {"zone", "web"}, {"state", "halted"}}), "[zone web halted]");
  EXPECT_EQ(notice_text(json{{"type", "dropped"}, {"bytes", 4096}}),
            "[4096 bytes of output dropped: this client fell behind]");
}

TEST(NoticeText, UnknownOrMalformedIsSilent) {
  EXPECT_EQ(notice_text(json{{"type", "future-thing"}}), "");
  EXPECT_EQ(notice_text(json("text")), "");
  EXPECT_EQ(notice_text(json{{"type", "join"}, {"clients", 3}}), "[+]");
  EXPECT_EQ(notice_text(json{{"type", "state"}, {"zone", 7}, {"state", "halted"}}), "[zone ? halted]");
  EXPECT_EQ(notice_text(json{{"type", "forced"}, {"by_user", "x"}, {"by_pid", "1"}}), "[forced to read-only by x (PID 0)]");
}

}  // namespace vcon
