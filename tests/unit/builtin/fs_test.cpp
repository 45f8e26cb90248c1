// The fs type's handlers over a map environment (builtin/fs.cpp).
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "builtin/handlers.hpp"

using namespace pikoci;
namespace fs = std::filesystem;

namespace {

struct env_fixture {
  fs::path root = fs::temp_directory_path() / ("pikoci-fs-" + std::to_string(getpid()));
  std::map<std::string, std::string> vars;
  std::ostringstream out, err;
  env_fixture() { fs::create_directories(root / "tree" / "sub"); }
  ~env_fixture() { fs::remove_all(root); }
  void write(const std::string& rel, const std::string& text) {
    std::ofstream(root / rel) << text;
  }
  builtin::context ctx() {
    out.str("");
    err.str("");
    return builtin::context(
        [this](const std::string& k) -> std::optional<std::string> {
          auto it = vars.find(k);
          if (it == vars.end()) return std::nullopt;
          return it->second;
        },
        out, err);
  }
  /// The versions the last run printed (its last line).
  nlohmann::json versions() const {
    std::string text = out.str();
    text.pop_back();
    return nlohmann::json::parse(text.substr(text.rfind('\n') + 1));
  }
};

}  // namespace

TEST_SUITE("builtin.fs") {
  TEST_CASE("a tree gets a version, the same content none, any change a new one") {
    env_fixture f;
    f.write("tree/a", "1");
    f.write("tree/sub/b", "2");
    f.vars["param_path"] = (f.root / "tree").string();
    REQUIRE(builtin::fs_check(f.ctx()) == 0);
    auto first = f.versions();
    REQUIRE(first.size() == 1);
    std::string hash = first[0]["hash"];

    f.vars["version_hash"] = hash;
    REQUIRE(builtin::fs_check(f.ctx()) == 0);
    CHECK(f.versions() == nlohmann::json::array());

    for (auto change : {+[](env_fixture& e) { e.write("tree/sub/b", "3"); },
                        +[](env_fixture& e) { fs::rename(e.root / "tree/a", e.root / "tree/c"); },
                        +[](env_fixture& e) { fs::create_directory(e.root / "tree/empty"); }}) {
      change(f);
      REQUIRE(builtin::fs_check(f.ctx()) == 0);
      auto next = f.versions();
      REQUIRE(next.size() == 1);
      CHECK(next[0]["hash"] != f.vars["version_hash"]);
      f.vars["version_hash"] = next[0]["hash"];
    }
  }

  TEST_CASE("a missing path is nothing new; a missing param is an error") {
    env_fixture f;
    f.vars["param_path"] = (f.root / "nope").string();
    REQUIRE(builtin::fs_check(f.ctx()) == 0);
    CHECK(f.versions() == nlohmann::json::array());
    f.vars.erase("param_path");
    CHECK(builtin::fs_check(f.ctx()) == 1);
    CHECK(f.err.str().find("needs a `path` param") != std::string::npos);
  }

  TEST_CASE("a get copies the file or the tree into the work directory") {
    env_fixture f;
    f.write("tree/sub/b", "2");
    fs::create_directories(f.root / "work");
    f.vars["WORKDIR"] = (f.root / "work").string();
    f.vars["param_path"] = (f.root / "tree").string();
    REQUIRE(builtin::fs_pull(f.ctx()) == 0);
    CHECK(fs::exists(f.root / "work" / "sub" / "b"));
  }
}
