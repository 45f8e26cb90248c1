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
/// artifact: the versions of the resource newer than `version_timestamp` (only the latest on a
/// first check), from the node or the `base_dir` store.
int artifact_check(const context& ctx);
/// artifact: extracts the archive of `version_sha` into `param_dir` of the work directory.
int artifact_pull(const context& ctx);
/// artifact: archives `put_dir` and stores it; prints the new version `{sha, timestamp}`.
int artifact_push(const context& ctx);

/// trigger: prints the event of a put (its attributes plus trigger_pipeline, trigger_job,
/// trigger_build and a unique trigger_id); the node hands it to every pipeline that declares a
/// trigger resource of the same name.
int trigger_push(const context& ctx);
/// file secret type: `param_path` read in `param_format` (or the one its extension implies),
/// printed as a key → value object.
int secret_file_get(const context& ctx);
/// vault secret type: the KV v2 secret at `param_path` read from `param_address` with
/// `param_token`, its data printed as a key → value object.
int vault_get(const context& ctx);
/// git: the tip of `param_branch` (HEAD when unset), or with `param_pr`/`param_tag` the new
/// pull requests or tags, through the provider's API when `param_token` is set.
int git_check(const context& ctx);
/// git: clones `param_url` (through a mirror in `$CACHE_DIR`) into `param_name` at
/// `version_ref`.
int git_pull(const context& ctx);
/// git: `git push` from the clone `param_name`; prints the tracked branch's new tip.
int git_push(const context& ctx);

}  // namespace pikoci::builtin
