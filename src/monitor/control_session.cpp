// Control session: hello, then requests. Requests are JSON {"op": ...}.
#include "monitor/control_session.hpp"

#include "base/fd_closer.hpp"
#include "base/json_text.hpp"
#include "base/memory.hpp"

#include <fmt/core.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include <cctype>
#include <memory>

#include "console/log_format.hpp"

#include "proto/connection.hpp"
#include "proto/messages.hpp"

namespace vcon {

namespace {

using json = nlohmann::json;
using proto::FrameType;

std::string too_many_for(const std::string& user, std::size_t per_user) {
  return fmt::format("{} for user {} (at most {} per user)", proto::kTooManyConnections, user, per_user);
}

class ControlSession : public std::enable_shared_from_this<ControlSession> {
 public:
  ControlSession(asio::local::stream_protocol::socket socket, ControlTarget& target)
      // Not make_shared: the listener keeps a weak_ptr to every connection
      // until it next sweeps, and one allocation for the count and the
      // object would keep the whole connection (its 16 KiB read buffer)
      // allocated until then.
      : connection_(new proto::FrameConnection(std::move(socket), proto::FrameConnection::kDefaultDataLimit,
                                               proto::kMaxHelloFrame)),
        target_(target),
        hello_timer_(connection_->executor()) {}

  const std::shared_ptr<proto::FrameConnection>& connection() const { return connection_; }

  // `count_as(peer)`: the connection counted for that peer instead, or
  // why not (the peer's user is at the per-user limit).
  using CountAs = std::function<Result<std::shared_ptr<void>>(const Peer&)>;
  void start(std::shared_ptr<void> slot, CountAs count_as, std::chrono::milliseconds hello_deadline) {
    auto self = shared_from_this();
    connection_->hold(std::move(slot));
    count_as_ = std::move(count_as);
    connection_->start([self](proto::Frame frame) { self->on_frame(std::move(frame)); },
                       [self](const std::string&) { self->hello_timer_.cancel(); });  // holds the session until then
    hello_timer_.expires_after(hello_deadline);
    hello_timer_.async_wait([weak = std::weak_ptr<ControlSession>(self)](std::error_code ec) {
      auto session = weak.lock();
      if (ec || !session || session->greeted_) return;
      session->fail("no hello in time: closed");
    });
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
      case proto::Op::Who: {
        if (auto answer = target_.hub().who_for(peer_)) {
          connection_->send(FrameType::Response, json_text(*answer));
        } else {
          connection_->send(FrameType::Error, answer.error().message());
        }
        return;
      }
      case proto::Op::Halt:
      case proto::Op::Reboot: {
        const char* what = request->op == proto::Op::Halt ? "halt" : "reboot";
        if (peer_.uid != 0) {
          connection_->send(FrameType::Error, fmt::format("{}: only root may halt or reboot a zone", what));
          return;
        }
        auto connection = connection_;
        target_.stop(request->op == proto::Op::Halt ? StopKind::Halt : StopKind::Reboot,
                     std::chrono::seconds(request->grace), [connection](const Result<StopOutcome>& result) {
                       if (!result) {
                         connection->send(FrameType::Error, result.error().message());
                         return;
                       }
                       connection->send(FrameType::Response,
                                        json_text(json{{"ok", true}, {"killed", result->killed}, {"how", result->how}}));
                     });
        return;
      }
      case proto::Op::Ctl:
        ctl(request.value());
        return;
      case proto::Op::Log: {
        if (request->audit && peer_.uid != 0) {
          connection_->send(FrameType::Error, "log --audit: the audit log is root's to read (it may hold typed input)");
          return;
        }
        auto log = target_.open_log(request->audit);
        if (!log) {
          connection_->send(FrameType::Error, "log: " + log.error().message());
          return;
        }
        connection_->send_with_fd(FrameType::Response, json_text(json{{"ok", true}}), log->release());
        return;
      }
      case proto::Op::Take:
      case proto::Op::Release:
      case proto::Op::Direct:
      case proto::Op::Resume:
      case proto::Op::Print:
      case proto::Op::Screen:
        connection_->send(FrameType::Error,
                          "take, release, direct, resume, print and screen are for attached clients, not control "
                          "connections");
        return;
      case proto::Op::Upgrade: {
        if (peer_.uid != 0) {
          connection_->send(FrameType::Error, "upgrade: only root may replace a monitor");
          return;
        }
        auto done = target_.upgrade(request->command);
        if (done) connection_->send(FrameType::Response, json_text(json{{"ok", true}}));
        else connection_->send(FrameType::Error, "upgrade: " + done.error().message());
        return;
      }
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
    if (auto wait = target_.command_gate().admit(peer.uid, peer.user); wait > wait.zero()) {
      connection_->send(FrameType::Error, fmt::format("{} from {} ({})", proto::kTooManyCommands, peer.user,
                                                      target_.command_gate().why(wait)));
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
    hello_timer_.cancel();
    peer_ = peer_of(connection_->native_handle());
    access_ = target_.access(peer_);
    if (access_ == Access::None) {
      target_.log_refusal(peer_.uid, fmt::format("{} refused: no access to the console", describe(peer_)));
      std::string problem = target_.consoledb_problem();
      fail(problem.empty()
               ? fmt::format("permission denied: {} may not use the console of {} (the consoledb {} grants no access; "
                             "root can add uid={} or ro={} to its entry)",
                             peer_.user, target_.hub().console_name(), target_.consoledb_path(), peer_.user, peer_.user)
               : fmt::format("permission denied: {} may not use the console of {}: {}", peer_.user,
                             target_.hub().console_name(), problem));
      return;
    }
    greeted_ = true;
    connection_->set_max_frame(proto::kMaxClientFrame);
    if (hello->mode == proto::Mode::Control) {
      connection_->send(FrameType::Welcome, json_text(json{{"version", proto::kVersion}}));
      return;
    }
    Peer peer = peer_;
    if (hello->on_behalf) {
      if (!adopt(hello->on_behalf.value(), peer)) return;
      // Root's file system server opens a connection for each file its
      // callers open: it counts for the caller, as the caller's own would
      // (else one user could take every connection through the files).
      auto slot = count_as_(peer);
      if (!slot) {
        target_.log_refusal(peer.uid, describe(peer) + " refused: " + slot.error().message());
        fail(slot.error().message());
        return;
      }
      connection_->hold(std::move(slot.value()));  // and the file system server's slot goes
    }
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
  CountAs count_as_;
  ControlTarget& target_;
  asio::steady_timer hello_timer_;
  bool greeted_ = false;
  Peer peer_;
  Access access_ = Access::None;
};

}  // namespace

struct ClientListener::Counts {
  std::map<uid_t, std::size_t> per_user;
  std::size_t total = 0;
  std::size_t peak = 0;                // since memory was last given back
  ClientListener* listener = nullptr;  // while it lives
};

ClientListener::ClientListener(asio::io_context& io, ControlTarget& target, ClientLimits limits)
    : target_(target), limits_(limits), acceptor_(io), retry_(io), counts_(std::make_shared<Counts>()) {
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  counts_->listener = this;
}

ClientListener::~ClientListener() {
  counts_->listener = nullptr;
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

void ClientListener::give_back_memory() {
  // From the loop, once the connections that just ended are gone for good
  // (their last handlers ran): a weak_ptr to one keeps its memory.
  asio::post(acceptor_.get_executor(), [this, counts = counts_] {
    if (!counts->listener) return;
    std::erase_if(connections_, [](const auto& weak) { return weak.expired(); });
    connections_.shrink_to_fit();
    vcon::give_back_memory();  // the free function: this member's name would post itself forever
  });
}

ClientLimits ClientListener::fitted_to_fd_limit(ClientLimits limits) {
  rlimit fds{};
  if (::getrlimit(RLIMIT_NOFILE, &fds) == 0) {
    if (fds.rlim_cur < fds.rlim_max) {
      fds.rlim_cur = fds.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &fds);
      ::getrlimit(RLIMIT_NOFILE, &fds);
    }
    // Room for the console, the log, the zone's fds and the spare. Each
    // connection holds its socket, at most one fd queued for it
    // (FrameConnection::kFdLimit), one it passed and, a direct client's,
    // its terminal's two (docs/monitor.md): four at most at a time.
    constexpr rlim_t kReserved = 64, kPerConnection = 4;
    std::size_t fit = fds.rlim_cur > 2 * kReserved ? static_cast<std::size_t>(fds.rlim_cur - kReserved) : 64;
    limits.total = std::min(limits.total, std::max<std::size_t>(fit / kPerConnection, 16));
  }
  return limits;
}

Result<void> ClientListener::listen(const std::string& path) {
  ::unlink(path.c_str());
  asio::local::stream_protocol::endpoint endpoint(path);
  std::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(256, ec);
  if (ec) return make_error("listen on " + path + ": " + ec.message());
  ::chmod(path.c_str(), 0666);
  accept();
  return {};
}

void ClientListener::close() {
  // Connections not accepted yet go with the listener, and what they sent.
  std::error_code ignored;
  int fd = acceptor_.release(ignored);
  if (fd >= 0) close_later(UniqueFd(fd));
  retry_.cancel();
  for (auto& weak : connections_) {
    if (auto connection = weak.lock()) connection->close_after_send();
  }
}

void ClientListener::abort_connections() {
  for (auto& weak : connections_) {
    if (auto connection = weak.lock()) connection->close("the monitor is done");
  }
  connections_.clear();
}

void ClientListener::accept() {
  acceptor_.async_accept([this](std::error_code ec, asio::local::stream_protocol::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec == asio::error::no_descriptors || ec.value() == ENFILE || ec == asio::error::no_buffer_space ||
        ec == asio::error::no_memory) {
      out_of_fds();
      return;
    }
    if (!ec) admit(std::move(socket));
    accept();  // a client that gave up while queued (ECONNABORTED...) changes nothing
  });
}

// Out of fds: the waiting connection would wake us again and again. Take it
// with the spare fd, close it at once, and go on; if even that fails, wait
// a little (clients leaving give fds back).
void ClientListener::out_of_fds() {
  if (spare_fd_ >= 0) {
    ::close(spare_fd_);
    spare_fd_ = -1;
    int taken = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (taken >= 0) {
      constexpr char kBusy[] = "the monitor is out of file descriptors; try again";
      std::string frame = proto::encode(FrameType::Error, kBusy);
      [[maybe_unused]] auto n = ::send(taken, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      close_later(UniqueFd(taken));  // it may queue descriptors already
    }
    spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  if (spare_fd_ >= 0) {
    accept();
    return;
  }
  retry_.expires_after(std::chrono::milliseconds(100));
  retry_.async_wait([this](std::error_code ec) {
    if (ec) return;
    if (spare_fd_ < 0) spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    accept();
  });
}

void ClientListener::admit(asio::local::stream_protocol::socket socket) {
  Peer peer = peer_of(socket.native_handle());
  Counts& counts = *counts_;
  if (counts.total >= limits_.total) {
    refuse(socket, peer.uid,
           fmt::format("{} to this console ({}); try again later", proto::kTooManyConnections, limits_.total));
    return;
  }
  // The per-user rule, for this connection's peer now, and for the user
  // root's file system server names in its hello.
  auto count_as = [counts = counts_, per_user = limits_.per_user](const Peer& as) -> Result<std::shared_ptr<void>> {
    auto found = counts->per_user.find(as.uid);
    if (as.uid != 0 && found != counts->per_user.end() && found->second >= per_user) {
      return make_error(too_many_for(as.user, per_user));
    }
    return counted(counts, as.uid);
  };
  auto slot = count_as(peer);
  if (!slot) {
    refuse(socket, peer.uid, slot.error().message());
    return;
  }
  auto session = std::make_shared<ControlSession>(std::move(socket), target_);
  if (connections_.size() >= 2 * counts.total + 64) {  // forget the gone ones now and then
    std::erase_if(connections_, [](const auto& weak) { return weak.expired(); });
  }
  connections_.push_back(session->connection());
  session->start(std::move(slot.value()), std::move(count_as), limits_.hello_deadline);
}

// A connection counted for `uid`, until the slot is gone, however it ends.
std::shared_ptr<void> ClientListener::counted(const std::shared_ptr<Counts>& counts, uid_t uid) {
  ++counts->total;
  ++counts->per_user[uid];
  counts->peak = std::max(counts->peak, counts->total);
  return std::shared_ptr<void>(nullptr, [counts, uid](void*) {
    --counts->total;
    if (--counts->per_user[uid] == 0) counts->per_user.erase(uid);
    if (counts->peak >= 64 && counts->total <= counts->peak / 4 && counts->listener) {
      counts->peak = counts->total;
      counts->listener->give_back_memory();
    }
  });
}

void ClientListener::refuse(asio::local::stream_protocol::socket& socket, uid_t uid, const std::string& why) {
  std::string frame = proto::encode(FrameType::Error, why);
  [[maybe_unused]] auto n = ::send(socket.native_handle(), frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  // Closed elsewhere: what it sent may hold descriptors (base/fd_closer.hpp).
  std::error_code ignored;
  int fd = socket.release(ignored);
  if (fd >= 0) close_later(UniqueFd(fd));
  target_.log_refusal(uid, "connection refused: " + why);
}

}  // namespace vcon
