// RestPolicy: how long a client that fell behind rests (docs/console.md, "A
// client that falls behind"). Its owner stops writing console output to it
// for that long and keeps only the newest output for it meanwhile, so a
// terminal that cannot keep up with a flood takes a little of the machine,
// not all it can get (what it takes, the zone does not get).
//
// A first rest is kMin. A client that falls behind again within kStreak of
// its last rest's end, having taken less than half of the output offered
// to it since, rests twice as long as last time, up to kMax; one that
// nearly keeps up (a terminal a little slower than the flood) rests kMin
// each time. Pure logic: the owner keeps the timer and says what happened.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace vcon::proto {

class RestPolicy {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kMin{25};
  static constexpr std::chrono::milliseconds kMax{200};
  static constexpr std::chrono::milliseconds kStreak{1000};
  // Newest console bytes kept for a resting client (at least the newest chunk).
  static constexpr std::size_t kKeep = 16 * 1024;
  // What a resting client keeps, for one whose queue holds at most `limit`.
  static std::size_t keep(std::size_t limit) { return std::min(limit, kKeep); }

  void offered(std::size_t bytes) { offered_ += bytes; }
  void taken(std::size_t bytes) { taken_ += bytes; }
  // The client fell behind at `now`: how long it rests.
  Clock::duration start(Clock::time_point now) {
    bool far_behind = rested_ && now - ended_ < kStreak && 2 * taken_ < offered_;
    length_ = far_behind ? std::min<Clock::duration>(2 * length_, kMax) : Clock::duration(kMin);
    return length_;
  }
  void ended(Clock::time_point now) {
    rested_ = true;
    ended_ = now;
    offered_ = taken_ = 0;
  }

 private:
  bool rested_ = false;
  Clock::time_point ended_{};
  Clock::duration length_{};
  std::uint64_t offered_ = 0;  // console bytes queued for the client since its last rest
  std::uint64_t taken_ = 0;    // bytes written to it since then
};

// How far behind each of `clients` attached clients may fall before it
// rests: console bytes queued for it (`queue`), and what its socket may
// hold on the way (`socket`; 0: the system's default, ~200 KiB). They
// share one budget, kShareBudget: a client that falls behind costs the
// machine what it is given (its client's work, its terminal's, whatever
// reads that terminal), and a hundred of them given the full amount each
// took the CPU the zone needed (docs/console.md, "A client that falls
// behind"). Up to four clients (of the usual 256 KiB queue) get the
// full amount each; none gets less than kShareFloor of each. Output that
// comes at a terminal's pace never comes near either.
struct Share {
  std::size_t queue;
  std::size_t socket;
  bool operator==(const Share&) const = default;
};
inline constexpr std::size_t kShareBudget = 2 * 1024 * 1024;
inline constexpr std::size_t kShareFloor = 16 * 1024;
constexpr Share share_of(std::size_t clients, std::size_t full_queue) {
  std::size_t part = kShareBudget / std::max<std::size_t>(clients, 1);  // queue and socket, half each
  if (part >= 2 * full_queue) return {full_queue, 0};
  std::size_t half = std::max(part / 2, kShareFloor);
  return {half, half};
}

}  // namespace vcon::proto
