// Benchmark: a log line written by a task → received by Server-Sent Events subscribers (target:
// p99 ≤ 50 ms, stretch 10 ms, with 50 subscribers). Starts the built pikoci-node on 127.0.0.1;
// each run triggers a build whose task (`bench-stamp COUNT INTERVAL`) prints the wall clock every
// INTERVAL ms, and SUBSCRIBERS clients follow GET .../builds/{n}/events from before the first
// line. Latency = the wall clock when a subscriber parsed the `log` event − the time the line
// carries. The task writes at a fixed rate whatever the subscribers do (open loop).
// Prints two JSON lines (p50 and p99 over the runs) in bench/run's format.
//
//   bench-sse [--runs N] [--subscribers N] [--lines N] [--interval-ms N]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/report.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sse_client.hpp"

using namespace pikoci::test;

namespace {

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 5, subscribers = 50, lines = 200, interval_ms = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--subscribers")) subscribers = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--lines")) lines = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--interval-ms")) interval_ms = std::atoi(argv[i + 1]);
  }
  node_server node({"--concurrency", "2"});
  auto tok = user_token("admin");
  std::map<std::string, std::string> auth{{"Authorization", "Bearer " + tok},
                                          {"Content-Type", "application/json"}};
  auto base = node.url() + "/api/v1";
  // the first line comes after a pause that lets every subscriber connect
  std::string hcl = "job \"talk\" {\n  task \"stamp\" {\n    run \"exec\" {\n      path = \"" +
                    std::string(PIKOCI_STAMP_BINARY) + "\"\n      args = [\"1\", \"1000\"]\n" +
                    "    }\n  }\n  task \"lines\" {\n    run \"exec\" {\n      path = \"" +
                    PIKOCI_STAMP_BINARY + "\"\n      args = [\"" + std::to_string(lines) +
                    "\", \"" + std::to_string(interval_ms) + "\"]\n    }\n  }\n}\n";
  auto set =
      http_request("PUT", base + "/pipelines/bench", nlohmann::json{{"config", hcl}}.dump(), auth);
  if (set.status != 201) {
    std::fprintf(stderr, "cannot set the pipeline: %ld %s\n", set.status, set.body.c_str());
    return 1;
  }
  std::vector<double> p50s, p99s;
  for (int run = 0; run < runs; ++run) {
    auto r = http_request("POST", base + "/pipelines/bench/jobs/talk/trigger", "", auth);
    if (r.status != 201) {
      std::fprintf(stderr, "trigger failed: %ld %s\n", r.status, r.body.c_str());
      return 1;
    }
    auto number = r.json()["build"]["number"].get<std::string>();
    std::vector<std::unique_ptr<sse_client>> subs;
    for (int i = 0; i < subscribers; ++i)
      subs.push_back(std::make_unique<sse_client>(
          base + "/pipelines/bench/jobs/talk/builds/" + number + "/events", tok,
          std::chrono::minutes(2)));
    std::vector<double> ms;
    std::size_t ended = 0;
    for (auto& s : subs) {
      if (!s->wait_closed(std::chrono::minutes(2))) continue;
      auto events = s->events();
      ended += !events.empty() && events.back().type == "end";
      // the ids of the `lines` step: only its output is timed
      std::string step_id;
      for (const auto& e : events) {
        if (e.type == "step" && e.data.value("name", "") == "lines") step_id = e.data["id"];
        if (e.type != "log" || e.data.value("step", "") != step_id || step_id.empty()) continue;
        std::istringstream in(e.data.value("chunk", ""));
        std::string line;
        auto got =
            std::chrono::duration_cast<std::chrono::nanoseconds>(e.wall.time_since_epoch()).count();
        while (std::getline(in, line))
          if (!line.empty()) ms.push_back(static_cast<double>(got - std::stoll(line)) / 1e6);
      }
    }
    auto expected = static_cast<std::size_t>(lines) * static_cast<std::size_t>(subscribers);
    if (ended != subs.size() || ms.size() != expected) {
      std::fprintf(stderr, "run %d: %zu of %zu streams ended, %zu of %zu lines timed\n", run, ended,
                   subs.size(), ms.size(), expected);
      return 1;
    }
    p50s.push_back(quantile(ms, 0.5));
    p99s.push_back(quantile(ms, 0.99));
    std::fprintf(stderr, "run %d: %zu lines, p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", run,
                 ms.size(), p50s.back(), p99s.back(), *std::max_element(ms.begin(), ms.end()));
  }
  pikoci::bench::report({"log_line_to_sse_subscriber", "p50", "ms", 10}, p50s);
  pikoci::bench::report({"log_line_to_sse_subscriber", "p99", "ms", 50}, p99s);
  return 0;
}
