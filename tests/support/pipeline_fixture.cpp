#include "tests/support/pipeline_fixture.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <doctest/doctest.h>
#include <unistd.h>

namespace pikoci::test {

namespace fs = std::filesystem;

// --- temp_dir --------------------------------------------------------------------------------

temp_dir::temp_dir() {
  static std::atomic<int> counter{0};
  path_ = "/tmp/pikoci-it-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
  fs::remove_all(path_);
  fs::create_directories(path_);
}

temp_dir::~temp_dir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void temp_dir::write(const std::string& name, const std::string& content) const {
  std::string tmp = file("." + name + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
  }
  fs::rename(tmp, file(name));
}

std::string temp_dir::read(const std::string& name) const {
  std::ifstream in(file(name), std::ios::binary);
  if (!in) return {};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> temp_dir::lines(const std::string& name) const {
  std::vector<std::string> out;
  std::istringstream in(read(name));
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(line);
  return out;
}

void temp_dir::remove(const std::string& name) const {
  std::error_code ec;
  fs::remove(file(name), ec);
}

std::string recording_job(const std::string& name, const std::string& log,
                          const std::string& seconds) {
  return "job \"" + name +
         "\" {\n  task \"t\" {\n    run \"exec\" {\n      path = \"/bin/sh\"\n"
         "      args = [\"-c\", \"echo $BUILD_ID >> " +
         log + "; sleep " + seconds + "; echo done\"]\n    }\n  }\n}\n";
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
  return s;
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// --- runtime_node ----------------------------------------------------------------------------

namespace {

std::vector<std::string> with_defaults(std::vector<std::string> args) {
  if (std::find(args.begin(), args.end(), "--concurrency") == args.end())
    args.insert(args.end(), {"--concurrency", "4"});
  if (std::find(args.begin(), args.end(), "--admin-password") == args.end())
    args.insert(args.end(), {"--admin-password", "test-password"});
  return args;
}

json array_or_empty(const http_response& r, const char* key) {
  if (r.status != 200) return json::array();
  auto j = r.json();
  if (!j.is_object() || !j.contains(key) || !j[key].is_array()) return json::array();
  return j[key];
}

}  // namespace

runtime_node::runtime_node(std::vector<std::string> extra_args,
                           const std::map<std::string, std::string>& env)
    : server_(with_defaults(std::move(extra_args)), env), token_(user_token("admin")) {}

http_response runtime_node::call(const std::string& method, const std::string& path,
                                 const std::string& body, const std::string& token) {
  std::map<std::string, std::string> headers;
  if (!token.empty()) headers["Authorization"] = "Bearer " + token;
  if (!body.empty()) headers["Content-Type"] = "application/json";
  return http_request(method, server_.url() + "/api/v1" + path, body, headers);
}

http_response runtime_node::set_pipeline(const std::string& name, const std::string& hcl) {
  auto r = put("/pipelines/" + name, config_body(hcl));
  REQUIRE_MESSAGE((r.status == 201 || r.status == 200), "PUT /pipelines/", name, " -> ", r.status,
                  " ", r.body, "\n", tail());
  return r;
}

json runtime_node::trigger(const std::string& pipeline, const std::string& job) {
  auto r = post("/pipelines/" + pipeline + "/jobs/" + job + "/trigger");
  REQUIRE_MESSAGE(r.status == 201, "trigger ", pipeline, "/", job, " -> ", r.status, " ", r.body,
                  "\n", tail());
  auto j = r.json();
  REQUIRE(j.is_object());
  REQUIRE(j["build"].is_object());
  return j["build"];
}

void runtime_node::check(const std::string& pipeline, const std::string& rc) {
  auto r = post("/pipelines/" + pipeline + "/resources/" + rc + "/check");
  REQUIRE_MESSAGE(r.status == 202, "check ", pipeline, "/", rc, " -> ", r.status, " ", r.body, "\n",
                  tail());
}

void runtime_node::check_and_wait(const std::string& pipeline, const std::string& rc,
                                  std::chrono::milliseconds timeout) {
  auto finished = [&]() -> long {
    auto body = http_get(server_.url() + "/metrics").body;
    const std::string key = "pikoci_check_duration_seconds_count ";
    auto at = body.find(key);
    return at == std::string::npos ? -1 : std::stol(body.substr(at + key.size()));
  };
  auto before = finished();
  check(pipeline, rc);
  REQUIRE_MESSAGE(eventually([&] { return finished() > before; }, timeout), "the check of ", rc,
                  " did not finish\n", tail());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
}

json runtime_node::build(const std::string& pipeline, const std::string& job,
                         const std::string& number) {
  auto r = get("/pipelines/" + pipeline + "/jobs/" + job + "/builds/" + number);
  REQUIRE_MESSAGE(r.status == 200, "GET build ", job, " #", number, " -> ", r.status, " ", r.body);
  auto j = r.json();
  REQUIRE(j.is_object());
  REQUIRE(j["build"].is_object());
  return j["build"];
}

json runtime_node::builds(const std::string& pipeline, const std::string& job) {
  return array_or_empty(get("/pipelines/" + pipeline + "/jobs/" + job + "/builds?limit=0"),
                        "builds");
}

json runtime_node::versions(const std::string& pipeline, const std::string& rc) {
  return array_or_empty(get("/pipelines/" + pipeline + "/resources/" + rc + "/versions?limit=0"),
                        "versions");
}

json runtime_node::resource(const std::string& pipeline, const std::string& canonical) {
  for (const auto& r : array_or_empty(get("/pipelines/" + pipeline + "/resources"), "resources"))
    if (r.value("canonical", "") == canonical) return r;
  return nullptr;
}

json runtime_node::job(const std::string& pipeline, const std::string& job) {
  auto r = get("/pipelines/" + pipeline + "/jobs/" + job);
  REQUIRE_MESSAGE(r.status == 200, "GET job ", job, " -> ", r.status, " ", r.body);
  auto j = r.json();
  REQUIRE(j.is_object());
  REQUIRE(j["job"].is_object());
  return j["job"];
}

namespace {

/// Polls one build until `ready` holds for it; fails the test with `what` otherwise.
template <class Pred>
json wait_for_build(runtime_node& node, const std::string& pipeline, const std::string& job,
                    const std::string& number, std::chrono::milliseconds timeout, Pred ready,
                    const char* what) {
  json last;
  bool done = eventually(
      [&] {
        auto r = node.get("/pipelines/" + pipeline + "/jobs/" + job + "/builds/" + number);
        if (r.status != 200) return false;
        last = r.json();
        return last.is_object() && last["build"].is_object() && ready(last["build"]);
      },
      timeout);
  REQUIRE_MESSAGE(done, "build ", pipeline, "/", job, " #", number, " ", what, ": ", last.dump(),
                  "\n", node.tail());
  return last["build"];
}

}  // namespace

json runtime_node::wait_build(const std::string& pipeline, const std::string& job,
                              const std::string& number, std::chrono::milliseconds timeout) {
  return wait_for_build(*this, pipeline, job, number, timeout, is_finished, "did not finish");
}

json runtime_node::wait_builds(const std::string& pipeline, const std::string& job,
                               std::size_t count, std::chrono::milliseconds timeout) {
  json last = json::array();
  bool done = eventually(
      [&] {
        last = builds(pipeline, job);
        if (last.size() < count) return false;
        return std::all_of(last.begin(), last.end(), [](const json& b) { return is_finished(b); });
      },
      timeout);
  REQUIRE_MESSAGE(done, "job ", pipeline, "/", job, " did not get ", count,
                  " finished builds: ", last.dump(), "\n", tail());
  return last;
}

json runtime_node::wait_started(const std::string& pipeline, const std::string& job,
                                const std::string& number, std::chrono::milliseconds timeout) {
  return wait_for_build(
      *this, pipeline, job, number, timeout, [](const json& b) { return b["status"] == "started"; },
      "did not start");
}

json runtime_node::wait_versions(const std::string& pipeline, const std::string& rc,
                                 std::size_t count, std::chrono::milliseconds timeout) {
  json last = json::array();
  bool done = eventually(
      [&] {
        last = versions(pipeline, rc);
        return last.size() >= count;
      },
      timeout);
  REQUIRE_MESSAGE(done, "resource ", pipeline, "/", rc, " did not get ", count,
                  " versions: ", last.dump(), "\n", tail());
  return last;
}

bool runtime_node::healthy() {
  return call("GET", "/health", "", "").status == 200;
}

// --- build JSON ------------------------------------------------------------------------------

bool is_terminal(const json& status) {
  return status.is_string() && status != "pending" && status != "started" &&
         status != "waiting_for_approval";
}

bool is_finished(const json& build) {
  return build.is_object() && is_terminal(build["status"]) && build["finished_at"].is_string();
}

json find_step(const json& steps, const std::string& name) {
  if (!steps.is_array()) return nullptr;
  for (const auto& s : steps) {
    if (s.value("name", "") == name) return s;
    if (s.contains("steps")) {
      auto child = find_step(s["steps"], name);
      if (!child.is_null()) return child;
    }
  }
  return nullptr;
}

std::string step_logs(const json& build, const std::string& name) {
  auto s = find_step(build.value("steps", json::array()), name);
  if (s.is_null()) s = find_step(build.value("hooks", json::array()), name);
  if (s.is_null() || !s["logs"].is_string()) return {};
  return s["logs"].get<std::string>();
}

namespace {
void collect_logs(const json& steps, std::string& out) {
  if (!steps.is_array()) return;
  for (const auto& s : steps) {
    if (s.contains("logs") && s["logs"].is_string()) out += s["logs"].get<std::string>() + "\n";
    if (s.contains("steps")) collect_logs(s["steps"], out);
  }
}
}  // namespace

std::string all_logs(const json& build) {
  std::string out;
  collect_logs(build.value("steps", json::array()), out);
  collect_logs(build.value("hooks", json::array()), out);
  return out;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

std::string names_of(const json& steps) {
  std::vector<std::string> out;
  if (steps.is_array())
    for (const auto& s : steps) out.push_back(s.value("name", "?"));
  return joined(out);
}

std::string numbers_of(const json& builds) {
  std::vector<std::string> out;
  if (builds.is_array())
    for (const auto& b : builds) out.push_back(b.value("number", "?"));
  return joined(out);
}

std::string config_body(const std::string& hcl) {
  return json{{"config", hcl}}.dump();
}

}  // namespace pikoci::test
