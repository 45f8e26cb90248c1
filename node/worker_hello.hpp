#pragma once
// What `POST /api/v1/workers/register` answers a worker (docs/api.md), read as the hostile input
// it is, and the servers a worker asks its lease question: the one it registered with, then, when
// that one does not answer, each other member of the server's cluster once.

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pikoci::node {

/// One server of a cluster, as the register answer names it.
struct cluster_member {
  std::string member_id;
  std::string url;  // where its HTTP API answers (http:// or https://)
};

/// The `cluster` of a register answer: absent when the server runs alone.
struct cluster_view {
  std::string name;
  std::vector<cluster_member> members;
};

/// The members kept from one answer: a longer list is cut (each is asked at most once per lease
/// question, so this bounds how long one question may take).
constexpr std::size_t max_cluster_members = 8;

/// The register answer: the Kafka settings, or why the worker cannot start.
struct register_answer {
  std::string error;  // "" when the server answered as a pikoci-node server
  std::string topic_prefix;
  std::chrono::milliseconds lease{0};  // the server's --worker-lease (0: not said)
  // how long the server has heard the brokers without a break (nothing: not said)
  std::optional<std::chrono::milliseconds> heard_for;
  std::optional<cluster_view> cluster;
};

/// Reads the body of a 200 answer from `url`. `error` is set when it is not a pikoci-node server's
/// answer; a `cluster` that is not an object with a string `name` and a `members` array is
/// ignored, and so is each member without a string `member_id` (at most 256 bytes) and an
/// http(s) `url` (at most 2048 bytes, no spaces or control characters).
register_answer read_register_answer(const nlohmann::json& body, const std::string& url);

/// The servers a worker asks whether they still hear the brokers, the one in use first. Not
/// thread-safe: the lease thread owns it.
class lease_servers {
 public:
  /// `url`: the server the worker registered with (trailing slashes do not matter).
  explicit lease_servers(std::string url);

  /// Keeps the members an answer names (when it names a cluster) after the server in use.
  void learn(const register_answer& a);

  using asker = std::function<register_answer(const std::string& url)>;
  /// Asks the server in use, then each other known server once, until one answers (`error`
  /// empty); the one that answered is used first from now on and its members are learned.
  /// Nothing when none answered.
  std::optional<register_answer> ask(const asker& ask);

  /// In the order they are asked.
  const std::vector<std::string>& urls() const { return urls_; }

 private:
  std::vector<std::string> urls_;  // [0] is in use; no duplicates
};

}  // namespace pikoci::node
