// The concurrency group template (SPEC §6.1): Go text/template's subset.
#include <doctest/doctest.h>

#include "config/pipeline/group_template.hpp"

using nlohmann::json;
using pikoci::pipeline::group_template;

namespace {

const json trigger = {
    {"Pipeline", "web"},
    {"Job", "deploy"},
    {"Args", {"prod", "eu"}},
    {"Inputs", {{"env", "staging"}, {"empty", ""}}},
    {"Webhook", {{"Provider", "github"}, {"Branch", "main"}, {"Headers", {{"X-Event", "push"}}}}}};

std::string render(const std::string& text, const json& data = trigger) {
  auto t = group_template::parse(text);
  REQUIRE_MESSAGE(std::holds_alternative<group_template>(t), std::get<std::string>(t));
  auto r = std::get<group_template>(t).render(data);
  REQUIRE_MESSAGE(r.error.empty(), r.error);
  return r.text;
}

std::string parse_error(const std::string& text) {
  auto t = group_template::parse(text);
  REQUIRE(std::holds_alternative<std::string>(t));
  return std::get<std::string>(t);
}

}  // namespace

TEST_SUITE("config.group_template") {
  TEST_CASE("fields, nested fields, index and literal text") {
    CHECK(render("deploy-{{.Pipeline}}") == "deploy-web");
    CHECK(render("{{.Webhook.Provider}}/{{.Webhook.Branch}}") == "github/main");
    CHECK(render("{{index .Inputs \"env\"}}") == "staging");
    CHECK(render("{{index .Args 1}}") == "eu");
    CHECK(render("{{index .Webhook.Headers \"X-Event\"}}") == "push");
    CHECK(render("{{ .Job }}") == "deploy");
    CHECK(render("{{.Args}}") == "[prod eu]");
    CHECK(render("plain") == "plain");
  }

  TEST_CASE("if / else if / else / end with Go's truthiness") {
    CHECK(render("{{if .Webhook.Branch}}b-{{.Webhook.Branch}}{{else}}manual{{end}}") == "b-main");
    CHECK(render("{{if index .Inputs \"empty\"}}x{{else if .Args}}args{{else}}none{{end}}") ==
          "args");
    CHECK(render("{{if .Missing}}x{{else}}y{{end}}") == "y");
    CHECK(render("{{if .Args}}{{if .Job}}both{{end}}{{end}}") == "both");
    CHECK(render("a {{- if .Job}} b {{- end -}} c") == "a bc");
  }

  TEST_CASE("missing values render empty") {
    CHECK(render("{{.Webhook.Ref}}") == "");
    CHECK(render("{{index .Inputs \"nope\"}}") == "");
    CHECK(render("{{.Pipeline}}", json::object()) == "");
  }

  TEST_CASE("rendering errors") {
    auto t = std::get<group_template>(group_template::parse("{{index .Args 5}}"));
    CHECK(t.render(trigger).error == "template: group: index out of range: 5");
    auto s = std::get<group_template>(group_template::parse("{{index .Pipeline \"x\"}}"));
    CHECK(s.render(trigger).error.find("cannot index string") != std::string::npos);
  }

  TEST_CASE("parse errors name the line and the problem") {
    CHECK(parse_error("{{.Job") == "template: group:1: unclosed action");
    CHECK(parse_error("{{if .Job}}x") ==
          "template: group:1: unexpected EOF: missing {{end}} for {{if}}");
    CHECK(parse_error("x\n{{end}}") == "template: group:2: unexpected {{end}}");
    CHECK(parse_error("{{upper .Job}}") == "template: group:1: function \"upper\" not defined");
    CHECK(parse_error("{{}}") == "template: group:1: missing value for command");
    CHECK(parse_error("{{index .Args}}") ==
          "template: group:1: index needs a collection and a key");
    CHECK(parse_error("{{.A..B}}") == "template: group:1: bad field syntax: .A..B");
    CHECK(parse_error("{{\"open}}") == "template: group:1: unterminated quoted string");
    CHECK(parse_error("{{if .A}}{{else}}{{else}}{{end}}") ==
          "template: group:1: expected end; found {{else}}");
    CHECK(parse_error(std::string(5000, 'x')).find("longer than") != std::string::npos);
  }
}
