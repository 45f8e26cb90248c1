// Limits of the pipeline language against the real binary: a linear-time regex engine, the
// evaluation budget (memory, time, counts) answering 422 with positions, loads that do not stall
// other pipelines' routes, and the name rule for pipelines, jobs and resources.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <thread>

#include <unistd.h>

#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

std::chrono::milliseconds since(clock_type::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
}

/// A pipeline whose one job's task prints `expr` (an HCL expression giving a string).
std::string task_printing(const std::string& expr) {
  return R"(
job "j" {
  task "t" {
    run "exec" {
      path = "echo"
      args = [)" +
         expr + R"(]
    }
  }
}
)";
}

/// The 422 of an invalid pipeline: its message and first diagnostic's line.
void expect_invalid(const http_response& r, const std::string& message_part, int line) {
  INFO(r.body);
  CHECK(r.status == 422);
  auto j = r.json();
  REQUIRE(j.is_object());
  CHECK(j["error"]["code"] == "invalid_pipeline");
  CHECK(j["error"]["message"].get<std::string>().find(message_part) != std::string::npos);
  REQUIRE(j["diagnostics"].is_array());
  REQUIRE(j["diagnostics"].size() >= 1);
  CHECK(j["diagnostics"][0]["line"] == line);
  CHECK(j["diagnostics"][0]["column"].get<int>() > 0);
}

std::string write_temp(const std::string& name, const std::string& content) {
  std::string path = "/tmp/pikoci-limits-" + std::to_string(getpid()) + "-" + name;
  std::ofstream(path) << content;
  return path;
}

// A grid of 1000^3 numbers: far past any memory budget.
const char* const nested_for =
    "tostring(length(flatten([for a in range(1000) : [for b in range(1000) : "
    "[for c in range(1000) : c]]])))";

}  // namespace

TEST_SUITE("language_limits") {
  TEST_CASE("a catastrophic regex in a PUT pipeline answers within a second") {
    runtime_node node;
    node.set_pipeline("warm", task_printing("\"hi\""));
    const std::string subject = "\"" + std::string(40, 'a') + "!\"";
    auto start = clock_type::now();
    auto r = node.put(
        "/pipelines/re",
        config_body(task_printing("tostring(length(regexall(\"(a+)+$\", " + subject +
                                  "))), replace(" + subject + ", \"/(a|aa)+$/\", \"x\")")));
    auto took = since(start);
    INFO(r.body, node.tail());
    CHECK(r.status == 201);
    CHECK(took < 1000ms);
    // A pattern outside Go's syntax is a 422 at its position, not a stall or a crash.
    auto bad =
        node.put("/pipelines/re2", config_body(task_printing("regex(\"(a)\\\\1\", \"aa\")")));
    expect_invalid(bad, "invalid regular expression", 6);
    CHECK(node.healthy());
  }

  TEST_CASE("nested for expressions past the memory budget answer 422 with their position") {
    runtime_node node;
    auto start = clock_type::now();
    auto r = node.put("/pipelines/grid", config_body(task_printing(nested_for)));
    auto took = since(start);
    expect_invalid(r, "Evaluation memory budget exceeded", 6);
    CHECK(took < 15000ms);
    CHECK(node.healthy());
    // The process did not grow towards gigabytes: it stays far below 1 GiB resident.
    std::ifstream statm("/proc/" + std::to_string(node.server().process().pid()) + "/statm");
    long pages = 0, resident = 0;
    statm >> pages >> resident;
    CHECK(resident * sysconf(_SC_PAGESIZE) < 1024L * 1024 * 1024);

    // `pikoci-node validate` applies the same budget: FILE:LINE:COL and exit 1.
    auto path = write_temp("grid.hcl", task_printing(nested_for));
    auto v = run_command({node_binary(), "validate", path}, 60s);
    std::remove(path.c_str());
    INFO(v.output);
    CHECK(v.exit_code == 1);
    CHECK(v.output.find(path + ":6:") != std::string::npos);
    CHECK(v.output.find("Evaluation memory budget exceeded") != std::string::npos);
  }

  TEST_CASE("a 100k-instance for_each is refused at once and the node stays responsive") {
    runtime_node node;
    node.set_pipeline("other", task_printing("\"hi\""));
    auto start = clock_type::now();
    auto r = node.put("/pipelines/wide", config_body(R"(
job "fan" {
  for_each = toset(flatten([for a in range(1000) : [for b in range(100) : "k${a}-${b}"]]))
  task "t" {
    run "exec" {
      path = "echo"
    }
  }
}
)"));
    auto took = since(start);
    expect_invalid(r, "Too many job instances", 3);
    CHECK(r.body.find("at most 1000 instances; this one gives 100000") != std::string::npos);
    CHECK(took < 10000ms);
    CHECK(node.get("/pipelines/other").status == 200);
  }

  TEST_CASE("during a slow heavy PUT, other pipelines' routes answer promptly") {
    // A memory budget out of reach, so that the heavy load runs until its 4 s time budget.
    runtime_node node({"--pipeline-eval-memory", "65536", "--pipeline-eval-timeout", "4s"});
    node.set_pipeline("other", task_printing("\"hi\""));
    auto heavy = std::async(std::launch::async, [&] {
      auto start = clock_type::now();
      auto r = http_request(
          "PUT", node.server().url() + "/api/v1/pipelines/heavy",
          config_body(task_printing(
              "tostring(length(flatten([for a in range(1000) : [for b in range(1000) : "
              "[for c in range(1000) : c if c < 0]]])))")),
          {{"Authorization", "Bearer " + node.token()}, {"Content-Type", "application/json"}},
          60000);
      return std::make_pair(r, since(start));
    });
    std::this_thread::sleep_for(300ms);  // the heavy load is under way
    int samples = 0;
    std::chrono::milliseconds slowest{0};
    while (heavy.wait_for(0ms) != std::future_status::ready && samples < 40) {
      auto start = clock_type::now();
      auto r = node.get("/pipelines/other");
      slowest = std::max(slowest, since(start));
      CHECK(r.status == 200);
      ++samples;
      std::this_thread::sleep_for(50ms);
    }
    auto [r, took] = heavy.get();
    INFO("samples=", samples, " slowest=", slowest.count(), "ms heavy took=", took.count(), "ms");
    CHECK(samples >= 5);
    CHECK(slowest < 500ms);
    CHECK(took >= 3500ms);
    expect_invalid(r, "Evaluation time budget exceeded", 6);
    CHECK(r.body.find("longer than 4 s") != std::string::npos);
  }

  TEST_CASE("pipeline names follow one rule: PUT answers 400 naming it") {
    runtime_node node;
    for (const std::string& bad : std::vector<std::string>{
             ".hidden", "bad%2520name", "a%2Fb", std::string(101, 'p'), std::string(4096, 'p')}) {
      auto r = node.put("/pipelines/" + bad, config_body(task_printing("\"hi\"")));
      INFO(bad.substr(0, 20), " ", r.body.substr(0, 300));
      CHECK(r.status == 400);
      CHECK(r.json()["error"]["code"] == "bad_request");
      CHECK(r.body.find("1 to 100 characters (letters, digits") != std::string::npos);
    }
    // a name so long that the URL passes 8 KiB is refused before routing: 414
    auto huge =
        node.put("/pipelines/" + std::string(10240, 'p'), config_body(task_printing("\"hi\"")));
    CHECK(huge.status == 414);
    CHECK(node.set_pipeline("My.Pipeline_1-2", task_printing("\"hi\"")).status == 201);
    CHECK(node.get("/pipelines").body.find("\"ppp") == std::string::npos);
  }

  TEST_CASE("job, resource and resource type names are validated at their label") {
    runtime_node node;
    auto long_job =
        node.put("/pipelines/n1", config_body("\njob \"" + std::string(10240, 'j') + "\" {}\n"));
    expect_invalid(long_job, "Invalid job name", 2);
    auto dots = node.put("/pipelines/n2", config_body(R"(
resource_type "../x" {}
resource "cron" "a/b" {}
)"));
    expect_invalid(dots, "Invalid resource type name", 2);
    CHECK(dots.body.find("Invalid resource name") != std::string::npos);
  }

  TEST_CASE("--pipeline-name at start-up follows the same rule") {
    auto path = write_temp("start.hcl", task_printing("\"hi\""));
    auto r = run_command({node_binary(), "--port", "0", "--host", "127.0.0.1", "--jwt-secret", "s",
                          "--pipeline-name", "..", "--pipeline-config", path});
    std::remove(path.c_str());
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("invalid --pipeline-name") != std::string::npos);
  }
}

namespace {

/// PUT /pipelines/{name} on a thread of its own: the reply, when it comes.
std::future<http_response> put_async(runtime_node& node, const std::string& name,
                                     const std::string& hcl) {
  return std::async(std::launch::async, [&node, name, hcl] {
    return http_request(
        "PUT", node.server().url() + "/api/v1/pipelines/" + name, config_body(hcl),
        {{"Authorization", "Bearer " + node.token()}, {"Content-Type", "application/json"}}, 60000);
  });
}

}  // namespace

TEST_SUITE("language_limits.order") {
  // A valid pipeline whose load takes a while (about a second): a million values evaluated,
  // within the memory budget the nodes below are given.
  const std::string slow_but_valid = task_printing(
      "tostring(length(flatten([for a in range(1000) : [for b in range(1000) : b]])))");

  TEST_CASE("PUTs of one pipeline apply in the order they arrived, however long each loads") {
    runtime_node node({"--pipeline-eval-memory", "65536"});
    auto slow = put_async(node, "p", slow_but_valid);
    std::this_thread::sleep_for(100ms);  // the slow load is under way
    auto start = clock_type::now();
    auto quick =
        node.call("PUT", "/pipelines/p", config_body(task_printing("\"last\"")), node.token());
    auto first = slow.get();
    INFO("quick PUT answered after ", since(start).count(), " ms");
    CHECK(first.status == 201);
    CHECK(quick.status == 200);
    // the PUT that arrived last is the pipeline's config
    auto config = node.get("/pipelines/p").json()["pipeline"]["config"].get<std::string>();
    CHECK(config.find("\"last\"") != std::string::npos);
  }

  TEST_CASE("a DELETE voids a PUT of the same pipeline still loading: 409, and it stays deleted") {
    runtime_node node({"--pipeline-eval-memory", "65536"});
    node.set_pipeline("p", task_printing("\"first\""));
    auto slow = put_async(node, "p", slow_but_valid);
    std::this_thread::sleep_for(100ms);
    CHECK(node.call("DELETE", "/pipelines/p", "", node.token()).status == 204);
    auto put = slow.get();
    INFO(put.body);
    CHECK(put.status == 409);
    CHECK(node.get("/pipelines/p").status == 404);
  }
}
