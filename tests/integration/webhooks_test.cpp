// Webhooks through the real binary (issue #8, docs/webhooks.md): resource token webhooks and
// their regeneration, and the per-pipeline git push webhook for GitHub (HMAC-SHA256 over the body)
// and GitLab (the secret as a token): verification, replays by delivery id, checks of every
// resource, and `.Webhook.*` reaching the concurrency group template. The resources' checks count
// their runs in files of the test's directory, so the test sees whether a check ran.
#include <doctest/doctest.h>

#include <csignal>
#include <thread>

#include "tests/support/hmac.hpp"
#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

/// Two resources; the check of `src` counts its runs in `checks` and prints the content of
/// `check`, the one of `other` counts in `other-checks` and finds nothing. The job builds every
/// new version of `src`.
std::string two_resources(const temp_dir& dir) {
  return replace_all(R"(
resource_type "filever" {
  check "shell" {
    cmd = "echo check >> @DIR@/checks; cat @DIR@/check 2>/dev/null || echo '[]'"
  }
}
resource_type "quiet" {
  check "shell" {
    cmd = "echo check >> @DIR@/other-checks; echo '[]'"
  }
}
resource "filever" "src" {
  check_interval = "@every 1h"
}
resource "quiet" "other" {
  check_interval = "@every 1h"
}
job "build" {
  get "filever" "src" {
    trigger = true
  }
  task "show" {
    run "shell" {
      cmd = "echo built"
    }
  }
}
)",
                     "@DIR@", dir.path());
}

const std::string secret = "s3cret-for-tests";

std::string push_body(const std::string& ref) {
  return json{{"ref", ref}, {"after", "0123abc"}, {"repository", {{"name", "demo"}}}}.dump();
}

/// POST /pipelines/{p}/webhooks/git with exactly these headers (no bearer token).
http_response deliver(runtime_node& node, const std::string& pipeline, const std::string& body,
                      std::map<std::string, std::string> headers, const std::string& query = "") {
  headers["Content-Type"] = "application/json";
  return http_request(
      "POST", node.server().url() + "/api/v1/pipelines/" + pipeline + "/webhooks/git" + query, body,
      headers);
}

/// GitHub's headers for `body`, signed with `key`.
std::map<std::string, std::string> github(const std::string& body, const std::string& delivery,
                                          const std::string& key = secret) {
  return {{"X-GitHub-Event", "push"},
          {"X-GitHub-Delivery", delivery},
          {"X-Hub-Signature-256", "sha256=" + hmac_hex(key, body)},
          {"User-Agent", "GitHub-Hookshot/test"}};
}

std::map<std::string, std::string> gitlab(const std::string& token, const std::string& uuid) {
  return {
      {"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Token", token}, {"X-Gitlab-Event-UUID", uuid}};
}

/// Waits until `file` has more than `before` lines: a check ran.
bool checked_after(const temp_dir& dir, const std::string& file, std::size_t before) {
  return eventually([&] { return dir.lines(file).size() > before; }, 10s);
}

/// For negative assertions: time for a wrongly started check to show.
void settle() {
  std::this_thread::sleep_for(700ms);
}

/// A node with the two-resource pipeline `p` whose creation checks have run.
void start_pipeline(runtime_node& node, const temp_dir& dir, const std::string& name = "p") {
  node.set_pipeline(name, two_resources(dir));
  REQUIRE_MESSAGE(eventually([&] {
                    return dir.lines("checks").size() >= 1 && dir.lines("other-checks").size() >= 1;
                  }),
                  node.tail());
  std::this_thread::sleep_for(200ms);
}

}  // namespace

TEST_SUITE("integration.webhooks") {
  TEST_CASE("webhooks: a resource token checks it; a regenerated token replaces the old one") {
    runtime_node node;
    temp_dir dir;
    start_pipeline(node, dir);
    auto res = node.resource("p", "filever.src");
    std::string old_token = res["webhook_token"];
    REQUIRE(!old_token.empty());
    auto other_token = node.resource("p", "quiet.other")["webhook_token"];

    auto before = dir.lines("checks").size();
    auto r = node.call("POST", "/webhooks/" + old_token, "", "");
    CHECK_MESSAGE(r.status == 202, r.body);
    CHECK(checked_after(dir, "checks", before));
    CHECK(node.call("POST", "/webhooks/no-such-token", "", "").status == 404);

    // write role; the bare name works like the canonical one
    auto path = "/pipelines/p/resources/src/webhook-token";
    CHECK(node.call("POST", path, "", "").status == 401);
    CHECK(node.call("POST", path, "", user_token("read")).status == 403);
    CHECK(node.call("POST", "/pipelines/p/resources/nope/webhook-token", "", user_token("write"))
              .status == 404);
    CHECK(node.call("POST", "/pipelines/nope/resources/src/webhook-token", "", user_token("write"))
              .status == 404);
    CHECK(node.call("GET", path, "", node.token()).status == 405);
    auto regen = node.call("POST", path, "", user_token("write"));
    REQUIRE_MESSAGE(regen.status == 200, regen.body);
    auto fresh = regen.json()["resource"];
    CHECK(fresh["canonical"] == "filever.src");
    std::string new_token = fresh["webhook_token"];
    CHECK(!new_token.empty());
    CHECK(new_token != old_token);
    CHECK(node.resource("p", "filever.src")["webhook_token"] == new_token);
    CHECK(node.resource("p", "quiet.other")["webhook_token"] == other_token);  // untouched

    auto gone = node.call("POST", "/webhooks/" + old_token, "", "");
    CHECK(gone.status == 404);
    CHECK(gone.json()["error"]["code"] == "not_found");
    before = dir.lines("checks").size();
    auto ok = node.call("POST", "/webhooks/" + new_token, "", "");
    CHECK_MESSAGE(ok.status == 202, ok.body);
    CHECK(ok.json()["resource"] == "filever.src");
    CHECK(checked_after(dir, "checks", before));

    // the client prints the new token, which is the one the node now lists
    auto cli = run_command({node_binary(), "client", "--url", node.server().url(), "--token",
                            user_token("write"), "resources", "webhook-token", "p", "src"},
                           20s);
    REQUIRE_MESSAGE(cli.exit_code == 0, cli.output);
    std::string listed = node.resource("p", "filever.src")["webhook_token"];
    CHECK(listed != new_token);
    CHECK(cli.output == "filever.src webhook token: " + listed + "\n");
    CHECK(node.call("POST", "/webhooks/" + new_token, "", "").status == 404);
  }

  TEST_CASE("webhooks: the git secret is set and removed by an admin and never shown") {
    runtime_node node;
    temp_dir dir;
    start_pipeline(node, dir);
    auto path = "/pipelines/p/webhooks/git";
    auto body = json{{"secret", secret}}.dump();
    CHECK(node.call("PUT", path, body, "").status == 401);
    CHECK(node.call("PUT", path, body, user_token("write")).status == 403);
    CHECK(node.call("PUT", "/pipelines/nope/webhooks/git", body, node.token()).status == 404);
    for (const auto& bad : std::vector<std::string>{
             R"({})", R"({"secret":""})", R"({"secret":7})", R"({"secret":null})", "not json",
             json{{"secret", std::string(257, 'x')}}.dump()}) {
      CAPTURE(bad);
      auto r = node.put(path, bad);
      CHECK(r.status == 400);
      CHECK(r.json()["error"]["code"] == "bad_request");
    }
    CHECK(node.get("/pipelines/p").json()["pipeline"]["git_webhook"]["secret_set"] == false);
    CHECK(node.put(path, json{{"secret", std::string(256, 'x')}}.dump()).status == 200);
    auto set = node.put(path, body);
    REQUIRE_MESSAGE(set.status == 200, set.body);
    CHECK(set.json() == json{{"webhook", {{"secret_set", true}}}});
    auto p = node.get("/pipelines/p");
    CHECK(p.json()["pipeline"]["git_webhook"]["secret_set"] == true);
    CHECK(p.body.find(secret) == std::string::npos);
    CHECK(node.get("/pipelines/p/resources").body.find(secret) == std::string::npos);
    // a re-set of the pipeline keeps it
    node.set_pipeline("p", two_resources(dir));
    CHECK(node.get("/pipelines/p").json()["pipeline"]["git_webhook"]["secret_set"] == true);

    auto signed_body = push_body("refs/heads/main");
    CHECK(deliver(node, "p", signed_body, github(signed_body, "d-before")).status == 202);
    CHECK(node.call("DELETE", path, "", user_token("write")).status == 403);
    auto del = node.del(path);
    CHECK(del.status == 204);
    CHECK(node.get("/pipelines/p").json()["pipeline"]["git_webhook"]["secret_set"] == false);
    auto refused = deliver(node, "p", signed_body, github(signed_body, "d-after"));
    CHECK(refused.status == 401);
    CHECK(refused.json()["error"]["code"] == "unauthenticated");
  }

  TEST_CASE("webhooks: a GitHub push checks every resource; bad or missing signatures do nothing") {
    runtime_node node;
    temp_dir dir;
    start_pipeline(node, dir);
    auto body = push_body("refs/heads/main");
    // no secret yet: refused
    CHECK(deliver(node, "p", body, github(body, "d-0")).status == 401);
    REQUIRE(node.put("/pipelines/p/webhooks/git", json{{"secret", secret}}.dump()).status == 200);
    CHECK(deliver(node, "nope", body, github(body, "d-0")).status == 404);

    auto src = dir.lines("checks").size(), other = dir.lines("other-checks").size();
    auto bad = deliver(node, "p", body, github(body, "d-1", "wrong-secret"));
    CHECK(bad.status == 401);
    CHECK(bad.json()["error"]["code"] == "unauthenticated");
    auto tampered = github(body, "d-1");
    CHECK(deliver(node, "p", body + " ", tampered).status == 401);
    auto missing = github(body, "d-1");
    missing.erase("X-Hub-Signature-256");
    auto r = deliver(node, "p", body, missing);
    CHECK(r.status == 401);
    CHECK(r.json()["error"]["message"].get<std::string>().find("missing") != std::string::npos);
    auto unprefixed = github(body, "d-1");
    unprefixed["X-Hub-Signature-256"] = hmac_hex(secret, body);
    CHECK(deliver(node, "p", body, unprefixed).status == 401);
    settle();
    CHECK(dir.lines("checks").size() == src);
    CHECK(dir.lines("other-checks").size() == other);

    // a good signature: every resource is checked now
    dir.write("check", R"([{"ref":"v1"}])");
    auto good = deliver(node, "p", body, github(body, "d-1"));
    REQUIRE_MESSAGE(good.status == 202, good.body, "\n", node.tail());
    CHECK(good.json()["checked"] == json{"filever.src", "quiet.other"});
    CHECK(good.json()["delivery"] == "d-1");
    CHECK(checked_after(dir, "checks", src));
    CHECK(checked_after(dir, "other-checks", other));
    auto builds = node.wait_builds("p", "build", 1);
    CHECK(builds[0]["status"] == "succeeded");
    CHECK(builds[0]["trigger"]["type"] == "resource");

    // the same delivery again: nothing happens, even with a new version waiting
    std::this_thread::sleep_for(300ms);
    src = dir.lines("checks").size();
    other = dir.lines("other-checks").size();
    dir.write("check", R"([{"ref":"v1"},{"ref":"v2"}])");
    auto replay = deliver(node, "p", body, github(body, "d-1"));
    CHECK(replay.status == 200);
    CHECK(replay.json()["duplicate"] == true);
    settle();
    CHECK(dir.lines("checks").size() == src);
    CHECK(dir.lines("other-checks").size() == other);
    CHECK(node.builds("p", "build").size() == 1);

    // the signature holds but the body is not a JSON object: 400, nothing recorded
    auto list = std::string("[1,2]");
    CHECK(deliver(node, "p", list, github(list, "d-2")).status == 400);
    settle();
    CHECK(dir.lines("checks").size() == src);
    // a bearer token is not needed, and a user token does not replace the signature
    auto with_token = github(body, "d-3", "wrong-secret");
    with_token["Authorization"] = "Bearer " + node.token();
    CHECK(deliver(node, "p", body, with_token).status == 401);
    CHECK(node.healthy());
    // request counters label deliveries by the route's pattern
    auto metrics = http_get(node.server().url() + "/metrics").body;
    CHECK_MESSAGE(metrics.find("method=\"POST\",route=\"/api/v1/pipelines/:p/webhooks/git\","
                               "code=\"401\"") != std::string::npos,
                  metrics);
  }

  TEST_CASE("webhooks: a GitLab push with the secret as its token checks; a wrong token does not") {
    runtime_node node;
    temp_dir dir;
    start_pipeline(node, dir);
    REQUIRE(node.put("/pipelines/p/webhooks/git", json{{"secret", secret}}.dump()).status == 200);
    auto body = push_body("refs/heads/dev");
    auto src = dir.lines("checks").size();
    CHECK(deliver(node, "p", body, gitlab("wrong", "g-1")).status == 401);
    CHECK(deliver(node, "p", body, gitlab(secret + " ", "g-1")).status == 401);
    settle();
    CHECK(dir.lines("checks").size() == src);

    auto good = deliver(node, "p", body, gitlab(secret, "g-1"));
    REQUIRE_MESSAGE(good.status == 202, good.body);
    CHECK(good.json()["delivery"] == "g-1");
    CHECK(checked_after(dir, "checks", src));
    std::this_thread::sleep_for(300ms);
    src = dir.lines("checks").size();
    auto replay = deliver(node, "p", body, gitlab(secret, "g-1"));
    CHECK(replay.status == 200);
    CHECK(replay.json()["duplicate"] == true);
    // GitLab's other delivery header counts as the id too
    auto other = gitlab(secret, "");
    other.erase("X-Gitlab-Event-UUID");
    other["X-Gitlab-Webhook-UUID"] = "g-2";
    auto second = deliver(node, "p", body, other);
    CHECK(second.status == 202);
    CHECK(second.json()["delivery"] == "g-2");
    CHECK(checked_after(dir, "checks", src));
  }

  TEST_CASE("webhooks: provider, event, branch, headers and query reach the group template") {
    runtime_node node;
    temp_dir dir;
    start_pipeline(node, dir);
    REQUIRE(node.put("/pipelines/p/webhooks/git", json{{"secret", secret}}.dump()).status == 200);
    auto rule = json{{"mode", "group"},
                     {"group_template",
                      "{{.Webhook.Provider}}/{{.Webhook.EventType}}/"
                      "{{.Webhook.Branch}}/{{.Webhook.Ref}}/"
                      "{{index .Webhook.Headers \"user-agent\"}}/"
                      "{{index .Webhook.Query \"env\"}}"}};
    REQUIRE(node.put("/pipelines/p/concurrency", rule.dump()).status == 200);

    dir.write("check", R"([{"ref":"v1"}])");
    auto body = push_body("refs/heads/feature-x");
    auto r = deliver(node, "p", body, github(body, "d-group"), "?env=prod");
    REQUIRE_MESSAGE(r.status == 202, r.body);
    auto builds = node.wait_builds("p", "build", 1);
    CHECK_MESSAGE(builds[0]["concurrency_group"] ==
                      "github/push/feature-x/refs/heads/feature-x/GitHub-Hookshot/test/prod",
                  builds[0].dump());
    CHECK(builds[0]["status"] == "succeeded");

    // GitLab, a tag: no branch
    REQUIRE(
        node.put("/pipelines/p/concurrency", json{{"mode", "group"},
                                                  {"group_template",
                                                   "{{.Webhook.Provider}}:{{.Webhook.EventType}}:"
                                                   "{{.Webhook.Ref}}:{{.Webhook.Branch}}"}}
                                                 .dump())
            .status == 200);
    dir.write("check", R"([{"ref":"v1"},{"ref":"v2"}])");
    auto tag = push_body("refs/tags/v2");
    auto g = deliver(node, "p", tag, gitlab(secret, "g-tag"));
    REQUIRE_MESSAGE(g.status == 202, g.body);
    builds = node.wait_builds("p", "build", 2);
    CHECK_MESSAGE(builds[0]["concurrency_group"] == "gitlab:Push Hook:refs/tags/v2:",
                  builds[0].dump());

    // a check nobody's webhook asked for has no .Webhook: this template renders empty
    REQUIRE(node.put("/pipelines/p/concurrency",
                     json{{"mode", "group"}, {"group_template", "{{.Webhook.Branch}}"}}.dump())
                .status == 200);
    dir.write("check", R"([{"ref":"v1"},{"ref":"v2"},{"ref":"v3"}])");
    node.check("p", "src");
    builds = node.wait_builds("p", "build", 3);
    CHECK(builds[0]["status"] == "failed");
    CHECK(builds[0]["reason"].get<std::string>().find("concurrency group") != std::string::npos);
  }

  TEST_CASE("webhooks: tokens, the git secret and seen deliveries survive a restart") {
    temp_dir dir;
    std::vector<std::string> args{"--db-system", "rocksdb", "--db-path", dir.file("db")};
    std::string new_token, old_token;
    auto body = push_body("refs/heads/main");
    {
      runtime_node node(args);
      start_pipeline(node, dir);
      old_token = node.resource("p", "filever.src")["webhook_token"];
      auto regen = node.post("/pipelines/p/resources/filever.src/webhook-token");
      REQUIRE(regen.status == 200);
      new_token = regen.json()["resource"]["webhook_token"];
      REQUIRE(node.put("/pipelines/p/webhooks/git", json{{"secret", secret}}.dump()).status == 200);
      REQUIRE(deliver(node, "p", body, github(body, "d-restart")).status == 202);
      node.server().process().stop(SIGKILL);
    }
    runtime_node node(args);
    CHECK(node.resource("p", "filever.src")["webhook_token"] == new_token);
    CHECK(node.call("POST", "/webhooks/" + old_token, "", "").status == 404);
    CHECK(node.call("POST", "/webhooks/" + new_token, "", "").status == 202);
    CHECK(node.get("/pipelines/p").json()["pipeline"]["git_webhook"]["secret_set"] == true);
    auto replay = deliver(node, "p", body, github(body, "d-restart"));
    CHECK(replay.status == 200);
    CHECK(replay.json()["duplicate"] == true);
    CHECK(deliver(node, "p", body, github(body, "d-next")).status == 202);
  }
}
