// Wall-clock time as seconds since the epoch: what state files, `vcon ls`
// and `vcon who` exchange (JSON numbers).
#pragma once

#include <chrono>

namespace vcon {

inline double wall_clock_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace vcon
