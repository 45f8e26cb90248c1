// The artifact store: content addressing, version order, what a check lists, and names, shas and
// timestamps from the wire refused before they name a file.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "persistence/artifact_store.hpp"

using namespace pikoci::persistence;
namespace fs = std::filesystem;

namespace {

struct scratch {
  fs::path dir;
  scratch() {
    std::string t = (fs::temp_directory_path() / "artifact-store-XXXXXX").string();
    dir = ::mkdtemp(t.data());
  }
  ~scratch() { fs::remove_all(dir); }
};

std::string content(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_SUITE("persistence.artifact_store") {
  TEST_CASE("versions are content-addressed, ordered, and a first check sees only the latest") {
    scratch s;
    artifact_store store(s.dir);
    std::string error;
    auto a = store.add("p", "artifact.bin", "first", error);
    REQUIRE_MESSAGE(a, error);
    auto b = store.add("p", "artifact.bin", "second", error);
    auto c = store.add("p", "artifact.bin", "first", error);  // same bytes, a new version
    REQUIRE((b && c));
    sha256 h;
    h.feed("first");
    CHECK(a->sha == h.hex());
    CHECK(c->sha == a->sha);
    CHECK(a->timestamp < b->timestamp);
    CHECK(b->timestamp < c->timestamp);
    CHECK(artifact_store::valid_timestamp(a->timestamp));

    auto latest = store.list("p", "artifact.bin", "");
    REQUIRE(latest.size() == 1);
    CHECK(latest[0].timestamp == c->timestamp);
    auto newer = store.list("p", "artifact.bin", a->timestamp);
    REQUIRE(newer.size() == 2);
    CHECK(newer[0].sha == b->sha);
    CHECK(newer[1].timestamp == c->timestamp);
    CHECK(store.list("p", "artifact.bin", c->timestamp).empty());
    CHECK(store.list("p", "artifact.other", "").empty());

    auto file = store.archive("p", "artifact.bin", b->sha);
    REQUIRE(file);
    CHECK(content(*file) == "second");
    CHECK(file_sha256(*file) == b->sha);

    store.remove_pipeline("p");
    CHECK(!fs::exists(s.dir / "p"));
    CHECK(!store.archive("p", "artifact.bin", b->sha));
  }

  TEST_CASE("names, shas and timestamps from the wire") {
    scratch s;
    artifact_store store(s.dir);
    std::string error;
    for (const char* bad : {"", ".", "..", "a/b", "../x", "a\\b", " a", "a%2Fb"}) {
      CHECK_MESSAGE(!artifact_store::valid_name(bad), bad);
      CHECK(!store.add(bad, "r", "x", error));
      CHECK(!store.add("p", bad, "x", error));
      CHECK(store.list(bad, "r", "").empty());
    }
    CHECK(!artifact_store::valid_name(std::string(129, 'a')));
    CHECK(artifact_store::valid_name("my-pipe_1.x"));
    CHECK(artifact_store::valid_name("My pipe caf\xC3\xA9"));
    CHECK(!artifact_store::valid_sha(std::string(63, 'a')));
    CHECK(!artifact_store::valid_sha(std::string(64, 'A')));
    CHECK(!artifact_store::valid_sha("../" + std::string(61, 'a')));
    CHECK(artifact_store::valid_sha(std::string(64, 'f')));
    CHECK(!store.archive("p", "r", "../../etc/passwd"));
    CHECK(!artifact_store::valid_timestamp("2026"));
    CHECK(!artifact_store::valid_timestamp(std::string(22, '1') + "x"));
    CHECK(artifact_store::valid_timestamp(std::string(23, '1')));
    // a stray file in the versions directory is not a version
    fs::create_directories(s.dir / "p" / "r" / "versions");
    std::ofstream(s.dir / "p" / "r" / "versions" / "junk");
    CHECK(store.list("p", "r", "").empty());
  }
}
