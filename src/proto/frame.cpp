// Frame codec implementation.
#include "proto/frame.hpp"

namespace vcon::proto {

bool is_known_type(std::uint8_t type) { return type >= 1 && type <= 9; }

const char* type_name(FrameType type) {
  switch (type) {
    case FrameType::Hello: return "hello";
    case FrameType::Welcome: return "welcome";
    case FrameType::Data: return "data";
    case FrameType::Resize: return "resize";
    case FrameType::Break: return "break";
    case FrameType::Notice: return "notice";
    case FrameType::Error: return "error";
    case FrameType::Request: return "request";
    case FrameType::Response: return "response";
  }
  return "unknown";
}

void encode(FrameType type, std::string_view payload, std::string& out) {
  std::uint32_t length = static_cast<std::uint32_t>(payload.size() + 1);
  out.push_back(static_cast<char>(length >> 24));
  out.push_back(static_cast<char>(length >> 16));
  out.push_back(static_cast<char>(length >> 8));
  out.push_back(static_cast<char>(length));
  out.push_back(static_cast<char>(type));
  out.append(payload);
}

std::string encode(FrameType type, std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 5);
  encode(type, payload, out);
  return out;
}

std::optional<Result<Frame>> FrameDecoder::next() {
  std::string_view pending(buffer_);
  pending.remove_prefix(consumed_);
  if (pending.size() < 4) return std::nullopt;
  auto byte = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(pending[i])); };
  std::uint32_t length = byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
  if (length == 0 || length > max_frame_) {
    return Result<Frame>(make_error("protocol error: frame length " + std::to_string(length) + " is out of range (at most " +
                                    std::to_string(max_frame_) + " here)"));
  }
  if (pending.size() < 4 + length) return std::nullopt;
  auto type = static_cast<std::uint8_t>(pending[4]);
  if (!is_known_type(type)) {
    return Result<Frame>(make_error("protocol error: unknown frame type " + std::to_string(type)));
  }
  Frame frame{static_cast<FrameType>(type), std::string(pending.substr(5, length - 1))};
  consumed_ += 4 + length;
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  } else if (consumed_ > 64 * 1024) {  // keep the buffer from growing without bound
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  return Result<Frame>(std::move(frame));
}

}  // namespace vcon::proto
