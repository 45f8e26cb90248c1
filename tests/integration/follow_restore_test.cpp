// `client builds logs --follow` on a build that does not exist yet waits for it (bounded, saying
// so), and the restore log line of a RocksDB node counts the builds it brought back.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <thread>

#include "tests/support/pipeline_fixture.hpp"
#include "tests/support/tcp_proxy.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

const char* const hello_hcl = R"(job "hello" {
  task "say" {
    run "shell" {
      cmd = "echo hello-followed"
    }
  }
}
)";

std::vector<std::string> client_args(runtime_node& node, std::vector<std::string> args) {
  std::vector<std::string> argv{node_binary(),       "client",  "--url",
                                node.server().url(), "--token", node.token()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

bool has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

}  // namespace

TEST_SUITE("integration.follow") {
  TEST_CASE("builds logs --follow waits for a build that does not exist yet") {
    runtime_node node;
    node.set_pipeline("p", hello_hcl);
    child_process follow(client_args(node, {"builds", "logs", "p", "hello", "1", "--follow"}));
    REQUIRE_MESSAGE(follow.wait_for_line("waiting for build 1 of p/hello", 10s), follow.output());
    std::this_thread::sleep_for(700ms);  // it keeps waiting
    CHECK_FALSE(follow.wait_exit(0ms).has_value());
    node.trigger("p", "hello");
    auto code = follow.wait_exit(20s);
    CHECK_MESSAGE(code == 0, follow.output());
    CHECK_MESSAGE(has(follow.output(), "hello-followed"), follow.output());
    CHECK_MESSAGE(has(follow.output(), "succeeded"), follow.output());

    // bounded: --wait gives up with a message
    auto late = run_command(
        client_args(node, {"builds", "logs", "p", "hello", "5", "--follow", "--wait", "1"}), 20s);
    CHECK(late.exit_code == 1);
    CHECK_MESSAGE(has(late.output, "waiting for build 5 of p/hello (up to 1s"), late.output);
    CHECK_MESSAGE(has(late.output, "build 5 of p/hello did not come within 1s"), late.output);
    // --wait 0, an unknown job or pipeline, or a build older than the newest: no waiting
    for (auto args : std::vector<std::vector<std::string>>{
             {"builds", "logs", "p", "hello", "5", "--follow", "--wait", "0"},
             {"builds", "logs", "p", "nope", "1", "--follow"},
             {"builds", "logs", "nope", "hello", "1", "--follow"},
             {"builds", "logs", "p", "hello", "0", "--follow"}}) {
      auto t0 = std::chrono::steady_clock::now();
      auto r = run_command(client_args(node, args), 20s);
      CHECK_MESSAGE(r.exit_code == 1, r.output);
      CHECK_MESSAGE(has(r.output, "not_found"), r.output);
      CHECK_FALSE(has(r.output, "waiting for build"));
      CHECK(std::chrono::steady_clock::now() - t0 < 5s);
    }
  }

  TEST_CASE("the restore log line counts the builds brought back") {
    temp_dir dir;
    std::vector<std::string> args{"--db-system", "rocksdb", "--db-path", dir.file("db")};
    {
      runtime_node node(args);
      node.set_pipeline("p", hello_hcl);
      for (int i = 0; i < 3; ++i) node.trigger("p", "hello");
      node.wait_builds("p", "hello", 3);
      node.server().process().stop(SIGTERM);
    }
    runtime_node node(args);
    auto line = node.server().process().wait_for_line("event=pipeline.restored", 10s);
    REQUIRE_MESSAGE(line, node.tail());
    CHECK_MESSAGE(has(*line, "pipeline=p jobs=1 resources=0 versions=0 builds=3"), *line);
  }

  TEST_CASE("builds logs --follow resumes a broken stream where it was, printing nothing twice") {
    runtime_node node;
    node.set_pipeline("p", R"(job "talk" {
  task "say" {
    run "exec" {
      path = "/bin/sh"
      args = ["-c", "for i in $(seq 9); do echo said-$i; sleep 0.3; done"]
    }
  }
}
)");
    tcp_proxy proxy(node.server().port());
    node.trigger("p", "talk");
    child_process follow({node_binary(), "client", "--url",
                          "http://127.0.0.1:" + std::to_string(proxy.port()), "--token",
                          node.token(), "builds", "logs", "p", "talk", "1", "--follow"});
    REQUIRE_MESSAGE(follow.wait_for_line("said-3", 15s), follow.output());
    proxy.cut();  // the connection breaks mid-step
    std::this_thread::sleep_for(200ms);
    proxy.restore();
    auto code = follow.wait_exit(30s);
    CAPTURE(node.tail());
    CHECK_MESSAGE(code == 0, follow.output());
    for (int i = 1; i <= 9; ++i)
      CHECK_MESSAGE(count(follow.output(), "said-" + std::to_string(i)) == 1, follow.output());
    CHECK_FALSE(has(follow.output(), "started again"));
    CHECK(has(follow.output(), "succeeded"));
  }
}
