// The one frame codec of the monitor protocol, used by the monitor and by every
// client (CLI, and later the FUSE file system and `vcon proxy`).
//
// A frame is a 4-byte big-endian length, then that many bytes: one type byte
// and the payload. See docs/protocol.md. Pure logic, no syscalls.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace vcon::proto {

constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kMaxFrame = 1 << 20;  // type byte + payload
// What a monitor takes from a client: a hello is small; after it, keystrokes,
// requests and window sizes (a writer's paste comes in several frames).
// A frame announcing more is a protocol error at once: its bytes are never
// kept.
constexpr std::size_t kMaxHelloFrame = 4096;
constexpr std::size_t kMaxClientFrame = 64 * 1024;

enum class FrameType : std::uint8_t {
  Hello = 1,     // client -> monitor, first frame: JSON {"version", "mode", ...}
  Welcome = 2,   // monitor -> client: JSON, the hello was accepted
  Data = 3,      // console bytes, either way
  Resize = 4,    // client -> monitor: JSON {"rows", "cols"}
  Break = 5,     // client -> monitor: send a break
  Notice = 6,    // monitor -> client: JSON, out-of-band event
  Error = 7,     // monitor -> client: text; the request failed
  Request = 8,   // client -> monitor: JSON {"op", ...} on a control connection
  Response = 9,  // monitor -> client: JSON reply to a request
};

bool is_known_type(std::uint8_t type);
const char* type_name(FrameType type);

struct Frame {
  FrameType type;
  std::string payload;
};

// Appends the encoded frame to `out`.
void encode(FrameType type, std::string_view payload, std::string& out);
std::string encode(FrameType type, std::string_view payload);

// Accumulates bytes from a stream and yields whole frames of at most
// `max_frame` bytes (type byte + payload).
class FrameDecoder {
 public:
  explicit FrameDecoder(std::size_t max_frame = kMaxFrame) : max_frame_(max_frame) {}
  void set_max_frame(std::size_t max_frame) { max_frame_ = max_frame; }
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next whole frame, nothing if more bytes are needed, or an error for a
  // malformed stream (after which the connection should be dropped).
  std::optional<Result<Frame>> next();

 private:
  std::size_t max_frame_;
  std::string buffer_;
  std::size_t consumed_ = 0;
};

}  // namespace vcon::proto
