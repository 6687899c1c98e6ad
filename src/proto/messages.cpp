// Protocol message decoding.
#include "proto/messages.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <iterator>
#include <utility>

#include "proto/frame.hpp"

namespace vcon::proto {

namespace {

using json = nlohmann::json;

Result<json> parse_object(std::string_view payload, const char* what) {
  json object = json::parse(payload, nullptr, false);
  if (!object.is_object()) return make_error(std::string("malformed ") + what + ": expected a JSON object");
  return object;
}

// An optional unsigned field within [0, max]; `fallback` when absent.
Result<std::uint64_t> unsigned_field(const json& object, const char* key, std::uint64_t fallback, std::uint64_t max) {
  auto found = object.find(key);
  if (found == object.end()) return fallback;
  // JSON's non-negative integers are number_unsigned; anything else is wrong here.
  if (!found->is_number_unsigned() || found->get<std::uint64_t>() > max) {
    return make_error(std::string("'") + key + "' must be a whole number from 0 to " + std::to_string(max));
  }
  return found->get<std::uint64_t>();
}

Result<bool> bool_field(const json& object, const char* key) {
  auto found = object.find(key);
  if (found == object.end()) return false;
  if (!found->is_boolean()) return make_error(std::string("'") + key + "' must be true or false");
  return found->get<bool>();
}

Result<std::optional<WindowSize>> window_fields(const json& object) {
  if (!object.contains("rows") && !object.contains("cols")) return std::optional<WindowSize>();
  auto rows = unsigned_field(object, "rows", 0, 65535);
  if (!rows) return rows.error();
  auto cols = unsigned_field(object, "cols", 0, 65535);
  if (!cols) return cols.error();
  if (rows.value() == 0 || cols.value() == 0) return make_error("'rows' and 'cols' must both be given, from 1 to 65535");
  return std::optional<WindowSize>(WindowSize{static_cast<unsigned short>(rows.value()),
                                              static_cast<unsigned short>(cols.value())});
}

Result<std::optional<OnBehalf>> on_behalf_field(const json& object) {
  auto found = object.find("on_behalf");
  if (found == object.end()) return std::optional<OnBehalf>();
  auto user = found->is_object() ? found->find("user") : found->end();
  auto uid = found->is_object() ? found->find("uid") : found->end();
  auto pid = found->is_object() ? found->find("pid") : found->end();
  if (!found->is_object() || user == found->end() || !user->is_string() || user->get<std::string>().empty() ||
      uid == found->end() || !uid->is_number_unsigned() || uid->get<std::uint64_t>() > UINT32_MAX ||
      pid == found->end() || !pid->is_number_integer()) {
    return make_error("'on_behalf' must be {\"user\": NAME, \"uid\": UID, \"pid\": PID}");
  }
  return std::optional<OnBehalf>(
      OnBehalf{user->get<std::string>(), static_cast<std::uint32_t>(uid->get<std::uint64_t>()), pid->get<std::int64_t>()});
}

}  // namespace

Result<Hello> parse_hello(std::string_view payload) {
  auto object = parse_object(payload, "hello");
  if (!object) return object.error();
  const json& hello = object.value();
  auto version = unsigned_field(hello, "version", 0, UINT32_MAX);
  if (!version) return version.error();
  if (version.value() != kVersion) {
    return make_error("protocol version " + std::to_string(version.value()) + " is not supported (monitor speaks " +
                      std::to_string(kVersion) + ")");
  }
  Hello parsed;
  auto mode = hello.find("mode");
  std::string name = mode != hello.end() && mode->is_string() ? mode->get<std::string>() : "";
  if (name == "control") parsed.mode = Mode::Control;
  else if (name == "rw") parsed.mode = Mode::ReadWrite;
  else if (name == "ro") parsed.mode = Mode::ReadOnly;
  else return make_error("mode '" + name + "' is not supported by this monitor (use control, rw or ro)");
  auto force = bool_field(hello, "force");
  if (!force) return force.error();
  parsed.force = force.value();
  auto busy = hello.find("busy");
  if (busy != hello.end()) {
    if (!busy->is_string() || (*busy != "watch" && *busy != "refuse")) {
      return make_error("'busy' must be \"refuse\" or \"watch\"");
    }
    parsed.watch_if_busy = *busy == "watch";
  }
  auto on_behalf = on_behalf_field(hello);
  if (!on_behalf) return on_behalf.error();
  parsed.on_behalf = on_behalf.value();
  auto replay = unsigned_field(hello, "replay", 0, UINT64_MAX);
  if (!replay) return replay.error();
  parsed.replay = replay.value();
  if (hello.contains("from")) {
    auto from = unsigned_field(hello, "from", 0, UINT64_MAX);
    if (!from) return from.error();
    parsed.from = from.value();
  }
  auto window = window_fields(hello);
  if (!window) return window.error();
  parsed.window = window.value();
  return parsed;
}

Result<Request> parse_request(std::string_view payload) {
  auto object = parse_object(payload, "request");
  if (!object) return object.error();
  const json& request = object.value();
  auto op = request.find("op");
  if (op == request.end() || !op->is_string()) return make_error("malformed request: expected \"op\"");
  Request parsed;
  std::string name = op->get<std::string>();
  static constexpr std::pair<std::string_view, Op> kOps[] = {
      {"status", Op::Status}, {"who", Op::Who},         {"halt", Op::Halt},       {"reboot", Op::Reboot},
      {"ctl", Op::Ctl},       {"upgrade", Op::Upgrade}, {"log", Op::Log},         {"take", Op::Take},
      {"release", Op::Release}, {"direct", Op::Direct}, {"resume", Op::Resume},   {"print", Op::Print},
      {"screen", Op::Screen}};
  auto known = std::find_if(std::begin(kOps), std::end(kOps), [&](const auto& op) { return op.first == name; });
  if (known == std::end(kOps)) return make_error("unknown request '" + name + "'");
  parsed.op = known->second;
  if (parsed.op == Op::Upgrade) {
    auto binary = request.find("binary");
    if (binary == request.end() || !binary->is_string() || binary->get<std::string>().empty() ||
        binary->get<std::string>()[0] != '/') {
      return make_error("upgrade needs \"binary\": an absolute path");
    }
    parsed.command = binary->get<std::string>();
  }
  if (parsed.op == Op::Ctl) {
    auto command = request.find("command");
    if (command == request.end() || !command->is_string()) return make_error("ctl needs \"command\": a string");
    parsed.command = command->get<std::string>();
  }
  if (parsed.op == Op::Direct || parsed.op == Op::Print) {
    const char* key = parsed.op == Op::Direct ? "token" : "text";
    auto value = request.find(key);
    if (value == request.end() || !value->is_string()) {
      return make_error(fmt::format("{} needs \"{}\": a string", name, key));
    }
    parsed.command = value->get<std::string>();
    if (parsed.op == Op::Direct && (parsed.command.empty() || parsed.command.size() > 16)) {
      return make_error("direct: \"token\" must have 1 to 16 characters");
    }
  }
  if (parsed.op == Op::Direct) {
    auto input = bool_field(request, "input");
    if (!input) return input.error();
    parsed.input = input.value();
    if (request.contains("escape")) {
      auto escape = unsigned_field(request, "escape", 0, 255);
      if (!escape) return escape.error();
      parsed.escape = static_cast<char>(escape.value());
    }
  }
  auto rows = unsigned_field(request, "rows", 24, 1000);
  if (!rows) return rows.error();
  parsed.rows = static_cast<unsigned>(rows.value());
  auto on_behalf = on_behalf_field(request);
  if (!on_behalf) return on_behalf.error();
  parsed.on_behalf = on_behalf.value();
  auto audit = bool_field(request, "audit");
  if (!audit) return audit.error();
  parsed.audit = audit.value();
  auto grace = unsigned_field(request, "grace", 10, 24 * 3600);
  if (!grace) return grace.error();
  parsed.grace = static_cast<unsigned>(grace.value());
  return parsed;
}

Result<WindowSize> parse_window_size(std::string_view payload) {
  auto object = parse_object(payload, "resize");
  if (!object) return object.error();
  auto window = window_fields(object.value());
  if (!window) return window.error();
  if (!window.value()) return make_error("malformed resize: expected 'rows' and 'cols'");
  return *window.value();
}

}  // namespace vcon::proto
