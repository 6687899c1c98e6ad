// Control session: hello, then requests. Requests are JSON {"op": ...}.
#include "monitor/control_session.hpp"

#include <memory>

#include "proto/connection.hpp"
#include "proto/messages.hpp"

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
    auto request = proto::parse_request(frame.payload);
    if (!request) {
      connection_->send(FrameType::Error, request.error().message());
      return;
    }
    switch (request->op) {
      case proto::Op::Status:
        connection_->send(FrameType::Response, target_.status().dump());
        return;
      case proto::Op::Who:
        connection_->send(FrameType::Response, json{{"clients", target_.hub().who()}}.dump());
        return;
      case proto::Op::Halt:
      case proto::Op::Reboot: {
        auto connection = connection_;
        target_.stop(request->op == proto::Op::Halt ? StopKind::Halt : StopKind::Reboot,
                     std::chrono::seconds(request->grace), [connection](const Result<void>& result) {
                       if (result) connection->send(FrameType::Response, json{{"ok", true}}.dump());
                       else connection->send(FrameType::Error, result.error().message());
                     });
        return;
      }
    }
  }

  void greet(const proto::Frame& frame) {
    if (frame.type != FrameType::Hello) {
      fail("the first frame must be a hello");
      return;
    }
    auto hello = proto::parse_hello(frame.payload);
    if (!hello) {
      fail(hello.error().message());
      return;
    }
    greeted_ = true;
    if (hello->mode != proto::Mode::Control) {
      target_.hub().attach(connection_, peer_of(connection_->native_handle()), hello.value());
      return;
    }
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
