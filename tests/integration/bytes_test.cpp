// Output is bytes (docs/operations.md, "Output: bytes and memory"): a task, a check or a signed git
// webhook carrying bytes that are not UTF-8 never takes a pipeline down; they arrive as U+FFFD, the
// build ends, its slot is free, the pipeline answers, also after a restart on RocksDB. An actor
// that fails anyway fails one message, or is restarted from the store with its running builds
// ended. A task printing 500 MB keeps the node's memory bounded (pipe back-pressure) and its log
// keeps the tail behind a marker.
#include <doctest/doctest.h>

#include <fstream>
#include <thread>

#include "tests/support/hmac.hpp"
#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

const std::string fffd = "\xEF\xBF\xBD";

std::vector<std::string> rocksdb_args(const temp_dir& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--db-system", "rocksdb", "--db-path", dir.file("db")};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

/// The pipeline answers its routes and a new build of `job` runs to the end (its slot is free).
void serves(runtime_node& node, const std::string& job, const std::string& expect_status) {
  REQUIRE(node.healthy());
  CHECK_MESSAGE(node.get("/pipelines/p").status == 200, node.tail());
  CHECK(node.get("/pipelines/p/jobs").status == 200);
  auto b = node.trigger("p", job);
  auto done = node.wait_build("p", job, b["number"].get<std::string>(), 30s);
  CHECK(done["status"] == expect_status);
  CHECK(eventually([&] { return node.get("/queue").json()["in_flight"] == 0; }, 10s));
}

const char* task_pipeline = R"(
job "bin" {
  task "print" {
    run "shell" {
      cmd = "printf 'a\\351\\377b\\n'; printf 'price: \\342\\202'; sleep 0.3; printf '\\254\\n'"
    }
  }
}
job "ok" {
  task "t" {
    run "shell" {
      cmd = "echo fine"
    }
  }
}
)";

}  // namespace

TEST_SUITE("bytes") {
  TEST_CASE("a task printing bytes that are not UTF-8: U+FFFD in its log, the build ends, the "
            "pipeline answers, also after a restart") {
    temp_dir dir;
    auto args = rocksdb_args(dir, {"--concurrency", "1", "--max-in-flight", "1"});
    std::string expected = "a" + fffd + fffd + "b\nprice: \xE2\x82\xAC\n";
    {
      runtime_node node(args);
      node.set_pipeline("p", task_pipeline);
      auto b = node.trigger("p", "bin");
      auto done = node.wait_build("p", "bin", b["number"].get<std::string>(), 30s);
      CHECK(done["status"] == "succeeded");
      // the euro sign was split between two reads and still arrives whole
      CHECK(step_logs(done, "print") == expected);
      serves(node, "ok", "succeeded");
      serves(node, "bin", "succeeded");
    }
    runtime_node node(args);
    CHECK(step_logs(node.build("p", "bin", "1"), "print") == expected);
    serves(node, "bin", "succeeded");
  }

  TEST_CASE("a check printing Latin-1, as a version and as plain output: versions and check "
            "errors hold U+FFFD, builds run, the pipeline answers, also after a restart") {
    temp_dir dir;
    auto args = rocksdb_args(dir);
    auto hcl = replace_all(R"(
resource_type "latin" {
  check "shell" {
    cmd = "printf '[{\"ref\":\"caf\\351\"}]\\n'"
  }
}
resource_type "plain" {
  check "shell" {
    cmd = "printf 'caf\\351 is not JSON\\n'"
  }
}
resource "latin" "src" {
  check_interval = "@every 1h"
}
resource "plain" "noise" {
  check_interval = "@every 1h"
}
job "use" {
  get "latin" "src" {
    trigger = true
  }
  task "t" {
    run "shell" {
      cmd = "echo \"ref=$GET_SRC_REF\""
    }
  }
}
job "ok" {
  task "t" {
    run "shell" {
      cmd = "echo fine"
    }
  }
}
)",
                           "@DIR@", dir.path());
    {
      runtime_node node(args);
      node.set_pipeline("p", hcl);
      auto versions = node.wait_versions("p", "src", 1, 20s);
      REQUIRE(versions.size() == 1);
      CHECK(versions[0]["version"]["ref"] == "caf" + fffd);
      auto built = node.wait_builds("p", "use", 1, 30s);
      CHECK(built[0]["status"] == "succeeded");
      CHECK(step_logs(node.build("p", "use", "1"), "t") == "ref=caf" + fffd + "\n");
      REQUIRE(eventually([&] { return node.resource("p", "plain.noise")["check_error"].is_string(); }));
      auto error = node.resource("p", "plain.noise")["check_error"].get<std::string>();
      CHECK(error.find("caf" + fffd + " is not JSON") != std::string::npos);
      node.check("p", "noise");  // checked again: the same, no harm
      node.check("p", "src");
      serves(node, "ok", "succeeded");
    }
    // the stored versions and check error read back; the checks run again and nothing dies
    runtime_node node(args);
    CHECK(node.versions("p", "src")[0]["version"]["ref"] == "caf" + fffd);
    node.check("p", "noise");
    node.check("p", "src");
    std::this_thread::sleep_for(500ms);
    serves(node, "ok", "succeeded");
    CHECK(node.resource("p", "plain.noise")["check_error"].get<std::string>().find(fffd) !=
          std::string::npos);
  }

  TEST_CASE("a signed git webhook whose delivery id and headers are not UTF-8") {
    temp_dir dir;
    auto args = rocksdb_args(dir);
    const std::string secret = "s3cret-for-tests";
    auto hcl = replace_all(R"(
resource_type "filever" {
  check "shell" {
    cmd = "echo check >> @DIR@/checks; echo '[{\"ref\":\"1\"}]'"
  }
}
resource "filever" "src" {
  check_interval = "@every 1h"
}
job "ok" {
  get "filever" "src" {
    trigger = false
  }
  task "t" {
    run "shell" {
      cmd = "echo fine"
    }
  }
}
)",
                           "@DIR@", dir.path());
    auto body = json{{"ref", "refs/heads/main"}, {"after", "0123abc"}}.dump();
    auto deliver = [&](runtime_node& node) {
      return http_request("POST",
                          node.server().url() + "/api/v1/pipelines/p/webhooks/git?x=%C3%A9",
                          body,
                          {{"Content-Type", "application/json"},
                           {"X-GitHub-Event", "push\xE9"},
                           {"X-GitHub-Delivery", "id-\xFF\xFE"},
                           {"X-Custom", "caf\xE9"},
                           {"X-Hub-Signature-256", "sha256=" + hmac_hex(secret, body)}});
    };
    {
      runtime_node node(args);
      node.set_pipeline("p", hcl);
      REQUIRE(eventually([&] { return dir.lines("checks").size() >= 1; }));
      REQUIRE(node.put("/pipelines/p/webhooks/git", json{{"secret", secret}}.dump()).status == 200);
      auto r = deliver(node);
      REQUIRE_MESSAGE(r.status == 202, r.body << node.tail());
      // a query that decodes to bytes that are not UTF-8 is a clean 400
      auto bad = http_request("POST", node.server().url() + "/api/v1/pipelines/p/webhooks/git?x=%FF",
                              body, {{"Content-Type", "application/json"}});
      CHECK(bad.status == 400);
      CHECK(r.json()["delivery"] == "id-" + fffd + fffd);
      REQUIRE(eventually([&] { return dir.lines("checks").size() >= 2; }));
      auto again = deliver(node);  // a replay: the same id once made valid
      CHECK(again.status == 200);
      CHECK(again.json()["duplicate"] == true);
      serves(node, "ok", "succeeded");
    }
    runtime_node node(args);
    auto replay = deliver(node);
    CHECK(replay.status == 200);
    CHECK(replay.json()["duplicate"] == true);
    serves(node, "ok", "succeeded");
  }

  TEST_CASE("supervision: a handler that throws fails that one message; the build ends") {
    runtime_node node({"--concurrency", "1"}, {{"PIKOCI_FAULT_AT", "job.step_log"}});
    node.set_pipeline("p", task_pipeline);
    auto b = node.trigger("p", "bin");
    auto done = node.wait_build("p", "bin", b["number"].get<std::string>(), 30s);
    CHECK(done["status"] == "succeeded");
    CHECK(step_logs(done, "print").empty());  // every chunk's message failed
    serves(node, "ok", "succeeded");
    CHECK(node.server().process().output().find(
              "event=actor.handler_failed pipeline=p job=bin message=step_log") !=
          std::string::npos);
  }

  TEST_CASE("supervision: a pipeline whose actor dies is restarted from the store; its running "
            "build ends errored and its slot is free") {
    temp_dir dir;
    auto args = rocksdb_args(dir, {"--concurrency", "1", "--max-in-flight", "1"});
    auto runs = dir.file("runs");
    {
      runtime_node node(args, {{"PIKOCI_FAULT_AT", "pipeline.paused"}});
      node.set_pipeline("p", recording_job("slow", runs, "60") + recording_job("fast", runs, "0") +
                                 recording_job("idle", runs, "0"));
      node.trigger("p", "slow");
      node.wait_started("p", "slow", "1");
      node.trigger("p", "fast");  // waits for the slot
      // the pause is stored, then the pipeline actor throws outside any handler and dies
      CHECK(node.post("/pipelines/p/jobs/idle/pause").status >= 500);
      REQUIRE_MESSAGE(eventually([&] { return node.get("/pipelines/p").status == 200; }, 20s),
                      node.tail());
      auto slow = node.wait_build("p", "slow", "1", 30s);
      CHECK(slow["status"] == "errored");
      CHECK(slow["reason"].get<std::string>().find("pipeline restarted after an internal error") !=
            std::string::npos);
      // the queued build kept its place and runs in the freed slot
      auto fast = node.wait_build("p", "fast", "1", 30s);
      CHECK(fast["status"] == "succeeded");
      CHECK(node.job("p", "idle")["paused"] == true);
      CHECK(eventually([&] { return node.get("/queue").json()["in_flight"] == 0; }, 10s));
      CHECK(node.server().process().output().find("event=pipeline.restarted pipeline=p") !=
            std::string::npos);
      serves(node, "fast", "succeeded");
    }
    runtime_node node(args);
    CHECK(node.build("p", "slow", "1")["status"] == "errored");
    serves(node, "fast", "succeeded");
  }

  TEST_CASE("memory: a task printing 500 MB keeps the node small; the log keeps the tail and a "
            "marker") {
    runtime_node node({"--concurrency", "1"});
    node.set_pipeline("p", R"(
job "loud" {
  task "print" {
    run "shell" {
      cmd = "yes 0123456789012345678901234567890123456789012345678901234567890123456789 | head -c 500000000; echo; echo THE-END"
    }
  }
}
)");
    auto before = std::size_t(proc_status_kb(node.server().process().pid(), "VmHWM")) * 1024;
    auto b = node.trigger("p", "loud");
    auto done = node.wait_build("p", "loud", b["number"].get<std::string>(), 55s);
    CHECK(done["status"] == "succeeded");
    auto log = step_logs(done, "print");
    CHECK(log.rfind("[... ", 0) == 0);
    CHECK(log.find(" bytes of earlier output dropped ...]") != std::string::npos);
    CHECK(log.size() < 4 * 1024 * 1024 + 200);
    CHECK(log.find("THE-END") != std::string::npos);
    auto peak = std::size_t(proc_status_kb(node.server().process().pid(), "VmHWM")) * 1024;
    MESSAGE("VmHWM before " << before / 1048576 << " MiB, after " << peak / 1048576 << " MiB");
    CHECK(peak < 200u * 1024 * 1024);
    CHECK(node.healthy());
  }
}
