// NAMEstat text.
#include "fs/stat_text.hpp"

#include <fmt/chrono.h>
#include <fmt/core.h>

#include "proto/messages.hpp"

namespace vcon {

namespace {
using proto::field_or;

std::string since(double seconds) {
  return fmt::format("{:%FT%TZ}", fmt::gmtime(static_cast<std::time_t>(seconds)));
}
}  // namespace

std::string stat_text(const std::string& console, const std::string& kind, const nlohmann::json& status,
                      const nlohmann::json& clients, std::size_t unlisted) {
  std::string out = fmt::format("console: {}\n", console);
  out += fmt::format("kind: {}\n", kind);
  if (status.is_null()) return out + "state: down (no monitor runs)\n";
  out += fmt::format("state: {}\n", field_or<std::string>(status, "state", "?"));
  out += fmt::format("monitor_pid: {}\n", field_or<long>(status, "monitor_pid", 0));
  std::string speed = field_or<std::string>(status, "speed", "");
  out += fmt::format("speed: {}\n", speed.empty() ? "-" : speed);
  out += fmt::format("bytes_out: {}\n", field_or<unsigned long long>(status, "console_bytes", 0));
  out += fmt::format("bytes_in: {}\n", field_or<unsigned long long>(status, "input_bytes", 0));
  out += fmt::format("dropped: {}\n", field_or<unsigned long long>(status, "dropped_bytes", 0));
  std::string writer = "-";
  std::string lines;
  std::size_t count = 0;
  if (clients.is_array()) {
    for (const auto& client : clients) {
      ++count;
      std::string user = field_or<std::string>(client, "user", "?");
      long pid = field_or<long>(client, "pid", 0);
      std::string mode = field_or<std::string>(client, "mode", "?");
      if (mode == "rw") writer = fmt::format("{} (PID {})", user, pid);
      lines += fmt::format("client: {} pid={} mode={} via={} since={} dropped={}\n", user, pid, mode,
                           field_or<std::string>(client, "via", "socket"), since(field_or<double>(client, "since", 0)),
                           field_or<unsigned long long>(client, "dropped_bytes", 0));
    }
  }
  out += fmt::format("writer: {}\n", writer);
  out += fmt::format("clients: {}\n", count + unlisted);
  if (unlisted > 0) {
    lines += fmt::format("unlisted: {} (the monitor's answer holds at most {} KiB)\n", unlisted,
                         proto::kWhoBytes / 1024);
  }
  return out + lines;
}

}  // namespace vcon
