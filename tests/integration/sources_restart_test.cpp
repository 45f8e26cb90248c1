// A pipeline keeps the definitions its `source` URLs had when it was set: a restart reads them
// from its record, so neither a URL that stopped answering nor one that changed since alters it.
#include <doctest/doctest.h>

#include <atomic>

#include "tests/support/http_receiver.hpp"
#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;

TEST_SUITE("integration.sources") {
  TEST_CASE("a restart loads the sources as they were when the pipeline was set") {
    temp_dir dir;
    std::vector<std::string> flags{"--db-system", "rocksdb", "--db-path", dir.file("db")};
    auto answer = std::make_shared<std::atomic<int>>(1);  // which definition the URL serves
    http_receiver defs;
    defs.answer_with([answer](const received_request&) -> std::pair<int, std::string> {
      if (*answer == 0) return {404, "gone"};
      return {200, "run {\n  path = \"/bin/sh\"\n  args = [\"-ec\", \"echo definition-" +
                       std::to_string(answer->load()) + "\"]\n}\n"};
    });
    std::string hcl = "runner_type \"say\" {\n  source = \"" + defs.url("/say.hcl") +
                      "\"\n}\njob \"j\" {\n  task \"t\" {\n    run \"say\" {}\n  }\n}\n";
    {
      runtime_node node(flags);
      REQUIRE(node.set_pipeline("p", hcl).status < 300);
    }
    *answer = 0;  // the URL is gone: the restart must not need it
    {
      runtime_node node(flags);
      auto b = node.trigger("p", "j");
      auto done = node.wait_build("p", "j", b["number"].get<std::string>());
      CHECK_MESSAGE(done["status"] == "succeeded", done.dump(2));
      CHECK(done.dump().find("definition-1") != std::string::npos);
    }
    *answer = 2;  // the URL now says something else: the pipeline still runs what it was set with
    runtime_node node(flags);
    auto b = node.trigger("p", "j");
    auto done = node.wait_build("p", "j", b["number"].get<std::string>());
    CHECK(done.dump().find("definition-1") != std::string::npos);
    CHECK(defs.requests().size() == 1);  // fetched once, when it was set
  }
}
