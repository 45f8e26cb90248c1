#pragma once
// The answer to a user-facing operation, as the actors give it: a JSON view and what happened,
// or a domain error. No status codes or headers: the HTTP edge maps `outcome` and `errc` to
// them (http/errors.hpp), the CLI and the tests read the same values.

#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "domain/error.hpp"

namespace pikoci::domain {

struct reply {
  /// What the operation did when it succeeded.
  enum class outcome {
    done,      // answered or changed now
    created,   // something new exists (a build, a pipeline set the first time)
    accepted,  // taken; it happens later (a resource check)
    nothing,   // done, and there is nothing to show (a delete)
  };
  outcome what = outcome::done;
  nlohmann::json value;  // the view; null with `nothing`
  /// A view that is not JSON (Prometheus text, a store archive) and its media type.
  std::string bytes;
  std::string media_type;
  std::string file_name;  // a view meant to be saved as a file (an export): its name
  std::optional<domain::error> failure;

  bool failed() const { return failure.has_value(); }
  /// The code of the failure; only when failed().
  errc code() const { return failure->code; }
};

inline reply done(nlohmann::json value) {
  return {reply::outcome::done, std::move(value), {}, {}, {}, std::nullopt};
}
inline reply created(nlohmann::json value) {
  return {reply::outcome::created, std::move(value), {}, {}, {}, std::nullopt};
}
inline reply accepted(nlohmann::json value) {
  return {reply::outcome::accepted, std::move(value), {}, {}, {}, std::nullopt};
}
inline reply nothing() {
  return {reply::outcome::nothing, nullptr, {}, {}, {}, std::nullopt};
}
/// A view that is not JSON; with a `file_name`, one meant to be saved.
inline reply bytes(std::string body, std::string media_type, std::string file_name = {}) {
  return {reply::outcome::done, nullptr,           std::move(body), std::move(media_type),
          std::move(file_name),  std::nullopt};
}
inline reply fail(errc code, std::string message,
                  nlohmann::json details = nlohmann::json::object()) {
  return {reply::outcome::done, nullptr, {}, {}, {},
          domain::error{code, std::move(message), std::move(details)}};
}
inline reply fail(domain::error e) {
  return {reply::outcome::done, nullptr, {}, {}, {}, std::move(e)};
}

}  // namespace pikoci::domain
