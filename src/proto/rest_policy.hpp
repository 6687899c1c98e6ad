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
// each time. Both are multiplied by the scale its share gives (share_of:
// one per ten clients attached), and a client alone does not rest (scale
// 0). Pure logic: RestTimer (rest_timer.hpp) keeps the timer and says what
// happened.
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
  // Rests are `scale` times as long; 0: the client does not rest.
  void set_scale(unsigned scale) { scale_ = scale; }
  bool rests() const { return scale_ > 0; }
  // The client fell behind at `now`: how long it rests.
  Clock::duration start(Clock::time_point now) {
    bool far_behind = rested_ && now - ended_ < kStreak && 2 * taken_ < offered_;
    Clock::duration least = kMin * scale_, most = kMax * scale_;
    length_ = far_behind ? std::clamp<Clock::duration>(2 * length_, least, most) : least;
    return length_;
  }
  void ended(Clock::time_point now) {
    rested_ = true;
    ended_ = now;
    offered_ = taken_ = 0;
  }

 private:
  unsigned scale_ = 1;
  bool rested_ = false;
  Clock::time_point ended_{};
  Clock::duration length_{};
  std::uint64_t offered_ = 0;  // console bytes queued for the client since its last rest
  std::uint64_t taken_ = 0;    // bytes written to it since then
};

// How far behind each of `clients` attached clients may fall before it
// drops output (`queue`: console bytes queued for it; `socket`: what its
// socket may hold on the way, 0: the system's default, ~200 KiB), and how
// long it then rests (`rest_scale`: RestPolicy's lengths times this; 0:
// it does not rest). A client that falls behind costs the machine what it
// is given (its client's work, its terminal's, whatever reads that
// terminal), so the clients share:
// - one budget, kShareBudget: up to four clients (of the usual 256 KiB
//   queue) get the full amount each, more split it, none gets less than
//   kShareFloor of each;
// - the time: a client alone does not rest, it skips to the newest
//   output it holds and goes on at its terminal's pace; with up to ten
//   each rests 25 to 200 ms, and one more time as long per ten more (up
//   to 250 ms to 2 s from 91 on), so that together they are fed about as
//   often as ten are.
// Measured (bench/peers): a client alone that rested was shown 2 % of a
// flood instead of 39 % (a terminal the monitor writes to; through a
// client, 60 % instead of 90 %), at no cost to the zone measurable; two
// that did not rest cost the zone 15 %, ten 50 to 70 %; a hundred given
// the full amount each took two to three times the flood through their
// ptys.
// Output that comes at a terminal's pace never comes near any of this.
struct Share {
  std::size_t queue;
  std::size_t socket;
  unsigned rest_scale;
  bool operator==(const Share&) const = default;
};
inline constexpr std::size_t kShareBudget = 2 * 1024 * 1024;
inline constexpr std::size_t kShareFloor = 16 * 1024;
// Rests never grow past 2 s: however many clients attach (1,024 at most),
// each is shown the newest output at least that often.
inline constexpr unsigned kMostRestScale = 10;
constexpr Share share_of(std::size_t clients, std::size_t full_queue) {
  auto rest_scale = static_cast<unsigned>(clients <= 1 ? 0 : std::min<std::size_t>((clients + 9) / 10, kMostRestScale));
  std::size_t part = kShareBudget / std::max<std::size_t>(clients, 1);  // queue and socket, half each
  if (part >= 2 * full_queue) return {full_queue, 0, rest_scale};
  std::size_t half = std::max(part / 2, kShareFloor);
  return {half, half, rest_scale};
}

}  // namespace vcon::proto
