// `service_type "x" { source = "https://..." }` (SPEC §7): the definition is fetched
// once when the pipeline is set and decoded like an inline one.

#include "config/pipeline/load.hpp"
#include "config/pipeline/load_internal.hpp"
#include "config/pipeline/parser.hpp"

namespace pikoci::pipeline::detail {
namespace {

bool is_http(const std::string& url) {
  return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
}

/// The fetched text as a pipeline holding one service type named `name`: taken as is when it
/// declares a `service_type` block, else wrapped as that block's body.
std::string as_pipeline(const std::string& url, const std::string& text, const std::string& name) {
  hcl::diagnostics ignored;
  auto f = hcl::parse_file(url, text, ignored);
  if (!ignored.has_errors())
    for (const auto& b : f.root.blocks)
      if (b.type == "service_type") return text;
  return "service_type " + quote(name) + " {\n" + text + "\n}\n";
}

}  // namespace

void resolve_service_sources(pipeline_config& cfg, const fetch_fn& fetch, hcl::diagnostics& diags) {
  if (!fetch) return;
  for (auto& t : cfg.service_types) {
    if (!t.source || !is_http(*t.source)) continue;
    const std::string& url = *t.source;
    auto got = fetch(url);
    if (!got.body) {
      diags.add(
          t.source_rng, "Cannot fetch service source",
          "service_type " + quote(t.name) + ": fetching " + quote(url) + " failed: " + got.error);
      continue;
    }
    auto sub = load(url, as_pipeline(url, *got.body, t.name), {});
    if (!sub.config) {
      std::string first = sub.diags.format(url);
      first = first.substr(0, first.find('\n'));
      diags.add(t.source_rng, "Invalid service source",
                "service_type " + quote(t.name) + ": the definition fetched from " + quote(url) +
                    " is invalid: " + first);
      continue;
    }
    const service_type* from = nullptr;
    for (const auto& s : sub.config->service_types)
      if (from == nullptr || s.name == t.name) from = &s;
    if (from == nullptr || from->source || !from->start) {
      diags.add(t.source_rng, "Invalid service source",
                "service_type " + quote(t.name) + ": " + quote(url) +
                    " does not define a service with a start command (and no source of its own)");
      continue;
    }
    t.start = from->start;
    t.ready_check = from->ready_check;
    t.stop = from->stop;
    if (t.params.empty()) t.params = from->params;
    if (!t.runner) t.runner = from->runner;
  }
}

}  // namespace pikoci::pipeline::detail
