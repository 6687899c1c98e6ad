// libFuzzer: the console client's escape parser. Without escapes, every
// byte passes; with them, whatever it sends is a subsequence of the input
// (it never invents bytes), and it always makes progress.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "console/escape.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  vcon::EscapeParser off(std::nullopt);
  if (off.feed(input).send != input) std::abort();
  vcon::EscapeParser parser(static_cast<char>(data[0]));
  std::string sent;
  std::string_view rest = input;
  for (int rounds = 0; !rest.empty(); ++rounds) {
    auto result = parser.feed(rest);
    sent += result.send;
    if (!result.action) break;
    if (result.rest.size() >= rest.size()) std::abort();  // no progress
    rest = result.rest;
    if (rounds > 1 << 20) std::abort();
  }
  std::size_t at = 0;  // `sent` must be a subsequence of the input
  for (char c : sent) {
    at = input.find(c, at);
    if (at == std::string_view::npos) std::abort();
    ++at;
  }
  return 0;
}
