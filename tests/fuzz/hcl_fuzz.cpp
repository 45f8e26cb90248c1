// Seeded random and mutation fuzzing of the pipeline language: lexer, parser, evaluator and the
// whole load (variables, decode, validation), and the concurrency group template (parse and
// render). Built with AddressSanitizer and UBSan, so a crash,
// an out-of-bounds access or undefined behaviour fails the run; CTest's timeout catches hangs.
//
//   hcl-fuzz [--iterations N] [--seed S] [--max-bytes B]
//
// Ends with "N passed, 0 failed" (every input handled without a crash).

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "config/pipeline/eval.hpp"
#include "config/pipeline/group_template.hpp"
#include "config/pipeline/load.hpp"
#include "config/pipeline/parser.hpp"

namespace fs = std::filesystem;
using namespace pikoci;

namespace {

/// Fragments that steer random inputs towards interesting syntax.
const std::vector<std::string> dictionary = {
    "{{",
    "}}",
    "{{- ",
    " -}}",
    "{{if .Job}}",
    "{{else}}",
    "{{else if .Args}}",
    "{{end}}",
    "index .Inputs \"k\"",
    ".Webhook.Branch",
    "job",
    "task",
    "get",
    "put",
    "run",
    "\"exec\"",
    "\"shell\"",
    "resource",
    "resource_type",
    "variable",
    "service_type",
    "for_each",
    "matrix",
    "passed",
    "trigger",
    "in_parallel",
    "if",
    "else_if",
    "else",
    "on_success",
    "on_failure",
    "ensure",
    "on_cancel",
    "notify",
    "=",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "\"",
    "${",
    "%{",
    "~}",
    "}",
    "$${",
    "%%{",
    "<<EOT\n",
    "<<-EOT\n",
    "EOT\n",
    "\n",
    " ",
    ",",
    ".",
    ".*",
    "[*]",
    "...",
    "=>",
    "?",
    ":",
    "==",
    "!=",
    "&&",
    "||",
    "!",
    "-",
    "+",
    "*",
    "/",
    "%",
    "<",
    ">=",
    "for",
    "in",
    "endif",
    "endfor",
    "var.x",
    "each.key",
    "each.value",
    "true",
    "false",
    "null",
    "0",
    "1.5e3",
    "\\n",
    "\\u00e9",
    "\\",
    "#",
    "//",
    "/*",
    "*/",
    "upper(",
    "length(",
    "toset(",
    "range(",
    "format(",
    "jsondecode(",
    "regex(",
    "split(",
    "join(",
    "merge(",
    "lookup(",
    "\xff",
    "\xc3",
    "\xe2\x80\x9c",
    "\t",
    "\r\n",
    "'",
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> load_seeds() {
  std::vector<std::string> seeds;
  for (const char* dir : {"samples", "tests/differential/corpus"}) {
    fs::path d = fs::path(PIKOCI_SOURCE_DIR) / dir;
    if (!fs::exists(d)) continue;
    for (const auto& e : fs::directory_iterator(d))
      if (e.path().extension() == ".hcl") seeds.push_back(read_file(e.path()));
  }
  seeds.push_back("a = 1\n");
  return seeds;
}

class generator {
 public:
  generator(std::uint64_t seed, std::size_t max_bytes) : rng_(seed), max_bytes_(max_bytes) {}

  /// A mutation of `s` (the group template inputs).
  std::string mutated(const std::string& s) { return mutate(s); }

  std::string next(const std::vector<std::string>& seeds) {
    switch (pick(8)) {
      case 0:
        return token_soup();
      case 1:
        return deep_nesting();
      case 2:
        return huge_string();
      default:
        return mutate(seeds[pick(seeds.size())]);
    }
  }

 private:
  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }

  std::string token_soup() {
    std::string s;
    std::size_t n = 1 + pick(200);
    for (std::size_t i = 0; i < n && s.size() < max_bytes_; ++i)
      s += dictionary[pick(dictionary.size())];
    return s;
  }

  std::string deep_nesting() {
    static const std::vector<std::pair<std::string, std::string>> shapes = {
        {"[", "]"}, {"{a=", "}"}, {"(", ")"},  {"\"${", "}\""},           {"b {\n", "}\n"},
        {"-", ""},  {"!", ""},    {"f(", ")"}, {"%{if true}", "%{endif}"}};
    const auto& [open, close] = shapes[pick(shapes.size())];
    std::size_t depth = 1 + pick(5000);
    std::string s = open.front() == 'b' ? "" : "a = ";
    for (std::size_t i = 0; i < depth && s.size() < max_bytes_ / 2; ++i) s += open;
    s += "1";
    if (pick(2) == 0)
      for (std::size_t i = 0; i < depth && s.size() < max_bytes_; ++i) s += close;
    return s + "\n";
  }

  std::string huge_string() {
    std::size_t n = 1 + pick(max_bytes_);
    switch (pick(4)) {
      case 0:
        return "a = \"" + std::string(n, 'x') + "\"\n";
      case 1:
        return "a = <<EOT\n" + std::string(n, 'y') + "\n";  // unterminated heredoc
      case 2: {
        std::string s(n, '\0');
        for (auto& c : s) c = static_cast<char>(pick(256));
        return s;
      }
      default:
        return std::string(n, '{');
    }
  }

  std::string mutate(std::string s) {
    std::size_t rounds = 1 + pick(8);
    for (std::size_t r = 0; r < rounds; ++r) {
      std::size_t at = s.empty() ? 0 : pick(s.size() + 1);
      switch (pick(6)) {
        case 0:
          if (!s.empty() && at < s.size())
            s.erase(at, 1 + pick(std::min<std::size_t>(16, s.size() - at)));
          break;
        case 1:
          s.insert(at, dictionary[pick(dictionary.size())]);
          break;
        case 2:
          if (at < s.size()) s[at] = static_cast<char>(pick(256));
          break;
        case 3:
          if (!s.empty()) {
            std::size_t from = pick(s.size());
            std::size_t len = 1 + pick(std::min<std::size_t>(64, s.size() - from));
            if (s.size() + len < max_bytes_) s.insert(at, s.substr(from, len));
          }
          break;
        case 4:
          s.insert(at, "\n");
          break;
        default:
          if (at < s.size()) s.resize(at);  // truncate: unterminated everything
          break;
      }
    }
    if (s.size() > max_bytes_) s.resize(max_bytes_);
    return s;
  }

  std::mt19937_64 rng_;
  std::size_t max_bytes_;
};

/// Evaluates every attribute of a body tree, as the differential dump does.
void evaluate_all(const hcl::body& b, const hcl::eval_context& ctx, std::size_t& values) {
  for (const auto& a : b.attributes) {
    hcl::diagnostics d;
    if (hcl::evaluate(*a.value, ctx, d)) ++values;
  }
  for (const auto& blk : b.blocks) evaluate_all(*blk.content, ctx, values);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t iterations = 100000;
  std::uint64_t seed = 20261122;
  std::size_t max_bytes = 64 * 1024;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--iterations"))
      iterations = std::stoull(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seed"))
      seed = std::stoull(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--max-bytes"))
      max_bytes = std::stoull(argv[i + 1]);
  }
  auto seeds = load_seeds();
  generator gen(seed, max_bytes);
  hcl::eval_context ctx;
  ctx.variables["var"] = hcl::value::object(
      {{"x", hcl::value::string("X")},
       {"n", hcl::value::number(3)},
       {"l", hcl::value::tuple({hcl::value::string("a"), hcl::value::string("b")})}});
  // group templates (SPEC §6.1): mutated from these, rendered against a trigger
  const std::vector<std::string> template_seeds = {
      "deploy-{{.Pipeline}}-{{index .Inputs \"env\"}}",
      "{{if .Webhook.Branch}}{{.Webhook.Branch}}{{else if .Args}}{{index .Args 0}}{{else}}x{{end}}",
      "{{- .Job -}}/{{index .Webhook.Headers \"X-Event\"}}"};
  const nlohmann::json trigger = {
      {"Pipeline", "p"},
      {"Job", "j"},
      {"Args", {"a", "b"}},
      {"Inputs", {{"env", "prod"}}},
      {"Webhook", {{"Branch", "main"}, {"Headers", {{"X-Event", "push"}}}}}};
  std::size_t templates = 0;
  std::size_t rejected = 0, values = 0, loaded = 0;
  auto start = std::chrono::steady_clock::now();
  double slowest = 0;
  for (std::size_t i = 0; i < iterations; ++i) {
    std::string input = gen.next(seeds);
    auto t0 = std::chrono::steady_clock::now();
    hcl::diagnostics diags;
    auto f = hcl::parse_file("fuzz.hcl", input, diags);
    if (diags.has_errors()) ++rejected;
    evaluate_all(f.root, ctx, values);
    // the whole load pipeline, on a fraction of inputs (it re-parses)
    if (i % 4 == 0) {
      auto r = pipeline::load("fuzz.hcl", input, {});
      if (r.config) ++loaded;
    }
    auto tpl =
        pipeline::group_template::parse(gen.mutated(template_seeds[i % template_seeds.size()]));
    if (auto* t = std::get_if<pipeline::group_template>(&tpl)) {
      (void)t->render(trigger);
      ++templates;
    }
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (ms > slowest) slowest = ms;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "hcl-fuzz: seed=%llu inputs=%zu rejected=%zu values=%zu loaded=%zu templates_parsed=%zu "
      "seconds=%.1f slowest_ms=%.1f\n",
      static_cast<unsigned long long>(seed), iterations, rejected, values, loaded, templates, secs,
      slowest);
  std::printf("%zu passed, 0 failed\n", iterations);
  return 0;
}
