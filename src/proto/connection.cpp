// FrameConnection implementation.
#include "proto/connection.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "base/files.hpp"

namespace vcon::proto {

FrameConnection::FrameConnection(asio::local::stream_protocol::socket socket, std::size_t data_limit,
                                 std::size_t max_frame)
    : socket_(std::move(socket)), decoder_(max_frame), queue_(data_limit) {}

void FrameConnection::start(FrameHandler on_frame, CloseHandler on_close) {
  on_frame_ = std::move(on_frame);
  on_close_ = std::move(on_close);
  read_more();
}

void FrameConnection::set_handlers(FrameHandler on_frame, CloseHandler on_close) {
  on_frame_ = std::move(on_frame);
  on_close_ = std::move(on_close);
}

// recvmsg rather than read: a client may pass its terminal with a frame
// (direct output), one descriptor with the request that takes it. One that
// came with another request is let go of; a client that passes more than
// one, or one with no request, is closed. What it passed is let go of on
// the closer's threads, so a client can neither make the monitor hold
// descriptors nor wait on their close.
void FrameConnection::read_more() {
  socket_.async_wait(asio::socket_base::wait_read, [self = shared_from_this()](std::error_code ec) {
    if (self->closed_) return;
    if (ec) {
      self->close(ec.message());
      return;
    }
    std::vector<UniqueFd> passed;
    ssize_t n = receive_some(self->socket_.native_handle(), self->read_buffer_.data(), self->read_buffer_.size(), passed);
    if (passed.size() > 1) {
      for (auto& fd : passed) close_later(std::move(fd), self->peer_uid());
      self->close("it passed more than one descriptor at a time");
      return;
    }
    if (!passed.empty()) self->received_fd_ = ForeignFd(std::move(passed.front()), self->peer_uid());
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      self->read_more();
      return;
    }
    if (n <= 0) {
      self->close(n == 0 ? "client left" : std::strerror(errno));
      return;
    }
    self->decoder_.feed(std::string_view(self->read_buffer_.data(), static_cast<std::size_t>(n)));
    bool requested = false;
    while (auto frame = self->decoder_.next()) {
      if (!*frame) {
        self->close(frame->error().message());
        return;
      }
      requested = requested || frame->value().type == FrameType::Request;
      auto handler = self->on_frame_;  // the call may replace or clear on_frame_
      if (handler) handler(std::move(frame->value()));
      if (self->closed_) return;
    }
    // One nobody took: with a request (not a direct one, or refused), it
    // goes and the request was answered; with none, the client goes too.
    if (self->received_fd_ && !requested) {
      self->close("it passed a descriptor with no request for it");
      return;
    }
    self->received_fd_ = ForeignFd();
    self->read_more();
  });
}

void FrameConnection::set_share(const Share& share) {
  if (closed_) return;
  queue_.set_data_limit(share.queue);
  set_send_buffer(share.socket);
  if (rests_.set_scale(share.rest_scale)) {  // alone now: it does not rest
    queue_.end_rest();
    if (!writing_) write_more();
  }
}

void FrameConnection::set_send_buffer(std::size_t bytes) {
  if (bytes == send_buffer_ || closed_) return;
  int fd = socket_.native_handle();
  if (send_buffer_ == 0) {
    socklen_t length = sizeof default_send_buffer_;
    if (::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &default_send_buffer_, &length) != 0) return;
  }
  // The kernel doubles what it is given (for its own bookkeeping), and
  // counts that bookkeeping against it: half of `bytes` holds about `bytes`.
  int value = bytes == 0 ? default_send_buffer_ / 2 : static_cast<int>(bytes / 2);
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &value, sizeof value) == 0) send_buffer_ = bytes;
}

void FrameConnection::send(FrameType type, std::string payload) { send_control(type, std::move(payload), nullptr); }

void FrameConnection::send_with_fd(FrameType type, std::string payload, int fd) {
  send_control(type, std::move(payload), std::shared_ptr<int>(new int(fd), [](int* p) {
                 if (*p >= 0) ::close(*p);
                 delete p;
               }));
}

// A client that lets control frames pile up past kControlLimit, or more
// than kFdLimit fds (each held open in the monitor until it reads it), is
// dropped: one that asks and never reads would use up the monitor's. A
// frame that finds no more than the limit waiting is taken whatever its
// size (the answer to `who` with a crowd attached is larger than the
// limit, and may come right after another answer): what a client can pile
// up is the limit and one frame.
void FrameConnection::send_control(FrameType type, std::string payload, std::shared_ptr<int> fd) {
  if (closed_ || closing_) return;
  std::size_t waiting = queue_.queued_control_bytes();
  queue_.push_control(type, std::move(payload), std::move(fd));
  if (waiting > kControlLimit || queue_.queued_fds() > kFdLimit) {
    close("client stopped reading");
    return;
  }
  if (!writing_) write_more();  // notices go even while the client rests
}

void FrameConnection::send_data(Chunk chunk) {
  if (closed_ || closing_) return;
  rests_.offered(chunk->size());
  if (queue_.push_data(std::move(chunk)) && rests_.rests() && !rests_.resting()) rest();
  if (!writing_ && !queue_.resting()) write_more();
}

// The client fell behind (its socket is full and its queue overflowed):
// it rests (RestPolicy), with only the newest output queued for it.
void FrameConnection::rest() {
  queue_.rest();
  rests_.start();
}

void FrameConnection::rest_over() {
  queue_.end_rest();
  if (!writing_) write_more();
}

void FrameConnection::end_rest_now() {
  if (rests_.end()) queue_.end_rest();
}

void FrameConnection::close_after_send() {
  closing_ = true;
  end_rest_now();
  if (!writing_) write_more();  // closes once the queue is empty
}

void FrameConnection::write_more() {
  // A rest holds console output back, not notices: a client that rests
  // long (a crowd's rests last up to 2 s) would otherwise be let go for
  // the join and leave notices that piled up meanwhile (kControlLimit).
  // They take the little output kept before them along.
  if (queue_.resting() && queue_.queued_control_bytes() == 0) {
    writing_ = false;  // the write in flight is done; the next waits for the rest's end
    return;
  }
  if (queue_.empty()) {
    writing_ = false;
    if (closing_) close("closed");
    else if (on_drained_) asio::post(socket_.get_executor(), [self = shared_from_this()] {
      if (!self->closed_ && self->on_drained_ && self->idle()) self->on_drained_();
    });
    return;
  }
  writing_ = true;
  const auto& batch = queue_.front_batch(kBatchFrames, kBatchBytes);
  if (batch.front().fd) {
    write_with_fd(batch.front());
    return;
  }
  // Everything queued (up to a bound) in one gathered write: a client that
  // fell behind catches up with few syscalls.
  buffers_.clear();
  std::size_t total = 0;
  for (const OutgoingFrame& frame : batch) {
    buffers_.push_back(asio::buffer(frame.header));
    buffers_.push_back(asio::buffer(*frame.payload));
    total += frame.header.size() + frame.payload->size();
  }
  // All of it per sendmsg: asio's own completion conditions offer at most
  // 64 KiB at a time, and a whole console chunk is 64 KiB plus its header,
  // so each went out in two sendmsgs, the second of 5 bytes (strace).
  auto whole_batch = [total](const std::error_code& ec, std::size_t written) -> std::size_t {
    return ec ? 0 : total - written;
  };
  auto written_all = [self = shared_from_this()](std::error_code ec, std::size_t written) {
    if (self->closed_) return;
    if (ec) {
      self->close(ec.message());
      return;
    }
    self->rests_.taken(written);
    self->queue_.pop_batch();
    self->write_more();
  };
  asio::async_write(socket_, buffers_, whole_batch, std::move(written_all));
}

// A frame with an fd goes out alone, in one sendmsg once the socket can take
// it (it is a small control frame: all of it or nothing).
void FrameConnection::write_with_fd(const OutgoingFrame& frame) {
  socket_.async_wait(asio::socket_base::wait_write, [self = shared_from_this(), frame](std::error_code ec) {
    if (self->closed_) return;
    if (ec) {
      self->close(ec.message());
      return;
    }
    iovec parts[2] = {{const_cast<char*>(frame.header.data()), frame.header.size()},
                      {const_cast<char*>(frame.payload->data()), frame.payload->size()}};
    char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr message{};
    message.msg_iov = parts;
    message.msg_iovlen = 2;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    cmsghdr* cmsg = CMSG_FIRSTHDR(&message);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), frame.fd.get(), sizeof(int));
    ssize_t sent = ::sendmsg(self->socket_.native_handle(), &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0 && (errno == EAGAIN || errno == EINTR)) {
      self->write_with_fd(frame);
      return;
    }
    if (sent != static_cast<ssize_t>(frame.header.size() + frame.payload->size())) {
      self->close("cannot send a file descriptor");
      return;
    }
    self->queue_.pop_batch();
    self->write_more();
  });
}

void FrameConnection::close(const std::string& reason) {
  if (closed_) return;
  closed_ = true;
  std::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_both, ignored);
  let_go_of_socket();
  on_frame_ = nullptr;  // break reference cycles through captured sessions
  on_drained_ = nullptr;
  rests_.end();
  if (on_close_) {
    // Later, from the loop: whoever made us close (a send in a loop over
    // clients) is not re-entered.
    asio::post(socket_.get_executor(), [handler = std::move(on_close_), reason] { handler(reason); });
    on_close_ = nullptr;
  }
}

void FrameConnection::let_go_of_socket() {
  received_fd_ = ForeignFd();
  if (!socket_.is_open()) return;
  std::error_code ec;
  if (trusted_peer_) {
    socket_.close(ec);
    return;
  }
  int fd = socket_.release(ec);  // its pending operations end (operation_aborted)
  if (ec) {
    socket_.close(ec);
    return;
  }
  close_later(UniqueFd(fd));  // no passer to weigh: what it queues is out of sight
}

uid_t FrameConnection::peer_uid() {
  auto peer = peer_credentials(socket_.native_handle());
  return peer ? peer->uid : kNoPasser;
}

}  // namespace vcon::proto
