#pragma once
// The node's built-in type definitions: the HCL files of config/pipeline/builtin/, embedded in
// the binary at build time (cmake/embed_builtins.cmake).

#include <string_view>
#include <vector>

namespace pikoci::pipeline::detail {

/// One embedded file: `kind/name.hcl` (kind: resource_types, runners, secret_types,
/// notification_types, services) and its text.
struct builtin_file {
  std::string_view path;
  std::string_view text;
};

const std::vector<builtin_file>& builtin_files();

}  // namespace pikoci::pipeline::detail
