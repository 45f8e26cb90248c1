// Stopping the node (docs/operations.md "Stopping the node") with RocksDB, through the real
// binary: builds still pending at SIGTERM, or when --drain-timeout ends a SIGQUIT drain, stay
// pending and run after the restart (never `errored` without having run); a SIGTERM during a
// drain stops the node at once, cancelling what runs.
#include <doctest/doctest.h>

#include <csignal>
#include <set>

#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> store_args(const temp_dir& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--db-system",  "rocksdb",       "--db-path",
                                dir.file("db"), "--concurrency", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

/// One slow build running and two fast ones pending behind it.
void one_running_two_pending(runtime_node& node, const temp_dir& dir) {
  node.set_pipeline("p", recording_job("slow", dir.file("runs"), "300") +
                             recording_job("fast", dir.file("runs"), "0"));
  node.trigger("p", "slow");
  node.wait_started("p", "slow", "1");
  // its task has recorded its run (a build is `started` a moment before its process writes)
  REQUIRE(eventually([&] { return dir.lines("runs").size() == 1; }, 20s));
  node.trigger("p", "fast");
  node.trigger("p", "fast");
  REQUIRE(node.get("/queue").json()["queued"] == 2);
}

/// After the restart: the slow build was cancelled by the stop, the pending ones ran once each.
void check_after_restart(const std::vector<std::string>& args, const temp_dir& dir) {
  runtime_node node(args);
  auto slow = node.wait_build("p", "slow", "1");
  CHECK(slow["status"] == "cancelled");
  CHECK(slow["reason"] == "cancelled: server stopping");
  auto fast = node.wait_builds("p", "fast", 2, 30s);
  for (const auto& summary : fast) {
    auto b = node.build("p", "fast", summary["number"]);
    CHECK_MESSAGE(b["status"] == "succeeded", b.dump());
    CHECK(step_logs(b, "t").find("done") != std::string::npos);  // it really ran
  }
  auto lines = dir.lines("runs");
  CHECK(lines.size() == 3);  // slow once, each fast one once
  CHECK(std::set<std::string>(lines.begin(), lines.end()).size() == lines.size());
}

}  // namespace

TEST_SUITE("stop_paths") {
  TEST_CASE("SIGTERM: pending builds stay pending and run after the restart") {
    temp_dir dir;
    auto args = store_args(dir);
    {
      runtime_node node(args);
      one_running_two_pending(node, dir);
      CHECK(node.server().process().stop(SIGTERM, 30s) == 0);
      CHECK(node.server().process().output().find("event=queue.stopping pending=2") !=
            std::string::npos);
    }
    check_after_restart(args, dir);
  }

  TEST_CASE("--drain-timeout ends a SIGQUIT drain: pending builds stay pending for the restart") {
    temp_dir dir;
    auto args = store_args(dir, {"--drain-timeout", "1s"});
    {
      runtime_node node(args);
      one_running_two_pending(node, dir);
      auto& proc = node.server().process();
      kill(proc.pid(), SIGQUIT);
      CHECK(proc.wait_for_line("event=node.drained complete=false", 20s));
      auto code = proc.wait_exit(30s);
      REQUIRE_MESSAGE(code.has_value(), node.tail());
      CHECK(*code == 0);
    }
    check_after_restart(args, dir);
  }

  TEST_CASE("SIGTERM during a SIGQUIT drain cancels and exits at once") {
    temp_dir dir;
    auto args = store_args(dir, {"--drain-timeout", "10m"});
    {
      runtime_node node(args);
      one_running_two_pending(node, dir);
      auto& proc = node.server().process();
      kill(proc.pid(), SIGQUIT);
      REQUIRE(proc.wait_for_line("event=queue.draining", 20s));
      // draining refuses new builds
      CHECK(node.post("/pipelines/p/jobs/fast/trigger").status == 503);
      auto t0 = std::chrono::steady_clock::now();
      kill(proc.pid(), SIGTERM);
      auto code = proc.wait_exit(20s);
      REQUIRE_MESSAGE(code.has_value(), "SIGTERM during the drain was ignored\n" << node.tail());
      CHECK(*code == 0);
      CHECK(std::chrono::steady_clock::now() - t0 < 15s);
      CHECK(proc.output().find("while=draining") != std::string::npos);
    }
    check_after_restart(args, dir);
  }
}
