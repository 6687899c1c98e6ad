// OutputQueue implementation.
#include "base/json_text.hpp"
#include "proto/output_queue.hpp"

#include <nlohmann/json.hpp>

namespace vcon::proto {

OutgoingFrame OutputQueue::make(FrameType type, Chunk payload) {
  OutgoingFrame frame;
  std::uint32_t length = static_cast<std::uint32_t>(payload->size() + 1);
  frame.header = {static_cast<char>(length >> 24), static_cast<char>(length >> 16), static_cast<char>(length >> 8),
                  static_cast<char>(length), static_cast<char>(type)};
  frame.payload = std::move(payload);
  frame.is_data = type == FrameType::Data;
  return frame;
}

void OutputQueue::push_control(FrameType type, std::string payload, std::shared_ptr<int> fd) {
  control_bytes_ += payload.size();
  if (fd) ++control_fds_;
  frames_.push_back(make(type, std::make_shared<const std::string>(std::move(payload))));
  frames_.back().fd = std::move(fd);
}

bool OutputQueue::push_data(Chunk chunk) {
  data_bytes_ += chunk->size();
  ++data_frames_;
  frames_.push_back(make(FrameType::Data, std::move(chunk)));
  return drop_to(resting_ ? rest_limit() : data_limit_);
}

void OutputQueue::rest() {
  resting_ = true;
  drop_to(rest_limit());
}

// Over the limit, drop the oldest queued data frames, but never the newest
// one: a client that falls behind still sees the latest output. (The frame
// being written is not in frames_ and does not count.) Indices, not
// iterators: erasing from the middle of a deque invalidates them.
bool OutputQueue::drop_to(std::size_t limit) {
  bool dropped = false;
  for (std::size_t i = 0; queued_data_cost() > limit && i + 1 < frames_.size();) {
    if (!frames_[i].is_data) {
      ++i;
      continue;
    }
    std::size_t size = frames_[i].payload->size();
    data_bytes_ -= size;
    --data_frames_;
    pending_drop_ += size;
    dropped_total_ += size;
    frames_.erase(frames_.begin() + static_cast<std::ptrdiff_t>(i));
    dropped = true;
  }
  return dropped;
}

const std::vector<OutgoingFrame>& OutputQueue::front_batch(std::size_t max_frames, std::size_t max_bytes) {
  if (!batch_.empty()) return batch_;  // still being written: it must not change
  if (pending_drop_ > 0) {
    std::string text = json_text(nlohmann::json{{"type", "dropped"}, {"bytes", pending_drop_}});
    control_bytes_ += text.size();
    batch_.push_back(make(FrameType::Notice, std::make_shared<const std::string>(std::move(text))));
    pending_drop_ = 0;
  }
  std::size_t bytes = 0;
  for (const auto& frame : batch_) bytes += frame.payload->size();
  // At least one frame; then as many as fit.
  while (batch_.size() < max_frames && !frames_.empty() &&
         (batch_.empty() || (bytes + frames_.front().payload->size() <= max_bytes && !frames_.front().fd &&
                             !batch_.front().fd))) {
    bytes += frames_.front().payload->size();
    batch_.push_back(std::move(frames_.front()));
    frames_.pop_front();
    if (batch_.back().is_data) {
      data_bytes_ -= batch_.back().payload->size();
      --data_frames_;
    }
  }
  return batch_;
}

void OutputQueue::pop_batch() {
  for (const auto& frame : batch_) {
    if (!frame.is_data) control_bytes_ -= frame.payload->size();
    if (frame.fd) --control_fds_;
  }
  batch_.clear();
}

}  // namespace vcon::proto
