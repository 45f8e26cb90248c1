#include "actors/model/step_protocol.hpp"

#include <cmath>
#include <cstddef>
#include <cstdio>

#include "config/pipeline/json_decode.hpp"
#include "config/pipeline/names.hpp"

namespace pikoci::work {

namespace {

// A task may write anything to $PIKOCI_OUTPUT; only the first MiB is trusted (reference §1.9).
constexpr std::size_t max_task_output = std::size_t{1} << 20;

// Error messages echo the offending line; a check printing a huge blob must not bloat them.
constexpr std::size_t max_echoed_line = 200;

bool is_name_char(char c) {
  return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Go's isShellSpecialVar: these single characters are whole names after `$` ($*, $#, $1, ...).
bool is_shell_special(char c) {
  switch (c) {
    case '*':
    case '#':
    case '$':
    case '@':
    case '!':
    case '?':
    case '-':
      return true;
    default:
      return c >= '0' && c <= '9';
  }
}

// Go's getShellName on the text after a `$`: the name and how many bytes it used. An empty name
// with width > 0 is bad syntax (Go eats those bytes); an empty name with width 0 means the `$`
// is kept as a literal.
std::pair<std::string_view, std::size_t> shell_name(std::string_view s) {
  if (s[0] == '{') {
    if (s.size() > 2 && is_shell_special(s[1]) && s[2] == '}') return {s.substr(1, 1), 3};
    for (std::size_t i = 1; i < s.size(); ++i) {
      if (s[i] == '}') {
        if (i == 1) return {{}, 2};  // "${}"
        return {s.substr(1, i - 1), i + 1};
      }
    }
    return {{}, 1};  // unterminated "${": Go drops the "${" and keeps the rest
  }
  if (is_shell_special(s[0])) return {s.substr(0, 1), 1};
  std::size_t i = 0;
  while (i < s.size() && is_name_char(s[i])) ++i;
  return {s.substr(0, i), i};
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view last_non_empty_line(std::string_view log) {
  while (!log.empty()) {
    std::size_t nl = log.rfind('\n');
    std::string_view line = nl == std::string_view::npos ? log : log.substr(nl + 1);
    line = trim(line);
    if (!line.empty()) return line;
    if (nl == std::string_view::npos) break;
    log = log.substr(0, nl);
  }
  return {};
}

// Cuts at a UTF-8 character boundary so the error text stays valid UTF-8 when the log was.
std::string cap_line(std::string_view line) {
  if (line.size() <= max_echoed_line) return std::string(line);
  std::size_t cut = max_echoed_line;
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
  return std::string(line.substr(0, cut));
}

// Parses `line` as a JSON array of objects; nullopt when it is anything else.
std::optional<std::vector<nlohmann::json>> parse_versions_line(std::string_view line) {
  auto parsed = pikoci::pipeline::decode_json(line).value;  // the node's JSON limits (depth, size)
  if (parsed.is_discarded() || !parsed.is_array()) return std::nullopt;
  std::vector<nlohmann::json> versions;
  versions.reserve(parsed.size());
  for (auto& item : parsed) {
    if (!item.is_object()) return std::nullopt;
    versions.push_back(std::move(item));
  }
  return versions;
}

// Integers print without decimals whichever way the JSON spelled them ("2.0" -> "2"), as Go's
// json.Marshal does for a float64 below 1e21; everything else is nlohmann's shortest dump
// ("1.5", "1e+21").
std::string number_text(const nlohmann::json& n) {
  if (n.is_number_float()) {
    double d = n.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e21) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.0f", d);
      return buf;
    }
  }
  return n.dump();
}

void flatten_into(const nlohmann::json& value, const std::string& prefix,
                  std::map<std::string, std::string>& out) {
  auto join = [&prefix](const std::string& key) {
    return prefix.empty() ? key : prefix + "_" + key;
  };
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) flatten_into(item, join(key), out);
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      flatten_into(value[i], join(std::to_string(i)), out);
    }
  } else if (prefix.empty()) {
    // A bare scalar has no key to live under; versions are objects by protocol.
  } else if (value.is_string()) {
    out[prefix] = value.get<std::string>();
  } else if (value.is_boolean()) {
    out[prefix] = value.get<bool>() ? "true" : "false";
  } else if (value.is_number()) {
    out[prefix] = number_text(value);
  } else {
    out[prefix] = "";  // null (and binary, which JSON text cannot produce)
  }
}

}  // namespace

std::string expand(std::string_view text, const lookup_fn& lookup) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;  // start of the pending literal run
  for (std::size_t j = 0; j < text.size(); ++j) {
    // A trailing `$` is not a reference at all (Go only looks at `$` with something after it).
    if (text[j] != '$' || j + 1 >= text.size()) continue;
    out.append(text.substr(i, j - i));
    auto [name, width] = shell_name(text.substr(j + 1));
    if (name.empty() && width > 0) {
      // Bad syntax: the consumed bytes vanish.
    } else if (name.empty()) {
      out.push_back('$');
    } else if (auto value = lookup(std::string(name))) {
      out.append(*value);
    }
    j += width;
    i = j + 1;
  }
  if (i < text.size()) out.append(text.substr(i));
  return out;
}

expanded_command expand_template(const runner_template& t, const lookup_fn& lookup,
                                 const std::vector<std::string>& step_args) {
  expanded_command cmd;
  cmd.path = expand(t.path, lookup);
  if (cmd.path.empty()) {
    cmd.skip = true;
    return cmd;
  }
  for (const auto& element : t.args) {
    if (element == "$args") {
      // Verbatim, empties included: these are the user's literal argv entries.
      cmd.args.insert(cmd.args.end(), step_args.begin(), step_args.end());
      continue;
    }
    std::string expanded = expand(element, lookup);
    if (!expanded.empty()) cmd.args.push_back(std::move(expanded));
  }
  return cmd;
}

check_output parse_check_output(std::string_view log) {
  check_output result;
  std::string_view line = last_non_empty_line(log);
  if (line.empty()) return result;
  if (auto versions = parse_versions_line(line)) {
    result.versions = std::move(*versions);
  } else {
    result.error = "check output is not a JSON array of objects: " + cap_line(line);
  }
  return result;
}

std::vector<nlohmann::json> parse_put_versions(std::string_view log) {
  auto versions = parse_versions_line(last_non_empty_line(log));
  return versions ? std::move(*versions) : std::vector<nlohmann::json>{};
}

std::map<std::string, std::string> flatten_version(const nlohmann::json& version) {
  std::map<std::string, std::string> out;
  flatten_into(version, "", out);
  return out;
}

std::map<std::string, std::string> version_env(const nlohmann::json& version) {
  std::map<std::string, std::string> env;
  for (auto& [key, value] : flatten_version(version)) env.emplace("version_" + key, value);
  return env;
}

std::map<std::string, std::string> get_exports(const std::string& step_name,
                                               const nlohmann::json& version) {
  const std::string prefix = "GET_" + pipeline::env_key(step_name) + "_";
  std::map<std::string, std::string> env;
  for (auto& [key, value] : flatten_version(version)) {
    env[prefix + pipeline::env_key(key)] = value;
  }
  return env;
}

std::map<std::string, std::string> task_exports(const std::string& step_name,
                                                std::string_view output_file) {
  const std::string prefix = "TASK_" + pipeline::env_key(step_name) + "_";
  std::map<std::string, std::string> env;
  std::string_view rest = output_file.substr(0, max_task_output);
  while (!rest.empty()) {
    std::size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view head = trim(line);
    if (head.empty() || head.front() == '#') continue;
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;  // not KEY=VALUE: nothing to export
    std::string_view key = trim(line.substr(0, eq));
    if (key.empty()) continue;
    // Later lines win, like re-assigning a shell variable.
    env[prefix + pipeline::env_key(key)] = std::string(line.substr(eq + 1));
  }
  return env;
}

}  // namespace pikoci::work
