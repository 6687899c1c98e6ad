// RingBuffer: the last N bytes of a console, addressed by byte offset since the
// monitor started. Reads never consume: any number of readers can each replay
// from their own offset. Pure logic, no syscalls; used by the monitor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vcon {

class RingBuffer {
 public:
  explicit RingBuffer(std::size_t capacity);

  void append(std::string_view bytes);

  // Offset one past the last byte ever appended (total bytes seen).
  std::uint64_t end_offset() const { return end_; }
  // Oldest offset still held.
  std::uint64_t begin_offset() const { return end_ - size(); }
  std::size_t size() const { return end_ < storage_.size() ? static_cast<std::size_t>(end_) : storage_.size(); }
  std::size_t capacity() const { return storage_.size(); }

  // Appends to `out` up to `max` bytes starting at `offset` (clamped to what
  // is still held) and returns the offset actually read from.
  std::uint64_t read(std::uint64_t offset, std::size_t max, std::string& out) const;

 private:
  std::vector<char> storage_;
  std::uint64_t end_ = 0;
};

}  // namespace vcon
