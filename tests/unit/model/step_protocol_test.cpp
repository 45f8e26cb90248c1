#include "actors/model/step_protocol.hpp"

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

using nlohmann::json;
using pikoci::work::expand;
using pikoci::work::expand_template;
using pikoci::work::flatten_version;
using pikoci::work::get_exports;
using pikoci::work::lookup_fn;
using pikoci::work::parse_check_output;
using pikoci::work::parse_put_versions;
using pikoci::work::runner_template;
using pikoci::work::task_exports;
using pikoci::work::version_env;

namespace {

using string_map = std::map<std::string, std::string>;
using strings = std::vector<std::string>;

lookup_fn from(const string_map& vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// Records every name asked for, to show which text Go would treat as a reference.
struct recording_lookup {
  strings asked;
  lookup_fn fn() {
    return [this](const std::string& name) -> std::optional<std::string> {
      asked.push_back(name);
      return "<" + name + ">";
    };
  }
};

}  // namespace

TEST_SUITE("worker.step_protocol") {
  TEST_CASE("expand replaces $name and ${name} with the looked-up value") {
    auto vars = from({{"a", "1"}, {"b_2", "two"}});
    CHECK(expand("$a", vars) == "1");
    CHECK(expand("${a}", vars) == "1");
    CHECK(expand("x$a-y", vars) == "x1-y");
    CHECK(expand("$b_2.txt", vars) == "two.txt");
    CHECK(expand("${b_2}x", vars) == "twox");
    CHECK(expand("$a$a", vars) == "11");
  }

  TEST_CASE("expand takes the longest run of name characters after a bare $") {
    auto vars = from({{"a", "1"}, {"ab", "2"}});
    CHECK(expand("$ab", vars) == "2");
    CHECK(expand("$abc", vars) == "");
    CHECK(expand("${a}bc", vars) == "1bc");
  }

  TEST_CASE("expand turns unknown names into the empty string") {
    CHECK(expand("[$missing]", from({})) == "[]");
    CHECK(expand("[${missing}]", from({})) == "[]");
  }

  TEST_CASE("expand leaves text without a dollar untouched") {
    CHECK(expand("", from({})) == "");
    CHECK(expand("plain text {braces}", from({})) == "plain text {braces}");
  }

  TEST_CASE("expand keeps a lone trailing dollar") {
    CHECK(expand("$", from({})) == "$");
    CHECK(expand("cost 5$", from({})) == "cost 5$");
  }

  TEST_CASE("expand keeps a dollar followed by a character that starts no name") {
    CHECK(expand("$ x", from({})) == "$ x");
    CHECK(expand("a$.b", from({})) == "a$.b");
    CHECK(expand("$/", from({})) == "$/");
    CHECK(expand("$\xc3\xa9", from({})) == "$\xc3\xa9");  // non-ASCII is not a name character
  }

  TEST_CASE("expand treats one shell special character or digit after $ as the whole name") {
    recording_lookup rec;
    CHECK(expand("$$", rec.fn()) == "<$>");
    CHECK(expand("$*$#$@$!$?$-", rec.fn()) == "<*><#><@><!><?><->");
    CHECK(expand("$12", rec.fn()) == "<1>2");
    CHECK(expand("$0abc", rec.fn()) == "<0>abc");
    CHECK(rec.asked == strings{"$", "*", "#", "@", "!", "?", "-", "1", "0"});
  }

  TEST_CASE("expand looks up $$ as the name \"$\", which is normally empty") {
    CHECK(expand("a$$b", from({})) == "ab");
    CHECK(expand("$$$", from({})) == "$");  // "$$" is one reference, the last "$" is trailing
  }

  TEST_CASE("expand reads ${...} up to the closing brace whatever is inside") {
    recording_lookup rec;
    CHECK(expand("${a b}", rec.fn()) == "<a b>");
    CHECK(expand("${x:-def}", rec.fn()) == "<x:-def>");
    CHECK(expand("${*}", rec.fn()) == "<*>");
    CHECK(expand("${1}0", rec.fn()) == "<1>0");
    CHECK(expand("${-x}", rec.fn()) == "<-x>");
    CHECK(expand("${{}", rec.fn()) == "<{>");
    CHECK(rec.asked == strings{"a b", "x:-def", "*", "1", "-x", "{"});
  }

  TEST_CASE("expand drops the bad syntax ${} and keeps what follows") {
    recording_lookup rec;
    CHECK(expand("a${}b", rec.fn()) == "ab");
    CHECK(expand("${}}", rec.fn()) == "}");
    CHECK(rec.asked.empty());
  }

  TEST_CASE("expand drops the ${ of an unterminated brace and keeps the rest literally") {
    recording_lookup rec;
    CHECK(expand("x${abc", rec.fn()) == "xabc");
    CHECK(expand("${", rec.fn()) == "");
    CHECK(expand("${$a", rec.fn()) == "<a>");  // the rest is scanned again
    CHECK(rec.asked == strings{"a"});
  }

  TEST_CASE("expand does not re-expand substituted values") {
    auto vars = from({{"a", "$b"}, {"b", "no"}});
    CHECK(expand("$a", vars) == "$b");
  }

  TEST_CASE("the exec template splices the step args verbatim, dollars included") {
    runner_template exec{"$path", {"$args"}};
    auto cmd = expand_template(exec, from({{"path", "echo"}, {"HOME", "/root"}}), {"a", "$HOME"});
    CHECK_FALSE(cmd.skip);
    CHECK(cmd.path == "echo");
    CHECK(cmd.args == strings{"a", "$HOME"});
  }

  TEST_CASE("spliced step args keep their empty entries and their position") {
    runner_template t{"tool", {"--first", "$args", "--last"}};
    auto cmd = expand_template(t, from({}), {"", "x", ""});
    CHECK(cmd.args == strings{"--first", "", "x", "", "--last"});
  }

  TEST_CASE("the $args element can appear more than once and splices each time") {
    runner_template t{"tool", {"$args", "$args"}};
    CHECK(expand_template(t, from({}), {"a"}).args == strings{"a", "a"});
  }

  TEST_CASE("only an element exactly equal to $args is spliced; others expand normally") {
    runner_template t{"tool", {"$args ", "x$args", "${args}"}};
    auto cmd = expand_template(t, from({{"args", "A"}}), {"ignored"});
    CHECK(cmd.args == strings{"A ", "xA", "A"});
  }

  TEST_CASE("no step args and a $args element give no argv entries for it") {
    runner_template exec{"$path", {"$args"}};
    auto cmd = expand_template(exec, from({{"path", "true"}}), {});
    CHECK(cmd.path == "true");
    CHECK(cmd.args.empty());
  }

  TEST_CASE("the shell template passes the script text unexpanded to the shell") {
    runner_template shell{"$shell", {"-ec", "$cmd"}};
    auto cmd = expand_template(shell, from({{"shell", "/bin/sh"}, {"cmd", "echo $x ${y}"}}), {});
    CHECK_FALSE(cmd.skip);
    CHECK(cmd.path == "/bin/sh");
    CHECK(cmd.args == strings{"-ec", "echo $x ${y}"});
  }

  TEST_CASE("template elements that expand to nothing are dropped from argv") {
    runner_template t{"docker", {"run", "$env", "${extra}", "$image", ""}};
    auto cmd = expand_template(t, from({{"image", "alpine"}, {"extra", ""}}), {});
    CHECK(cmd.args == strings{"run", "alpine"});
  }

  TEST_CASE("a path that expands to the empty string means skip") {
    runner_template shell{"$shell", {"-ec", "$cmd"}};
    auto cmd = expand_template(shell, from({{"cmd", "echo hi"}}), {});
    CHECK(cmd.skip);
    CHECK(cmd.path.empty());
    CHECK(cmd.args.empty());

    runner_template empty{"", {"$args"}};
    CHECK(expand_template(empty, from({}), {"a"}).skip);
  }

  TEST_CASE("a literal path is kept and expanded elements can mix literal text") {
    runner_template t{"/usr/bin/$tool", {"--url=$param_url", "-v"}};
    auto cmd = expand_template(t, from({{"tool", "git"}, {"param_url", "https://x"}}), {});
    CHECK(cmd.path == "/usr/bin/git");
    CHECK(cmd.args == strings{"--url=https://x", "-v"});
  }

  TEST_CASE("a check printing one array of objects yields those versions in order") {
    auto out = parse_check_output("cloning...\n[{\"ref\":\"a\"},{\"ref\":\"b\",\"n\":1}]\n");
    CHECK_FALSE(out.error);
    REQUIRE(out.versions.size() == 2);
    CHECK(out.versions[0] == json{{"ref", "a"}});
    CHECK(out.versions[1] == json{{"ref", "b"}, {"n", 1}});
  }

  TEST_CASE("only the last non-empty line of the check output is parsed") {
    auto out =
        parse_check_output("[{\"ref\":\"old\"}]\nnoise\n[{\"ref\":\"new\"}]\r\n  \n\t\r\n\n");
    CHECK_FALSE(out.error);
    REQUIRE(out.versions.size() == 1);
    CHECK(out.versions[0]["ref"] == "new");

    auto earlier_json = parse_check_output("[{\"ref\":\"a\"}]\ndone\n");
    REQUIRE(earlier_json.error);
    CHECK(earlier_json.versions.empty());
  }

  TEST_CASE("surrounding whitespace and a CR on the last line do not matter") {
    auto out = parse_check_output("  [ {\"ref\" : \"a\"} ]  \r");
    CHECK_FALSE(out.error);
    REQUIRE(out.versions.size() == 1);
  }

  TEST_CASE("an empty check output or an empty array means nothing new") {
    for (const char* log : {"", "\n\n", "  \r\n", "[]", "starting\n[]\n", "[ ]"}) {
      CAPTURE(log);
      auto out = parse_check_output(log);
      CHECK_FALSE(out.error);
      CHECK(out.versions.empty());
    }
  }

  TEST_CASE("a check whose last line is not JSON is an error that quotes the line") {
    auto out = parse_check_output("[{\"ref\":\"a\"}]\nfatal: repository not found\n");
    CHECK(out.versions.empty());
    REQUIRE(out.error);
    CHECK(*out.error == "check output is not a JSON array of objects: fatal: repository not found");
  }

  TEST_CASE("JSON that is not an array of objects is a check error") {
    for (const char* line : {"{\"ref\":\"a\"}", "[\"a\"]", "[{\"ref\":\"a\"},1]", "[[{}]]", "42",
                             "\"[]\"", "null", "[{\"ref\":\"a\"}", "[{\"ref\":\"a\"}] x"}) {
      CAPTURE(line);
      auto out = parse_check_output(line);
      CHECK(out.versions.empty());
      REQUIRE(out.error);
      CHECK(*out.error == std::string("check output is not a JSON array of objects: ") + line);
    }
  }

  TEST_CASE("an array of empty objects is a list of empty versions, not an error") {
    auto out = parse_check_output("[{}]");
    CHECK_FALSE(out.error);
    REQUIRE(out.versions.size() == 1);
    CHECK(out.versions[0] == json::object());
  }

  TEST_CASE("the check error echoes at most 200 characters of the line") {
    std::string line(500, 'x');
    auto out = parse_check_output(line);
    REQUIRE(out.error);
    CHECK(*out.error == "check output is not a JSON array of objects: " + std::string(200, 'x'));
  }

  TEST_CASE("the check error never cuts a UTF-8 character in half") {
    std::string line = std::string(199, 'x') + "\xc3\xa9" + std::string(50, 'y');
    auto out = parse_check_output(line);
    REQUIRE(out.error);
    CHECK(*out.error == "check output is not a JSON array of objects: " + std::string(199, 'x'));
  }

  TEST_CASE("version values may be any JSON and are kept as parsed") {
    auto out = parse_check_output(R"([{"ref":"a","meta":{"n":1.5,"ok":true},"tags":["x",null]}])");
    CHECK_FALSE(out.error);
    REQUIRE(out.versions.size() == 1);
    CHECK(out.versions[0]["meta"]["n"] == 1.5);
    CHECK(out.versions[0]["tags"][1].is_null());
  }

  TEST_CASE("a put printing a JSON array of objects on its last line yields versions") {
    auto versions = parse_put_versions("packing...\n[{\"sha\":\"abc\",\"timestamp\":\"1\"}]\n");
    REQUIRE(versions.size() == 1);
    CHECK(versions[0] == json{{"sha", "abc"}, {"timestamp", "1"}});
  }

  TEST_CASE("a put printing anything else yields no versions and no failure") {
    for (const char* log : {"", "pushed to origin\n", "[]", "{\"sha\":\"abc\"}", "[1,2]",
                            "[{\"sha\":\"a\"}]\nbye\n", "[{\"sha\":\"a\"},\"b\"]"}) {
      CAPTURE(log);
      CHECK(parse_put_versions(log).empty());
    }
  }

  TEST_CASE("flattening joins nested object keys with underscores and indexes arrays") {
    json v = json::parse(R"({"ref":"a","meta":{"n":1},"tags":["x"]})");
    CHECK(flatten_version(v) == string_map{{"ref", "a"}, {"meta_n", "1"}, {"tags_0", "x"}});

    json deep = json::parse(R"({"a":{"b":{"c":"d"}},"l":[["p","q"],{"k":"v"}]})");
    CHECK(flatten_version(deep) ==
          string_map{{"a_b_c", "d"}, {"l_0_0", "p"}, {"l_0_1", "q"}, {"l_1_k", "v"}});
  }

  TEST_CASE("flattening stringifies numbers and bools and turns null into empty") {
    json v = json::parse(
        R"({"i":1,"neg":-7,"big":18446744073709551615,"f":1.5,"whole":2.0,"tiny":0.0001,
            "huge":1e21,"t":true,"f2":false,"nil":null,"s":"1"})");
    CHECK(flatten_version(v) == string_map{{"i", "1"},
                                           {"neg", "-7"},
                                           {"big", "18446744073709551615"},
                                           {"f", "1.5"},
                                           {"whole", "2"},
                                           {"tiny", "0.0001"},
                                           {"huge", "1e+21"},
                                           {"t", "true"},
                                           {"f2", "false"},
                                           {"nil", ""},
                                           {"s", "1"}});
  }

  TEST_CASE("flattening keeps strings raw, without JSON quoting or escaping") {
    json v = {{"msg", "say \"hi\"\nbye"}, {"u", "caf\xc3\xa9"}};
    CHECK(flatten_version(v) == string_map{{"msg", "say \"hi\"\nbye"}, {"u", "caf\xc3\xa9"}});
  }

  TEST_CASE("flattening leaves out empty nested objects and arrays") {
    json v = json::parse(R"({"a":"1","o":{},"l":[]})");
    CHECK(flatten_version(v) == string_map{{"a", "1"}});
  }

  TEST_CASE("flattening anything but an object or array gives no keys") {
    CHECK(flatten_version(json("x")).empty());
    CHECK(flatten_version(json(1)).empty());
    CHECK(flatten_version(json()).empty());
    CHECK(flatten_version(json::object()).empty());
  }

  TEST_CASE("version_env prefixes every flattened key with version_") {
    json v = json::parse(R"({"ref":"a","meta":{"n":1},"tags":["x"]})");
    CHECK(version_env(v) ==
          string_map{{"version_ref", "a"}, {"version_meta_n", "1"}, {"version_tags_0", "x"}});
    CHECK(version_env(json::object()).empty());
  }

  TEST_CASE("get exports are GET_<STEP>_<KEY> with both parts made environment-safe") {
    json v = json::parse(R"({"ref":"abc","meta":{"build-id":7},"tags":["v1"]})");
    CHECK(get_exports("my-repo", v) == string_map{{"GET_MY_REPO_REF", "abc"},
                                                  {"GET_MY_REPO_META_BUILD_ID", "7"},
                                                  {"GET_MY_REPO_TAGS_0", "v1"}});
    CHECK(get_exports("timer", json{{"date", "Mon"}}) == string_map{{"GET_TIMER_DATE", "Mon"}});
  }

  TEST_CASE("get exports use the flattened keys themselves, not version_ names") {
    auto exports = get_exports("repo", json{{"ref", "a"}});
    CHECK(exports.count("GET_REPO_REF") == 1);
    CHECK(exports.count("GET_REPO_VERSION_REF") == 0);
  }

  TEST_CASE("a get of an empty version exports nothing") {
    CHECK(get_exports("repo", json::object()).empty());
  }

  TEST_CASE("task exports read KEY=VALUE lines into TASK_<STEP>_<KEY>") {
    auto exports = task_exports("build-app", "version=1.2.3\nimage_tag=abc\n");
    CHECK(exports ==
          string_map{{"TASK_BUILD_APP_VERSION", "1.2.3"}, {"TASK_BUILD_APP_IMAGE_TAG", "abc"}});
  }

  TEST_CASE("task exports split at the first equals sign") {
    auto exports = task_exports("t", "url=https://x/?a=b&c=d\nempty=\n");
    CHECK(exports == string_map{{"TASK_T_URL", "https://x/?a=b&c=d"}, {"TASK_T_EMPTY", ""}});
  }

  TEST_CASE("task exports skip blank lines, comments and lines without an equals sign") {
    auto exports = task_exports("t", "\n# comment=ignored\n   \n  # indented=comment\nnoise\nA=1");
    CHECK(exports == string_map{{"TASK_T_A", "1"}});
  }

  TEST_CASE("task exports strip the CR of CRLF lines but keep other value whitespace") {
    auto exports = task_exports("t", "a=1\r\nb= spaced \r\n");
    CHECK(exports == string_map{{"TASK_T_A", "1"}, {"TASK_T_B", " spaced "}});
  }

  TEST_CASE("task export keys are trimmed, uppercased and made environment-safe") {
    auto exports = task_exports("t", " my-key =v\nDot.ted=w\n");
    CHECK(exports == string_map{{"TASK_T_MY_KEY", "v"}, {"TASK_T_DOT_TED", "w"}});
  }

  TEST_CASE("task export lines with an empty key are ignored") {
    CHECK(task_exports("t", "=value\n  =x\n").empty());
  }

  TEST_CASE("a later task export line with the same key wins") {
    auto exports = task_exports("t", "a=1\nA=2\n");
    CHECK(exports == string_map{{"TASK_T_A", "2"}});
  }

  TEST_CASE("an empty output file gives no task exports") {
    CHECK(task_exports("t", "").empty());
    CHECK(task_exports("t", "\n\n").empty());
  }

  TEST_CASE("only the first MiB of the task output file is read") {
    const std::size_t mib = std::size_t{1} << 20;
    std::string head = "a=1\n";
    std::string filler(mib - head.size() - 4, '#');  // one long comment line
    std::string file = head + filler + "\nb=22\nc=3\n";
    // The MiB ends inside "b=22": the cut line is read as it stands, "c=3" is beyond the cap.
    auto exports = task_exports("t", file);
    CHECK(exports == string_map{{"TASK_T_A", "1"}, {"TASK_T_B", "2"}});

    std::string past = head + std::string(mib, '#') + "\nlate=1\n";
    CHECK(task_exports("t", past) == string_map{{"TASK_T_A", "1"}});
  }
}
