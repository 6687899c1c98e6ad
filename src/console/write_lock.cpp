// WriteLock implementation.
#include "console/write_lock.hpp"

#include <algorithm>

namespace vcon {

WriteLock::Outcome WriteLock::request(ClientId client, bool force) {
  if (!holder_ || *holder_ == client) {
    holder_ = client;
    return {true, std::nullopt};
  }
  if (!force) return {false, std::nullopt};
  ClientId old = *holder_;
  displaced_.push_back(old);
  holder_ = client;
  return {true, old};
}

std::optional<WriteLock::ClientId> WriteLock::release(ClientId client) {
  displaced_.erase(std::remove(displaced_.begin(), displaced_.end(), client), displaced_.end());
  if (holder_ != client) return std::nullopt;
  holder_.reset();
  if (displaced_.empty()) return std::nullopt;
  holder_ = displaced_.back();
  displaced_.pop_back();
  return holder_;
}

}  // namespace vcon
