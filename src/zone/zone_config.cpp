// Zone definition (TOML) parsing and serialising.
#include "zone/zone_config.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <toml++/toml.h>

#include "base/names.hpp"

namespace vcon {

Result<NetMode> parse_net_mode(const std::string& text) {
  if (text == "none") return NetMode::None;
  if (text == "host") return NetMode::Host;
  return make_error("unknown network mode '" + text + "' (use none or host)");
}

const char* net_mode_name(NetMode mode) { return mode == NetMode::Host ? "host" : "none"; }

Result<int> parse_signal(const std::string& text) {
  std::string name = text;
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  char* end = nullptr;
  long number = std::strtol(name.c_str(), &end, 10);
  if (!name.empty() && *end == '\0' && number > 0 && number < NSIG) return static_cast<int>(number);
  if (name.rfind("RTMIN", 0) == 0) {
    long offset = name.size() > 5 ? std::strtol(name.c_str() + 5, &end, 10) : 0;
    if ((name.size() == 5 || *end == '\0') && SIGRTMIN + offset <= SIGRTMAX && offset >= 0) {
      return static_cast<int>(SIGRTMIN + offset);
    }
  }
  for (int sig = 1; sig < SIGRTMIN; ++sig) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev && name == abbrev) return sig;
  }
  return make_error("unknown signal '" + text + "' (use a name such as SIGUSR2 or a number)");
}

std::string signal_name(int signal) {
  if (signal >= SIGRTMIN && signal <= SIGRTMAX) return "SIGRTMIN+" + std::to_string(signal - SIGRTMIN);
  const char* abbrev = sigabbrev_np(signal);
  return abbrev ? std::string("SIG") + abbrev : std::to_string(signal);
}

std::string ZoneConfig::cgroup_name() const {
  char base[16];
  std::snprintf(base, sizeof base, "%08x", ids.base);
  return "vcon/" + name + "-" + base;
}

std::string serialize_zone_config(const ZoneConfig& config) {
  toml::array init;
  for (const auto& arg : config.init) init.push_back(arg);
  toml::table table{
      {"name", config.name},
      {"rootfs", config.rootfs},
      {"rootfs_owned", config.rootfs_owned},
      {"hostname", config.hostname},
      {"net", net_mode_name(config.net)},
      {"init", init},
      {"ring_size", static_cast<int64_t>(config.ring_size)},
      {"privileged", config.privileged},
  };
  if (config.ids.count) {
    table.insert("id_base", static_cast<int64_t>(config.ids.base));
    table.insert("id_count", static_cast<int64_t>(config.ids.count));
  }
  if (config.limits.memory_max) table.insert("memory_max", static_cast<int64_t>(*config.limits.memory_max));
  if (config.limits.pids_max) table.insert("pids_max", static_cast<int64_t>(*config.limits.pids_max));
  if (config.halt_signal) table.insert("halt_signal", signal_name(config.halt_signal));
  if (config.reboot_signal) table.insert("reboot_signal", signal_name(config.reboot_signal));
  if (!config.uuid.empty()) table.insert("uuid", config.uuid);
  std::ostringstream out;
  out << "# vcon zone definition; edit with care, `vcon boot` checks it.\n" << table << "\n";
  return out.str();
}

namespace {

Error config_error(const std::string& source, const std::string& what) {
  return make_error("zone definition " + source + " is invalid: " + what);
}

}  // namespace

Result<ZoneConfig> parse_zone_config(const std::string& text, const std::string& source) {
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& error) {
    return config_error(source, "line " + std::to_string(error.source().begin.line) + ": " +
                                    std::string(error.description()));
  }
  static const char* const kKeys[] = {"name",       "rootfs",        "rootfs_owned", "hostname", "net",
                                      "init",       "ring_size",     "halt_signal",  "reboot_signal",
                                      "privileged", "id_base",       "id_count",     "memory_max", "pids_max",
                                      "uuid"};
  for (const auto& [key, value] : table) {
    if (std::find(std::begin(kKeys), std::end(kKeys), key.str()) == std::end(kKeys)) {
      return config_error(source, "line " + std::to_string(value.source().begin.line) + ": unknown key '" +
                                      std::string(key.str()) + "' (a typo? the keys are name, rootfs, hostname, net, "
                                      "init, ring_size, halt_signal, reboot_signal, privileged, id_base, id_count, "
                                      "memory_max, pids_max, uuid)");
    }
  }
  ZoneConfig config;
  auto name = table["name"].value<std::string>();
  auto rootfs = table["rootfs"].value<std::string>();
  if (!name) return config_error(source, "'name' is missing or not a string");
  if (!rootfs || rootfs->empty() || (*rootfs)[0] != '/') {
    return config_error(source, "'rootfs' must be an absolute path");
  }
  auto valid = validate_zone_name(*name);
  if (!valid) return config_error(source, valid.error().message());
  config.name = *name;
  config.rootfs = *rootfs;
  config.rootfs_owned = table["rootfs_owned"].value_or(false);
  config.hostname = table["hostname"].value_or(config.name);
  if (auto valid = validate_hostname(config.hostname); !valid) return config_error(source, valid.error().message());
  auto net = parse_net_mode(table["net"].value_or(std::string("none")));
  if (!net) return config_error(source, net.error().message());
  config.net = net.value();
  if (auto* init = table["init"].as_array()) {
    config.init.clear();
    for (auto& arg : *init) {
      auto value = arg.value<std::string>();
      if (!value) return config_error(source, "'init' must be a list of strings");
      config.init.push_back(*value);
    }
    if (config.init.empty() || config.init[0].empty() || config.init[0][0] != '/') {
      return config_error(source, "'init' must start with an absolute path");
    }
  } else if (table.contains("init")) {
    return config_error(source, "'init' must be a list of strings");
  }
  auto ring = table["ring_size"].value_or(int64_t{1 << 20});
  if (ring < 4096 || ring > (int64_t{1} << 30)) return config_error(source, "'ring_size' must be 4096 .. 1 GiB");
  config.ring_size = static_cast<std::size_t>(ring);
  for (auto [key, field] : {std::pair{"halt_signal", &config.halt_signal}, {"reboot_signal", &config.reboot_signal}}) {
    if (auto text = table[key].value<std::string>()) {
      auto sig = parse_signal(*text);
      if (!sig) return config_error(source, std::string(key) + ": " + sig.error().message());
      *field = sig.value();
    }
  }
  config.privileged = table["privileged"].value_or(false);
  auto base = table["id_base"].value<int64_t>();
  auto count = table["id_count"].value<int64_t>();
  if (base || count) {
    if (!base || !count || *base < 1 || *count < 1 || *base + *count > int64_t{0xffffffff}) {
      return config_error(source, "'id_base' and 'id_count' must both be given, and inside 1 .. 4294967294");
    }
    config.ids = {static_cast<std::uint32_t>(*base), static_cast<std::uint32_t>(*count)};
  }
  if (!config.privileged && config.ids.count && config.ids.count < kZoneIdCount) {
    return config_error(source, "'id_count' must be at least " + std::to_string(kZoneIdCount));
  }
  for (auto [key, field] : {std::pair{"memory_max", &config.limits.memory_max}, {"pids_max", &config.limits.pids_max}}) {
    if (!table.contains(key)) continue;
    auto value = table[key].value<int64_t>();
    if (!value || *value < 1) return config_error(source, std::string("'") + key + "' must be a positive number");
    *field = static_cast<std::uint64_t>(*value);
  }
  config.uuid = table["uuid"].value_or(std::string());
  if (!config.uuid.empty() && !is_uuid(config.uuid)) {
    return config_error(source, "'uuid' must be a UUID, as 3f2b8a9c-1d4e-4f60-9a7b-0c1d2e3f4a5b");
  }
  return config;
}

bool is_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    char c = text[i];
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace vcon
