// Benchmarks of cluster mode (docs/cluster.md) with real pikoci-node processes and a real Apache
// Kafka broker of its own (scripts/kafka-broker.sh; group.min.session.timeout.ms=1000 so the
// shortest member timeout can be measured):
//   - failover: three nodes and one remote worker; the owner of a pipeline is killed with SIGKILL;
//     the time until its new owner dispatches a new build of that pipeline (triggered through a
//     survivor again and again until 201, then that build seen `started`), and until that 201;
//     the killed node is started again between runs. Once per `--member-timeouts` value, and once
//     per extra variant (flags added to every node) the binary knows (target ≤ 10 s, stretch 3 s);
//   - restore: a partition holding `--restore-builds` builds (written straight into its
//     changelog, as an owner would) restored by a node that never held it, then by a node
//     restarted on its own store (from its changelog offset): the restore (`event=cluster.restored
//     ms=`) and gained → active (from the log's timestamps);
//   - durable admissions per second with 1 and with 3 nodes (RocksDB, no worker: builds queue):
//     `--clients` threads with keep-alive connections spread over the nodes trigger `--admissions`
//     builds of one pipeline per partition; 201s counted per whole second, and the ack latency;
//   - trigger → process start through Kafka in a three-node cluster with one worker: the task is
//     bench-stamp printing its wall clock; through the pipeline's owner and through another node
//     (forwarded), p50 and p99.
// Prints one JSON line per figure in bench/run's format (with the load average at its end).
//
//   bench-cluster [--failovers N] [--member-timeouts 6s,1s] [--restore-builds N] [--restores N]
//                 [--admissions N] [--clients K] [--runs N] [--partitions P]

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/model/build.hpp"
#include "bench/report.hpp"
#include "connectors/kafka/admin.hpp"
#include "node/cluster_restore.hpp"
#include "node/cluster_topics.hpp"
#include "persistence/changelog.hpp"
#include "persistence/keys.hpp"
#include "persistence/partitioning.hpp"
#include "persistence/store.hpp"
#include "tests/support/cluster_flags.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/kafka_broker.hpp"
#include "tests/support/process.hpp"

using namespace pikoci;
using namespace pikoci::test;
using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

int partitions = 12;

std::int64_t now_ns() {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
}

double since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

void print(const std::string& scenario, const char* metric, const char* unit, std::vector<double> v,
           double target, bool p99 = false, json extra = json::object()) {
  nlohmann::ordered_json e = nlohmann::ordered_json::object();
  for (const auto& [k, x] : extra.items()) e[k] = x;
  e["loadavg"] = loadavg();
  pikoci::bench::report({scenario, metric, unit, target}, std::move(v), p99, 0, e);
}

struct scratch {
  std::filesystem::path path;
  scratch() {
    char tmpl[] = "/tmp/pikoci-bench-cluster-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~scratch() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& n) const { return (path / n).string(); }
};

std::map<std::string, std::string> auth() {
  static const std::string t = user_token("admin");
  return {{"Authorization", "Bearer " + t}, {"Content-Type", "application/json"}};
}

std::string exec_job(const std::string& name, const std::string& path) {
  return "job \"" + name + "\" {\n  task \"t\" {\n    run \"exec\" {\n      path = \"" + path +
         "\"\n      args = []\n    }\n  }\n}\n";
}

/// A name of partition `k` starting with `stem`.
std::string pipeline_in(int k, const std::string& stem) {
  for (int n = 0;; ++n) {
    auto name = stem + "-" + std::to_string(n);
    if (persistence::partition_of(name, partitions) == k) return name;
  }
}

/// Whether the built binary has the flag `--name` (a variant's flags are skipped otherwise).
bool knows_flag(const std::string& name) {
  static std::string help = run_command({node_binary(), "--help"}).output;
  return help.find("--" + name) != std::string::npos;
}

/// Flags added to every node of a scenario: one line per variant.
struct variant {
  std::string name;
  std::vector<std::string> flags;
};

/// The nodes of one cluster on a topic prefix of their own, each with its own RocksDB store.
struct cluster {
  kafka_broker& broker;
  std::string prefix;
  std::string name = "bench";
  std::vector<std::string> extra;
  scratch dir;
  std::vector<std::unique_ptr<node_server>> nodes;  // null once stopped

  cluster(kafka_broker& b, const std::string& p, std::vector<std::string> flags = {})
      : broker(b), prefix(p), extra(std::move(flags)) {}

  std::vector<std::string> args(std::size_t i) const {
    auto a = cluster_node_flags(broker.bootstrap(), prefix, name, partitions, "bench-admin-pw",
                                dir.file("node" + std::to_string(i)));
    for (const char* f : {"--max-queue-size", "1000000", "--max-builds-per-job", "100000000"})
      a.push_back(f);
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  node_server& start(std::size_t i) {
    if (i >= nodes.size()) nodes.resize(i + 1);
    nodes[i] = std::make_unique<node_server>(args(i));
    return *nodes[i];
  }
  void kill(std::size_t i) {
    nodes[i]->process().stop(SIGKILL);
    nodes[i].reset();
  }
  std::string base(std::size_t i) const { return nodes[i]->url() + "/api/v1"; }

  int any() const {
    for (std::size_t i = 0; i < nodes.size(); ++i)
      if (nodes[i]) return static_cast<int>(i);
    throw std::runtime_error("no node is running");
  }
  json view() { return http_request("GET", base(any()) + "/cluster", "", auth()).json(); }

  /// The owner of every partition (and G) when `members` nodes are live and each owns some; ""
  /// otherwise.
  std::string owners(std::size_t members) {
    auto c = view();
    if (!c.is_object() || !c["members"].is_array() || c["members"].size() != members) return "";
    if (!c["partitions"].is_array() ||
        c["partitions"].size() != static_cast<std::size_t>(partitions + 1))
      return "";
    std::string out;
    std::set<std::string> distinct;
    for (const auto& p : c["partitions"]) {
      if (!p["owner_url"].is_string()) return "";
      out += p["owner_url"].get<std::string>() + " ";
      distinct.insert(p["owner_url"].get<std::string>());
    }
    return distinct.size() == std::min<std::size_t>(members, partitions + 1) ? out : "";
  }
  /// Waits until owners() has stayed the same for 2 s (the group's moves after a join are over).
  void wait_settled(std::size_t members, std::chrono::seconds timeout = 120s) {
    auto t0 = clock_type::now();
    std::string last;
    auto since_change = clock_type::now();
    for (;;) {
      auto now = owners(members);
      if (now != last || now.empty()) {
        last = now;
        since_change = clock_type::now();
      } else if (clock_type::now() - since_change >= 2s) {
        return;
      }
      if (clock_type::now() - t0 > timeout)
        throw std::runtime_error("the cluster did not settle: " + view().dump() + "\n" + tails());
      std::this_thread::sleep_for(100ms);
    }
  }
  /// The index of the running node owning pipeline partition `k`, or -1.
  int owner_of(int k) {
    const auto v = view();
    for (const auto& p : v["partitions"])
      if (p["partition"] == k && p["owner_url"].is_string())
        for (std::size_t i = 0; i < nodes.size(); ++i)
          if (nodes[i] && nodes[i]->url() == p["owner_url"]) return static_cast<int>(i);
    return -1;
  }
  std::string tails() {
    std::string out;
    for (std::size_t i = 0; i < nodes.size(); ++i)
      if (nodes[i]) out += "---- node " + std::to_string(i) + "\n" + nodes[i]->process().tail();
    return out;
  }

  void set(std::size_t via, const std::string& pipeline, const std::string& hcl) {
    http_response r;
    for (int tries = 0; tries < 20; ++tries) {  // 5xx while a partition moves
      r = http_request("PUT", base(via) + "/pipelines/" + pipeline, json{{"config", hcl}}.dump(),
                       auth(), 30000);
      if (r.status < 500) break;
      std::fprintf(stderr, "set %s: %ld %s (again)\n", pipeline.c_str(), r.status, r.body.c_str());
      std::this_thread::sleep_for(500ms);
    }
    if (r.status != 201 && r.status != 200)
      throw std::runtime_error("set " + pipeline + ": " + std::to_string(r.status) + " " + r.body);
  }
  /// A build through the pipeline's routes (forwarded to its owner; GET /builds/{id} answers
  /// from the local store only).
  json build(std::size_t via, const std::string& pipeline, const std::string& job,
             const std::string& number) {
    return http_request("GET",
                        base(via) + "/pipelines/" + pipeline + "/jobs/" + job + "/builds/" + number,
                        "", auth())
        .json()["build"];
  }
};

/// A `--role worker` process of the cluster, registered with node `via`.
std::unique_ptr<child_process> start_worker(cluster& c, std::size_t via) {
  auto w = std::make_unique<child_process>(std::vector<std::string>{
      node_binary(), "--role", "worker", "--pikoci-url", c.nodes[via]->url(), "--pubsub-system",
      "kafka", "--kafka-brokers", c.broker.bootstrap(), "--worker-token", worker_token(), "--name",
      "w1", "--concurrency", "4"});
  if (!w->wait_for_line("event=worker.ready", 30s))
    throw std::runtime_error("worker did not start:\n" + w->tail());
  return w;
}

/// Triggers `job` of `pipeline` through node `via` until the build is `started` (or done);
/// returns its number. Throws after `timeout`.
std::string trigger_until_started(cluster& c, std::size_t via, const std::string& pipeline,
                                  const std::string& job, clock_type::time_point t0,
                                  double* admitted_s = nullptr,
                                  std::chrono::seconds timeout = 90s) {
  std::string number, last;
  while (number.empty()) {
    if (clock_type::now() - t0 > timeout)
      throw std::runtime_error("no trigger accepted: " + last + "\n" + c.tails());
    auto r =
        http_request("POST", c.base(via) + "/pipelines/" + pipeline + "/jobs/" + job + "/trigger",
                     "", auth(), 15000);
    if (r.status == 201) {
      number = r.json()["build"]["number"].get<std::string>();
      if (admitted_s) *admitted_s = since(t0);
    } else {
      last = std::to_string(r.status) + " " + r.body + r.error;
      std::this_thread::sleep_for(20ms);
    }
  }
  for (;;) {
    auto b = c.build(via, pipeline, job, number);
    auto s = b.is_object() ? b.value("status", "") : "";
    if (s == "started" || s == "succeeded") return number;
    if (s != "pending" && !s.empty()) throw std::runtime_error("build ended " + b.dump());
    if (clock_type::now() - t0 > timeout)
      throw std::runtime_error("never started: " + b.dump() + "\n" + c.tails());
    std::this_thread::sleep_for(10ms);
  }
}

// ---- failover --------------------------------------------------------------------------------

void failover(kafka_broker& broker, const variant& v, int runs) {
  cluster c(broker, "bench-fo-" + v.name + "-" + std::to_string(::getpid()), v.flags);
  for (int i = 0; i < 3; ++i) c.start(i);
  c.wait_settled(3);
  auto worker = start_worker(c, 0);
  const std::string pipeline = "failover";
  c.set(0, pipeline, exec_job("j", PIKOCI_STAMP_BINARY));
  const int k = persistence::partition_of(pipeline, partitions);
  trigger_until_started(c, 0, pipeline, "j", clock_type::now());  // the worker works
  std::vector<double> started, admitted;
  for (int r = 0; r < runs; ++r) {
    int owner = c.owner_of(k);
    if (owner < 0) throw std::runtime_error("no owner of " + std::to_string(k));
    std::size_t survivor = (owner + 1) % 3;
    auto t0 = clock_type::now();
    c.kill(owner);
    double a = 0;
    trigger_until_started(c, survivor, pipeline, "j", t0, &a);
    started.push_back(since(t0));
    admitted.push_back(a);
    std::fprintf(stderr, "failover %s run %d: admitted %.2f s, started %.2f s\n", v.name.c_str(),
                 r + 1, a, started.back());
    c.start(owner);  // same store, a new member
    c.wait_settled(3);
    trigger_until_started(c, survivor, pipeline, "j", clock_type::now());
  }
  worker->stop(SIGTERM);
  print("cluster_failover_owner_killed_to_started_" + v.name, "latency", "s", started, 10);
  print("cluster_failover_owner_killed_to_admitted_" + v.name, "latency", "s", admitted, 10);
}

// ---- restore ---------------------------------------------------------------------------------

/// Writes a pipeline of 100 jobs and `builds` finished builds into the changelog of its
/// partition, as its owner would (claimed by member "seed"); returns the pipeline's name.
std::string seed_changelog(kafka_broker& broker, const std::string& prefix,
                           const std::string& cluster_name, int builds) {
  kafka::admin admin(broker.bootstrap());
  auto topics = node::cluster_topics::of(prefix, cluster_name);
  auto err = node::ensure_cluster_topics(admin, topics, partitions, 30s);
  if (!err.empty()) throw std::runtime_error("topics: " + err);
  const std::string name = pipeline_in(1 % partitions, "restored");
  const int k = persistence::partition_of(name, partitions);
  auto store = persistence::open_memory_store();
  node::restore_options o;
  o.brokers = broker.bootstrap();
  o.prefix = prefix;
  o.cluster = cluster_name;
  o.partitions = partitions;
  o.member = "seed";
  auto claimed = node::restore_partition(*store, k, o);
  if (!claimed.ok()) throw std::runtime_error("seed claim: " + claimed.error);
  auto& sink = *claimed.sink;
  const int jobs = 100;
  std::string hcl;
  for (int j = 0; j < jobs; ++j) hcl += exec_job("j" + std::to_string(j), "/bin/true");
  auto now = std::chrono::system_clock::now();
  json doc{{"name", name},
           {"text", hcl},
           {"vars", json::object()},
           {"created_at", model::format_time(now)},
           {"updated_at", model::format_time(now)},
           {"paused", false},
           {"concurrency", {{"mode", ""}, {"group_template", ""}, {"cancel_running", false}}},
           {"jobs", json::object()},
           {"resources", json::object()}};
  persistence::batch ops{{persistence::keys::pipeline(name), doc.dump()}};
  auto commit = [&] {
    auto r = sink.commit(persistence::changelog::expand(ops, *store), {}, {});
    if (!r.ok()) throw std::runtime_error("seed commit: " + r.error);
    ops.clear();
  };
  auto t0 = clock_type::now();
  for (int i = 1; i <= builds; ++i) {
    model::build_record b;
    b.id = (static_cast<std::int64_t>(i) << 6) | k;
    b.pipeline = name;
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
    ops.push_back({persistence::keys::build(name, b.job, b.id), b.to_record()});
    if (ops.size() >= 1000) commit();
  }
  if (!ops.empty()) commit();
  std::fprintf(stderr, "seeded %d builds into changelog partition %d in %.1f s\n", builds, k,
               since(t0));
  return name;
}

/// Milliseconds of the day of a log line's timestamp (2026-01-02T03:04:05.678Z ...).
double log_ms(const std::string& line) {
  std::smatch m;
  static const std::regex re(R"(T(\d\d):(\d\d):(\d\d)\.(\d\d\d)Z)");
  if (!std::regex_search(line, m, re)) return -1;
  return ((std::stod(m[1]) * 60 + std::stod(m[2])) * 60 + std::stod(m[3])) * 1000 + std::stod(m[4]);
}

/// The last line of `out` with `event=<event> partition=<k>` (followed by a space or its end).
std::string last_line(const std::string& out, const std::string& event, int k) {
  std::istringstream in(out);
  std::string found, needle = "event=" + event + " partition=" + std::to_string(k);
  for (std::string l; std::getline(in, l);) {
    auto at = l.find(needle);
    if (at == std::string::npos) continue;
    auto end = at + needle.size();
    if (end == l.size() || l[end] == ' ') found = l;
  }
  return found;
}

double field(const std::string& line, const std::string& name) {
  auto at = line.find(" " + name + "=");
  return at == std::string::npos ? -1 : std::stod(line.substr(at + name.size() + 2));
}

struct restore_figures {
  std::vector<double> restored_ms, active_ms, records;
};

/// Waits until node `i` has partition `k` active; adds its figures.
void measure_restore(cluster& c, std::size_t i, int k, restore_figures& f) {
  auto& p = c.nodes[i]->process();
  auto t0 = clock_type::now();
  std::string active;
  while ((active = last_line(p.output(), "cluster.partition_active", k)).empty()) {
    if (clock_type::now() - t0 > 600s)
      throw std::runtime_error("partition never active:\n" + p.tail());
    std::this_thread::sleep_for(50ms);
  }
  auto out = p.output();
  auto restored = last_line(out, "cluster.restored", k);
  auto gained = last_line(out, "cluster.partition_gained", k);
  f.restored_ms.push_back(field(restored, "ms"));
  f.active_ms.push_back(log_ms(active) - log_ms(gained));
  f.records.push_back(field(restored, "records"));
  std::fprintf(stderr, "%s\n", restored.c_str());
}

void restore(kafka_broker& broker, int builds, int runs) {
  cluster c(broker, "bench-restore-" + std::to_string(::getpid()));
  auto name = seed_changelog(broker, c.prefix, c.name, builds);
  const int k = persistence::partition_of(name, partitions);
  restore_figures cold, warm;
  // each run a node that never held it (its own fresh store), alone in the cluster
  for (int r = 0; r < runs; ++r) {
    c.start(r);
    measure_restore(c, r, k, cold);
    c.nodes[r]->process().stop(SIGTERM, 60s);  // hands everything over and leaves
    c.nodes[r].reset();
  }
  // then the last one, started again on its own store: only what follows its offset
  const std::size_t again = runs - 1;
  for (int r = 0; r < runs; ++r) {
    c.start(again);
    measure_restore(c, again, k, warm);
    c.nodes[again]->process().stop(SIGTERM, 60s);
    c.nodes[again].reset();
  }
  auto label = std::to_string(builds / 1000) + "k_builds";
  json cold_x{{"records", cold.records.front()}}, warm_x{{"records", warm.records.front()}};
  print("cluster_restore_" + label + "_from_changelog", "restore", "ms", cold.restored_ms, 0, false,
        cold_x);
  print("cluster_restore_" + label + "_from_changelog_gained_to_active", "latency", "ms",
        cold.active_ms, 0, false, cold_x);
  print("cluster_restore_" + label + "_from_own_store", "restore", "ms", warm.restored_ms, 0, false,
        warm_x);
  print("cluster_restore_" + label + "_from_own_store_gained_to_active", "latency", "ms",
        warm.active_ms, 0, false, warm_x);
}

// ---- durable admissions ----------------------------------------------------------------------

void admissions(kafka_broker& broker, std::size_t members, int total, int clients) {
  cluster c(broker, "bench-adm-" + std::to_string(members) + "-" + std::to_string(::getpid()) +
                        "-" + std::to_string(now_ns() % 100000));
  for (std::size_t i = 0; i < members; ++i) c.start(i);
  c.wait_settled(members);
  std::vector<std::string> pipelines;
  for (int k = 0; k < partitions; ++k) {
    pipelines.push_back(pipeline_in(k, "adm"));
    c.set(0, pipelines.back(), exec_job("q", "/bin/true"));
  }
  // every node lists every pipeline (the catalog has reached it)
  for (std::size_t i = 0; i < members; ++i)
    for (int tries = 0;; ++tries) {
      auto l = http_request("GET", c.base(i) + "/pipelines", "", auth()).json();
      if (l.is_object() && l["pipelines"].size() == pipelines.size()) break;
      if (tries > 600) throw std::runtime_error("node " + std::to_string(i) + " lists " + l.dump());
      std::this_thread::sleep_for(50ms);
    }
  std::atomic<int> next{0};
  std::mutex mu;
  std::vector<double> acked_at, latency_ms;
  std::vector<std::string> errors;
  auto t0 = clock_type::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t)
    threads.emplace_back([&, t] {
      http_session client;
      const auto base = c.base(t % members);
      for (int n; (n = next.fetch_add(1)) < total;) {
        const auto& p = pipelines[n % pipelines.size()];
        auto a = clock_type::now();
        auto r =
            client.request("POST", base + "/pipelines/" + p + "/jobs/q/trigger", "", auth(), 30000);
        auto b = clock_type::now();
        std::lock_guard<std::mutex> l(mu);
        if (r.status == 201) {
          acked_at.push_back(std::chrono::duration<double>(b - t0).count());
          latency_ms.push_back(std::chrono::duration<double, std::milli>(b - a).count());
        } else if (errors.size() < 5) {
          errors.push_back(std::to_string(r.status) + " " + r.body + r.error);
        }
      }
    });
  for (auto& t : threads) t.join();
  double secs = since(t0);
  for (const auto& e : errors) std::fprintf(stderr, "refused: %s\n", e.c_str());
  // 201s per whole second of the burst
  std::vector<double> per_second(static_cast<std::size_t>(secs), 0);
  for (auto at : acked_at)
    if (at < per_second.size()) ++per_second[static_cast<std::size_t>(at)];
  if (per_second.empty()) per_second.push_back(acked_at.size() / secs);
  auto label = std::to_string(members) + (members == 1 ? "_node" : "_nodes");
  json x{{"accepted", acked_at.size()},
         {"sent", total},
         {"overall", std::round(acked_at.size() / secs)},
         {"clients", clients}};
  print("cluster_durable_admissions_per_second_" + label, "throughput", "1/s", per_second, 0, false,
        x);
  print("cluster_durable_admission_ack_" + label, "latency", "ms", latency_ms, 0, true, x);
  for (auto& n : c.nodes) n->process().stop(SIGKILL);
}

// ---- trigger → start -------------------------------------------------------------------------

void trigger_to_start(kafka_broker& broker, int runs) {
  cluster c(broker, "bench-start-" + std::to_string(::getpid()));
  for (int i = 0; i < 3; ++i) c.start(i);
  c.wait_settled(3);
  auto worker = start_worker(c, 0);
  const std::string pipeline = "stamp";
  c.set(0, pipeline, exec_job("stamp", PIKOCI_STAMP_BINARY));
  const int owner = c.owner_of(persistence::partition_of(pipeline, partitions));
  if (owner < 0) throw std::runtime_error("no owner: " + c.view().dump());
  std::vector<double> via_owner, forwarded;
  for (int i = 0; i < 2 * runs + 5; ++i) {  // 5 warm-up runs
    const std::size_t via = i % 2 == 0 ? owner : (owner + 1 + (i / 2) % 2) % 3;
    auto t0 = now_ns();
    auto r = http_request("POST", c.base(via) + "/pipelines/stamp/jobs/stamp/trigger", "", auth());
    if (r.status != 201) throw std::runtime_error("trigger: " + r.body);
    auto number = r.json()["build"]["number"].get<std::string>();
    json b;
    for (int tries = 0;; ++tries) {
      b = c.build(via, pipeline, "stamp", number);
      if (b["status"] == "succeeded") break;
      if (b["status"] != "pending" && b["status"] != "started")
        throw std::runtime_error("build ended " + b.dump());
      if (tries > 10000) throw std::runtime_error("build never ended " + b.dump());
      std::this_thread::sleep_for(2ms);
    }
    auto started = std::stoll(b["steps"][0]["logs"].get<std::string>());
    if (i < 5) continue;
    (via == static_cast<std::size_t>(owner) ? via_owner : forwarded)
        .push_back(static_cast<double>(started - t0) / 1e6);
  }
  worker->stop(SIGTERM);
  print("cluster_trigger_to_process_start_via_owner", "latency", "ms", via_owner, 50, true);
  print("cluster_trigger_to_process_start_forwarded", "latency", "ms", forwarded, 50, true);
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string x; std::getline(in, x, ',');)
    if (!x.empty()) out.push_back(x);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int failovers = 3, restore_builds = 100000, restores = 3, total = 5000, clients = 8, runs = 100;
  std::string timeouts = "6s,1s";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--failovers") failovers = std::atoi(argv[i + 1]);
    if (a == "--member-timeouts") timeouts = argv[i + 1];
    if (a == "--restore-builds") restore_builds = std::atoi(argv[i + 1]);
    if (a == "--restores") restores = std::atoi(argv[i + 1]);
    if (a == "--admissions") total = std::atoi(argv[i + 1]);
    if (a == "--clients") clients = std::atoi(argv[i + 1]);
    if (a == "--runs") runs = std::atoi(argv[i + 1]);
    if (a == "--partitions") partitions = std::atoi(argv[i + 1]);
  }
  try {
    kafka_broker broker;
    // the shortest member timeout a broker allows is its group.min.session.timeout.ms (6 s by
    // default): this one allows 1 s
    broker.set_extra_properties("group.min.session.timeout.ms=1000\n");
    broker.stop();
    broker.start();
    // a count of 0 skips that scenario
    if (runs > 0) trigger_to_start(broker, runs);
    if (total > 0) {
      admissions(broker, 1, total, clients);
      admissions(broker, 3, total, clients);
    }
    if (restore_builds > 0 && restores > 0) restore(broker, restore_builds, restores);
    if (failovers > 0) {
      std::vector<variant> variants;
      for (const auto& t : split(timeouts))
        variants.push_back({"member_timeout_" + t, {"--member-timeout", t}});
      // with a standby of each partition on another node (when this binary has them)
      if (knows_flag("standby-replicas"))
        variants.push_back(
            {"member_timeout_1s_standby_1", {"--member-timeout", "1s", "--standby-replicas", "1"}});
      else
        std::fprintf(stderr, "no --standby-replicas in this binary: no standby variant\n");
      for (const auto& v : variants) failover(broker, v, failovers);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench-cluster: %s\n", e.what());
    return 1;
  }
  return 0;
}
