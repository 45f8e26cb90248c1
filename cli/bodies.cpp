#include "cli/bodies.hpp"

#include <unistd.h>

#include <iostream>
#include <iterator>
#include <map>
#include <optional>

#include "cli/login.hpp"
#include "config/node/pipeline_file.hpp"
#include "config/pipeline/eval.hpp"
#include "config/pipeline/json_decode.hpp"
#include "config/pipeline/parser.hpp"

namespace pikoci::cli {

using nlohmann::json;

namespace {

json key_values(const std::vector<std::string>& pairs) {
  json out = json::object();
  for (const auto& kv : pairs) {
    auto eq = kv.find('=');  // the CLI checked there is one
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

/// The declared types of the top-level variable blocks; a file that does not parse declares
/// none here (the server reports its errors).
std::map<std::string, std::string> declared_types(const std::string& hcl_source) {
  std::map<std::string, std::string> types;
  hcl::diagnostics ignored;
  hcl::file parsed = hcl::parse_file("pipeline", hcl_source, ignored);
  for (const auto& b : parsed.root.blocks) {
    if (b.type != "variable" || b.labels.size() != 1 || !b.content) continue;
    const auto* t = b.content->find_attribute("type");
    if (t == nullptr || !t->value) continue;
    // `type = number`, or quoted as `"number"` (as the loader accepts).
    std::optional<std::string> name = hcl::bare_name(*t->value);
    if (!name) {
      hcl::eval_context empty;
      if (auto v = hcl::evaluate(*t->value, empty, ignored); v && v->is_string())
        name = v->as_string();
    }
    if (name) types[b.labels[0]] = *name;
  }
  return types;
}

}  // namespace

json pipeline_vars(const std::string& hcl_source, const json& vars_file,
                   const std::vector<std::string>& vars) {
  json out = vars_file.is_object() ? vars_file : json::object();
  if (vars.empty()) return out;
  std::map<std::string, std::string> types = declared_types(hcl_source);
  for (const auto& kv : vars) {
    auto eq = kv.find('=');
    std::string key = kv.substr(0, eq), value = eq == std::string::npos ? "" : kv.substr(eq + 1);
    auto type = types.find(key);
    hcl::value given = hcl::value::string(value);
    double n = 0;
    bool flag = false;
    if (type != types.end() && type->second == "number" && hcl::to_number(given, n))
      out[key] = hcl::to_json(hcl::value::number(n));
    else if (type != types.end() && type->second == "bool" && hcl::to_bool(given, flag))
      out[key] = flag;
    else
      out[key] = value;
  }
  return out;
}

body pipeline_body(const node::client_flags& f) {
  auto source = node::read_file_capped(f.file, node::max_pipeline_file_bytes);
  if (auto* e = std::get_if<node::file_error>(&source)) return usage_error{e->message};
  json vars_file = json::object();
  if (!f.vars_file.empty()) {
    auto vars_text = node::read_file_capped(f.vars_file, node::max_pipeline_file_bytes);
    if (auto* e = std::get_if<node::file_error>(&vars_text)) return usage_error{e->message};
    auto decoded = pipeline::decode_json(std::get<std::string>(vars_text),
                                         {node::max_pipeline_file_bytes, pipeline::max_json_depth});
    if (decoded.failure == pipeline::json_failure::too_deep)
      return usage_error{f.vars_file + ": " + decoded.error};
    vars_file = std::move(decoded.value);
    if (vars_file.is_discarded() || !vars_file.is_object())
      return usage_error{f.vars_file + ": expected a JSON object of variable values"};
  }
  const std::string& config = std::get<std::string>(source);
  return json{{"config", config}, {"vars", pipeline_vars(config, vars_file, f.vars)}};
}

body concurrency_body(const node::client_flags& f) {
  return json{{"mode", f.mode == "none" ? "" : f.mode},
              {"group_template", f.group_template},
              {"cancel_running", f.cancel_running}};
}

body trigger_body(const node::client_flags& f) {
  return json{{"inputs", key_values(f.inputs)}, {"args", f.args}};
}

body pin_body(const node::client_flags& f) {
  return json{{"version_id", f.version_id}};
}

body message_body(const node::client_flags& f) {
  return json{{"message", f.message}};
}

namespace {

/// `{key: --value}`, else `{key: standard input}` (one trailing newline dropped).
body secret_value_body(const node::client_flags& f, const char* key) {
  if (!f.secret_value.empty()) return json{{key, f.secret_value}};
  // standard input, so that the value is in no command line or shell history
  std::string value((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (!value.empty() && value.back() == '\n') value.pop_back();
  if (!value.empty() && value.back() == '\r') value.pop_back();
  if (value.empty())
    return usage_error{"no secret value: give --value or pipe it on standard input"};
  return json{{key, std::move(value)}};
}

}  // namespace

body secret_body(const node::client_flags& f) {
  return secret_value_body(f, "value");
}

body webhook_secret_body(const node::client_flags& f) {
  return secret_value_body(f, "secret");
}

body version_body(const node::client_flags& f) {
  return json{{"version", key_values(f.fields)}};
}

namespace {

/// --password, else asked for on the terminal (no echo) or read from standard input.
std::optional<std::string> password_of(const node::client_flags& f, const std::string& what) {
  if (!f.password.empty()) return f.password;
  return read_password(what, std::cin, std::cerr);
}

}  // namespace

body user_body(const node::client_flags& f) {
  auto password = password_of(f, "Password for " + f.username);
  if (!password)
    return usage_error{"no password: type it, pipe it on standard input or give --password"};
  return json{{"username", f.username},
              {"password", std::move(*password)},
              {"role", f.role.empty() ? "read" : f.role}};
}

body role_body(const node::client_flags& f) {
  return json{{"role", f.role}};
}

body password_body(const node::client_flags& f) {
  auto password = password_of(f, "New password for " + f.username);
  if (!password)
    return usage_error{"no password: type it, pipe it on standard input or give --password"};
  return json{{"password", std::move(*password)}};
}

body login_body(const node::client_flags& f) {
  std::string username = f.username;
  if (username.empty() && ::isatty(STDIN_FILENO) == 1) {
    std::cerr << "Username: " << std::flush;
    std::getline(std::cin, username);
  }
  if (username.empty()) return usage_error{"no user name: give --username"};
  auto password = password_of(f, "Password for " + username);
  if (!password)
    return usage_error{"no password: type it, pipe it on standard input or give --password"};
  return json{{"username", username}, {"password", std::move(*password)}};
}

}  // namespace pikoci::cli
