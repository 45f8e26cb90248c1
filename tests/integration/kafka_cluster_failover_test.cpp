// The cluster's correctness when nodes fail, against a real broker and real processes: owners
// killed with -9 and started again while triggers keep coming (no acknowledged trigger lost, no
// build run twice, numbers without gaps), an owner paused past --member-timeout that comes back
// (it learns it lost its partitions and changes nothing), a node joining and a node leaving with
// SIGQUIT while builds are in flight (every build finished once, nothing cancelled).
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "persistence/partitioning.hpp"
#include "tests/support/cluster_nodes.hpp"
#include "tests/support/kafka_broker.hpp"
#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

int partition_of(const std::string& pipeline) {
  return static_cast<int>(pikoci::persistence::partition_of(pipeline, cluster_partitions));
}

long number_of(const json& build) {
  const auto& n = build["number"];
  if (n.is_number_integer()) return n.get<long>();
  if (n.is_string()) return std::stol(n.get<std::string>());
  return -1;
}

/// "<pipeline> <number>" → how many times the line is in the marks file.
std::map<std::string, int> marks_of(const fs::path& file) {
  std::map<std::string, int> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) ++out[line];
  return out;
}

/// The partitions `url` owns in the view `v`.
std::set<int> owned_by(const json& v, const std::string& url) {
  std::set<int> out;
  if (!v.is_object() || !v["partitions"].is_array()) return out;
  for (const auto& p : v["partitions"])
    if (p["owner_url"] == url && p["partition"].is_number_integer()) out.insert(p["partition"].get<int>());
  return out;
}

/// GET /cluster of the node at `url`.
json view_at(const std::string& url, const std::string& token) {
  auto r = http_request("GET", url + "/api/v1/cluster", "", {{"Authorization", "Bearer " + token}}, 5000);
  return r.status == 200 ? r.json() : json();
}

/// Every partition in `ks` is owned by one of `live` (none by `gone`) in node `url`'s view.
bool taken_over(const std::string& url, const std::string& token, const std::set<int>& ks,
                const std::string& gone, const std::vector<std::string>& live) {
  auto v = view_at(url, token);
  if (!v.is_object() || !v["partitions"].is_array()) return false;
  for (int k : ks) {
    bool ok = false;
    for (const auto& p : v["partitions"])
      if (p["partition"] == k && p["owner_url"].is_string()) {
        auto o = p["owner_url"].get<std::string>();
        ok = o != gone && std::find(live.begin(), live.end(), o) != live.end();
      }
    if (!ok) return false;
  }
  return true;
}

/// The builds of `pipeline`'s job "j" through `node`, once they are all finished and at least
/// `count`; an empty array on timeout.
json finished_builds(runtime_node& node, const std::string& pipeline, std::size_t count,
                     std::chrono::milliseconds timeout) {
  json last = json::array();
  bool ok = eventually(
      [&] {
        last = node.builds(pipeline, "j");
        if (!last.is_array() || last.size() < count) return false;
        for (const auto& b : last)
          if (!is_finished(b)) return false;
        return true;
      },
      timeout);
  return ok ? last : json::array();
}

struct failover_stats {
  std::vector<double> times;
  std::string text() const {
    if (times.empty()) return "none";
    auto s = times;
    std::sort(s.begin(), s.end());
    std::ostringstream o;
    o << "median " << s[s.size() / 2] << " s, min " << s.front() << " s, max " << s.back()
      << " s over " << s.size();
    return o.str();
  }
};

/// Waits until every build of every pipeline of `acked` is finished (status and job hooks).
std::map<std::string, json> all_finished(runtime_node& node,
                                         const std::map<std::string, std::set<long>>& acked) {
  std::map<std::string, json> out;
  for (const auto& [pipeline, numbers] : acked) {
    long top = numbers.empty() ? 0 : *numbers.rbegin();
    out[pipeline] = finished_builds(node, pipeline, static_cast<std::size_t>(top), 180s);
    REQUIRE_MESSAGE(out[pipeline].size() >= static_cast<std::size_t>(top), pipeline, " ",
                    node.builds(pipeline, "j").dump());
  }
  return out;
}

/// Checks that every build of `pipeline` (numbers 1..n without gaps) is finished, succeeded when
/// acknowledged, and ran its task once per attempt at most (and at least once when it succeeded).
/// `builds` are all finished (all_finished), `marks` read after that.
void check_builds(const json& builds, const std::string& pipeline, const std::set<long>& acked,
                  const std::map<std::string, int>& marks, int& lost, int& twice) {
  std::set<long> numbers;
  for (const auto& b : builds) {
    long n = number_of(b);
    numbers.insert(n);
    std::string line = pipeline + " " + std::to_string(n);
    int ran = marks.count(line) ? marks.at(line) : 0;
    int attempt = b["attempt"].is_number_integer() ? b["attempt"].get<int>() : 1;
    if (ran > attempt) ++twice;
    CHECK_MESSAGE(ran <= attempt, line, " ran ", ran, " times in ", attempt, " attempt(s): ", b.dump());
    if (b["status"] == "succeeded") CHECK_MESSAGE(ran >= 1, line, " succeeded without running: ", b.dump());
    CHECK_MESSAGE(b["status"] == "succeeded", line, " ", b.dump());
  }
  for (long n : acked)
    if (!numbers.count(n)) ++lost;
  for (long n : acked) CHECK_MESSAGE(numbers.count(n) == 1, pipeline, " ", n, " acknowledged but missing");
  // numbers without gaps: 1..max
  if (!numbers.empty()) {
    CHECK_MESSAGE(*numbers.begin() == 1, pipeline);
    CHECK_MESSAGE(static_cast<long>(numbers.size()) == *numbers.rbegin(), pipeline, " numbers have gaps");
  }
}

}  // namespace

TEST_SUITE("kafka.cluster_failover") {
  TEST_CASE("owners killed with -9 and started again under continuous triggers: nothing lost or run twice") {
    constexpr int cycles = 20;
    auto& broker = kafka_broker::shared();
    cluster c(broker.bootstrap());
    for (int i = 0; i < 3; ++i) c.start(i);
    REQUIRE_MESSAGE(eventually([&] { return c.settled(3); }, 60s), c.view().dump(), c.tails());
    auto w1 = cluster_worker(*c.nodes[0], c.brokers, "w1");
    auto w2 = cluster_worker(*c.nodes[1], c.brokers, "w2");
    const std::string token = c.nodes[0]->token();

    auto marks = fs::path(c.dir.path()) / "marks";
    std::vector<std::string> names;
    for (int i = 0; i < 6; ++i) names.push_back("f" + std::to_string(i));
    for (const auto& p : names) c.nodes[0]->set_pipeline(p, marking_pipeline(marks, "0.2", true));
    for (auto& n : c.nodes)
      REQUIRE_MESSAGE(eventually([&] { return n->get("/pipelines").json()["pipelines"].size() == names.size(); }, 20s),
                      n->get("/pipelines").body);

    // triggers to random live nodes; every 201 recorded with its pipeline and number
    std::mutex mu;
    std::map<std::string, std::set<long>> acked;
    std::map<std::string, int> recent;  // 201s per pipeline since the last kill
    std::map<long, int> refused;        // status → count
    std::map<long, std::string> why;    // status → its first body
    std::atomic<bool> stop{false};
    std::thread triggers;
    struct joiner {  // a failed REQUIRE leaves through here too
      std::atomic<bool>& stop;
      std::thread& t;
      ~joiner() {
        stop = true;
        if (t.joinable()) t.join();
      }
    } join_triggers{stop, triggers};
    triggers = std::thread([&] {
      std::mt19937 rng(12345);
      while (!stop) {
        auto urls = c.urls();
        if (urls.empty()) {
          std::this_thread::sleep_for(100ms);
          continue;
        }
        const auto& url = urls[rng() % urls.size()];
        const auto& p = names[rng() % names.size()];
        auto r = http_request("POST", url + "/api/v1/pipelines/" + p + "/jobs/j/trigger", "",
                              {{"Authorization", "Bearer " + token}}, 15000);
        {
          std::lock_guard<std::mutex> lock(mu);
          if (r.status == 201) {
            auto j = r.json();
            long n = j.is_object() && j["build"].is_object() ? number_of(j["build"]) : -1;
            acked[p].insert(n);
            ++recent[p];
          } else {
            ++refused[r.status];
            if (!why.count(r.status)) why[r.status] = r.status ? r.body.substr(0, 300) : r.error;
          }
        }
        std::this_thread::sleep_for(250ms);
      }
    });

    failover_stats failover, settle;
    auto started = clock_type::now();
    int done = 0;
    for (; done < cycles; ++done) {
      std::this_thread::sleep_for(1s);
      std::string busiest;
      {
        std::lock_guard<std::mutex> lock(mu);
        int most = -1;
        for (const auto& [p, n] : recent)
          if (n > most) most = n, busiest = p;
        recent.clear();
      }
      if (busiest.empty()) busiest = names[0];
      json v;
      std::string url;
      int victim = -1;
      REQUIRE_MESSAGE(eventually(
                          [&] {
                            v = c.view();
                            if (!v.is_object() || !v["partitions"].is_array()) return false;
                            for (const auto& p : v["partitions"])
                              if (p["partition"] == partition_of(busiest) && p["owner_url"].is_string())
                                url = p["owner_url"];
                            victim = c.index_of(url);
                            return victim >= 0;
                          },
                          30s),
                      "cycle ", done, ": no owner of ", busiest, " ", v.dump());
      auto ks = owned_by(v, url);
      auto killed_at = clock_type::now();
      c.kill(static_cast<std::size_t>(victim));
      auto live = c.urls();
      REQUIRE_MESSAGE(eventually([&] { return taken_over(live[0], token, ks, url, live); }, 40s),
                      "cycle ", done, ": partitions of node ", victim, " not taken over\n", c.view().dump(),
                      c.tails());
      failover.times.push_back(seconds_since(killed_at));
      c.start(static_cast<std::size_t>(victim));
      REQUIRE_MESSAGE(eventually([&] { return c.settled(3); }, 60s), "cycle ", done, "\n",
                      c.view().dump(), c.tails());
      settle.times.push_back(seconds_since(killed_at));
    }
    double cycles_took = seconds_since(started);
    stop = true;
    triggers.join();

    int lost = 0, twice = 0;
    std::size_t total = 0;
    for (const auto& p : names) acked[p];
    auto builds = all_finished(c.any(), acked);
    auto seen = marks_of(marks);
    for (const auto& p : names) {
      total += acked[p].size();
      check_builds(builds[p], p, acked[p], seen, lost, twice);
    }
    CHECK(lost == 0);
    CHECK(twice == 0);
    CHECK(total > 0);
    std::string refusals;
    for (const auto& [s, n] : refused)
      refusals += "\n  " + std::to_string(s) + " x" + std::to_string(n) + ": " + why[s];
    MESSAGE(done << " kill -9 cycles in " << cycles_took << " s; " << total
                 << " acknowledged triggers, " << lost << " lost, " << twice
                 << " run twice; not acknowledged:" << refusals << "\nfailover (kill -> partitions active elsewhere): "
                 << failover.text() << "\nkill -> settled again with the node back: " << settle.text());
  }

  TEST_CASE("an owner paused past --member-timeout comes back and changes nothing") {
    auto& broker = kafka_broker::shared();
    cluster c(broker.bootstrap());
    for (int i = 0; i < 3; ++i) c.start(i);
    REQUIRE_MESSAGE(eventually([&] { return c.settled(3); }, 60s), c.view().dump(), c.tails());
    auto w1 = cluster_worker(*c.nodes[0], c.brokers, "w1");
    auto w2 = cluster_worker(*c.nodes[1], c.brokers, "w2");

    auto marks = fs::path(c.dir.path()) / "marks";
    c.nodes[0]->set_pipeline("slow", marking_pipeline(marks, "12", true));
    int k = partition_of("slow");
    auto url = c.owner_url(k);
    int owner = c.index_of(url);
    REQUIRE_MESSAGE(owner >= 0, c.view().dump());
    int other = (owner + 1) % 3;
    auto& o = *c.nodes[other];
    o.trigger("slow", "j");
    o.wait_started("slow", "j", "1", 30s);

    auto& paused = *c.nodes[owner];
    REQUIRE(::kill(paused.server().process().pid(), SIGSTOP) == 0);
    auto paused_at = clock_type::now();
    // the others take its partitions
    REQUIRE_MESSAGE(eventually(
                        [&] {
                          auto v = o.get("/cluster").json();
                          auto u = owned_by(v, url);
                          return !u.count(k) && owned_by(v, o.server().url()).size() +
                                                        owned_by(v, c.nodes[(owner + 2) % 3]->server().url()).size() ==
                                                    static_cast<std::size_t>(cluster_partitions) + 1;
                        },
                        40s),
                    o.get("/cluster").body, c.tails());
    MESSAGE("paused owner's partitions taken over in " << seconds_since(paused_at) << " s");
    auto b1 = o.wait_build("slow", "j", "1", 60s);
    CHECK_MESSAGE(b1["status"] == "succeeded", b1.dump(), c.tails());
    REQUIRE(::kill(paused.server().process().pid(), SIGCONT) == 0);

    auto& proc = paused.server().process();
    CHECK_MESSAGE((proc.wait_for_line("event=cluster.partition_lost", 30s) ||
                   proc.wait_for_line("event=cluster.partition_fenced", 5s)),
                  paused.tail());
    // nothing changed by it: build 1 finished once, the same as before
    std::this_thread::sleep_for(3s);
    auto again = o.build("slow", "j", "1");
    CHECK(again["status"] == "succeeded");
    CHECK(again["finished_at"] == b1["finished_at"]);
    CHECK(lines_in(marks) == 1);

    // a trigger through the resumed node is forwarded to the new owner and runs once
    REQUIRE_MESSAGE(eventually([&] { return c.settled(3); }, 60s), c.view().dump(), c.tails());
    auto b2 = paused.trigger("slow", "j");
    CHECK(number_of(b2) == 2);
    auto d2 = paused.wait_build("slow", "j", "2", 60s);
    CHECK_MESSAGE(d2["status"] == "succeeded", d2.dump(), c.tails());
    CHECK(lines_in(marks) == 2);
    auto all = o.builds("slow", "j");
    CHECK_MESSAGE(all.size() == 2, all.dump());
    auto seen = marks_of(marks);
    CHECK(seen["slow 1"] == 1);
    CHECK(seen["slow 2"] == 1);
  }

  TEST_CASE("a node joins while builds are in flight: it takes partitions, no build lost or run twice") {
    auto& broker = kafka_broker::shared();
    cluster c(broker.bootstrap());
    for (int i = 0; i < 2; ++i) c.start(i);
    REQUIRE_MESSAGE(eventually([&] { return c.settled(2); }, 60s), c.view().dump(), c.tails());
    auto w1 = cluster_worker(*c.nodes[0], c.brokers, "w1");
    auto w2 = cluster_worker(*c.nodes[1], c.brokers, "w2");

    auto marks = fs::path(c.dir.path()) / "marks";
    std::vector<std::string> names;
    for (int i = 0; i < 6; ++i) names.push_back("j" + std::to_string(i));
    for (const auto& p : names) c.nodes[0]->set_pipeline(p, marking_pipeline(marks, "3", true));
    std::map<std::string, std::set<long>> acked;
    for (int round = 0; round < 2; ++round)
      for (const auto& p : names) acked[p].insert(number_of(c.nodes[round]->trigger(p, "j")));
    REQUIRE(eventually([&] { return c.nodes[0]->build(names[0], "j", "1")["status"] == "started"; }, 30s));

    auto& joined = c.start(2);
    REQUIRE_MESSAGE(eventually([&] { return c.settled(3) && !owned_by(c.view(), joined.server().url()).empty(); }, 60s),
                    c.view().dump(), c.tails());
    // and after it joined, through it
    for (const auto& p : names) acked[p].insert(number_of(joined.trigger(p, "j")));

    int lost = 0, twice = 0;
    auto builds = all_finished(joined, acked);
    auto seen = marks_of(marks);
    for (const auto& p : names) check_builds(builds[p], p, acked[p], seen, lost, twice);
    CHECK(lost == 0);
    CHECK(twice == 0);
  }

  TEST_CASE("a node leaving with SIGQUIT hands its partitions over: running builds finish once") {
    auto& broker = kafka_broker::shared();
    cluster c(broker.bootstrap());
    for (int i = 0; i < 3; ++i) c.start(i);
    REQUIRE_MESSAGE(eventually([&] { return c.settled(3); }, 60s), c.view().dump(), c.tails());
    auto w1 = cluster_worker(*c.nodes[0], c.brokers, "w1");
    auto w2 = cluster_worker(*c.nodes[1], c.brokers, "w2");

    auto marks = fs::path(c.dir.path()) / "marks";
    std::vector<std::string> names;
    for (int i = 0; i < 6; ++i) names.push_back("l" + std::to_string(i));
    for (const auto& p : names) c.nodes[0]->set_pipeline(p, marking_pipeline(marks, "5", true));
    // the node leaving: the owner of l0, with l0's build running
    auto url = c.owner_url(partition_of(names[0]));
    int leaving = c.index_of(url);
    REQUIRE_MESSAGE(leaving >= 0, c.view().dump());
    int stays = (leaving + 1) % 3;
    std::map<std::string, std::set<long>> acked;
    for (const auto& p : names) acked[p].insert(number_of(c.nodes[stays]->trigger(p, "j")));
    c.nodes[stays]->wait_started(names[0], "j", "1", 30s);

    auto& proc = c.nodes[leaving]->server().process();
    auto code = proc.stop(SIGQUIT, 30s);
    auto out = proc.output();
    CHECK_MESSAGE(code == 0, out);
    CHECK_MESSAGE(out.find("event=cluster.handed_off") != std::string::npos, out);
    CHECK_MESSAGE(out.find("event=cluster.left") != std::string::npos, out);
    c.nodes[static_cast<std::size_t>(leaving)].reset();
    REQUIRE_MESSAGE(eventually([&] { return c.settled(2); }, 30s), c.view().dump(), c.tails());

    int lost = 0, twice = 0;
    auto builds = all_finished(*c.nodes[stays], acked);
    auto seen = marks_of(marks);
    for (const auto& p : names) check_builds(builds[p], p, acked[p], seen, lost, twice);
    CHECK(lost == 0);
    CHECK(twice == 0);
    for (const auto& p : names) {
      auto b = c.nodes[stays]->build(p, "j", "1");
      CHECK_MESSAGE(b["status"] != "aborted", b.dump());
    }
  }
}
