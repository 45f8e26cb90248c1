// Built-in definitions: the HCL files of config/pipeline/builtin/ (embedded in the binary),
// decoded by the same code as user pipelines. Resource, runner, secret and notification types are
// merged into every loaded pipeline unless it defines the same name; any declared type may name
// one with `source = "pikoci://NAME"`; services are used only through such a source.

#include <string_view>

#include "config/pipeline/builtin_files.hpp"
#include "config/pipeline/load_internal.hpp"
#include "config/pipeline/parser.hpp"

namespace pikoci::pipeline::detail {

namespace {

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
    b.cfg.vars = hcl::value::object({});
    for (const auto& file : builtin_files()) {
      hcl::file f = hcl::parse_file("<builtin>/" + std::string(file.path),
                                    std::string(file.text), b.errors);
      auto blocks = check_body(f.root, root_schema(), f.root.rng, b.errors);
      decode_definitions(blocks, b.cfg, load_limits{}, b.errors);
    }
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
    mark(b.cfg.service_types);
    // the kinds the outbox sends itself; the others run their notify command
    for (auto& t : b.cfg.notification_types)
      if (!t.notify) t.delivery = t.name;
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
  if (!is_url_source(source)) {
    diags.add(rng, "Invalid source",
              quote(source) + " is neither pikoci://<name> nor an http(s):// URL.");
  }
  return std::nullopt;
}

// Fills a declared type from the embedded definition its `source` names (a pikoci:// name the
// node does not have is an error); http(s) URLs are left to resolve_url_sources.
template <class T>
void resolve_sources(std::vector<T>& declared, const std::vector<T>& defaults, const char* kind,
                     hcl::diagnostics& diags) {
  for (auto& t : declared) {
    if (t.builtin || !t.source) continue;
    auto name = builtin_name(*t.source, t.source_rng, diags);
    if (!name) continue;
    const T* b = find_builtin(defaults, *name);
    if (b == nullptr) {
      std::string known;
      for (const auto& d : defaults) known += (known.empty() ? "" : ", ") + d.name;
      diags.add(t.source_rng, "Unknown built-in",
                quote(*t.source) + ": this node has no built-in " + kind + " named " +
                    quote(*name) + " (built-in " + kind + "s: " + (known.empty() ? "none" : known) +
                    ").");
      continue;
    }
    adopt(t, *b);
    t.source_resolved = true;
  }
}

}  // namespace

void merge_builtins(pipeline_config& cfg, hcl::diagnostics& diags) {
  const auto& b = builtins();
  diags.append(b.errors);
  resolve_sources(cfg.resource_types, b.cfg.resource_types, "resource type", diags);
  resolve_sources(cfg.runner_types, b.cfg.runner_types, "runner", diags);
  resolve_sources(cfg.secret_types, b.cfg.secret_types, "secret type", diags);
  resolve_sources(cfg.notification_types, b.cfg.notification_types, "notification type", diags);
  resolve_sources(cfg.service_types, b.cfg.service_types, "service", diags);
  add_missing(cfg.resource_types, b.cfg.resource_types);
  add_missing(cfg.runner_types, b.cfg.runner_types);
  add_missing(cfg.secret_types, b.cfg.secret_types);
  add_missing(cfg.notification_types, b.cfg.notification_types);
}

}  // namespace pikoci::pipeline::detail
