// RingBuffer: the last N bytes of a console, addressed by byte offset since the
// monitor started. Reads never consume: any number of readers can each replay
// from their own offset. Pure logic, no syscalls; used by the monitor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <memory>

namespace vcon {

class RingBuffer {
 public:
  explicit RingBuffer(std::size_t capacity);

  void append(std::string_view bytes);

  // Offset one past the last byte ever appended (total bytes seen).
  std::uint64_t end_offset() const { return end_; }
  // Oldest offset still held.
  std::uint64_t begin_offset() const { return end_ - size(); }
  std::size_t size() const { return end_ < capacity_ ? static_cast<std::size_t>(end_) : capacity_; }
  std::size_t capacity() const { return capacity_; }

  // Appends to `out` up to `max` bytes starting at `offset` (clamped to what
  // is still held) and returns the offset actually read from.
  std::uint64_t read(std::uint64_t offset, std::size_t max, std::string& out) const;

 private:
  // Not zero-filled: pages are committed only as output arrives, so an idle
  // console costs no ring memory.
  std::unique_ptr<char[]> storage_;
  std::size_t capacity_;
  std::uint64_t end_ = 0;
};

}  // namespace vcon
