#include "actors/server/replicated.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "domain/text.hpp"
#include "persistence/keys.hpp"

namespace pikoci::server {
namespace {

replicated_result user(std::string_view name, const std::optional<std::string>& value,
                       auth::user_store* users) {
  replicated_result r;
  r.kind = replicated_kind::user;
  if (!users) return r;
  r.changed = users->apply(name, value);
  if (!r.changed && value) r.error = "not a user record of this name";
  return r;
}

replicated_result secret(std::string_view key, const std::optional<std::string>& value,
                         secret_store* secrets) {
  replicated_result r;
  r.kind = replicated_kind::secret;
  if (!secrets) return r;
  r.changed = secrets->apply(key, value);
  if (!r.changed && value) r.error = "not a sealed secret record of this key";
  return r;
}

replicated_result catalog(std::string_view pipeline, const std::optional<std::string>& value,
                          domain::cluster::catalog* catalog) {
  replicated_result r;
  r.kind = replicated_kind::catalog;
  if (!catalog) return r;
  if (!value) {
    r.changed = catalog->get(std::string(pipeline)).has_value();
    catalog->apply(std::string(pipeline), std::nullopt);
    return r;
  }
  auto summary = domain::cluster::decode_summary(*value);
  if (auto* why = std::get_if<std::string>(&summary)) {
    r.error = *why;
    return r;
  }
  catalog->apply(std::string(pipeline), std::get<domain::cluster::pipeline_summary>(summary));
  r.changed = true;
  return r;
}

replicated_result route(std::string_view key, const std::optional<std::string>& value,
                        const replicated_targets& to) {
  auto parts = persistence::keys::split(key);
  // a chunk of a large value (key + "\0\x01" + i) has more components: never applied alone
  if (parts.count == 2 && parts[0] == "user" && !parts[1].empty())
    return user(parts[1], value, to.users);
  if (parts.count == 2 && parts[0] == "catalog" && !parts[1].empty())
    return catalog(parts[1], value, to.catalog);
  if (parts[0] == "secret") return secret(key, value, to.secrets);
  return {};
}

}  // namespace

replicated_result apply_replicated(std::string_view key, const std::optional<std::string>& value,
                                   const replicated_targets& to) {
  auto r = route(key, value, to);
  if (!r.error.empty()) {
    std::string shown(key.substr(0, 200));
    std::replace(shown.begin(), shown.end(), '\0', '/');
    spdlog::warn("event=cluster.bad_record key={} error=\"{}\" (ignored)", domain::quote(shown),
                 r.error);
  }
  return r;
}

}  // namespace pikoci::server
