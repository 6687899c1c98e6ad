// Notice texts.
#include "console/notice_text.hpp"

#include <fmt/core.h>

namespace vcon {

namespace {
std::string names(const nlohmann::json& list) {
  std::string out;
  if (!list.is_array()) return out;
  for (const auto& name : list) {
    if (!out.empty()) out += ", ";
    out += name.is_string() ? name.get<std::string>() : name.dump();
  }
  return out;
}

std::string who(const nlohmann::json& notice, const char* user_key, const char* pid_key) {
  return fmt::format("{} (PID {})", notice.value(user_key, "?"), notice.value(pid_key, 0));
}
}  // namespace

std::string notice_text(const nlohmann::json& notice) {
  if (!notice.is_object()) return {};
  std::string type = notice.value("type", "");
  if (type == "join") return "[+" + names(notice["clients"]) + "]";
  if (type == "leave") return "[-" + names(notice["clients"]) + "]";
  if (type == "forced") return "[forced to read-only by " + who(notice, "by_user", "by_pid") + "]";
  if (type == "took") return "[took write access from " + who(notice, "from_user", "from_pid") + "]";
  if (type == "write") return "[write access is yours again]";
  if (type == "dropped") {
    return fmt::format("[{} bytes of output dropped: this client fell behind]", notice.value("bytes", 0ULL));
  }
  if (type == "state") return fmt::format("[zone {} {}]", notice.value("zone", "?"), notice.value("state", "?"));
  if (type == "info") return "[" + notice.value("text", "") + "]";
  return {};
}

}  // namespace vcon
