#pragma once
// The server role's composition root: wires configuration, the store, the actor system and the
// HTTP edge, then waits for a signal.

#include <chrono>

#include "config/node/cli.hpp"

namespace pikoci::node {

/// Runs until SIGTERM/SIGINT (exit 0) or SIGQUIT (drain, exit 0). Start-up failures: exit 1.
int run_server(const server_flags& flags);

/// key=value lines in UTC, at `level` (debug, info, warn, error); shared by every role.
void configure_logging(const std::string& level);

/// Blocks SIGTERM, SIGINT and SIGQUIT in this thread (and every thread started later) and waits
/// for one of them; returns it. Call the first part, `block_stop_signals`, before any thread
/// starts.
void block_stop_signals();
int wait_stop_signal(const char* role);
/// Waits up to `timeout` for SIGTERM or SIGINT (a SIGQUIT meanwhile is ignored); returns it, or
/// 0 when none came.
int wait_term_signal(const char* role, std::chrono::milliseconds timeout);

/// `--build-cgroup`: sets up process cleanup for the builds this process runs (docs/operations.md
/// "Process cleanup") and logs how; before any build is dispatched or restored.
void start_process_cleanup(const std::string& build_cgroup);

/// `--drain-timeout` as milliseconds (10 minutes when it does not parse; the CLI checked it).
std::chrono::milliseconds drain_limit(const std::string& text);

}  // namespace pikoci::node
