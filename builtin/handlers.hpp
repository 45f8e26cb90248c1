#pragma once
// Every built-in handler, one function each; builtin.cpp holds the table of their names.

#include "builtin/context.hpp"

namespace pikoci::builtin {

/// fs: `param_path` (a file or a directory tree) hashed with SHA-256; a new version
/// `{"sha256": ...}` when the content differs from `version_sha256`, else `[]`.
int fs_check(const context& ctx);
/// fs: copies the file (or the tree's content) into the work directory.
int fs_pull(const context& ctx);

/// file secret type: `param_path` read in `param_format` (or the one its extension implies),
/// printed as a key → value object.
int secret_file_get(const context& ctx);
/// vault secret type: the KV v2 secret at `param_path` read from `param_address` with
/// `param_token`, its data printed as a key → value object.
int vault_get(const context& ctx);

}  // namespace pikoci::builtin
