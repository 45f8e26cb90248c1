// `source = "http(s)://..."` for every type kind: fetched once while loading (a block of the kind
// or just its body), refused at the `source` value when the fetch or the definition fails, noted
// (not refused) by an offline load, and never left unresolved in a loaded pipeline.

#include <doctest/doctest.h>

#include <map>

#include "config/pipeline/load.hpp"

using namespace pikoci::pipeline;

namespace {

/// A fetcher over a map of URL → body; any other URL answers 404. Counts its calls.
struct fake_web {
  std::map<std::string, std::string> files;
  int calls = 0;
  fetch_fn fn() {
    return [this](const std::string& url) -> fetched {
      ++calls;
      auto it = files.find(url);
      if (it == files.end()) return {std::nullopt, "HTTP status 404"};
      return {it->second, {}};
    };
  }
};

const char* const every_kind = R"hcl(
resource_type "thing" {
  source = "https://defs.test/thing.hcl"
}
runner_type "sh2" {
  source = "https://defs.test/runner.hcl"
}
secret_type "box" {
  source = "https://defs.test/box.hcl"
  path   = "/etc/box"
}
notification_type "pager" {
  source = "https://defs.test/pager.hcl"
}
service_type "cache" {
  source = "https://defs.test/cache.hcl"
  params = ["port"]
}
resource "thing" "a" {}
notification "pager" "ops" {}
job "j" {
  service "cache" {}
  get "thing" "a" {}
  task "t" {
    run "sh2" { cmd = "true" }
  }
  notify "pager" "ops" {}
}
)hcl";

fake_web every_kind_web() {
  fake_web w;
  w.files["https://defs.test/thing.hcl"] =
      "resource_type \"whatever\" {\n  params = [\"url\"]\n  check \"shell\" {\n    cmd = "
      "\"echo []\"\n  }\n}\n";
  w.files["https://defs.test/runner.hcl"] =
      "run {\n  path = \"sh\"\n  args = [\"-c\", \"$cmd\"]\n}\n";
  w.files["https://defs.test/box.hcl"] = "get \"shell\" {\n  cmd = \"echo '{}'\"\n}\n";
  w.files["https://defs.test/pager.hcl"] =
      "params = [\"to\"]\nnotify \"shell\" {\n  cmd = \"echo $NOTIFY_MESSAGE\"\n}\n";
  w.files["https://defs.test/cache.hcl"] =
      "params = [\"version\"]\nstart \"shell\" {\n  cmd = \"echo up\"\n}\nstop \"shell\" {\n  cmd "
      "= "
      "\"echo down\"\n}\n";
  return w;
}

}  // namespace

TEST_SUITE("config.sources") {
  TEST_CASE("every kind is fetched once and filled like an inline definition") {
    auto web = every_kind_web();
    load_options opts;
    opts.fetch = web.fn();
    auto r = load("p.hcl", every_kind, opts);
    INFO(r.diags.format("p.hcl"));
    REQUIRE(r.config);
    CHECK(web.calls == 5);
    CHECK(r.notes.size() == 0);
    const auto& cfg = *r.config;
    const auto* thing = cfg.find_resource_type("thing");
    REQUIRE(thing->check);
    CHECK(thing->source_resolved);
    CHECK(thing->params == std::vector<std::string>{"url"});
    CHECK(thing->check->params.at("cmd") == "echo []");
    CHECK(cfg.find_runner_type("sh2")->run->params.at("path") == "sh");
    const auto* box = cfg.find_secret_type("box");
    REQUIRE(box->get);
    CHECK(box->config.at("path") == "/etc/box");
    const auto* pager = cfg.find_notification_type("pager");
    REQUIRE(pager->notify);
    CHECK(pager->delivery.empty());
    CHECK(pager->params == std::vector<std::string>{"to"});
    const auto* cache = cfg.find_service_type("cache");
    REQUIRE(cache->start);
    CHECK(cache->params == std::vector<std::string>{"port"});  // the declaration's win
    CHECK(cache->stop->params.at("cmd") == "echo down");
  }

  TEST_CASE("failures are errors at the source value, naming the cause") {
    auto web = every_kind_web();
    web.files.erase("https://defs.test/box.hcl");
    web.files["https://defs.test/thing.hcl"] = "check \"shell\" {\n";
    web.files["https://defs.test/pager.hcl"] = "params = [\"to\"]\n";
    load_options opts;
    opts.fetch = web.fn();
    auto r = load("p.hcl", every_kind, opts);
    REQUIRE_FALSE(r.config);
    auto text = r.diags.format("p.hcl");
    INFO(text);
    CHECK(text.find(
              "p.hcl:3:12: Invalid source: resource_type \"thing\": the definition fetched "
              "from \"https://defs.test/thing.hcl\" is invalid: https://defs.test/thing.hcl:") !=
          std::string::npos);
    CHECK(text.find("p.hcl:9:12: Cannot fetch source: secret_type \"box\": fetching "
                    "\"https://defs.test/box.hcl\" failed: HTTP status 404") != std::string::npos);
    CHECK(
        text.find("p.hcl:13:12: Invalid source: notification_type \"pager\": "
                  "\"https://defs.test/pager.hcl\" defines no notification_type with commands.") !=
        std::string::npos);
    CHECK(r.diags.size() == 3);
  }

  TEST_CASE(
      "offline: each URL source is a note, the file otherwise valid; without either, an "
      "error") {
    load_options opts;
    opts.offline = true;
    auto r = load("p.hcl", every_kind, opts);
    INFO(r.diags.format("p.hcl"));
    REQUIRE(r.config);
    REQUIRE(r.notes.size() == 5);
    CHECK(r.notes.items()[0].detail ==
          "resource_type \"thing\": \"https://defs.test/thing.hcl\" was not fetched (offline); its "
          "definition is not checked.");
    auto strict = load("p.hcl", every_kind, {});
    CHECK_FALSE(strict.config);
    CHECK(strict.diags.size() == 5);
  }

  TEST_CASE("a fetched definition cannot fetch further, and its commands' runners are checked") {
    fake_web web;
    web.files["https://defs.test/a.hcl"] =
        "resource_type \"a\" {\n  source = \"https://defs.test/b.hcl\"\n}\n";
    web.files["https://defs.test/b.hcl"] = "check \"shell\" {\n  cmd = \"true\"\n}\n";
    web.files["https://defs.test/c.hcl"] = "check \"nosuch\" {\n  cmd = \"true\"\n}\n";
    load_options opts;
    opts.fetch = web.fn();
    auto r = load("p.hcl",
                  "resource_type \"a\" {\n  source = \"https://defs.test/a.hcl\"\n}\n"
                  "resource_type \"c\" {\n  source = \"https://defs.test/c.hcl\"\n}\n",
                  opts);
    REQUIRE_FALSE(r.config);
    auto text = r.diags.format("p.hcl");
    INFO(text);
    CHECK(text.find("p.hcl:2:12: Invalid source") != std::string::npos);
    CHECK(text.find("cannot be fetched here") != std::string::npos);
    CHECK(text.find("p.hcl:5:12: Invalid source") != std::string::npos);
    CHECK(text.find("nosuch") != std::string::npos);
  }
}
