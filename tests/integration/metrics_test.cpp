// GET /metrics (issue #8, SPEC §6.4): Prometheus text format, served without a token, with figures
// that move when builds run.
#include <doctest/doctest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

/// Every sample of a Prometheus text exposition (version 0.0.4), checked line by line: comments
/// are HELP or TYPE lines, every sample belongs to a family with a TYPE, and a sample is
/// `name{label="value",...} number`. Fails the test on a malformed line.
std::map<std::string, double> parse_prometheus(const std::string& text) {
  static const std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")"
      R"((?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? (\S+)$)");
  static const std::regex type_line(
      R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  std::map<std::string, double> out;
  std::set<std::string> typed;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    CAPTURE(line);
    if (line.empty()) continue;
    std::smatch m;
    if (line.rfind("# HELP ", 0) == 0) continue;
    if (std::regex_match(line, m, type_line)) {
      typed.insert(m[1]);
      continue;
    }
    REQUIRE(std::regex_match(line, m, sample));
    std::string name = m[1];
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      auto n = std::string(suffix).size();
      if (family.size() > n && family.compare(family.size() - n, n, suffix) == 0 &&
          typed.count(family.substr(0, family.size() - n)) != 0)
        family = family.substr(0, family.size() - n);
    }
    CHECK_MESSAGE(typed.count(family) != 0, "no TYPE line before ", name);
    double value = 0;
    std::string v = m[3];
    if (v == "+Inf") {
      value = 1e300;
    } else {
      std::size_t used = 0;
      REQUIRE_NOTHROW(value = std::stod(v, &used));
      REQUIRE(used == v.size());
    }
    out[name + std::string(m[2])] = value;
  }
  return out;
}

}  // namespace

TEST_SUITE("integration.metrics") {
  TEST_CASE("GET /metrics: Prometheus text, no token needed, figures move when builds run") {
    runtime_node node;
    temp_dir dir;
    node.set_pipeline("p", recording_job("j", dir.file("runs"), "0"));
    auto scrape = [&] {
      auto r = http_get(node.server().url() + "/metrics");
      REQUIRE(r.status == 200);
      CHECK(r.headers["content-type"].rfind("text/plain", 0) == 0);
      return parse_prometheus(r.body);
    };
    auto before = scrape();
    CHECK(before.at("pikoci_queue_depth") == 0);
    CHECK(before.at(R"(pikoci_workers{status="healthy"})") == 1);
    CHECK(before.at("process_resident_memory_bytes") > 1e6);
    for (int i = 0; i < 3; ++i) node.trigger("p", "j");
    node.wait_builds("p", "j", 3);
    auto after = scrape();
    CHECK(after.at("pikoci_trigger_to_start_seconds_count") ==
          before.at("pikoci_trigger_to_start_seconds_count") + 3);
    CHECK(after.at(R"(pikoci_trigger_to_start_seconds_bucket{le="+Inf"})") >= 3);
    const std::string triggered =
        R"(pikoci_http_requests_total{method="POST",route="/api/v1/pipelines/:p/jobs/:j/trigger",code="201"})";
    CHECK(after.at(triggered) == 3);
    CHECK(after.at("process_cpu_seconds_total") >= before.at("process_cpu_seconds_total"));
    CHECK(after.at(R"(pikoci_builds_finished_total{status="succeeded"})") == 3);
    CHECK(after.at(R"(pikoci_builds_finished_total{status="failed"})") == 0);
    CHECK(after.at(R"(pikoci_step_duration_seconds_count{type="task"})") == 3);
    CHECK(after.at(R"(pikoci_step_duration_seconds_bucket{type="task",le="+Inf"})") == 3);
    CHECK(after.at("pikoci_check_errors_total") == 0);
    // an unknown path is counted under one label, not one per path
    http_get(node.server().url() + "/nope/1");
    http_get(node.server().url() + "/nope/2");
    CHECK(scrape().at(R"(pikoci_http_requests_total{method="GET",route="other",code="404"})") == 2);
  }

  TEST_CASE("check durations and errors") {
    runtime_node node;
    temp_dir dir;
    node.set_pipeline("p", replace_all(R"(
resource_type "flaky" {
  check "shell" {
    cmd = "if [ -e @DIR@/ok ]; then echo '[]'; else exit 3; fi"
  }
}
resource "flaky" "r" {
  check_interval = "@every 1h"
}
job "j" {
  get "flaky" "r" {
    trigger = true
  }
}
)",
                                       "@DIR@", dir.path()));
    auto scrape = [&] { return parse_prometheus(http_get(node.server().url() + "/metrics").body); };
    node.check("p", "flaky.r");
    REQUIRE(eventually([&] { return scrape().at("pikoci_check_errors_total") >= 1; }));
    dir.write("ok", "");
    auto before = scrape().at("pikoci_check_duration_seconds_count");
    node.check("p", "flaky.r");
    REQUIRE(
        eventually([&] { return scrape().at("pikoci_check_duration_seconds_count") > before; }));
    CHECK(scrape().at("pikoci_check_errors_total") == doctest::Approx(before));
  }

  TEST_CASE("GET /api/v1/stats: queue, workers, latency, throughput, success rate, contention") {
    runtime_node node;
    node.set_pipeline("p", R"(
job "ok" {
  task "t" {
    run "exec" {
      path = "/bin/sh"
      args = ["-c", "sleep 0.5"]
    }
  }
}
job "bad" {
  task "t" {
    run "exec" {
      path = "/bin/false"
    }
  }
}
)");
    auto stats = [&] {
      auto r = node.get("/stats");
      REQUIRE(r.status == 200);
      return r.json();
    };
    auto idle = stats();
    CHECK(idle["queue_depth"] == 0);
    CHECK(idle["in_flight"] == 0);
    CHECK(idle["workers"]["slots"] == 4);
    CHECK(idle["workers"]["utilization"] == 0.0);
    CHECK(idle["success_rate"].is_null());
    CHECK(idle["trigger_to_start_ms"]["p50"].is_null());
    // one group for every build: the second and third wait for the first
    REQUIRE(node.put("/pipelines/p/concurrency", R"({"mode":"group","group_template":"deploy"})")
                .status == 200);
    node.trigger("p", "ok");
    node.trigger("p", "ok");
    node.trigger("p", "ok");
    // the worker has the first build a moment after its trigger answered
    json busy;
    REQUIRE(eventually([&] {
      busy = stats();
      return busy["workers"]["running"] == 1;
    }));
    CHECK(busy["in_flight"] == 1);
    CHECK(busy["queue_depth"] == 2);
    CHECK(busy["blocked_by"]["group:deploy"] == 2);
    CHECK(busy["workers"]["running"] == 1);
    CHECK(busy["workers"]["utilization"] == 0.25);
    CHECK(busy["group_contention"]["waiting_now"] == 2);
    node.wait_builds("p", "ok", 3);
    node.trigger("p", "bad");
    node.wait_builds("p", "bad", 1);
    auto after = stats();
    CHECK(after["trigger_to_start_ms"]["samples"] == 4);
    CHECK(after["trigger_to_start_ms"]["p99"].get<double>() >= 500);  // the third waited ~1 s
    CHECK(after["trigger_to_start_ms"]["p50"].get<double>() <=
          after["trigger_to_start_ms"]["p99"].get<double>());
    CHECK(after["builds_per_minute"] == doctest::Approx(4 / 5.0));
    CHECK(after["success_rate"] == doctest::Approx(0.75));
    CHECK(after["finished"]["succeeded"] == 3);
    CHECK(after["finished"]["failed"] == 1);
    CHECK(after["group_contention"]["group_builds"] == 4);
    CHECK(after["group_contention"]["waited"] == 2);
    CHECK(after["group_contention"]["rate"] == doctest::Approx(0.5));
    CHECK(after["group_contention"]["waiting_now"] == 0);
  }
}
