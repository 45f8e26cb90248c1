// Benchmark: the execution queue's rules under random load on a real node. Starts the
// built pikoci-node with --max-in-flight 4 and pipeline mode `group` (the group is the trigger's
// `env` input), jobs with `concurrency = 1` and a shared serial group; then triggers BUILDS
// builds of random jobs and groups at random (exponential) intervals, open loop, and cancels a
// few at random. Every task appends its start and end time to a log; from those intervals the
// benchmark counts violations: more than 4 running, two of one group at once, two of a
// `concurrency = 1` job at once, two of the serial group at once, or builds of one group starting
// out of trigger order. Prints the violations (target 0) and the builds per second.
//
//   bench-queue-load [--runs N] [--builds N] [--seed S]

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/report.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

using namespace pikoci::test;

namespace {

/// Job j<i>: j0 and j1 have `concurrency = 1`, j2 and j3 share serial group "sg", j4 and j5 have
/// no limit of their own. Each task logs "start|end <build id> <ns>".
std::string pipeline(const std::string& log) {
  std::string hcl;
  for (int j = 0; j < 6; ++j) {
    hcl += "job \"j" + std::to_string(j) + "\" {\n";
    if (j < 2) hcl += "  concurrency = 1\n";
    if (j == 2 || j == 3) hcl += "  serial_groups = [\"sg\"]\n";
    hcl += "  input \"env\" {\n    type = string\n    default = \"e0\"\n  }\n";
    hcl +=
        "  task \"t\" {\n    run \"exec\" {\n      path = \"/bin/sh\"\n      args = [\"-c\", "
        "\"echo start $BUILD_ID $(date +%s%N) >> " +
        log + "; sleep 0.0$((BUILD_ID % 5)); echo end $BUILD_ID $(date +%s%N) >> " + log +
        "\"]\n    }\n  }\n}\n";
  }
  return hcl;
}

struct run_info {
  int job = 0;
  std::string group;
  std::int64_t start = 0, end = 0;
};

}  // namespace

int main(int argc, char** argv) {
  int runs = 3, builds = 300;
  unsigned seed = 7;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--builds")) builds = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--seed")) seed = static_cast<unsigned>(std::atoi(argv[i + 1]));
  }
  std::vector<double> violations_per_run, rates;
  for (int run = 0; run < runs; ++run) {
    auto dir = std::filesystem::temp_directory_path() /
               ("pikoci-queue-load-" + std::to_string(::getpid()) + "-" + std::to_string(run));
    std::filesystem::create_directories(dir);
    auto log_path = (dir / "runs.log").string();
    node_server node({"--concurrency", "8", "--max-in-flight", "4", "--max-queue-size", "100000"});
    std::map<std::string, std::string> auth{{"Authorization", "Bearer " + user_token("admin")},
                                            {"Content-Type", "application/json"}};
    auto base = node.url() + "/api/v1";
    auto set = http_request("PUT", base + "/pipelines/q",
                            nlohmann::json{{"config", pipeline(log_path)}}.dump(), auth);
    auto conc =
        http_request("PUT", base + "/pipelines/q/concurrency",
                     R"({"mode":"group","group_template":"{{index .Inputs \"env\"}}"})", auth);
    if (set.status != 201 || conc.status != 200) {
      std::fprintf(stderr, "setup failed: %ld %s / %ld %s\n", set.status, set.body.c_str(),
                   conc.status, conc.body.c_str());
      return 1;
    }
    std::mt19937 rng(seed + static_cast<unsigned>(run));
    std::exponential_distribution<double> gap_ms(1.0 / 4.0);  // mean 4 ms between triggers
    std::map<std::int64_t, run_info> info;                    // by build id
    std::vector<std::pair<std::string, std::string>> made;    // (job, number) for cancels
    http_session client;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < builds; ++i) {
      std::this_thread::sleep_for(std::chrono::microseconds(static_cast<long>(gap_ms(rng) * 1000)));
      if (!made.empty() && rng() % 20 == 0) {  // 5%: cancel a random earlier build
        const auto& [job, number] = made[rng() % made.size()];
        client.request("POST", base + "/pipelines/q/jobs/" + job + "/builds/" + number + "/cancel",
                       "", auth);
      }
      int job = static_cast<int>(rng() % 6);
      std::string env = "e" + std::to_string(rng() % 5);
      auto r =
          client.request("POST", base + "/pipelines/q/jobs/j" + std::to_string(job) + "/trigger",
                         nlohmann::json{{"inputs", {{"env", env}}}}.dump(), auth);
      if (r.status != 201) {
        std::fprintf(stderr, "trigger failed: %ld %s\n", r.status, r.body.c_str());
        return 1;
      }
      auto b = r.json()["build"];
      info[b["id"].get<std::int64_t>()] = {job, env};
      made.emplace_back("j" + std::to_string(job), b["number"].get<std::string>());
    }
    // wait until nothing is pending or started
    for (;;) {
      auto s = http_request("GET", base + "/stats", "", auth).json();
      if (s["queue_depth"] == 0 && s["in_flight"] == 0) break;
      if (std::chrono::steady_clock::now() - t0 > std::chrono::minutes(5)) {
        std::fprintf(stderr, "run %d: the queue did not drain in 5 minutes\n", run);
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::ifstream in(log_path);
    std::string word;
    std::int64_t id = 0, ns = 0;
    while (in >> word >> id >> ns) (word == "start" ? info[id].start : info[id].end) = ns;
    std::vector<std::pair<std::int64_t, run_info>> ran;
    for (const auto& [bid, r] : info)
      if (r.start != 0 && r.end != 0) ran.emplace_back(bid, r);
    int violations = 0;
    // overlaps: at each start, who else runs
    for (const auto& [a, ra] : ran) {
      int running = 0, same_group = 0, same_job = 0, serial = 0;
      for (const auto& [b, rb] : ran) {
        if (b == a || !(rb.start <= ra.start && ra.start < rb.end)) continue;
        ++running;
        same_group += rb.group == ra.group;
        same_job += rb.job == ra.job && ra.job < 2;
        serial += (ra.job == 2 || ra.job == 3) && (rb.job == 2 || rb.job == 3);
      }
      violations += (running + 1 > 4) + (same_group > 0) + (same_job > 0) + (serial > 0);
    }
    // FIFO within a group: builds (ids grow with triggers) start in id order
    std::map<std::string, std::int64_t> last_start;
    for (const auto& [bid, r] : ran) {  // in id order
      auto it = last_start.find(r.group);
      if (it != last_start.end() && r.start < it->second) ++violations;
      last_start[r.group] = r.start;
    }
    std::fprintf(stderr, "run %d: %d triggers, %zu ran, %d violations, %.1f s\n", run, builds,
                 ran.size(), violations, secs);
    violations_per_run.push_back(violations);
    rates.push_back(static_cast<double>(ran.size()) / secs);
    std::filesystem::remove_all(dir);
  }
  pikoci::bench::report({"queue_rules_under_random_load", "violations", "count", 0},
                        violations_per_run);
  pikoci::bench::report({"queue_rules_under_random_load", "builds_run_per_second", "1/s", 0},
                        rates);
  return 0;
}
