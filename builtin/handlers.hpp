#pragma once
// Every built-in handler, one function each; builtin.cpp holds the table of their names.

#include "builtin/context.hpp"

namespace pikoci::builtin {

/// fs: `param_path` (a file or a directory tree) hashed with SHA-256; a new version
/// `{"sha256": ...}` when the content differs from `version_sha256`, else `[]`.
int fs_check(const context& ctx);
/// fs: copies the file (or the tree's content) into the work directory.
int fs_pull(const context& ctx);

/// git: the tip of `param_branch` (HEAD when unset), or with `param_pr`/`param_tag` the new
/// pull requests or tags, through the provider's API when `param_token` is set.
int git_check(const context& ctx);
/// git: clones `param_url` (through a mirror in `$CACHE_DIR`) into `param_name` at
/// `version_ref`.
int git_pull(const context& ctx);
/// git: `git push` from the clone `param_name`; prints the tracked branch's new tip.
int git_push(const context& ctx);

}  // namespace pikoci::builtin
