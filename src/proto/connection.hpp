// FrameConnection: one frame-speaking Unix stream connection on the monitor's
// Asio loop. Reads frames and hands them to a handler; queues outgoing frames
// and writes them in order. Used by every kind of monitor session.
#pragma once

#include <asio.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "proto/frame.hpp"

namespace vcon::proto {

class FrameConnection : public std::enable_shared_from_this<FrameConnection> {
 public:
  using FrameHandler = std::function<void(Frame)>;
  using CloseHandler = std::function<void(const std::string& reason)>;

  explicit FrameConnection(asio::local::stream_protocol::socket socket);

  // Starts reading; `on_frame` gets each frame, `on_close` is called once.
  void start(FrameHandler on_frame, CloseHandler on_close);
  void send(FrameType type, std::string_view payload);
  // Closes after everything queued has been written.
  void close_after_send();
  void close(const std::string& reason);
  int native_handle() { return socket_.native_handle(); }

 private:
  void read_more();
  void write_more();

  asio::local::stream_protocol::socket socket_;
  FrameDecoder decoder_;
  std::array<char, 16384> read_buffer_;
  std::deque<std::string> outgoing_;
  bool writing_ = false;
  bool closing_ = false;
  bool closed_ = false;
  FrameHandler on_frame_;
  CloseHandler on_close_;
};

}  // namespace vcon::proto
