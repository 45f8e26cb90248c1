// The process runner: spawn, merged output, exit texts, deadlines, cancel, process groups.
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "connectors/process/process.hpp"

using namespace pikoci::process;
using namespace std::chrono_literals;

namespace {

struct result {
  outcome out;
  std::string log;
  std::chrono::milliseconds took;
};

std::vector<std::string> base_env() {
  return {"PATH=/usr/local/bin:/usr/bin:/bin"};
}

result sh(const std::string& script, options opts = {}, const cancel_source* cancel = nullptr,
          std::vector<std::string> env = base_env()) {
  result r;
  auto t0 = std::chrono::steady_clock::now();
  r.out = run(
      {"sh", {"-c", script}, std::move(env), ""}, opts,
      [&](std::string_view c) { r.log.append(c); }, cancel);
  r.took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  return r;
}

/// True while `pid` exists and is not a zombie.
bool alive(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_s, comm, state;
  if (!(stat >> pid_s >> comm >> state)) return false;
  return state != "Z" && state != "X";
}

}  // namespace

TEST_SUITE("connectors.process") {
  TEST_CASE("stdout and stderr are merged into one log and a zero exit succeeds") {
    auto r = sh("echo out; echo err >&2; echo again");
    CHECK(r.out.succeeded());
    CHECK(r.log == "out\nerr\nagain\n");
  }

  TEST_CASE("a non-zero exit and a signal give Go's failure texts") {
    auto failed = sh("exit 3");
    CHECK_FALSE(failed.out.succeeded());
    CHECK(failed.out.failure_text() == "exit status 3");
    auto killed = sh("kill -KILL $$");
    CHECK(killed.out.failure_text() == "signal: killed");
  }

  TEST_CASE("bare command names resolve through PATH, unknown ones fail to start") {
    result r;
    auto out = run({"echo", {"a b", "c"}, base_env(), ""}, {},
                   [&](std::string_view c) { r.log.append(c); });
    CHECK(out.succeeded());
    CHECK(r.log == "a b c\n");
    auto missing = run({"no-such-command-xyz", {}, base_env(), ""}, {}, nullptr);
    CHECK_FALSE(missing.started);
    CHECK(missing.failure_text().find("executable file not found") != std::string::npos);
  }

  TEST_CASE("the working directory and the environment are the ones given") {
    std::string log;
    auto out = run({"sh",
                    {"-c", "pwd; echo \"$FOO\"; echo \"${HOME:-unset}\""},
                    {"PATH=/usr/bin:/bin", "FOO=bar baz"},
                    "/tmp"},
                   {}, [&](std::string_view c) { log.append(c); });
    CHECK(out.succeeded());
    CHECK(log == "/tmp\nbar baz\nunset\n");
  }

  TEST_CASE("a deadline stops the step with SIGTERM and marks it timed out") {
    options o;
    o.deadline = std::chrono::steady_clock::now() + 200ms;
    auto r = sh("sleep 10", o);
    CHECK(r.out.timed_out);
    CHECK_FALSE(r.out.succeeded());
    CHECK(r.out.failure_text() == "signal: terminated");
    CHECK(r.took < 5s);
  }

  TEST_CASE("a step that ignores SIGTERM is killed after the grace period") {
    options o;
    o.deadline = std::chrono::steady_clock::now() + 100ms;
    o.grace = 300ms;
    auto r = sh("trap '' TERM; sleep 10; echo never", o);
    CHECK(r.out.timed_out);
    CHECK(r.out.failure_text() == "signal: killed");
    CHECK(r.log.find("never") == std::string::npos);
    CHECK(r.took >= 300ms);
    CHECK(r.took < 5s);
  }

  TEST_CASE("cancel from another thread stops the whole process group") {
    cancel_source cancel;
    std::thread canceller([&] {
      std::this_thread::sleep_for(200ms);
      cancel.cancel();
    });
    auto r = sh("sleep 30 & echo $!; wait", {}, &cancel);
    canceller.join();
    CHECK(r.out.cancelled);
    CHECK(r.took < 5s);
    int grandchild = std::stoi(r.log);
    for (int i = 0; i < 100 && alive(grandchild); ++i) std::this_thread::sleep_for(10ms);
    CHECK_FALSE(alive(grandchild));
    CHECK(cancel.cancelled());
  }

  TEST_CASE("a daemon left running by a step neither hangs the step nor is killed by it") {
    auto r = sh("sleep 30 > /dev/null 2>&1 & echo $!; echo started; exec 1>&-; sleep 30 &");
    CHECK(r.out.succeeded());
    CHECK(r.took < 5s);
    int daemon = std::stoi(r.log);
    CHECK(alive(daemon));
    kill(-r.out.pid, SIGKILL);
  }

  TEST_CASE("large output streams through completely") {
    std::size_t bytes = 0;
    auto out = run({"sh", {"-c", "head -c 5000000 /dev/zero"}, base_env(), ""}, {},
                   [&](std::string_view c) { bytes += c.size(); });
    CHECK(out.succeeded());
    CHECK(bytes == 5000000);
  }
}
