// Masking resolved secret values (reference §1.10): whole texts, JSON, and streams whose chunks
// split a value.
#include <doctest/doctest.h>

#include "actors/model/secrets.hpp"

using namespace pikoci;

TEST_SUITE("model.secrets") {
  TEST_CASE("values of 3+ characters are masked, longer ones first; short ones never") {
    work::masker m({"ab", "hunter2", "hunter2-long", "xyz"});
    CHECK(m.mask("pw=hunter2 and hunter2-long, ab xyz") == "pw=*** and ***, ab ***");
    CHECK(m.longest() == 12);
    CHECK(work::masker({"ab"}).empty());
    CHECK(work::masker().mask("as is") == "as is");
  }

  TEST_CASE("JSON: strings inside objects and arrays, keys kept") {
    work::masker m({"s3cret"});
    auto j = m.mask_json({{"ref", "s3cret"}, {"list", {"a", "x-s3cret-y"}}, {"n", 5}});
    CHECK(j == nlohmann::json{{"ref", "***"}, {"list", {"a", "x-***-y"}}, {"n", 5}});
  }

  TEST_CASE("a stream masks a value split across chunks and holds back only what may be one") {
    work::masker m({"topsecret"});
    work::mask_stream s;
    std::string out = s.feed(m, "value: top");
    CHECK(out == "value: ");  // "top" may start the value
    CHECK(s.holding());
    out += s.feed(m, "sec");
    out += s.feed(m, "ret!\n");
    out += s.finish(m);
    CHECK(out == "value: ***!\n");
  }

  TEST_CASE("a held-back tail that was no value comes out at the next chunk or at the end") {
    work::masker m({"topsecret"});
    work::mask_stream s;
    std::string out = s.feed(m, "a top");
    out += s.feed(m, "ic\n");
    CHECK(out == "a topic\n");
    out = s.feed(m, "tops");
    out += s.finish(m);
    CHECK(out == "tops");
  }

  TEST_CASE("at the end, a shorter value inside the held-back tail is masked") {
    work::masker m({"abc", "abcdef"});
    work::mask_stream s;
    std::string out = s.feed(m, "x abcd");
    CHECK(out == "x ");
    out += s.finish(m);
    CHECK(out == "x ***d");
  }

  TEST_CASE("byte by byte") {
    work::masker m({"p4ssw0rd", "other"});
    work::mask_stream s;
    std::string in = "login p4ssw0rd p4ss other\n", out;
    for (char c : in) out += s.feed(m, std::string(1, c));
    out += s.finish(m);
    CHECK(out == "login *** p4ss ***\n");
  }
}
