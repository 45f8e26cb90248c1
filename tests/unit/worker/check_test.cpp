// Resource checks on the worker: the last output line is the answer (reference §2.1).
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>

#include "actors/worker/build_executor.hpp"

using namespace pikoci;
using namespace std::chrono_literals;

namespace {

struct fixture {
  worker::executor_options opts;
  fixture() {
    opts.work_root =
        std::filesystem::temp_directory_path() / ("pikoci-check-" + std::to_string(getpid()));
    opts.worker_env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}};
    opts.grace = 300ms;
  }
  ~fixture() { std::filesystem::remove_all(opts.work_root); }
  work::check_result check(const std::string& script, work::env_map params = {}) {
    params["shell"] = "/bin/sh";
    params["cmd"] = script;
    return worker::execute_check({{"$shell", {"-ec", "$cmd"}}, params, {}, ""}, {}, opts, 5s);
  }
};

}  // namespace

TEST_SUITE("worker.check") {
  TEST_CASE("the last line of output is read as the new versions, oldest first") {
    fixture f;
    auto r = f.check("echo checking $param_url; echo '[{\"ref\":\"a\"},{\"ref\":\"b\"}]'",
                     {{"param_url", "https://example.invalid/repo"}});
    CHECK_FALSE(r.error);
    REQUIRE(r.versions.size() == 2);
    CHECK(r.versions[0]["ref"] == "a");
    CHECK(r.log.rfind("checking https://example.invalid/repo\n", 0) == 0);
  }

  TEST_CASE("no output or an empty array means nothing new") {
    fixture f;
    auto quiet = f.check("true");
    CHECK_FALSE(quiet.error);
    CHECK(quiet.versions.empty());
    auto empty = f.check("echo '[]'");
    CHECK_FALSE(empty.error);
    CHECK(empty.versions.empty());
  }

  TEST_CASE("a failing check or output that is not JSON is an error with the log kept") {
    fixture f;
    auto failed = f.check("echo boom; exit 2");
    REQUIRE(failed.error);
    CHECK(*failed.error == "exit status 2");
    CHECK(failed.log == "boom\n\nexit status 2");
    auto garbage = f.check("echo 'not json'");
    REQUIRE(garbage.error);
    CHECK(garbage.error->find("not json") != std::string::npos);
  }

  TEST_CASE("the latest version is visible to the check and the work directory is thrown away") {
    fixture f;
    auto r = f.check("echo \"[{\\\"seen\\\":\\\"$version_ref\\\",\\\"dir\\\":\\\"$WORKDIR\\\"}]\"",
                     {{"version_ref", "v1"}});
    REQUIRE(r.versions.size() == 1);
    CHECK(r.versions[0]["seen"] == "v1");
    CHECK_FALSE(std::filesystem::exists(r.versions[0]["dir"].get<std::string>()));
  }

  TEST_CASE("a check that hangs is stopped at its timeout") {
    fixture f;
    auto start = std::chrono::steady_clock::now();
    auto r = worker::execute_check({{"sleep", {"$args"}}, {}, {"30"}, ""}, {}, f.opts, 200ms);
    REQUIRE(r.error);
    CHECK(*r.error == "check timed out after 200ms");
    CHECK(std::chrono::steady_clock::now() - start < 5s);
  }

  TEST_CASE("a cached resource's command gets its own $CACHE_DIR below the cache root, kept") {
    fixture f;
    f.opts.cache_root = f.opts.work_root / "cache";
    work::command_spec cmd{{"$shell", {"-ec", "$cmd"}},
                           {{"shell", "/bin/sh"},
                            {"cmd",
                             R"sh(echo -n x >> "$CACHE_DIR/n"; printf '[{"n":"%s"}]\n' "$(cat "$CACHE_DIR/n")")sh"}},
                           {},
                           "main/p/git.src"};
    auto first = worker::execute_check(cmd, {}, f.opts, 5s);
    auto second = worker::execute_check(cmd, {}, f.opts, 5s);
    CHECK_FALSE(second.error);
    REQUIRE(second.versions.size() == 1);
    CHECK(second.versions[0]["n"] == "xx");  // the directory outlived the first check
    CHECK(std::filesystem::exists(f.opts.cache_root / "main" / "p" / "git.src" / "n"));
    (void)first;
  }

  TEST_CASE("a cache path that is not a relative path of plain names is refused") {
    fixture f;
    f.opts.cache_root = f.opts.work_root / "cache";
    for (std::string bad : {"../escape", "/etc", "main/../../x", "./x", ""}) {
      if (bad.empty()) continue;  // "" means no cache at all
      work::command_spec cmd{{"$shell", {"-ec", "$cmd"}},
                             {{"shell", "/bin/sh"}, {"cmd", "echo '[]'"}}, {}, bad};
      auto r = worker::execute_check(cmd, {}, f.opts, 5s);
      CAPTURE(bad);
      REQUIRE(r.error);
      CHECK(r.error->find("refused cache directory") != std::string::npos);
    }
  }
}
