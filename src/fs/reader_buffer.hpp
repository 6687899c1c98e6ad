// ReaderBuffer: what one open NAME file of the console file system has to
// read. Console output (and notice lines) are appended; the reader reads at
// the offsets the kernel gives, so sequential readers (cat) and readers that
// seek (tail, which reads backwards from the end first) both work. It keeps
// between `capacity` and twice that of the newest bytes: a reader that falls
// further behind skips ahead to the oldest byte kept, and from then on the
// file's offsets run that many bytes behind the stream's (the "shift"), so
// its own reads stay in order, as consolefs's readers do. Pure logic,
// unit-tested; used by the file system server.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vcon {

class ReaderBuffer {
 public:
  explicit ReaderBuffer(std::size_t capacity) : capacity_(capacity) {}

  void append(std::string_view bytes);
  // Up to `size` bytes at file offset `offset`; empty when nothing is there
  // yet (the caller waits, or answers EAGAIN). Valid until the next append.
  std::string_view read(std::uint64_t offset, std::size_t size);
  bool readable(std::uint64_t offset) const { return offset + shift_ < stream_end(); }
  // The file's size as this reader sees it: where its data ends now.
  std::uint64_t end() const { return stream_end() - shift_; }
  // Bytes this reader never got because it fell behind.
  std::uint64_t skipped() const { return shift_; }
  bool at_line_start() const { return at_line_start_; }

 private:
  std::uint64_t stream_end() const { return base_ + data_.size(); }

  std::size_t capacity_;
  std::string data_;        // stream bytes from base_ on
  std::uint64_t base_ = 0;  // stream offset of data_[0]
  std::uint64_t shift_ = 0;
  bool at_line_start_ = true;
};

}  // namespace vcon
