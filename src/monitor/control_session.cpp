// Control session: hello, then requests. Requests are JSON {"op": ...}.
#include "base/json_text.hpp"
#include "monitor/control_session.hpp"

#include <fmt/core.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <memory>

#include "console/log_format.hpp"

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
        connection_->send(FrameType::Response, json_text(target_.status()));
        return;
      case proto::Op::Who:
        connection_->send(FrameType::Response, json_text(json{{"clients", target_.hub().who()}}));
        return;
      case proto::Op::Halt:
      case proto::Op::Reboot: {
        const char* what = request->op == proto::Op::Halt ? "halt" : "reboot";
        if (peer_.uid != 0) {
          connection_->send(FrameType::Error, fmt::format("{}: only root may halt or reboot a zone", what));
          return;
        }
        auto connection = connection_;
        target_.stop(request->op == proto::Op::Halt ? StopKind::Halt : StopKind::Reboot,
                     std::chrono::seconds(request->grace), [connection](const Result<void>& result) {
                       if (result) connection->send(FrameType::Response, json_text(json{{"ok", true}}));
                       else connection->send(FrameType::Error, result.error().message());
                     });
        return;
      }
      case proto::Op::Ctl:
        ctl(request.value());
        return;
    }
  }

  void ctl(const proto::Request& request) {
    Peer peer = peer_;
    if (request.on_behalf && !adopt(request.on_behalf.value(), peer)) return;
    std::string who = describe(peer);
    if (access_ != Access::ReadWrite) {
      connection_->send(FrameType::Error, fmt::format("ctl: {} has {} access; commands need read-write", peer.user,
                                                      access_name(access_)));
      return;
    }
    auto command = parse_ctl_command(request.command);
    auto done = command ? target_.ctl(command.value(), who) : Result<void>(command.error());
    if (!done) {
      std::string shown = make_visible(request.command);
      while (!shown.empty() && std::isspace(static_cast<unsigned char>(shown.back()))) shown.pop_back();
      target_.log_event(fmt::format("ctl from {} refused: \"{}\": {}", who, shown, done.error().message()));
      connection_->send(FrameType::Error, "ctl: " + done.error().message());
      return;
    }
    connection_->send(FrameType::Response, json_text(json{{"ok", true}}));
  }

  // Root's file system server acts for its callers: it checked their access
  // itself, and they are named instead of it. Nobody else may do that.
  bool adopt(const proto::OnBehalf& on_behalf, Peer& peer) {
    if (peer_.uid != 0) {
      fail("on_behalf is for root's file system server only");
      return false;
    }
    peer = Peer{on_behalf.uid, static_cast<pid_t>(on_behalf.pid), on_behalf.user, true};
    return true;
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
    peer_ = peer_of(connection_->native_handle());
    access_ = target_.access(peer_);
    if (access_ == Access::None) {
      fail(fmt::format("permission denied: {} may not use the console of {} (the consoledb {} grants no access; "
                       "root can add uid={} or ro={} to its entry)",
                       peer_.user, target_.hub().console_name(), target_.consoledb_path(), peer_.user, peer_.user));
      return;
    }
    greeted_ = true;
    if (hello->mode == proto::Mode::Control) {
      connection_->send(FrameType::Welcome, json_text(json{{"version", proto::kVersion}}));
      return;
    }
    Peer peer = peer_;
    if (hello->on_behalf && !adopt(hello->on_behalf.value(), peer)) return;
    bool demoted = hello->mode == proto::Mode::ReadWrite && access_ == Access::ReadOnly;
    if (demoted) {
      hello->mode = proto::Mode::ReadOnly;
      hello->force = false;
    }
    target_.hub().attach(connection_, peer, hello.value());
    if (demoted) {
      connection_->send(FrameType::Notice,
                        json_text(json{{"type", "info"},
                                       {"text", fmt::format("{} has read-only access to this console: watching only",
                                                            peer.user)}}));
    }
  }

  void fail(const std::string& message) {
    connection_->send(FrameType::Error, message);
    connection_->close_after_send();
  }

  std::shared_ptr<proto::FrameConnection> connection_;
  ControlTarget& target_;
  bool greeted_ = false;
  Peer peer_;
  Access access_ = Access::None;
};

}  // namespace

void start_control_session(asio::local::stream_protocol::socket socket, ControlTarget& target) {
  std::make_shared<ControlSession>(std::move(socket), target)->start();
}

Result<void> listen_for_clients(asio::local::stream_protocol::acceptor& acceptor, const std::string& path) {
  ::unlink(path.c_str());
  asio::local::stream_protocol::endpoint endpoint(path);
  std::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(64, ec);
  if (ec) return make_error("listen on " + path + ": " + ec.message());
  ::chmod(path.c_str(), 0666);
  return {};
}

void accept_clients(asio::local::stream_protocol::acceptor& acceptor, ControlTarget& target) {
  acceptor.async_accept([&acceptor, &target](std::error_code ec, asio::local::stream_protocol::socket socket) {
    if (ec) return;
    start_control_session(std::move(socket), target);
    accept_clients(acceptor, target);
  });
}

}  // namespace vcon
