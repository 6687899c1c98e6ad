// TerminalWriter: console output written by the monitor straight to an
// attached client's terminal, as screen and tmux servers do, instead of
// through the client process: one hop less for every keystroke's echo and
// every byte a viewer sees (docs/monitor.md, "Direct output").
//
// The client hands its terminal over (SCM_RIGHTS); the monitor opens the
// same tty again, non-blocking, so a slow terminal never stalls the loop
// and the client's own file description keeps its flags. Console bytes
// are queued as the chunks every client shares; past `limit` queued bytes
// the oldest whole chunks (never the newest) are dropped and a line saying
// so takes their place, and the terminal rests (proto::RestPolicy): nothing
// is written to it for a while, and only the newest output waits for it
// (unless it is the only client: set_share).
// vcon's own lines (rendered by the hub) are never dropped.
#pragma once

#include <asio.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "proto/output_queue.hpp"
#include "proto/rest_policy.hpp"
#include "proto/rest_timer.hpp"

namespace vcon {

// Checks that `passed` (received from a client) is a terminal the client
// may write to, and opens it again for writing, non-blocking and never as
// a controlling terminal. Refuses pty masters (opening /dev/ptmx again
// would make a new pty), files, sockets and read-only descriptors.
// TerminalAccess::Read: opened for reading instead (direct input), which
// the passed descriptor must allow as well as writing.
enum class TerminalAccess { Write, Read };
Result<UniqueFd> reopen_client_terminal(int passed, TerminalAccess access = TerminalAccess::Write);

class TerminalWriter {
 public:
  using Chunk = proto::Chunk;
  // `dropped_line(bytes)`: the line shown where `bytes` of output were dropped.
  TerminalWriter(const asio::any_io_executor& executor, UniqueFd tty, std::size_t limit,
                 std::function<std::string(std::uint64_t)> dropped_line);
  ~TerminalWriter();
  TerminalWriter(const TerminalWriter&) = delete;
  TerminalWriter& operator=(const TerminalWriter&) = delete;

  // Held back until resume(): the client still writes what it got before.
  void pause() { paused_ = true; }
  void resume();
  // Console bytes queued before the oldest are dropped, and how long the
  // terminal then rests: its part of what all clients share (proto::share_of).
  // (Its socket part is the client's connection's, not ours.)
  void set_share(const proto::Share& share);
  // Console bytes: `chunk` ends at console offset `end`.
  void data(const Chunk& chunk, std::uint64_t end);
  // One of vcon's own lines (or a client's ~p screenful), in order with the
  // console bytes. Never dropped, so bounded: false, and nothing queued, if
  // more than kTextLimit of them already wait (the terminal stopped reading
  // while its client kept asking).
  static constexpr std::size_t kTextLimit = 128 * 1024;
  bool text(std::string bytes);

  // Console offset up to which everything was written to the terminal or
  // dropped: where a client that reconnects goes on from.
  std::uint64_t done_offset() const { return done_offset_; }
  std::uint64_t dropped_bytes() const { return dropped_total_; }
  // The terminal is gone (hung up, EIO): nothing more is written to it.
  bool failed() const { return failed_; }

  // A page the client maps too (sealed: it cannot shrink it under us),
  // where done_offset() is kept after every write: a client back after a
  // monitor crash knows to the byte where to go on from, at the cost of a
  // store, not a message. Sent to the client with the "direct" notice.
  Result<UniqueFd> make_bookmark();

 private:
  struct Item {
    Chunk bytes;
    std::size_t written = 0;
    bool console = false;
    std::uint64_t end = 0;      // console items and drop lines: offset after their (last dropped) byte
    std::uint64_t dropped = 0;  // a drop line, rendered when it is written: bytes it stands for
  };
  void flush();
  void wait_writable();
  bool drop_oldest();
  void rest();
  std::size_t rest_limit() const { return proto::RestPolicy::keep(limit_); }
  void fail();
  void note_progress();

  asio::posix::stream_descriptor tty_;
  std::size_t limit_;
  std::function<std::string(std::uint64_t)> dropped_line_;
  std::deque<Item> queue_;
  std::size_t queued_console_ = 0;
  std::size_t queued_text_ = 0;
  std::uint64_t done_offset_ = 0;
  std::uint64_t dropped_total_ = 0;
  bool paused_ = false;
  bool waiting_ = false;
  bool failed_ = false;
  proto::RestTimer rests_{tty_.get_executor(), [this] {
    if (!waiting_) flush();
  }};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  volatile std::uint64_t* bookmark_ = nullptr;
};

}  // namespace vcon
