// The stores behind persistence/store.hpp: the same behaviour from memory and RocksDB, the
// format version, refusals, and export.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>

#include <stdlib.h>

#include "persistence/archive.hpp"
#include "persistence/keys.hpp"
#include "persistence/store.hpp"

using namespace pikoci;
using namespace pikoci::persistence;

namespace {

/// A fresh directory, removed at the end.
struct scratch {
  std::filesystem::path path;
  scratch() {
    char tmpl[] = "/tmp/pikoci-store-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~scratch() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::map<std::string, std::string> all(const store& s, const std::string& prefix = "") {
  std::map<std::string, std::string> out;
  s.scan(prefix, [&](std::string_view k, std::string_view v) { out[std::string(k)] = v; });
  return out;
}

void exercise(store& s) {
  s.write({{keys::build("p", "a", 2), "two"},
           {keys::build("p", "a", 10), "ten"},
           {keys::build("p", "b", 1), "b1"},
           {keys::build("q", "a", 1), "q1"}});
  auto a = all(s, keys::prefix({"build", "p", "a"}));
  REQUIRE(a.size() == 2);
  CHECK(a.begin()->second == "two");  // zero-padded ids: key order is id order
  CHECK(all(s, keys::prefix({"build", "p"})).size() == 3);
  s.write({{keys::build("p", "a", 2), std::nullopt}});
  CHECK_FALSE(s.get(keys::build("p", "a", 2)));
  s.write({{keys::prefix({"build", "p"}), std::nullopt, true}});
  CHECK(all(s, keys::prefix({"build", "p"})).empty());
  CHECK(s.get(keys::build("q", "a", 1)) == "q1");
}

}  // namespace

TEST_SUITE("persistence.store") {
  TEST_CASE("memory and RocksDB stores behave alike") {
    auto mem = open_memory_store();
    exercise(*mem);
    scratch dir;
    auto db = open_rocksdb_store(dir.file("db"));
    exercise(*db);
    CHECK(db->get(keys::format()) == std::to_string(format_version));
  }

  TEST_CASE("a RocksDB store keeps what was written across a reopen") {
    scratch dir;
    open_rocksdb_store(dir.file("db"))->write({{keys::pipeline("p"), "{}"}});
    CHECK(open_rocksdb_store(dir.file("db"))->get(keys::pipeline("p")) == "{}");
  }

  TEST_CASE("unsynced writes: the same batches, kept across a clean reopen") {
    auto mem = open_memory_store();
    mem->write({{keys::pipeline("p"), "one"}}, false);
    mem->write({{keys::pipeline("p"), "two"}, {keys::build("p", "a", 1), "b"}}, false);
    CHECK(mem->get(keys::pipeline("p")) == "two");
    CHECK(mem->get(keys::build("p", "a", 1)) == "b");
    scratch dir;
    {
      auto db = open_rocksdb_store(dir.file("db"));
      db->write({{keys::pipeline("p"), "one"}}, false);
      db->write({{keys::pipeline("p"), "two"}, {keys::build("p", "a", 1), "b"}}, false);
      db->write({{keys::prefix({"build", "p"}), std::nullopt, true}}, false);
      CHECK(db->get(keys::pipeline("p")) == "two");
      CHECK_FALSE(db->get(keys::build("p", "a", 1)));
    }
    auto db = open_rocksdb_store(dir.file("db"));
    CHECK(db->get(keys::pipeline("p")) == "two");
    CHECK(all(*db, keys::prefix({"build"})).empty());
  }

  TEST_CASE("a newer format, a foreign database and a second opener are refused") {
    scratch dir;
    open_rocksdb_store(dir.file("db"))->write({{keys::format(), "9"}});
    CHECK_THROWS_WITH_AS(open_rocksdb_store(dir.file("db")),
                         doctest::Contains("by a newer pikoci-node"), store_error);
    CHECK(open_memory_store()->get(keys::format()) == std::to_string(format_version));
    // a RocksDB database of someone else: data without our format key
    {
      auto s = open_rocksdb_store(dir.file("other"));
      s->write({{keys::format(), std::nullopt}, {"theirs", "x"}});
    }
    CHECK_THROWS_WITH_AS(open_rocksdb_store(dir.file("other")),
                         doctest::Contains("not a pikoci-node store"), store_error);
    auto held = open_rocksdb_store(dir.file("held"));
    CHECK_THROWS_WITH_AS(open_rocksdb_store(dir.file("held")),
                         doctest::Contains("in use by another process"), store_error);
  }

  TEST_CASE("a format-1 store is migrated on open: build records split into two lines") {
    scratch dir;
    const std::string old_record =
        R"({"id":1,"status":"succeeded","steps":[{"id":"s1","logs":"ok\n"}],"hooks":[]})";
    {
      auto s = open_rocksdb_store(dir.file("db"));
      s->write({{keys::format(), "1"},
                {keys::build("p", "a", 1), old_record},
                {keys::pipeline("p"), R"({"name":"p","steps":[]})"}});
    }
    auto s = open_rocksdb_store(dir.file("db"));
    CHECK(s->get(keys::format()) == std::to_string(format_version));
    auto rec = s->get(keys::build("p", "a", 1));
    REQUIRE(rec);
    auto nl = rec->find('\n');
    REQUIRE(nl != std::string::npos);
    auto summary = nlohmann::json::parse(rec->substr(0, nl));
    auto steps = nlohmann::json::parse(rec->substr(nl + 1));
    CHECK(summary == nlohmann::json::parse(R"({"id":1,"status":"succeeded"})"));
    CHECK(steps.at("steps").at(0).at("logs") == "ok\n");
    CHECK(steps.at("hooks").empty());
    // other keys are not build records and stay as they were
    CHECK(s->get(keys::pipeline("p")) == R"({"name":"p","steps":[]})");
  }

  TEST_CASE("export: a consistent RocksDB copy that opens as a store, from either kind") {
    scratch dir;
    auto mem = open_memory_store();
    mem->write({{keys::pipeline("p"), "{\"name\":\"p\"}"}, {keys::build("p", "a", 1), "b"}});
    mem->export_to(dir.file("from-mem"));
    auto copy = open_rocksdb_store(dir.file("from-mem"));
    CHECK(all(*copy) == all(*mem));
    copy->export_to(dir.file("from-rocks"));
    CHECK(all(*open_rocksdb_store(dir.file("from-rocks"))) == all(*mem));
    CHECK_THROWS_AS(mem->export_to(dir.file("from-mem")), store_error);  // exists: untouched
  }
}

TEST_SUITE("persistence.archive") {
  TEST_CASE("a directory packs and unpacks to the same files; bad archives write nothing") {
    scratch dir;
    std::filesystem::create_directories(dir.file("src"));
    std::ofstream(dir.file("src/a")) << "alpha";
    std::ofstream(dir.file("src/empty")) << "";
    std::string big(70000, 'x');
    std::ofstream(dir.file("src/big")) << big;
    auto tar = pack_directory(dir.file("src"));
    CHECK(tar.size() % 512 == 0);
    unpack_directory(tar, dir.file("dst"));
    auto read = [](const std::string& p) {
      std::ifstream in(p);
      return std::string(std::istreambuf_iterator<char>(in), {});
    };
    CHECK(read(dir.file("dst/a")) == "alpha");
    CHECK(read(dir.file("dst/empty")).empty());
    CHECK(read(dir.file("dst/big")) == big);
    CHECK_THROWS_AS(unpack_directory(tar, dir.file("dst")), store_error);  // exists
    // truncated, corrupted header, a path in a name: refused before anything is written
    CHECK_THROWS_AS(unpack_directory(tar.substr(0, 700), dir.file("t1")), store_error);
    auto bad = tar;
    bad[10] ^= 1;
    CHECK_THROWS_AS(unpack_directory(bad, dir.file("t2")), store_error);
    CHECK_THROWS_AS(unpack_directory("", dir.file("t3")), store_error);
    CHECK_FALSE(std::filesystem::exists(dir.file("t1")));
    CHECK_FALSE(std::filesystem::exists(dir.file("t2")));
  }
}
