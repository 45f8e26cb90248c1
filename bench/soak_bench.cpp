// Soak: MINUTES of triggers whose tasks print random bytes (valid and invalid UTF-8, split
// characters, small and large outputs up to 200 MB) and a resource check printing Latin-1, on the
// built pikoci-node (memory store) held to a 256 MiB memory limit. The limit is a cgroup's: v2
// `memory.max` when /sys/fs/cgroup is a writable v2 hierarchy with the memory controller, else v1
// `memory.limit_in_bytes` when the v1 memory hierarchy is writable, else `prlimit` RLIMIT_AS on
// the node (which bounds address space, not memory; the line says which was used). Reports crashes
// (the node dying, e.g. killed by the OOM killer: must be 0), the node's RSS at the start, middle
// and end (flat), and builds triggered vs ended (all end). Each job keeps its 2 newest builds
// (`--max-builds-per-job 2`): kept builds hold their logs in memory. Exits non-zero when the node crashed or a
// build did not end. Prints JSON lines in bench/run's format.
//
//   bench-soak [--minutes M (20; fractions allowed)] [--outstanding N (4)] [--seed S]

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
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
using clock_type = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

constexpr long long limit_bytes = 256ll * 1024 * 1024;

bool write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p);
  out << text;
  out.flush();
  return static_cast<bool>(out);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// Puts `pid` under a 256 MiB limit; returns how (and the cgroup to remove after, if any).
std::pair<std::string, fs::path> limit_memory(int pid) {
  std::error_code ec;
  auto name = "pikoci-soak-" + std::to_string(getpid());
  fs::path v2 = "/sys/fs/cgroup";
  if (read_file(v2 / "cgroup.controllers").find("memory") != std::string::npos) {
    auto dir = v2 / name;
    fs::create_directory(dir, ec);
    if (!ec && write_file(dir / "memory.max", std::to_string(limit_bytes)) &&
        write_file(dir / "cgroup.procs", std::to_string(pid))) {
      write_file(dir / "memory.swap.max", "0");
      return {"cgroup v2 memory.max", dir};
    }
  }
  // v1: below this process's own memory cgroup (a container's, usually)
  fs::path v1 = "/sys/fs/cgroup/memory";
  std::string own;
  std::istringstream lines(read_file("/proc/self/cgroup"));
  for (std::string line; std::getline(lines, line);) {
    auto colon = line.find(':'), second = line.find(':', colon + 1);
    if (colon == std::string::npos || second == std::string::npos) continue;
    auto controllers = line.substr(colon + 1, second - colon - 1);
    if (controllers == "memory") own = line.substr(second + 1);
  }
  if (fs::exists(v1 / "memory.limit_in_bytes")) {
    auto dir = v1 / fs::path(own).relative_path() / name;
    fs::create_directory(dir, ec);
    if (!ec && write_file(dir / "memory.limit_in_bytes", std::to_string(limit_bytes)) &&
        write_file(dir / "cgroup.procs", std::to_string(pid)))
      return {"cgroup v1 memory.limit_in_bytes", dir};
  }
  rlimit r{static_cast<rlim_t>(limit_bytes), static_cast<rlim_t>(limit_bytes)};
  if (prlimit(pid, RLIMIT_AS, &r, nullptr) == 0) return {"prlimit RLIMIT_AS", {}};
  return {"none (no cgroup and prlimit failed)", {}};
}

/// VmRSS or VmHWM of `pid` in MiB; -1 once it is gone.
double status_mib(int pid, const char* field) {
  return pikoci::test::proc_status_kb(pid, field) / 1024.0;
}

bool alive(int pid) {
  return kill(pid, 0) == 0 && pikoci::test::proc_status_kb(pid, "VmRSS") >= 0;
}

/// The jobs: what their tasks print. Weighted so most builds are small and a few are huge.
struct job_kind {
  const char* name;
  const char* cmd;
  int weight;
};
const job_kind kinds[] = {
    {"utf8-small", "head -c 3000 /dev/urandom | base64", 30},
    {"binary-small", "head -c 3000 /dev/urandom; echo", 30},
    {"latin1-lines", "for i in 1 2 3 4 5; do printf 'caf\\351 \\377\\376 na\\357ve\\n'; done", 15},
    {"split-chars",
     "for i in 1 2 3; do printf 'price: \\342\\202'; sleep 0.05; printf '\\254 \\360\\237'; "
     "sleep 0.05; printf '\\230\\200\\n'; done",
     10},
    {"binary-large", "head -c 20000000 /dev/urandom; echo", 8},
    {"utf8-large", "head -c 30000000 /dev/urandom | base64", 5},
    {"huge", "head -c 150000000 /dev/urandom | base64 -w 0; echo", 2},
};

}  // namespace

int main(int argc, char** argv) {
  double minutes = 20;
  int outstanding = 4;
  unsigned seed = static_cast<unsigned>(std::random_device{}());
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--minutes")) minutes = std::atof(argv[i + 1]);
    if (!std::strcmp(argv[i], "--outstanding")) outstanding = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--seed")) seed = static_cast<unsigned>(std::atol(argv[i + 1]));
  }
  // Finished builds are kept with their logs (up to 4 MiB per step), in the job and in the
  // memory store: retention, not output, is what sets the node's size beyond the running builds.
  // Two per job keeps 7 jobs' worth well inside the limit.
  node_server node({"--concurrency", std::to_string(outstanding), "--max-builds-per-job", "2"});
  int pid = node.process().pid();
  auto [how, cgroup] = limit_memory(pid);
  std::fprintf(stderr, "soak: %.2f min, seed %u, memory limit 256 MiB by %s\n", minutes, seed,
               how.c_str());
  std::map<std::string, std::string> auth{{"Authorization", "Bearer " + user_token("admin")},
                                          {"Content-Type", "application/json"}};
  auto base = node.url() + "/api/v1";
  std::string hcl = R"HCL(
resource_type "latin" {
  check "shell" {
    cmd = "printf '[{\"ref\":\"caf\\351-%s\"}]\\n' $(date +%s)"
  }
}
resource "latin" "src" {
  check_interval = "@every 10s"
}
)HCL";
  std::vector<int> weights;
  for (const auto& k : kinds) {
    std::string cmd = k.cmd;
    std::string escaped;
    for (char c : cmd) {  // as an HCL string
      if (c == '"' || c == '\\') escaped += '\\';
      escaped += c;
    }
    hcl += std::string("job \"") + k.name + "\" {\n  task \"print\" {\n    run \"shell\" {\n" +
           "      cmd = \"" + escaped + "\"\n    }\n  }\n}\n";
    weights.push_back(k.weight);
  }
  auto set =
      http_request("PUT", base + "/pipelines/soak", nlohmann::json{{"config", hcl}}.dump(), auth);
  if (set.status != 201) {
    std::fprintf(stderr, "cannot set the pipeline: %ld %s\n", set.status, set.body.c_str());
    return 1;
  }
  std::mt19937 rng(seed);
  std::discrete_distribution<int> pick(weights.begin(), weights.end());
  auto finished = [&]() -> long {
    auto r = http_request("GET", base + "/stats", "", auth, 30000);
    if (r.status != 200) return -1;
    long n = 0;
    auto stats = r.json();
    for (const auto& [status, count] : stats["finished"].items()) n += count.get<long>();
    return n;
  };
  std::this_thread::sleep_for(std::chrono::seconds(1));
  double rss_start = status_mib(pid, "VmRSS"), rss_mid = -1;
  auto t0 = clock_type::now();
  auto duration = std::chrono::duration<double>(minutes * 60);
  long triggered = 0, ended = 0, refused = 0;
  int crashes = 0;
  std::map<std::string, long> by_kind;
  while (clock_type::now() - t0 < duration) {
    if (!alive(pid)) {
      crashes = 1;
      break;
    }
    if (rss_mid < 0 && clock_type::now() - t0 >= duration / 2) rss_mid = status_mib(pid, "VmRSS");
    long done = finished();
    if (done >= 0) ended = done;
    if (triggered - ended >= outstanding) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    const auto& k = kinds[pick(rng)];
    auto r = http_request("POST", base + "/pipelines/soak/jobs/" + k.name + "/trigger", "", auth,
                          30000);
    if (r.status == 201) {
      ++triggered;
      ++by_kind[k.name];
    } else {
      ++refused;
      std::fprintf(stderr, "trigger %s: %ld %s\n", k.name, r.status, r.body.c_str());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  // every build ends (bounded: the largest takes well under two minutes)
  auto deadline = clock_type::now() + std::chrono::minutes(3);
  while (crashes == 0 && clock_type::now() < deadline) {
    if (!alive(pid)) {
      crashes = 1;
      break;
    }
    long done = finished();
    if (done >= 0) ended = done;
    if (ended >= triggered) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (crashes == 0 && http_request("GET", base + "/health", "", {}, 30000).status != 200)
    crashes = 1;
  double rss_end = status_mib(pid, "VmRSS"), peak = status_mib(pid, "VmHWM");
  if (rss_mid < 0) rss_mid = rss_end;
  if (crashes != 0 || ended < triggered)
    std::fprintf(stderr, "%s; the node's log:\n%s\n",
                 crashes != 0 ? "the node died" : "builds did not end", node.process().tail(40).c_str());
  nlohmann::ordered_json extra{{"memory_limit", how}, {"minutes", minutes}, {"seed", seed}};
  pikoci::bench::report({"soak_random_output", "crashes", "count", 0}, {double(crashes)}, false, 1,
                        extra);
  pikoci::bench::report({"soak_random_output", "builds_not_ended", "count", 0},
                        {double(triggered - ended)}, false, 1,
                        {{"triggered", triggered}, {"ended", ended}, {"refused", refused}});
  pikoci::bench::report({"soak_random_output", "rss", "MiB", 256}, {rss_start, rss_mid, rss_end},
                        false, 3,
                        {{"start", rss_start}, {"middle", rss_mid}, {"end", rss_end},
                         {"peak_vmhwm", peak}});
  std::string kinds_text;
  for (const auto& [name, n] : by_kind) kinds_text += name + "=" + std::to_string(n) + " ";
  std::fprintf(stderr, "builds by kind: %s\n", kinds_text.c_str());
  if (alive(pid)) node.process().stop(SIGTERM, std::chrono::seconds(20));
  if (!cgroup.empty()) {
    std::error_code ec;
    fs::remove(cgroup, ec);
  }
  return crashes == 0 && ended >= triggered ? 0 : 1;
}
