// OutputQueue implementation.
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

void OutputQueue::push_control(FrameType type, std::string payload) {
  control_bytes_ += payload.size();
  frames_.push_back(make(type, std::make_shared<const std::string>(std::move(payload))));
}

void OutputQueue::push_data(Chunk chunk) {
  data_bytes_ += chunk->size();
  frames_.push_back(make(FrameType::Data, std::move(chunk)));
  // Over the limit, drop the oldest data frames, never the one being written
  // (its bytes are already committed and do not count) nor the newest one: a
  // client that falls behind still sees the latest output.
  std::size_t i = 0, in_flight = 0;
  if (front_in_flight_) {
    if (frames_.front().is_data) in_flight = frames_.front().payload->size();
    i = 1;
  }
  // Indices, not iterators: erasing from the middle of a deque invalidates them.
  while (data_bytes_ - in_flight > data_limit_ && i + 1 < frames_.size()) {
    if (!frames_[i].is_data) {
      ++i;
      continue;
    }
    std::size_t size = frames_[i].payload->size();
    data_bytes_ -= size;
    pending_drop_ += size;
    dropped_total_ += size;
    frames_.erase(frames_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

const OutgoingFrame& OutputQueue::front() {
  if (pending_drop_ > 0 && !front_in_flight_) {
    nlohmann::json notice{{"type", "dropped"}, {"bytes", pending_drop_}};
    std::string text = notice.dump();
    control_bytes_ += text.size();
    frames_.push_front(make(FrameType::Notice, std::make_shared<const std::string>(std::move(text))));
    pending_drop_ = 0;
  }
  front_in_flight_ = true;
  return frames_.front();
}

void OutputQueue::pop_front() {
  const OutgoingFrame& done = frames_.front();
  (done.is_data ? data_bytes_ : control_bytes_) -= done.payload->size();
  frames_.pop_front();
  front_in_flight_ = false;
}

}  // namespace vcon::proto
