// Benchmark: trigger → job process start with the embedded worker (SPEC §11: p50 ≤ 2 ms,
// p99 ≤ 10 ms). Starts the built pikoci-node on 127.0.0.1, sets a one-task pipeline whose task
// prints the wall clock the moment it runs, then triggers it sequentially over HTTP.
// Latency = the time the process printed − the wall clock just before the trigger request was
// sent: the HTTP request, admission, dispatch, the build runner, posix_spawn and the exec.
// The task is `bench-stamp` (static, so no dynamic loading) or, with `--probe date`,
// `/bin/date +%s%N` (adds ~0.3 ms of loader time). Prints one JSON line in bench/run's format.
//
// With `--db rocksdb` the node keeps its state in a RocksDB store in a scratch directory: the
// 201 then waits for the synced build record, and dispatch for the synced "dispatched" mark.
//
// With `--rate R` the load is open-loop instead: triggers are sent at R per second for `--runs`
// triggers whatever the answers do (8 keep-alive clients, each trigger at its scheduled time),
// and latency counts from the scheduled time, so a node that falls behind shows it (no
// coordinated omission).
//
//   bench-trigger [--runs N] [--probe stamp|date] [--db memory|rocksdb] [--rate R]

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bench/report.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

using namespace pikoci::test;

namespace {

std::string pipeline(const std::string& path) {
  return "job \"stamp\" {\n  task \"date\" {\n    run \"exec\" {\n      path = \"" + path +
         "\"\n      args = [\"+%s%N\"]\n    }\n  }\n}\n";
}

std::int64_t now_ns() {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
}

/// The time the build's process printed, once it finished; -1 if it did not succeed in time.
std::int64_t started_ns(const std::string& base, const std::map<std::string, std::string>& auth,
                        std::int64_t id) {
  for (int tries = 0; tries < 5000; ++tries) {
    auto build = http_request("GET", base + "/builds/" + std::to_string(id), "", auth).json();
    auto status = build["build"]["status"];
    if (status == "succeeded")
      return std::stoll(build["build"]["steps"][0]["logs"].get<std::string>());
    if (status != "pending" && status != "started") {
      std::fprintf(stderr, "build %lld ended %s\n", static_cast<long long>(id),
                   build.dump().c_str());
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 200, rate = 0;
  std::string probe = "stamp", db = "memory";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--probe")) probe = argv[i + 1];
    if (!std::strcmp(argv[i], "--db")) db = argv[i + 1];
    if (!std::strcmp(argv[i], "--rate")) rate = std::atoi(argv[i + 1]);
  }
  std::string path = probe == "date" ? "/bin/date" : PIKOCI_STAMP_BINARY;

  // every build is read back at the end: none may be dropped by retention first
  std::vector<std::string> args{"--concurrency", "2", "--max-builds-per-job", "1000000"};
  std::string scratch;
  if (db == "rocksdb") {
    char tmpl[] = "/tmp/pikoci-bench-XXXXXX";
    scratch = mkdtemp(tmpl);
    args.insert(args.end(), {"--db-system", "rocksdb", "--db-path", scratch + "/db"});
  }
  node_server node(args);
  std::map<std::string, std::string> auth{{"Authorization", "Bearer " + user_token("admin")},
                                          {"Content-Type", "application/json"}};
  auto base = node.url() + "/api/v1";
  auto set = http_request("PUT", base + "/pipelines/bench",
                          nlohmann::json{{"config", pipeline(path)}}.dump(), auth);
  if (set.status != 201) {
    std::fprintf(stderr, "cannot set the pipeline: %ld %s\n", set.status, set.body.c_str());
    return 1;
  }
  std::vector<double> ms;
  std::string mode;
  if (rate > 0) {  // open loop: every trigger at its scheduled time
    mode = "_open_loop_" + std::to_string(rate) + "_per_s";
    std::vector<std::int64_t> ids(static_cast<std::size_t>(runs), 0);
    auto t0 = now_ns() + 100000000;
    auto scheduled = [&](int i) { return t0 + static_cast<std::int64_t>(i) * 1000000000 / rate; };
    std::atomic<int> next{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < 8; ++c)
      clients.emplace_back([&] {
        http_session client;
        for (int i; (i = next.fetch_add(1)) < runs;) {
          auto wait = scheduled(i) - now_ns();
          if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
          auto r = client.request("POST", base + "/pipelines/bench/jobs/stamp/trigger", "", auth);
          if (r.status == 201) ids[static_cast<std::size_t>(i)] = r.json()["build"]["id"];
        }
      });
    for (auto& c : clients) c.join();
    for (int i = 0; i < runs; ++i) {
      auto id = ids[static_cast<std::size_t>(i)];
      auto started = id == 0 ? -1 : started_ns(base, auth, id);
      if (started < 0) {
        std::fprintf(stderr, "trigger %d did not run\n", i);
        return 1;
      }
      ms.push_back(static_cast<double>(started - scheduled(i)) / 1e6);
    }
  }
  for (int i = 0; rate == 0 && i < runs + 5; ++i) {  // 5 warm-up runs
    auto t0 = now_ns();
    auto r = http_request("POST", base + "/pipelines/bench/jobs/stamp/trigger", "", auth);
    if (r.status != 201) {
      std::fprintf(stderr, "trigger failed: %ld %s\n", r.status, r.body.c_str());
      return 1;
    }
    auto started = started_ns(base, auth, r.json()["build"]["id"].get<std::int64_t>());
    if (started < 0) return 1;
    if (i >= 5) ms.push_back(static_cast<double>(started - t0) / 1e6);
  }
  pikoci::bench::report(
      {"trigger_to_process_start_" + std::string(probe == "date" ? "embedded_date" : "embedded") +
           (db == "rocksdb" ? "_rocksdb" : "") + mode,
       "latency", "ms", 2},
      ms, true);
  node.process().stop(SIGTERM);
  if (!scratch.empty()) std::filesystem::remove_all(scratch);
  return 0;
}
