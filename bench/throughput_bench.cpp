// Benchmark: no-op builds completed per second with the embedded worker (SPEC §11: ≥ 1,000/s,
// stretch 2,000/s). Starts the built pikoci-node (memory store) on 127.0.0.1 with one job whose
// only task is `bench-stamp` (a static program that prints one line and exits), then triggers
// BUILDS builds from CLIENTS keep-alive clients as fast as the node admits them. Builds/s = the
// builds / (last build finished − first trigger sent), the finish seen through GET /api/v1/stats
// (polled every 5 ms). Every build runs a real process: workdir, spawn, output, exit, record.
// Prints one JSON line in bench/run's format.
//
//   bench-throughput [--runs N] [--builds N] [--clients N] [--concurrency N]

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bench/report.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

using namespace pikoci::test;
using clock_type = std::chrono::steady_clock;

namespace {}  // namespace

int main(int argc, char** argv) {
  int runs = 5, builds = 2000, clients = 4, concurrency = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--builds")) builds = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--clients")) clients = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--concurrency")) concurrency = std::atoi(argv[i + 1]);
  }
  node_server node({"--concurrency", std::to_string(concurrency), "--max-queue-size",
                    std::to_string(builds + 100), "--max-builds-per-job", "100"});
  std::map<std::string, std::string> auth{{"Authorization", "Bearer " + user_token("admin")},
                                          {"Content-Type", "application/json"}};
  auto base = node.url() + "/api/v1";
  std::string hcl = "job \"noop\" {\n  task \"t\" {\n    run \"exec\" {\n      path = \"" +
                    std::string(PIKOCI_STAMP_BINARY) + "\"\n    }\n  }\n}\n";
  auto set =
      http_request("PUT", base + "/pipelines/bench", nlohmann::json{{"config", hcl}}.dump(), auth);
  if (set.status != 201) {
    std::fprintf(stderr, "cannot set the pipeline: %ld %s\n", set.status, set.body.c_str());
    return 1;
  }
  auto finished = [&] {
    auto s = http_request("GET", base + "/stats", "", auth).json();
    return s["finished"].value("succeeded", 0L) + s["finished"].value("failed", 0L) +
           s["finished"].value("errored", 0L);
  };
  std::vector<double> rates;
  long done_before = 0;
  for (int run = 0; run < runs; ++run) {
    std::atomic<int> next{0}, accepted{0};
    auto t0 = clock_type::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c)
      threads.emplace_back([&] {
        http_session client;
        while (next.fetch_add(1) < builds)
          if (client.request("POST", base + "/pipelines/bench/jobs/noop/trigger", "", auth)
                  .status == 201)
            ++accepted;
      });
    for (auto& t : threads) t.join();
    auto admitted = clock_type::now();
    long done = 0;
    while ((done = finished()) < done_before + accepted) {
      if (clock_type::now() - t0 > std::chrono::minutes(5)) {
        std::fprintf(stderr, "run %d: only %ld of %d builds finished in 5 minutes\n", run,
                     done - done_before, accepted.load());
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    done_before = done;
    if (accepted != builds) {
      std::fprintf(stderr, "run %d: only %d of %d triggers accepted\n", run, accepted.load(),
                   builds);
      return 1;
    }
    rates.push_back(builds / secs);
    std::fprintf(stderr, "run %d: %d builds in %.3f s (all admitted after %.3f s): %.0f/s\n", run,
                 builds, secs, std::chrono::duration<double>(admitted - t0).count(), rates.back());
  }
  pikoci::bench::report({"noop_builds_per_second_embedded", "throughput", "1/s", 1000}, rates);
  return 0;
}
