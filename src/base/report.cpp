// report() implementation.
#include "base/report.hpp"

#include <fmt/chrono.h>
#include <fmt/core.h>

#include <cstdio>
#include <ctime>

namespace vcon {

void report(const std::string& line) {
  fmt::print(stderr, "{:%FT%T}Z {}\n", fmt::gmtime(std::time(nullptr)), line);
  std::fflush(stderr);
}

}  // namespace vcon
