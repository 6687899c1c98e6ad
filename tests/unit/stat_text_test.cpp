// NAMEstat text from the monitor's answers.
#include "fs/stat_text.hpp"

#include <gtest/gtest.h>

namespace vcon {

TEST(StatText, RunningConsoleWithClients) {
  auto status = nlohmann::json::parse(
      R"({"state":"running","monitor_pid":77,"console_bytes":1234,"input_bytes":56,"dropped_bytes":7})");
  auto clients = nlohmann::json::parse(
      R"([{"user":"alice","pid":812,"mode":"rw","via":"fs","since":0,"dropped_bytes":0},
          {"user":"root","pid":9,"mode":"ro","via":"socket","since":60,"dropped_bytes":7}])");
  std::string text = stat_text("web", "zone web", status, clients);
  EXPECT_EQ(text,
            "console: web\n"
            "kind: zone web\n"
            "state: running\n"
            "monitor_pid: 77\n"
            "speed: -\n"
            "bytes_out: 1234\n"
            "bytes_in: 56\n"
            "dropped: 7\n"
            "writer: alice (PID 812)\n"
            "clients: 2\n"
            "client: alice pid=812 mode=rw via=fs since=1970-01-01T00:00:00Z dropped=0\n"
            "client: root pid=9 mode=ro via=socket since=1970-01-01T00:01:00Z dropped=7\n");
}

TEST(StatText, ClientsTheWhoAnswerCountedButDidNotListAreCounted) {
  auto status = nlohmann::json::parse(R"({"state":"running","monitor_pid":77})");
  auto clients = nlohmann::json::parse(R"([{"user":"alice","pid":812,"mode":"rw","via":"socket","since":0}])");
  std::string text = stat_text("web", "zone web", status, clients, 3000);
  EXPECT_NE(text.find("writer: alice (PID 812)\nclients: 3001\nclient: alice pid=812 mode=rw"), std::string::npos)
      << text;
  EXPECT_NE(text.find("\nunlisted: 3000 (the monitor's answer holds at most 512 KiB)\n"), std::string::npos) << text;
}

TEST(StatText, NoMonitor) {
  EXPECT_EQ(stat_text("web", "zone web", nullptr, nullptr), "console: web\nkind: zone web\nstate: down (no monitor runs)\n");
}

}  // namespace vcon
