#pragma once
// The node's own secrets (JWT key, admin password, worker token): read from a file when asked
// (`--jwt-secret-file`), then wiped from the process's argv and environment so that nothing a
// build starts can read them from /proc/<node>/cmdline or /proc/<node>/environ.

#include <string>

namespace pikoci::node {

/// Largest secret file accepted.
inline constexpr std::size_t max_secret_file_bytes = 64 * 1024;

/// Reads a secret from `path` into `out` (one trailing "\n" or "\r\n" removed). Returns an
/// error message naming the file, or "" when it was read. An empty secret is an error.
std::string read_secret_file(const std::string& path, std::string& out);

/// Overwrites, in place, the values of the secret flags in argv (`--jwt-secret S`,
/// `--jwt-secret=S`, `--admin-password`, `--worker-token`, `--token`, `--secret-key`) and of the
/// secret environment variables (JWT_SECRET, ADMIN_PASSWORD, WORKER_TOKEN, PIKOCI_TOKEN,
/// PIKOCI_SECRET_KEY), then removes
/// those variables (and their *_FILE companions) from the environment. Call once, after the
/// command line was parsed (the parser keeps copies) and before any child process starts.
void scrub_secrets(int argc, char** argv);

}  // namespace pikoci::node
