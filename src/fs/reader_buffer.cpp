// ReaderBuffer implementation.
#include "fs/reader_buffer.hpp"

#include <algorithm>

namespace vcon {

void ReaderBuffer::append(std::string_view bytes) {
  if (bytes.empty()) return;
  data_.append(bytes);
  at_line_start_ = bytes.back() == '\n';
  if (data_.size() > 2 * capacity_) {  // trim in steps, not on every append
    std::size_t drop = data_.size() - capacity_;
    data_.erase(0, drop);
    base_ += drop;
  }
}

std::string_view ReaderBuffer::read(std::uint64_t offset, std::size_t size) {
  std::uint64_t at = offset + shift_;
  if (at < base_) {  // fell behind: skip to the oldest byte kept
    shift_ += base_ - at;
    at = base_;
  }
  if (at >= stream_end()) return {};
  std::size_t from = static_cast<std::size_t>(at - base_);
  return std::string_view(data_).substr(from, std::min(size, data_.size() - from));
}

}  // namespace vcon
