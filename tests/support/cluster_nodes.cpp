#include "tests/support/cluster_nodes.hpp"

#include <csignal>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <doctest/doctest.h>

#include "tests/support/cluster_flags.hpp"

using namespace std::chrono_literals;

namespace pikoci::test {

cluster::cluster(const std::string& b, std::vector<std::string> more)
    : brokers(b), extra(std::move(more)) {}

std::vector<std::string> cluster::args(int i) const {
  auto a = cluster_node_flags(brokers, prefix, name, partitions, "cluster-admin-pw",
                              db(i).string());
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

runtime_node& cluster::start(std::size_t i) {
  if (i >= nodes.size()) nodes.resize(i + 1);
  nodes[i] = std::make_unique<runtime_node>(args(static_cast<int>(i)));
  ++started;
  refresh_urls();
  return *nodes[i];
}

void cluster::kill(std::size_t i) {
  if (i >= nodes.size() || !nodes[i]) return;
  nodes[i]->server().process().stop(SIGKILL);
  nodes[i].reset();
  refresh_urls();
}

void cluster::refresh_urls() {
  std::vector<std::string> u;
  for (auto& n : nodes)
    if (n) u.push_back(n->server().url());
  std::lock_guard<std::mutex> lock(mu_);
  urls_ = std::move(u);
}

std::vector<std::string> cluster::urls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return urls_;
}

runtime_node& cluster::any() {
  for (auto& n : nodes)
    if (n) return *n;
  throw std::runtime_error("no node is running");
}

json cluster::view() { return any().get("/cluster").json(); }

bool cluster::settled(std::size_t members) {
  int active = 0;
  for (auto& n : nodes) {
    if (!n) continue;
    auto c = n->get("/cluster").json();
    if (!c.is_object() || !c["members"].is_array() || c["members"].size() != members)
      return false;
    if (!c["partitions"].is_array() ||
        c["partitions"].size() != static_cast<std::size_t>(partitions) + 1)
      return false;
    for (const auto& p : c["partitions"]) {
      if (p["owner"].is_null()) return false;
      auto here = p.value("local_state", json());
      if (here == "active")
        ++active;
      else if (!here.is_null() && here != "idle")
        return false;
    }
    // a member that joined owns some once the group moved partitions to it
    for (const auto& m : c["members"])
      if (!m["owned"].is_array() || m["owned"].empty()) return false;
  }
  return active == partitions + 1;
}

bool cluster::stable(std::size_t members) {
  auto owners = [&] {
    std::vector<std::string> out;
    for (int k = 0; k < partitions; ++k) out.push_back(owner_url(k));
    return out;
  };
  if (!eventually([&] { return settled(members); }, 60s)) return false;
  auto last = owners();
  return eventually(
      [&] {
        std::this_thread::sleep_for(3s);
        auto now = owners();
        const bool same = now == last && settled(members);
        last = now;
        return same;
      },
      60s);
}

std::filesystem::path cluster::db(int i) const {
  return std::filesystem::path(dir.path()) / ("node" + std::to_string(i));
}

std::string cluster::owner_url(int k) {
  auto c = view();
  if (!c.is_object() || !c["partitions"].is_array()) return "";
  for (const auto& p : c["partitions"])
    if (p["partition"] == k && p["owner_url"].is_string()) return p["owner_url"];
  return "";
}

int cluster::index_of(const std::string& url) {
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i] && nodes[i]->server().url() == url) return static_cast<int>(i);
  return -1;
}

std::string cluster::tails() {
  std::string out;
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i]) out += "---- node " + std::to_string(i) + "\n" + nodes[i]->tail() + "\n";
  return out;
}

std::unique_ptr<child_process> cluster_worker(runtime_node& server, const std::string& brokers,
                                              const std::string& name) {
  std::vector<std::string> args{node_binary(),       "--role",         "worker",
                                "--pikoci-url",      server.server().url(),
                                "--pubsub-system",   "kafka",          "--kafka-brokers",
                                brokers,             "--worker-token", worker_token(),
                                "--name",            name,             "--concurrency",
                                "4"};
  auto p = std::make_unique<child_process>(args);
  REQUIRE_MESSAGE(p->wait_for_line("event=worker.ready", 30s), p->tail());
  return p;
}

std::string marking_pipeline(const std::filesystem::path& marks, const std::string& sleep,
                             bool build_id) {
  std::string mark = build_id ? "$BUILD_PIPELINE_NAME $BUILD_NUMBER" : "ran";
  return R"hcl(
job "j" {
  task "t" {
    run "shell" { cmd = "sleep )hcl" +
         sleep + "; echo " + mark + " >> " + marks.string() + R"hcl(" }
  }
}
)hcl";
}

int lines_in(const std::filesystem::path& p) {
  std::ifstream in(p);
  int n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

}  // namespace pikoci::test
