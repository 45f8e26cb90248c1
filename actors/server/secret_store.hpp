#pragma once
// The internal secret store (`secret "pikoci" { key = "NAME" }`): values set through the API,
// sealed at rest (auth/secret_box.hpp), team-wide or for one pipeline (which shadows the team's).
// Plain code owned by the registry actor; values leave it only through `read`, for workers.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "auth/secret_box.hpp"
#include "domain/error.hpp"
#include "persistence/store.hpp"

namespace pikoci::server {

class secret_store {
 public:
  /// `box` null: no `--secret-key`, secrets cannot be set or read.
  explicit secret_store(std::shared_ptr<const auth::secret_box> box) : box_(std::move(box)) {}

  /// Every stored entry (sealed) from `db`.
  void load(const persistence::store& db);
  /// A replicated change of the stored entry `key` (cluster mode: `secret/team/<n>` or
  /// `secret/pipeline/<p>/<n>` from the global topic): its record (sealed, as `set` writes it),
  /// or nullopt for a deletion. False (nothing changed) for a key of no entry, a malformed record
  /// or one of another scope. A value that does not open is kept: `read` says so.
  bool apply(std::string_view key, const std::optional<std::string>& record);

  /// Sets `name` in `pipeline`'s scope ("" = the team): the write to store, or why not.
  std::variant<persistence::write_op, domain::error> set(const std::string& pipeline,
                                                         const std::string& name,
                                                         const std::string& value);
  /// Deletes `name` from `pipeline`'s scope: the write, or not_found.
  std::variant<persistence::write_op, domain::error> remove(const std::string& pipeline,
                                                            const std::string& name);
  /// The write that deletes every secret of `pipeline` (the pipeline is deleted), if any.
  std::optional<persistence::write_op> remove_all(const std::string& pipeline);
  /// `{"secrets": [{"name", "scope"}]}`: the names visible in `pipeline`'s scope (its own and
  /// the team's), or only the team's for "". Never values.
  nlohmann::json list(const std::string& pipeline) const;
  /// The value of `name` for a build of `pipeline`: its own, else the team's.
  std::variant<std::string, domain::error> read(const std::string& pipeline,
                                                const std::string& name) const;

  /// `[A-Za-z_][A-Za-z0-9_]*`, at most 128 characters.
  static bool valid_name(const std::string& name);

 private:
  bool forget(const std::string& scope, const std::string& name);

  std::shared_ptr<const auth::secret_box> box_;
  std::map<std::string, std::map<std::string, std::string>> sealed_;  // scope → name → sealed
};

}  // namespace pikoci::server
