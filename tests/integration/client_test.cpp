// `pikoci-node client` as a user runs it against a real node (docs/client.md, docs/api.md):
// exit codes, text and --json output, error messages, and that the token never shows.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

// A pipeline without gets, so manual triggers need no resource version; `slow` runs long enough
// to be cancelled, and `timer` is there for the resource verbs.
const char* const pipeline_hcl = R"(resource "cron" "timer" {
  check_interval = "@every 1h"
}

variable "greeting" {
  type    = string
  default = "hello"
}

variable "repeat" {
  type    = number
  default = 1
}

job "hello" {
  input "who" {
    type    = string
    default = "nobody"
  }
  task "say" {
    run "shell" {
      cmd = "echo ${var.greeting}-from-client-${var.repeat} to $INPUT_who"
    }
  }
  in_parallel {
    task "left" {
      run "shell" {
        cmd = "echo left-out"
      }
    }
    task "right" {
      run "shell" {
        cmd = "echo right-out"
      }
    }
  }
  ensure "shell" {
    cmd = "echo ensured-out"
  }
}

job "slow" {
  task "sleep" {
    run "shell" {
      cmd = "sleep 30"
    }
  }
}
)";

std::string write_temp(const std::string& name, const std::string& content) {
  std::string path = "/tmp/pikoci-client-" + std::to_string(getpid()) + "-" + name;
  std::ofstream(path) << content;
  return path;
}

/// A user token for the test server's secret.
std::string token_for(const std::string& role = "admin") {
  auto r =
      run_command({node_binary(), "user-token", "--jwt-secret", "test-secret", "--role", role});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  return r.output.substr(0, r.output.find('\n'));
}

/// A node, an admin token and a way to run the client against them.
struct fixture {
  node_server node;
  std::string token = token_for();

  command_result client(std::vector<std::string> args, const std::string& tok) {
    std::vector<std::string> argv{node_binary(), "client", "--url", node.url()};
    if (!tok.empty()) argv.insert(argv.end(), {"--token", tok});
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, 20s);
  }
  command_result client(std::vector<std::string> args) { return client(std::move(args), token); }

  /// Creates pipeline `p` from pipeline_hcl; fails the test if that does not work.
  void set_pipeline() {
    std::string file = write_temp("p.hcl", pipeline_hcl);
    auto r = client({"pipelines", "set", "p", file});
    std::remove(file.c_str());
    REQUIRE_MESSAGE(r.exit_code == 0, r.output, "\n", node.process().tail());
  }

  /// `builds get --json` until the build is terminal (bounded); the build JSON.
  nlohmann::json wait_finished(const std::string& job, const std::string& number) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    nlohmann::json build;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = client({"--json", "builds", "get", "p", job, number});
      REQUIRE_MESSAGE(r.exit_code == 0, r.output);
      build = nlohmann::json::parse(r.output, nullptr, false)["build"];
      // over: its status is final and its hooks ran (finished_at is set only then)
      std::string status = build.value("status", "");
      if (status != "pending" && status != "started" && build["finished_at"].is_string())
        return build;
      std::this_thread::sleep_for(100ms);
    }
    FAIL("build ", job, " #", number, " did not finish: ", build.dump());
    return build;
  }

  /// `builds get --json` until the build has started (bounded).
  void wait_started(const std::string& job, const std::string& number) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = client({"--json", "builds", "get", "p", job, number});
      REQUIRE_MESSAGE(r.exit_code == 0, r.output);
      if (nlohmann::json::parse(r.output, nullptr, false)["build"]["status"] == "started") return;
      std::this_thread::sleep_for(50ms);
    }
    FAIL("build ", job, " #", number, " did not start");
  }
};

bool has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

/// A usage error: exit 2 and one line naming `word`.
void check_usage_error(const command_result& r, const std::string& word) {
  CHECK_MESSAGE(r.exit_code == 2, r.output);
  CHECK_MESSAGE(has(r.output, word), r.output);
  CHECK_MESSAGE(std::count(r.output.begin(), r.output.end(), '\n') == 1, r.output);
}

}  // namespace

TEST_SUITE("integration.client") {
  TEST_CASE("usage errors exit 2 with one line naming what is wrong") {
    auto c = [](std::vector<std::string> args) {
      args.insert(args.begin(), {node_binary(), "client", "--url", "http://127.0.0.1:1"});
      return run_command(args, 10s);
    };
    check_usage_error(c({}), "pipelines");
    check_usage_error(c({"pipelines"}), "set");
    check_usage_error(c({"pipelines", "frob"}), "frob");
    check_usage_error(c({"jobs", "trigger", "p"}), "JOB");
    check_usage_error(c({"builds", "get", "p", "j"}), "NUMBER");
    check_usage_error(c({"builds", "list", "--status", "nope"}), "--status");
    check_usage_error(c({"builds", "list", "--limit", "-1"}), "--limit");
    check_usage_error(c({"resources", "pin", "p", "r", "latest"}), "VERSION_ID");
    check_usage_error(c({"pipelines", "set", "p", "/nonexistent/p.hcl"}), "/nonexistent/p.hcl");
    check_usage_error(c({"jobs", "trigger", "p", "j", "--input", "novalue"}), "--input");
    check_usage_error(c({"--bogus", "queue"}), "--bogus");
    std::string p = write_temp("ok.hcl", "job \"a\" {}\n");
    std::string bad_json = write_temp("bad.json", "{not json");
    check_usage_error(c({"pipelines", "set", "p", p, "--vars", bad_json}), bad_json);
    std::remove(p.c_str());
    std::remove(bad_json.c_str());
  }

  TEST_CASE("--help lists the groups and a verb's arguments") {
    auto help = run_command({node_binary(), "client", "--help"});
    CHECK(help.exit_code == 0);
    for (const char* w : {"--url", "--token", "--json", "PIKOCI_URL", "PIKOCI_TOKEN", "pipelines",
                          "jobs", "builds", "resources"})
      CHECK_MESSAGE(has(help.output, w), w);
    auto set = run_command({node_binary(), "client", "pipelines", "set", "--help"});
    CHECK(set.exit_code == 0);
    CHECK(has(set.output, "--var"));
    CHECK(has(set.output, "FILE"));
  }

  TEST_CASE("an unreachable node is an error (exit 1) naming the URL") {
    auto r = run_command(
        {node_binary(), "client", "--url", "http://127.0.0.1:1", "pipelines", "list"}, 10s);
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(has(r.output, "cannot reach http://127.0.0.1:1: "), r.output);
    // The URL and token also come from the environment.
    auto env = run_command({node_binary(), "client", "queue"}, 10s,
                           {{"PIKOCI_URL", "http://127.0.0.1:1/"}, {"PIKOCI_TOKEN", "t0ken"}});
    CHECK(env.exit_code == 1);
    CHECK_MESSAGE(has(env.output, "cannot reach http://127.0.0.1:1: "), env.output);
    CHECK_FALSE(has(env.output, "t0ken"));
  }

  TEST_CASE("API errors print the envelope's code and message and exit 1; no token is shown") {
    fixture f;
    auto missing = f.client({"pipelines", "get", "nope"});
    CHECK(missing.exit_code == 1);
    CHECK_MESSAGE(has(missing.output, "pikoci-node: not_found: "), missing.output);
    CHECK_FALSE(has(missing.output, f.token));
    auto as_json = f.client({"--json", "pipelines", "get", "nope"});
    CHECK(as_json.exit_code == 1);
    CHECK_FALSE(has(as_json.output, f.token));
  }

  TEST_CASE("without a token or with too low a role the node refuses, and the client says why") {
    fixture f;
    auto anonymous = f.client({"pipelines", "list"}, "");
    CHECK(anonymous.exit_code == 1);
    CHECK_MESSAGE(has(anonymous.output, "unauthenticated"), anonymous.output);
    CHECK(has(anonymous.output, "PIKOCI_TOKEN"));
    auto bad = f.client({"pipelines", "list"}, "not-a-token");
    CHECK(bad.exit_code == 1);
    CHECK_MESSAGE(has(bad.output, "unauthenticated"), bad.output);
    CHECK_FALSE(has(bad.output, "not-a-token"));

    std::string file = write_temp("ro.hcl", pipeline_hcl);
    auto reader = f.client({"pipelines", "set", "p", file}, token_for("read"));
    std::remove(file.c_str());
    CHECK(reader.exit_code == 1);
    CHECK_MESSAGE(has(reader.output, "forbidden"), reader.output);
  }

  TEST_CASE("pipelines set, list, get, pause, unpause and delete") {
    fixture f;
    std::string file = write_temp("life.hcl", pipeline_hcl);
    auto created = f.client({"pipelines", "set", "p", file});
    REQUIRE_MESSAGE(created.exit_code == 0, created.output, "\n", f.node.process().tail());
    CHECK(created.output == "pipeline \"p\" created\n");
    auto updated = f.client({"pipelines", "set", "p", file});
    CHECK(updated.exit_code == 0);
    CHECK(updated.output == "pipeline \"p\" updated\n");
    std::remove(file.c_str());

    auto list = f.client({"pipelines", "list"});
    CHECK(list.exit_code == 0);
    CHECK_MESSAGE(has(list.output, "p  active  jobs: hello, slow\n"), list.output);

    auto get = f.client({"pipelines", "get", "p"});
    CHECK(get.exit_code == 0);
    for (const char* w : {"pipeline p  active", "hello", "slow", "cron.timer"})
      CHECK_MESSAGE(has(get.output, w), w, "\n", get.output);

    auto paused = f.client({"pipelines", "pause", "p"});
    CHECK(paused.exit_code == 0);
    CHECK(paused.output == "pipeline \"p\" paused\n");
    auto json =
        nlohmann::json::parse(f.client({"--json", "pipelines", "list"}).output, nullptr, false);
    REQUIRE(json.is_object());
    CHECK(json["pipelines"][0]["name"] == "p");
    CHECK(json["pipelines"][0]["paused"] == true);
    CHECK(has(f.client({"pipelines", "list"}).output, "p  paused"));
    CHECK(f.client({"pipelines", "unpause", "p"}).output == "pipeline \"p\" unpaused\n");

    auto deleted = f.client({"pipelines", "delete", "p"});
    CHECK(deleted.exit_code == 0);
    CHECK(deleted.output == "pipeline \"p\" deleted\n");
    CHECK(f.client({"pipelines", "get", "p"}).exit_code == 1);
  }

  TEST_CASE("an invalid pipeline prints FILE:LINE:COL: message for every error and exits 1") {
    fixture f;
    std::string file = write_temp("bad.hcl",
                                  "job \"build\" {\n"
                                  "  tsk \"x\" {\n"
                                  "  }\n"
                                  "}\n");
    auto r = f.client({"pipelines", "set", "bad", file});
    std::remove(file.c_str());
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(has(r.output, "invalid_pipeline"), r.output);
    CHECK_MESSAGE(has(r.output, file + ":2:3: "), r.output);
    CHECK(f.client({"pipelines", "get", "bad"}).exit_code == 1);
  }

  TEST_CASE("--var and --vars set variables, --var winning, typed as the file declares") {
    fixture f;
    std::string file = write_temp("vars.hcl", pipeline_hcl);
    std::string vars = write_temp("vars.json", R"({"greeting": "hi", "repeat": 2})");
    auto r = f.client({"pipelines", "set", "p", file, "--vars", vars, "--var", "repeat=7"});
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    auto get =
        nlohmann::json::parse(f.client({"--json", "pipelines", "get", "p"}).output, nullptr, false);
    CHECK(get["pipeline"]["vars"]["greeting"] == "hi");
    CHECK(get["pipeline"]["vars"]["repeat"] == 7);
    // A number variable given text that is not a number is the server's 422.
    auto wrong = f.client({"pipelines", "set", "p", file, "--var", "repeat=many"});
    CHECK(wrong.exit_code == 1);
    CHECK_MESSAGE(has(wrong.output, file + ":"), wrong.output);
    std::remove(file.c_str());
    std::remove(vars.c_str());
  }

  TEST_CASE("jobs trigger starts a build that builds list, get and logs show") {
    fixture f;
    f.set_pipeline();
    auto trigger =
        f.client({"jobs", "trigger", "p", "hello", "--input", "who=world", "--arg", "a1"});
    REQUIRE_MESSAGE(trigger.exit_code == 0, trigger.output, "\n", f.node.process().tail());
    CHECK_MESSAGE(has(trigger.output, "hello #1 "), trigger.output);
    auto build = f.wait_finished("hello", "1");
    CHECK(build["status"] == "succeeded");

    auto job_builds = f.client({"builds", "list", "p", "hello"});
    CHECK(job_builds.exit_code == 0);
    CHECK_MESSAGE(has(job_builds.output, "hello #1 succeeded "), job_builds.output);
    CHECK_MESSAGE(has(job_builds.output, "ms  started 20"), job_builds.output);
    auto pipeline_builds = f.client({"builds", "list", "p"});
    CHECK_MESSAGE(has(pipeline_builds.output, "hello #1 succeeded"), pipeline_builds.output);
    auto all = f.client({"builds", "list"});
    CHECK_MESSAGE(has(all.output, "p/hello #1 succeeded"), all.output);
    auto failed_only = f.client({"builds", "list", "p", "hello", "--status", "failed,errored"});
    CHECK(failed_only.exit_code == 0);
    CHECK_FALSE(has(failed_only.output, "#1"));
    auto listed = nlohmann::json::parse(
        f.client({"--json", "builds", "list", "p", "hello", "--limit", "1"}).output, nullptr,
        false);
    REQUIRE(listed.is_object());
    CHECK(listed["builds"].size() == 1);

    auto get = f.client({"builds", "get", "p", "hello", "1"});
    CHECK(get.exit_code == 0);
    for (const char* w : {"hello #1 succeeded", "trigger: manual", "task say", "in_parallel",
                          "task left", "task right"})
      CHECK_MESSAGE(has(get.output, w), w, "\n", get.output);

    auto logs = f.client({"builds", "logs", "p", "hello", "1"});
    CHECK(logs.exit_code == 0);
    for (const char* w : {"==> task say [succeeded]\nhello-from-client-1 to ", "left-out\n",
                          "right-out\n", "> task left [succeeded]\nleft-out\n", "ensured-out\n"})
      CHECK_MESSAGE(has(logs.output, w), w, "\n", logs.output);

    // --follow: the same output from the build's event stream, then the build's line; on a
    // build still running it waits for the end
    auto followed = f.client({"builds", "logs", "p", "hello", "1", "--follow"});
    CHECK(followed.exit_code == 0);
    for (const char* w : {"==> task say\nhello-from-client-1 to ", "> task left\n", "left-out\n",
                          "ensured-out\n", "hello #1 succeeded"})
      CHECK_MESSAGE(has(followed.output, w), w, "\n", followed.output);
    REQUIRE(f.client({"jobs", "trigger", "p", "hello"}).exit_code == 0);
    auto live = f.client({"builds", "logs", "p", "hello", "2", "-f"});
    CHECK(live.exit_code == 0);
    CHECK_MESSAGE(has(live.output, "hello #2 succeeded"), live.output);
    // a build still to come is waited for (follow_restore_test); --wait 0 does not wait
    auto no_build = f.client({"builds", "logs", "p", "hello", "99", "--follow", "--wait", "0"});
    CHECK(no_build.exit_code == 1);
    CHECK(has(no_build.output, "not_found"));

    auto missing = f.client({"builds", "get", "p", "hello", "99"});
    CHECK(missing.exit_code == 1);
    CHECK(has(missing.output, "not_found"));
  }

  TEST_CASE("a paused job refuses triggers with a conflict until unpaused") {
    fixture f;
    f.set_pipeline();
    auto pause = f.client({"jobs", "pause", "p", "hello"});
    CHECK_MESSAGE(pause.exit_code == 0, pause.output);
    CHECK(pause.output == "job \"hello\" paused\n");
    auto refused = f.client({"jobs", "trigger", "p", "hello"});
    CHECK(refused.exit_code == 1);
    CHECK_MESSAGE(has(refused.output, "pikoci-node: conflict: "), refused.output);
    CHECK(f.client({"jobs", "unpause", "p", "hello"}).output == "job \"hello\" unpaused\n");
    CHECK(f.client({"jobs", "trigger", "p", "hello"}).exit_code == 0);
    CHECK(f.client({"jobs", "trigger", "p", "nope"}).exit_code == 1);
  }

  TEST_CASE("builds cancel stops a running build; retry runs it again as n.1") {
    fixture f;
    f.set_pipeline();
    REQUIRE(f.client({"jobs", "trigger", "p", "slow"}).exit_code == 0);
    f.wait_started("slow", "1");
    auto busy_retry = f.client({"builds", "retry", "p", "slow", "1"});
    CHECK(busy_retry.exit_code == 1);
    CHECK_MESSAGE(has(busy_retry.output, "conflict"), busy_retry.output);

    auto cancel = f.client({"builds", "cancel", "p", "slow", "1"});
    CHECK_MESSAGE(cancel.exit_code == 0, cancel.output);
    CHECK_MESSAGE(has(cancel.output, "slow #1 "), cancel.output);
    CHECK(f.wait_finished("slow", "1")["status"] == "cancelled");
    auto again = f.client({"builds", "cancel", "p", "slow", "1"});
    CHECK(again.exit_code == 1);
    CHECK(has(again.output, "conflict"));

    auto retry = f.client({"builds", "retry", "p", "slow", "1"});
    CHECK_MESSAGE(retry.exit_code == 0, retry.output);
    CHECK_MESSAGE(has(retry.output, "slow #1.1 "), retry.output);
    CHECK(f.client({"builds", "cancel", "p", "slow", "1.1"}).exit_code == 0);
  }

  TEST_CASE("resources check, versions, pin and unpin") {
    fixture f;
    f.set_pipeline();
    auto check = f.client({"resources", "check", "p", "timer"});
    CHECK_MESSAGE(check.exit_code == 0, check.output);
    CHECK(check.output == "cron.timer: check requested\n");

    nlohmann::json versions;
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = f.client({"--json", "resources", "versions", "p", "cron.timer"});
      REQUIRE_MESSAGE(r.exit_code == 0, r.output);
      versions = nlohmann::json::parse(r.output, nullptr, false)["versions"];
      if (versions.is_array() && !versions.empty()) break;
      std::this_thread::sleep_for(100ms);
    }
    REQUIRE_MESSAGE(versions.is_array(), versions.dump());
    REQUIRE_FALSE(versions.empty());
    std::string id = std::to_string(versions[0]["id"].get<long long>());
    auto text = f.client({"resources", "versions", "p", "timer", "--limit", "1"});
    CHECK(text.exit_code == 0);
    CHECK_MESSAGE(text.output.rfind(id + "  ", 0) == 0, text.output);

    auto pin = f.client({"resources", "pin", "p", "timer", id});
    CHECK_MESSAGE(pin.exit_code == 0, pin.output);
    CHECK(pin.output == "cron.timer pinned to version " + id + "\n");
    CHECK_MESSAGE(has(f.client({"pipelines", "get", "p"}).output, "pinned to " + id), id);
    auto unpin = f.client({"resources", "unpin", "p", "timer"});
    CHECK(unpin.exit_code == 0);
    CHECK(unpin.output == "cron.timer unpinned\n");

    auto unknown = f.client({"resources", "pin", "p", "timer", "999999"});
    CHECK(unknown.exit_code == 1);
    CHECK(has(unknown.output, "not_found"));
  }

  TEST_CASE("queue and workers") {
    fixture f;
    auto queue = f.client({"queue"});
    CHECK_MESSAGE(queue.exit_code == 0, queue.output);
    CHECK_MESSAGE(has(queue.output, "in flight 0/10, queued 0/100"), queue.output);
    auto workers = f.client({"workers"});
    CHECK_MESSAGE(workers.exit_code == 0, workers.output);
    CHECK_MESSAGE(has(workers.output, "embedded"), workers.output);
  }
}
