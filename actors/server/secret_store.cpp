#include "actors/server/secret_store.hpp"

#include <optional>
#include <string_view>
#include <utility>

#include "domain/text.hpp"
#include "persistence/keys.hpp"

namespace pikoci::server {

namespace {

using domain::errc;
using domain::quote;

constexpr std::size_t max_value_bytes = 64 * 1024;

// "" is the team scope; a pipeline's is its name (pipeline names are never empty)
std::string key_of(const std::string& scope, const std::string& name) {
  return persistence::keys::secret(scope, name);
}

std::string context_of(const std::string& scope, const std::string& name) {
  return (scope.empty() ? "team\n" : "pipeline\n" + scope + "\n") + name;
}

/// A sealed value of 64 KiB is about 87 KiB of text: anything much longer is no record of ours.
constexpr std::size_t max_record_bytes = 256 * 1024;

/// The scope and name of a stored entry's key, if it is one.
std::optional<std::pair<std::string, std::string>> entry_of(std::string_view key) {
  auto parts = persistence::keys::split(key);
  if (parts.count == 3 && parts[0] == "secret" && parts[1] == "team")
    return std::pair{std::string(), std::string(parts[2])};
  if (parts.count == 4 && parts[0] == "secret" && parts[1] == "pipeline" && !parts[2].empty())
    return std::pair{std::string(parts[2]), std::string(parts[3])};
  return std::nullopt;
}

domain::error no_key() {
  return {errc::conflict,
          "the internal secret store needs a key: start the server with --secret-key (or "
          "PIKOCI_SECRET_KEY)"};
}

}  // namespace

bool secret_store::valid_name(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  auto c0 = static_cast<unsigned char>(name[0]);
  if (!(std::isalpha(c0) || c0 == '_')) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

void secret_store::load(const persistence::store& db) {
  db.scan(persistence::keys::prefix({"secret"}), [&](std::string_view key, std::string_view v) {
    auto j = nlohmann::json::parse(v, nullptr, false);
    if (!j.is_object() || !j.contains("sealed") || !j["sealed"].is_string()) return;
    sealed_[j.value("scope", "")][std::string(persistence::keys::last(key))] = j["sealed"];
  });
}

bool secret_store::apply(std::string_view key, const std::optional<std::string>& record) {
  auto entry = entry_of(key);
  if (!entry || !valid_name(entry->second)) return false;
  auto& [scope, name] = *entry;
  if (!record) return forget(scope, name);
  if (record->size() > max_record_bytes) return false;
  auto j = nlohmann::json::parse(*record, nullptr, false);
  if (!j.is_object()) return false;
  auto in_scope = j.find("scope"), sealed = j.find("sealed");
  if (in_scope == j.end() || !in_scope->is_string() || *in_scope != scope || sealed == j.end() ||
      !sealed->is_string() || sealed->get_ref<const std::string&>().empty())
    return false;
  sealed_[scope][name] = sealed->get<std::string>();
  return true;
}

std::variant<persistence::write_op, domain::error> secret_store::set(const std::string& pipeline,
                                                                     const std::string& name,
                                                                     const std::string& value) {
  if (!valid_name(name))
    return domain::error{errc::bad_request,
                         "invalid secret name " + quote(name) + ": [A-Za-z_][A-Za-z0-9_]*"};
  if (value.size() > max_value_bytes)
    return domain::error{errc::payload_too_large, "a secret value is at most 64 KiB"};
  if (!box_) return no_key();
  std::string sealed = box_->seal(value, context_of(pipeline, name));
  sealed_[pipeline][name] = sealed;
  nlohmann::json record{{"scope", pipeline}, {"sealed", sealed}};
  return persistence::write_op{key_of(pipeline, name), record.dump(), false};
}

std::variant<persistence::write_op, domain::error> secret_store::remove(const std::string& pipeline,
                                                                        const std::string& name) {
  if (!forget(pipeline, name))
    return domain::error{errc::not_found, "secret " + quote(name) + " not found"};
  return persistence::write_op{key_of(pipeline, name), std::nullopt, false};
}

bool secret_store::forget(const std::string& scope, const std::string& name) {
  auto s = sealed_.find(scope);
  if (s == sealed_.end() || s->second.erase(name) == 0) return false;
  if (s->second.empty()) sealed_.erase(s);
  return true;
}

std::optional<persistence::write_op> secret_store::remove_all(const std::string& pipeline) {
  if (pipeline.empty() || sealed_.erase(pipeline) == 0) return std::nullopt;
  return persistence::write_op{persistence::keys::prefix({"secret", "pipeline", pipeline}),
                               std::nullopt, true};
}

nlohmann::json secret_store::list(const std::string& pipeline) const {
  auto out = nlohmann::json::array();
  auto add = [&](const std::string& scope) {
    auto it = sealed_.find(scope);
    if (it == sealed_.end()) return;
    for (const auto& [name, v] : it->second)
      out.push_back({{"name", name}, {"scope", scope.empty() ? "team" : "pipeline"}});
  };
  if (!pipeline.empty()) add(pipeline);
  add("");
  return {{"secrets", std::move(out)}};
}

std::variant<std::string, domain::error> secret_store::read(const std::string& pipeline,
                                                            const std::string& name) const {
  if (!box_) return no_key();
  for (const std::string& scope : {pipeline, std::string()}) {
    auto s = sealed_.find(scope);
    if (s == sealed_.end()) continue;
    auto it = s->second.find(name);
    if (it == s->second.end()) continue;
    auto plain = box_->open(it->second, context_of(scope, name));
    if (!plain)
      return domain::error{
          errc::internal,
          "secret " + quote(name) + " cannot be decrypted: was it set with another --secret-key?"};
    return *plain;
  }
  return domain::error{errc::not_found, "secret " + quote(name) + " is not set for pipeline " +
                                            quote(pipeline) + " or the team"};
}

}  // namespace pikoci::server
