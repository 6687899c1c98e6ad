// Keeper channel messages, both ways.
#include "monitor/keeper_channel.hpp"

#include <fmt/core.h>

#include <sstream>

namespace vcon::keeper {

namespace {
template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;
}  // namespace

std::string encode(const Message& message) {
  return std::visit(Overloaded{
                        [](const Console& c) { return fmt::format("console {} {:.6f} {}", c.init_pid, c.booted_at, c.boots); },
                        [](const Down&) { return std::string("down"); },
                        [](const Upgrade& u) { return "upgrade " + u.binary; },
                        [](const Release&) { return std::string("release"); },
                        [](const Exited& e) { return fmt::format("exited {} {}", e.pid, e.status); },
                    },
                    message);
}

std::optional<Message> decode(const std::string& text) {
  std::istringstream in(text);
  std::string word;
  in >> word;
  if (word == "console") {
    Console c;
    if (in >> c.init_pid >> c.booted_at >> c.boots && c.init_pid > 0) return c;
  } else if (word == "down") {
    return Down{};
  } else if (word == "upgrade") {
    Upgrade u;
    std::getline(in >> std::ws, u.binary);
    if (!u.binary.empty() && u.binary[0] == '/') return u;
  } else if (word == "release") {
    return Release{};
  } else if (word == "exited") {
    Exited e;
    if (in >> e.pid >> e.status && e.pid > 0) return e;
  }
  return std::nullopt;
}

std::string format_handoff(const Handoff& h) {
  std::string text = fmt::format("keeper={} lock={} ring={} master={} slave={} init={} booted={:.6f} boots={}", h.keeper,
                                 h.lock, h.ring, h.master, h.slave, h.init_pid, h.booted_at, h.boots);
  if (h.exited) text += fmt::format(" exited={}", *h.exited);
  return text;
}

std::optional<Handoff> parse_handoff(const std::string& text) {
  Handoff h;
  std::istringstream in(text);
  for (std::string field; in >> field;) {
    auto equals = field.find('=');
    if (equals == std::string::npos) return std::nullopt;
    std::string key = field.substr(0, equals);
    std::istringstream value(field.substr(equals + 1));
    bool ok = true;
    if (key == "keeper") ok = static_cast<bool>(value >> h.keeper);
    else if (key == "lock") ok = static_cast<bool>(value >> h.lock);
    else if (key == "ring") ok = static_cast<bool>(value >> h.ring);
    else if (key == "master") ok = static_cast<bool>(value >> h.master);
    else if (key == "slave") ok = static_cast<bool>(value >> h.slave);
    else if (key == "init") ok = static_cast<bool>(value >> h.init_pid);
    else if (key == "booted") ok = static_cast<bool>(value >> h.booted_at);
    else if (key == "boots") ok = static_cast<bool>(value >> h.boots);
    else if (key == "exited") ok = static_cast<bool>(value >> h.exited.emplace());
    if (!ok) return std::nullopt;
  }
  if (h.keeper < 0 || h.lock < 0 || h.ring < 0) return std::nullopt;
  if ((h.master >= 0) != (h.init_pid > 0) || (h.master >= 0) != (h.slave >= 0)) return std::nullopt;
  return h;
}

}  // namespace vcon::keeper
