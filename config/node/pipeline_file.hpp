#pragma once
// Reading a pipeline file plus its variable sources from disk, for `validate` and start-up.

#include <string>
#include <variant>
#include <vector>

#include "config/pipeline/load.hpp"

namespace pikoci::node {

/// A usage-level failure: unreadable file, malformed vars JSON, bad `k=v`.
struct file_error {
  std::string message;
};

/// Largest pipeline or vars file accepted (SPEC §10 size limits).
inline constexpr std::size_t max_pipeline_file_bytes = 4 * 1024 * 1024;

/// Reads `path`, the `--var k=v` list and the optional `--vars` JSON file, then loads with
/// `fetch` for http(s) sources; without one, such sources are left unchecked (offline notes).
std::variant<pipeline::load_result, file_error> load_pipeline_file(
    const std::string& path, const std::vector<std::string>& vars, const std::string& vars_file,
    const pipeline::fetch_fn& fetch);

/// Reads a whole file with a size cap; nullopt-like empty variant on failure.
std::variant<std::string, file_error> read_file_capped(const std::string& path,
                                                       std::size_t max_bytes);

}  // namespace pikoci::node
