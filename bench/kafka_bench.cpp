// Benchmarks through a real Apache Kafka broker (SPEC §11; started by scripts/kafka-broker.sh):
//   - trigger → process start on a remote worker: one worker, triggers one after the other over
//     HTTP; the task is bench-stamp (static) printing its wall clock; latency = that clock − the
//     clock just before the trigger request (target p99 ≤ 50 ms, stretch 15 ms);
//   - no-op builds completed per second with two workers (4 slots each): `--builds` triggers,
//     from the first trigger until every build is finished (target 1,000/s); then the hops of
//     that burst, p50 and p99: a worker event → read by the server (the server's
//     pikoci_kafka_hop_seconds), a dispatch → read by a worker (its `event=kafka.hops` log);
//   - dead worker → re-dispatched: of two settled workers, the one running a long build is
//     killed with SIGKILL; the time until the build is `started` again on the other one
//     (attempt 2), with the default 10 s lease or `--lease` (target ≤ 10 s, stretch 3 s).
// Prints one JSON line per figure in bench/run's format.
//
//   bench-kafka [--runs N] [--builds N] [--slots N per worker] [--kills N] [--lease 10s]

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/report.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/kafka_broker.hpp"
#include "tests/support/process.hpp"

using namespace pikoci::test;
using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

namespace {

std::int64_t now_ns() {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
}

struct setup {
  kafka_broker& broker;
  std::string prefix;
  std::unique_ptr<node_server> server;
  std::vector<std::unique_ptr<child_process>> workers;
  std::map<std::string, std::string> auth;
  std::string base;

  setup(kafka_broker& b, const std::string& p, int workers_n, int concurrency,
        const std::string& lease = "10s")
      : broker(b), prefix(p) {
    server = std::make_unique<node_server>(std::vector<std::string>{
        "--pubsub-system", "kafka", "--kafka-brokers", broker.bootstrap(), "--kafka-topic-prefix",
        prefix, "--run-worker=false", "--max-in-flight", "1000", "--max-queue-size", "100000",
        "--worker-lease", lease});
    auth = {{"Authorization", "Bearer " + user_token("admin")},
            {"Content-Type", "application/json"}};
    base = server->url() + "/api/v1";
    for (int i = 0; i < workers_n; ++i) add_worker("w" + std::to_string(i), concurrency);
  }

  child_process& add_worker(const std::string& name, int concurrency) {
    auto token = worker_token();
    workers.push_back(std::make_unique<child_process>(std::vector<std::string>{
        node_binary(), "--role", "worker", "--pikoci-url", server->url(), "--pubsub-system",
        "kafka", "--kafka-brokers", broker.bootstrap(), "--worker-token", token, "--name", name,
        "--concurrency", std::to_string(concurrency), "--queues", "jobs"}));
    if (!workers.back()->wait_for_line("event=worker.ready", std::chrono::seconds(30)))
      throw std::runtime_error("worker did not start:\n" + workers.back()->tail());
    // until the server has seen its heartbeat, and every worker holds partitions again (a worker
    // joining makes the consumer group move them): work is placed by the partitions announced
    for (int i = 0; i < 400; ++i) {
      auto w = http_request("GET", base + "/workers", "", auth).json()["workers"];
      bool seen = false, assigned = true;
      for (const auto& x : w) {
        seen |= x["name"] == name && x["status"] == "healthy";
        assigned &= x.value("partitions", 0) > 0;
      }
      if (seen && assigned) return *workers.back();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("the server never saw worker " + name + " holding partitions");
  }

  void set(const std::string& hcl) {
    auto r = http_request("PUT", base + "/pipelines/bench", json{{"config", hcl}}.dump(), auth);
    if (r.status != 201 && r.status != 200)
      throw std::runtime_error("set pipeline: " + std::to_string(r.status) + " " + r.body);
  }
  std::int64_t trigger(const std::string& job) {
    auto r = http_request("POST", base + "/pipelines/bench/jobs/" + job + "/trigger", "", auth);
    if (r.status != 201) throw std::runtime_error("trigger: " + r.body);
    return r.json()["build"]["id"].get<std::int64_t>();
  }
  json build(std::int64_t id) {
    return http_request("GET", base + "/builds/" + std::to_string(id), "", auth).json()["build"];
  }
};

std::string job(const std::string& name, const std::string& path,
                const std::vector<std::string>& args) {
  std::string a;
  for (const auto& x : args) a += (a.empty() ? "\"" : ", \"") + x + "\"";
  return "job \"" + name + "\" {\n  task \"t\" {\n    run \"exec\" {\n      path = \"" + path +
         "\"\n      args = [" + a + "]\n    }\n  }\n}\n";
}

void print(const std::string& scenario, const char* metric, const char* unit, std::vector<double> v,
           double target) {
  pikoci::bench::report({scenario, metric, unit, target}, std::move(v), true);
}

void trigger_to_start(kafka_broker& broker, int runs) {
  setup s(broker, "bench-start-" + std::to_string(::getpid()), 1, 2);
  s.set(job("stamp", PIKOCI_STAMP_BINARY, {}));
  std::vector<double> ms;
  for (int i = 0; i < runs + 5; ++i) {  // 5 warm-up runs
    auto t0 = now_ns();
    auto id = s.trigger("stamp");
    json b;
    for (int tries = 0; tries < 5000; ++tries) {
      b = s.build(id);
      if (b["status"] == "succeeded") break;
      if (b["status"] != "pending" && b["status"] != "started")
        throw std::runtime_error("build ended " + b.dump());
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    auto full =
        http_request(
            "GET", s.base + "/pipelines/bench/jobs/stamp/builds/" + b["number"].get<std::string>(),
            "", s.auth)
            .json()["build"];
    auto started = std::stoll(full["steps"][0]["logs"].get<std::string>());
    if (i >= 5) ms.push_back(static_cast<double>(started - t0) / 1e6);
  }
  print("trigger_to_process_start_kafka", "latency", "ms", ms, 50);
}

/// The quantile `q` of `pikoci_kafka_hop_seconds{topic}` in the server's /metrics, in ms
/// (interpolated within its bucket; -1 when the topic has none).
double hop_ms(const std::string& metrics, const std::string& topic, double q) {
  std::vector<std::pair<double, double>> buckets;  // (le, cumulative count)
  std::string head = "pikoci_kafka_hop_seconds_bucket{topic=\"" + topic + "\",le=\"";
  for (std::size_t at = metrics.find(head); at != std::string::npos;
       at = metrics.find(head, at + 1)) {
    auto le =
        metrics.substr(at + head.size(), metrics.find('"', at + head.size()) - at - head.size());
    auto count = std::stod(metrics.substr(metrics.find("} ", at) + 2));
    buckets.emplace_back(le == "+Inf" ? 1e9 : std::stod(le), count);
  }
  if (buckets.empty() || buckets.back().second == 0) return -1;
  auto rank = q * buckets.back().second;
  double lower = 0, below = 0;
  for (const auto& [le, n] : buckets) {
    if (n >= rank) {
      auto up = le > 1e8 ? lower : le;
      return 1000 * (lower + (n > below ? (rank - below) / (n - below) : 1) * (up - lower));
    }
    lower = le;
    below = n;
  }
  return -1;
}

/// The last `event=kafka.hops topic=<topic>` figure `field` (p50_ms, p99_ms) a worker logged.
double logged_hop_ms(const std::string& output, const std::string& topic,
                     const std::string& field) {
  auto at = output.rfind("event=kafka.hops topic=" + topic + " ");
  if (at == std::string::npos) return -1;
  auto f = output.find(field + "=", at);
  return f == std::string::npos ? -1 : std::stod(output.substr(f + field.size() + 1));
}

void throughput(kafka_broker& broker, int builds, int slots) {
  setup s(broker, "bench-rate-" + std::to_string(::getpid()), 2, slots);
  s.set(job("noop", "/bin/true", {}));
  auto t0 = clock_type::now();
  std::int64_t last = 0;
  for (int i = 0; i < builds; ++i) last = s.trigger("noop");
  std::fprintf(stderr, "triggered %d builds in %.2f s\n", builds,
               std::chrono::duration<double>(clock_type::now() - t0).count());
  // builds finish roughly in order; the last one done means (nearly) all are
  for (;;) {
    auto list = http_request("GET", s.base + "/builds?status=pending,started&limit=1", "", s.auth)
                    .json()["builds"];
    if (list.empty() && s.build(last)["status"] == "succeeded") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  print("noop_builds_per_second_kafka_2_workers", "throughput", "1/s", {builds / secs}, 1000);
  // one hop each way: run_build read by a worker (its log at exit), events read by the server
  auto metrics = http_request("GET", s.server->url() + "/metrics", "", s.auth).body;
  auto events = s.prefix + ".events", jobs = s.prefix + ".jobs";
  std::string outputs;
  for (auto& w : s.workers) {
    w->stop(SIGTERM);
    outputs += w->output();
  }
  auto hop = [&](const char* name, double p50, double p99) {
    if (p50 < 0) return;
    p50 = std::round(p50 * 100) / 100;
    p99 = std::round(p99 * 100) / 100;
    pikoci::bench::report({name, "latency", "ms", 0}, {p50}, false, builds,
                          {{"p50", p50}, {"p99", p99}});
  };
  hop("kafka_hop_events_to_server_in_burst", hop_ms(metrics, events, 0.5),
      hop_ms(metrics, events, 0.99));
  // each worker logs its own; the first one's stands for both
  hop("kafka_hop_jobs_to_worker_in_burst", logged_hop_ms(outputs, jobs, "p50_ms"),
      logged_hop_ms(outputs, jobs, "p99_ms"));
}

void redispatch(kafka_broker& broker, int kills, const std::string& lease) {
  std::vector<double> secs;
  for (int k = 0; k < kills; ++k) {
    setup s(broker, "bench-dead-" + std::to_string(::getpid()) + "-" + std::to_string(k), 0, 1,
            lease);
    s.set(job("long", "/bin/sleep", {"30"}));
    // two workers that have settled in their group (as in production), one slot each
    auto& a = s.add_worker("a", 1);
    auto& b = s.add_worker("b", 1);
    std::this_thread::sleep_for(std::chrono::seconds(5));
    auto id = s.trigger("long");
    while (s.build(id)["status"] != "started")
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    auto& victim = s.build(id)["worker"] == "a" ? a : b;
    auto t0 = clock_type::now();
    victim.stop(SIGKILL);
    for (;;) {
      auto b = s.build(id);
      if (b["attempt"] == 2 && b["status"] == "started") break;
      if (clock_type::now() - t0 > std::chrono::seconds(60))
        throw std::runtime_error("never re-dispatched: " + b.dump());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    secs.push_back(std::chrono::duration<double>(clock_type::now() - t0).count());
  }
  print("dead_worker_to_redispatched_lease_" + lease, "latency", "s", secs, 10);
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 200, builds = 500, kills = 3, slots = 4;
  std::string lease = "10s";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--builds")) builds = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--kills")) kills = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--slots")) slots = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--lease")) lease = argv[i + 1];
  }
  try {
    kafka_broker broker;
    if (runs > 0) trigger_to_start(broker, runs);
    if (builds > 0) throughput(broker, builds, slots);
    if (kills > 0) redispatch(broker, kills, lease);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench-kafka: %s\n", e.what());
    return 1;
  }
  return 0;
}
