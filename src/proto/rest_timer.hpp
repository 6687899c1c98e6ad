// RestTimer: one client's rests on the monitor's loop, for both kinds of
// client that can fall behind: a socket client (FrameConnection) and a
// terminal the monitor writes to (TerminalWriter). RestPolicy says how
// long; one timer keeps it. The owner says when its client fell behind
// (start), what was offered to it and what it took, and the scale its share
// gives; `over` runs when a rest has run its length, and the owner writes
// again.
//
// Destroyed with its owner, it makes a handler already on its way do
// nothing; `over` runs from a copy, so the owner may go away inside it.
#pragma once

#include <asio.hpp>
#include <functional>
#include <memory>
#include <optional>

#include "proto/rest_policy.hpp"

namespace vcon::proto {

class RestTimer {
 public:
  RestTimer(asio::any_io_executor executor, std::function<void()> over)
      : executor_(std::move(executor)), over_(std::move(over)) {}
  ~RestTimer() { *alive_ = false; }
  RestTimer(const RestTimer&) = delete;
  RestTimer& operator=(const RestTimer&) = delete;

  bool resting() const { return resting_; }
  // Whether the client rests when it falls behind (not alone: set_scale).
  bool rests() const { return policy_.rests(); }
  // Console bytes queued for the client (not counted while it rests), and
  // bytes written to it.
  void offered(std::size_t bytes) {
    if (!resting_) policy_.offered(bytes);
  }
  void taken(std::size_t bytes) { policy_.taken(bytes); }

  // The client fell behind: a rest begins.
  void start();
  // Ends a rest before its time, without `over`. False if none was on.
  bool end();
  // The scale of the client's share (share_of). True if that ended a rest
  // (the client is alone now: it does not rest); `over` does not run.
  bool set_scale(unsigned scale);

 private:
  asio::any_io_executor executor_;
  std::function<void()> over_;
  std::optional<asio::steady_timer> timer_;  // made at the first rest: most clients never rest
  RestPolicy policy_;
  bool resting_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vcon::proto
