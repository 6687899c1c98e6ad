// Protocol message decoding: what a client may send, and every wrong shape
// rejected as an error (the monitor must never throw on a client's input).
#include "proto/messages.hpp"

#include <gtest/gtest.h>

namespace vcon::proto {

TEST(Messages, Hello) {
  auto hello = parse_hello(R"({"version":1,"mode":"rw","force":true,"replay":4096,"rows":40,"cols":120})");
  ASSERT_TRUE(hello.ok()) << hello.error().message();
  EXPECT_EQ(hello->mode, Mode::ReadWrite);
  EXPECT_TRUE(hello->force);
  EXPECT_EQ(hello->replay, 4096u);
  ASSERT_TRUE(hello->window);
  EXPECT_EQ(hello->window->rows, 40);
  EXPECT_EQ(hello->window->cols, 120);
  auto plain = parse_hello(R"({"version":1,"mode":"control"})");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->force);
  EXPECT_EQ(plain->replay, 0u);
  EXPECT_FALSE(plain->window);
  EXPECT_FALSE(plain->watch_if_busy);
  EXPECT_FALSE(plain->on_behalf);
  auto fs = parse_hello(R"({"version":1,"mode":"rw","busy":"watch","on_behalf":{"user":"alice","uid":1001,"pid":812}})");
  ASSERT_TRUE(fs.ok()) << fs.error().message();
  EXPECT_TRUE(fs->watch_if_busy);
  ASSERT_TRUE(fs->on_behalf);
  EXPECT_EQ(fs->on_behalf->user, "alice");
  EXPECT_EQ(fs->on_behalf->uid, 1001u);
  EXPECT_EQ(fs->on_behalf->pid, 812);
}

TEST(Messages, HelloOfTheWrongShapeIsAnErrorNotAnException) {
  for (const char* text : {R"({"version":"one","mode":"control"})", R"({"version":2,"mode":"control"})",
                           R"({"mode":"control"})", R"({"version":1})", R"({"version":1,"mode":7})",
                           R"({"version":1,"mode":"admin"})", R"({"version":1,"mode":"rw","force":"yes"})",
                           R"({"version":1,"mode":"ro","replay":-5})", R"({"version":1,"mode":"ro","replay":"all"})",
                           R"({"version":1,"mode":"rw","rows":40})", R"({"version":1,"mode":"rw","rows":0,"cols":80})",
                           R"({"version":1,"mode":"rw","rows":70000,"cols":80})", R"([1,2])", "not json", "",
                           R"({"version":1,"mode":"rw","busy":"wait"})", R"({"version":1,"mode":"rw","on_behalf":"alice"})",
                           R"({"version":1,"mode":"rw","on_behalf":{"user":"","pid":1}})",
                           R"({"version":1,"mode":"rw","on_behalf":{"user":"a","uid":1,"pid":"1"}})",
                           R"({"version":1,"mode":"rw","on_behalf":{"user":"a","pid":1}})"}) {
    Result<Hello> hello = make_error("unset");
    EXPECT_NO_THROW(hello = parse_hello(text)) << text;
    EXPECT_FALSE(hello.ok()) << text;
  }
  EXPECT_NE(parse_hello(R"({"version":2,"mode":"ro"})").error().message().find("version 2 is not supported"),
            std::string::npos);
}

TEST(Messages, Requests) {
  EXPECT_EQ(parse_request(R"({"op":"who"})")->op, Op::Who);
  auto halt = parse_request(R"({"op":"halt","grace":0})");
  ASSERT_TRUE(halt.ok());
  EXPECT_EQ(halt->op, Op::Halt);
  EXPECT_EQ(halt->grace, 0u);
  EXPECT_EQ(parse_request(R"({"op":"reboot"})")->grace, 10u);
  auto ctl = parse_request(R"({"op":"ctl","command":"resize 40 120"})");
  ASSERT_TRUE(ctl.ok());
  EXPECT_EQ(ctl->op, Op::Ctl);
  EXPECT_EQ(ctl->command, "resize 40 120");
  for (const char* text : {R"({"op":"ctl"})", R"({"op":"ctl","command":5})", R"({"op":"halt","grace":"soon"})", R"({"op":"halt","grace":-1})", R"({"op":3})",
                           R"({"op":"format"})", R"({})", "[]"}) {
    Result<Request> request = make_error("unset");
    EXPECT_NO_THROW(request = parse_request(text)) << text;
    EXPECT_FALSE(request.ok()) << text;
  }
  EXPECT_NE(parse_request(R"({"op":"format"})").error().message().find("unknown request 'format'"),
            std::string::npos);
}

TEST(Messages, WindowSize) {
  auto size = parse_window_size(R"({"rows":50,"cols":132})");
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(size->rows, 50);
  EXPECT_FALSE(parse_window_size(R"({"rows":"50","cols":132})").ok());
  EXPECT_FALSE(parse_window_size(R"({})").ok());
}

TEST(Messages, FieldOrNeverThrows) {
  auto object = nlohmann::json::parse(R"({"user":7,"pid":"x","mode":"rw","n":12})");
  EXPECT_EQ(field_or<std::string>(object, "user", "?"), "?");
  EXPECT_EQ(field_or<int>(object, "pid", 0), 0);
  EXPECT_EQ(field_or<std::string>(object, "mode", "?"), "rw");
  EXPECT_EQ(field_or<unsigned long long>(object, "n", 0), 12u);
  EXPECT_EQ(field_or<std::string>(nlohmann::json("text"), "mode", "?"), "?");
}

TEST(Messages, DirectInputAndItsEscapeCharacter) {
  auto plain = parse_request(R"({"op":"direct","token":"#ab12"})");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->input);
  EXPECT_FALSE(plain->escape.has_value());
  auto typed = parse_request(R"({"op":"direct","token":"#ab12","input":true,"escape":29})");
  ASSERT_TRUE(typed.ok());
  EXPECT_TRUE(typed->input);
  EXPECT_EQ(typed->escape, '\x1d');
  EXPECT_FALSE(parse_request(R"({"op":"direct","token":"#ab12","input":"yes"})").ok());
  EXPECT_FALSE(parse_request(R"({"op":"direct","token":"#ab12","escape":256})").ok());
  EXPECT_FALSE(parse_request(R"({"op":"direct","token":"#ab12","escape":"~"})").ok());
  EXPECT_FALSE(parse_request(R"({"op":"direct","token":"#ab12","escape":-1})").ok());
}

}  // namespace vcon::proto
