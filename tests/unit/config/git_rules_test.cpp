// What the built-in git type cannot run is refused when the pipeline is loaded, at the resource.

#include <doctest/doctest.h>

#include "config/pipeline/load.hpp"

using namespace pikoci::pipeline;

namespace {

std::string errors(const std::string& params, const std::string& extra = "") {
  auto r =
      load("p.hcl", extra + "resource \"git\" \"src\" {\n  params {\n" + params + "  }\n}\n", {});
  return r.diags.format("p.hcl");
}

}  // namespace

TEST_SUITE("config.git") {
  TEST_CASE("a git resource that can run loads") {
    CHECK(errors("url = \"file:///srv/a.git\"\n") == "");
    CHECK(errors("url = \"file:///srv/a.git\"\n tag = true\n") == "");
    CHECK(errors("url = \"https://github.com/o/r\"\n pr = true\n token = \"t\"\n") == "");
    CHECK(errors("url = \"https://git.example.org/o/r\"\n pr = \"true\"\n token = \"t\"\n"
                 " provider = \"forgejo\"\n") == "");
    // a type of the pipeline's own named git is not the built-in one
    CHECK(errors("x = 1\n", "resource_type \"git\" {}\n") == "");
  }

  TEST_CASE("what the git type cannot run is refused at the resource") {
    CHECK(errors("") ==
          "p.hcl:1:1: Invalid git resource: resource \"git.src\": the git type needs a `url` "
          "param (the repository to track).\n");
    CHECK(errors("url = \"https://example.org/o/r\"\n provider = \"bitbucket\"\n") ==
          "p.hcl:1:1: Invalid git resource: resource \"git.src\": unknown provider "
          "\"bitbucket\" (github, gitlab, gitea or forgejo).\n");
    CHECK(errors("url = \"https://github.com/o/r\"\n pr = true\n") ==
          "p.hcl:1:1: Invalid git resource: resource \"git.src\": pr = true lists the open pull "
          "requests through the provider's API, which needs a `token`.\n");
    CHECK(errors("url = \"https://example.org/o/r\"\n pr = true\n token = \"t\"\n") ==
          "p.hcl:1:1: Invalid git resource: resource \"git.src\": pr = true: which API "
          "\"example.org\" speaks is not known; set provider to github, gitlab or gitea.\n");
    CHECK(errors("url = \"file:///srv/a\"\n pr = true\n token = \"t\"\n") ==
          "p.hcl:1:1: Invalid git resource: resource \"git.src\": pr = true needs a provider's "
          "API, and the url \"file:///srv/a\" has no host.\n");
    CHECK(errors("url = \"u\"\n pr = true\n tag = true\n token = \"t\"\n provider = \"github\"\n")
              .find("pr and tag are two modes") != std::string::npos);
    CHECK(errors("url = \"u\"\n tag = \"yes\"\n").find("tag is \"yes\": it takes true or false") !=
          std::string::npos);
    CHECK(errors("url = \"u\"\n name = \"../x\"\n").find("must be a directory inside") !=
          std::string::npos);
    CHECK(errors("url = \"u\"\n branch = \"--x\"\n").find("starts with '-'") != std::string::npos);
  }

  TEST_CASE("the rules follow the built-in through a source") {
    auto r = load("p.hcl",
                  "resource_type \"repo\" {\n  source = \"pikoci://git\"\n}\n"
                  "resource \"repo\" \"src\" {\n}\n",
                  {});
    CHECK(r.diags.format("p.hcl").find("p.hcl:4:1: Invalid git resource") != std::string::npos);
  }
}
