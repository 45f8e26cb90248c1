#pragma once
// Helpers for runtime integration tests: a started node with an admin token and JSON helpers for
// the REST API (docs/api.md), a temporary directory the test's pipelines read and write (so the
// test decides when a resource has a new version), and bounded polling.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

namespace pikoci::test {

using json = nlohmann::json;

/// A fresh directory under /tmp, removed (with its content) at the end.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  /// Replaces `name` atomically (write + rename), so a concurrent reader sees old or new.
  void write(const std::string& name, const std::string& content) const;
  /// The file's content, "" when it does not exist.
  std::string read(const std::string& name) const;
  /// The file's non-empty lines.
  std::vector<std::string> lines(const std::string& name) const;
  void remove(const std::string& name) const;

 private:
  std::string path_;
};

/// A job whose task appends its build id to the file `log` (so a test can count runs), then
/// sleeps `seconds` and prints "done".
std::string recording_job(const std::string& name, const std::string& log,
                          const std::string& seconds);

/// `s` with every `from` replaced by `to`.
std::string replace_all(std::string s, const std::string& from, const std::string& to);

/// Polls `pred` every 50 ms until it holds or `timeout` passes; returns whether it held.
bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(20));

/// A started pikoci-node (--concurrency 4 unless `extra_args` say otherwise) and an admin token.
class runtime_node {
 public:
  explicit runtime_node(std::vector<std::string> extra_args = {},
                        const std::map<std::string, std::string>& env = {});

  node_server& server() { return server_; }
  const std::string& token() const { return token_; }
  /// The node's log tail, for failure messages.
  std::string tail() { return server_.process().tail(60); }

  /// A request to `/api/v1` + `path` with `token` ("" sends no Authorization header).
  http_response call(const std::string& method, const std::string& path, const std::string& body,
                     const std::string& token);
  http_response get(const std::string& path) { return call("GET", path, "", token_); }
  http_response post(const std::string& path, const std::string& body = "") {
    return call("POST", path, body, token_);
  }
  http_response put(const std::string& path, const std::string& body) {
    return call("PUT", path, body, token_);
  }
  http_response del(const std::string& path) { return call("DELETE", path, "", token_); }

  /// PUT /pipelines/{name} {"config": hcl}; requires 200 or 201 and returns the response.
  http_response set_pipeline(const std::string& name, const std::string& hcl);
  /// POST .../jobs/{job}/trigger; requires 201 and returns the build summary.
  json trigger(const std::string& pipeline, const std::string& job);
  /// POST .../resources/{rc}/check; requires 202.
  void check(const std::string& pipeline, const std::string& rc);
  /// check(), then waits until a check has finished (the count of /metrics' check durations)
  /// and gives the node a moment to record what it found; fails the test on timeout.
  void check_and_wait(const std::string& pipeline, const std::string& rc,
                      std::chrono::milliseconds timeout = std::chrono::seconds(20));
  /// GET .../jobs/{job}/builds/{number}; requires 200 and returns the full build.
  json build(const std::string& pipeline, const std::string& job, const std::string& number);
  /// GET .../jobs/{job}/builds?limit=0 (newest first); an empty array when the route fails.
  json builds(const std::string& pipeline, const std::string& job);
  /// GET .../resources/{rc}/versions?limit=0 (newest first); an empty array when it fails.
  json versions(const std::string& pipeline, const std::string& rc);
  /// The resource named `canonical` from GET .../resources; null when absent.
  json resource(const std::string& pipeline, const std::string& canonical);
  /// GET .../jobs/{job}; requires 200 and returns the job.
  json job(const std::string& pipeline, const std::string& job);

  /// Waits until the build is finished (is_finished) and returns it in full; fails the test on
  /// timeout.
  json wait_build(const std::string& pipeline, const std::string& job, const std::string& number,
                  std::chrono::milliseconds timeout = std::chrono::seconds(20));
  /// Waits until the job has at least `count` builds, all finished; returns them (newest first).
  json wait_builds(const std::string& pipeline, const std::string& job, std::size_t count,
                   std::chrono::milliseconds timeout = std::chrono::seconds(20));
  /// Waits until the build has status `started`; fails the test on timeout.
  json wait_started(const std::string& pipeline, const std::string& job, const std::string& number,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20));
  /// Waits until the resource has at least `count` versions; returns them (newest first).
  json wait_versions(const std::string& pipeline, const std::string& rc, std::size_t count,
                     std::chrono::milliseconds timeout = std::chrono::seconds(20));

  /// GET /health is 200 (the node survived whatever came before).
  bool healthy();

 private:
  node_server server_;
  std::string token_;
};

/// Terminal build statuses (SPEC §3.2): all but pending and started.
bool is_terminal(const json& status);
/// A terminal status and a finished_at: the build and its job hooks are over (the status is
/// final before the job hooks run, reference §5.4).
bool is_finished(const json& build);
/// The step named `name` in `steps` or any nested in_parallel `steps`; null when absent.
json find_step(const json& steps, const std::string& name);
/// The logs of the step named `name` in the build's steps (nested included); "" when absent.
std::string step_logs(const json& build, const std::string& name);
/// The logs of every step and hook of the build, concatenated.
std::string all_logs(const json& build);
/// The names of the top-level entries of `steps` (a build's "steps" or "hooks"), in order,
/// joined with ",".
std::string names_of(const json& steps);
/// The number of each build of a list (newest first, as the API returns them), joined with ",".
std::string numbers_of(const json& builds);
/// `items` joined with ",".
std::string joined(const std::vector<std::string>& items);
/// `{"config": hcl}` as a request body.
std::string config_body(const std::string& hcl);

}  // namespace pikoci::test
