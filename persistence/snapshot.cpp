#include "persistence/snapshot.hpp"

#include <spdlog/spdlog.h>

#include "persistence/keys.hpp"

namespace pikoci::persistence {
namespace {

/// The components of a key after its tag.
std::vector<std::string> split(std::string_view key) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    auto pos = key.find('\0', start);
    out.emplace_back(key.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

std::optional<nlohmann::json> parse(std::string_view key, std::string_view value) {
  auto j = nlohmann::json::parse(value, nullptr, false);
  if (j.is_discarded()) {
    auto parts = split(key);
    std::string shown;
    for (const auto& p : parts) shown += (shown.empty() ? "" : "/") + p;
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
    auto parts = split(k);
    if (auto j = parse(k, v); j && parts.size() == 2) {
      auto& p = by_name[parts[1]];
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
  auto owner = [&](const std::string& name) -> stored_pipeline* {
    auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : &it->second;
  };
  s.scan(prefix("version"), [&](std::string_view k, std::string_view v) {
    auto parts = split(k);
    auto* p = parts.size() == 3 ? owner(parts[1]) : nullptr;
    if (p == nullptr) return;
    if (auto j = parse(k, v)) p->versions.push_back(std::move(*j));
  });
  s.scan(prefix("usage"), [&](std::string_view k, std::string_view v) {
    auto parts = split(k);
    auto* p = parts.size() == 3 ? owner(parts[1]) : nullptr;
    if (p == nullptr) return;
    if (auto j = parse(k, v)) p->usage[std::stoll(parts[2])] = std::move(*j);
  });
  s.scan(prefix("check"), [&](std::string_view k, std::string_view v) {
    auto parts = split(k);
    auto* p = parts.size() == 3 ? owner(parts[1]) : nullptr;
    if (p == nullptr) return;
    if (auto j = parse(k, v)) p->checks[parts[2]] = std::move(*j);
  });
  s.scan(prefix("build"), [&](std::string_view k, std::string_view v) {
    auto parts = split(k);
    auto* p = parts.size() == 4 ? owner(parts[1]) : nullptr;
    if (p == nullptr) return;
    p->builds[parts[2]].emplace_back(v);
  });
  return by_name;
}

}  // namespace

std::vector<stored_pipeline> load_pipelines(const store& s) {
  std::vector<stored_pipeline> out;
  for (auto& [name, p] : load(s, "")) out.push_back(std::move(p));
  return out;
}

std::optional<stored_pipeline> load_pipeline(const store& s, const std::string& name) {
  auto found = load(s, name);
  auto it = found.find(name);
  if (it == found.end()) return std::nullopt;
  return std::move(it->second);
}

}  // namespace pikoci::persistence
