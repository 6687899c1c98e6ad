// RingBuffer implementation.
#include "console/ring_buffer.hpp"

#include <algorithm>
#include <cstring>

namespace vcon {

RingBuffer::RingBuffer(std::size_t capacity)
    : storage_(new char[std::max<std::size_t>(capacity, 1)]), capacity_(std::max<std::size_t>(capacity, 1)) {}

void RingBuffer::append(std::string_view bytes) {
  const std::size_t cap = capacity_;
  if (bytes.size() > cap) {  // only the tail can survive
    end_ += bytes.size() - cap;
    bytes.remove_prefix(bytes.size() - cap);
  }
  std::size_t pos = static_cast<std::size_t>(end_ % cap);
  std::size_t first = std::min(bytes.size(), cap - pos);
  std::memcpy(storage_.get() + pos, bytes.data(), first);
  std::memcpy(storage_.get(), bytes.data() + first, bytes.size() - first);
  end_ += bytes.size();
}

std::uint64_t RingBuffer::read(std::uint64_t offset, std::size_t max, std::string& out) const {
  const std::size_t cap = capacity_;
  offset = std::clamp(offset, begin_offset(), end_);
  std::size_t count = static_cast<std::size_t>(std::min<std::uint64_t>(max, end_ - offset));
  std::size_t pos = static_cast<std::size_t>(offset % cap);
  std::size_t first = std::min(count, cap - pos);
  out.append(storage_.get() + pos, first);
  out.append(storage_.get(), count - first);
  return offset;
}

}  // namespace vcon
