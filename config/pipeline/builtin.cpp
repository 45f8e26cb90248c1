// Built-in definitions (reference §1.11/§1.12), embedded as pipeline HCL and decoded by the same
// code as user pipelines, then merged into every loaded pipeline unless it defines the same name.

#include <string_view>

#include "config/pipeline/load_internal.hpp"
#include "config/pipeline/parser.hpp"

namespace pikoci::pipeline::detail {

namespace {

// `$name` is left alone by HCL; the runner template and the shell expand it later.
constexpr std::string_view builtin_hcl = R"hcl(
resource_type "cron" {
  check "exec" {
    path = "/bin/sh"
    args = [
      "-ec",
      <<-EOT
      echo "[{\"date\":\"$(date)\"}]"
      EOT
    ]
  }
  pull "exec" {
    path = "/bin/sh"
    args = [
      "-ec",
      <<-EOT
      echo "date: $version_date"
      EOT
    ]
  }
  push "exec" {}
}

# Scripts of git and artifact come with their runtime; the names and params are known now.
resource_type "git" {
  params = ["url", "branch", "name", "token", "pr", "tag", "provider"]
  cache  = true
}

resource_type "artifact" {
  params = ["dir", "base_dir"]
  cache  = true
}

# Handled inside the worker: puts store team-scoped events, checks turn them into versions.
resource_type "trigger" {}

runner_type "exec" {
  run {
    path = "$path"
    args = ["$args"]
  }
}

runner_type "shell" {
  run {
    path = "$shell"
    args = ["-ec", "$cmd"]
  }
}

runner_type "docker" {
  run {
    path = "docker"
    args = [
      "run", "--rm",
      "-v", "$WORKDIR:/workdir",
      "-w", "/workdir",
      "$env",
      "$args",
      "$image",
      "/bin/sh", "-ec",
      "command -v git >/dev/null && git config --global --add safe.directory '*'; $cmd",
    ]
  }
}

secret_type "vault" {
  params = ["address", "token", "path"]
  get "exec" {
    path = "/bin/sh"
    args = [
      "-ec",
      <<-EOT
      VAULT_ADDR="$param_address" VAULT_TOKEN="$param_token" \
        vault kv get -format=json "$param_path" | jq -c '.data.data // .data'
      EOT
    ]
  }
}

# Read and parsed (json, yaml, env, raw) by the worker itself.
secret_type "file" {
  params = ["path", "format"]
}

# The node's own secret store.
secret_type "pikoci" {}

# Delivered by the node itself (its notification outbox, docs/notifications.md).
notification_type "http" {
  params = ["url", "base_url"]
}
notification_type "slack" {
  params = ["webhook_url", "base_url"]
}
notification_type "discord" {
  params = ["webhook_url", "base_url"]
}
)hcl";

struct builtin_set {
  pipeline_config cfg;
  hcl::diagnostics errors;  // empty unless the embedded text is broken
};

const builtin_set& builtins() {
  static const builtin_set set = [] {
    builtin_set b;
    // Decoded once, whichever load comes first: never under (and never failing with) that
    // load's budget.
    hcl::budget own;
    hcl::budget_scope scope(own);
    hcl::file f = hcl::parse_file("<builtin>", std::string(builtin_hcl), b.errors);
    auto blocks = check_body(f.root, root_schema(), f.root.rng, b.errors);
    b.cfg.vars = hcl::value::object({});
    decode_definitions(blocks, b.cfg, load_limits{}, b.errors);
    auto mark = [](auto& items) {
      for (auto& t : items) {
        t.builtin = true;
        t.source = "pikoci://" + t.name;
        t.source_resolved = true;
      }
    };
    mark(b.cfg.resource_types);
    mark(b.cfg.runner_types);
    mark(b.cfg.secret_types);
    for (auto& t : b.cfg.secret_types) t.internal = !t.get.has_value();
    mark(b.cfg.notification_types);
    for (auto& t : b.cfg.notification_types) t.delivery = t.name;
    return b;
  }();
  return set;
}

template <class T>
void add_missing(std::vector<T>& declared, const std::vector<T>& defaults) {
  for (const auto& d : defaults) {
    bool overridden = false;
    for (const auto& t : declared) overridden = overridden || t.name == d.name;
    if (!overridden) declared.push_back(d);
  }
}

template <class T>
const T* find_builtin(const std::vector<T>& items, const std::string& name) {
  for (const auto& t : items)
    if (t.name == name) return &t;
  return nullptr;
}

constexpr std::string_view scheme = "pikoci://";

// The name after pikoci://, or nullopt for an http(s) URL; reports anything else.
std::optional<std::string> builtin_name(const std::string& source, const hcl::range& rng,
                                        hcl::diagnostics& diags) {
  if (source.compare(0, scheme.size(), scheme) == 0) return source.substr(scheme.size());
  if (source.rfind("http://", 0) != 0 && source.rfind("https://", 0) != 0) {
    diags.add(rng, "Invalid source",
              quote(source) + " is neither pikoci://<name> nor an http(s):// URL.");
  }
  return std::nullopt;
}

// Fills a declared type from the embedded definition its `source` names; other pikoci:// names
// and URLs stay unresolved for the fetcher (reference §1.12: fetched once, at save time).
template <class T, class Copy>
void resolve_sources(std::vector<T>& declared, const std::vector<T>& defaults,
                     hcl::diagnostics& diags, Copy copy) {
  for (auto& t : declared) {
    if (t.builtin || !t.source) continue;
    auto name = builtin_name(*t.source, t.source_rng, diags);
    if (!name) continue;
    if (const T* b = find_builtin(defaults, *name)) {
      copy(t, *b);
      t.source_resolved = true;
    }
  }
}

}  // namespace

void merge_builtins(pipeline_config& cfg, hcl::diagnostics& diags) {
  const auto& b = builtins();
  diags.append(b.errors);
  resolve_sources(cfg.resource_types, b.cfg.resource_types, diags,
                  [](resource_type& t, const resource_type& from) {
                    t.check = from.check;
                    t.pull = from.pull;
                    t.push = from.push;
                    if (t.params.empty()) t.params = from.params;
                    t.cache = t.cache || from.cache;
                  });
  resolve_sources(cfg.runner_types, b.cfg.runner_types, diags,
                  [](runner_type& t, const runner_type& from) { t.run = from.run; });
  resolve_sources(cfg.secret_types, b.cfg.secret_types, diags,
                  [](secret_type& t, const secret_type& from) {
                    t.get = from.get;
                    t.internal = from.internal;
                    if (t.params.empty()) t.params = from.params;
                  });
  resolve_sources(cfg.notification_types, b.cfg.notification_types, diags,
                  [](notification_type& t, const notification_type& from) {
                    if (!t.notify) t.delivery = from.delivery;
                    if (t.params.empty()) t.params = from.params;
                  });
  // SPEC §7: pikoci:// is reserved for services while no built-in service ships.
  for (auto& t : cfg.service_types) {
    if (!t.source || !builtin_name(*t.source, t.source_rng, diags)) continue;
    diags.add(t.source_rng, "Unavailable built-in service",
              quote(*t.source) +
                  ": no built-in services ship yet; define start/stop inline or "
                  "use an http(s):// source.");
  }
  add_missing(cfg.resource_types, b.cfg.resource_types);
  add_missing(cfg.runner_types, b.cfg.runner_types);
  add_missing(cfg.secret_types, b.cfg.secret_types);
  add_missing(cfg.notification_types, b.cfg.notification_types);
}

}  // namespace pikoci::pipeline::detail
