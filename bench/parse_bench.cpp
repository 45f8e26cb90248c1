// Benchmark: parse + validate a generated 1,000-job pipeline (target ≤ 100 ms, SPEC §11).
// Prints one JSON line in bench/run's format.
//
//   bench-parse [--runs N] [--jobs J] [--write FILE]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "bench/report.hpp"
#include "config/pipeline/load.hpp"

namespace {

/// A realistic large pipeline: resources, jobs with get/task/put steps, `passed` chains, hooks,
/// heredoc scripts and variable references.
std::string generate(int jobs) {
  std::string s = "variable \"env\" {\n  type    = string\n  default = \"staging\"\n}\n\n";
  s += "resource_type \"counter\" {\n  params = [\"start\"]\n"
       "  check \"shell\" {\n    cmd = \"echo '[{\\\"n\\\":\\\"1\\\"}]'\"\n  }\n"
       "  pull \"shell\" {\n    cmd = \"echo pulled $version_n\"\n  }\n}\n\n";
  int resources = std::max(1, jobs / 20);
  for (int r = 0; r < resources; ++r) {
    s += "resource \"counter\" \"res-" + std::to_string(r) + "\" {\n  check_interval = \"@every " +
         std::to_string(30 + r % 60) + "s\"\n  params {\n    start = \"" + std::to_string(r) +
         "\"\n  }\n}\n\n";
  }
  for (int j = 0; j < jobs; ++j) {
    std::string res = "res-" + std::to_string(j % resources);
    s += "job \"job-" + std::to_string(j) + "\" {\n  concurrency = 2\n";
    s += "  get \"counter\" \"" + res + "\" {\n    trigger = true\n";
    if (j >= resources) s += "    passed  = [\"job-" + std::to_string(j - resources) + "\"]\n";
    s += "  }\n";
    s += "  task \"build\" {\n    timeout = \"10m\"\n    run \"shell\" {\n      cmd = <<-EOT\n"
         "        echo building ${var.env} $GET_" +
         std::to_string(j) +
         "_N\n"
         "        make -j2 target-" +
         std::to_string(j) + "\n      EOT\n    }\n  }\n";
    s += "  task \"test\" {\n    attempts = 2\n    run \"exec\" {\n      path = \"make\"\n"
         "      args = [\"test\", \"${upper(var.env)}\", \"shard-" +
         std::to_string(j % 4) +
         "\"]\n    }\n    on_failure \"shell\" {\n      cmd = \"echo failed\"\n    }\n  }\n";
    s += "  ensure \"exec\" {\n    path = \"true\"\n  }\n}\n\n";
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 20, jobs = 1000;
  const char* write = nullptr;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--runs"))
      runs = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--jobs"))
      jobs = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--write"))
      write = argv[i + 1];
  }
  std::string source = generate(jobs);
  if (write != nullptr) std::ofstream(write) << source;
  std::vector<double> ms;
  for (int r = 0; r < runs; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    auto result = pikoci::pipeline::load("bench.hcl", source, {});
    auto t1 = std::chrono::steady_clock::now();
    if (!result.config) {
      std::fprintf(stderr, "generated pipeline is invalid:\n%s",
                   result.diags.format("bench.hcl").c_str());
      return 1;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  pikoci::bench::report({"parse_validate_" + std::to_string(jobs) + "_jobs", "latency", "ms", 100},
                        ms, false, 0, {{"bytes", source.size()}});
  return 0;
}
