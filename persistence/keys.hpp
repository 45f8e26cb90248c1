#pragma once
// The key layout (format 2). Components are joined with NUL bytes, so names may contain any
// printable character; ids are zero-padded to 20 digits so key order is id order.
//
//   meta/format                          "2"
//   pipeline/<p>                         the pipeline: text, vars, pauses, pins, rule, baselines
//   version/<p>/<id>                     one resource version
//   usage/<p>/<build id>                 what a build used, for `passed` (outlives retention)
//   check/<p>/<canonical>                last check time and error of a resource
//   build/<p>/<job>/<build id>           the build record: a summary line, then a line of
//                                        steps and logs (format 1: one JSON object)
//   outbox/<message id>                  a notification message not delivered yet (pending or
//                                        failed), JSON with "type":"notification","v":1
//   secret/team/<name>                   an internal store secret, sealed (AES-256-GCM):
//   secret/pipeline/<p>/<name>           {"scope": "" or <p>, "sealed": "v1...."}
//   user/<name>                          a user account (not the built-in admin): name, role,
//                                        PBKDF2 salt and hash, stamp, created_at (JSON)
//   meta/admin                           the built-in admin's generated password: PBKDF2 salt
//                                        and hash (JSON), kept so restarts keep it
//
// Cluster mode only (partitioning.hpp says which partition or topic each key goes to):
//   meta/cluster                         the cluster's record: {"partitions":P,"format":1}
//   meta/epoch/<k>                       how many times partition k was claimed (decimal)
//   meta/changelog/<k>                   the last changelog offset of k applied here (local)
//   meta/changelog_at/<k>                when it was applied, wall time (local)
//   meta/global_offset                   the last offset of the global topic applied (local)
//   catalog/<p>                          a pipeline's summary, kept on every node: partition,
//                                        paused, jobs, created_at, updated_at (JSON)
//
// ("/" stands for the NUL separator.)

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace pikoci::persistence::keys {

std::string join(std::initializer_list<std::string_view> parts);
std::string id(std::int64_t n);
/// The prefix of every key below `parts` (ends with the separator).
std::string prefix(std::initializer_list<std::string_view> parts);
/// The last component of a key.
std::string_view last(std::string_view key);

/// The first components of a key, as views into it (nothing copied or allocated): `count` of
/// them, at most `capacity` (enough for every layout above); `more` when the key has further
/// ones. A component past `count` reads as "".
struct parts {
  static constexpr std::size_t capacity = 5;
  std::array<std::string_view, capacity> part{};
  std::size_t count = 0;
  bool more = false;
  std::string_view operator[](std::size_t i) const {
    return i < count ? part[i] : std::string_view();
  }
};
/// The components of `key` ("" is one empty component).
parts split(std::string_view key);

inline std::string format() {
  return join({"meta", "format"});
}
inline std::string pipeline(std::string_view p) {
  return join({"pipeline", p});
}
inline std::string version(std::string_view p, std::int64_t v) {
  return join({"version", p, id(v)});
}
inline std::string usage(std::string_view p, std::int64_t b) {
  return join({"usage", p, id(b)});
}
inline std::string check(std::string_view p, std::string_view canonical) {
  return join({"check", p, canonical});
}
inline std::string build(std::string_view p, std::string_view job, std::int64_t b) {
  return join({"build", p, job, id(b)});
}
inline std::string outbox(std::string_view message_id) {
  return join({"outbox", message_id});
}
/// An internal store secret: team-wide when `pipeline` is empty.
inline std::string secret(std::string_view pipeline, std::string_view name) {
  return pipeline.empty() ? join({"secret", "team", name})
                          : join({"secret", "pipeline", pipeline, name});
}

/// The built-in admin's generated password (absent when it was always given).
inline std::string admin() {
  return join({"meta", "admin"});
}

/// A user account created through the API.
inline std::string user(std::string_view name) {
  return join({"user", name});
}

/// Cluster mode (partitions are written in decimal, without padding).
inline std::string cluster() {
  return join({"meta", "cluster"});
}
inline std::string epoch(int partition) {
  return join({"meta", "epoch", std::to_string(partition)});
}
inline std::string changelog_offset(int partition) {
  return join({"meta", "changelog", std::to_string(partition)});
}
inline std::string changelog_at(int partition) {
  return join({"meta", "changelog_at", std::to_string(partition)});
}
inline std::string global_offset() {
  return join({"meta", "global_offset"});
}
inline std::string catalog(std::string_view p) {
  return join({"catalog", p});
}

}  // namespace pikoci::persistence::keys
