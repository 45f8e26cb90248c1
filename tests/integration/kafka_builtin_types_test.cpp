// Built-in types and fetched definitions on a remote worker over a real Kafka broker: a service
// whose definition came from a URL when the pipeline was set, and the github-check notification
// type (a `pikoci-node builtin` handler run by the worker's own binary) against a local fake
// GitHub API.
#include <doctest/doctest.h>

#include "tests/support/fake_github.hpp"
#include "tests/support/kafka_broker.hpp"
#include "tests/support/kafka_nodes.hpp"
#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

TEST_SUITE("kafka.builtin_types") {
  TEST_CASE("a URL-sourced service and github-check notifications run on a remote worker") {
    auto& broker = kafka_broker::shared();
    kafka_server server(broker.bootstrap());
    worker_proc worker(server, "w1");
    http_receiver api, defs;
    play_github(api);
    defs.answer_with([](const received_request& r) -> std::pair<int, std::string> {
      if (r.path != "/echo.hcl") return {404, "no"};
      return {200,
              "start \"shell\" {\n  cmd = \"echo fetched\"\n}\nstop \"shell\" {\n  cmd = "
              "\"echo bye\"\n}\n"};
    });
    auto key = rsa_key();
    std::string params =
        "  params {\n    app_id = \"5\"\n    installation_id = \"77\"\n"
        "    private_key = var.key\n    repository = \"acme/app\"\n"
        "    api_url = \"" +
        api.url("") + "\"\n  }\n";
    std::string hcl =
        "variable \"key\" {\n  type = string\n}\n"
        "service_type \"echo\" {\n  source = \"" +
        defs.url("/echo.hcl") +
        "\"\n}\n"
        "notification \"github-check\" \"pr\" {\n" +
        params +
        "}\n"
        "job \"j\" {\n  service \"echo\" {}\n"
        "  task \"checkout\" {\n    run \"shell\" {\n      cmd = \"git init -q src && git -C src "
        "-c "
        "user.name=t -c user.email=t@example.com commit -q --allow-empty -m one\"\n    }\n  }\n"
        "  notify \"github-check\" \"pr\" {\n    status = \"in_progress\"\n  }\n"
        "  on_success {\n    notify \"github-check\" \"pr\" {\n      conclusion = \"success\"\n"
        "    }\n  }\n}\n";
    auto set = server->put(
        "/pipelines/p", json{{"config", hcl}, {"vars", {{"key", private_pem(key.get())}}}}.dump());
    REQUIRE_MESSAGE(set.status == 201, set.body);
    CHECK(defs.requests().size() == 1);  // fetched when set, never by the worker
    server->trigger("p", "j");
    auto b = server->wait_build("p", "j", "1", 60s);
    REQUIRE_MESSAGE(b["status"] == "succeeded", all_logs(b));
    CHECK(b["worker"] == "w1");
    CHECK(step_logs(b, "echo:start") == "fetched\n");
    auto calls = api.requests();
    REQUIRE(calls.size() == 4);
    CHECK(signed_by(calls[0].headers["authorization"].substr(7), key.get()));
    CHECK(calls[1].path == "/repos/acme/app/check-runs");
    CHECK(calls[3].method == "PATCH");
    CHECK(calls[3].path == "/repos/acme/app/check-runs/901");
    CHECK(json::parse(calls[3].body)["conclusion"] == "success");
    CHECK(defs.requests().size() == 1);
  }
}
