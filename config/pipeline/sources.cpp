// `source = "http(s)://..."` on resource, runner, secret, notification and service types
// (reference §1.3–§1.8): each URL is fetched once, when the pipeline is set, and its definition
// decoded like an inline one. `pikoci://` names are resolved by builtin.cpp with the same `adopt`.

#include <algorithm>

#include "config/pipeline/load.hpp"
#include "config/pipeline/load_internal.hpp"
#include "config/pipeline/parser.hpp"

namespace pikoci::pipeline::detail {

void adopt(resource_type& t, const resource_type& from) {
  t.check = from.check;
  t.pull = from.pull;
  t.push = from.push;
  if (t.params.empty()) t.params = from.params;
  if (!t.runner) t.runner = from.runner;
  t.cache = t.cache || from.cache;
}

void adopt(runner_type& t, const runner_type& from) {
  t.run = from.run;
}

void adopt(secret_type& t, const secret_type& from) {
  t.get = from.get;
  t.internal = from.internal;
  if (t.params.empty()) t.params = from.params;
  if (!t.runner) t.runner = from.runner;
}

void adopt(notification_type& t, const notification_type& from) {
  t.notify = from.notify;
  t.delivery = from.delivery;
  if (t.params.empty()) t.params = from.params;
  if (!t.runner) t.runner = from.runner;
}

void adopt(service_type& t, const service_type& from) {
  t.start = from.start;
  t.ready_check = from.ready_check;
  t.stop = from.stop;
  if (t.params.empty()) t.params = from.params;
  if (!t.runner) t.runner = from.runner;
}

bool is_url_source(const std::string& source) {
  return source.rfind("http://", 0) == 0 || source.rfind("https://", 0) == 0;
}

namespace {

/// Per kind: its block keyword, its list in a config, and whether a definition can run.
template <class T>
struct kind_of;
template <>
struct kind_of<resource_type> {
  static constexpr const char* block = "resource_type";
  static auto& list(pipeline_config& c) { return c.resource_types; }
  static bool runnable(const resource_type& t) { return t.check || t.pull || t.push; }
};
template <>
struct kind_of<runner_type> {
  static constexpr const char* block = "runner_type";
  static auto& list(pipeline_config& c) { return c.runner_types; }
  static bool runnable(const runner_type& t) { return t.run.has_value(); }
};
template <>
struct kind_of<secret_type> {
  static constexpr const char* block = "secret_type";
  static auto& list(pipeline_config& c) { return c.secret_types; }
  static bool runnable(const secret_type& t) { return t.get || t.internal; }
};
template <>
struct kind_of<notification_type> {
  static constexpr const char* block = "notification_type";
  static auto& list(pipeline_config& c) { return c.notification_types; }
  static bool runnable(const notification_type& t) { return t.notify || !t.delivery.empty(); }
};
template <>
struct kind_of<service_type> {
  static constexpr const char* block = "service_type";
  static auto& list(pipeline_config& c) { return c.service_types; }
  static bool runnable(const service_type& t) { return t.start.has_value(); }
};

/// The fetched text as a pipeline holding the definition: taken as is when it declares a block
/// of the kind, else wrapped as the body of one named `name` (one line above the text). Text
/// that does not parse is refused as it is, so its errors point into it.
struct wrapped {
  std::string text;
  int lines_added = 0;
  hcl::diagnostics syntax;
};
wrapped as_pipeline(const std::string& url, const std::string& text, const char* block,
                    const std::string& name) {
  wrapped w;
  auto f = hcl::parse_file(url, text, w.syntax);
  if (w.syntax.has_errors()) return w;
  for (const auto& b : f.root.blocks)
    if (b.type == block) {
      w.text = text;
      return w;
    }
  w.text = std::string(block) + " " + quote(name) + " {\n" + text + "\n}\n";
  w.lines_added = 1;
  return w;
}

/// "URL:LINE:COL: message" of the first error, at its place in the fetched text.
std::string first_error(const std::string& url, const hcl::diagnostics& diags, int lines_added) {
  const auto& d = diags.items().front();
  int line = std::max(1, d.rng.start.line - lines_added);
  return url + ":" + std::to_string(line) + ":" + std::to_string(d.rng.start.column) + ": " +
         d.message();
}

/// Errors about the adopted commands point at the `source` attribute: their own positions are
/// in the fetched file, not in the pipeline.
void point_at(std::optional<runner_command>& c, const hcl::range& rng) {
  if (c) c->rng = c->runner_rng = rng;
}
void point_at(std::optional<runner_override>& o, const hcl::range& rng) {
  if (o) o->rng = o->runner_rng = rng;
}
void point_all_at(resource_type& t) {
  for (auto* c : {&t.check, &t.pull, &t.push}) point_at(*c, t.source_rng);
  point_at(t.runner, t.source_rng);
}
void point_all_at(runner_type& t) {
  point_at(t.run, t.source_rng);
}
void point_all_at(secret_type& t) {
  point_at(t.get, t.source_rng);
  point_at(t.runner, t.source_rng);
}
void point_all_at(notification_type& t) {
  point_at(t.notify, t.source_rng);
  point_at(t.runner, t.source_rng);
}
void point_all_at(service_type& t) {
  for (auto* c : {&t.start, &t.ready_check, &t.stop}) point_at(*c, t.source_rng);
  point_at(t.runner, t.source_rng);
}

template <class T>
void resolve_kind(pipeline_config& cfg, const load_options& opts, hcl::diagnostics& diags,
                  hcl::diagnostics& notes) {
  using K = kind_of<T>;
  for (auto& t : K::list(cfg)) {
    if (t.builtin || t.source_resolved || !t.source || !is_url_source(*t.source)) continue;
    const std::string& url = *t.source;
    std::string who = std::string(K::block) + " " + quote(t.name);
    if (!opts.fetch) {
      if (opts.offline)
        notes.add(
            t.source_rng, "Source not fetched",
            who + ": " + quote(url) + " was not fetched (offline); its definition is not checked.");
      else
        diags.add(t.source_rng, "Source not fetched",
                  who + ": " + quote(url) +
                      " cannot be fetched here (a fetched definition cannot fetch further "
                      "sources).");
      continue;
    }
    auto got = opts.fetch(url);
    if (!got.body) {
      diags.add(t.source_rng, "Cannot fetch source",
                who + ": fetching " + quote(url) + " failed: " + got.error);
      continue;
    }
    auto text = as_pipeline(url, *got.body, K::block, t.name);
    auto sub = text.syntax.has_errors() ? load_result{std::nullopt, text.syntax, {}}
                                        : load(url, std::move(text.text), {});
    if (!sub.config) {
      sub.diags.sort();
      diags.add(t.source_rng, "Invalid source",
                who + ": the definition fetched from " + quote(url) +
                    " is invalid: " + first_error(url, sub.diags, text.lines_added));
      continue;
    }
    const T* from = nullptr;
    for (const auto& d : K::list(*sub.config)) {
      if (d.builtin) continue;
      if (from == nullptr || d.name == t.name) from = &d;
      if (d.name == t.name) break;
    }
    if (from == nullptr || !K::runnable(*from)) {
      diags.add(t.source_rng, "Invalid source",
                who + ": " + quote(url) + " defines no " + K::block + " with commands.");
      continue;
    }
    adopt(t, *from);
    point_all_at(t);
    t.source_resolved = true;
    cfg.fetched_sources[url] = *got.body;
  }
}

}  // namespace

void resolve_url_sources(pipeline_config& cfg, const load_options& opts, hcl::diagnostics& diags,
                         hcl::diagnostics& notes) {
  resolve_kind<resource_type>(cfg, opts, diags, notes);
  resolve_kind<runner_type>(cfg, opts, diags, notes);
  resolve_kind<secret_type>(cfg, opts, diags, notes);
  resolve_kind<notification_type>(cfg, opts, diags, notes);
  resolve_kind<service_type>(cfg, opts, diags, notes);
}

}  // namespace pikoci::pipeline::detail
