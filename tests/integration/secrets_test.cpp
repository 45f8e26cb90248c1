// The node's secrets (JWT key, admin password) are out of reach of builds: passed as flags,
// environment variables or files, a task that reads the node's command line and environment
// from /proc (and every process's it can see) finds neither.
#include <doctest/doctest.h>

#include <regex>

#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

const std::string jwt_secret = "jwt-Zq81-secret-value";
const std::string admin_password = "admin-Pw93-secret-value";
const std::string store_key = "store-Key71-secret-value";

/// A task that prints what a build can read about the node: its command line and environment
/// ($PPID, each of its threads), its own environment, and those of every process in /proc.
const char* snooping_pipeline = R"(
job "snoop" {
  task "read" {
    run "shell" {
      cmd = "echo parent=$PPID; for f in /proc/$PPID/cmdline /proc/$PPID/environ /proc/$PPID/task/*/cmdline /proc/$PPID/task/*/environ /proc/self/environ /proc/[0-9]*/cmdline /proc/[0-9]*/environ; do tr '\\000' '\\n' < $f 2>/dev/null || true; done; env; echo snoop-done"
    }
  }
}
)";

/// A server started with `args` and `env` (no secret added), ready, with a login token.
struct secret_node {
  std::unique_ptr<child_process> proc;
  std::string url, token;

  secret_node(const std::vector<std::string>& extra,
              const std::map<std::string, std::string>& env) {
    std::vector<std::string> args{node_binary(), "--role", "server", "--host",
                                  "127.0.0.1",   "--port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    proc = std::make_unique<child_process>(args, env);
    auto line = proc->wait_for_line("event=node.ready", 20s);
    REQUIRE_MESSAGE(line, proc->tail());
    std::smatch m;
    REQUIRE(std::regex_search(*line, m, std::regex(" port=([0-9]+)")));
    url = "http://127.0.0.1:" + std::string(m[1]) + "/api/v1";
    auto login = http_request("POST", url + "/login",
                              json{{"username", "admin"}, {"password", admin_password}}.dump(),
                              {{"Content-Type", "application/json"}});
    REQUIRE_MESSAGE(login.status == 200, login.body, "\n", proc->tail());
    token = login.json()["token"].get<std::string>();
  }

  http_response call(const std::string& method, const std::string& path, const std::string& body) {
    std::map<std::string, std::string> h{{"Authorization", "Bearer " + token}};
    if (!body.empty()) h["Content-Type"] = "application/json";
    return http_request(method, url + path, body, h);
  }

  /// Runs the snooping job and returns what it printed.
  std::string snoop() {
    auto set = call("PUT", "/pipelines/s", config_body(snooping_pipeline));
    REQUIRE_MESSAGE((set.status == 201 || set.status == 200), set.body);
    auto trig = call("POST", "/pipelines/s/jobs/snoop/trigger", "");
    REQUIRE_MESSAGE(trig.status == 201, trig.body);
    json build;
    REQUIRE_MESSAGE(eventually(
                        [&] {
                          auto r = call("GET", "/pipelines/s/jobs/snoop/builds/1", "");
                          if (r.status != 200) return false;
                          build = r.json()["build"];
                          return is_finished(build);
                        },
                        30s),
                    proc->tail());
    CHECK(build["status"] == "succeeded");
    return all_logs(build);
  }
};

/// The log proves that the node's command line and environment were read, and holds neither
/// secret.
void check_no_secret(const std::string& log) {
  REQUIRE_MESSAGE(log.find("snoop-done") != std::string::npos, log);
  CHECK_MESSAGE(log.find("PIKOCI_SNOOP_MARK=visible") != std::string::npos, log);  // environ read
  CHECK_MESSAGE(log.find("--role") != std::string::npos, log);                     // cmdline read
  CHECK_MESSAGE(log.find(jwt_secret) == std::string::npos, log);
  CHECK_MESSAGE(log.find(admin_password) == std::string::npos, log);
  CHECK_MESSAGE(log.find(store_key) == std::string::npos, log);
}

}  // namespace

TEST_SUITE("secrets") {
  TEST_CASE("secrets given as flags are not readable by builds") {
    secret_node node({"--jwt-secret", jwt_secret, "--admin-password=" + admin_password,
                      "--secret-key", store_key},
                     {{"PIKOCI_SNOOP_MARK", "visible"}});
    check_no_secret(node.snoop());
  }

  TEST_CASE("secrets given as environment variables are not readable by builds") {
    secret_node node({}, {{"PIKOCI_SNOOP_MARK", "visible"},
                          {"JWT_SECRET", jwt_secret},
                          {"ADMIN_PASSWORD", admin_password},
                          {"PIKOCI_SECRET_KEY", store_key}});
    check_no_secret(node.snoop());
  }

  TEST_CASE("secrets read from files (flags and *_FILE variables) are not readable by builds") {
    temp_dir dir;
    dir.write("jwt", jwt_secret + "\n");
    dir.write("admin", admin_password);
    SUBCASE("flags") {
      secret_node node(
          {"--jwt-secret-file", dir.file("jwt"), "--admin-password-file", dir.file("admin")},
          {{"PIKOCI_SNOOP_MARK", "visible"}});
      check_no_secret(node.snoop());
      // the file's secret is the one in use: a token signed with it is accepted
      auto token = run_command({node_binary(), "--jwt-secret-file", dir.file("jwt"), "user-token"});
      REQUIRE(token.exit_code == 0);
      auto r = http_request(
          "GET", node.url + "/pipelines", "",
          {{"Authorization", "Bearer " + token.output.substr(0, token.output.find('\n'))}});
      CHECK(r.status == 200);
    }
    SUBCASE("environment variables") {
      secret_node node({}, {{"PIKOCI_SNOOP_MARK", "visible"},
                            {"JWT_SECRET_FILE", dir.file("jwt")},
                            {"ADMIN_PASSWORD_FILE", dir.file("admin")}});
      check_no_secret(node.snoop());
    }
  }

  TEST_CASE("secret files that cannot be used are usage errors naming the file") {
    temp_dir dir;
    dir.write("empty", "\n");
    auto missing = run_command({node_binary(), "--jwt-secret-file", dir.file("nope")});
    CHECK(missing.exit_code == 2);
    CHECK_MESSAGE(missing.output.find(dir.file("nope")) != std::string::npos, missing.output);
    auto empty = run_command({node_binary(), "--jwt-secret-file", dir.file("empty")});
    CHECK(empty.exit_code == 2);
    CHECK_MESSAGE(empty.output.find("empty") != std::string::npos, empty.output);
    auto both =
        run_command({node_binary(), "--jwt-secret", "x", "--jwt-secret-file", dir.file("empty")});
    CHECK(both.exit_code == 2);
    CHECK_MESSAGE(both.output.find("not both") != std::string::npos, both.output);
    auto worker =
        run_command({node_binary(), "--role", "worker", "--pubsub-system", "kafka",
                     "--kafka-brokers", "127.0.0.1:1", "--worker-token-file", dir.file("nope")});
    CHECK(worker.exit_code == 2);
    CHECK_MESSAGE(worker.output.find(dir.file("nope")) != std::string::npos, worker.output);
  }
}
