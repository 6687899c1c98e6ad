// RingBuffer: the last N bytes of a console, addressed by byte offset since the
// console started. Reads never consume: any number of readers can each replay
// from their own offset. Used by the monitor.
//
// A zone's ring lives in a memfd that its keeper holds: a monitor that
// crashes or is upgraded leaves the ring (bytes and end offset) to the next
// one, which maps the same memfd again, so clients that reconnect and ask
// from the offset they had see no gap. Other rings are private memory.
// Either way pages are committed only as output arrives: an idle console
// costs no ring memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace vcon {

class RingBuffer {
 public:
  explicit RingBuffer(std::size_t capacity);
  // A new memfd holding an empty ring of `capacity` bytes.
  static Result<UniqueFd> create_memfd(std::size_t capacity, const std::string& name);
  // The ring in `memfd` (new or left by an earlier monitor), mapped shared.
  static Result<RingBuffer> map(int memfd);

  void append(std::string_view bytes);

  // Offset one past the last byte ever appended (total bytes seen).
  std::uint64_t end_offset() const { return header_->end; }
  // Oldest offset still held.
  std::uint64_t begin_offset() const { return end_offset() - size(); }
  std::size_t size() const {
    return end_offset() < capacity_ ? static_cast<std::size_t>(end_offset()) : capacity_;
  }
  std::size_t capacity() const { return capacity_; }

  // Appends to `out` up to `max` bytes starting at `offset` (clamped to what
  // is still held) and returns the offset actually read from.
  std::uint64_t read(std::uint64_t offset, std::size_t max, std::string& out) const;

 private:
  struct Header {
    std::uint64_t magic;
    std::uint64_t capacity;
    std::uint64_t end;  // updated after the bytes are in: a crash mid-append loses only that append
  };
  struct Unmap {
    std::size_t length;
    void operator()(void* address) const;
  };
  RingBuffer(std::unique_ptr<void, Unmap> mapping, std::size_t capacity);

  std::unique_ptr<void, Unmap> mapping_;  // header, then the bytes
  Header* header_;
  char* data_;
  std::size_t capacity_;
};

}  // namespace vcon
