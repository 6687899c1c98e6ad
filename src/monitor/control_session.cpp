// Control session: hello, then requests. Requests are JSON {"op": ...}.
#include "monitor/control_session.hpp"

#include <memory>

#include "proto/connection.hpp"

namespace vcon {

namespace {

using json = nlohmann::json;
using proto::FrameType;

class ControlSession : public std::enable_shared_from_this<ControlSession> {
 public:
  ControlSession(asio::local::stream_protocol::socket socket, ControlTarget& target)
      : connection_(std::make_shared<proto::FrameConnection>(std::move(socket))), target_(target) {}

  void start() {
    auto self = shared_from_this();
    connection_->start([self](proto::Frame frame) { self->on_frame(std::move(frame)); },
                       [self](const std::string&) {});  // holds the session until the connection closes
  }

 private:
  void on_frame(proto::Frame frame) {
    if (!greeted_) {
      greet(frame);
      return;
    }
    if (frame.type != FrameType::Request) {
      fail(std::string("unexpected ") + proto::type_name(frame.type) + " frame on a control connection");
      return;
    }
    json request = json::parse(frame.payload, nullptr, false);
    if (!request.is_object() || !request.contains("op") || !request["op"].is_string()) {
      fail("malformed request: expected a JSON object with \"op\"");
      return;
    }
    std::string op = request["op"];
    if (op == "status") {
      connection_->send(FrameType::Response, target_.status().dump());
    } else if (op == "who") {
      connection_->send(FrameType::Response, json{{"clients", target_.hub().who()}}.dump());
    } else if (op == "halt" || op == "reboot") {
      int grace = request.value("grace", 10);
      auto connection = connection_;
      target_.stop(op == "halt" ? StopKind::Halt : StopKind::Reboot, std::chrono::seconds(std::max(grace, 0)),
                   [connection](const Result<void>& result) {
                     if (result) connection->send(FrameType::Response, json{{"ok", true}}.dump());
                     else connection->send(FrameType::Error, result.error().message());
                   });
    } else {
      connection_->send(FrameType::Error, "unknown request '" + op + "'");
    }
  }

  void greet(const proto::Frame& frame) {
    json hello = frame.type == FrameType::Hello ? json::parse(frame.payload, nullptr, false) : json();
    if (!hello.is_object()) {
      fail("the first frame must be a hello with a JSON object");
      return;
    }
    if (hello.value("version", 0) != static_cast<int>(proto::kVersion)) {
      fail("protocol version " + std::to_string(hello.value("version", 0)) + " is not supported (monitor speaks " +
           std::to_string(proto::kVersion) + ")");
      return;
    }
    std::string mode = hello.value("mode", "");
    if (mode == "rw" || mode == "ro") {
      greeted_ = true;
      target_.hub().attach(connection_, peer_of(connection_->native_handle()), hello);
      return;
    }
    if (mode != "control") {
      fail("mode '" + mode + "' is not supported by this monitor (use control, rw or ro)");
      return;
    }
    greeted_ = true;
    connection_->send(FrameType::Welcome, json{{"version", proto::kVersion}}.dump());
  }

  void fail(const std::string& message) {
    connection_->send(FrameType::Error, message);
    connection_->close_after_send();
  }

  std::shared_ptr<proto::FrameConnection> connection_;
  ControlTarget& target_;
  bool greeted_ = false;
};

}  // namespace

void start_control_session(asio::local::stream_protocol::socket socket, ControlTarget& target) {
  std::make_shared<ControlSession>(std::move(socket), target)->start();
}

}  // namespace vcon
