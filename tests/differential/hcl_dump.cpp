// hcl-dump: our side of the differential test (the twin of tests/differential/hcl2json). Parses a
// file with pikoci::hcl::parse_file, evaluates every attribute of the body tree and prints
//   {"body": {"attributes": {...}, "blocks": [{"type", "labels", "body"}...]}}   or
//   {"errors": [{"line", "column", "summary", "detail"}...]}
// Usage: hcl-dump FILE [--vars VARS.json]  |  hcl-dump --batch [--vars VARS.json] (paths on stdin)
#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "config/pipeline/eval.hpp"
#include "config/pipeline/parser.hpp"

using nlohmann::json;
namespace h = pikoci::hcl;

namespace {

// The same function set as the Go side: the reference's functions that go-cty's stdlib has.
const h::function_table& shared_functions() {
  static const h::function_table table = [] {
    static const char* names[] = {"abs",
                                  "ceil",
                                  "floor",
                                  "log",
                                  "max",
                                  "min",
                                  "parseint",
                                  "pow",
                                  "signum",
                                  "chomp",
                                  "format",
                                  "formatlist",
                                  "indent",
                                  "join",
                                  "lower",
                                  "upper",
                                  "replace",
                                  "split",
                                  "strlen",
                                  "strrev",
                                  "substr",
                                  "title",
                                  "trim",
                                  "trimprefix",
                                  "trimsuffix",
                                  "trimspace",
                                  "regex",
                                  "regexall",
                                  "regexreplace",
                                  "chunklist",
                                  "coalesce",
                                  "coalescelist",
                                  "compact",
                                  "concat",
                                  "contains",
                                  "distinct",
                                  "element",
                                  "flatten",
                                  "keys",
                                  "length",
                                  "lookup",
                                  "merge",
                                  "range",
                                  "reverse",
                                  "slice",
                                  "sort",
                                  "values",
                                  "zipmap",
                                  "setproduct",
                                  "setintersection",
                                  "setunion",
                                  "setsubtract",
                                  "setsymmetricdifference",
                                  "csvdecode",
                                  "jsondecode",
                                  "jsonencode",
                                  "formatdate",
                                  "timeadd",
                                  "tostring",
                                  "tonumber",
                                  "tobool",
                                  "tolist",
                                  "toset",
                                  "tomap"};
    h::function_table t;
    const auto& all = h::builtin_functions();
    for (const char* n : names) {
      auto it = all.find(n);
      if (it != all.end()) t.emplace(it->first, it->second);
    }
    return t;
  }();
  return table;
}

// Parse errors in the order they were found, evaluation errors sorted by position.
json errors_of(h::diagnostics& diags, bool sorted) {
  if (sorted) diags.sort();
  json out = json::array();
  for (const auto& d : diags)
    out.push_back({{"line", d.rng.start.line},
                   {"column", d.rng.start.column},
                   {"summary", d.summary},
                   {"detail", d.detail}});
  return json{{"errors", out}};
}

json walk(const h::body& b, const h::eval_context& ctx, h::diagnostics& diags) {
  json attrs = json::object(), blocks = json::array();
  for (const auto& a : b.attributes) {
    if (!a.value) continue;
    if (auto v = h::evaluate(*a.value, ctx, diags)) attrs[a.name] = h::to_json(*v);
  }
  for (const auto& blk : b.blocks)
    blocks.push_back(
        {{"type", blk.type},
         {"labels", blk.labels},
         {"body", blk.content ? walk(*blk.content, ctx, diags)
                              : json{{"attributes", json::object()}, {"blocks", json::array()}}}});
  return json{{"attributes", attrs}, {"blocks", blocks}};
}

json dump(const std::string& path, const h::eval_context& ctx) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return json{{"errors", {{{"line", 0}, {"column", 0}, {"summary", "cannot read " + path}}}}};
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    h::diagnostics diags;
    h::file f = h::parse_file(path, ss.str(), diags);
    if (diags.has_errors()) return errors_of(diags, false);
    json body = walk(f.root, ctx, diags);
    if (diags.has_errors()) return errors_of(diags, true);
    return json{{"body", body}};
  } catch (const std::exception& e) {
    return json{{"crash", std::string("exception: ") + e.what()}};
  }
}

std::string text(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

int main(int argc, char** argv) {
  std::string file, vars_path;
  bool batch = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--vars" && i + 1 < argc)
      vars_path = argv[++i];
    else if (a == "--batch")
      batch = true;
    else if (file.empty() && a.rfind("--", 0) != 0)
      file = a;
    else
      file.clear(), batch = false, i = argc;  // usage error
  }
  if (file.empty() == !batch) {
    std::cerr << "usage: hcl-dump FILE [--vars VARS.json] | hcl-dump --batch [--vars VARS.json]\n";
    return 2;
  }
  json vars = json::object();
  if (!vars_path.empty()) {
    std::ifstream in(vars_path);
    vars = json::parse(in, nullptr, false);
    if (!vars.is_object()) {
      std::cerr << "hcl-dump: " << vars_path << ": not a JSON object\n";
      return 2;
    }
  }
  h::eval_context ctx;
  ctx.functions = &shared_functions();
  ctx.variables["var"] = h::from_json(vars);
  // The type keywords of `variable "x" { type = string }`, as the Go side defines them.
  for (const char* kw : {"string", "number", "bool"}) ctx.variables[kw] = h::value::string(kw);

  if (!batch) {
    std::cout << text(dump(file, ctx)) << '\n';
    return 0;
  }
  for (std::string line; std::getline(std::cin, line);)
    if (!line.empty()) std::cout << text(dump(line, ctx)) << '\n' << std::flush;
  return 0;
}
