#include "actors/server/secret_store.hpp"

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
  auto s = sealed_.find(pipeline);
  if (s == sealed_.end() || s->second.erase(name) == 0)
    return domain::error{errc::not_found, "secret " + quote(name) + " not found"};
  if (s->second.empty()) sealed_.erase(s);
  return persistence::write_op{key_of(pipeline, name), std::nullopt, false};
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
