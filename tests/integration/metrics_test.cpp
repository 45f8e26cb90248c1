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
    // an unknown path is counted under one label, not one per path
    http_get(node.server().url() + "/nope/1");
    http_get(node.server().url() + "/nope/2");
    CHECK(scrape().at(R"(pikoci_http_requests_total{method="GET",route="other",code="404"})") == 2);
  }
}
