// Process cleanup (docs/operations.md "Process cleanup") through the real binary: what a build
// starts is gone when it ends (background children, `setsid` grandchildren, a service left
// running), and when the node is killed with SIGKILL. Each case runs with the cgroup mechanism
// (`--build-cgroup auto`, where the machine allows it) and with the subreaper fallback
// (`--build-cgroup off`). Processes are checked in /proc.
#include <doctest/doctest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The state letter of /proc/<pid>/stat ('\0' when there is no such process).
char proc_state(int pid) {
  auto s = read_text("/proc/" + std::to_string(pid) + "/stat");
  auto p = s.rfind(')');
  return p == std::string::npos || p + 2 >= s.size() ? '\0' : s[p + 2];
}

/// Running, sleeping or stopped: not gone and not a zombie.
bool alive(int pid) {
  char st = proc_state(pid);
  return st != '\0' && st != 'Z' && st != 'X';
}

/// Parent pid from /proc/<pid>/stat (0 when gone).
int parent_of(int pid) {
  auto s = read_text("/proc/" + std::to_string(pid) + "/stat");
  auto p = s.rfind(')');
  if (p == std::string::npos) return 0;
  std::istringstream in(s.substr(p + 2));
  char state;
  int ppid = 0;
  in >> state >> ppid;
  return ppid;
}

/// Pids a task wrote to files of `dir`; kills them at the end whatever the test found, so a
/// failing run leaves nothing behind.
struct recorded_pids {
  const temp_dir& dir;
  std::set<int> seen;
  explicit recorded_pids(const temp_dir& d) : dir(d) {}
  ~recorded_pids() {
    for (int pid : seen)
      if (alive(pid)) kill(pid, SIGKILL);
  }
  /// The pid in file `name`, waiting until the task wrote it; 0 when it never did.
  int get(const std::string& name) {
    int pid = 0;
    eventually(
        [&] {
          pid = std::atoi(dir.read(name).c_str());
          return pid > 0;
        },
        30s);
    if (pid > 0) seen.insert(pid);
    return pid;
  }
};

std::vector<std::string> mode_args(const std::string& mode) {
  return {"--build-cgroup", mode, "--concurrency", "2"};
}

/// A job whose one task runs `script` with /bin/sh.
std::string shell_job(const std::string& name, const std::string& script) {
  return "job \"" + name + "\" {\n  task \"t\" {\n    run \"exec\" {\n      path = \"/bin/sh\"\n" +
         "      args = [\"-c\", " + json(script).dump() + "]\n    }\n  }\n}\n";
}

/// Background, `setsid` and main pids written to @DIR@/{bg,sid,main}, then it sleeps.
const std::string leaving_script =
    "sleep 300 & echo $! > @DIR@/bg; "
    "setsid sh -c 'echo $$ > @DIR@/sid; exec sleep 300' & "
    "echo $$ > @DIR@/main; echo started; ";

/// The arguments of a node in `mode` with a RocksDB store in `dir` (it is restarted).
std::vector<std::string> durable_args(const std::string& mode, const temp_dir& dir) {
  auto args = mode_args(mode);
  for (const char* a : {"--db-system", "rocksdb", "--db-path"}) args.push_back(a);
  args.push_back(dir.file("db"));
  return args;
}

/// Build 1 of job "slow": it leaves background and setsid children behind and sleeps.
void start_leaving_build(runtime_node& node, const temp_dir& dir) {
  node.set_pipeline(
      "p", shell_job("slow", replace_all(leaving_script, "@DIR@", dir.path()) + "sleep 300"));
  node.trigger("p", "slow");
  node.wait_started("p", "slow", "1");
}

}  // namespace

TEST_SUITE("process_cleanup") {
  TEST_CASE("background and setsid children of a task are gone once its build ends") {
    for (std::string mode : {"auto", "off"}) {
      CAPTURE(mode);
      temp_dir dir;
      recorded_pids pids(dir);
      runtime_node node(mode_args(mode));
      node.set_pipeline("p", shell_job("leave", replace_all(leaving_script, "@DIR@", dir.path())));
      node.trigger("p", "leave");
      auto b = node.wait_build("p", "leave", "1", 30s);
      CHECK(b["status"] == "succeeded");
      int bg = pids.get("bg"), sid = pids.get("sid");
      REQUIRE(bg > 0);
      REQUIRE(sid > 0);
      // gone when the build is recorded finished, not some time later
      CHECK_MESSAGE(!alive(bg), "background child " << bg << " outlived its build");
      CHECK_MESSAGE(!alive(sid), "setsid grandchild " << sid << " outlived its build");
      CHECK(node.healthy());
    }
  }

  TEST_CASE("a cancelled build leaves nothing running, setsid grandchildren included") {
    for (std::string mode : {"auto", "off"}) {
      CAPTURE(mode);
      temp_dir dir;
      recorded_pids pids(dir);
      runtime_node node(mode_args(mode));
      node.set_pipeline(
          "p", shell_job("slow", replace_all(leaving_script, "@DIR@", dir.path()) + "sleep 300"));
      node.trigger("p", "slow");
      node.wait_started("p", "slow", "1");
      int bg = pids.get("bg"), sid = pids.get("sid"), main = pids.get("main");
      REQUIRE(bg > 0);
      REQUIRE(sid > 0);
      REQUIRE(main > 0);
      CHECK(node.post("/pipelines/p/jobs/slow/builds/1/cancel").status == 200);
      auto b = node.wait_build("p", "slow", "1", 30s);
      CHECK(b["status"] == "cancelled");
      CHECK(!alive(main));
      CHECK_MESSAGE(!alive(bg), "background child " << bg << " outlived the cancel");
      CHECK_MESSAGE(!alive(sid), "setsid grandchild " << sid << " outlived the cancel");
    }
  }

  TEST_CASE("a service its stop leaves running ends with its build") {
    for (std::string mode : {"auto", "off"}) {
      CAPTURE(mode);
      temp_dir dir;
      recorded_pids pids(dir);
      runtime_node node(mode_args(mode));
      auto hcl = replace_all(R"hcl(
service_type "nostop" {
  start "shell" {
    cmd = "sh -c 'echo $$ > @DIR@/nostop; exec sleep 300' > /dev/null 2>&1 &"
  }
  stop "shell" {
    cmd = "true"
  }
}
service_type "badstop" {
  start "shell" {
    cmd = "setsid sh -c 'echo $$ > @DIR@/badstop; exec sleep 300' > /dev/null 2>&1 &"
  }
  stop "shell" {
    cmd = "echo not stopping"
  }
}
job "svc" {
  service "nostop" {}
  service "badstop" {}
  task "t" {
    run "shell" {
      cmd = "echo task"
    }
  }
}
)hcl",
                             "@DIR@", dir.path());
      node.set_pipeline("s", hcl);
      node.trigger("s", "svc");
      auto b = node.wait_build("s", "svc", "1", 30s);
      CHECK(b["status"] == "succeeded");
      int nostop = pids.get("nostop"), badstop = pids.get("badstop");
      REQUIRE(nostop > 0);
      REQUIRE(badstop > 0);
      CHECK_MESSAGE(!alive(nostop), "background service outlived its build");
      CHECK_MESSAGE(!alive(badstop), "setsid service outlived its build");
    }
  }

  TEST_CASE("kill -9 of the node: the build's processes die with it and the record says so") {
    for (std::string mode : {"auto", "off"}) {
      CAPTURE(mode);
      temp_dir dir;
      recorded_pids pids(dir);
      auto args = durable_args(mode, dir);
      {
        runtime_node node(args);
        start_leaving_build(node, dir);
        int bg = pids.get("bg"), sid = pids.get("sid"), main = pids.get("main");
        REQUIRE(bg > 0);
        REQUIRE(sid > 0);
        REQUIRE(main > 0);
        node.server().process().stop(SIGKILL);
        // nobody is left to record them: they must not keep running
        for (int pid : {main, bg, sid})
          CHECK_MESSAGE(eventually([&] { return !alive(pid); }, 10s),
                        "process " << pid << " outlived the killed node");
      }
      runtime_node node(args);
      auto b = node.wait_build("p", "slow", "1");
      CHECK(b["status"] == "errored");
      CHECK(b["reason"] == "orphaned: server stopped during build");
    }
  }

  TEST_CASE("leftovers of a node killed together with its guard are killed at the next start") {
    for (std::string mode : {"auto", "off"}) {
      CAPTURE(mode);
      temp_dir dir;
      recorded_pids pids(dir);
      auto args = durable_args(mode, dir);
      {
        runtime_node node(args);
        start_leaving_build(node, dir);
        int bg = pids.get("bg"), sid = pids.get("sid");
        REQUIRE(bg > 0);
        REQUIRE(sid > 0);
        // the guard is the node's child running as "pikoci-guard": killed first, as a
        // container runtime killing everything at once would
        int node_pid = node.server().process().pid(), guard = 0;
        DIR* d = opendir("/proc");
        while (dirent* e = readdir(d)) {
          int pid = std::atoi(e->d_name);
          if (pid > 0 && parent_of(pid) == node_pid &&
              read_text("/proc/" + std::to_string(pid) + "/cmdline").rfind("pikoci-guard", 0) == 0)
            guard = pid;
        }
        closedir(d);
        REQUIRE_MESSAGE(guard > 0, node.tail());
        kill(guard, SIGKILL);
        node.server().process().stop(SIGKILL);
        std::this_thread::sleep_for(300ms);
        CHECK(alive(bg));  // nobody killed it yet (the step's own shell got PR_SET_PDEATHSIG)
      }
      // killed before the restarted node records anything
      runtime_node node(args);
      for (int pid : pids.seen)
        CHECK_MESSAGE(!alive(pid), "process " << pid << " survived the restart");
      CHECK(node.server().process().output().find("event=process.leftovers_killed") !=
            std::string::npos);
      auto b = node.wait_build("p", "slow", "1");
      CHECK(b["status"] == "errored");
    }
  }

  TEST_CASE("a command that cannot be executed fails its step with the reason, in either mode") {
    // the step shim (pikoci-shim) executes the command: its failure text reaches the build
    for (std::string mode : {"auto", "off"}) {
      CAPTURE(mode);
      temp_dir dir;
      dir.write("not-a-program", std::string("\x01\x02\x03 not an executable format\n"));
      REQUIRE(chmod(dir.file("not-a-program").c_str(), 0755) == 0);
      runtime_node node(mode_args(mode));
      node.set_pipeline("p", "job \"bad\" {\n  task \"t\" {\n    run \"exec\" {\n      path = " +
                                 json(dir.file("not-a-program")).dump() + "\n    }\n  }\n}\n");
      node.trigger("p", "bad");
      auto b = node.wait_build("p", "bad", "1");
      CHECK(b["status"] != "succeeded");
      CHECK_MESSAGE(b.dump().find("fork/exec " + dir.file("not-a-program") +
                                  ": Exec format error") != std::string::npos,
                    b.dump());
    }
  }

  TEST_CASE("with cgroup v2, every step runs in its build's cgroup") {
    temp_dir dir;
    runtime_node node(mode_args("auto"));
    node.set_pipeline("p", shell_job("where", "cat /proc/self/cgroup"));
    node.trigger("p", "where");
    auto b = node.wait_build("p", "where", "1");
    REQUIRE(b["status"] == "succeeded");
    auto out = node.server().process().output();
    if (out.find("event=process.cleanup mode=cgroup") == std::string::npos) {
      // no writable cgroup v2 here: the fallback says why
      CHECK(out.find("event=process.cleanup mode=subreaper") != std::string::npos);
      MESSAGE("no writable cgroup v2 on this machine; the subreaper fallback was used");
      return;
    }
    CHECK_MESSAGE(
        step_logs(b, "t").find("/pikoci-" + std::to_string(node.server().process().pid()) +
                               "/build-" + b["id"].dump() + "-1") != std::string::npos,
        step_logs(b, "t"));
  }
}
