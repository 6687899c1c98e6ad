// libFuzzer: the keeper's messages and a monitor's handoff text. Whatever
// decodes must encode back to something that decodes the same.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "monitor/keeper_channel.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  if (auto message = vcon::keeper::decode(input)) {
    auto again = vcon::keeper::decode(vcon::keeper::encode(*message));
    if (!again || again->index() != message->index()) std::abort();
  }
  if (auto handoff = vcon::keeper::parse_handoff(input)) {
    auto again = vcon::keeper::parse_handoff(vcon::keeper::format_handoff(*handoff));
    if (!again || again->keeper != handoff->keeper || again->init_pid != handoff->init_pid) std::abort();
  }
  return 0;
}
