// Benchmarks of durability with RocksDB (SPEC §11), against the built pikoci-node:
//   - durable admissions per second under a burst: `--clients` threads trigger `--burst` builds
//     as fast as they can into a node whose one slot is busy (every 201 waited for its synced
//     batch);
//   - restart time with `--stored` finished builds (written straight into a store, 100 jobs):
//     from starting the binary until it logs event=store.restored;
//   - a kill -9 loop of `--cycles` cycles at random moments under load: acknowledged builds lost
//     and builds run twice (a build's task appends its id to a file).
// Prints JSON lines in bench/run's format.
//
//   bench-durable [--burst N] [--clients K] [--stored N] [--cycles N]

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include <stdlib.h>

#include "actors/model/build.hpp"
#include "bench/report.hpp"
#include "persistence/keys.hpp"
#include "persistence/store.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

using namespace pikoci;
using namespace pikoci::test;
using clock_type = std::chrono::steady_clock;
using nlohmann::json;

namespace {

struct scratch {
  std::filesystem::path path;
  scratch() {
    char tmpl[] = "/tmp/pikoci-bench-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~scratch() { std::filesystem::remove_all(path); }
  std::string file(const std::string& n) const { return (path / n).string(); }
};

std::map<std::string, std::string> auth() {
  static const std::string t = user_token("admin");
  return {{"Authorization", "Bearer " + t}, {"Content-Type", "application/json"}};
}

std::string job(const std::string& name, const std::string& script) {
  return "job \"" + name +
         "\" {\n  task \"t\" {\n    run \"exec\" {\n      path = \"/bin/sh\"\n      args = "
         "[\"-c\", \"" +
         script + "\"]\n    }\n  }\n}\n";
}

bool set_pipeline(const std::string& base, const std::string& hcl) {
  auto r = http_request("PUT", base + "/pipelines/bench", json{{"config", hcl}}.dump(), auth());
  if (r.status == 201 || r.status == 200) return true;
  std::fprintf(stderr, "set pipeline: %ld %s\n", r.status, r.body.c_str());
  return false;
}

/// One measured figure (the scenario is its own metric).
void print(const std::string& scenario, const char* unit, int runs, double v, double target) {
  pikoci::bench::report({scenario, scenario, unit, target}, {v}, false,
                        static_cast<std::size_t>(runs));
}

int admissions(int burst, int clients) {
  scratch dir;
  node_server node({"--db-system", "rocksdb", "--db-path", dir.file("db"), "--concurrency", "1",
                    "--max-in-flight", "1", "--max-queue-size", std::to_string(burst + 10)});
  auto base = node.url() + "/api/v1";
  if (!set_pipeline(base, job("busy", "sleep 600") + job("queued", "true"))) return 1;
  http_request("POST", base + "/pipelines/bench/jobs/busy/trigger", "", auth());
  std::atomic<int> next{0}, accepted{0};
  auto t0 = clock_type::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&] {
      http_session client;  // keep-alive, as a CI client or webhook proxy would
      while (next.fetch_add(1) < burst)
        if (client.request("POST", base + "/pipelines/bench/jobs/queued/trigger", "", auth())
                .status == 201)
          ++accepted;
    });
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  if (accepted != burst) std::fprintf(stderr, "only %d of %d accepted\n", accepted.load(), burst);
  print("durable_admissions_per_second", "1/s", 1, burst / secs, 5000);
  node.process().stop(SIGKILL);
  return 0;
}

int restart(int stored) {
  scratch dir;
  {
    auto s = persistence::open_rocksdb_store(dir.file("db"));
    std::string hcl;
    const int jobs = 100;
    for (int j = 0; j < jobs; ++j) hcl += job("j" + std::to_string(j), "true");
    auto now = std::chrono::system_clock::now();
    json doc{{"name", "bench"},
             {"text", hcl},
             {"vars", json::object()},
             {"created_at", model::format_time(now)},
             {"updated_at", model::format_time(now)},
             {"paused", false},
             {"concurrency", {{"mode", ""}, {"group_template", ""}, {"cancel_running", false}}},
             {"jobs", json::object()},
             {"resources", json::object()}};
    persistence::batch ops{{persistence::keys::pipeline("bench"), doc.dump()}};
    for (int i = 1; i <= stored; ++i) {
      model::build_record b;
      b.id = i;
      b.pipeline = "bench";
      b.job = "j" + std::to_string(i % jobs);
      b.number = std::to_string(i / jobs + 1);
      b.status = model::build_status::succeeded;
      b.trigger = {{"type", "manual"}};
      b.created_at = now;
      b.started_at = now;
      b.finished_at = now;
      model::step_record st;
      st.id = "s1";
      st.type = "task";
      st.name = "t";
      st.status = model::build_status::succeeded;
      st.started_at = st.finished_at = now;
      st.logs.append("ok\n");
      b.steps.push_back(std::move(st));
      ops.push_back({persistence::keys::build("bench", b.job, b.id), b.to_record()});
      if (ops.size() >= 10000) {
        s->write(ops);
        ops.clear();
      }
    }
    s->write(ops);
  }
  auto t0 = clock_type::now();
  child_process node({node_binary(), "--role", "server", "--port", "0", "--jwt-secret",
                      "test-secret", "--db-system", "rocksdb", "--db-path", dir.file("db")});
  auto restored = node.wait_for_line("event=store.restored", std::chrono::seconds(120));
  if (!restored) {
    std::fprintf(stderr, "no restore:\n%s\n", node.tail().c_str());
    return 1;
  }
  std::fprintf(stderr, "%s\n", restored->c_str());  // ms= is the actors' part
  double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  auto name = "restart_seconds_" + std::to_string(stored / 1000) + "k_builds";
  print(name, "s", 1, secs, 1);
  node.stop(SIGKILL);
  return 0;
}

int kill_loop(int cycles) {
  scratch dir;
  std::vector<std::string> args{"--db-system", "rocksdb", "--db-path", dir.file("db"),
                                "--concurrency", "2", "--max-in-flight", "2", "--max-queue-size",
                                "100000",
                                // no retention: every acknowledged build must stay findable
                                "--max-builds-per-job", "100000000"};
  auto runs = dir.file("runs");
  std::mt19937 rng(7);
  std::set<std::int64_t> acknowledged;
  for (int cycle = 0; cycle < cycles; ++cycle) {
    node_server node(args);
    auto base = node.url() + "/api/v1";
    if (cycle == 0 && !set_pipeline(base, job("a", "echo $BUILD_ID >> " + runs))) return 1;
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::thread client([&] {
      while (!stop) {
        auto r = http_request("POST", base + "/pipelines/bench/jobs/a/trigger", "", auth());
        if (r.status != 201) continue;
        std::lock_guard<std::mutex> l(mu);
        acknowledged.insert(r.json()["build"]["id"].get<std::int64_t>());
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 300));
    kill(node.process().pid(), SIGKILL);
    stop = true;
    client.join();
    node.process().stop(SIGKILL);
  }
  node_server node(args);
  auto base = node.url() + "/api/v1";
  int lost = 0;
  for (auto id : acknowledged)
    lost += http_request("GET", base + "/builds/" + std::to_string(id), "", auth()).status != 200;
  for (int i = 0; i < 600; ++i) {
    auto q = http_request("GET", base + "/queue", "", auth()).json();
    if (q["queued"] == 0 && q["in_flight"] == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::map<std::string, int> ran;
  std::ifstream in(runs);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) ++ran[l];
  int twice = 0;
  for (const auto& [id, n] : ran) twice += n > 1;
  print("kill_loop_lost_builds", "builds", cycles, lost, 0);
  print("kill_loop_builds_run_twice", "builds", cycles, twice, 0);
  std::fprintf(stderr, "kill loop: %d cycles, %zu acknowledged\n", cycles, acknowledged.size());
  node.process().stop(SIGKILL);
  return lost == 0 && twice == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  int burst = 5000, clients = 32, stored = 100000, cycles = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--burst")) burst = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--clients")) clients = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--stored")) stored = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--cycles")) cycles = std::atoi(argv[i + 1]);
  }
  // a count of 0 skips that scenario
  if (burst > 0)
    if (int rc = admissions(burst, clients)) return rc;
  if (stored > 0)
    if (int rc = restart(stored)) return rc;
  return cycles > 0 ? kill_loop(cycles) : 0;
}
