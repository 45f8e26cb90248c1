// The built-in git resource type end to end: a node checks real repositories — local bare ones
// (file://) and ones served over HTTP by `git http-backend` behind a local GitHub-like API
// (tests/support/git_forge) — triggers builds on new commits, pull requests and tags, checks
// them out in the build, pushes from a build, and keeps its token out of every log.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/git_forge.hpp"
#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

std::string git_resource(const std::string& params, const std::string& name = "src") {
  return "resource \"git\" \"" + name + "\" {\n  check_interval = \"@every 1h\"\n  params {\n" +
         params + "  }\n}\n";
}

std::string show_job(const std::string& job, const std::string& cmd) {
  return "job \"" + job + "\" {\n  get \"git\" \"src\" {\n    trigger = true\n  }\n" +
         "  task \"show\" {\n    run \"shell\" {\n      cmd = \"" + cmd + "\"\n    }\n  }\n}\n";
}

std::string ref_of(const json& version) {
  return version["version"].value("ref", "<none>");
}

}  // namespace

TEST_SUITE("integration.git") {
  TEST_CASE("git: a new commit of a local repository triggers a build that sees it checked out") {
    temp_dir dir;
    local_repo r(dir.path(), dir.file("repo.git"));
    runtime_node node({"--cache-root", dir.file("cache")});
    // no `name`: the clone gets the directory git would choose ("repo")
    node.set_pipeline(
        "p", git_resource("    url    = \"file://" + r.bare + "\"\n" + "    branch = \"main\"\n") +
                 show_job("build",
                          "cat repo/hello.txt; echo head=$(git -C repo "
                          "rev-parse HEAD); echo ref=$GET_SRC_REF; "
                          "git -C repo branch --show-current"));
    auto sha1 = r.head();
    node.check_and_wait("p", "git.src");
    auto versions = node.wait_versions("p", "src", 1);
    CHECK(ref_of(versions[0]) == sha1);
    auto builds = node.wait_builds("p", "build", 1, 30s);
    auto b1 = node.build("p", "build", builds[0]["number"].get<std::string>());
    INFO(all_logs(b1));
    CHECK(b1["status"] == "succeeded");
    auto logs = step_logs(b1, "show");
    CHECK(logs.find("one\n") != std::string::npos);
    CHECK(logs.find("head=" + sha1) != std::string::npos);
    CHECK(logs.find("ref=" + sha1) != std::string::npos);
    CHECK(logs.find("main\n") != std::string::npos);  // on the branch, not a detached HEAD
    CHECK(std::filesystem::exists(dir.file("cache/main/p/git.src/mirror.git/HEAD")));

    // nothing new: no version, no build
    node.check_and_wait("p", "git.src");
    CHECK(node.versions("p", "src").size() == 1);
    CHECK(node.builds("p", "build").size() == 1);

    // a new commit: a new version and a build at it
    auto sha2 = r.commit("hello.txt", "two");
    r.push();
    node.check_and_wait("p", "git.src");
    versions = node.wait_versions("p", "src", 2);
    CHECK(ref_of(versions[0]) == sha2);
    builds = node.wait_builds("p", "build", 2, 30s);
    auto b2 = node.build("p", "build", builds[0]["number"].get<std::string>());
    INFO(all_logs(b2));
    CHECK(b2["status"] == "succeeded");
    CHECK(step_logs(b2, "show").find("two\nhead=" + sha2) != std::string::npos);
  }

  TEST_CASE("git: a branch that does not exist fails the check with the reason") {
    temp_dir dir;
    local_repo r(dir.path(), dir.file("repo.git"));
    runtime_node node;
    node.set_pipeline(
        "p", git_resource("    url    = \"file://" + r.bare + "\"\n" + "    branch = \"nope\"\n"));
    node.check_and_wait("p", "git.src");
    auto res = node.resource("p", "git.src");
    INFO(res.dump());
    CHECK(res["check_error"].get<std::string>().find("no branch \"nope\" in file://" + r.bare) !=
          std::string::npos);
    CHECK(node.versions("p", "src").empty());

    // a password in the url is not repeated in messages
    node.set_pipeline("p", git_resource("    url    = \"https://me:pw-7b1c9e@127.0.0.1:1/o/r\"\n"));
    node.check_and_wait("p", "git.src");
    res = node.resource("p", "git.src");
    INFO(res.dump());
    CHECK(res["check_error"].get<std::string>().find("https://me:***@127.0.0.1:1/o/r") !=
          std::string::npos);
    CHECK(res["check_error"].get<std::string>().find("pw-7b1c9e") == std::string::npos);
  }

  TEST_CASE(
      "git: over HTTP with a token from a secret: the API gives the tip, git authenticates, no "
      "log shows it") {
    temp_dir dir;
    const std::string token = "tok-5f3a9c1e77";
    local_repo r(dir.path(), dir.file("forge/acme/app.git"));
    git_forge forge(dir.file("forge"), token);
    std::ofstream(dir.file("forge.env")) << "GH_TOKEN=" << token << "\n";
    runtime_node node({"--cache-root", dir.file("cache")});
    // the token reaches the git handler only through a secret, resolved on the worker
    std::string pipeline =
        "secret_type \"env\" {\n  source = \"pikoci://file\"\n  path   = \"" +
        dir.file("forge.env") + "\"\n}\n" +
        "variable \"gh_token\" {\n  type = string\n  secret \"env\" {\n    key = \"GH_TOKEN\"\n  "
        "}\n}\n" +
        git_resource("    url      = \"" + forge.repo_url("acme/app") + "\"\n" +
                     "    branch   = \"main\"\n    name     = \"app\"\n" +
                     "    token    = var.gh_token\n    provider = \"github\"\n") +
        show_job("build", "cat app/hello.txt; git -C app rev-parse HEAD");
    node.set_pipeline("p", pipeline);
    node.check_and_wait("p", "git.src");
    auto sha1 = r.head();
    auto versions = node.wait_versions("p", "src", 1);
    CHECK(ref_of(versions[0]) == sha1);
    bool asked_api = false;
    for (const auto& q : forge.receiver().requests()) {
      if (q.path != "/api/v3/repos/acme/app/commits?per_page=1&sha=main") continue;
      asked_api = true;
      CHECK(q.headers.at("authorization") == "token " + token);
    }
    CHECK(asked_api);

    auto builds = node.wait_builds("p", "build", 1, 30s);
    auto b1 = node.build("p", "build", builds[0]["number"].get<std::string>());
    INFO(all_logs(b1));
    CHECK(b1["status"] == "succeeded");
    CHECK(step_logs(b1, "show").find("one\n" + sha1) != std::string::npos);
    // git was refused without credentials, then sent the token as its password
    bool refused = false, authenticated = false;
    for (const auto& q : forge.receiver().requests()) {
      if (q.path.find("/acme/app.git/") != 0) continue;
      refused = refused || q.answered == 401;
      authenticated = authenticated || (q.answered == 200 && q.headers.count("authorization"));
    }
    CHECK(refused);
    CHECK(authenticated);

    // the API fails: the check asks git ls-remote, with the token as credential
    forge.override_api("/repos/acme/app/commits", 502, "{\"message\":\"bad gateway\"}");
    auto sha2 = r.commit("hello.txt", "two");
    r.push();
    node.check_and_wait("p", "git.src");
    versions = node.wait_versions("p", "src", 2);
    CHECK(ref_of(versions[0]) == sha2);
    builds = node.wait_builds("p", "build", 2, 30s);
    auto b2 = node.build("p", "build", builds[0]["number"].get<std::string>());
    CHECK(b2["status"] == "succeeded");

    // the token is in no build log, no check error and no log line of the node
    for (const auto& b : {b1, b2}) CHECK(all_logs(b).find(token) == std::string::npos);
    CHECK(node.resource("p", "git.src")["check_error"].is_null());
    CHECK(node.server().process().output().find(token) == std::string::npos);
    // nor in the pipeline or the plans the node keeps and shows (placeholders only)
    CHECK(node.get("/pipelines/p").body.find(token) == std::string::npos);
    CHECK(node.get("/pipelines/p/jobs/build/builds/" + b1["number"].get<std::string>() + "/plan")
              .body.find(token) == std::string::npos);
    // nor in the cache's mirror or the build's clone configuration
    std::ifstream cfg(dir.file("cache/main/p/git.src/mirror.git/config"));
    std::string mirror_config((std::istreambuf_iterator<char>(cfg)), {});
    CHECK_FALSE(mirror_config.empty());
    CHECK(mirror_config.find(token) == std::string::npos);
  }

  TEST_CASE("git: pull requests: the latest first, then only new heads; the build checks it out") {
    temp_dir dir;
    const std::string token = "tok-pr-8d2b4a";
    local_repo r(dir.path(), dir.file("forge/acme/app.git"));
    git_forge forge(dir.file("forge"), token);
    auto base = r.head();
    auto pr_commit = [&](const std::string& branch, const std::string& text) {
      git_ok({"checkout", "-q", "-B", branch, base}, r.work);
      auto sha = r.commit("hello.txt", text);
      r.push(branch);
      return sha;
    };
    auto a = pr_commit("feature-a", "pr one");
    auto b = pr_commit("feature-b", "pr two");
    forge.open_pull("acme/app", 1, a);
    forge.open_pull("acme/app", 2, b);
    // pull request 2's commit is on no branch of the forge any more, only at refs/pull/2/head
    git_ok({"update-ref", "-d", "refs/heads/feature-b"}, r.bare);
    runtime_node node({"--cache-root", dir.file("cache")});
    node.set_pipeline(
        "p", "variable \"gh_token\" {\n  type    = string\n  default = \"" + token + "\"\n}\n" +
                 git_resource("    url   = \"" + forge.repo_url("acme/app") + "\"\n" +
                              "    pr    = true\n    token = var.gh_token\n" +
                              "    provider = \"github\"\n    name = \"app\"\n") +
                 show_job("build",
                          "cat app/hello.txt; echo pr=$GET_SRC_PR $GET_SRC_BRANCH; git -C app "
                          "rev-parse HEAD; git -C app branch --show-current"));
    node.check_and_wait("p", "git.src");
    auto versions = node.wait_versions("p", "src", 1);
    REQUIRE(versions.size() == 1);
    CHECK(versions[0]["version"] == json{{"ref", b}, {"pr", "2"}, {"branch", "topic-2"}});
    auto builds = node.wait_builds("p", "build", 1, 30s);
    auto b1 = node.build("p", "build", builds[0]["number"].get<std::string>());
    INFO(all_logs(b1));
    CHECK(b1["status"] == "succeeded");
    CHECK(step_logs(b1, "show").find("pr two\npr=2 topic-2\n" + b + "\npr-2\n") !=
          std::string::npos);

    // pull request 1 gets a new commit: it alone is new
    git_ok({"checkout", "-q", "feature-a"}, r.work);
    auto a2 = r.commit("hello.txt", "pr one again");
    r.push("feature-a");
    forge.open_pull("acme/app", 1, a2);
    node.check_and_wait("p", "git.src");
    versions = node.wait_versions("p", "src", 2);
    CHECK(versions[0]["version"] == json{{"ref", a2}, {"pr", "1"}, {"branch", "topic-1"}});
    builds = node.wait_builds("p", "build", 2, 30s);
    auto b2 = node.build("p", "build", builds[0]["number"].get<std::string>());
    INFO(all_logs(b2));
    CHECK(step_logs(b2, "show").find("pr one again\npr=1 topic-1\n" + a2) != std::string::npos);
    node.check_and_wait("p", "git.src");
    CHECK(node.versions("p", "src").size() == 2);

    // hostile answers fail the check with the reason; the node carries on
    for (const char* body : {"not json", "{\"message\":\"x\"}",
                             "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                             "[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]"
                             "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
                             "[{\"number\":3,\"head\":{\"sha\":\"--upload-pack=x\"}}]"}) {
      forge.override_api("/repos/acme/app/pulls", 200, body);
      node.check_and_wait("p", "git.src");
      auto res = node.resource("p", "git.src");
      INFO(body, res.dump());
      CHECK(res["check_error"].is_string());
      CHECK(res["check_error"].get<std::string>().find("github API") != std::string::npos);
    }
    CHECK(node.versions("p", "src").size() == 2);
    CHECK(node.healthy());
  }

  TEST_CASE("git: without a cache a get clones from the url and fetches a pull request's head") {
    temp_dir dir;
    const std::string token = "tok-nocache-41ac";
    local_repo r(dir.path(), dir.file("forge/acme/app.git"));
    git_forge forge(dir.file("forge"), token);
    git_ok({"checkout", "-q", "-b", "topic"}, r.work);
    auto sha = r.commit("hello.txt", "from a fork");
    r.push("topic");
    forge.open_pull("acme/app", 9, sha);
    git_ok({"update-ref", "-d", "refs/heads/topic"}, r.bare);
    runtime_node node({"--cache-root", dir.file("cache")});
    node.set_pipeline(
        "p", "variable \"t\" {\n  type    = string\n  default = \"" + token + "\"\n}\n" +
                 "resource \"git\" \"src\" {\n  cache = false\n  check_interval = \"@every 1h\"\n" +
                 "  params {\n    url = \"" + forge.repo_url("acme/app") + "\"\n    pr = true\n" +
                 "    token = var.t\n    provider = \"github\"\n  }\n}\n" +
                 show_job("build", "cat app/hello.txt; git -C app rev-parse HEAD"));
    node.check_and_wait("p", "git.src");
    auto builds = node.wait_builds("p", "build", 1, 30s);
    auto b = node.build("p", "build", builds[0]["number"].get<std::string>());
    INFO(all_logs(b));
    CHECK(b["status"] == "succeeded");
    CHECK(step_logs(b, "show").find("from a fork\n" + sha) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.file("cache/main/p/git.src")));
    CHECK(all_logs(b).find(token) == std::string::npos);
  }

  TEST_CASE("git: tags without a token: the latest first, then newer ones oldest first") {
    temp_dir dir;
    local_repo r(dir.path(), dir.file("repo.git"));
    git_ok({"tag", "v1.2"}, r.work);
    git_ok({"tag", "v1.0"}, r.work);
    r.push("--tags");
    runtime_node node;
    node.set_pipeline("p", git_resource("    url = \"file://" + r.bare + "\"\n    tag = true\n"));
    node.check_and_wait("p", "git.src");
    auto versions = node.wait_versions("p", "src", 1);
    REQUIRE(versions.size() == 1);
    CHECK(versions[0]["version"] == json{{"ref", r.head()}, {"tag", "v1.2"}});
    auto sha = r.commit("hello.txt", "two");
    git_ok({"tag", "-a", "-m", "release", "v1.10"}, r.work);
    git_ok({"tag", "v1.3", sha}, r.work);
    r.push("--tags");
    node.check_and_wait("p", "git.src");
    versions = node.wait_versions("p", "src", 3);
    CHECK(versions[0]["version"] == json{{"ref", sha}, {"tag", "v1.10"}});  // peeled, newest
    CHECK(versions[1]["version"]["tag"] == "v1.3");
  }

  TEST_CASE("git: a put pushes the build's commit and records it as a version") {
    temp_dir dir;
    local_repo r(dir.path(), dir.file("repo.git"));
    runtime_node node({"--cache-root", dir.file("cache")});
    node.set_pipeline(
        "p", git_resource("    url    = \"file://" + r.bare + "\"\n    branch = \"main\"\n" +
                          "    name   = \"code\"\n") +
                 "job \"release\" {\n  get \"git\" \"src\" {}\n  task \"bump\" {\n"
                 "    run \"shell\" {\n      cmd = \"cd code && echo 2 > VERSION && git add "
                 "VERSION && git -c user.name=ci -c user.email=ci@example.org commit -qm "
                 "bump\"\n    }\n  }\n  put \"git\" \"src\" {}\n}\n");
    node.check_and_wait("p", "git.src");
    node.wait_versions("p", "src", 1);
    auto build = node.trigger("p", "release");
    auto done = node.wait_build("p", "release", build["number"].get<std::string>(), 30s);
    INFO(all_logs(done));
    REQUIRE(done["status"] == "succeeded");
    auto pushed = git_ok({"rev-parse", "main"}, r.bare);
    CHECK(pushed != r.head());
    CHECK(git_ok({"show", "main:VERSION"}, r.bare) == "2");
    auto versions = node.wait_versions("p", "src", 2);
    CHECK(ref_of(versions[0]) == pushed);
  }

  TEST_CASE("git: two builds pulling at once share the cache") {
    temp_dir dir;
    local_repo r(dir.path(), dir.file("repo.git"));
    runtime_node node({"--cache-root", dir.file("cache")});
    node.set_pipeline("p", git_resource("    url = \"file://" + r.bare + "\"\n") +
                               show_job("one", "cat repo/hello.txt") +
                               show_job("two", "cat repo/hello.txt"));
    node.check_and_wait("p", "git.src");
    for (const char* job : {"one", "two"}) {
      auto builds = node.wait_builds("p", job, 1, 30s);
      auto b = node.build("p", job, builds[0]["number"].get<std::string>());
      INFO(all_logs(b));
      CHECK(b["status"] == "succeeded");
      CHECK(step_logs(b, "show").find("one") != std::string::npos);
    }
  }

  TEST_CASE("git: what the type cannot run is refused when the pipeline is set") {
    runtime_node node;
    auto r =
        node.put("/pipelines/p", config_body(git_resource("    url = \"https://github.com/o/r\"\n"
                                                          "    pr  = true\n")));
    CHECK(r.status == 422);
    CHECK(r.body.find("needs a `token`") != std::string::npos);
    auto diags = r.json()["diagnostics"];
    REQUIRE_MESSAGE(diags.is_array(), r.body);
    CHECK(diags[0]["line"] == 1);
    r = node.put("/pipelines/p", config_body(git_resource("    url = \"https://x.org/o/r\"\n"
                                                          "    provider = \"svn\"\n")));
    CHECK(r.status == 422);
    CHECK(r.body.find("unknown provider") != std::string::npos);
    CHECK(node.get("/pipelines/p").status == 404);
  }
}
