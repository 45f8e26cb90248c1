// Worker leases against a real Apache Kafka broker: a lease runs only while the server hears the
// broker (an outage is not a dead worker), a restarted server gives live workers their lease
// before dispatching anything again, and a worker that lost its lease stops its builds, whether
// it was paused or cut off from the broker alone (a second listener reached through a proxy)
// (docs/operations.md "Remote workers: leases and broker outages"). Each build records its own
// runs in files, so "ran once" is counted from the task's side.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <thread>

#include "tests/support/kafka_broker.hpp"
#include "tests/support/kafka_nodes.hpp"
#include "tests/support/pipeline_fixture.hpp"
#include "tests/support/tcp_proxy.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

/// Whether `pid` is a running process (not gone, not a zombie).
bool alive(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return false;
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

/// The line of GET /metrics that starts with `name ` ("" when there is none).
std::string metric(runtime_node& node, const std::string& name) {
  auto body = http_get(node.server().url() + "/metrics").body;
  auto at = body.find("\n" + name + " ");
  if (at == std::string::npos) return "";
  auto end = body.find('\n', at + 1);
  return body.substr(at + 1, end - at - 1);
}

/// Each attempt records its shell's pid in `dir`/started when it starts and in `dir`/ended when
/// it ends, 20 s later.
std::string pid_job(const std::string& dir) {
  return replace_all(R"hcl(
job "j" {
  task "t" {
    run "exec" {
      path = "/bin/sh"
      args = ["-c", "echo $$ >> @DIR@/started; sleep 20; echo $$ >> @DIR@/ended"]
    }
  }
}
)hcl",
                     "@DIR@", dir);
}

/// The first line of `path`.
std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

/// Resumes a stopped process when the test ends, however it ends.
struct resume_at_exit {
  int pid;
  ~resume_at_exit() { ::kill(pid, SIGCONT); }
};

}  // namespace

TEST_SUITE("kafka_lease") {
  TEST_CASE("the broker away for 15 s with a 3 s lease: running builds run once and succeed") {
    kafka_broker broker;  // its own: this one is stopped and started
    kafka_server server(broker.bootstrap(), {"--worker-lease", "3s"});
    temp_dir dir;
    server->set_pipeline("p", recording_job("j", dir.file("runs"), "12"));
    worker_proc w(server, "w", {"--concurrency", "2"});
    // with a 3 s lease the server counts itself deaf after 1 s without a read: on a loaded
    // machine one slow poll can make that true for a moment, so it is asked until it holds
    CHECK(eventually(
        [&] {
          return metric(*server, "pikoci_kafka_broker_reachable") ==
                 "pikoci_kafka_broker_reachable 1";
        },
        10s));
    server->trigger("p", "j");
    server->trigger("p", "j");
    server->wait_started("p", "j", "1", 30s);
    server->wait_started("p", "j", "2", 30s);
    broker.stop();
    // the server knows it cannot hear the broker (and says so), and holds the leases
    CHECK(eventually(
        [&] {
          return metric(*server, "pikoci_kafka_broker_reachable") ==
                 "pikoci_kafka_broker_reachable 0";
        },
        10s));
    CHECK(server->get("/workers").json()["broker"]["reachable"] == false);
    // /health says why the node is degraded (and still answers 200)
    auto health = server->get("/health");
    CHECK(health.status == 200);
    CHECK(health.json()["status"] == "degraded");
    CHECK(health.json()["kafka"]["status"] == "unreachable");
    CHECK(health.json()["reasons"].dump().find("kafka brokers unreachable") != std::string::npos);
    std::this_thread::sleep_for(12s);  // 15 s or more away in all
    CHECK(server.worker("w")["status"] == "healthy");
    broker.start();
    for (const char* n : {"1", "2"}) {
      auto done = server->wait_build("p", "j", n, 60s);
      CHECK(done["status"] == "succeeded");
      CHECK(done["attempt"] == 1);
      CHECK(done["worker"] == "w");
    }
    CHECK(eventually(
        [&] {
          return metric(*server, "pikoci_kafka_broker_reachable") ==
                 "pikoci_kafka_broker_reachable 1";
        },
        10s));
    CHECK(eventually([&] { return server->get("/health").json()["status"] == "ok"; }, 10s));
    // each build's task ran once
    auto runs = dir.lines("runs");
    std::sort(runs.begin(), runs.end());
    CHECK(runs == std::vector<std::string>{"1", "2"});
    auto log = server->server().process().output();
    CHECK(log.find("event=kafka.broker_unheard") != std::string::npos);
    CHECK(log.find("event=build.redispatched") == std::string::npos);
    // the worker lost the broker for longer than its lease too, but the server could not hear
    // it either: its builds went on
    auto worker_log = w.proc->output();
    CHECK(worker_log.find("event=worker.brokers_unreachable") != std::string::npos);
    CHECK(worker_log.find("event=build.lease_lost") == std::string::npos);
  }

  TEST_CASE("a server killed and restarted with a 3 s lease: a build on a live worker runs once") {
    auto& broker = kafka_broker::shared();
    temp_dir dir;
    kafka_server server(broker.bootstrap(), {"--worker-lease", "3s", "--db-system", "rocksdb",
                                             "--db-path", dir.file("db")});
    server->set_pipeline("p", recording_job("j", dir.file("runs"), "10"));
    worker_proc w(server, "w");
    server->trigger("p", "j");
    server->wait_started("p", "j", "1", 30s);
    server.restart();
    auto done = server->wait_build("p", "j", "1", 60s);
    CHECK(done["status"] == "succeeded");
    CHECK(done["attempt"] == 1);
    CHECK(done["worker"] == "w");
    CHECK(dir.lines("runs") == std::vector<std::string>{"1"});
    CHECK(server->server().process().output().find("event=build.redispatched") ==
          std::string::npos);
  }

  TEST_CASE(
      "a worker that lost its lease stops its build; only the attempt dispatched again ends") {
    auto& broker = kafka_broker::shared();
    kafka_server server(broker.bootstrap(), {"--worker-lease", "3s"});
    temp_dir dir;
    server->set_pipeline("p", pid_job(dir.path()));
    worker_proc first(server, "first");
    server->trigger("p", "j");
    REQUIRE(server->wait_started("p", "j", "1", 30s)["worker"] == "first");
    REQUIRE(eventually([&] { return dir.lines("started").size() == 1; }, 10s));
    int pid1 = std::stoi(dir.lines("started")[0]);
    worker_proc second(server, "second");
    // the first worker goes silent (as if cut from the broker) while its task runs on
    ::kill(first.proc->pid(), SIGSTOP);
    resume_at_exit resume{first.proc->pid()};
    REQUIRE_MESSAGE(eventually(
                        [&] {
                          // sent out again and taken by the live worker (a new attempt is
                          // started, without a worker, until one accepts it)
                          auto b = server->build("p", "j", "1");
                          return b["attempt"] == 2 && b["status"] == "started" &&
                                 b["worker"] == "second";
                        },
                        30s),
                    server->tail());
    CHECK(alive(pid1));
    ::kill(first.proc->pid(), SIGCONT);
    // back, it learns its lease is gone and stops its attempt at once
    CHECK_MESSAGE(eventually([&] { return !alive(pid1); }, 10s), first.proc->tail());
    auto done = server->wait_build("p", "j", "1", 40s);
    CHECK(done["status"] == "succeeded");
    CHECK(done["attempt"] == 2);
    CHECK(done["worker"] == "second");
    // only the second attempt ran to its end (a copy of it delivered twice around the group's
    // rebalance may have started and been cancelled at once)
    auto started = dir.lines("started");
    REQUIRE(started.size() >= 2);
    auto ended = dir.lines("ended");
    REQUIRE(ended.size() == 1);
    CHECK(ended[0] != started[0]);
  }

  TEST_CASE("a worker cut off from the broker alone stops its build while it is cut off") {
    kafka_broker broker;  // its own: it gets a listener that one worker reaches through a proxy
    tcp_proxy proxy(free_port());
    // a second listener behind the proxy, which tells its clients to come back through the proxy
    auto port = std::to_string(broker.port());
    auto controller = first_line(broker.dir() + "/controller-port");
    broker.set_extra_properties(
        "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controller +
        ",CUT://127.0.0.1:" + std::to_string(proxy.target()) +
        "\nadvertised.listeners=PLAINTEXT://127.0.0.1:" + port +
        ",CUT://127.0.0.1:" + std::to_string(proxy.port()) +
        "\nlistener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,"
        "CUT:PLAINTEXT\n");
    broker.stop();
    broker.start();
    kafka_server server(broker.bootstrap(), {"--worker-lease", "3s"});
    temp_dir dir;
    server->set_pipeline("p", pid_job(dir.path()));
    worker_proc cut(server, "cut", {}, worker_token(), "127.0.0.1:" + std::to_string(proxy.port()));
    server->trigger("p", "j");
    REQUIRE(server->wait_started("p", "j", "1", 30s)["worker"] == "cut");
    REQUIRE(eventually([&] { return dir.lines("started").size() == 1; }, 10s));
    int pid1 = std::stoi(dir.lines("started")[0]);
    worker_proc other(server, "other");
    proxy.cut();
    auto t0 = std::chrono::steady_clock::now();
    // still cut off, the worker sees its lease is gone (the server heard the broker all along)
    // and stops its attempt; the server gives the build to the other worker
    CHECK_MESSAGE(eventually([&] { return !alive(pid1); }, 20s), cut.proc->tail());
    CHECK(std::chrono::steady_clock::now() - t0 < 12s);
    CHECK(cut.proc->output().find("event=build.lease_lost build=1 attempt=1") != std::string::npos);
    proxy.restore();
    auto done = server->wait_build("p", "j", "1", 60s);
    CHECK(done["status"] == "succeeded");
    CHECK(done["attempt"] == 2);
    CHECK(done["worker"] == "other");
    auto started = dir.lines("started");
    REQUIRE(started.size() >= 2);
    auto ended = dir.lines("ended");
    REQUIRE(ended.size() == 1);
    CHECK(ended[0] != started[0]);
  }
}
