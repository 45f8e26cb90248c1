// `pikoci-node client` covers the API (docs/client.md): the commands for jobs, resources,
// versions, notifications, stats, events, cluster, health and the git webhook secret, against a
// real node; `--json` on every read command; typo suggestions; help texts that speak only of
// the product.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/support/http_receiver.hpp"
#include "tests/support/pipeline_fixture.hpp"
#include "tests/support/process.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// `hello` gets the timer without a trigger, so builds come only from the commands below.
const char* const coverage_hcl = R"(resource "cron" "timer" {
  check_interval = "@every 1h"
}

job "hello" {
  get "cron" "timer" {}
  task "say" {
    run "shell" {
      cmd = "echo hi"
    }
  }
}
)";

bool has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

/// The client against `node` with its admin token.
command_result client(runtime_node& node, std::vector<std::string> args,
                      std::chrono::milliseconds timeout = 20s) {
  std::vector<std::string> argv{node_binary(),       "client",  "--url",
                                node.server().url(), "--token", node.token()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, timeout);
}

/// The client's output parsed as JSON (discarded when it is not).
json json_of(const command_result& r) {
  return json::parse(r.output, nullptr, false);
}

/// The subcommands listed by a CLI11 `--help` (the words starting the lines below
/// "Subcommands:").
std::vector<std::string> subcommands_in(const std::string& help) {
  std::vector<std::string> out;
  std::istringstream in(help);
  bool listing = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Subcommands:", 0) == 0) {
      listing = true;
      continue;
    }
    if (!listing) continue;
    if (line.empty() || line[0] != ' ') break;
    std::istringstream words(line);
    std::string word;
    if (words >> word) out.push_back(word);
  }
  return out;
}

/// A usage error: exit 2 and one line.
void check_one_line_usage(const command_result& r, const std::string& needle) {
  CHECK_MESSAGE(r.exit_code == 2, r.output);
  CHECK_MESSAGE(has(r.output, needle), r.output);
  CHECK_MESSAGE(std::count(r.output.begin(), r.output.end(), '\n') == 1, r.output);
}

}  // namespace

TEST_SUITE("integration.client") {
  TEST_CASE("jobs, resources, versions and trigger-with-version from the client") {
    runtime_node node;
    REQUIRE(node.set_pipeline("p", coverage_hcl).status == 201);

    auto jobs = client(node, {"jobs", "list", "p"});
    CHECK_MESSAGE(jobs.exit_code == 0, jobs.output);
    CHECK_MESSAGE(has(jobs.output, "hello  active  no builds"), jobs.output);
    auto job = client(node, {"jobs", "get", "p", "hello"});
    CHECK_MESSAGE(job.exit_code == 0, job.output);
    for (const char* w : {"job hello  active", "plan:", "get timer", "task say"})
      CHECK_MESSAGE(has(job.output, w), w, "\n", job.output);

    auto resources = client(node, {"resources", "list", "p"});
    CHECK_MESSAGE(resources.exit_code == 0, resources.output);
    CHECK_MESSAGE(has(resources.output, "cron.timer  interval "), resources.output);

    auto added = client(node, {"resources", "add-version", "p", "timer", "ref=abc", "n=1"});
    REQUIRE_MESSAGE(added.exit_code == 0, added.output);
    auto listed = json_of(client(node, {"--json", "resources", "versions", "p", "timer"}));
    REQUIRE_MESSAGE(listed["versions"].is_array(), listed.dump());
    json version;
    for (const auto& v : listed["versions"])
      if (v["version"] == json{{"ref", "abc"}, {"n", "1"}}) version = v;
    REQUIRE_MESSAGE(version.is_object(), listed.dump());
    std::string id = std::to_string(version["id"].get<long long>());
    CHECK(added.output == "version " + id + " of timer: {\"n\":\"1\",\"ref\":\"abc\"}\n");

    auto triggered = client(node, {"resources", "trigger", "p", "timer", id});
    REQUIRE_MESSAGE(triggered.exit_code == 0, triggered.output, "\n", node.tail());
    CHECK_MESSAGE(triggered.output.rfind("hello #1 ", 0) == 0, triggered.output);
    auto build = node.wait_build("p", "hello", "1");
    CHECK(build["trigger"]["type"] == "version");
    auto unknown = client(node, {"resources", "trigger", "p", "timer", "999999"});
    CHECK(unknown.exit_code == 1);
    CHECK_MESSAGE(has(unknown.output, "not_found"), unknown.output);

    // the build's line carries its start time, on one line
    auto lines = client(node, {"builds", "list", "p", "hello"});
    CHECK_MESSAGE(has(lines.output, "hello #1 "), lines.output);
    CHECK_MESSAGE(has(lines.output, "  started 20"), lines.output);
    CHECK(std::count(lines.output.begin(), lines.output.end(), '\n') == 1);
    CHECK_MESSAGE(has(client(node, {"jobs", "list", "p"}).output, "last: hello #1 "), "");
  }

  TEST_CASE("the git webhook secret is set from standard input or --value, and deleted") {
    runtime_node node;
    REQUIRE(node.set_pipeline("p", coverage_hcl).status == 201);
    auto set = client(node, {"pipelines", "set-webhook-secret", "p", "--value", "s3cr3t-value"});
    CHECK_MESSAGE(set.exit_code == 0, set.output);
    CHECK(set.output == "pipeline \"p\": git webhook secret set\n");
    CHECK(node.get("/pipelines/p").json()["pipeline"]["git_webhook"]["secret_set"] == true);
    auto del = client(node, {"--json", "pipelines", "delete-webhook-secret", "p"});
    CHECK_MESSAGE(del.exit_code == 0, del.output);
    CHECK(json_of(del) == json::object());  // 204: an empty object, still JSON
    CHECK(node.get("/pipelines/p").json()["pipeline"]["git_webhook"]["secret_set"] == false);
  }

  TEST_CASE("notifications list and retry") {
    http_receiver receiver;
    receiver.fail_next(1, 503);
    runtime_node node({"--notify-backoff-base", "20ms", "--notify-max-attempts", "1"});
    std::string hcl = std::string(coverage_hcl) + R"(
notification "http" "hook" {
  params { url = ")" + receiver.url("/hook") +
                      R"(" }
  message = "done"
  on = ["all"]
}
)";
    REQUIRE(node.set_pipeline("n", hcl).status == 201);
    auto v = node.post("/pipelines/n/resources/timer/versions", R"({"version":{"ref":"a"}})");
    REQUIRE_MESSAGE(v.status == 201, v.body);
    auto id = std::to_string(v.json()["version"]["id"].get<long long>());
    REQUIRE(node.post("/pipelines/n/resources/timer/versions/" + id + "/trigger").status == 201);
    command_result failed;
    REQUIRE_MESSAGE(eventually([&] {
                      failed = client(node, {"notifications", "list", "--status", "failed"});
                      return has(failed.output, " failed ");
                    }),
                    failed.output, "\n", node.tail());
    for (const char* w : {"n/hello #1", "http.hook", "attempts 1", "last error: HTTP status 503"})
      CHECK_MESSAGE(has(failed.output, w), w, "\n", failed.output);
    auto listed = json_of(client(node, {"--json", "notifications", "list", "--limit", "5"}));
    REQUIRE_MESSAGE(listed["notifications"].size() == 1, listed.dump());
    std::string nid = listed["notifications"][0]["id"];

    auto retried = client(node, {"notifications", "retry", nid});
    CHECK_MESSAGE(retried.exit_code == 0, retried.output);
    CHECK(retried.output == "notification " + nid + " pending\n");
    CHECK(eventually([&] {
      return has(client(node, {"notifications", "list", "--status", "delivered"}).output,
                 nid + "  delivered  n/hello #1");
    }));
    auto again = client(node, {"notifications", "retry", nid});
    CHECK(again.exit_code == 1);
    CHECK_MESSAGE(has(again.output, "conflict"), again.output);
    check_one_line_usage(client(node, {"notifications", "list", "--status", "lost"}), "--status");
  }

  TEST_CASE("stats, health and version") {
    runtime_node node;
    auto stats = client(node, {"stats"});
    CHECK_MESSAGE(stats.exit_code == 0, stats.output);
    for (const char* w : {"queue: 0 pending, in flight 0/10", "workers: 1 of 1 healthy",
                          "trigger to start: no build started yet", "group contention: "})
      CHECK_MESSAGE(has(stats.output, w), w, "\n", stats.output);
    auto health = client(node, {"health"});
    CHECK_MESSAGE(health.exit_code == 0, health.output);
    CHECK_MESSAGE(health.output.rfind("ok  db mem  pubsub mem  workers 1", 0) == 0, health.output);
    auto version = client(node, {"version"});
    CHECK_MESSAGE(version.exit_code == 0, version.output);
    CHECK_MESSAGE(version.output.rfind("pikoci-node ", 0) == 0, version.output);
    CHECK(has(version.output, "(commit "));
  }

  TEST_CASE("cluster on a single node: the API and the client say it is not in a cluster") {
    runtime_node node;
    auto r = node.get("/cluster");
    REQUIRE_MESSAGE(r.status == 200, r.body);
    CHECK(r.json() == json::parse(R"({"mode":"single","cluster":null,"members":[],
                                      "partitions":[]})"));
    auto text = client(node, {"cluster"});
    CHECK_MESSAGE(text.exit_code == 0, text.output);
    CHECK(text.output == "single node (not part of a cluster)\n");
    auto as_json = client(node, {"--json", "cluster"});
    CHECK_MESSAGE(as_json.exit_code == 0, as_json.output);
    CHECK(json_of(as_json) == r.json());
  }

  TEST_CASE("events prints every build's status changes until --limit") {
    runtime_node node;
    REQUIRE(node.set_pipeline("p", coverage_hcl).status == 201);
    // the resources' first checks are over before the streams open: their `resource` events
    // would otherwise come first on the JSON stream, which prints every event
    REQUIRE(eventually([&] {
      auto rs = node.get("/pipelines/p/resources").json()["resources"];
      if (!rs.is_array()) return false;
      for (const auto& r : rs)
        if (r.value("checking", true) || r.value("last_check_at", json()).is_null()) return false;
      return true;
    }));
    auto v = node.post("/pipelines/p/resources/timer/versions", R"({"version":{"ref":"a"}})");
    REQUIRE_MESSAGE(v.status == 201, v.body);
    auto id = std::to_string(v.json()["version"]["id"].get<long long>());
    // a line per status change (pending, started, the end), three in all
    child_process events({node_binary(), "client", "--url", node.server().url(), "--token",
                          node.token(), "events", "--limit", "3"});
    child_process as_json({node_binary(), "client", "--url", node.server().url(), "--token",
                           node.token(), "--json", "events", "--limit", "1"});
    // The streams open some time after the processes start: trigger builds until both ended.
    std::optional<int> code, json_code;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while ((!code || !json_code) && std::chrono::steady_clock::now() < deadline) {
      REQUIRE(node.post("/pipelines/p/resources/timer/versions/" + id + "/trigger").status == 201);
      if (!code) code = events.wait_exit(1s);
      if (!json_code) json_code = as_json.wait_exit(100ms);
    }
    std::string out = events.output();
    REQUIRE_MESSAGE(code.has_value(), out);
    CHECK_MESSAGE(*code == 0, out);
    CHECK_MESSAGE(std::count(out.begin(), out.end(), '\n') == 3, out);
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);)
      CHECK_MESSAGE(line.rfind("p/hello #", 0) == 0, out);
    REQUIRE_MESSAGE(json_code.has_value(), as_json.output());
    CHECK(*json_code == 0);
    auto line = json::parse(as_json.output(), nullptr, false);
    CHECK_MESSAGE(line["event"] == "build", as_json.output());
    CHECK(line["data"]["pipeline"] == "p");
  }

  TEST_CASE("--json prints JSON for every read command") {
    runtime_node node;
    REQUIRE(node.set_pipeline("p", coverage_hcl).status == 201);
    // the resources' first checks are over before the streams open: their `resource` events
    // would otherwise come first on the JSON stream, which prints every event
    REQUIRE(eventually([&] {
      auto rs = node.get("/pipelines/p/resources").json()["resources"];
      if (!rs.is_array()) return false;
      for (const auto& r : rs)
        if (r.value("checking", true) || r.value("last_check_at", json()).is_null()) return false;
      return true;
    }));
    auto v = node.post("/pipelines/p/resources/timer/versions", R"({"version":{"ref":"a"}})");
    REQUIRE_MESSAGE(v.status == 201, v.body);
    auto id = std::to_string(v.json()["version"]["id"].get<long long>());
    REQUIRE(node.post("/pipelines/p/resources/timer/versions/" + id + "/trigger").status == 201);
    node.wait_build("p", "hello", "1");
    const std::vector<std::vector<std::string>> reads{
        {"pipelines", "list"},
        {"pipelines", "get", "p"},
        {"jobs", "list", "p"},
        {"jobs", "get", "p", "hello"},
        {"builds", "list"},
        {"builds", "list", "p"},
        {"builds", "list", "p", "hello"},
        {"builds", "get", "p", "hello", "1"},
        {"builds", "logs", "p", "hello", "1"},
        {"builds", "plan", "p", "hello", "1"},
        {"resources", "list", "p"},
        {"resources", "versions", "p", "timer"},
        {"secrets", "list"},
        {"secrets", "list", "--pipeline", "p"},
        {"users", "list"},
        {"queue"},
        {"workers"},
        {"notifications", "list"},
        {"stats"},
        {"cluster"},
        {"health"},
        {"version"},
    };
    for (const auto& args : reads) {
      std::vector<std::string> with_json{"--json"};
      with_json.insert(with_json.end(), args.begin(), args.end());
      auto r = client(node, with_json);
      std::string typed;
      for (const auto& a : args) typed += a + " ";
      CHECK_MESSAGE(r.exit_code == 0, typed, "\n", r.output);
      CHECK_MESSAGE(json_of(r).is_object(), typed, "\n", r.output);
    }
    // the build stream as JSON lines
    auto follow = client(node, {"--json", "builds", "logs", "p", "hello", "1", "--follow"});
    CHECK(follow.exit_code == 0);
    std::istringstream in(follow.output);
    for (std::string line; std::getline(in, line);)
      CHECK_MESSAGE(json::parse(line, nullptr, false).is_object(), line);
  }

  TEST_CASE("a mistyped group or verb is exit 2 with the nearest command") {
    auto c = [](std::vector<std::string> args) {
      args.insert(args.begin(), {node_binary(), "client", "--url", "http://127.0.0.1:1"});
      return run_command(args, 10s);
    };
    check_one_line_usage(c({"pipeline", "lst"}), "did you mean `client pipelines list`?");
    check_one_line_usage(c({"pipelines", "lst"}), "did you mean `client pipelines list`?");
    check_one_line_usage(c({"--json", "build", "list", "--limit", "3"}),
                         "did you mean `client builds list`?");
    check_one_line_usage(c({"notification", "ls"}), "did you mean `client notifications list`?");
    check_one_line_usage(c({"queu"}), "did you mean `client queue`?");
    check_one_line_usage(c({"stat"}), "did you mean `client stats`?");
    check_one_line_usage(c({"jobs", "trigge", "p", "j"}), "did you mean `client jobs trigger`?");
    check_one_line_usage(c({"resources", "frobnicate"}), "client resources takes list, check");
    check_one_line_usage(c({"zzzzzz"}), "unknown command \"zzzzzz\"");
  }

  TEST_CASE("help texts speak of the product only: no SPEC, section signs, issues or seeds") {
    std::vector<std::vector<std::string>> pages{
        {"--help"},          {"--role", "worker", "--help"}, {"validate", "--help"},
        {"run", "--help"},   {"worker-token", "--help"},     {"user-token", "--help"},
        {"client", "--help"}};
    auto groups = subcommands_in(run_command({node_binary(), "client", "--help"}).output);
    CHECK(groups.size() >= 15);
    for (const auto& g : groups) {
      pages.push_back({"client", g, "--help"});
      for (const auto& v :
           subcommands_in(run_command({node_binary(), "client", g, "--help"}).output))
        pages.push_back({"client", g, v, "--help"});
    }
    CHECK(pages.size() > 60);
    for (auto args : pages) {
      std::string typed;
      for (const auto& a : args) typed += a + " ";
      args.insert(args.begin(), node_binary());
      auto r = run_command(args, 10s);
      CHECK_MESSAGE(r.exit_code == 0, typed, "\n", r.output);
      std::string lower = r.output;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      for (const char* word : {"spec", "\xc2\xa7", "issue", "seed"})
        CHECK_MESSAGE(!has(lower, word), typed, "mentions ", word, ":\n", r.output);
    }
  }

  TEST_CASE("jobs trigger --help explains --input and --arg") {
    auto help = run_command({node_binary(), "client", "jobs", "trigger", "--help"});
    CHECK(help.exit_code == 0);
    CHECK_MESSAGE(has(help.output, "$INPUT_"), help.output);
    CHECK_MESSAGE(has(help.output, ".Args"), help.output);
  }
}
