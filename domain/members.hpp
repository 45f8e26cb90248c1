#pragma once
// The servers sharing a Kafka topic prefix, as their hellos describe them: what one hello says,
// its JSON form (read from a topic anyone can write to, so decoded defensively), the directory of
// members built from the hellos heard, and the rule that refuses a server beside another.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pikoci::domain {

/// Milliseconds since the Unix epoch.
using wall_ms = std::int64_t;

/// A member whose last hello is older than this is not live.
constexpr std::chrono::milliseconds member_ttl{3000};
/// A hello longer than this is refused unread.
constexpr std::size_t max_hello_bytes = 64 * 1024;
/// Partition indexes a hello may name (`owned`, `standby`) are below this.
constexpr int max_member_partitions = 1024;
/// At most this many members are remembered; a hello from one more is dropped.
constexpr std::size_t max_members = 1024;

/// One server alone (`single`), or a node of a named cluster.
enum class member_mode { single, cluster };
/// `starting`: checking that it may run; `running`; `leaving`: stopped (its last hello).
enum class member_state { starting, running, leaving };

/// A partition a member claims, at its owner epoch; `state` is `active` when it serves it.
struct partition_claim {
  std::int64_t epoch = 0;
  std::string state;
};

/// What a server says every second on `<prefix>.servers`.
struct hello {
  std::string member_id;               // new at every start
  std::optional<std::string> cluster;  // null for a single server
  member_mode mode = member_mode::single;
  member_state state = member_state::starting;
  std::optional<std::string> advertise_url;  // null until it listens
  std::optional<std::string> datacenter;
  wall_ms started_at = 0;
  std::map<int, partition_claim> owned;
  std::map<int, std::int64_t> standby;  // partition → changelog lag
};

/// The JSON text of `h`.
std::string encode(const hello& h);

/// A decoded hello, or why the text is not one.
struct hello_result {
  std::optional<hello> value;
  std::string error;
};
/// Reads a hello: at most max_hello_bytes, a JSON object with the fields of `hello`, each of its
/// type and bounded (unknown fields are ignored; a missing `state` means `running`). Never throws.
hello_result decode_hello(std::string_view text);

/// A random version-4 UUID, as text: a member id.
std::string new_member_id();

/// A member as last heard.
struct member {
  hello last;
  wall_ms seen_at = 0;  // when its last hello was sent (never later than it was read)
  /// Its last hello is under member_ttl old and was not its `leaving` one.
  bool live(wall_ms now) const {
    return last.state != member_state::leaving && now - seen_at < member_ttl.count();
  }
};

/// The members heard on one topic prefix. Thread-safe: a tail thread feeds it, anyone reads it.
class members {
 public:
  /// Records `h`, sent at `sent_at`. A hello older than the one recorded for its member is
  /// ignored; after a `leaving` one the member is not live. False when dropped (the directory
  /// is full of live members).
  bool heard(const hello& h, wall_ms sent_at);
  /// The live members at `now`, by (started_at, member_id).
  std::vector<member> live(wall_ms now) const;
  /// The live member claiming partition `k` `active` with the highest epoch (then the highest
  /// member id), if any.
  std::optional<member> owner(int k, wall_ms now) const;
  /// Members remembered (live or not).
  std::size_t size() const;

 private:
  void forget_stale(wall_ms now);

  mutable std::mutex mutex_;
  std::map<std::string, member> by_id_;
};

/// Of `live` (members live now), the one claiming partition `k` `active` with the highest epoch
/// (then the highest member id), if any: the rule of members::owner.
std::optional<member> owner(int k, const std::vector<member>& live);

/// The pipeline partitions (0..partitions-1) member `self` keeps a warm copy of when the cluster
/// runs `replicas` standby replicas: for each k with an owner among `live`, the `replicas`
/// members of self's cluster that follow the owner in member id order (wrapping around, the
/// owner skipped) stand by for k. Never a partition `self` owns; empty when `self` is not live.
std::set<int> standby_partitions(const std::vector<member>& live, const std::string& self,
                                 int partitions, int replicas);

/// The live member `self` must not run beside, if any. A single server conflicts with every
/// other server; a cluster node with single servers and nodes of another cluster. Of two that
/// are both still starting, the later (started_at, member_id) gives way; one already running
/// never does.
std::optional<member> conflict(const hello& self, const std::vector<member>& live);

/// One sentence for the log of a refused server: who `other` is and what to do.
std::string refusal_message(const member& other, const std::string& topic_prefix);

std::string_view to_string(member_mode m);
std::string_view to_string(member_state s);

}  // namespace pikoci::domain
