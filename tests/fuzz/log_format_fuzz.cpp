// libFuzzer: the log format, both ways. Console bytes written in chunks, with
// events between them, must read back (--raw) as exactly those bytes; and
// make_visible must leave no control character.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "console/log_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  vcon::LogLineWriter writer;
  std::string log, expected;
  auto now = std::chrono::system_clock::time_point{};
  // A 0xff byte ends a chunk; 0xfe adds an event there.
  std::size_t start = 0;
  for (std::size_t i = 0; i <= input.size(); ++i) {
    if (i < input.size() && static_cast<unsigned char>(input[i]) < 0xfe) continue;
    std::string_view chunk = input.substr(start, i - start);
    log += writer.console(chunk, now);
    expected += chunk;
    if (i < input.size() && static_cast<unsigned char>(input[i]) == 0xfe) log += writer.event("an event", now);
    start = i + 1;
  }
  vcon::LogLineReader reader;
  std::string raw;
  for (std::size_t at = 0; at < log.size();) {
    std::size_t nl = log.find('\n', at);
    std::size_t end = nl == std::string::npos ? log.size() : nl + 1;
    raw += reader.raw(std::string_view(log).substr(at, end - at));
    at = end;
  }
  raw += reader.finish();
  if (raw != expected) std::abort();
  for (unsigned char c : vcon::make_visible(input)) {
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) std::abort();
  }
  return 0;
}
