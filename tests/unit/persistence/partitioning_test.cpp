// Cluster mode's routing (persistence/partitioning.hpp): the partition of a pipeline is fixed
// forever, and every key of the layout in keys.hpp has a route; a key nobody classified fails here.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "persistence/keys.hpp"
#include "persistence/partitioning.hpp"

using namespace pikoci::persistence;
using kind = route::kind;

namespace {

constexpr int P = 12;
const std::string pipe = "pipe-a";  // partition_of(pipe, 12) is checked below

std::string keys_header() {
  std::ifstream in(std::string(PIKOCI_SOURCE_DIR) + "/persistence/keys.hpp");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The key layouts keys.hpp documents in its header comment ("build/<p>/<job>/<build id>").
std::set<std::string> documented_layouts() {
  std::set<std::string> out;
  std::istringstream in(keys_header());
  static const std::regex layout(R"(^//   ((?:[a-z_]+|<[^>]+>)(?:/(?:[a-z_]+|<[^>]+>))*))");
  std::string line;
  std::smatch m;
  while (std::getline(in, line))
    if (std::regex_search(line, m, layout)) out.insert(m[1]);
  return out;
}

/// The first component of every key keys.hpp builds (`join({"tag", ...`).
std::set<std::string> built_tags() {
  std::set<std::string> out;
  auto text = keys_header();
  static const std::regex call(R"re(join\(\{"([a-z_]+)")re");
  for (std::sregex_iterator it(text.begin(), text.end(), call), end; it != end; ++it)
    out.insert((*it)[1]);
  return out;
}

/// A key of `layout` with sample names ("/" is the NUL separator).
std::string sample_key(const std::string& layout) {
  static const std::map<std::string, std::string> samples = {
      {"<p>", pipe},           {"<k>", "3"},
      {"<id>", keys::id(42)},  {"<build id>", keys::id(7)},
      {"<message id>", "m-1"}, {"<job>", "unit"},
      {"<name>", "token"},     {"<canonical>", "git:src"}};
  std::string key;
  std::istringstream in(layout);
  std::string part;
  while (std::getline(in, part, '/')) {
    if (!key.empty()) key.push_back('\0');
    if (part.front() == '<') {
      auto it = samples.find(part);
      REQUIRE_MESSAGE(it != samples.end(), "no sample for ", part, " in ", layout);
      part = it->second;
    }
    key += part;
  }
  return key;
}

std::string show(const route& r) {
  const char* names[] = {"partition", "global", "local", "unknown"};
  return std::string(names[static_cast<int>(r.k)]) + " " + std::to_string(r.partition);
}

write_op put(std::string key, std::string scope = "") {
  return {std::move(key), std::string("v"), false, std::move(scope)};
}

}  // namespace

TEST_SUITE("persistence.partitioning") {
  TEST_CASE("fnv1a64 and partition_of are fixed: a change would move every stored pipeline") {
    CHECK(fnv1a64("") == 0xcbf29ce484222325ull);
    CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cull);
    CHECK(fnv1a64("foobar") == 0x85944171f73967e8ull);
    CHECK(partition_of("hello", 12) == 3);
    CHECK(partition_of("My Pipeline", 12) == 3);
    CHECK(partition_of("caf\xc3\xa9", 12) == 5);  // the UTF-8 bytes of "café"
    CHECK(partition_of("deploy-prod", 12) == 4);
    CHECK(partition_of("x", 63) == 59);
    CHECK(partition_of("a", 1) == 0);
    CHECK(partition_of("a", 0) == -1);
    CHECK(partition_of("a", 64) == -1);
  }

  TEST_CASE("names spread over every partition") {
    std::map<int, int> count;
    for (int i = 0; i < 1200; ++i) ++count[partition_of("pipeline-" + std::to_string(i), P)];
    REQUIRE(count.size() == P);
    for (auto [k, n] : count) {
      CHECK(k >= 0);
      CHECK(k < P);
      CHECK(n > 50);  // 100 each on average
    }
  }

  TEST_CASE("every key keys.hpp documents or builds has its route") {
    const int kp = partition_of(pipe, P);
    // The one table of where each key goes (docs of the design: "What a partition owns").
    const std::map<std::string, route> expected = {
        {"meta/format", {kind::local, -1}},
        {"meta/admin", {kind::local, -1}},
        {"meta/cluster", {kind::global, P}},
        {"meta/epoch/<k>", {kind::partition, 3}},
        {"meta/changelog/<k>", {kind::local, -1}},
        {"meta/changelog_at/<k>", {kind::local, -1}},
        {"meta/global_offset", {kind::local, -1}},
        {"pipeline/<p>", {kind::partition, kp}},
        {"version/<p>/<id>", {kind::partition, kp}},
        {"usage/<p>/<build id>", {kind::partition, kp}},
        {"check/<p>/<canonical>", {kind::partition, kp}},
        {"build/<p>/<job>/<build id>", {kind::partition, kp}},
        {"outbox/<message id>", {kind::unknown, -1}},  // its key names no pipeline: needs scope
        {"catalog/<p>", {kind::global, kp}},
        {"secret/team/<name>", {kind::global, P}},
        {"secret/pipeline/<p>/<name>", {kind::global, kp}},
        {"user/<name>", {kind::global, P}},
    };
    auto layouts = documented_layouts();
    REQUIRE(layouts.size() >= 10);  // the comment was read
    for (const auto& layout : layouts) {
      auto it = expected.find(layout);
      // A new key in keys.hpp: classify it here and in route_of.
      REQUIRE_MESSAGE(it != expected.end(), "keys.hpp documents ", layout, " without a route");
      auto r = route_of(put(sample_key(layout)), P);
      INFO(layout, " routes to ", show(r));
      CHECK(r.k == it->second.k);
      CHECK(r.partition == it->second.partition);
    }
    for (const auto& [layout, r] : expected)
      CHECK_MESSAGE(layouts.count(layout) == 1, layout, " is no longer documented in keys.hpp");
    std::set<std::string> tags;
    for (const auto& layout : layouts) tags.insert(layout.substr(0, layout.find('/')));
    for (const auto& tag : built_tags())
      CHECK_MESSAGE(tags.count(tag) == 1, "keys.hpp builds keys under ", tag,
                    " but documents none");
  }

  TEST_CASE("the builders of keys.hpp route like their layouts") {
    const int kp = partition_of(pipe, P);
    auto part = [&](const std::string& key) { return route_of(put(key), P); };
    CHECK(part(keys::pipeline(pipe)).partition == kp);
    CHECK(part(keys::build(pipe, "unit", 9)).partition == kp);
    CHECK(part(keys::version(pipe, 9)).partition == kp);
    CHECK(part(keys::usage(pipe, 9)).partition == kp);
    CHECK(part(keys::check(pipe, "git:src")).partition == kp);
    CHECK(part(keys::secret(pipe, "t")).k == kind::global);
    CHECK(part(keys::secret(pipe, "t")).partition == kp);
    CHECK(part(keys::secret("", "t")).partition == P);
    CHECK(part(keys::user("ann")).partition == P);
    CHECK(part(keys::cluster()).partition == P);
    CHECK(part(keys::catalog(pipe)).k == kind::global);
    CHECK(part(keys::epoch(11)).k == kind::partition);
    CHECK(part(keys::epoch(11)).partition == 11);
    for (const auto& key : {keys::format(), keys::admin(), keys::changelog_offset(4),
                            keys::changelog_at(4), keys::global_offset()})
      CHECK(part(key).k == kind::local);
  }

  TEST_CASE("whole-prefix deletes route by the pipeline they name") {
    const int kp = partition_of(pipe, P);
    for (const char* tag : {"version", "usage", "check", "build"}) {
      auto r = route_of({keys::prefix({tag, pipe}), std::nullopt, true}, P);
      CHECK(r.k == kind::partition);
      CHECK(r.partition == kp);
    }
    auto jobs = route_of({keys::prefix({"build", pipe, "unit"}), std::nullopt, true}, P);
    CHECK(jobs.partition == kp);
    auto secrets = route_of({keys::prefix({"secret", "pipeline", pipe}), std::nullopt, true}, P);
    CHECK(secrets.k == kind::global);
    CHECK(secrets.partition == kp);
  }

  TEST_CASE("the scope decides first: an outbox message goes with its pipeline") {
    auto r = route_of(put(keys::outbox("m-1"), "deploy-prod"), P);
    CHECK(r.k == kind::partition);
    CHECK(r.partition == 4);
    write_op gone{keys::outbox("m-1"), std::nullopt, false, "deploy-prod"};
    CHECK(route_of(gone, P).partition == 4);
    CHECK(route_of(put(keys::outbox("m-1")), P).k == kind::unknown);
  }

  TEST_CASE("keys of no known layout are unknown, never a default partition") {
    for (const std::string& key :
         {std::string(), std::string("pipeline"), keys::join({"pipeline", ""}),
          keys::join({"nonsense", "p"}), keys::join({"meta", "other"}),
          keys::join({"meta", "epoch", "12"}), keys::join({"meta", "epoch", "03"}),
          keys::join({"meta", "epoch", "x"}), keys::join({"meta", "epoch"}),
          keys::join({"secret", "team"}), keys::join({"secret", "other", "x"}),
          keys::prefix({"build"}), keys::prefix({"user"})}) {
      INFO("key ", key);
      CHECK(route_of(put(key), P).k == kind::unknown);
    }
    CHECK(route_of(put(keys::pipeline(pipe)), 0).k == kind::unknown);
    CHECK(route_of(put(keys::pipeline(pipe)), 64).k == kind::unknown);
  }
}
