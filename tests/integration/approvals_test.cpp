// Approval gates, marking a build as warning, `allow_failure` and `disable_retry` through the real
// binary (docs/approvals.md): builds of a gated job wait outside the execution queue until enough
// distinct users with the maintain role approve, end at a rejection, a timeout or a cancel, keep
// their approvals across a RocksDB restart; a warning counts as passing for `passed`.
#include <doctest/doctest.h>

#include <csignal>
#include <thread>

#include "tests/support/http_receiver.hpp"
#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

/// A user token of the test server for `user` with `role`.
std::string token_of(const std::string& user, const std::string& role) {
  auto r = run_command(
      {node_binary(), "user-token", "--jwt-secret", "test-secret", "--user", user, "--role", role});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  return r.output.substr(0, r.output.find('\n'));
}

/// A job `deploy` gated by `gate` (the approve block's body) that runs `cmd`, plus `extra`.
std::string gated(const std::string& gate, const std::string& cmd = "echo deployed",
                  const std::string& extra = "") {
  return "job \"deploy\" {\n  approve \"prod\" {\n" + gate +
         "\n  }\n  task \"t\" {\n    run \"shell\" { cmd = \"" + cmd + "\" }\n  }\n" + extra +
         "}\n";
}

const std::string build1 = "/pipelines/p/jobs/deploy/builds/1";

/// `pikoci-node client` against `node` with `token`.
command_result client(runtime_node& node, const std::string& token, std::vector<std::string> args) {
  std::vector<std::string> argv{node_binary(),       "client",  "--url",
                                node.server().url(), "--token", token};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, 20s);
}

/// The builds GET /queue lists as waiting for approval.
json waiting(runtime_node& node) {
  auto q = node.get("/queue");
  REQUIRE(q.status == 200);
  return q.json()["waiting"];
}

}  // namespace

TEST_SUITE("integration.approvals") {
  TEST_CASE("two approvals from distinct users start the build; one user twice counts once") {
    runtime_node node;
    node.set_pipeline("p", gated("    approvals = 2"));
    auto alice = token_of("alice", "maintain"), bob = token_of("bob", "maintain");
    auto writer = token_of("walt", "write");

    auto created = node.trigger("p", "deploy");
    CHECK(created["status"] == "waiting_for_approval");
    CHECK(created["approvals_required"] == 2);
    CHECK(created["approvals"] == json::array());
    auto b = node.build("p", "deploy", "1");
    CHECK(b["blocked_by"] == "approval");
    // outside the execution queue, listed beside it
    auto q = node.get("/queue").json();
    CHECK(q["queued"] == 0);
    REQUIRE(q["waiting"].size() == 1);
    CHECK(q["waiting"][0]["blocked_by"] == "approval");
    CHECK(q["waiting"][0]["build"]["number"] == "1");
    CHECK(node.get("/stats").json()["blocked_by"]["approval"] == 1);
    auto text = client(node, node.token(), {"queue"});
    CHECK(
        text.output.find("p/deploy #1 waiting_for_approval (0/2 approvals)  blocked by approval") !=
        std::string::npos);

    // the write role may not approve
    CHECK(node.call("POST", build1 + "/approve", "", writer).status == 403);
    CHECK(node.call("POST", build1 + "/reject", R"({"message":"no"})", writer).status == 403);

    auto r = node.call("POST", build1 + "/approve", R"({"message":"LGTM"})", alice);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    CHECK(r.json()["build"]["status"] == "waiting_for_approval");
    r = node.call("POST", build1 + "/approve", "", alice);  // again: counted once
    REQUIRE_MESSAGE(r.status == 200, r.body);
    CHECK(r.json()["build"]["approvals"].size() == 1);
    b = node.build("p", "deploy", "1");
    CHECK(b["status"] == "waiting_for_approval");
    REQUIRE(b["approvals"].size() == 1);
    CHECK(b["approvals"][0]["username"] == "alice");
    CHECK(b["approvals"][0]["action"] == "approved");
    CHECK(b["approvals"][0]["message"] == "LGTM");
    CHECK(b["approvals"][0]["created_at"].is_string());
    auto shown = client(node, node.token(), {"builds", "get", "p", "deploy", "1"});
    CHECK(shown.output.find("blocked by approval") != std::string::npos);
    CHECK(shown.output.find("alice approved") != std::string::npos);
    CHECK(shown.output.find(": LGTM") != std::string::npos);

    // the second user, through the client
    auto approved =
        client(node, bob, {"builds", "approve", "p", "deploy", "1", "--message", "ship it"});
    CHECK_MESSAGE(approved.exit_code == 0, approved.output);
    auto done = node.wait_build("p", "deploy", "1");
    CHECK(done["status"] == "succeeded");
    CHECK(step_logs(done, "t").find("deployed") != std::string::npos);
    REQUIRE(done["approvals"].size() == 2);
    CHECK(done["approvals"][1]["username"] == "bob");
    CHECK(waiting(node).empty());
    // no longer waiting
    CHECK(node.call("POST", build1 + "/approve", "", bob).status == 409);
    CHECK(node.call("POST", build1 + "/reject", R"({"message":"late"})", bob).status == 409);
    CHECK(node.call("POST", "/pipelines/p/jobs/deploy/builds/9/approve", "", bob).status == 404);
  }

  TEST_CASE("a rejection fails the build with who and why; a retry of it waits again") {
    runtime_node node;
    node.set_pipeline("p", gated("    approvals = 1"));
    auto alice = token_of("alice", "maintain");
    node.trigger("p", "deploy");
    CHECK(node.call("POST", build1 + "/reject", "", alice).status == 400);  // says why
    auto r = client(node, alice, {"builds", "reject", "p", "deploy", "1"});
    CHECK(r.exit_code != 0);  // --message is required
    r = client(node, alice, {"builds", "reject", "p", "deploy", "1", "--message", "not today"});
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    auto b = node.wait_build("p", "deploy", "1");
    CHECK(b["status"] == "failed");
    CHECK(b["reason"] == "rejected by alice: not today");
    REQUIRE(b["approvals"].size() == 1);
    CHECK(b["approvals"][0]["action"] == "rejected");
    CHECK(b["steps"].empty());
    // never approved: its retry is gated like a new build
    auto retry = node.post(build1 + "/retry");
    REQUIRE(retry.status == 201);
    CHECK(retry.json()["build"]["number"] == "1.1");
    CHECK(retry.json()["build"]["status"] == "waiting_for_approval");
  }

  TEST_CASE("an approval gate's timeout fails a build nobody decided on") {
    runtime_node node;
    node.set_pipeline("p", gated("    timeout = \"1s\""));
    node.trigger("p", "deploy");
    auto b = node.wait_build("p", "deploy", "1", 10s);
    CHECK(b["status"] == "failed");
    CHECK(b["reason"] == "approval timed out after 1s");
    CHECK(b["steps"].empty());
    CHECK(waiting(node).empty());
  }

  TEST_CASE("a waiting build can be cancelled; the job's next build waits on its own") {
    runtime_node node;
    node.set_pipeline("p", gated("    approvals = 1"));
    node.trigger("p", "deploy");
    auto r = client(node, node.token(), {"builds", "cancel", "p", "deploy", "1"});
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    auto b = node.wait_build("p", "deploy", "1");
    CHECK(b["status"] == "cancelled");
    CHECK(b["reason"] == "cancelled by admin");
    CHECK(waiting(node).empty());
    CHECK(node.post(build1 + "/approve").status == 409);
    CHECK(node.trigger("p", "deploy")["status"] == "waiting_for_approval");
    CHECK(waiting(node).size() == 1);
    // the job leaves the pipeline: its waiting build goes with its other builds
    node.set_pipeline("p",
                      "job \"other\" {\n  task \"t\" {\n    run \"shell\" { cmd = \"true\" }\n"
                      "  }\n}\n");
    CHECK(waiting(node).empty());
    CHECK(node.get("/pipelines/p/jobs/deploy/builds/2").status == 404);
  }

  TEST_CASE("a retry of an approved build that failed skips the gate; disable_retry refuses") {
    runtime_node node;
    node.set_pipeline("p", gated("    approvals = 1", "exit 3") +
                               "job \"once\" {\n  disable_retry = true\n  task \"t\" {\n"
                               "    run \"shell\" { cmd = \"exit 1\" }\n  }\n}\n");
    node.trigger("p", "deploy");
    REQUIRE(node.post(build1 + "/approve", R"({"message":"go"})").status == 200);
    auto b = node.wait_build("p", "deploy", "1");
    CHECK(b["status"] == "failed");
    auto retry = node.post(build1 + "/retry");
    REQUIRE_MESSAGE(retry.status == 201, retry.body);
    CHECK(retry.json()["build"]["status"] == "pending");
    CHECK(retry.json()["build"]["approvals"].size() == 1);  // the approval it ran under
    CHECK(node.wait_build("p", "deploy", "1.1")["status"] == "failed");
    // and so does a retry of that retry
    auto again = node.post("/pipelines/p/jobs/deploy/builds/1.1/retry");
    REQUIRE(again.status == 201);
    CHECK(again.json()["build"]["status"] == "pending");
    node.wait_build("p", "deploy", "1.2");

    node.trigger("p", "once");
    CHECK(node.wait_build("p", "once", "1")["status"] == "failed");
    auto refused = node.post("/pipelines/p/jobs/once/builds/1/retry");
    CHECK(refused.status == 409);
    CHECK(refused.body.find("disable_retry") != std::string::npos);
    auto r = client(node, node.token(), {"builds", "retry", "p", "once", "1"});
    CHECK(r.exit_code != 0);
    CHECK(r.output.find("disable_retry") != std::string::npos);
    CHECK(node.builds("p", "once").size() == 1);
  }

  TEST_CASE("allow_failure and a build marked as warning count as passing for passed") {
    temp_dir dir;
    dir.write("version", R"([{"ref":"v1"}])");
    auto hcl = replace_all(R"hcl(
resource_type "filever" {
  check "shell" { cmd = "cat @DIR@/version" }
  pull "shell" { cmd = "echo pulled" }
}
resource "filever" "src" {
  check_interval = "@every 1h"
}
job "soft" {
  allow_failure = true
  get "filever" "src" { trigger = true }
  task "t" {
    run "shell" { cmd = "exit 1" }
  }
}
job "after-soft" {
  get "filever" "src" {
    trigger = true
    passed  = ["soft"]
  }
  task "t" {
    run "shell" { cmd = "echo after soft" }
  }
}
job "hard" {
  get "filever" "src" { trigger = true }
  task "t" {
    run "shell" { cmd = "exit 1" }
  }
}
job "after-hard" {
  get "filever" "src" {
    trigger = true
    passed  = ["hard"]
  }
  task "t" {
    run "shell" { cmd = "echo after hard" }
  }
}
)hcl",
                           "@DIR@", dir.path());
    runtime_node node;
    node.set_pipeline("p", hcl);
    node.check_and_wait("p", "filever.src");
    auto soft = node.wait_build("p", "soft", "1");
    CHECK(soft["status"] == "warning");
    CHECK(node.wait_build("p", "after-soft", "1")["status"] == "succeeded");
    auto hard = node.wait_build("p", "hard", "1");
    CHECK(hard["status"] == "failed");
    std::this_thread::sleep_for(300ms);
    CHECK(node.builds("p", "after-hard").empty());

    // marking: maintain role, failed builds only
    auto writer = token_of("walt", "write"), alice = token_of("alice", "maintain");
    const std::string hard1 = "/pipelines/p/jobs/hard/builds/1";
    CHECK(node.call("POST", hard1 + "/warning", "", writer).status == 403);
    CHECK(node.call("POST", "/pipelines/p/jobs/soft/builds/1/warning", "", alice).status == 409);
    CHECK(node.call("POST", "/pipelines/p/jobs/after-soft/builds/1/warning", "", alice).status ==
          409);
    auto r = client(node, alice, {"builds", "warning", "p", "hard", "1"});
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    CHECK(r.output.find("hard #1 warning") != std::string::npos);
    auto marked = node.build("p", "hard", "1");
    CHECK(marked["status"] == "warning");
    CHECK(marked["reason"].get<std::string>().find("marked as warning by alice") == 0);
    // downstream is evaluated again, as after a success
    auto after = node.wait_build("p", "after-hard", "1");
    CHECK(after["status"] == "succeeded");
    CHECK(after["trigger"]["type"] == "passed");
    CHECK(node.call("POST", hard1 + "/warning", "", alice).status == 409);  // already warning
  }

  TEST_CASE("restart: a waiting build keeps waiting with its approvals; approving runs it") {
    temp_dir dir;
    std::vector<std::string> args{"--db-system", "rocksdb", "--db-path", dir.file("db")};
    auto alice = token_of("alice", "maintain"), bob = token_of("bob", "maintain");
    {
      runtime_node node(args);
      node.set_pipeline("p", gated("    approvals = 2\n    timeout = \"1h\""));
      node.trigger("p", "deploy");
      REQUIRE(node.call("POST", build1 + "/approve", "", alice).status == 200);
      node.server().process().stop(SIGKILL);
    }
    runtime_node node(args);
    auto b = node.build("p", "deploy", "1");
    CHECK(b["status"] == "waiting_for_approval");
    CHECK(b["blocked_by"] == "approval");
    REQUIRE(b["approvals"].size() == 1);
    CHECK(b["approvals"][0]["username"] == "alice");
    CHECK(waiting(node).size() == 1);
    // alice still counts once
    CHECK(node.call("POST", build1 + "/approve", "", alice).json()["build"]["status"] ==
          "waiting_for_approval");
    REQUIRE(node.call("POST", build1 + "/approve", "", bob).status == 200);
    CHECK(node.wait_build("p", "deploy", "1")["status"] == "succeeded");
    CHECK(node.trigger("p", "deploy")["number"] == "2");
  }

  TEST_CASE("the gate's notify steps are sent when a build starts waiting") {
    http_receiver receiver;
    runtime_node node;
    auto hcl = gated(
                   "    notify \"http\" \"ask\" {\n      message = \"approve $BUILD_JOB_NAME "
                   "#$BUILD_NUMBER\"\n    }") +
               "notification \"http\" \"ask\" {\n  params { url = \"" + receiver.url("/ask") +
               "\" }\n}\n";
    node.set_pipeline("p", hcl);
    auto b = node.trigger("p", "deploy");
    REQUIRE_MESSAGE(eventually([&] { return receiver.requests().size() == 1; }), node.tail());
    auto body = json::parse(receiver.requests()[0].body);
    CHECK(body["event"] == "approval");
    CHECK(body["message"] == "approve deploy #1");
    CHECK(body["build"]["status"] == "waiting_for_approval");
    CHECK(receiver.requests()[0].headers.at("x-pikoci-delivery") ==
          "a-" + std::to_string(b["id"].get<std::int64_t>()) + "-0");
  }

  TEST_CASE("validation refuses a gate notify of a type that a notify command sends") {
    temp_dir dir;
    auto file = dir.file("p.hcl");
    dir.write("p.hcl", gated("    notify \"mail\" \"ops\" {}") + R"hcl(
notification_type "mail" {
  notify "shell" { cmd = "echo mail" }
}
notification "mail" "ops" {}
)hcl");
    auto r = run_command({node_binary(), "validate", file});
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.output.find(file + ":3:12:") != std::string::npos, r.output);
    CHECK(r.output.find("notify command") != std::string::npos);
  }
}
