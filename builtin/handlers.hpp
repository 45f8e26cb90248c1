#pragma once
// Every built-in handler, one function each; builtin.cpp holds the table of their names.

#include "builtin/context.hpp"

namespace pikoci::builtin {

/// fs: `param_path` (a file or a directory tree) hashed with SHA-256; a new version
/// `{"sha256": ...}` when the content differs from `version_sha256`, else `[]`.
int fs_check(const context& ctx);
/// fs: copies the file (or the tree's content) into the work directory.
int fs_pull(const context& ctx);

/// github-check resource type push: creates a check run (`put_status = "in_progress"`) or
/// completes it (`put_conclusion`), as a GitHub App (builtin/github_check.cpp).
int github_check_put(const context& ctx);
/// github-check notification type: the same with `notify_status` / `notify_conclusion`.
int github_check_notify(const context& ctx);

}  // namespace pikoci::builtin
