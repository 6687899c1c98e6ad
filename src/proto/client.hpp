// MonitorClient: the blocking client side of the monitor protocol, for
// short-lived commands (vcon halt, reboot, ls). Uses the same frame codec.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "proto/frame.hpp"

namespace vcon::proto {

// A connected Unix stream socket to `socket_path` (the monitor's).
Result<UniqueFd> connect_unix(const std::string& socket_path);

class MonitorClient {
 public:
  // Connects to `socket_path` and says hello in control mode.
  static Result<MonitorClient> connect_control(const std::string& socket_path);

  // Sends {"op": ...} and waits up to `timeout_seconds` for the answer.
  Result<nlohmann::json> request(const nlohmann::json& request, int timeout_seconds);
  // The same, for an answer that comes with an fd (op "log").
  Result<UniqueFd> request_fd(const nlohmann::json& request, int timeout_seconds);

 private:
  explicit MonitorClient(UniqueFd fd) : fd_(std::move(fd)) {}
  Result<void> send(FrameType type, std::string_view payload);
  Result<Frame> receive(int timeout_seconds);

  UniqueFd fd_;
  FrameDecoder decoder_;
  std::vector<UniqueFd> received_fds_;  // what came with the frames read so far
};

}  // namespace vcon::proto
