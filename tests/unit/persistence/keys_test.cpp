// Reading a key's components (persistence/keys.hpp): the one split the partition router, the
// stored pipelines' loader, the replicated records and the secret store share.
#include "persistence/keys.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace pikoci::persistence;

TEST_SUITE("persistence.keys") {
  TEST_CASE("split gives the components of every layout, as views into the key") {
    auto b = keys::build("p", "job", 7);
    auto parts = keys::split(b);
    CHECK(parts.count == 4);
    CHECK_FALSE(parts.more);
    CHECK(parts[0] == "build");
    CHECK(parts[1] == "p");
    CHECK(parts[2] == "job");
    CHECK(parts[3] == keys::id(7));
    CHECK(parts[3].data() == b.data() + b.size() - 20);  // nothing copied

    // the parts are views: the key must outlive them
    const auto team_key = keys::secret("", "TOKEN"), scoped_key = keys::secret("p", "TOKEN");
    auto team = keys::split(team_key);
    CHECK(team.count == 3);
    CHECK(team[1] == "team");
    auto scoped = keys::split(scoped_key);
    CHECK(scoped.count == 4);
    CHECK(scoped[2] == "p");
    CHECK(scoped[3] == "TOKEN");
    CHECK(keys::split(keys::format()).count == 2);
  }

  TEST_CASE("missing components read as empty; empty components are kept") {
    auto none = keys::split("");
    CHECK(none.count == 1);
    CHECK(none[0].empty());
    CHECK(none[1].empty());
    auto one = keys::split("user");
    CHECK(one.count == 1);
    CHECK(one[0] == "user");
    CHECK(one[4].empty());
    CHECK(one[99].empty());
    const std::string with_empties("a\0\0b\0", 5);
    auto empties = keys::split(with_empties);
    CHECK(empties.count == 4);
    CHECK(empties[1].empty());
    CHECK(empties[2] == "b");
    CHECK(empties[3].empty());
  }

  TEST_CASE("a key longer than the capacity keeps its first components and says there is more") {
    std::string five = keys::join({"a", "b", "c", "d", "e"});
    auto exact = keys::split(five);
    CHECK(exact.count == keys::parts::capacity);
    CHECK_FALSE(exact.more);
    CHECK(exact[4] == "e");
    // a chunk of a large value: key + "\0\x01" + i
    const std::string chunk_key = five + std::string("\0\x01", 2) + "3";
    auto chunk = keys::split(chunk_key);
    CHECK(chunk.count == keys::parts::capacity);
    CHECK(chunk.more);
    CHECK(chunk[4] == "e");  // the fifth component alone, not the rest of the key
    const std::string user_chunk_key = keys::user("alice") + std::string("\0\x01", 2) + "0";
    auto user_chunk = keys::split(user_chunk_key);
    CHECK(user_chunk.count == 3);
    CHECK(user_chunk[1] == "alice");
  }
}
