// RingBuffer implementation: one mapping holds the header and the bytes.
#include "console/ring_buffer.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace vcon {

namespace {
constexpr std::uint64_t kMagic = 0x76636f6e72696e67;  // "vconring"
constexpr std::size_t kHeaderSize = 4096;              // a page: the bytes stay page-aligned
}  // namespace

void RingBuffer::Unmap::operator()(void* address) const {
  if (address != MAP_FAILED) ::munmap(address, length);
}

RingBuffer::RingBuffer(std::unique_ptr<void, Unmap> mapping, std::size_t capacity)
    : mapping_(std::move(mapping)),
      header_(static_cast<Header*>(mapping_.get())),
      data_(static_cast<char*>(mapping_.get()) + kHeaderSize),
      capacity_(capacity) {}

namespace {
// Anonymous memory, zero-filled lazily: pages are committed as written.
void* anonymous(std::size_t length) {
  void* address = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (address == MAP_FAILED) throw std::bad_alloc();  // as `new` would: at start, never in the loop
  return address;
}
}  // namespace

RingBuffer::RingBuffer(std::size_t capacity)
    : RingBuffer(std::unique_ptr<void, Unmap>(anonymous(kHeaderSize + std::max<std::size_t>(capacity, 1)),
                                              Unmap{kHeaderSize + std::max<std::size_t>(capacity, 1)}),
                 std::max<std::size_t>(capacity, 1)) {
  *header_ = Header{kMagic, capacity_, 0};
}

Result<UniqueFd> RingBuffer::create_memfd(std::size_t capacity, const std::string& name) {
  capacity = std::max<std::size_t>(capacity, 1);
  UniqueFd fd(::memfd_create(("vcon-ring:" + name).c_str(), MFD_CLOEXEC));
  if (!fd) return errno_error("create the ring of " + name);
  if (::ftruncate(fd.get(), static_cast<off_t>(kHeaderSize + capacity)) != 0) return errno_error("size the ring");
  Header header{kMagic, capacity, 0};
  if (::pwrite(fd.get(), &header, sizeof header, 0) != static_cast<ssize_t>(sizeof header)) {
    return errno_error("write the ring's header");
  }
  return fd;
}

Result<RingBuffer> RingBuffer::map(int memfd) {
  struct stat st;
  if (::fstat(memfd, &st) != 0) return errno_error("stat the ring");
  std::size_t length = static_cast<std::size_t>(st.st_size);
  if (length <= kHeaderSize) return make_error("the ring's memfd is too small");
  void* address = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
  if (address == MAP_FAILED) return errno_error("map the ring");
  std::unique_ptr<void, Unmap> mapping(address, Unmap{length});
  auto* header = static_cast<Header*>(address);
  if (header->magic != kMagic || header->capacity != length - kHeaderSize) {
    return make_error("the ring's memfd does not hold a ring");
  }
  return RingBuffer(std::move(mapping), length - kHeaderSize);
}

void RingBuffer::append(std::string_view bytes) {
  const std::size_t cap = capacity_;
  std::uint64_t end = header_->end;
  if (bytes.size() > cap) {  // only the tail can survive
    end += bytes.size() - cap;
    bytes.remove_prefix(bytes.size() - cap);
  }
  std::size_t pos = static_cast<std::size_t>(end % cap);
  std::size_t first = std::min(bytes.size(), cap - pos);
  std::memcpy(data_ + pos, bytes.data(), first);
  std::memcpy(data_, bytes.data() + first, bytes.size() - first);
  header_->end = end + bytes.size();
}

std::uint64_t RingBuffer::read(std::uint64_t offset, std::size_t max, std::string& out) const {
  const std::size_t cap = capacity_;
  std::uint64_t end = header_->end;
  offset = std::clamp(offset, begin_offset(), end);
  std::size_t count = static_cast<std::size_t>(std::min<std::uint64_t>(max, end - offset));
  std::size_t pos = static_cast<std::size_t>(offset % cap);
  std::size_t first = std::min(count, cap - pos);
  out.append(data_ + pos, first);
  out.append(data_, count - first);
  return offset;
}

}  // namespace vcon
