// The github-check resource type and notification type against a local server playing the
// GitHub API: the app JWT is exchanged for an installation token, a check run is created on the
// commit of the build's git checkout, then completed with the build's conclusion.
#include <doctest/doctest.h>

#include "tests/support/fake_github.hpp"
#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

std::string params(const std::string& api) {
  return "  params {\n    app_id = \"123\"\n    installation_id = \"77\"\n    private_key = "
         "var.key\n"
         "    repository = \"acme/app\"\n    base_url = \"https://ci.example.com/\"\n"
         "    api_url = \"" +
         api + "\"\n  }\n";
}

// A task that makes a git checkout in the work directory and prints its commit.
const char* const checkout =
    "  task \"checkout\" {\n    run \"shell\" {\n      cmd = \"git init -q src && git -C src -c "
    "user.name=t -c user.email=t@example.com commit -q --allow-empty -m one && git -C src "
    "rev-parse HEAD\"\n    }\n  }\n";

std::string pipeline(const std::string& api) {
  return "variable \"key\" {\n  type = string\n}\n"
         "resource \"github-check\" \"ci\" {\n" +
         params(api) +
         "}\n"
         "notification \"github-check\" \"pr\" {\n" +
         params(api) +
         "}\n"
         "notification \"github-check\" \"auto\" {\n  on = [\"all\"]\n  jobs = [\"auto\"]\n" +
         params(api) +
         "}\n"
         "job \"res\" {\n" +
         checkout +
         "  put \"github-check\" \"ci\" {\n    status = \"in_progress\"\n  }\n"
         "  on_success {\n    put \"github-check\" \"ci\" {\n      conclusion = \"success\"\n    "
         "}\n"
         "  }\n}\n"
         "job \"notif\" {\n" +
         checkout +
         "  notify \"github-check\" \"pr\" {\n    status = \"in_progress\"\n    name = \"lint\"\n  "
         "}\n"
         "  task \"fail\" {\n    run \"exec\" {\n      path = \"false\"\n    }\n  }\n"
         "  on_failure {\n    notify \"github-check\" \"pr\" {\n      conclusion = \"failure\"\n"
         "      name = \"lint\"\n    }\n  }\n}\n"
         "job \"auto\" {\n" +
         checkout + "  notify \"github-check\" \"auto\" {\n    status = \"in_progress\"\n  }\n}\n";
}

/// The API calls made since `from`, as "METHOD PATH".
std::vector<received_request> since(const http_receiver& api, std::size_t from) {
  auto all = api.requests();
  return {all.begin() + static_cast<std::ptrdiff_t>(from), all.end()};
}

}  // namespace

TEST_SUITE("integration.github_check") {
  TEST_CASE("github-check: check runs created on the checkout's commit, then completed") {
    auto key = rsa_key();
    http_receiver api;
    play_github(api);
    runtime_node node;
    auto set = node.put("/pipelines/gh", json{{"config", pipeline(api.url(""))},
                                              {"vars", {{"key", private_pem(key.get())}}}}
                                             .dump());
    REQUIRE_MESSAGE(set.status == 201, set.body);

    // the resource type: put in_progress, then put a conclusion in on_success
    node.trigger("gh", "res");
    auto b = node.wait_build("gh", "res", "1", 30s);
    REQUIRE_MESSAGE(b["status"] == "succeeded", all_logs(b));
    std::string sha = step_logs(b, "checkout");
    sha = sha.substr(0, sha.find('\n'));
    REQUIRE(sha.size() == 40);
    auto calls = since(api, 0);
    REQUIRE(calls.size() == 4);
    CHECK(calls[0].method == "POST");
    CHECK(calls[0].path == "/app/installations/77/access_tokens");
    auto bearer = calls[0].headers["authorization"];
    REQUIRE(bearer.rfind("Bearer ", 0) == 0);
    std::string jwt = bearer.substr(7);
    CHECK(signed_by(jwt, key.get()));
    auto claims =
        json::parse(unbase64url(jwt.substr(jwt.find('.') + 1, jwt.rfind('.') - jwt.find('.') - 1)));
    CHECK(claims["iss"] == "123");
    CHECK(claims["exp"].get<long>() - claims["iat"].get<long>() == 600);
    CHECK(calls[1].method == "POST");
    CHECK(calls[1].path == "/repos/acme/app/check-runs");
    CHECK(calls[1].headers["authorization"] == "token ghs_installation");
    CHECK(
        json::parse(calls[1].body) ==
        json{{"name", "gh/res"},
             {"head_sha", sha},
             {"status", "in_progress"},
             {"details_url", "https://ci.example.com/teams/main/pipelines/gh/jobs/res/builds/1"}});
    CHECK(step_logs(b, "ci").find("created check run 901") != std::string::npos);
    CHECK(calls[2].path == "/app/installations/77/access_tokens");
    CHECK(calls[3].method == "PATCH");
    CHECK(calls[3].path == "/repos/acme/app/check-runs/901");
    CHECK(
        json::parse(calls[3].body) ==
        json{{"status", "completed"},
             {"conclusion", "success"},
             {"details_url", "https://ci.example.com/teams/main/pipelines/gh/jobs/res/builds/1"}});

    // the notification type: notify steps and hooks, a failing build completes it as failure
    node.trigger("gh", "notif");
    auto n = node.wait_build("gh", "notif", "1", 30s);
    CHECK_MESSAGE(n["status"] == "failed", all_logs(n));
    auto ncalls = since(api, 4);
    REQUIRE_MESSAGE(ncalls.size() == 4, all_logs(n));
    CHECK(json::parse(ncalls[1].body)["name"] == "lint");
    CHECK(ncalls[3].path == "/repos/acme/app/check-runs/902");
    CHECK(json::parse(ncalls[3].body)["conclusion"] == "failure");

    // an automatic notification (on = ["all"]) completes it from the build's status
    node.trigger("gh", "auto");
    auto a = node.wait_build("gh", "auto", "1", 30s);
    CHECK_MESSAGE(a["status"] == "succeeded", all_logs(a));
    REQUIRE(eventually([&] { return api.requests().size() == 12; }, 10s));
    auto acalls = since(api, 8);
    CHECK(acalls[3].path == "/repos/acme/app/check-runs/903");
    CHECK(json::parse(acalls[3].body)["conclusion"] == "success");
  }

  TEST_CASE("github-check: API failures fail the step with the cause") {
    auto key = rsa_key();
    http_receiver api;
    api.answer_with([](const received_request&) -> std::pair<int, std::string> {
      return {401, R"({"message":"Bad credentials"})"};
    });
    runtime_node node;
    auto set = node.put("/pipelines/gh", json{{"config", pipeline(api.url(""))},
                                              {"vars", {{"key", private_pem(key.get())}}}}
                                             .dump());
    REQUIRE_MESSAGE(set.status == 201, set.body);
    node.trigger("gh", "res");
    auto b = node.wait_build("gh", "res", "1", 30s);
    CHECK(b["status"] == "failed");
    auto log = step_logs(b, "ci");
    CHECK_MESSAGE(log.find("installation token: POST") != std::string::npos, log);
    CHECK_MESSAGE(log.find("HTTP status 401") != std::string::npos, log);
  }
}
