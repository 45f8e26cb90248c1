// The pure parts of the built-in git type: ls-remote output, the versions a check prints, API
// answers (including hostile ones), request URLs, and reading repository URLs.

#include <doctest/doctest.h>

#include "builtin/git.hpp"

using namespace pikoci::builtin::git;
using pikoci::pipeline::git::api_base;
using pikoci::pipeline::git::default_directory;
using pikoci::pipeline::git::infer_provider;
using pikoci::pipeline::git::parse_remote;
using pikoci::pipeline::git::provider_named;
using json = nlohmann::json;

namespace {

const std::string a(40, 'a'), b(40, 'b'), c(40, 'c'), d(40, 'd');

std::optional<json> list(const std::string& body) {
  std::string error;
  auto l = parse_api_list(body, error);
  INFO(error);
  return l;
}

}  // namespace

TEST_SUITE("builtin.git") {
  TEST_CASE("ls-remote lines: object ids and ref names; anything else is skipped") {
    auto refs = parse_ls_remote(a + "\tHEAD\n" + b + "\trefs/heads/main\r\nwarning: x\n" +
                                "zz\trefs/heads/bad\n" + c + "\n" + std::string(64, 'e') +
                                "\trefs/heads/sha256");
    REQUIRE(refs.size() == 3);
    CHECK(refs[0].name == "HEAD");
    CHECK(refs[1].sha == b);
    CHECK(refs[1].name == "refs/heads/main");
    CHECK(refs[2].name == "refs/heads/sha256");
    CHECK(parse_ls_remote("").empty());
  }

  TEST_CASE("the branch tip: refs/heads/<branch>, then an exact ref; HEAD when unset") {
    auto refs = parse_ls_remote(a + "\tHEAD\n" + b + "\trefs/remotes/x/main\n" + c +
                                "\trefs/heads/main\n" + d + "\trefs/tags/v1\n");
    CHECK(branch_tip(refs, "main") == c);
    CHECK(branch_tip(refs, "") == a);
    CHECK(branch_tip(refs, "HEAD") == a);
    CHECK(branch_tip(refs, "refs/tags/v1") == d);
    CHECK_FALSE(branch_tip(refs, "dev"));
    CHECK_FALSE(branch_tip({}, ""));
  }

  TEST_CASE("tags from ls-remote: newest first in version order, annotated tags peeled") {
    auto refs = parse_ls_remote(a + "\trefs/tags/v1.9\n" + b + "\trefs/tags/v1.10\n" + c +
                                "\trefs/tags/v1.10^{}\n" + d + "\trefs/tags/v1.2\n" + a +
                                "\trefs/heads/main\n");
    auto tags = tags_newest_first(refs);
    REQUIRE(tags.size() == 3);
    CHECK(tags[0] == json{{"ref", c}, {"tag", "v1.10"}});
    CHECK(tags[1]["tag"] == "v1.9");
    CHECK(tags[2]["tag"] == "v1.2");
  }

  TEST_CASE("newer-than: only the newest on the first check, then the unknown ones oldest first") {
    json items = json::array({{{"tag", "v3"}}, {{"tag", "v2"}}, {{"tag", "v1"}}});
    auto known = [](const std::string& t) { return [t](const json& j) { return j["tag"] == t; }; };
    CHECK(select_new(items, true, known("")) == json::array({{{"tag", "v3"}}}));
    CHECK(select_new(items, false, known("v1")) == json::array({{{"tag", "v2"}}, {{"tag", "v3"}}}));
    CHECK(select_new(items, false, known("v3")) == json::array());
    // the known one is gone (deleted tag, force-pushed pull request): all of them, oldest first
    CHECK(select_new(items, false, known("v0")).size() == 3);
    CHECK(select_new(items, false, known("v0")).front()["tag"] == "v1");
    CHECK(select_new(json::array(), true, known("")) == json::array());
  }

  TEST_CASE("API answers: commits, tags and pull requests of each provider") {
    std::string error;
    auto gh = list(R"([{"sha":")" + a + R"(","commit":{}}])");
    REQUIRE(gh);
    CHECK(latest_commit(provider::github, *gh, error) == a);
    CHECK(latest_commit(provider::gitea, *gh, error) == a);
    auto gl = list(R"([{"id":")" + b + R"("}])");
    CHECK(latest_commit(provider::gitlab, *gl, error) == b);
    CHECK_FALSE(latest_commit(provider::github, *gl, error));
    CHECK(error == "commit 1 of the answer has no valid \"sha\"");
    CHECK_FALSE(latest_commit(provider::github, json::array(), error));

    auto tags = tags_from_api(provider::github,
                              *list(R"([{"name":"v2","commit":{"sha":")" + a +
                                    R"("}},{"name":"v1","commit":{"sha":")" + b + R"("}}])"),
                              error);
    REQUIRE(tags);
    CHECK(*tags == json::array({{{"ref", a}, {"tag", "v2"}}, {{"ref", b}, {"tag", "v1"}}}));
    auto gl_tags = tags_from_api(provider::gitlab,
                                 *list(R"([{"name":"v1","commit":{"id":")" + c + R"("}}])"), error);
    REQUIRE(gl_tags);
    CHECK((*gl_tags)[0]["ref"] == c);

    auto pulls = pulls_from_api(provider::github,
                                *list(R"([{"number":7,"head":{"sha":")" + d + R"("}}])"), error);
    REQUIRE(pulls);
    CHECK(*pulls == json::array({{{"ref", d}, {"pr", "7"}}}));
    auto mrs =
        pulls_from_api(provider::gitlab, *list(R"([{"iid":3,"sha":")" + a + R"("}])"), error);
    REQUIRE(mrs);
    CHECK(*mrs == json::array({{{"ref", a}, {"pr", "3"}}}));
    // the source branch when the answer gives one fit for a ref
    auto named = pulls_from_api(
        provider::gitlab,
        *list(R"([{"iid":4,"sha":")" + a + R"(","source_branch":"fix/x"},{"iid":5,"sha":")" + b +
              R"(","source_branch":"--evil"}])"),
        error);
    REQUIRE(named);
    CHECK((*named)[0]["branch"] == "fix/x");
    CHECK_FALSE((*named)[1].contains("branch"));
    auto gh_named = pulls_from_api(
        provider::github, *list(R"([{"number":7,"head":{"sha":")" + d + R"(","ref":"feat"}}])"),
        error);
    REQUIRE(gh_named);
    CHECK((*gh_named)[0]["branch"] == "feat");
  }

  TEST_CASE("hostile API answers are refused with a reason, never trusted") {
    std::string error;
    CHECK_FALSE(parse_api_list("not json", error));
    CHECK(error == "the answer is not JSON");
    CHECK_FALSE(parse_api_list(R"({"message":"Bad credentials"})", error));
    CHECK(error == "the answer is a JSON object, not a list");
    CHECK_FALSE(parse_api_list(std::string(100000, '[') + std::string(100000, ']'), error));
    CHECK(error.find("nested deeper") != std::string::npos);
    CHECK_FALSE(parse_api_list(std::string(max_api_bytes + 1, ' '), error));
    // fields of the wrong type or shape, names that would be options or break a refspec
    auto tag_named = [&](const std::string& name) {
      return tags_from_api(provider::github,
                           json::array({{{"name", name}, {"commit", {{"sha", a}}}}}), error);
    };
    CHECK_FALSE(tag_named("--upload-pack=x"));
    CHECK_FALSE(tag_named("a:b"));
    CHECK_FALSE(tag_named(""));
    CHECK(tag_named("v1.0"));
    CHECK_FALSE(
        tags_from_api(provider::github, json::array({{{"name", "v1"}, {"commit", "x"}}}), error));
    CHECK_FALSE(pulls_from_api(provider::github,
                               json::array({{{"number", -1}, {"head", {{"sha", a}}}}}), error));
    CHECK_FALSE(pulls_from_api(provider::github,
                               json::array({{{"number", "7"}, {"head", {{"sha", a}}}}}), error));
    CHECK_FALSE(pulls_from_api(provider::github, json::array({42}), error));
    CHECK_FALSE(pulls_from_api(provider::github,
                               json::array({{{"number", 1}, {"head", {{"sha", "HEAD"}}}}}), error));
  }

  TEST_CASE("request URLs and headers per provider") {
    CHECK(api_url(provider::github, "https://api.github.com", "o/r", query::commits, 1, "main") ==
          "https://api.github.com/repos/o/r/commits?per_page=1&sha=main");
    CHECK(api_url(provider::github, "B", "o/r", query::pulls, 100) ==
          "B/repos/o/r/pulls?state=open&sort=updated&direction=desc&per_page=100");
    CHECK(api_url(provider::gitlab, "B", "g/sub/p", query::tags, 1) ==
          "B/projects/g%2Fsub%2Fp/repository/tags?order_by=updated&sort=desc&per_page=1");
    CHECK(api_url(provider::gitlab, "B", "g/p", query::commits, 1, "feat/x") ==
          "B/projects/g%2Fp/repository/commits?per_page=1&ref_name=feat%2Fx");
    CHECK(api_url(provider::gitea, "B", "o/r", query::commits, 1) == "B/repos/o/r/commits?limit=1");
    CHECK(api_url(provider::gitea, "B", "o/r", query::pulls, 1) ==
          "B/repos/o/r/pulls?state=open&sort=recentupdate&limit=1");
    CHECK(auth_header(provider::gitlab, "t") ==
          std::make_pair(std::string("PRIVATE-TOKEN"), std::string("t")));
    CHECK(auth_header(provider::github, "t").second == "token t");
    CHECK(pull_ref(provider::github, "5") == "refs/pull/5/head");
    CHECK(pull_ref(provider::gitlab, "5") == "refs/merge-requests/5/head");
    CHECK(redact("a secret here, secret", "secret") == "a *** here, ***");
    CHECK(redact("ab", "ab") == "ab");
  }

  TEST_CASE("repository URLs: host, path, provider and API root") {
    auto gh = parse_remote("https://github.com/PikoCI/pikoci.git");
    REQUIRE(gh);
    CHECK(gh->host == "github.com");
    CHECK(gh->path == "PikoCI/pikoci");
    CHECK(infer_provider(pikoci::pipeline::git::provider::none, gh) == provider::github);
    CHECK(api_base(provider::github, *gh) == "https://api.github.com");

    auto local = parse_remote("http://127.0.0.1:8123/o/r.git");
    REQUIRE(local);
    CHECK(local->host == "127.0.0.1:8123");
    CHECK(infer_provider(provider::none, local) == provider::none);
    CHECK(api_base(provider::github, *local) == "http://127.0.0.1:8123/api/v3");
    CHECK(api_base(provider::gitlab, *local) == "http://127.0.0.1:8123/api/v4");
    CHECK(api_base(provider::gitea, *local) == "http://127.0.0.1:8123/api/v1");

    auto scp = parse_remote("git@GitLab.com:group/sub/p.git");
    REQUIRE(scp);
    CHECK(scp->scheme == "ssh");
    CHECK(scp->host == "gitlab.com");
    CHECK(scp->path == "group/sub/p");
    CHECK(infer_provider(provider::none, scp) == provider::gitlab);
    CHECK(api_base(provider::gitlab, *scp) == "https://gitlab.com/api/v4");
    auto ssh = parse_remote("ssh://git@example.org:2222/o/r");
    REQUIRE(ssh);
    CHECK(ssh->host == "example.org");
    CHECK(infer_provider(provider::gitea, ssh) == provider::gitea);
    CHECK(api_base(provider::gitea, *ssh) == "https://example.org/api/v1");
    auto creds = parse_remote("https://user:pw@example.org/o/r");
    REQUIRE(creds);
    CHECK(creds->host == "example.org");

    CHECK_FALSE(parse_remote("file:///srv/repo.git"));
    CHECK_FALSE(parse_remote("/srv/repo.git"));
    CHECK_FALSE(parse_remote("./a:b"));

    CHECK(provider_named("") == provider::none);
    CHECK(provider_named("forgejo") == provider::gitea);
    CHECK_FALSE(provider_named("bitbucket"));

    CHECK(default_directory("https://github.com/PikoCI/pikoci.git") == "pikoci");
    CHECK(default_directory("file:///srv/app/") == "app");
    CHECK(default_directory("git@host:app.git") == "app");
  }
}
