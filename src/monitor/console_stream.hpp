// ConsoleStream: the byte path between a monitor and its console's fd (a
// zone's pty master, or a serial line). Output is read whenever it is ready
// (non-blocking reads of all that is there, up to 64 KiB per chunk) and
// handed on; input waits in a bounded queue (64 KiB:
// past it, input is dropped rather than blocking the monitor or growing it)
// and is written as the console takes it. Used by both kinds of monitor.
// The read buffer's pages past the first, and the heap's free pages, go
// back to the system once a burst of output is two seconds old: an idle
// monitor does not keep 64 KiB for its zone's boot messages (bench/fleet),
// nor what a flood to many clients spread its heap over (bench/peers).
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace vcon {

class ConsoleStream {
 public:
  using Output = std::function<void(std::string_view)>;
  using Failed = std::function<void(std::error_code)>;

  // Takes `fd` (made non-blocking). `on_output` gets every chunk read;
  // `on_failed` a read or write error (a zone gone, a line lost); not
  // called once the stream is destroyed.
  ConsoleStream(asio::io_context& io, int fd, Output on_output, Failed on_failed);
  ConsoleStream(const ConsoleStream&) = delete;
  ConsoleStream& operator=(const ConsoleStream&) = delete;
  ~ConsoleStream() { *alive_ = false; }

  void start() { read_more(); }
  // Called once a burst of output is over (two seconds after its last
  // large read), before the heap is trimmed: the owner lets go of what
  // the burst made it hold.
  void set_on_quiet(std::function<void()> on_quiet) { on_quiet_ = std::move(on_quiet); }
  void write(std::string bytes);
  // Reads, now, everything the console still holds (a zone that just died).
  void drain();
  int native_handle() { return descriptor_.native_handle(); }
  std::uint64_t input_total() const { return input_total_; }

 private:
  std::size_t read_ready(std::size_t filled);
  void read_more();
  void write_front();
  void note_burst(std::size_t used);
  void release_when_quiet(std::chrono::steady_clock::duration after);

  static constexpr std::size_t kBufferSize = 64 * 1024;
  struct Unmap {
    void operator()(char* p) const;
  };

  static constexpr std::size_t kInputLimit = 64 * 1024;
  asio::posix::stream_descriptor descriptor_;
  Output on_output_;
  Failed on_failed_;
  std::function<void()> on_quiet_;
  std::unique_ptr<char, Unmap> buffer_;  // kBufferSize, a mapping of its own (not in the heap)
  asio::steady_timer release_timer_;
  bool release_pending_ = false;
  static constexpr std::chrono::seconds kQuiet{2};
  std::chrono::steady_clock::time_point last_burst_{};
  std::deque<std::string> input_;
  std::size_t input_bytes_ = 0;
  std::uint64_t input_total_ = 0;
  // Handlers check this before touching the stream: one that completed
  // just before the stream was destroyed (a zone that printed as it died)
  // still runs, maybe when a new stream lives at the same address.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vcon
