#pragma once
// The node's artifact store (the built-in `artifact` resource type, docs/resource-artifact.md):
// archives put by builds, one directory per pipeline and resource, content-addressed by SHA-256.
//
//   <root>/<pipeline>/<resource>/data/<sha>.tar.gz
//   <root>/<pipeline>/<resource>/versions/<timestamp>-<sha>
//
// A version is a file name: the UTC timestamp (23 digits, nanoseconds, so text order is time
// order) and the archive's SHA-256. Every name and sha comes from the wire: each is checked here
// before it names a file. Safe to use from several threads (one mutex).

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pikoci::persistence {

/// An incremental SHA-256 (OpenSSL), hex digest.
class sha256 {
 public:
  sha256();
  ~sha256();
  sha256(const sha256&) = delete;
  sha256& operator=(const sha256&) = delete;
  void feed(std::string_view bytes);
  /// The lower-case hex digest; call once.
  std::string hex();

 private:
  void* ctx_;
};

/// The SHA-256 of a file's content (throws std::runtime_error when it cannot be read).
std::string file_sha256(const std::filesystem::path& p);

/// One stored artifact version.
struct artifact_version {
  std::string sha;
  std::string timestamp;
};

class artifact_store {
 public:
  explicit artifact_store(std::filesystem::path root) : root_(std::move(root)) {}

  /// A pipeline or resource name as the store takes it: the name rule (pipeline::is_valid_name),
  /// which keeps '/', "." and ".." out of the directory names.
  static bool valid_name(std::string_view name);
  /// 64 lower-case hex digits.
  static bool valid_sha(std::string_view sha);
  /// 23 digits (what `add` makes).
  static bool valid_timestamp(std::string_view ts);

  /// Stores `archive` (the uploaded bytes) as a new version; "" in `error` when it worked.
  std::optional<artifact_version> add(const std::string& pipeline, const std::string& resource,
                                      std::string_view archive, std::string& error);
  /// Versions newer than `after`, oldest first, at most `limit`; only the latest when `after` is
  /// empty (a first check).
  std::vector<artifact_version> list(const std::string& pipeline, const std::string& resource,
                                     const std::string& after, std::size_t limit = 1000) const;
  /// The archive of `sha`, when the store has it.
  std::optional<std::filesystem::path> archive(const std::string& pipeline,
                                               const std::string& resource,
                                               const std::string& sha) const;
  /// Every artifact of `pipeline` (deleted with the pipeline).
  void remove_pipeline(const std::string& pipeline);

  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
  mutable std::mutex mu_;
  std::string last_timestamp_;
};

}  // namespace pikoci::persistence
