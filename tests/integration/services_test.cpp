// Services through the API (seed 002, SPEC §7): a real PostgreSQL from Debian's packages, the
// lifecycle rules, cancel during a ready check, overlapping ready checks, and `source` URLs.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

/// A TCP port nobody listens on right now.
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// `python3 -m http.server` serving `dir` on 127.0.0.1 (the service `source` tests).
struct file_server {
  int port = free_port();
  child_process proc;
  explicit file_server(const std::string& dir)
      : proc({"python3", "-m", "http.server", std::to_string(port), "--bind", "127.0.0.1",
              "--directory", dir}) {
    REQUIRE_MESSAGE(
        eventually(
            [&] {
              return http_get("http://127.0.0.1:" + std::to_string(port) + "/").status == 200;
            },
            10s),
        proc.tail());
  }
  ~file_server() { proc.stop(SIGTERM); }
  std::string url(const std::string& file) const {
    return "http://127.0.0.1:" + std::to_string(port) + "/" + file;
  }
};

/// A service whose commands append to `<dir>/log`, so the order is observable across builds.
std::string traced_service(const temp_dir& dir, const std::string& name, const std::string& ready,
                           const std::string& interval = "100ms",
                           const std::string& timeout = "10s") {
  std::string log = dir.file("log");
  return "service_type \"" + name + "\" {\n  start \"shell\" {\n    cmd = \"echo " + name +
         ":start >> " + log + "; echo started " + name + "\"\n  }\n  ready_check \"shell\" {\n" +
         "    cmd = \"" + ready + "\"\n    interval = \"" + interval + "\"\n    timeout = \"" +
         timeout + "\"\n  }\n  stop \"shell\" {\n    cmd = \"echo " + name + ":stop >> " + log +
         "; echo stopped " + name + "\"\n  }\n}\n";
}

/// A `docker` stand-in (the test machines have no Docker daemon): appends each call's arguments
/// to `<dir>/calls`, keeps the names of the containers it "runs" in `<dir>/running`, fails an
/// `exec` into a container that is not running, and answers `redis-cli ping` with PONG.
void write_docker_stand_in(const temp_dir& dir) {
  std::filesystem::create_directories(dir.file("bin"));
  std::ofstream(dir.file("bin/docker"))
      << ("#!/bin/sh\n"
          "printf '%s\\n' \"$*\" >> " +
          dir.file("calls") +
          "\n"
          "state=" +
          dir.file("running") +
          "\n"
          "touch \"$state\"\n"
          "case \"$1\" in\n"
          "  run)\n"
          "    name=; prev=\n"
          "    for a in \"$@\"; do [ \"$prev\" = --name ] && name=$a; prev=$a; done\n"
          "    echo \"$name\" >> \"$state\"; echo \"c0ffee-$name\" ;;\n"
          "  rm)\n"
          "    shift; [ \"$1\" = -f ] && shift\n"
          "    grep -qx \"$1\" \"$state\" || { echo \"No such container: $1\" >&2; "
          "exit 1; }\n"
          "    grep -vx \"$1\" \"$state\" > \"$state.new\"; mv \"$state.new\" "
          "\"$state\" ;;\n"
          "  exec)\n"
          "    grep -qx \"$2\" \"$state\" || { echo \"No such container: $2\" >&2; "
          "exit 1; }\n"
          "    case \"$*\" in *redis-cli*) echo PONG ;; esac ;;\n"
          "esac\n");
  std::filesystem::permissions(dir.file("bin/docker"), std::filesystem::perms::owner_all);
}

}  // namespace

TEST_SUITE("integration.services") {
  TEST_CASE("services: a real PostgreSQL from samples/services.hcl serves the task") {
    runtime_node node;
    int port = free_port();
    auto body = json{{"config", read_file(source_path("samples/services.hcl"))},
                     {"vars", {{"pg_port", std::to_string(port)}}}};
    auto set = node.put("/pipelines/pg", body.dump());
    REQUIRE_MESSAGE(set.status == 201, set.body);
    node.trigger("pg", "integration");
    auto b = node.wait_build("pg", "integration", "1", 90s);
    CHECK_MESSAGE(b["status"] == "succeeded", all_logs(b));
    CHECK(names_of(b["steps"]) == "postgres:start,postgres:ready,query,postgres:stop");
    for (const auto& s : b["steps"]) {
      CHECK(s["type"] == (s["name"] == "query" ? "task" : "service"));
      CHECK(s["started_at"].is_string());
      CHECK(s["finished_at"].is_string());
    }
    CHECK(step_logs(b, "query") == "42\n");
    CHECK(step_logs(b, "postgres:start").find("server started") != std::string::npos);
    CHECK(step_logs(b, "postgres:stop").find("server stopped") != std::string::npos);
    // stopped for real: nothing answers on the port any more
    auto probe = run_command({"pg_isready", "-h", "127.0.0.1", "-p", std::to_string(port)});
    CHECK(probe.exit_code != 0);
  }

  TEST_CASE("services: params, BUILD_* and WORKDIR; failed start; failing task; failing stop") {
    runtime_node node;
    temp_dir dir;
    std::string hcl = R"(
service_type "a" {
  params = ["version"]
  start "shell" {
    cmd = "echo a $param_version $BUILD_PIPELINE_NAME $BUILD_JOB_NAME $BUILD_NUMBER > $WORKDIR/a.txt"
  }
  stop "shell" {
    cmd = "echo stopping a; exit 4"
  }
}
service_type "broken" {
  start "shell" {
    cmd = "echo broken; exit 3"
  }
  stop "shell" {
    cmd = "echo never"
  }
}
job "ok" {
  service "a" {
    version = "15"
  }
  task "read" {
    run "shell" {
      cmd = "cat $WORKDIR/a.txt"
    }
  }
}
job "bad-start" {
  service "a" {}
  service "broken" {}
  task "never" {
    run "shell" {
      cmd = "echo ran"
    }
  }
}
job "bad-task" {
  service "a" {}
  task "fails" {
    run "shell" {
      cmd = "exit 1"
    }
  }
}
)";
    node.set_pipeline("svc", hcl);
    node.trigger("svc", "ok");
    auto ok = node.wait_build("svc", "ok", "1");
    // a failing stop is logged on its step and never changes the status
    CHECK(ok["status"] == "succeeded");
    CHECK(step_logs(ok, "read") == "a 15 svc ok 1\n");
    CHECK(find_step(ok["steps"], "a:stop")["status"] == "failed");
    CHECK(step_logs(ok, "a:stop").find("exit status 4") != std::string::npos);

    node.trigger("svc", "bad-start");
    auto bad = node.wait_build("svc", "bad-start", "1");
    CHECK(bad["status"] == "failed");
    CHECK(bad["reason"] == "service \"broken\" failed to start: exit status 3");
    CHECK(names_of(bad["steps"]) == "a:start,broken:start,a:stop");

    node.trigger("svc", "bad-task");
    auto task = node.wait_build("svc", "bad-task", "1");
    CHECK(task["status"] == "failed");
    CHECK(names_of(task["steps"]) == "a:start,fails,a:stop");
  }

  TEST_CASE("services: a ready check that fails keeps the tasks from running; stop still runs") {
    runtime_node node;
    temp_dir dir;
    node.set_pipeline("r", traced_service(dir, "svc", "echo not ready; exit 1", "200ms", "1s") +
                               "job \"j\" {\n  service \"svc\" {}\n  task \"t\" {\n    run "
                               "\"shell\" {\n      cmd = \"echo ran\"\n    }\n  }\n}\n");
    node.trigger("r", "j");
    auto b = node.wait_build("r", "j", "1");
    CHECK(b["status"] == "failed");
    CHECK(b["reason"] == "service \"svc\" not ready after 1s");
    CHECK(names_of(b["steps"]) == "svc:start,svc:ready,svc:stop");
    CHECK(step_logs(b, "svc:stop") == "stopped svc\n");
  }

  TEST_CASE("services: ready checks of two services overlap in time") {
    runtime_node node;
    temp_dir dir;
    auto ready = [&](const std::string& n) {
      return "date +%s%N >> " + dir.file(n + ".span") + "; sleep 0.5; date +%s%N >> " +
             dir.file(n + ".span");
    };
    node.set_pipeline("o", traced_service(dir, "one", ready("one")) +
                               traced_service(dir, "two", ready("two")) +
                               "job \"j\" {\n  service \"one\" {}\n  service \"two\" {}\n  task "
                               "\"t\" {\n    run \"exec\" {\n      path = \"true\"\n    }\n  "
                               "}\n}\n");
    node.trigger("o", "j");
    auto b = node.wait_build("o", "j", "1");
    CHECK(b["status"] == "succeeded");
    auto one = dir.lines("one.span"), two = dir.lines("two.span");
    REQUIRE(one.size() == 2);
    REQUIRE(two.size() == 2);
    CHECK(std::stoll(one[0]) < std::stoll(two[1]));
    CHECK(std::stoll(two[0]) < std::stoll(one[1]));
    // starts one after another, in plan order, before either ready check
    CHECK(dir.lines("log") ==
          std::vector<std::string>{"one:start", "two:start", "one:stop", "two:stop"});
  }

  TEST_CASE("services: cancel while a ready check polls; stop runs, the build is cancelled") {
    runtime_node node;
    temp_dir dir;
    node.set_pipeline("c", traced_service(dir, "svc", "sleep 0.2; exit 1", "100ms", "60s") +
                               "job \"j\" {\n  service \"svc\" {}\n  task \"t\" {\n    run "
                               "\"shell\" {\n      cmd = \"echo ran\"\n    }\n  }\n}\n");
    node.trigger("c", "j");
    node.wait_started("c", "j", "1");
    REQUIRE(eventually([&] { return !step_logs(node.build("c", "j", "1"), "svc:start").empty(); },
                       10s));
    std::this_thread::sleep_for(300ms);  // a poll or two
    CHECK(node.post("/pipelines/c/jobs/j/builds/1/cancel").status == 200);
    auto b = node.wait_build("c", "j", "1", 10s);
    CHECK(b["status"] == "cancelled");
    CHECK(names_of(b["steps"]) == "svc:start,svc:ready,svc:stop");
    CHECK(find_step(b["steps"], "svc:ready")["status"] == "cancelled");
    CHECK(dir.lines("log") == std::vector<std::string>{"svc:start", "svc:stop"});
  }

  TEST_CASE("services: source URLs are fetched when the pipeline is set") {
    runtime_node node;
    temp_dir dir;
    dir.write("echo.hcl",
              "params = [\"word\"]\nstart \"shell\" {\n  cmd = \"echo fetched "
              "$param_word\"\n}\nstop \"shell\" {\n  cmd = \"echo bye\"\n}\n");
    dir.write("block.hcl",
              "service_type \"whatever\" {\n  start \"shell\" {\n    cmd = \"echo "
              "from a block\"\n  }\n  stop \"exec\" {\n    path = \"true\"\n  }\n}\n");
    dir.write("broken.hcl", "start \"shell\" {\n");
    file_server files(dir.path());
    auto pipeline = [&](const std::string& url) {
      return "service_type \"echo\" {\n  source = \"" + url +
             "\"\n}\njob \"j\" {\n  service \"echo\" {\n    word = \"hi\"\n  }\n  task \"t\" {\n  "
             "  run \"exec\" {\n      path = \"true\"\n    }\n  }\n}\n";
    };
    node.set_pipeline("src", pipeline(files.url("echo.hcl")));
    node.trigger("src", "j");
    auto b = node.wait_build("src", "j", "1");
    CHECK(b["status"] == "succeeded");
    CHECK(step_logs(b, "echo:start") == "fetched hi\n");
    CHECK(step_logs(b, "echo:stop") == "bye\n");

    // re-setting fetches again
    dir.write(
        "echo.hcl",
        "start \"shell\" {\n  cmd = \"echo changed\"\n}\nstop \"exec\" {\n  path = \"true\"\n}\n");
    node.set_pipeline("src", pipeline(files.url("echo.hcl")));
    node.trigger("src", "j");
    CHECK(step_logs(node.wait_build("src", "j", "2"), "echo:start") == "changed\n");

    node.set_pipeline("blk", pipeline(files.url("block.hcl")));
    node.trigger("blk", "j");
    CHECK(step_logs(node.wait_build("blk", "j", "1"), "echo:start") == "from a block\n");

    // failures are 422 with a clear message and change nothing
    auto expect_422 = [&](const std::string& hcl, const std::string& needle) {
      auto r = node.put("/pipelines/src", json{{"config", hcl}}.dump());
      CHECK(r.status == 422);
      CHECK(r.json()["error"]["code"] == "invalid_pipeline");
      auto text = r.json().dump();
      CHECK_MESSAGE(text.find(needle) != std::string::npos, text);
    };
    expect_422(pipeline(files.url("missing.hcl")), "HTTP status 404");
    expect_422(pipeline("http://127.0.0.1:" + std::to_string(free_port()) + "/x.hcl"), "failed");
    expect_422(pipeline(files.url("broken.hcl")), "is invalid");
    expect_422(pipeline("pikoci://nosuch"), "no built-in service named");
    expect_422("service_type \"x\" {\n  source = \"" + files.url("echo.hcl") +
                   "\"\n  start \"exec\" {\n    path = \"true\"\n  }\n}\n",
               "mutually exclusive");
    // the pipeline is still the last good one
    CHECK(node.get("/pipelines/src").json()["pipeline"]["config"] ==
          pipeline(files.url("echo.hcl")));
    CHECK(node.healthy());
  }
  TEST_CASE("services: every built-in service starts, is ready-checked and stops its container") {
    temp_dir dir;
    write_docker_stand_in(dir);
    runtime_node node({}, {{"PATH", dir.file("bin") + ":" + std::getenv("PATH")}});
    const std::vector<std::string> all = {"postgresql", "mariadb", "redis", "nats",
                                          "rabbitmq",   "kafka",   "vault", "keycloak"};
    std::string hcl;
    for (const auto& svc : all)
      hcl += "service_type \"" + svc + "\" {\n  source = \"pikoci://" + svc + "\"\n}\n";
    hcl += "job \"it\" {\n";
    for (const auto& svc : all)
      hcl += svc == "postgresql" ? "  service \"postgresql\" {\n    version = \"15\"\n    port = "
                                   "\"15432\"\n    password = \"s3cret\"\n  }\n"
                                 : "  service \"" + svc + "\" {}\n";
    hcl += "  task \"t\" {\n    run \"exec\" {\n      path = \"true\"\n    }\n  }\n}\n";
    node.set_pipeline("svcs", hcl);
    node.trigger("svcs", "it");
    auto b = node.wait_build("svcs", "it", "1", 60s);
    REQUIRE_MESSAGE(b["status"] == "succeeded", all_logs(b));
    std::vector<std::string> steps;
    for (const auto& s : b["steps"]) steps.push_back(s["name"].get<std::string>());
    auto at = [&](const std::string& n) {
      return std::find(steps.begin(), steps.end(), n) - steps.begin();
    };
    CHECK(steps.size() == 3 * all.size() + 1);
    for (const auto& svc : all) {
      INFO(names_of(b["steps"]));
      CHECK(at(svc + ":start") < at(svc + ":ready"));
      CHECK(at(svc + ":ready") < at("t"));
      CHECK(at("t") < at(svc + ":stop"));
      CHECK(at(svc + ":stop") < static_cast<std::ptrdiff_t>(steps.size()));
    }

    auto calls = dir.lines("calls");
    auto find_call = [&](const std::string& prefix) {
      auto it = std::find_if(calls.begin(), calls.end(),
                             [&](const std::string& c) { return c.rfind(prefix, 0) == 0; });
      return it == calls.end() ? std::string{} : *it;
    };
    for (const auto& svc : all) {
      std::string name = "pikoci-svcs-it-" + svc;
      INFO(svc);
      auto run = find_call("run -d --name " + name + " -p 127.0.0.1:");
      CHECK_FALSE(run.empty());
      CHECK(!find_call("exec " + name + " ").empty());
      // started, checked, removed in that order; nothing left running
      auto pos = [&](const std::string& prefix) {
        return std::find_if(calls.begin(), calls.end(),
                            [&](const std::string& c) { return c.rfind(prefix, 0) == 0; }) -
               calls.begin();
      };
      CHECK(pos("run -d --name " + name) < pos("exec " + name));
      CHECK(pos("rm -f " + name) < pos("run -d --name " + name));  // a leftover removed first
      CHECK(std::count(calls.begin(), calls.end(), "rm -f " + name) == 2);
    }
    CHECK(find_call("run -d --name pikoci-svcs-it-postgresql") ==
          "run -d --name pikoci-svcs-it-postgresql -p 127.0.0.1:15432:5432 -e "
          "POSTGRES_PASSWORD=s3cret -e POSTGRES_DB=postgres postgres:15");
    CHECK(find_call("run -d --name pikoci-svcs-it-redis") ==
          "run -d --name pikoci-svcs-it-redis -p 127.0.0.1:6379:6379 redis:7");
    CHECK(find_call("exec pikoci-svcs-it-redis") == "exec pikoci-svcs-it-redis redis-cli ping");
    CHECK(find_call("exec pikoci-svcs-it-postgresql") ==
          "exec pikoci-svcs-it-postgresql pg_isready -h 127.0.0.1 -U postgres -d postgres");
    CHECK(dir.read("running").empty());
  }
}
