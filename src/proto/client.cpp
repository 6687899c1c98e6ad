// MonitorClient implementation (blocking I/O with poll timeouts).
#include "base/json_text.hpp"
#include "proto/client.hpp"

#include "base/files.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace vcon::proto {

Result<UniqueFd> connect_unix(const std::string& socket_path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket");
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof address.sun_path) {
    return make_error("socket path " + socket_path + " is too long (use a shorter --run-dir)");
  }
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    return errno_error("connect to monitor at " + socket_path);
  }
  return fd;
}

Result<MonitorClient> MonitorClient::connect_control(const std::string& socket_path) {
  auto fd = connect_unix(socket_path);
  if (!fd) return fd.error();
  MonitorClient client(std::move(fd.value()));
  VCON_TRY(client.send(FrameType::Hello, json_text(nlohmann::json{{"version", kVersion}, {"mode", "control"}})));
  auto welcome = client.receive(10);
  if (!welcome) return welcome.error();
  if (welcome->type == FrameType::Error) return make_error("monitor refused: " + welcome->payload);
  if (welcome->type != FrameType::Welcome) return make_error("monitor answered hello with an unexpected frame");
  return client;
}

Result<nlohmann::json> MonitorClient::request(const nlohmann::json& request, int timeout_seconds) {
  VCON_TRY(send(FrameType::Request, json_text(request)));
  auto frame = receive(timeout_seconds);
  if (!frame) return frame.error();
  if (frame->type == FrameType::Error) return make_error(frame->payload);
  if (frame->type != FrameType::Response) return make_error("monitor sent an unexpected frame");
  auto answer = nlohmann::json::parse(frame->payload, nullptr, false);
  if (answer.is_discarded()) return make_error("monitor sent a malformed response");
  return answer;
}

Result<UniqueFd> MonitorClient::request_fd(const nlohmann::json& request, int timeout_seconds) {
  auto answer = this->request(request, timeout_seconds);
  if (!answer) return answer.error();
  if (received_fds_.empty()) return make_error("the monitor's answer came without the file");
  UniqueFd fd = std::move(received_fds_.front());
  received_fds_.erase(received_fds_.begin());
  return fd;
}

Result<void> MonitorClient::send(FrameType type, std::string_view payload) {
  std::string bytes = encode(type, payload);
  for (std::size_t done = 0; done < bytes.size();) {
    ssize_t n = ::send(fd_.get(), bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("send to monitor");
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Result<Frame> MonitorClient::receive(int timeout_seconds) {
  for (;;) {
    if (auto frame = decoder_.next()) return std::move(*frame);
    pollfd p{fd_.get(), POLLIN, 0};
    int ready = ::poll(&p, 1, timeout_seconds * 1000);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return errno_error("wait for monitor");
    if (ready == 0) return make_error("the monitor did not answer within " + std::to_string(timeout_seconds) + " s");
    auto message = receive_message(fd_.get(), 1);  // recvmsg: a response may bring an fd
    if (!message) {
      if (message.error().errno_value == EINTR) continue;
      return Error{"read from monitor", message.error().errno_value};
    }
    if (message->text.empty()) return make_error("the monitor closed the connection");
    for (auto& fd : message->fds) received_fds_.push_back(std::move(fd));
    decoder_.feed(message->text);
  }
}

}  // namespace vcon::proto
