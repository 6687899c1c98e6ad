// libFuzzer: every decoder of what clients send a monitor. None may throw
// or crash on any input.
#include <cstdint>
#include <string_view>

#include "console/ctl_command.hpp"
#include "proto/messages.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)vcon::proto::parse_hello(input);
  (void)vcon::proto::parse_request(input);
  (void)vcon::proto::parse_window_size(input);
  (void)vcon::parse_ctl_command(std::string(input));
  return 0;
}
