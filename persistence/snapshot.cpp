#include "persistence/snapshot.hpp"

#include <algorithm>
#include <set>

#include <spdlog/spdlog.h>

#include "config/pipeline/names.hpp"
#include "config/pipeline/utf8.hpp"
#include "persistence/keys.hpp"

namespace pikoci::persistence {
namespace {

std::optional<nlohmann::json> parse(std::string_view key, std::string_view value) {
  auto j = nlohmann::json::parse(value, nullptr, false);
  if (j.is_discarded()) {
    std::string shown(key);
    std::replace(shown.begin(), shown.end(), '\0', '/');
    spdlog::error("event=store.bad_record key=\"{}\" (skipped)", shown);
    return std::nullopt;
  }
  return j;
}

}  // namespace

namespace {

/// Every stored pipeline, or the one named `only` ("" = all).
std::map<std::string, stored_pipeline> load(const store& s, const std::string& only) {
  auto prefix = [&](const char* tag) {
    return only.empty() ? keys::prefix({tag}) : keys::prefix({tag, only});
  };
  std::map<std::string, stored_pipeline> by_name;
  auto doc = [&](std::string_view k, std::string_view v) {
    auto parts = keys::split(k);
    if (parts.count == 2 && !pipeline::is_valid_name(parts[1])) {
      // decode_stored_names said why it could not be renamed
      spdlog::error(
          "event=store.pipeline_refused pipeline={} reason=\"not a valid name: {}\" (not "
          "loaded; its records stay in the store)",
          hcl::to_json_text(nlohmann::json(std::string(parts[1]))), pipeline::name_rule);
      return;
    }
    if (auto j = parse(k, v); j && parts.count == 2) {
      auto& p = by_name[std::string(parts[1])];
      p.name = parts[1];
      p.doc = std::move(*j);
    }
  };
  if (only.empty()) {
    s.scan(keys::prefix({"pipeline"}), doc);
  } else if (auto v = s.get(keys::pipeline(only))) {
    doc(keys::pipeline(only), *v);
  }
  // records of a pipeline that has no document (a partial delete) are ignored
  auto owner = [&](std::string_view name) -> stored_pipeline* {
    auto it = by_name.find(std::string(name));
    return it == by_name.end() ? nullptr : &it->second;
  };
  s.scan(prefix("version"), [&](std::string_view k, std::string_view v) {
    auto parts = keys::split(k);
    auto* p = parts.count == 3 ? owner(parts[1]) : nullptr;
    if (p == nullptr) return;
    if (auto j = parse(k, v)) p->versions.push_back(std::move(*j));
  });
  s.scan(prefix("usage"), [&](std::string_view k, std::string_view v) {
    auto parts = keys::split(k);
    auto* p = parts.count == 3 ? owner(parts[1]) : nullptr;
    if (p == nullptr) return;
    if (auto j = parse(k, v)) p->usage[std::stoll(std::string(parts[2]))] = std::move(*j);
  });
  s.scan(prefix("check"), [&](std::string_view k, std::string_view v) {
    auto parts = keys::split(k);
    auto* p = parts.count == 3 ? owner(parts[1]) : nullptr;
    if (p == nullptr) return;
    if (auto j = parse(k, v)) p->checks[std::string(parts[2])] = std::move(*j);
  });
  s.scan(prefix("build"), [&](std::string_view k, std::string_view v) {
    auto parts = keys::split(k);
    auto* p = parts.count == 4 ? owner(parts[1]) : nullptr;
    if (p == nullptr) return;
    p->builds[std::string(parts[2])].emplace_back(v);
  });
  return by_name;
}

/// The batch that moves pipeline `from` to `to`: its document and every record keyed by it.
batch rename_pipeline(const store& s, const std::string& from, const std::string& to,
                      std::size_t& secrets_dropped) {
  batch ops;
  if (auto v = s.get(keys::pipeline(from))) {
    auto doc = nlohmann::json::parse(*v, nullptr, false);
    if (doc.is_object()) doc["name"] = to;
    ops.push_back({keys::pipeline(from), std::nullopt});
    ops.push_back({keys::pipeline(to), doc.is_discarded() ? *v : hcl::to_json_text(doc)});
  }
  for (const char* tag : {"version", "usage", "check", "build"}) {
    const auto old_prefix = keys::prefix({tag, from}), new_prefix = keys::prefix({tag, to});
    s.scan(old_prefix, [&](std::string_view k, std::string_view v) {
      std::string value(v);
      if (std::string_view(tag) == "build") {
        // the summary line names the pipeline; the steps line after it stays as it is
        auto nl = value.find('\n');
        auto head = nlohmann::json::parse(value.substr(0, nl), nullptr, false);
        if (head.is_object()) {
          head["pipeline"] = to;
          value = hcl::to_json_text(head) + (nl == std::string::npos ? "" : value.substr(nl));
        }
      }
      ops.push_back({std::string(k), std::nullopt});
      ops.push_back({new_prefix + std::string(k.substr(old_prefix.size())), std::move(value)});
    });
  }
  // sealed for the old name: they cannot be opened under the new one
  const auto secrets = keys::prefix({"secret", "pipeline", from});
  s.scan(secrets, [&](std::string_view, std::string_view) { ++secrets_dropped; });
  ops.push_back({secrets, std::nullopt, true});
  return ops;
}

}  // namespace

void decode_stored_names(store& s) {
  std::set<std::string> names;
  s.scan(keys::prefix({"pipeline"}), [&](std::string_view k, std::string_view) {
    if (auto parts = keys::split(k); parts.count == 2) names.emplace(parts[1]);
  });
  for (const auto& from : std::set<std::string>(names)) {
    if (pipeline::is_valid_name(from)) continue;
    const auto shown = hcl::to_json_text(nlohmann::json(from));
    auto to = pipeline::percent_decode(from);
    if (!to || !pipeline::is_valid_name(*to)) {
      spdlog::error(
          "event=store.pipeline_not_renamed pipeline={} (not a valid name, even percent-decoded: "
          "{})",
          shown, pipeline::name_rule);
      continue;
    }
    if (names.count(*to)) {
      spdlog::error(
          "event=store.pipeline_not_renamed pipeline={} decoded={} (a pipeline has the decoded "
          "name; delete one of them and restart to have this one renamed)",
          shown, hcl::to_json_text(nlohmann::json(*to)));
      continue;
    }
    std::size_t secrets_dropped = 0;
    s.write(rename_pipeline(s, from, *to, secrets_dropped));
    names.erase(from);
    names.insert(*to);
    spdlog::warn(
        "event=store.pipeline_renamed from={} to={} secrets_dropped={} (stored percent-encoded "
        "by an older version; pipeline secrets were sealed for the old name: set them again)",
        shown, hcl::to_json_text(nlohmann::json(*to)), secrets_dropped);
  }
}

std::vector<stored_pipeline> load_pipelines(const store& s) {
  std::vector<stored_pipeline> out;
  for (auto& [name, p] : load(s, "")) out.push_back(std::move(p));
  return out;
}

std::vector<stored_pipeline> load_pipelines(
    const store& s, const std::function<bool(std::string_view)>& in_partition) {
  // the documents say which pipelines there are; each one's records are then read by its own
  // prefixes, so the other partitions' records are never read
  std::vector<std::string> names;
  s.scan(keys::prefix({"pipeline"}), [&](std::string_view k, std::string_view) {
    if (auto parts = keys::split(k); parts.count == 2 && in_partition(parts[1]))
      names.emplace_back(parts[1]);
  });
  std::vector<stored_pipeline> out;
  for (const auto& name : names)
    if (auto p = load_pipeline(s, name)) out.push_back(std::move(*p));
  return out;
}

std::optional<stored_pipeline> load_pipeline(const store& s, const std::string& name) {
  auto found = load(s, name);
  auto it = found.find(name);
  if (it == found.end()) return std::nullopt;
  return std::move(it->second);
}

}  // namespace pikoci::persistence
