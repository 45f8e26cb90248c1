// A new user's first hour with the node: the generated admin password kept across restarts of a
// RocksDB node, credentials printed only once the node listens (the node and `make run` on a
// busy port), `--version`, a misspelt key in a --config file, and `make run` installing only what
// running needs.
#include <doctest/doctest.h>

#include <unistd.h>

#include <csignal>
#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/pipeline_fixture.hpp"
#include "tests/support/process.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

/// POST /login as admin: the HTTP status.
int admin_login(const std::string& url, const std::string& password) {
  return http_request("POST", url + "/api/v1/login",
                      json{{"username", "admin"}, {"password", password}}.dump(),
                      {{"Content-Type", "application/json"}})
      .status;
}

/// The generated password in a node's output; "" when it printed none.
std::string printed_password(const std::string& output) {
  std::smatch m;
  std::regex re("event=admin\\.password user=admin password=([A-Za-z0-9_-]+)");
  return std::regex_search(output, m, re) ? m[1].str() : std::string();
}

/// Whether anything in `output` looks like a credential: a password, a token, the banner.
bool shows_credentials(const std::string& output) {
  for (const char* c : {"password=", "\"password\"", "PIKOCI_TOKEN", "token=", "Log in:"})
    if (output.find(c) != std::string::npos) return true;
  return false;
}

std::string directory_of(const std::string& path) {
  return path.substr(0, path.rfind('/'));
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

}  // namespace

TEST_SUITE("integration.credentials") {
  TEST_CASE("a RocksDB node keeps its generated admin password across restarts") {
    temp_dir dir;
    std::vector<std::string> args{"--db-system", "rocksdb", "--db-path", dir.file("db")};
    std::string password;
    {
      node_server first(args);
      auto line = first.process().wait_for_line("event=admin.password", 10s);
      REQUIRE_MESSAGE(line.has_value(), first.process().tail());
      CHECK(line->find("source=generated") != std::string::npos);
      CHECK(line->find("restarts keep it") != std::string::npos);
      password = printed_password(first.process().output());
      REQUIRE(password.size() == 24);
      // printed only once the node listens
      auto out = first.process().output();
      CHECK(out.find("event=node.ready") < out.find("event=admin.password"));
      CHECK(admin_login(first.url(), password) == 200);
      REQUIRE(first.process().stop(SIGTERM) == 0);
    }
    node_server second(args);
    auto line = second.process().wait_for_line("event=admin.password", 10s);
    REQUIRE_MESSAGE(line.has_value(), second.process().tail());
    CHECK(line->find("source=stored") != std::string::npos);
    CHECK(printed_password(second.process().output()).empty());
    CHECK(second.process().output().find(password) == std::string::npos);
    CHECK(admin_login(second.url(), password) == 200);
    CHECK(admin_login(second.url(), password + "x") == 401);

    // --admin-password wins over the stored one
    REQUIRE(second.process().stop(SIGTERM) == 0);
    auto given = args;
    given.insert(given.end(), {"--admin-password", "chosen-password"});
    node_server third(given);
    CHECK(admin_login(third.url(), "chosen-password") == 200);
    CHECK(admin_login(third.url(), password) == 401);
  }

  TEST_CASE("a node whose port is taken fails before printing any credential") {
    node_server holder;
    temp_dir dir;
    std::vector<std::string> args{
        node_binary(),  "--host",      "127.0.0.1",   "--port",  std::to_string(holder.port()),
        "--jwt-secret", "test-secret", "--db-system", "rocksdb", "--db-path",
        dir.file("db")};
    auto busy = run_command(args, 30s);
    CHECK(busy.exit_code == 1);
    std::string address = "127.0.0.1:" + std::to_string(holder.port());
    int naming = 0;
    for (const auto& l : lines_of(busy.output))
      if (l.find("level=error") != std::string::npos && l.find(address) != std::string::npos &&
          l.find("in use") != std::string::npos)
        ++naming;
    CHECK_MESSAGE(naming == 1, busy.output);
    CHECK_MESSAGE(!shows_credentials(busy.output), busy.output);

    // nothing was stored: the first start that listens generates and prints the password
    args[4] = "0";
    child_process later(args);
    auto line = later.wait_for_line("event=admin.password", 20s);
    REQUIRE_MESSAGE(line.has_value(), later.tail());
    CHECK(line->find("source=generated") != std::string::npos);
    CHECK(later.stop(SIGTERM) == 0);
  }

  TEST_CASE("make run prints the login and a token once the node listens, none on a busy port") {
    std::string script = source_path("scripts/run-server.sh");
    std::string build_dir = directory_of(node_binary());
    node_server holder;
    auto busy = run_command({script, build_dir, std::to_string(holder.port())}, 30s,
                            {{"ADMIN_PASSWORD", ""}, {"JWT_SECRET", ""}});
    CHECK(busy.exit_code == 1);
    CHECK_MESSAGE(busy.output.find("cannot listen on 0.0.0.0:" + std::to_string(holder.port())) !=
                      std::string::npos,
                  busy.output);
    CHECK_MESSAGE(!shows_credentials(busy.output), busy.output);

    // a free port: the banner after the ready line, and its password logs in
    holder.process().stop(SIGTERM);
    child_process run({script, build_dir, std::to_string(holder.port())},
                      {{"ADMIN_PASSWORD", "run-password-1"}, {"JWT_SECRET", ""}});
    auto login = run.wait_for_line("Log in:", 30s);
    REQUIRE_MESSAGE(login.has_value(), run.tail());
    CHECK(login->find("run-password-1") != std::string::npos);
    auto out = run.output();
    CHECK(out.find("event=node.ready") < out.find("Log in:"));
    REQUIRE(run.wait_for_line("Stop:", 5s).has_value());
    CHECK(run.output().find("PIKOCI_TOKEN=ey") != std::string::npos);
    CHECK(admin_login("http://127.0.0.1:" + std::to_string(holder.port()), "run-password-1") ==
          200);
    CHECK(run.stop(SIGINT) == 0);
  }
}

TEST_SUITE("integration.first_run") {
  TEST_CASE("--version prints the version and the commit it was built from") {
    auto v = run_command({node_binary(), "--version"});
    CHECK(v.exit_code == 0);
    std::smatch m;
    REQUIRE_MESSAGE(std::regex_search(v.output, m,
                                      std::regex("^pikoci-node ([0-9.]+) \\(commit ([^)]+)\\)\n$")),
                    v.output);
    // the same as the running node says
    node_server node;
    auto api = http_get(node.url() + "/api/v1/version").json();
    CHECK(m[1].str() == api["version"].get<std::string>());
    CHECK(m[2].str() == api["commit"].get<std::string>());
    CHECK(run_command({node_binary(), "--role", "worker", "--version"}).output == v.output);
  }

  TEST_CASE("an unknown key in a --config file exits 2 naming it and the nearest flag") {
    temp_dir dir;
    std::ofstream(dir.file("node.toml")) << "jwt-secret = \"s\"\nprot = 8081\n";
    auto typo = run_command({node_binary(), "--config", dir.file("node.toml")});
    CHECK(typo.exit_code == 2);
    CHECK_MESSAGE(lines_of(typo.output).size() == 1, typo.output);
    CHECK(typo.output.find("unknown key \"prot\"") != std::string::npos);
    CHECK(typo.output.find(dir.file("node.toml")) != std::string::npos);
    CHECK(typo.output.find("--port") != std::string::npos);

    std::ofstream(dir.file("far.toml")) << "jwt-secret = \"s\"\nzzzzzzzzzz = 1\n";
    auto far = run_command({node_binary(), "--config", dir.file("far.toml")});
    CHECK(far.exit_code == 2);
    CHECK(far.output.find("unknown key \"zzzzzzzzzz\"") != std::string::npos);

    std::ofstream(dir.file("worker.toml")) << "kafka_brokers = \"127.0.0.1:1\"\n";
    auto worker =
        run_command({node_binary(), "--role", "worker", "--config", dir.file("worker.toml")});
    CHECK(worker.exit_code == 2);
    CHECK(worker.output.find("--kafka-brokers") != std::string::npos);
  }

  TEST_CASE("make run installs only what running needs; make test adds the test toolchain") {
    auto run = run_command({source_path("scripts/install-deps.sh"), "--list", "run"});
    REQUIRE(run.exit_code == 0);
    auto test = run_command({source_path("scripts/install-deps.sh"), "--list", "test"});
    REQUIRE(test.exit_code == 0);
    auto run_list = lines_of(run.output), test_list = lines_of(test.output);
    auto has = [](const std::vector<std::string>& list, const std::string& p) {
      return std::find(list.begin(), list.end(), p) != list.end();
    };
    // the web UI's npm packages as npm:NAME@VERSION: building needs some, the browser tests more
    auto has_npm = [](const std::vector<std::string>& list, const std::string& name) {
      return std::any_of(list.begin(), list.end(), [&](const std::string& line) {
        return line.rfind("npm:" + name + "@", 0) == 0;
      });
    };
    for (const char* p : {"esbuild", "preact", "typescript"})
      CHECK_MESSAGE(has_npm(run_list, p), p);
    for (const char* p : {"playwright-core", "axe-core"}) {
      CHECK_MESSAGE(!has_npm(run_list, p), p);
      CHECK_MESSAGE(has_npm(test_list, p), p);
    }
    for (const char* p : {"cmake", "librocksdb-dev", "git", "nodejs", "npm"})
      CHECK_MESSAGE(has(run_list, p), p);
    for (const char* p : {"postgresql", "postgresql-client", "golang-go", "default-jre-headless",
                          "maven", "python3", "clang-format", "e2fsprogs", "chromium"}) {
      CHECK_MESSAGE(!has(run_list, p), p);
      CHECK_MESSAGE(has(test_list, p), p);
    }
    for (const auto& p : run_list) CHECK_MESSAGE(has(test_list, p), p);
    // the Makefile: `run` goes through the run dependencies and builds the node alone
    std::ifstream makefile(source_path("Makefile"));
    std::string text((std::istreambuf_iterator<char>(makefile)), {});
    CHECK(text.find("run: node\n") != std::string::npos);
    CHECK(text.find("node: run-deps\n") != std::string::npos);
    CHECK(text.find("--target pikoci-node") != std::string::npos);
    CHECK(text.find("install-deps.sh --run") != std::string::npos);
  }
}
