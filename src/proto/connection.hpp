// FrameConnection: one frame-speaking Unix stream connection on the monitor's
// Asio loop. Reads frames and hands them to a handler; writes queued frames in
// order from an OutputQueue, console data as shared chunks (header and chunk
// go out with one gathered write, no copy). Used by every monitor session.
//
// What a client can make it hold is bounded: the frame being read (the
// decoder's limit), control frames queued (kControlLimit and one frame
// more: past it the client is dropped), fds queued to go with frames
// (kFdLimit, the same), console data queued (the data limit: past it the
// oldest is dropped, and the client rests if it has company) and one write
// batch (kBatchBytes).
//
// The close handler is never called from inside send(), set_handlers() or
// any other call of the owner's: it is posted to the loop. So an owner may
// iterate its clients and send to each, and none disappears under it.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/fd_closer.hpp"
#include "base/unique_fd.hpp"
#include "proto/frame.hpp"
#include "proto/output_queue.hpp"
#include "proto/rest_policy.hpp"
#include "proto/rest_timer.hpp"

namespace vcon::proto {

class FrameConnection : public std::enable_shared_from_this<FrameConnection> {
 public:
  using FrameHandler = std::function<void(Frame)>;
  using CloseHandler = std::function<void(const std::string& reason)>;

  // Console data queued beyond this many bytes is dropped, oldest first,
  // and the client rests (RestPolicy): nothing more is written to it for a
  // while, and only the newest output waits for it meanwhile. With more
  // than four clients attached each is given less (set_share); alone, it
  // does not rest. Notices go even while it rests.
  static constexpr std::size_t kDefaultDataLimit = 256 * 1024;
  // A client that lets more than this much control traffic pile up is
  // disconnected (a frame that finds no more than this waiting is taken,
  // whatever its size).
  static constexpr std::size_t kControlLimit = 64 * 1024;
  // ...and so is one that lets more fds than this wait for it: each is
  // held open in the monitor until written, and a client asks for one at a
  // time (`log`, `direct`).
  static constexpr std::size_t kFdLimit = 1;

  explicit FrameConnection(asio::local::stream_protocol::socket socket, std::size_t data_limit = kDefaultDataLimit,
                           std::size_t max_frame = kMaxFrame);
  ~FrameConnection() { let_go_of_socket(); }

  // Starts reading; `on_frame` gets each frame, `on_close` is called once.
  void start(FrameHandler on_frame, CloseHandler on_close);
  // Hands the connection to another owner (a session after its hello).
  void set_handlers(FrameHandler on_frame, CloseHandler on_close);
  // How far behind this client may fall, and whether it then rests: its
  // part of what all clients share (proto::share_of).
  void set_share(const Share& share);
  void set_max_frame(std::size_t max_frame) { decoder_.set_max_frame(max_frame); }
  // Called (on the loop) each time everything queued has been written.
  void set_drained_handler(std::function<void()> on_drained) { on_drained_ = std::move(on_drained); }
  bool idle() const { return !writing_ && queue_.empty(); }
  bool is_closed() const { return closed_ || closing_; }
  void send(FrameType type, std::string payload);
  // A control frame with an fd (SCM_RIGHTS) attached; the fd is ours to close.
  void send_with_fd(FrameType type, std::string payload, int fd);
  void send_data(Chunk chunk);
  // Closes after everything queued has been written.
  void close_after_send();
  void close(const std::string& reason);
  int native_handle() { return socket_.native_handle(); }
  asio::any_io_executor executor() { return socket_.get_executor(); }
  // Keeps `slot` for as long as this connection lives (a connection count).
  void hold(std::shared_ptr<void> slot) { slot_ = std::move(slot); }
  std::uint64_t dropped_bytes() const { return queue_.dropped_bytes(); }
  // The fd that came (SCM_RIGHTS) with the frame being handled, if any,
  // for the handler of a request that takes one (read_more() says what
  // becomes of one nobody takes). It and the socket are closed on the
  // closer's threads (base/fd_closer.hpp: a client may pass one whose
  // close never returns).
  ForeignFd take_received_fd() { return std::move(received_fd_); }
  // The other end is a monitor, trusted (consolefs): the socket is closed
  // in place, not on the closer's threads.
  void trust_peer() { trusted_peer_ = true; }

 private:
  void read_more();
  void write_more();
  void write_with_fd(const OutgoingFrame& frame);
  void send_control(FrameType type, std::string payload, std::shared_ptr<int> fd);
  void rest();
  void rest_over();
  void end_rest_now();
  // At most about `bytes` on their way in the socket (0: the system's default).
  void set_send_buffer(std::size_t bytes);
  // Closes the socket (and what it may still hold that the client queued)
  // on the closer's thread.
  void let_go_of_socket();
  // Who is at the other end (SO_PEERCRED): who passed what comes through it.
  uid_t peer_uid();

  asio::local::stream_protocol::socket socket_;
  FrameDecoder decoder_;
  std::array<char, 16384> read_buffer_;
  OutputQueue queue_;
  static constexpr std::size_t kBatchFrames = 32;  // 64 iovecs, well under IOV_MAX
  static constexpr std::size_t kBatchBytes = 64 * 1024;  // what a stuck client pins of old output
  std::vector<asio::const_buffer> buffers_;
  RestTimer rests_{socket_.get_executor(), [this] { rest_over(); }};
  bool writing_ = false;
  bool closing_ = false;
  bool closed_ = false;
  FrameHandler on_frame_;
  CloseHandler on_close_;
  std::function<void()> on_drained_;
  std::shared_ptr<void> slot_;
  ForeignFd received_fd_;
  bool trusted_peer_ = false;
  std::size_t send_buffer_ = 0;  // what set_send_buffer() set; 0: untouched
  int default_send_buffer_ = 0;  // the socket's own, to go back to
};

}  // namespace vcon::proto
