// RateGate implementation.
#include "console/rate_gate.hpp"

#include <fmt/core.h>

namespace vcon {

RateGate::RateGate(asio::any_io_executor executor, LogCount log_count, unsigned burst, Duration every)
    : executor_(std::move(executor)),
      log_count_(std::move(log_count)),
      burst_(burst),
      every_(every),
      throttle_("", burst, every) {}

namespace {
std::string tenths(RateGate::Duration d) {  // rounded up: a wait of 40 ms is not "0.0 s"
  auto ds = std::chrono::ceil<std::chrono::duration<long long, std::deci>>(d).count();
  return fmt::format("{}.{} s", ds / 10, ds % 10);
}
}  // namespace

std::string RateGate::why(Duration wait) const {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(every_).count();
  std::string every = ms % 1000 == 0 ? fmt::format("one every {} s", ms / 1000) : fmt::format("{} a second", 1000 / ms);
  return fmt::format("{} in a row, then {}; the next may come in {}", burst_, every, tenths(wait));
}

RateGate::Duration RateGate::admit(uid_t uid, const std::string& user) {
  if (uid == 0) return Duration::zero();
  auto now = std::chrono::steady_clock::now();
  Duration wait = throttle_.admit(uid, now);
  if (wait == Duration::zero()) {
    if (auto refused = throttle_.take_count(uid); refused && log_count_) log_count_(user, uid, refused);
    return wait;
  }
  if (!log_count_) return wait;  // nothing to log: only refused
  auto& flush = flushes_[uid];
  if (!flush) {
    flush = std::make_unique<asio::steady_timer>(executor_, now + wait);
    flush->async_wait([this, uid, user](std::error_code ec) {
      if (ec) return;
      flushes_.erase(uid);  // this handler was moved out of the timer first
      // Not in the user's turn: the count is one line per burst refused.
      if (auto refused = throttle_.take_count(uid); refused && log_count_) log_count_(user, uid, refused);
    });
  }
  return wait;
}

}  // namespace vcon
