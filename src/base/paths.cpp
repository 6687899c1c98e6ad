// Path resolution from flags, environment and defaults.
#include "base/paths.hpp"

#include <cstdlib>

namespace vcon {

namespace {
void fill(std::string& field, const char* env, const char* fallback) {
  if (!field.empty()) return;
  const char* value = std::getenv(env);
  field = (value && *value) ? value : fallback;
  while (field.size() > 1 && field.back() == '/') field.pop_back();
}
}  // namespace

void Paths::resolve_from_environment() {
  fill(state_dir, "VCON_STATE_DIR", "/var/lib/vcon");
  fill(run_dir, "VCON_RUN_DIR", "/run/vcon");
  fill(log_dir, "VCON_LOG_DIR", "/var/log/vcon");
  fill(consoledb, "VCON_CONSOLEDB", "/etc/vcon/consoledb");
  fill(lock_dir, "VCON_LOCK_DIR", "/var/lock");
  fill(id_registry, "VCON_ID_REGISTRY", "/etc/vcon/subid");
  fill(cache_dir, "VCON_CACHE_DIR", "/var/cache/vcon");
}

}  // namespace vcon
