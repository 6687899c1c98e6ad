// OutputQueue: what the monitor still has to write to one client. Console data
// is held as references to chunks shared by every client (no copy per
// client); a client that falls behind loses its oldest queued data, never
// the frame being written, and is told how much it lost in a notice placed
// before the next frame it gets. Control frames are never dropped.
//
// A client that fell behind may rest (RestPolicy, when it has company): its
// owner stops writing console output to it for a while, and meanwhile only
// the newest output is kept for it, so a terminal that cannot keep up with
// a flood costs little and still shows the end of it.
// Pure logic: the owner keeps the time.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "proto/frame.hpp"
#include "proto/rest_policy.hpp"

namespace vcon::proto {

using Chunk = std::shared_ptr<const std::string>;

struct OutgoingFrame {
  std::array<char, 5> header;  // length and type, as encode() writes them
  Chunk payload;
  bool is_data = false;
  std::shared_ptr<int> fd;  // an fd that goes with this frame (SCM_RIGHTS), closed when sent
};

class OutputQueue {
 public:
  // `data_limit`: queued console bytes beyond which the oldest are dropped,
  // each frame counted as kFrameCost bytes more than its payload: a zone
  // that writes a byte at a time makes a frame of each, and keeping a
  // frame costs more than its byte. Memory per client stays below
  // data_limit plus the batch being written plus the newest chunk.
  explicit OutputQueue(std::size_t data_limit) : data_limit_(data_limit) {}

  // What a queued data frame costs beyond its payload: the frame, its
  // share of the chunk (which it may be the last to hold) and their heap.
  static constexpr std::size_t kFrameCost = 128;

  void push_control(FrameType type, std::string payload, std::shared_ptr<int> fd = nullptr);
  // True if older data had to be dropped for it: the client fell behind.
  bool push_data(Chunk chunk);

  // The owner stops writing for a while: queued data is cut to the newest
  // RestPolicy::kKeep bytes (or the data limit, if less; never the newest
  // frame) and so is what comes meanwhile. end_rest() restores the limit.
  void rest();
  void end_rest() { resting_ = false; }
  bool resting() const { return resting_; }
  std::size_t rest_limit() const { return RestPolicy::keep(data_limit_); }

  void set_data_limit(std::size_t limit) { data_limit_ = limit; }
  bool empty() const { return frames_.empty() && batch_.empty() && pending_drop_ == 0; }
  // The next frames to write (at most `max_frames` and `max_bytes`, and a
  // frame with an fd alone), for one gathered write. They
  // leave the queue: their memory stays put, and none is dropped, until
  // pop_batch(), however the queue changes meanwhile (the writer's buffers
  // point into them); asking again before then gives the same batch. A
  // pending drop count becomes a notice at its head.
  const std::vector<OutgoingFrame>& front_batch(std::size_t max_frames, std::size_t max_bytes = SIZE_MAX);
  void pop_batch();

  std::size_t queued_data_bytes() const { return data_bytes_; }  // payload
  // What the limit is held against: the payload and kFrameCost per frame.
  std::size_t queued_data_cost() const { return data_bytes_ + data_frames_ * kFrameCost; }
  std::size_t queued_control_bytes() const { return control_bytes_; }
  // Open fds queued to go with frames (each held open until sent).
  std::size_t queued_fds() const { return control_fds_; }
  std::uint64_t dropped_bytes() const { return dropped_total_; }

 private:
  static OutgoingFrame make(FrameType type, Chunk payload);
  // Drops the oldest queued data frames (never the newest frame) until at
  // most `limit` bytes are queued; true if any went.
  bool drop_to(std::size_t limit);

  std::deque<OutgoingFrame> frames_;
  std::vector<OutgoingFrame> batch_;
  std::size_t data_limit_;
  bool resting_ = false;
  std::size_t data_bytes_ = 0;
  std::size_t data_frames_ = 0;
  std::size_t control_bytes_ = 0;
  std::size_t control_fds_ = 0;
  std::uint64_t pending_drop_ = 0;  // dropped but not yet reported
  std::uint64_t dropped_total_ = 0;
};

}  // namespace vcon::proto
