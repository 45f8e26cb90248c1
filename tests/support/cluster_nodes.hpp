#pragma once
// Several server nodes in one cluster (`--cluster`) against a real broker, each with its own
// RocksDB store, on a topic prefix of their own; `--role worker` processes for them, and pipelines
// whose task leaves a mark per run so a test can count how often a build ran.

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tests/support/kafka_nodes.hpp"
#include "tests/support/pipeline_fixture.hpp"

namespace pikoci::test {

/// The cluster's `--cluster-partitions`.
constexpr int cluster_partitions = 6;

/// The nodes of one cluster on a topic prefix of their own, each with its own RocksDB store
/// (node i keeps its store across restarts: same path, same flags).
struct cluster {
  std::string brokers;
  std::string prefix = fresh_prefix();
  std::string name = "c1";
  int partitions = cluster_partitions;
  std::vector<std::string> extra;  // more flags for every node
  temp_dir dir;
  std::vector<std::unique_ptr<runtime_node>> nodes;  // null once stopped
  int started = 0;

  explicit cluster(const std::string& b, std::vector<std::string> more = {});

  std::vector<std::string> args(int i) const;

  /// Starts node i (a new one when i == nodes.size()).
  runtime_node& start(std::size_t i);
  /// kill -9 node i (it is null afterwards).
  void kill(std::size_t i);

  runtime_node& any();
  /// The URLs of the running nodes (safe to call from another thread than the one that starts
  /// and stops them).
  std::vector<std::string> urls() const;

  /// GET /cluster of a running node.
  json view();
  /// Seen from every running node: `members` nodes are live, every partition (and G) has a live
  /// owner and is active on exactly one node, none is coming or going anywhere, and every member
  /// owns some (a joined node got its share).
  bool settled(std::size_t members);
  /// Waits until settled(members) and no partition moved for 3 s: the group may take more than
  /// one round (a node's hello is heard before it joins the group).
  bool stable(std::size_t members);
  /// Node i's store directory.
  std::filesystem::path db(int i) const;
  /// The node whose URL owns pipeline partition `k` now ("" when none).
  std::string owner_url(int k);
  /// The index of the running node at `url`, or -1.
  int index_of(const std::string& url);
  /// The last log lines of every running node, for failure messages.
  std::string tails();

 private:
  mutable std::mutex mu_;  // guards the URLs others read while nodes start and stop
  std::vector<std::string> urls_;
  void refresh_urls();
};

/// A `--role worker` process of the cluster, asking `server` first.
std::unique_ptr<child_process> cluster_worker(runtime_node& server, const std::string& brokers,
                                              const std::string& name);

/// A pipeline whose job "j" appends a line to `marks` each time its task runs, after `sleep`
/// seconds: "ran" by default, or "<pipeline> <build number>" when `build_id` is set.
std::string marking_pipeline(const std::filesystem::path& marks, const std::string& sleep,
                             bool build_id = false);

/// The number of lines in the file `p` (0 when it does not exist).
int lines_in(const std::filesystem::path& p);

}  // namespace pikoci::test
