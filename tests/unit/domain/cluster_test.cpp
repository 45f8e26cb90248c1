// Cluster mode's shared state (domain/cluster.hpp): the partition table, the catalog, and the
// cluster's record, whose decoder refuses anything but a record of ours.
#include <doctest/doctest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "domain/cluster.hpp"

using namespace pikoci::domain::cluster;

namespace {

template <class T>
std::string error_of(const std::variant<T, std::string>& v) {
  auto* why = std::get_if<std::string>(&v);
  return why ? *why : "";
}

}  // namespace

TEST_SUITE("domain.cluster") {
  TEST_CASE("the partition table: idle at first, changes only from the state named") {
    partition_table t;
    for (int k = 0; k < partition_table::size; ++k) CHECK(t.get(k) == partition_state::idle);
    t.set(3, partition_state::restoring);
    t.set(3, partition_state::active);
    CHECK(t.active(3));
    CHECK_FALSE(t.active(4));
    CHECK(t.change(3, partition_state::active, partition_state::fenced));
    CHECK_FALSE(t.change(3, partition_state::active, partition_state::moving));
    CHECK(t.get(3) == partition_state::fenced);
    // out of range: ignored, reads idle
    t.set(64, partition_state::active);
    t.set(-1, partition_state::active);
    CHECK(t.get(64) == partition_state::idle);
    CHECK(t.get(-1) == partition_state::idle);
    CHECK_FALSE(t.change(64, partition_state::idle, partition_state::active));
    CHECK(std::string(to_string(partition_state::restoring)) == "restoring");
    CHECK(std::string(to_string(partition_state::fenced)) == "fenced");
    CHECK(std::string(to_string(partition_state::lost)) == "lost");
  }

  TEST_CASE("the partition table is read while another thread writes it") {
    partition_table t;
    std::atomic<bool> stop{false};
    std::atomic<long> writes{0};
    std::thread writer([&] {
      for (int round = 0; !stop; ++round, ++writes)
        for (int k = 0; k < partition_table::size; ++k)
          t.set(k, round % 2 ? partition_state::active : partition_state::moving);
    });
    int odd = 0;
    for (int round = 0; round < 2000; ++round)
      for (int k = 0; k < partition_table::size; ++k) {
        auto s = t.get(k);
        if (s != partition_state::active && s != partition_state::moving &&
            s != partition_state::idle)
          ++odd;
      }
    stop = true;
    writer.join();
    CHECK(odd == 0);
  }

  TEST_CASE("the catalog: apply sets and forgets, list is by name") {
    catalog c;
    pipeline_summary a{3, false, {"build", "test"}, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", {}};
    pipeline_summary b{7, true, {}, "", "", {}};
    c.apply("zeta", b);
    c.apply("alpha", a);
    REQUIRE(c.size() == 2);
    auto all = c.list();
    CHECK(all[0].first == "alpha");
    CHECK(all[0].second == a);
    CHECK(all[1].first == "zeta");
    c.apply("zeta", std::nullopt);
    CHECK_FALSE(c.get("zeta"));
    CHECK(c.get("alpha") == a);
    c.apply("nothing", std::nullopt);  // a tombstone of an unknown pipeline
    CHECK(c.size() == 1);
  }

  TEST_CASE("the catalog takes writers and readers at once") {
    catalog c;
    std::vector<std::thread> threads;
    for (int w = 0; w < 3; ++w)
      threads.emplace_back([&c, w] {
        for (int i = 0; i < 500; ++i) {
          auto name = "p" + std::to_string(w) + "-" + std::to_string(i % 50);
          c.apply(name,
                  i % 3 ? std::optional(pipeline_summary{w, false, {"j"}, "", "", {}}) : std::nullopt);
          c.list();
        }
      });
    for (auto& t : threads) t.join();
    CHECK(c.size() <= 150);
  }

  TEST_CASE("a catalog record round-trips; bad ones are refused with why") {
    pipeline_summary s{11, true, {"build", "deploy"}, "2026-01-01T00:00:00Z", "", {}};
    auto back = decode_summary(encode(s));
    REQUIRE(error_of(back) == "");
    CHECK(std::get<pipeline_summary>(back) == s);
    CHECK(error_of(decode_summary("")) == "the catalog record is not JSON");
    CHECK(error_of(decode_summary("[]")) == "the catalog record is not a JSON object");
    CHECK(error_of(decode_summary(R"({"partition":63,"paused":false,"jobs":[]})")) ==
          "the catalog record has no partition in 0..62");
    CHECK(error_of(decode_summary(R"({"partition":1,"paused":0,"jobs":[]})")) ==
          "the catalog record has no \"paused\" true or false");
    CHECK(error_of(decode_summary(R"({"partition":1,"paused":false,"jobs":[1]})")) ==
          "the catalog record has a job name that is not text");
    CHECK(error_of(decode_summary(R"({"partition":1,"paused":false,"jobs":{}})")) ==
          "the catalog record has no \"jobs\" list");
    CHECK(error_of(decode_summary(R"({"partition":1,"paused":false,"jobs":[],"created_at":5})")) ==
          "the catalog record's \"created_at\" is not text");
  }

  TEST_CASE("a catalog record keeps its webhook digests; the catalog finds a digest's pipeline") {
    pipeline_summary s{2, false, {"build"}, "", "", {}};
    s.webhook_digests = {"d1", "d2"};
    auto back = decode_summary(encode(s));
    REQUIRE(error_of(back) == "");
    CHECK(std::get<pipeline_summary>(back) == s);
    // without digests the record is as before, and a record without the field reads
    pipeline_summary plain{2, false, {"build"}, "", "", {}};
    CHECK(encode(plain).find("webhooks") == std::string::npos);
    CHECK(error_of(decode_summary(R"({"partition":1,"paused":false,"jobs":[],"webhooks":[1]})")) ==
          "the catalog record has a webhook digest that is not 1 to 128 bytes");
    CHECK(error_of(decode_summary(R"({"partition":1,"paused":false,"jobs":[],"webhooks":{}})"))
              .find("is not a list") != std::string::npos);
    catalog c;
    c.apply("one", s);
    pipeline_summary other{5, false, {}, "", "", {}};
    other.webhook_digests = {"d3"};
    c.apply("two", other);
    CHECK(c.pipeline_of_webhook("d2") == std::optional<std::string>("one"));
    CHECK(c.pipeline_of_webhook("d3") == std::optional<std::string>("two"));
    CHECK_FALSE(c.pipeline_of_webhook("d4"));
    CHECK_FALSE(c.pipeline_of_webhook(""));
    c.apply("two", std::nullopt);
    CHECK_FALSE(c.pipeline_of_webhook("d3"));
  }

  TEST_CASE("the cluster record: encoded, decoded, and anything else refused") {
    CHECK(encode(cluster_record{12, 1}) == R"({"format":1,"partitions":12})");
    auto r = decode_cluster_record(R"({"partitions":63,"format":1})");
    REQUIRE(error_of(r) == "");
    CHECK(std::get<cluster_record>(r).partitions == 63);
    CHECK(std::get<cluster_record>(r).format == 1);
    CHECK(error_of(decode_cluster_record("{")) == "the cluster record is not JSON");
    CHECK(error_of(decode_cluster_record("12")) == "the cluster record is not a JSON object");
    CHECK(error_of(decode_cluster_record(R"({"partitions":12})")) ==
          "the cluster record has no format");
    CHECK(error_of(decode_cluster_record(R"({"partitions":12,"format":2})")) ==
          "the cluster record has format 2; this node reads format 1");
    for (const char* bad :
         {R"({"partitions":0,"format":1})", R"({"partitions":64,"format":1})",
          R"({"partitions":-3,"format":1})", R"({"partitions":12.5,"format":1})",
          R"({"partitions":"12","format":1})", R"({"partitions":18446744073709551615,"format":1})"})
      CHECK(error_of(decode_cluster_record(bad)) ==
            "the cluster record has no partitions in 1..63");
    std::string huge(2 << 20, ' ');
    CHECK(error_of(decode_cluster_record(huge)).find("bytes, more than") != std::string::npos);
  }

  TEST_CASE("fuzz: random bytes and mutated records never crash the decoders") {
    std::mt19937 rng(22);
    const std::string seeds[] = {encode(cluster_record{}),
                                 encode(pipeline_summary{2, false, {"a", "b"}, "x", "y", {}})};
    for (int i = 0; i < 20000; ++i) {
      std::string text = seeds[i % 2];
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !text.empty(); ++e) {
        auto at = rng() % text.size();
        switch (rng() % 3) {
          case 0:
            text[at] = static_cast<char>(rng() % 256);
            break;
          case 1:
            text.erase(at, 1);
            break;
          default:
            text.insert(at, 1, "{}[]\",:0-e\\"[rng() % 12]);
            break;
        }
      }
      auto c = decode_cluster_record(text);
      if (auto* ok = std::get_if<cluster_record>(&c)) {
        CHECK(ok->partitions >= 1);
        CHECK(ok->partitions <= 63);
      }
      auto s = decode_summary(text);
      if (auto* ok = std::get_if<pipeline_summary>(&s)) CHECK(ok->partition < 63);
    }
  }
}
