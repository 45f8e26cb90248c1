#include "actors/worker/secret_resolver.hpp"

#include <algorithm>
#include <filesystem>

#include "domain/text.hpp"

namespace pikoci::worker {

namespace {

using domain::quote;

std::string last_line(const std::string& output) {
  std::size_t end = output.size();
  while (end > 0) {
    while (end > 0 && (output[end - 1] == '\n' || output[end - 1] == '\r')) --end;
    std::size_t start = output.rfind('\n', end == 0 ? 0 : end - 1);
    start = start == std::string::npos ? 0 : start + 1;
    std::string line = output.substr(start, end - start);
    if (line.find_first_not_of(" \t") != std::string::npos) return line;
    end = start;
  }
  return {};
}

}  // namespace

std::optional<std::map<std::string, std::string>> parse_secret_output(const std::string& output,
                                                                      std::string& error) {
  auto line = last_line(output);
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object()) {
    error = "the last output line is not a JSON object";
    return std::nullopt;
  }
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : j.items()) out[k] = v.is_string() ? v.get<std::string>() : v.dump();
  return out;
}

secret_resolver::secret_resolver(work::secret_plan plan, secret_command_fn run,
                                 secret_store_fn store)
    : plan_(std::move(plan)), run_(std::move(run)), store_(std::move(store)) {
  for (const auto& v : plan_.variables) holders_.emplace_back(work::placeholder(v), &v);
  std::sort(holders_.begin(), holders_.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

bool secret_resolver::mentions(const std::string& text) {
  return text.find(work::secret_prefix) != std::string::npos;
}

std::string secret_resolver::resolve(std::string& text) {
  return resolve_text(text, 0);
}

std::string secret_resolver::resolve(work::env_map& m) {
  for (auto& [k, v] : m)
    if (auto e = resolve_text(v, 0); !e.empty()) return e;
  return {};
}

std::string secret_resolver::resolve(work::command_spec& c) {
  if (auto e = resolve(c.params); !e.empty()) return e;
  for (auto& a : c.args)
    if (auto e = resolve_text(a, 0); !e.empty()) return e;
  return {};
}

std::shared_ptr<const work::masker> secret_resolver::masker() const {
  std::lock_guard<std::mutex> lock(mask_mu_);
  return masker_;
}

std::string secret_resolver::resolve_text(std::string& text, int depth) {
  if (!mentions(text)) return {};
  std::string out;
  std::size_t i = 0;
  while (true) {
    std::size_t at = text.find(work::secret_prefix, i);
    if (at == std::string::npos) break;
    out.append(text, i, at - i);
    const work::secret_variable* var = nullptr;
    std::size_t len = 0;
    for (const auto& [h, v] : holders_) {
      if (text.compare(at, h.size(), h) == 0) {
        var = v;
        len = h.size();
        break;
      }
    }
    if (var == nullptr) {  // not one of the plan's: literal text
      out.append(work::secret_prefix);
      i = at + work::secret_prefix.size();
      continue;
    }
    std::string value;
    if (auto e = value_of(*var, depth, value); !e.empty()) return e;
    out += value;
    i = at + len;
  }
  out.append(text, i, std::string::npos);
  text = std::move(out);
  return {};
}

std::string secret_resolver::value_of(const work::secret_variable& v, int depth, std::string& out) {
  auto failed = [&](const std::string& why) {
    return "secret variable " + quote(v.name) + " (secret type " + quote(v.type) + "): " + why;
  };
  if (depth > max_secret_nesting)
    return failed("secret types refer to other secrets more than " +
                  std::to_string(max_secret_nesting) + " levels deep");
  std::lock_guard<std::recursive_mutex> lock(mu_);
  const fetched& f = fetch(v, depth);
  if (!f.values) return failed(f.error);
  auto it = f.values->find(v.key);
  if (it == f.values->end()) return failed("key " + quote(v.key) + " not found in response");
  out = it->second;
  remember(out);
  return {};
}

// Called with mu_ held. Errors are cached like values: one fetch per (type, path).
secret_resolver::fetched secret_resolver::fetch(const work::secret_variable& v, int depth) {
  const work::secret_type_spec* type = nullptr;
  for (const auto& t : plan_.types)
    if (t.name == v.type) type = &t;
  // the store is read name by name; the other types once per path
  auto id = std::make_pair(v.type, type != nullptr && type->store ? "\n" + v.key : v.path);
  if (auto it = cache_.find(id); it != cache_.end()) return it->second;
  fetched f;
  if (type == nullptr) {
    f.error = "the secret type is not defined";
  } else if (type->store) {
    auto a = store_ ? store_(plan_.pipeline, v.key)
                    : secret_answer{std::nullopt, "this worker cannot read the secret store"};
    if (a.value) f.values = object{{v.key, *a.value}};
    f.error = a.error;
  } else if (!type->get) {
    f.error = "the secret type has no get command";
  } else {
    work::command_spec cmd = *type->get;
    if (!v.path.empty()) cmd.params["param_path"] = v.path;
    // config attributes may name other secret-backed variables
    for (auto& [k, val] : cmd.params) {
      if (auto e = resolve_text(val, depth + 1); !e.empty()) {
        f.error = "in its config: " + e;
        return cache_[id] = f;
      }
    }
    // the file type reads a relative path from the worker's directory, not the step's
    auto handler = cmd.params.find("handler");
    auto p = cmd.params.find("param_path");
    if (handler != cmd.params.end() && handler->second == "file.get" && p != cmd.params.end() &&
        !p->second.empty() && p->second[0] != '/') {
      std::error_code ec;
      auto cwd = std::filesystem::current_path(ec);
      if (!ec) p->second = (cwd / p->second).string();
    }
    auto a = run_(cmd);
    if (!a.value) {
      f.error = "get command failed: " + a.error;
    } else {
      std::string why;
      f.values = parse_secret_output(*a.value, why);
      if (!f.values) f.error = "get command: " + why;
    }
  }
  return cache_[id] = f;
}

void secret_resolver::remember(const std::string& value) {
  if (value.size() < work::min_masked_length) return;
  if (std::find(values_.begin(), values_.end(), value) != values_.end()) return;
  values_.push_back(value);
  auto m = std::make_shared<const work::masker>(values_);
  std::lock_guard<std::mutex> lock(mask_mu_);
  masker_ = std::move(m);
}

}  // namespace pikoci::worker
