// The built-in `file` secret type's formats and the vault handler's KV v2 path.
#include <doctest/doctest.h>

#include "builtin/secret_formats.hpp"

using namespace pikoci;
using nlohmann::json;

namespace {
json parse(const std::string& text, const std::string& format) {
  std::string error;
  auto j = builtin::parse_secret_file(text, format, error);
  return j ? *j : json(error);
}
}  // namespace

TEST_SUITE("builtin.secret_formats") {
  TEST_CASE("the format comes from `format`, else the extension") {
    CHECK(builtin::secret_file_format("/a/b.json", "") == "json");
    CHECK(builtin::secret_file_format("x.env", "") == "env");
    CHECK(builtin::secret_file_format("x.yml", "") == "yaml");
    CHECK(builtin::secret_file_format("x.yaml", "") == "yaml");
    CHECK(builtin::secret_file_format("id_rsa", "") == "raw");
    CHECK(builtin::secret_file_format("x.json", "raw") == "raw");
  }

  TEST_CASE("json: a whole (multi-line) object") {
    CHECK(parse("{\n \"user\": \"u\",\n \"n\": 3\n}\n", "json") == json{{"user", "u"}, {"n", 3}});
    CHECK(parse("[1]", "json") == json("not a JSON object"));
  }

  TEST_CASE("env: KEY=VALUE, comments, export, quotes; invalid names ignored") {
    auto j =
        parse("# c\nexport A=1\nB=\"two words\"\nC='x=y'\n1BAD=no\nnot a pair\n D = d \n", "env");
    CHECK(j == json{{"A", "1"}, {"B", "two words"}, {"C", "x=y"}, {"D", "d"}});
  }

  TEST_CASE("yaml: flat maps only") {
    auto j =
        parse("---\n# c\nuser: admin\npass: \"p: w # x\"\nport: 5432 # comment\nurl: http://h:1/\n",
              "yaml");
    CHECK(j ==
          json{{"user", "admin"}, {"pass", "p: w # x"}, {"port", "5432"}, {"url", "http://h:1/"}});
    CHECK(parse("db:\n  user: a\n", "yaml").get<std::string>().find("flat") != std::string::npos);
    CHECK(parse("- a\n", "yaml").get<std::string>().find("flat") != std::string::npos);
  }

  TEST_CASE("raw: the whole content under `content`; unknown formats refused") {
    CHECK(parse("line1\nline2\n", "raw") == json{{"content", "line1\nline2\n"}});
    CHECK(parse("x", "toml").get<std::string>().find("unknown format") != std::string::npos);
  }

  TEST_CASE("vault: `vault kv get` paths become KV v2 read paths") {
    CHECK(builtin::vault_kv2_api_path("secret/app") == "secret/data/app");
    CHECK(builtin::vault_kv2_api_path("/kv/team/app") == "kv/data/team/app");
    CHECK(builtin::vault_kv2_api_path("secret/data/app") == "secret/data/app");
  }
}
