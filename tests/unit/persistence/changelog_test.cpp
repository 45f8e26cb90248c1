// The changelog codec (persistence/changelog.hpp): store batches expanded into records, the
// records applied back to another store in batches with their offsets, chunked values, a
// compacted log, restarts in the middle, hostile records, the wipe of a partition, the partition
// filter of the snapshot, and checkpoints.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <random>

#include <stdlib.h>

#include "persistence/changelog.hpp"
#include "persistence/checkpoints.hpp"
#include "persistence/keys.hpp"
#include "persistence/snapshot.hpp"
#include "persistence/store.hpp"

using namespace pikoci;
using namespace pikoci::persistence;
namespace cl = pikoci::persistence::changelog;
namespace fs = std::filesystem;

namespace {

struct scratch {
  fs::path path;
  scratch() {
    char tmpl[] = "/tmp/pikoci-changelog-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~scratch() { fs::remove_all(path); }
};

/// Everything in a store but its changelog positions (only the applied copy has those).
std::map<std::string, std::string> contents(const store& s) {
  std::map<std::string, std::string> out;
  const auto offsets = keys::prefix({"meta", "changelog"}),
             offsets_at = keys::prefix({"meta", "changelog_at"});
  s.scan("", [&](std::string_view k, std::string_view v) {
    if (k.substr(0, offsets.size()) == offsets || k.substr(0, offsets_at.size()) == offsets_at)
      return;
    out[std::string(k)] = v;
  });
  return out;
}

/// A changelog partition: records at ascending offsets, with gaps like a transactional topic's
/// (its commit markers take offsets too).
struct partition_log {
  std::vector<std::pair<std::int64_t, cl::record>> records;
  std::int64_t next = 0;

  /// Writes `ops` to `source` the way the partition's owner does: records first.
  void write(store& source, const batch& ops) {
    for (auto& r : cl::expand(ops, source)) records.emplace_back(next++, std::move(r));
    ++next;  // the commit marker
    source.write(ops);
  }

  /// What a compacted topic keeps once tombstones are past their retention: the newest
  /// record of each key, at its offset.
  partition_log compacted() const {
    std::map<std::string, std::size_t> newest;
    for (std::size_t i = 0; i < records.size(); ++i) newest[records[i].second.key] = i;
    partition_log out;
    for (std::size_t i = 0; i < records.size(); ++i)
      if (newest[records[i].second.key] == i && records[i].second.value)
        out.records.push_back(records[i]);
    out.next = next;
    return out;
  }
};

/// Applies the records after offset `from` to `target`; "" or the applier's error.
std::string apply(const partition_log& log, store& target, std::size_t batch = 1000,
                  std::int64_t from = -1, std::size_t count = SIZE_MAX) {
  cl::applier a(target, 3, batch);
  std::size_t n = 0;
  for (const auto& [offset, r] : log.records) {
    if (offset <= from) continue;
    if (n++ == count) break;
    if (auto error = a.add(r, offset); !error.empty()) {
      a.flush();
      return error;
    }
  }
  a.flush();
  return {};
}

std::string bytes(std::size_t n, char seed) {
  std::string out(n, ' ');
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>(seed + i % 23);
  return out;
}

/// A build record as the job writes it: a summary line, then the steps with their logs.
std::string build_record(const std::string& p, std::int64_t id, std::size_t log_bytes) {
  nlohmann::json summary{{"id", id}, {"pipeline", p}, {"job", "unit"}, {"status", "succeeded"}};
  nlohmann::json steps{{"steps", {{{"name", "test"}, {"log", bytes(log_bytes, 'a')}}}}};
  return summary.dump() + "\n" + steps.dump();
}

std::string outbox_record(const std::string& p) {
  return nlohmann::json{{"type", "notification"}, {"v", 1}, {"pipeline", p}}.dump();
}

/// The batches a node writes for pipeline `p`: set, versions, checks, builds with big logs.
void fill(partition_log& log, store& source, const std::string& p) {
  log.write(source, {{keys::pipeline(p), R"({"text":"job \"unit\" {}"})"},
                     {keys::version(p, 1), R"({"id":1})"},
                     {keys::check(p, "git.src"), R"({"checked_at":1})"}});
  log.write(source, {{keys::build(p, "unit", 10), build_record(p, 10, 100)},
                     {keys::usage(p, 10), R"({"inputs":[]})"},
                     {keys::outbox("m-" + p), outbox_record(p)}});
  // a log over the chunk limit, then longer (4 chunks), then shorter, then small
  log.write(source, {{keys::build(p, "unit", 11), build_record(p, 11, 1'000'000)}});
  log.write(source, {{keys::build(p, "unit", 11), build_record(p, 11, 3'000'000)},
                     {keys::version(p, 2), R"({"id":2})"}});
  log.write(source, {{keys::build(p, "unit", 11), build_record(p, 11, 1'500'000)}});
  log.write(source, {{keys::build(p, "unit", 12), build_record(p, 12, 2'000'000)},
                     {keys::build(p, "unit", 12), build_record(p, 12, 50)}});
  log.write(source, {{keys::outbox("m-" + p), std::nullopt}});
}

/// The whole-prefix deletes of a pipeline's delete (registry.cpp).
batch deleted(const std::string& p) {
  batch ops{{keys::pipeline(p), std::nullopt}};
  for (const char* tag : {"version", "usage", "check", "build"})
    ops.push_back({keys::prefix({tag, p}), std::nullopt, true});
  return ops;
}

/// Chunk records that a compacted log keeps with a value although their value has fewer chunks.
std::size_t stale_chunks(const partition_log& compacted, const store& source) {
  std::size_t stale = 0;
  for (const auto& [offset, r] : compacted.records) {
    std::string error;
    auto d = cl::decode(r, error);
    REQUIRE(d);
    if (d->what != cl::decoded::kind::chunk) continue;
    auto v = source.get(d->key);
    auto chunks = v && v->size() > cl::chunk_limit
                      ? (v->size() + cl::chunk_limit - 1) / cl::chunk_limit
                      : std::size_t{0};
    if (d->index >= chunks) ++stale;
  }
  return stale;
}

}  // namespace

TEST_SUITE("persistence.changelog") {
  TEST_CASE("a realistic store round trips through its changelog, whole and compacted") {
    auto source = open_memory_store();
    partition_log log;
    for (const char* p : {"web", "api", "docs"}) fill(log, *source, p);
    log.write(*source, {{keys::prefix({"build", "api", "unit"}), std::nullopt, true}});
    log.write(*source, deleted("docs"));
    REQUIRE(source->get(keys::build("web", "unit", 11))->size() > cl::chunk_limit);
    CHECK_FALSE(source->get(keys::build("docs", "unit", 11)));

    for (std::size_t batch : {1000, 7, 1}) {
      auto target = open_memory_store();
      REQUIRE(apply(log, *target, batch) == "");
      CHECK(contents(*target) == contents(*source));
      CHECK(cl::position_of(*target, 3).offset == log.records.back().first);
      CHECK(cl::position_of(*target, 3).at_ms > 0);
    }
    auto compacted = log.compacted();
    CHECK(compacted.records.size() < log.records.size());
    auto target = open_memory_store();
    REQUIRE(apply(compacted, *target) == "");
    CHECK(contents(*target) == contents(*source));
    CHECK(stale_chunks(compacted, *source) == 0);
  }

  TEST_CASE("a restart after any record goes on from the stored offset to the same store") {
    auto source = open_memory_store();
    partition_log log;
    fill(log, *source, "web");
    for (std::size_t cut = 0; cut <= log.records.size(); ++cut) {
      CAPTURE(cut);
      auto target = open_memory_store();
      REQUIRE(apply(log, *target, 3, -1, cut) == "");
      auto at = cl::position_of(*target, 3).offset;
      // never past a chunk whose main record was not applied yet
      if (cut > 0 && cut < log.records.size()) CHECK(at <= log.records[cut - 1].first);
      REQUIRE(apply(log, *target, 3, at) == "");
      CHECK(contents(*target) == contents(*source));
    }
  }

  TEST_CASE("a whole-prefix delete is a tombstone per key, this batch's puts and chunks included") {
    auto source = open_memory_store();
    source->write({{keys::build("p", "a", 1), "one"},
                   {keys::build("p", "a", 2), bytes(cl::chunk_limit + 1, 'x')},
                   {keys::build("p", "b", 1), "other job"},
                   {keys::build("pq", "a", 1), "other pipeline"}});
    batch ops{{keys::build("p", "a", 3), "three"},
              {keys::build("p", "a", 1), std::nullopt},
              {keys::prefix({"build", "p", "a"}), std::nullopt, true}};
    auto records = cl::expand(ops, *source);
    std::vector<std::pair<std::string, bool>> got;
    for (const auto& r : records) got.emplace_back(r.key, r.value.has_value());
    auto a1 = keys::build("p", "a", 1), a2 = keys::build("p", "a", 2),
         a3 = keys::build("p", "a", 3);
    std::vector<std::pair<std::string, bool>> want{
        {a3, true},                     // the put
        {a1, false},                    // the delete
        {cl::chunk_key(a2, 0), false},  // the prefix: a/1 is gone already,
        {cl::chunk_key(a2, 1), false},  // a/2 with its two chunks,
        {a2, false},                    //
        {a3, false}};                   // and the put of this batch
    CHECK(got == want);
    CHECK(cl::expand({{keys::prefix({"build", "none"}), std::nullopt, true}}, *source).empty());
  }

  TEST_CASE("a chunked value: chunks before the main record, which counts them") {
    auto source = open_memory_store();
    auto key = keys::build("p", "a", 1);
    auto value = bytes(2 * cl::chunk_limit + 5, 'v');
    auto records = cl::expand({{key, value}}, *source);
    REQUIRE(records.size() == 4);
    for (std::size_t i = 0; i < 3; ++i) CHECK(records[i].key == cl::chunk_key(key, i));
    CHECK(records[2].value->size() == 5);
    CHECK(records[3].key == key);
    CHECK(records[3].value == "");
    CHECK(records[3].headers == decltype(records[3].headers){{cl::chunks_header, "3"}});
    source->write({{key, value}});
    // shrinking to one chunk less removes the last one; a small value removes them all
    auto shrunk = cl::expand({{key, bytes(cl::chunk_limit + 1, 'w')}}, *source);
    REQUIRE(shrunk.size() == 4);
    CHECK((shrunk[2].key == cl::chunk_key(key, 2) && !shrunk[2].value));
    auto small = cl::expand({{key, "s"}}, *source);
    REQUIRE(small.size() == 4);
    for (std::size_t i = 0; i < 3; ++i)
      CHECK((small[i].key == cl::chunk_key(key, i) && !small[i].value));
    CHECK(small[3].value == "s");
    auto gone = cl::expand({{key, std::nullopt}}, *source);
    CHECK(gone.size() == 4);
    // exactly at the limit: one record
    CHECK(cl::expand({{key, bytes(cl::chunk_limit, 'e')}}, *source).size() == 4);
    CHECK(cl::expand({{keys::build("p", "a", 9), bytes(cl::chunk_limit, 'e')}}, *source).size() ==
          1);
  }

  TEST_CASE("a chunked record whose chunks are missing is an error, and stops the applier") {
    auto source = open_memory_store();
    partition_log log;
    auto key = keys::build("p", "a", 1);
    log.write(*source, {{keys::pipeline("p"), "{}"}});
    log.write(*source, {{key, bytes(3 * cl::chunk_limit, 'm')}});
    log.write(*source, {{keys::version("p", 1), "{}"}});
    auto broken = log;
    broken.records.erase(broken.records.begin() + 2);  // chunk 1 of the value
    auto target = open_memory_store();
    auto error = apply(broken, *target);
    CHECK(error.find("has 3 chunks, but 2 came before it") != std::string::npos);
    CHECK(error.find("changelog offset 5") != std::string::npos);
    CHECK(target->get(keys::pipeline("p")));  // what came before it is applied
    CHECK_FALSE(target->get(key));
    CHECK_FALSE(target->get(keys::version("p", 1)));
    CHECK(cl::position_of(*target, 3).offset == 1);  // a restart reads the chunks again

    cl::applier a(*target, 3);
    CHECK(a.add(broken.records[3].second, 10).find("but 0 came") != std::string::npos);
    CHECK(a.add({keys::version("p", 2), std::string("{}"), {}}, 11) == a.error());
  }

  TEST_CASE("records this node never writes are refused by name") {
    auto refused = [](cl::record r) {
      std::string error;
      auto d = cl::decode(r, error);
      CHECK(d.has_value() == error.empty());
      return error;
    };
    CHECK(refused({keys::format(), std::string("9"), {}}).find("local") != std::string::npos);
    CHECK(refused({keys::changelog_offset(3), std::string("9"), {}}) != "");
    CHECK(refused({keys::changelog_at(3), std::nullopt, {}}) != "");
    CHECK(refused({cl::chunk_key(keys::admin(), 0), std::string("x"), {}}) != "");
    CHECK(refused({keys::join({"meta", "epoch", "3"}), std::string("4"), {}}) == "");
    CHECK(refused({"", std::string("x"), {}}) == "record \"\": empty key");
    CHECK(refused({std::string(5000, 'k'), std::nullopt, {}}) != "");
    CHECK(refused({"k", bytes(cl::chunk_limit + 1, 'b'), {}}) != "");
    for (const char* count : {"", "0", "1", "01", "1025", "x", "3 ", "-3", "99999999999999"})
      CHECK(refused({"k", std::string(), {{cl::chunks_header, count}}}) != "");
    CHECK(refused({"k", std::string(), {{cl::chunks_header, "2"}}}) == "");
    CHECK(refused({"k", std::string("v"), {{cl::chunks_header, "2"}}}) != "");
    CHECK(refused({"k", std::nullopt, {{cl::chunks_header, "2"}}}) != "");
    CHECK(refused({"k", std::string(), {{cl::chunks_header, "2"}, {cl::chunks_header, "2"}}}) !=
          "");
    CHECK(refused({cl::chunk_key("k", 1023), std::string("x"), {}}) == "");
    for (std::string bad : {"k" + std::string("\0\x01", 2), "k" + std::string("\0\x01", 2) + "1024",
                            "k" + std::string("\0\x01", 2) + "07", std::string("\0\x01", 2) + "0"})
      CHECK(refused({bad, std::string("x"), {}}) != "");
    CHECK(refused({cl::chunk_key("k", 0), std::string("x"), {{cl::chunks_header, "2"}}}) != "");
    CHECK(refused({"k", std::string("x"), {{"m", "member"}, {"e", "7"}}}) == "");
  }

  TEST_CASE("random batches round trip, compacted and restarted; hostile records never crash") {
    std::mt19937 rng(20261203);
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    auto source = open_memory_store();
    partition_log log;
    for (int b = 0; b < 150; ++b) {
      batch ops;
      for (std::size_t i = 0, n = 1 + pick(5); i < n; ++i) {
        auto key = keys::build("p" + std::to_string(pick(3)), "j" + std::to_string(pick(2)),
                               static_cast<std::int64_t>(pick(6)));
        switch (pick(10)) {
          case 0:
            ops.push_back(
                {keys::prefix({"build", "p" + std::to_string(pick(3))}), std::nullopt, true});
            break;
          case 1:
          case 2:
            ops.push_back({key, std::nullopt});
            break;
          case 3:
            ops.push_back({key, bytes(pick(3 * cl::chunk_limit), static_cast<char>('a' + b % 20))});
            break;
          default:
            ops.push_back({key, bytes(pick(2000), static_cast<char>('a' + b % 20))});
        }
      }
      log.write(*source, ops);
    }
    auto target = open_memory_store();
    REQUIRE(apply(log, *target, 5) == "");
    CHECK(contents(*target) == contents(*source));
    auto compacted = log.compacted();
    auto fresh = open_memory_store();
    REQUIRE(apply(compacted, *fresh, 5) == "");
    CHECK(contents(*fresh) == contents(*source));
    CHECK(stale_chunks(compacted, *source) == 0);
    for (int restart = 0; restart < 20; ++restart) {
      auto part = open_memory_store();
      REQUIRE(apply(log, *part, 1 + pick(9), -1, pick(log.records.size())) == "");
      REQUIRE(apply(log, *part, 1 + pick(9), cl::position_of(*part, 3).offset) == "");
      CHECK(contents(*part) == contents(*source));
    }

    // hostile: truncated, mutated and random records
    std::size_t refused = 0;
    for (int round = 0; round < 3000; ++round) {
      auto r = log.records[pick(log.records.size())].second;
      switch (pick(6)) {
        case 0:
          r.key.resize(pick(r.key.size() + 1));
          break;
        case 1:
          if (r.value) r.value->resize(pick(r.value->size() + 1));
          break;
        case 2:
          r.headers = {{cl::chunks_header, std::to_string(static_cast<int>(rng()) % 2000)}};
          break;
        case 3:
          r.key[pick(r.key.size())] = static_cast<char>(rng());
          break;
        case 4:
          r.key = cl::chunk_key(r.key, pick(1100));
          break;
        default: {
          r.key.clear();
          for (std::size_t i = 0, n = pick(40); i < n; ++i) r.key += "\0\x01/k0123c"[pick(10)];
          r.value = pick(3) == 0 ? std::nullopt : std::optional<std::string>(bytes(pick(64), 'h'));
        }
      }
      cl::applier a(*target, 4, 1 + pick(4));
      for (int i = 0; i < 3; ++i) {
        std::string error;
        CHECK_NOTHROW(error = a.add(r, round * 10 + i));
        refused += error.empty() ? 0 : 1;
      }
      CHECK_NOTHROW(a.flush());
    }
    CHECK(refused > 0);
  }

  TEST_CASE("wiping a partition removes its pipelines' records and position, nothing else") {
    auto s = open_memory_store();
    partition_log log;
    for (const char* p : {"web", "api", "docs"}) fill(log, *s, p);
    s->write({{keys::outbox("web"), outbox_record("web")},
              {keys::outbox("api"), outbox_record("api")},
              {keys::outbox("bad"), "not json"},
              {keys::secret("web", "token"), "sealed"},
              {keys::secret("", "team"), "sealed"},
              {keys::user("ann"), "{}"},
              {keys::version("gone", 1), "{}"}});  // records of a pipeline without a document
    auto offsets = cl::offset_ops(3, 41);
    s->write(offsets);
    auto before = contents(*s);
    auto in_k = [](std::string_view p) { return p == "web" || p == "docs" || p == "gone"; };
    cl::wipe_partition(*s, 3, in_k);
    CHECK(cl::position_of(*s, 3).offset == -1);
    auto after = contents(*s);
    for (const auto& [k, v] : before) {
      bool theirs = k.find(std::string("\0web", 4)) != std::string::npos ||
                    k.find(std::string("\0docs", 5)) != std::string::npos ||
                    k.find(std::string("\0gone", 5)) != std::string::npos;
      bool secret = k.rfind("secret", 0) == 0;
      CAPTURE(k);
      CHECK(after.count(k) == (theirs && !secret ? 0u : 1u));
    }
    CHECK(s->get(keys::build("api", "unit", 11)));
    CHECK(s->get(keys::outbox("api")));
    CHECK(s->get(keys::outbox("bad")));
  }

  TEST_CASE("the snapshot of one partition holds only its pipelines, with all their records") {
    auto s = open_memory_store();
    partition_log log;
    for (const char* p : {"web", "api", "docs"}) fill(log, *s, p);
    auto all = load_pipelines(*s);
    auto some = load_pipelines(*s, [](std::string_view p) { return p != "api"; });
    REQUIRE(all.size() == 3);
    REQUIRE(some.size() == 2);
    CHECK(some[0].name == "docs");
    CHECK(some[1].name == "web");
    CHECK(some[1].builds.at("unit").size() == 3);
    CHECK(some[1].versions.size() == 2);
    CHECK(some[1].builds == all[2].builds);
    CHECK(load_pipelines(*s, [](std::string_view) { return false; }).empty());
  }

  TEST_CASE("checkpoints: the newest two kept, each a store that opens with its offsets") {
    scratch dir;
    auto db_path = dir.path / "db";
    auto live = open_rocksdb_store(db_path);
    CHECK_FALSE(checkpoints::newest(db_path));
    partition_log log;
    auto source = open_memory_store();
    fill(log, *source, "web");
    REQUIRE(apply(log, *live) == "");
    std::vector<fs::path> taken;
    for (int i = 0; i < 3; ++i) {
      live->write({{keys::version("web", 100 + i), "{}"}});
      taken.push_back(checkpoints::take(*live, db_path));
    }
    CHECK(taken[0] < taken[1]);
    CHECK(taken[1] < taken[2]);
    CHECK(taken[2].parent_path() == checkpoints::directory(db_path));
    CHECK_FALSE(fs::exists(taken[0]));
    CHECK(fs::exists(taken[1]));
    CHECK(checkpoints::newest(db_path) == taken[2]);
    // what an interrupted checkpoint leaves is removed by the next one
    auto leftover = checkpoints::directory(db_path) / "20200101T000000.000Z.tmp";
    fs::create_directories(leftover);
    auto fourth = checkpoints::take(*live, db_path);
    CHECK_FALSE(fs::exists(leftover));
    CHECK_FALSE(fs::exists(taken[1]));
    CHECK(checkpoints::newest(db_path) == fourth);

    {
      auto copy = open_rocksdb_store(fourth);
      CHECK(copy->get(keys::version("web", 102)));
      CHECK(cl::position_of(*copy, 3).offset == log.records.back().first);
      CHECK(contents(*copy) == contents(*live));
    }
    // the live store still opens with its checkpoints inside
    live.reset();
    auto again = open_rocksdb_store(db_path);
    CHECK(again->get(keys::version("web", 102)));
    CHECK(cl::position_of(*again, 3).offset == log.records.back().first);
  }
}
