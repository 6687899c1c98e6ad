// Notice texts.
#include "base/json_text.hpp"
#include "console/notice_text.hpp"

#include <fmt/core.h>

#include "proto/messages.hpp"

namespace vcon {

namespace {
std::string names(const nlohmann::json& list) {
  std::string out;
  if (!list.is_array()) return out;
  for (const auto& name : list) {
    if (!out.empty()) out += ", ";
    out += name.is_string() ? name.get<std::string>() : json_text(name);
  }
  return out;
}

std::string text(const nlohmann::json& notice, const char* key) {
  return proto::field_or<std::string>(notice, key, "?");
}

std::string who(const nlohmann::json& notice, const char* user_key, const char* pid_key) {
  return fmt::format("{} (PID {})", text(notice, user_key), proto::field_or<long>(notice, pid_key, 0));
}
}  // namespace

std::string notice_text(const nlohmann::json& notice) {
  if (!notice.is_object()) return {};
  std::string type = proto::field_or<std::string>(notice, "type", "");
  if (type == "join" || type == "leave") {
    auto clients = notice.find("clients");
    std::string list = clients != notice.end() ? names(*clients) : "";
    if (auto more = proto::field_or<unsigned long long>(notice, "more", 0); more > 0) {
      list += fmt::format(" and {} more", more);
    }
    return std::string(type == "join" ? "[+" : "[-") + list + "]";
  }
  if (type == "forced") return "[forced to read-only by " + who(notice, "by_user", "by_pid") + "]";
  if (type == "took") return "[took write access from " + who(notice, "from_user", "from_pid") + "]";
  if (type == "write") return "[write access is yours again]";
  if (type == "dropped") {
    return fmt::format("[{} bytes of output dropped: this client fell behind]",
                       proto::field_or<unsigned long long>(notice, "bytes", 0));
  }
  if (type == "state") return fmt::format("[zone {} {}]", text(notice, "zone"), text(notice, "state"));
  if (type == "info") return "[" + text(notice, "text") + "]";
  return {};
}

std::string vcon_line(const std::string& text, const std::string& token, bool terminal) {
  if (text.empty()) return {};
  std::string marked = text.size() > 1 && text[0] == '[' ? "[" + token + " " + text.substr(1) : text;
  return terminal ? "\r\n\x1b[1;7m" + marked + "\x1b[0m\r\n" : "\n" + marked + "\n";
}

}  // namespace vcon
