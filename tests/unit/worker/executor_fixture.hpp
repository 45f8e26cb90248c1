#pragma once
// Shared by the executor's tests: a sink that records everything, command and step builders,
// and a fixture with a throwaway work root.

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include "actors/worker/build_executor.hpp"

namespace pikoci::worker::testing {

using namespace std::chrono_literals;

/// Records everything the executor reports.
struct recorder : build_sink {
  std::mutex mu;
  std::vector<std::string> events;             // "start:<name>", "finish:<name>:<status>"
  std::map<std::string, std::string> logs;     // by name
  std::map<std::string, step_result> results;  // by name
  std::optional<build_result> decided;

  void step_started(const step_ref& s) override {
    std::lock_guard<std::mutex> l(mu);
    events.push_back("start:" + s.name);
  }
  void log(const step_ref& s, std::string_view chunk) override {
    std::lock_guard<std::mutex> l(mu);
    logs[s.name].append(chunk);
  }
  void step_finished(const step_ref& s, const step_result& r) override {
    std::lock_guard<std::mutex> l(mu);
    events.push_back("finish:" + s.name + ":" + to_string(r.st));
    results[s.name] = r;
  }
  void build_decided(const build_result& r) override { decided = r; }
  bool started(const std::string& name) { return saw("start:" + name); }
  bool saw(const std::string& event) {
    std::lock_guard<std::mutex> l(mu);
    return std::find(events.begin(), events.end(), event) != events.end();
  }
  /// Position of `event` in the order seen (events.size() when never seen).
  std::size_t index(const std::string& event) {
    std::lock_guard<std::mutex> l(mu);
    return static_cast<std::size_t>(std::find(events.begin(), events.end(), event) -
                                    events.begin());
  }
};

inline work::command_spec shell(const std::string& script) {
  return {{"$shell", {"-ec", "$cmd"}}, {{"shell", "/bin/sh"}, {"cmd", script}}, {}, ""};
}

inline work::step_plan task(const std::string& name, const std::string& script) {
  work::step_plan s;
  s.kind = work::step_kind::task;
  s.name = name;
  s.command = shell(script);
  return s;
}

inline work::hook_plan hook(work::hook_kind k, const std::string& name, const std::string& script) {
  work::hook_plan h;
  h.kind = k;
  h.name = name;
  h.command = shell(script);
  return h;
}

struct fixture {
  std::filesystem::path root =
      std::filesystem::temp_directory_path() / ("pikoci-exec-test-" + std::to_string(getpid()));
  executor_options opts;
  recorder rec;
  build_cancel cancel;
  fixture() {
    std::filesystem::create_directories(root);
    opts.work_root = root;
    opts.worker_env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}};
    opts.grace = 500ms;
  }
  ~fixture() { std::filesystem::remove_all(root); }
  build_result run(work::build_plan plan) {
    plan.build_id = 7;
    plan.env["BUILD_JOB_NAME"] = "unit";
    return execute_build(plan, opts, rec, cancel);
  }
};

}  // namespace pikoci::worker::testing
