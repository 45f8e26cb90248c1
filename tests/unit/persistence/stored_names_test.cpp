// Pipelines stored under a percent-encoded name by older versions: renamed to the decoded name
// on start-up when it is valid and free, refused (not loaded, left in the store) otherwise.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include <stdlib.h>

#include "persistence/keys.hpp"
#include "persistence/snapshot.hpp"
#include "persistence/store.hpp"

using namespace pikoci;
using namespace pikoci::persistence;
using nlohmann::json;

namespace {

struct scratch {
  std::filesystem::path path;
  scratch() {
    char tmpl[] = "/tmp/pikoci-names-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~scratch() { std::filesystem::remove_all(path); }
};

/// What an older version stored for pipeline `p` with one build of job `j`.
batch old_pipeline(const std::string& p, const std::string& j) {
  return {{keys::pipeline(p), json{{"name", p}, {"text", "job \"" + j + "\" {}\n"}}.dump()},
          {keys::build(p, j, 1),
           json{{"id", 1}, {"pipeline", p}, {"job", j}}.dump() + "\n{\"steps\":[],\"hooks\":[]}"},
          {keys::version(p, 3), R"({"id":3})"},
          {keys::usage(p, 1), R"({"job":"j"})"},
          {keys::check(p, "cron.t"), R"({})"},
          {keys::secret(p, "TOKEN"), R"({"scope":"x","sealed":"v1.x"})"}};
}

std::vector<std::string> names(const store& s) {
  std::vector<std::string> out;
  for (const auto& p : load_pipelines(s)) out.push_back(p.name);
  return out;
}

}  // namespace

TEST_SUITE("persistence.names") {
  TEST_CASE("a percent-encoded pipeline is renamed with all its records on restart") {
    scratch dir;
    {
      auto s = open_rocksdb_store(dir.path / "db");
      s->write(old_pipeline("My%20Pipeline", "build"));
      s->write(old_pipeline("caf%C3%A9", "j"));
      s->write(old_pipeline("fine", "j"));
    }
    auto s = open_rocksdb_store(dir.path / "db");
    decode_stored_names(*s);
    CHECK(names(*s) == std::vector<std::string>{"My Pipeline", "caf\xC3\xA9", "fine"});
    auto p = load_pipeline(*s, "My Pipeline");
    REQUIRE(p);
    CHECK(p->doc["name"] == "My Pipeline");
    CHECK(p->versions.size() == 1);
    CHECK(p->usage.size() == 1);
    CHECK(p->checks.size() == 1);
    REQUIRE(p->builds["build"].size() == 1);
    const auto& record = p->builds["build"][0];
    CHECK(json::parse(record.substr(0, record.find('\n')))["pipeline"] == "My Pipeline");
    CHECK(record.substr(record.find('\n')) == "\n{\"steps\":[],\"hooks\":[]}");
    // nothing is left under the old name; secrets sealed for it are gone
    for (const char* tag : {"pipeline", "version", "usage", "check", "build"}) {
      int left = 0;
      s->scan(keys::prefix({tag, "My%20Pipeline"}), [&](auto, auto) { ++left; });
      CHECK(left == 0);
    }
    CHECK_FALSE(s->get(keys::pipeline("My%20Pipeline")));
    CHECK_FALSE(s->get(keys::secret("My%20Pipeline", "TOKEN")));
    CHECK(s->get(keys::secret("fine", "TOKEN")));
    // a second start changes nothing
    decode_stored_names(*s);
    CHECK(names(*s).size() == 3);
  }

  TEST_CASE("a name that cannot be renamed is refused and left in the store") {
    auto s = open_memory_store();
    s->write(old_pipeline("My%20Pipeline", "j"));
    s->write(old_pipeline("My Pipeline", "j"));  // the decoded name is taken
    s->write(old_pipeline("a%2Fb", "j"));        // decoded, it is no valid name
    s->write(old_pipeline("bad%zz", "j"));       // not percent-encoding at all
    decode_stored_names(*s);
    CHECK(names(*s) == std::vector<std::string>{"My Pipeline"});
    CHECK(s->get(keys::pipeline("My%20Pipeline")));
    CHECK(s->get(keys::build("a%2Fb", "j", 1)));
    CHECK(s->get(keys::pipeline("bad%zz")));
    CHECK_FALSE(load_pipeline(*s, "My%20Pipeline"));
    // once the other one is deleted, the next start renames it
    s->write({{keys::pipeline("My Pipeline"), std::nullopt}});
    decode_stored_names(*s);
    CHECK(names(*s) == std::vector<std::string>{"My Pipeline"});
    CHECK(load_pipeline(*s, "My Pipeline")->builds["j"].size() == 1);
  }
}
