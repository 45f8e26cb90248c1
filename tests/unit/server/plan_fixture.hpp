#pragma once
// Helpers of the plan tests: load a pipeline, run a plan through the real executor in a scratch
// work root, and record which steps started and what they printed.

#include <unistd.h>

#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "actors/worker/build_executor.hpp"
#include "config/pipeline/load.hpp"

namespace pikoci::test {

inline pipeline::pipeline_config load(const std::string& hcl) {
  auto r = pipeline::load("p.hcl", hcl, {});
  REQUIRE_MESSAGE(r.config.has_value(), r.diags.format("p.hcl"));
  return *r.config;
}

struct recorder : worker::build_sink {
  std::mutex mu;
  std::vector<std::string> order;    // step names, as they started
  std::vector<std::string> started;  // type:name, as they started
  std::map<std::string, std::string> logs;
  void step_started(const work::step_ref& s) override {
    std::lock_guard<std::mutex> l(mu);
    order.push_back(s.name);
    started.push_back(s.type + ":" + s.name);
  }
  void log(const work::step_ref& s, std::string_view c) override {
    std::lock_guard<std::mutex> l(mu);
    logs[s.name].append(c);
  }
  void step_finished(const work::step_ref&, const work::step_result&) override {}
};

inline work::build_result execute(const work::build_plan& plan, recorder& rec) {
  auto root = std::filesystem::temp_directory_path() / ("pikoci-plan-" + std::to_string(getpid()));
  worker::executor_options opts;
  opts.work_root = root;
  opts.worker_env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}};
  worker::build_cancel cancel;
  auto result = worker::execute_build(plan, opts, rec, cancel);
  std::filesystem::remove_all(root);
  return result;
}

}  // namespace pikoci::test
