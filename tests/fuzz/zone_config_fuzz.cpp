// libFuzzer: zone.toml. A definition that parses must survive a round trip.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "zone/zone_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  auto config = vcon::parse_zone_config(input, "zone.toml");
  if (!config) return 0;
  auto again = vcon::parse_zone_config(vcon::serialize_zone_config(config.value()), "zone.toml");
  if (!again || again->name != config->name || again->rootfs != config->rootfs || again->init != config->init ||
      again->ids.base != config->ids.base || again->privileged != config->privileged) {
    std::abort();
  }
  return 0;
}
