#pragma once
// This server's presence on its Kafka topic prefix. Every server says hello every second on
// `<prefix>.servers` (one partition, kept an hour) and tails that topic from ten seconds back into
// a directory of the members (domain/members.hpp). Before a server starts its runtime, `check`
// watches the topic and the single servers' consumer group to refuse a second server on the
// prefix: two of them would split the worker events between them (docs/workers.md "One server
// per topic prefix").

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "connectors/kafka/client.hpp"
#include "domain/members.hpp"

namespace pikoci::kafka {

struct presence_options {
  std::string brokers;
  topics names;
  /// This member's first hello: member_id, mode, cluster and started_at set; state `starting`.
  domain::hello self;
  std::chrono::milliseconds interval{1000};
  /// How long `check` waits for members of the events consumer group that say no hello to
  /// leave it: a killed server stays a member until its session times out (6 s).
  std::chrono::milliseconds group_wait{10000};
};

/// Says hello until destroyed, then `leaving`; feeds `directory()` from the topic meanwhile.
class presence {
 public:
  /// Creates `<prefix>.servers` when missing, starts the tail and says the first hello. Throws
  /// std::runtime_error when the brokers are unreachable or refuse.
  explicit presence(presence_options opts);
  /// Says `leaving` (so a restart right after is not refused) and waits up to 2 s for it.
  ~presence();
  presence(const presence&) = delete;
  presence& operator=(const presence&) = delete;

  /// Watches the topic for `window`, then decides whether this member may run: "" (it is
  /// `running` from now on), else one sentence saying which server uses the prefix and what to
  /// do. Servers of earlier releases say no hello: members of `names.server_group()` count as
  /// such a server unless they leave the group within `group_wait`.
  std::string check(std::chrono::milliseconds window);
  /// The URL other members reach this one at, from the next hello on.
  void advertise(const std::string& url);
  /// Changes this member's hello (the partitions it owns and stands by for), said at once.
  void update(const std::function<void(domain::hello&)>& edit);

  const domain::members& directory() const;
  /// Hellos read but refused (too long, not a hello): counted and otherwise ignored.
  std::int64_t rejected() const;
  /// This member's hello as it says it now.
  domain::hello self() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace pikoci::kafka
