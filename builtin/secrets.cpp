// Secret back ends of the built-in secret types: `file` (file.get) and `vault` (vault.get). Each
// prints the secret's key → value object as its last output line, like a user `get` command.

#include <fstream>
#include <sstream>

#include "builtin/handlers.hpp"
#include "builtin/secret_formats.hpp"
#include "connectors/http_client/http_client.hpp"

namespace pikoci::builtin {

namespace {

constexpr std::size_t max_secret_bytes = 1024 * 1024;

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

bool valid_name(const std::string& k) {
  if (k.empty() || !(std::isalpha(static_cast<unsigned char>(k[0])) || k[0] == '_')) return false;
  for (char c : k)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

std::string unquote(const std::string& v) {
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
    return v.substr(1, v.size() - 2);
  return v;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::optional<nlohmann::json> parse_env(const std::string& text) {
  nlohmann::json out = nlohmann::json::object();
  for (auto line : lines_of(text)) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("export ", 0) == 0) line = trim(line.substr(7));
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = trim(line.substr(0, eq));
    if (!valid_name(key)) continue;
    out[key] = unquote(trim(line.substr(eq + 1)));
  }
  return out;
}

std::optional<nlohmann::json> parse_yaml(const std::string& text, std::string& error) {
  nlohmann::json out = nlohmann::json::object();
  int n = 0;
  for (const auto& raw : lines_of(text)) {
    ++n;
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#' || line == "---") continue;
    auto where = "line " + std::to_string(n) + ": ";
    if (raw[0] == ' ' || raw[0] == '\t' || line[0] == '-') {
      error = where + "only flat `key: value` maps are supported (no nesting or lists)";
      return std::nullopt;
    }
    auto colon = line.find(':');
    while (colon != std::string::npos && colon + 1 < line.size() && line[colon + 1] != ' ')
      colon = line.find(':', colon + 1);
    if (colon == std::string::npos) {
      error = where + "expected `key: value`";
      return std::nullopt;
    }
    std::string key = unquote(trim(line.substr(0, colon)));
    std::string value = trim(line.substr(colon + 1));
    if (!value.empty() && (value[0] == '"' || value[0] == '\'')) {
      auto end = value.find(value[0], 1);
      if (end == std::string::npos) {
        error = where + "unterminated quote";
        return std::nullopt;
      }
      value = value.substr(1, end - 1);
    } else {
      if (auto hash = value.find(" #"); hash != std::string::npos)
        value = trim(value.substr(0, hash));
      if (value.empty() || value == "|" || value == ">" || value[0] == '{' || value[0] == '[') {
        error = where + "only flat `key: value` maps are supported (no nesting or block values)";
        return std::nullopt;
      }
    }
    out[key] = value;
  }
  return out;
}

}  // namespace

std::string secret_file_format(const std::string& path, const std::string& format) {
  if (!format.empty()) return format;
  auto ends = [&](const std::string& ext) {
    return path.size() >= ext.size() &&
           path.compare(path.size() - ext.size(), ext.size(), ext) == 0;
  };
  if (ends(".json")) return "json";
  if (ends(".env")) return "env";
  if (ends(".yml") || ends(".yaml")) return "yaml";
  return "raw";
}

std::optional<nlohmann::json> parse_secret_file(const std::string& text, const std::string& format,
                                                std::string& error) {
  if (format == "raw") return nlohmann::json{{"content", text}};
  if (format == "env") return parse_env(text);
  if (format == "yaml") return parse_yaml(text, error);
  if (format == "json") {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object()) {
      error = "not a JSON object";
      return std::nullopt;
    }
    return j;
  }
  error = "unknown format \"" + format + "\" (json, yaml, env or raw)";
  return std::nullopt;
}

std::string vault_kv2_api_path(const std::string& path) {
  std::string p = path;
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  auto slash = p.find('/');
  if (slash == std::string::npos) return p;
  if (p.compare(slash + 1, 5, "data/") == 0) return p;
  return p.substr(0, slash) + "/data" + p.substr(slash);
}

int secret_file_get(const context& ctx) {
  std::string path = ctx.param("path");
  if (path.empty()) return ctx.fail("param_path is empty: set `path` on the secret type or secret");
  std::ifstream in(path, std::ios::binary);
  if (!in) return ctx.fail("cannot read " + path);
  std::string text(max_secret_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > max_secret_bytes) return ctx.fail(path + " is larger than 1 MiB");
  std::string error;
  auto format = secret_file_format(path, ctx.param("format"));
  auto j = parse_secret_file(text, format, error);
  if (!j) return ctx.fail(path + " (" + format + "): " + error);
  ctx.out() << j->dump() << "\n";
  return 0;
}

int vault_get(const context& ctx) {
  std::string address = ctx.param("address"), token = ctx.param("token");
  std::string path = ctx.param("path");
  if (address.empty()) return ctx.fail("param_address is empty: set `address` on the secret type");
  if (path.empty()) return ctx.fail("param_path is empty");
  while (!address.empty() && address.back() == '/') address.pop_back();
  std::string url = address + "/v1/" + vault_kv2_api_path(path);
  auto r = http_client::request("GET", url, {}, {{"X-Vault-Token", token}},
                                std::chrono::seconds(10), max_secret_bytes);
  if (!r.error.empty()) return ctx.fail("vault at " + address + ": " + r.error);
  if (r.status != 200)
    return ctx.fail("vault answered HTTP " + std::to_string(r.status) + " for " + path);
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  const nlohmann::json* data = nullptr;
  if (j.is_object() && j.contains("data") && j["data"].is_object()) {
    data = &j["data"];
    if (data->contains("data") && (*data)["data"].is_object()) data = &(*data)["data"];
  }
  if (data == nullptr) return ctx.fail("vault's answer for " + path + " has no data object");
  ctx.out() << data->dump() << "\n";
  return 0;
}

}  // namespace pikoci::builtin
