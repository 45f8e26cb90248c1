// Running builds, driven over HTTP like a user would (issue #3; reference §1.9 jobs, steps and
// hooks, §5.2 lifecycle, §5.4 execution): attempts, timeouts, hook order, cancel, retry,
// in_parallel, task inputs/outputs and PIKOCI_OUTPUT, put versions. Jobs are triggered by hand;
// hooks append to files of the test's temporary directory so their order is observable.
#include <doctest/doctest.h>

#include <algorithm>
#include <thread>

#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

/// A job whose task runs `task_cmd`, with every step hook and job hook appending its name (job
/// hooks: with $BUILD_STATUS) to `file`. `ensure` comes first in the file: it still runs last.
std::string hooked_job(const std::string& name, const std::string& file,
                       const std::string& task_cmd) {
  std::string text = R"(
job "@NAME@" {
  ensure "shell" {
    cmd = "echo ensure $BUILD_STATUS >> @F@"
  }
  task "test" {
    run "shell" {
      cmd = "@CMD@"
    }
    ensure "shell" {
      cmd = "echo test:ensure >> @F@"
    }
    on_success "shell" {
      cmd = "echo test:on_success >> @F@; exit 1"
    }
    on_failure "shell" {
      cmd = "echo test:on_failure >> @F@"
    }
    on_cancel "shell" {
      cmd = "echo test:on_cancel >> @F@"
    }
  }
  task "after" {
    run "shell" {
      cmd = "echo after >> @F@"
    }
  }
  on_success "shell" {
    cmd = "echo on_success $BUILD_STATUS >> @F@; exit 2"
  }
  on_failure "shell" {
    cmd = "echo on_failure $BUILD_STATUS >> @F@"
  }
  on_cancel "shell" {
    cmd = "echo on_cancel $BUILD_STATUS >> @F@"
  }
}
)";
  text = replace_all(text, "@CMD@", task_cmd);
  text = replace_all(text, "@NAME@", name);
  return replace_all(text, "@F@", file);
}

/// The statuses of the top-level entries of `steps`, joined with ",".
std::string statuses_of(const json& steps) {
  std::vector<std::string> out;
  if (steps.is_array())
    for (const auto& s : steps) out.push_back(s.value("status", "?"));
  return joined(out);
}

/// Whether `needles` occur in `text` in this order.
bool in_order(const std::string& text, const std::vector<std::string>& needles) {
  std::size_t pos = 0;
  for (const auto& n : needles) {
    pos = text.find(n, pos);
    if (pos == std::string::npos) return false;
    pos += n.size();
  }
  return true;
}

std::int64_t duration_ms(const json& build) {
  return build["duration_ms"].is_number() ? build["duration_ms"].get<std::int64_t>() : -1;
}

std::string ref_of_input(const json& build, std::size_t i = 0) {
  if (!build["inputs"].is_array() || build["inputs"].size() <= i) return "<no input>";
  return build["inputs"][i]["version"].value("ref", "<no ref>");
}

}  // namespace

TEST_SUITE("integration.runtime.build") {
  TEST_CASE("runtime: attempts re-run a failing task and mark each try; hooks run once") {
    runtime_node node;
    temp_dir dir;
    node.set_pipeline("att", replace_all(R"(
job "flaky" {
  task "flaky" {
    attempts = 3
    run "shell" {
      cmd = "n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo try $n; test $n -ge 3"
    }
  }
}

job "hopeless" {
  task "hopeless" {
    attempts = 2
    run "shell" {
      cmd = "echo trying; exit 4"
    }
    on_failure "shell" {
      cmd = "echo hook >> @DIR@/hopeless-hooks"
    }
  }
}
)",
                                         "@DIR@", dir.path()));
    CHECK(node.trigger("att", "flaky")["number"] == "1");
    CHECK(node.trigger("att", "hopeless")["number"] == "1");

    auto flaky = node.wait_build("att", "flaky", "1");
    CHECK(flaky["status"] == "succeeded");
    auto log = step_logs(flaky, "flaky");
    CHECK_MESSAGE(
        in_order(log, {"try 1", "--- attempt 2/3 ---", "try 2", "--- attempt 3/3 ---", "try 3"}),
        log);
    CHECK(log.find("--- attempt 1/3 ---") == std::string::npos);
    CHECK(names_of(flaky["steps"]) == "flaky");

    auto hopeless = node.wait_build("att", "hopeless", "1");
    CHECK(hopeless["status"] == "failed");
    CHECK(hopeless["reason"] == "step \"hopeless\" failed: exit status 4");
    log = step_logs(hopeless, "hopeless");
    CHECK_MESSAGE(in_order(log, {"trying", "exit status 4", "--- attempt 2/2 ---", "trying",
                                 "exit status 4"}),
                  log);
    CHECK(names_of(hopeless["steps"]) == "hopeless,hopeless:on_failure");
    CHECK(dir.lines("hopeless-hooks").size() == 1);
  }

  TEST_CASE("runtime: step and job timeouts fail the build with their reason") {
    runtime_node node;
    temp_dir dir;
    node.set_pipeline("to", replace_all(R"(
job "slow-step" {
  task "nap" {
    timeout = "1s"
    run "shell" {
      cmd = "echo going to sleep; sleep 30"
    }
  }
  task "never" {
    run "shell" {
      cmd = "echo never"
    }
  }
}

job "slow-job" {
  timeout = "2s"
  ensure "shell" {
    cmd = "echo ensure $BUILD_STATUS >> @DIR@/slow-job"
  }
  task "first" {
    run "shell" {
      cmd = "echo first"
    }
  }
  task "nap" {
    run "shell" {
      cmd = "sleep 30"
    }
  }
  task "never" {
    run "shell" {
      cmd = "echo never"
    }
  }
  on_failure "shell" {
    cmd = "echo on_failure $BUILD_STATUS >> @DIR@/slow-job"
  }
  on_cancel "shell" {
    cmd = "echo on_cancel $BUILD_STATUS >> @DIR@/slow-job"
  }
}
)",
                                        "@DIR@", dir.path()));
    node.trigger("to", "slow-step");
    node.trigger("to", "slow-job");

    auto step = node.wait_build("to", "slow-step", "1", 15s);
    CHECK(step["status"] == "failed");
    CHECK(names_of(step["steps"]) == "nap");
    auto log = step_logs(step, "nap");
    CHECK_MESSAGE(in_order(log, {"going to sleep", "step timed out after 1s"}), log);
    CHECK(step["reason"].is_string());
    CHECK(step["reason"].get<std::string>().find("step timed out after 1s") != std::string::npos);
    CHECK(duration_ms(step) >= 900);
    CHECK(duration_ms(step) < 10000);

    auto job = node.wait_build("to", "slow-job", "1", 15s);
    CHECK(job["status"] == "failed");
    CHECK(job["reason"] == "job timed out after 2s");
    CHECK(names_of(job["steps"]) == "first,nap");
    CHECK(job["steps"][0]["status"] == "succeeded");
    // like a cancel: on_cancel then ensure, with the final status
    CHECK(names_of(job["hooks"]) == "on_cancel,ensure");
    CHECK(joined(dir.lines("slow-job")) == "on_cancel failed,ensure failed");
    CHECK(duration_ms(job) >= 1900);
    CHECK(duration_ms(job) < 10000);
  }

  TEST_CASE("runtime: hooks run in order on success and never change the build status") {
    runtime_node node;
    temp_dir dir;
    node.set_pipeline("hk", hooked_job("ok", dir.file("ok"), "echo task >> " + dir.file("ok")));
    node.trigger("hk", "ok");
    auto b = node.wait_build("hk", "ok", "1");
    CHECK(b["status"] == "succeeded");
    CHECK(b["reason"].is_null());
    CHECK(joined(dir.lines("ok")) ==
          "task,test:on_success,test:ensure,after,on_success succeeded,ensure succeeded");
    // step hooks are steps named <step>:<hook>; job hooks are apart
    CHECK(names_of(b["steps"]) == "test,test:on_success,test:ensure,after");
    CHECK(statuses_of(b["steps"]) == "succeeded,failed,succeeded,succeeded");
    CHECK(b["steps"][1]["type"] == "hook");
    CHECK(b["steps"][2]["type"] == "hook");
    CHECK(names_of(b["hooks"]) == "on_success,ensure");
    CHECK(statuses_of(b["hooks"]) == "failed,succeeded");
    if (b["hooks"].size() == 2) CHECK(b["hooks"][0]["type"] == "hook");
  }

  TEST_CASE("runtime: hooks run in order on failure") {
    runtime_node node;
    temp_dir dir;
    node.set_pipeline(
        "hk", hooked_job("bad", dir.file("bad"), "echo task >> " + dir.file("bad") + "; exit 1"));
    node.trigger("hk", "bad");
    auto b = node.wait_build("hk", "bad", "1");
    CHECK(b["status"] == "failed");
    CHECK(b["reason"] == "step \"test\" failed: exit status 1");
    CHECK(joined(dir.lines("bad")) ==
          "task,test:on_failure,test:ensure,on_failure failed,ensure failed");
    CHECK(names_of(b["steps"]) == "test,test:on_failure,test:ensure");
    CHECK(statuses_of(b["steps"]) == "failed,succeeded,succeeded");
    CHECK(step_logs(b, "test").find("exit status 1") != std::string::npos);
    CHECK(names_of(b["hooks"]) == "on_failure,ensure");
    CHECK(statuses_of(b["hooks"]) == "succeeded,succeeded");
  }

  TEST_CASE("runtime: cancelling a started build stops it promptly and runs the cancel hooks") {
    runtime_node node;
    temp_dir dir;
    node.set_pipeline("hk", hooked_job("slow", dir.file("slow"),
                                       "echo task >> " + dir.file("slow") + "; sleep 30"));
    node.trigger("hk", "slow");
    node.wait_started("hk", "slow", "1");
    REQUIRE(eventually([&] { return dir.lines("slow").size() == 1; }, 10s));

    auto cancelled_at = std::chrono::steady_clock::now();
    auto r = node.post("/pipelines/hk/jobs/slow/builds/1/cancel");
    REQUIRE_MESSAGE(r.status == 200, r.body);
    CHECK(r.json()["build"]["number"] == "1");
    auto b = node.wait_build("hk", "slow", "1", 10s);
    CHECK(std::chrono::steady_clock::now() - cancelled_at < 5s);
    CHECK(b["status"] == "cancelled");
    CHECK(b["finished_at"].is_string());
    CHECK(joined(dir.lines("slow")) ==
          "task,test:on_cancel,test:ensure,on_cancel cancelled,ensure cancelled");
    CHECK(names_of(b["steps"]) == "test,test:on_cancel,test:ensure");
    CHECK(b["steps"][0]["status"] == "cancelled");
    CHECK(names_of(b["hooks"]) == "on_cancel,ensure");
    // it stays cancelled
    std::this_thread::sleep_for(300ms);
    CHECK(node.build("hk", "slow", "1")["status"] == "cancelled");

    // a finished build cannot be cancelled
    auto again = node.post("/pipelines/hk/jobs/slow/builds/1/cancel");
    CHECK(again.status == 409);
    CHECK(again.json()["error"]["code"] == "conflict");
  }

  TEST_CASE("runtime: a pending build can be cancelled and never starts") {
    runtime_node node({"--concurrency", "1"});
    node.set_pipeline("pc", R"(
job "sleepy" {
  task "nap" {
    run "shell" {
      cmd = "echo napping; sleep 30"
    }
  }
}
)");
    CHECK(node.trigger("pc", "sleepy")["number"] == "1");
    node.wait_started("pc", "sleepy", "1");
    auto second = node.trigger("pc", "sleepy");
    CHECK(second["number"] == "2");
    CHECK(second["status"] == "pending");
    // the only slot is taken: it stays pending
    std::this_thread::sleep_for(500ms);
    CHECK(node.build("pc", "sleepy", "2")["status"] == "pending");
    auto queue = node.get("/queue");
    REQUIRE(queue.status == 200);
    CHECK(numbers_of(queue.json()["started"]) == "1");

    auto r = node.post("/pipelines/pc/jobs/sleepy/builds/2/cancel");
    REQUIRE_MESSAGE(r.status == 200, r.body);
    auto b2 = node.wait_build("pc", "sleepy", "2", 5s);
    CHECK(b2["status"] == "cancelled");
    CHECK(b2["started_at"].is_null());
    CHECK(b2["steps"] == json::array());

    // the slot frees when the first is cancelled; the cancelled one still never runs
    REQUIRE(node.post("/pipelines/pc/jobs/sleepy/builds/1/cancel").status == 200);
    CHECK(node.wait_build("pc", "sleepy", "1", 10s)["status"] == "cancelled");
    CHECK(node.trigger("pc", "sleepy")["number"] == "3");
    node.wait_started("pc", "sleepy", "3");
    CHECK(node.build("pc", "sleepy", "2")["status"] == "cancelled");
    CHECK(node.build("pc", "sleepy", "2")["started_at"].is_null());
    REQUIRE(node.post("/pipelines/pc/jobs/sleepy/builds/3/cancel").status == 200);
    CHECK(node.wait_build("pc", "sleepy", "3", 10s)["status"] == "cancelled");
  }

  TEST_CASE("runtime: retry reuses the parent's versions and numbers n.k; running builds refuse") {
    runtime_node node;
    temp_dir dir;
    dir.write("check", R"([{"ref":"v1"}])"
                       "\n");
    node.set_pipeline("rt", replace_all(R"(
resource_type "filever" {
  check "shell" {
    cmd = "echo check >> @DIR@/checks; cat @DIR@/check"
  }
  pull "shell" {
    cmd = "echo pulled version_ref=$version_ref"
  }
}

resource "filever" "src" {
  check_interval = "@every 1h"
}

job "quick" {
  get "filever" "src" {
  }
  task "echo" {
    run "shell" {
      cmd = "echo ref=$GET_SRC_REF; test -e @DIR@/ok"
    }
  }
}

job "sleepy" {
  task "nap" {
    run "shell" {
      cmd = "echo napping; sleep 30"
    }
  }
}
)",
                                        "@DIR@", dir.path()));

    // a started build: retry refused, cancel works once
    CHECK(node.trigger("rt", "sleepy")["number"] == "1");
    node.wait_started("rt", "sleepy", "1");
    // the queue and the global build list show it
    auto queue = node.get("/queue");
    REQUIRE(queue.status == 200);
    CHECK(numbers_of(queue.json()["started"]) == "1");
    CHECK(queue.json()["in_flight"] == 1);
    auto started = node.get("/builds?status=started%2Cpending");
    REQUIRE_MESSAGE(started.status == 200, started.body);
    CHECK(numbers_of(started.json()["builds"]) == "1");
    auto running_retry = node.post("/pipelines/rt/jobs/sleepy/builds/1/retry");
    CHECK(running_retry.status == 409);
    CHECK(running_retry.json()["error"]["code"] == "conflict");
    auto cancel = node.post("/pipelines/rt/jobs/sleepy/builds/1/cancel");
    REQUIRE_MESSAGE(cancel.status == 200, cancel.body);
    CHECK(node.wait_build("rt", "sleepy", "1", 10s)["status"] == "cancelled");
    CHECK(node.post("/pipelines/rt/jobs/sleepy/builds/1/cancel").status == 409);

    // v1 only; quick fails on it
    node.check("rt", "src");
    auto versions = node.wait_versions("rt", "src", 1);
    auto v1 = versions[0]["id"].get<std::int64_t>();
    CHECK(node.trigger("rt", "quick")["number"] == "1");
    auto q1 = node.wait_build("rt", "quick", "1");
    CHECK(q1["status"] == "failed");
    CHECK(ref_of_input(q1) == "v1");
    CHECK(node.post("/pipelines/rt/jobs/quick/builds/1/cancel").status == 409);

    // a newer version appears, the fix lands; the retry still builds v1
    dir.write("check", R"([{"ref":"v2"}])"
                       "\n");
    node.check("rt", "src");
    node.wait_versions("rt", "src", 2);
    dir.write("ok", "");
    auto r = node.post("/pipelines/rt/jobs/quick/builds/1/retry");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    auto retry = r.json()["build"];
    CHECK(retry["number"] == "1.1");
    CHECK(retry["trigger"]["type"] == "retry");
    CHECK(retry["trigger"]["build"] == "1");
    CHECK(retry["trigger"]["user"] == "admin");  // who asked for the retry
    auto q11 = node.wait_build("rt", "quick", "1.1");
    CHECK(q11["status"] == "succeeded");
    REQUIRE(q11["inputs"].size() == 1);
    CHECK(q11["inputs"][0]["version_id"] == v1);
    CHECK(q11["inputs"] == q1["inputs"]);
    CHECK(step_logs(q11, "echo").find("ref=v1") != std::string::npos);

    // retrying a retry takes the next free number under the same parent
    r = node.post("/pipelines/rt/jobs/quick/builds/1.1/retry");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    CHECK(r.json()["build"]["number"] == "1.2");
    CHECK(r.json()["build"]["trigger"]["build"] == "1.1");
    CHECK(ref_of_input(node.wait_build("rt", "quick", "1.2")) == "v1");
    r = node.post("/pipelines/rt/jobs/quick/builds/1/retry");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    CHECK(r.json()["build"]["number"] == "1.3");
    CHECK(ref_of_input(node.wait_build("rt", "quick", "1.3")) == "v1");

    // a new build continues the plain numbers, on the latest version
    CHECK(node.trigger("rt", "quick")["number"] == "2");
    auto q2 = node.wait_build("rt", "quick", "2");
    CHECK(ref_of_input(q2) == "v2");
    CHECK(numbers_of(node.builds("rt", "quick")) == "2,1.3,1.2,1.1,1");
    r = node.post("/pipelines/rt/jobs/quick/builds/2/retry");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    CHECK(r.json()["build"]["number"] == "2.1");
    CHECK(ref_of_input(node.wait_build("rt", "quick", "2.1")) == "v2");

    // a cancelled build can be retried too; cancel that one while it waits or runs
    r = node.post("/pipelines/rt/jobs/sleepy/builds/1/retry");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    CHECK(r.json()["build"]["number"] == "1.1");
    CHECK(node.post("/pipelines/rt/jobs/sleepy/builds/1.1/cancel").status == 200);
    CHECK(node.wait_build("rt", "sleepy", "1.1", 10s)["status"] == "cancelled");

    // unknown builds
    CHECK(node.post("/pipelines/rt/jobs/quick/builds/99/retry").status == 404);
    CHECK(node.post("/pipelines/rt/jobs/quick/builds/99/cancel").status == 404);
    CHECK(node.get("/pipelines/rt/jobs/quick/builds/1.9").status == 404);
  }

  TEST_CASE("runtime: in_parallel with limit, task outputs and exports, and put versions") {
    runtime_node node;
    temp_dir dir;
    node.set_pipeline("par", replace_all(R"(
resource_type "sink" {
  check "shell" {
    cmd = "echo '[]'"
  }
  push "shell" {
    cmd = "echo pushing $put_note; echo '[{\"ref\":\"pushed-1\"}]'"
  }
}

resource "sink" "dst" {
  check_interval = "@every 1h"
}

job "par" {
  task "produce" {
    outputs = ["out/artifact.txt"]
    run "shell" {
      cmd = <<-EOT
        mkdir -p out
        echo artifact-content > out/artifact.txt
        echo "greeting=hi there" >> "$PIKOCI_OUTPUT"
        echo "# a comment" >> "$PIKOCI_OUTPUT"
        echo "build-id=42" >> "$PIKOCI_OUTPUT"
        echo produced for $BUILD_PIPELINE_NAME/$BUILD_JOB_NAME/$BUILD_NUMBER
      EOT
    }
  }
  in_parallel {
    limit = 2
    task "p1" {
      run "shell" {
        cmd = "echo start >> @DIR@/par; echo p1 sees $TASK_PRODUCE_GREETING; echo x=one >> $PIKOCI_OUTPUT; sleep 1; echo end >> @DIR@/par"
      }
    }
    task "p2" {
      run "shell" {
        cmd = "echo start >> @DIR@/par; echo p2 sees sibling=[$TASK_P1_X]; sleep 1; echo end >> @DIR@/par"
      }
    }
    task "p3" {
      run "shell" {
        cmd = "echo start >> @DIR@/par; sleep 1; echo end >> @DIR@/par"
      }
    }
  }
  task "consume" {
    inputs = ["out/artifact.txt"]
    run "shell" {
      cmd = "cat out/artifact.txt; echo greeting=$TASK_PRODUCE_GREETING id=$TASK_PRODUCE_BUILD_ID x=$TASK_P1_X"
    }
  }
  put "sink" "dst" {
    note = "shipped"
  }
}
)",
                                         "@DIR@", dir.path()));
    node.trigger("par", "par");
    auto b = node.wait_build("par", "par", "1");
    CHECK_MESSAGE(b["status"] == "succeeded", b.dump(2));
    CHECK(names_of(b["steps"]) == "produce,in_parallel,consume,dst");
    CHECK(step_logs(b, "produce").find("produced for par/par/1") != std::string::npos);

    auto group = find_step(b["steps"], "in_parallel");
    REQUIRE(group.is_object());
    CHECK(group["type"] == "in_parallel");
    CHECK(group["status"] == "succeeded");
    std::vector<std::string> children;
    for (const auto& c : group["steps"]) children.push_back(c.value("name", "?"));
    std::sort(children.begin(), children.end());
    CHECK(joined(children) == "p1,p2,p3");

    // at most two at a time, and two did run together
    int now = 0, most = 0;
    for (const auto& l : dir.lines("par")) {
      now += l == "start" ? 1 : -1;
      most = std::max(most, now);
    }
    CHECK(dir.lines("par").size() == 6);
    CHECK(most == 2);

    // exports: from before the group inside it, not from siblings; all of them after it
    CHECK(step_logs(b, "p1").find("p1 sees hi there") != std::string::npos);
    CHECK(step_logs(b, "p2").find("p2 sees sibling=[]") != std::string::npos);
    auto consume = step_logs(b, "consume");
    CHECK_MESSAGE(consume.find("artifact-content") != std::string::npos, consume);
    CHECK_MESSAGE(consume.find("greeting=hi there id=42 x=one") != std::string::npos, consume);

    // the put's printed version is recorded
    CHECK(step_logs(b, "dst").find("pushing shipped") != std::string::npos);
    CHECK(find_step(b["steps"], "dst")["type"] == "put");
    auto versions = node.wait_versions("par", "sink.dst", 1, 5s);
    REQUIRE(versions.size() == 1);
    CHECK(versions[0]["version"] == json{{"ref", "pushed-1"}});
  }

  TEST_CASE("runtime: in_parallel fail_fast stops the siblings; without it they finish") {
    runtime_node node;
    node.set_pipeline("ff", R"(
job "fast" {
  in_parallel {
    fail_fast = true
    task "boom" {
      run "shell" {
        cmd = "sleep 0.5; echo boom; exit 1"
      }
    }
    task "long" {
      run "shell" {
        cmd = "sleep 30"
      }
    }
  }
  task "never" {
    run "shell" {
      cmd = "echo never"
    }
  }
}

job "patient" {
  in_parallel {
    task "boom" {
      run "shell" {
        cmd = "echo boom; exit 1"
      }
    }
    task "slow" {
      run "shell" {
        cmd = "sleep 1; echo finished slow"
      }
    }
  }
  task "never" {
    run "shell" {
      cmd = "echo never"
    }
  }
}
)");
    node.trigger("ff", "fast");
    node.trigger("ff", "patient");

    auto fast = node.wait_build("ff", "fast", "1", 15s);
    CHECK(fast["status"] == "failed");
    CHECK(fast["reason"] == "step \"boom\" failed: exit status 1");
    CHECK(duration_ms(fast) < 10000);
    CHECK(names_of(fast["steps"]) == "in_parallel");
    CHECK(fast["steps"][0]["status"] == "failed");
    CHECK(find_step(fast["steps"], "boom")["status"] == "failed");
    CHECK(find_step(fast["steps"], "long")["status"] == "cancelled");

    auto patient = node.wait_build("ff", "patient", "1", 15s);
    CHECK(patient["status"] == "failed");
    CHECK(names_of(patient["steps"]) == "in_parallel");
    CHECK(find_step(patient["steps"], "boom")["status"] == "failed");
    CHECK(find_step(patient["steps"], "slow")["status"] == "succeeded");
    CHECK(step_logs(patient, "slow").find("finished slow") != std::string::npos);
  }

  TEST_CASE("runtime: trigger inputs reach the build as INPUT_<name>") {
    runtime_node node;
    node.set_pipeline("in", R"(
job "deploy" {
  input "env" {
    type    = string
    default = "dev"
  }
  task "show" {
    run "shell" {
      cmd = "echo env=$INPUT_env"
    }
  }
}
)");
    CHECK(node.trigger("in", "deploy")["number"] == "1");
    auto r = node.post("/pipelines/in/jobs/deploy/trigger", R"({"inputs":{"env":"prod"}})");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    CHECK(r.json()["build"]["number"] == "2");
    CHECK(step_logs(node.wait_build("in", "deploy", "1"), "show").find("env=dev") !=
          std::string::npos);
    CHECK(step_logs(node.wait_build("in", "deploy", "2"), "show").find("env=prod") !=
          std::string::npos);
  }

  TEST_CASE("runtime: a missing task input or output fails the step with its message") {
    runtime_node node;
    node.set_pipeline("io", R"(
job "no-input" {
  task "needs" {
    inputs = ["missing.txt"]
    run "shell" {
      cmd = "echo should not run"
    }
  }
}

job "no-output" {
  task "makes" {
    outputs = ["result.txt"]
    run "shell" {
      cmd = "echo made nothing"
    }
  }
}
)");
    node.trigger("io", "no-input");
    node.trigger("io", "no-output");
    auto in = node.wait_build("io", "no-input", "1");
    CHECK(in["status"] == "failed");
    auto log = step_logs(in, "needs");
    CHECK(log.find("input \"missing.txt\" does not exist") != std::string::npos);
    CHECK(log.find("should not run") == std::string::npos);
    auto out = node.wait_build("io", "no-output", "1");
    CHECK(out["status"] == "failed");
    log = step_logs(out, "makes");
    CHECK(log.find("made nothing") != std::string::npos);
    CHECK(log.find("task finished but output \"result.txt\" was not produced") !=
          std::string::npos);
  }
}
