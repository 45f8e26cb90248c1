// Benchmark: the built-in git resource type on a local repository of COMMITS commits (made with
// `git fast-import`, one file changed per commit).
//  (a) `pikoci-node builtin git.check` as a worker runs it: wall time, and the peak RSS of its
//      process tree (wait4: the largest of pikoci-node and the git processes it waited for);
//      also `git.pull` into a fresh work directory, cold (the $CACHE_DIR mirror is made first)
//      and warm (cloned from the mirror).
//  (b) trigger → start of a job whose first step is a git get of that repository and whose
//      second step is the static probe `bench-stamp`: latency = the probe's clock − the wall
//      clock just before the trigger request (embedded worker, warm cache), and the get step's
//      own duration from the build record.
// Prints JSON lines in bench/run's format.
//
//   bench-git [--runs N] [--commits N]

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bench/report.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

using namespace pikoci::test;
namespace fs = std::filesystem;

namespace {

std::int64_t now_ns() {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
}

/// A bare repository at `dir` whose main branch has `commits` commits.
bool make_repository(const std::string& dir, int commits) {
  if (run_command({"git", "init", "-q", "--bare", "-b", "main", dir}).exit_code != 0) return false;
  std::string cmd = "git -C '" + dir + "' fast-import --quiet";
  FILE* in = ::popen(cmd.c_str(), "w");
  if (in == nullptr) return false;
  for (int i = 1; i <= commits; ++i) {
    std::string msg = "commit " + std::to_string(i) + "\n";
    std::string content = "line " + std::to_string(i) + "\n";
    std::fprintf(in, "commit refs/heads/main\nmark :%d\ncommitter Bench <b@example.org> %d +0000\n",
                 i, 1700000000 + i);
    std::fprintf(in, "data %zu\n%s", msg.size(), msg.c_str());
    if (i > 1) std::fprintf(in, "from :%d\n", i - 1);
    std::fprintf(in, "M 644 inline file%d.txt\ndata %zu\n%s\n", i % 100, content.size(),
                 content.c_str());
  }
  return ::pclose(in) == 0;
}

struct measured {
  double ms = 0;
  double maxrss_mib = 0;
  bool ok = false;
  std::string output;
};

/// Runs `pikoci-node builtin HANDLER` with `env` added to ours, like a worker would.
measured run_handler(const std::string& handler, const std::vector<std::string>& env,
                     const std::string& out_file) {
  std::string bin = node_binary();
  std::vector<char*> argv{const_cast<char*>(bin.c_str()), const_cast<char*>("builtin"),
                          const_cast<char*>(handler.c_str()), nullptr};
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  measured m;
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {
    FILE* f = std::freopen(out_file.c_str(), "w", stdout);
    if (f == nullptr || ::dup2(::fileno(stdout), 2) < 0) ::_exit(126);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  int status = 0;
  rusage ru{};
  ::wait4(pid, &status, 0, &ru);
  m.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  m.maxrss_mib = static_cast<double>(ru.ru_maxrss) / 1024.0;
  m.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  auto r = run_command({"cat", out_file});
  m.output = r.output;
  return m;
}

/// "2026-12-02T21:48:20.858Z" → ms since the epoch; -1 when it is not such a time.
double iso_ms(const nlohmann::json& v) {
  if (!v.is_string()) return -1;
  std::tm tm{};
  int ms = 0;
  auto s = v.get<std::string>();
  if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<double>(::timegm(&tm)) * 1000.0 + ms;
}

int check_and_pull(const std::string& scratch, const std::string& repo, int runs, int commits) {
  std::string url = "file://" + repo;
  std::vector<double> check_ms, check_rss, cold_ms, cold_rss, warm_ms, warm_rss;
  auto head = run_command({"git", "-C", repo, "rev-parse", "main"}).output;
  head.resize(40);
  for (int i = 0; i < runs; ++i) {
    auto c = run_handler("git.check", {"param_url=" + url, "param_branch=main"}, scratch + "/out");
    if (!c.ok || c.output.find(head) == std::string::npos) {
      std::fprintf(stderr, "git.check failed: %s\n", c.output.c_str());
      return 1;
    }
    check_ms.push_back(c.ms);
    check_rss.push_back(c.maxrss_mib);
    for (bool warm : {false, true}) {
      std::string cache = scratch + "/cache-" + std::to_string(i), work = scratch + "/work";
      fs::remove_all(work);
      fs::create_directories(work);
      if (!warm) fs::remove_all(cache);
      fs::create_directories(cache);
      auto p = run_handler("git.pull",
                           {"param_url=" + url, "param_branch=main", "param_name=src",
                            "version_ref=" + head, "WORKDIR=" + work, "CACHE_DIR=" + cache},
                           scratch + "/out");
      if (!p.ok) {
        std::fprintf(stderr, "git.pull failed: %s\n", p.output.c_str());
        return 1;
      }
      (warm ? warm_ms : cold_ms).push_back(p.ms);
      (warm ? warm_rss : cold_rss).push_back(p.maxrss_mib);
    }
  }
  auto name = [&](const std::string& what) {
    return "git_" + what + "_" + std::to_string(commits) + "_commits";
  };
  using pikoci::bench::report;
  report({name("check"), "time", "ms", 0}, check_ms);
  report({name("check"), "peak_rss", "MiB", 0}, check_rss);
  report({name("pull_cold_cache"), "time", "ms", 0}, cold_ms);
  report({name("pull_cold_cache"), "peak_rss", "MiB", 0}, cold_rss);
  report({name("pull_warm_cache"), "time", "ms", 0}, warm_ms);
  report({name("pull_warm_cache"), "peak_rss", "MiB", 0}, warm_rss);
  return 0;
}

int trigger_to_start(const std::string& scratch, const std::string& repo, int runs, int commits) {
  node_server node({"--concurrency", "2", "--cache-root", scratch + "/node-cache"});
  std::map<std::string, std::string> auth{{"Authorization", "Bearer " + user_token("admin")},
                                          {"Content-Type", "application/json"}};
  auto base = node.url() + "/api/v1";
  std::string hcl =
      "resource \"git\" \"src\" {\n  check_interval = \"@every 1h\"\n  params {\n"
      "    url = \"file://" +
      repo +
      "\"\n    branch = \"main\"\n    name = \"src\"\n"
      "  }\n}\njob \"stamp\" {\n  get \"git\" \"src\" {}\n  task \"date\" {\n"
      "    run \"exec\" {\n      path = \"" PIKOCI_STAMP_BINARY "\"\n    }\n  }\n}\n";
  auto set =
      http_request("PUT", base + "/pipelines/bench", nlohmann::json{{"config", hcl}}.dump(), auth);
  if (set.status != 201) {
    std::fprintf(stderr, "cannot set the pipeline: %ld %s\n", set.status, set.body.c_str());
    return 1;
  }
  http_request("POST", base + "/pipelines/bench/resources/git.src/check", "", auth);
  bool found = false;
  for (int i = 0; i < 600 && !found; ++i) {
    auto v = http_request("GET", base + "/pipelines/bench/resources/git.src/versions", "", auth);
    found = v.status == 200 && v.json()["versions"].is_array() && !v.json()["versions"].empty();
    if (!found) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!found) {
    std::fprintf(stderr, "the check found no version\n%s\n", node.process().tail().c_str());
    return 1;
  }
  std::vector<double> start_ms, get_ms;
  for (int i = 0; i < runs + 2; ++i) {  // 2 warm-up runs: the first makes the cache's mirror
    auto t0 = now_ns();
    auto r = http_request("POST", base + "/pipelines/bench/jobs/stamp/trigger", "", auth);
    if (r.status != 201) {
      std::fprintf(stderr, "trigger failed: %ld %s\n", r.status, r.body.c_str());
      return 1;
    }
    auto id = std::to_string(r.json()["build"]["id"].get<std::int64_t>());
    nlohmann::json build;
    for (int tries = 0; tries < 30000; ++tries) {
      build = http_request("GET", base + "/builds/" + id, "", auth).json()["build"];
      if (build["status"] != "pending" && build["status"] != "started") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (build["status"] != "succeeded" || build["steps"].size() < 2) {
      std::fprintf(stderr, "build %s ended %s\n", id.c_str(), build.dump().c_str());
      return 1;
    }
    if (i < 2) continue;
    auto stamp = std::stoll(build["steps"][1]["logs"].get<std::string>());
    start_ms.push_back(static_cast<double>(stamp - t0) / 1e6);
    const auto& get = build["steps"][0];
    get_ms.push_back(iso_ms(get["finished_at"]) - iso_ms(get["started_at"]));
  }
  auto name = "trigger_to_task_after_git_get_" + std::to_string(commits) + "_commits";
  pikoci::bench::report({name, "latency", "ms", 0}, start_ms, true);
  pikoci::bench::report({name, "get_step", "ms", 0}, get_ms);
  node.process().stop(SIGTERM);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 20, commits = 10000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--commits")) commits = std::atoi(argv[i + 1]);
  }
  char tmpl[] = "/tmp/pikoci-bench-git-XXXXXX";
  std::string scratch = ::mkdtemp(tmpl);
  std::string repo = scratch + "/repo.git";
  int rc = 1;
  if (!make_repository(repo, commits)) {
    std::fprintf(stderr, "cannot make the repository\n");
  } else {
    rc = check_and_pull(scratch, repo, runs, commits);
    if (rc == 0) rc = trigger_to_start(scratch, repo, runs, commits);
  }
  fs::remove_all(scratch);
  return rc;
}
