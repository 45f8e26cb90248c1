#pragma once
// The server role's composition root: wires configuration, the HTTP edge and (from issue #3 on)
// the actor system, then waits for a signal.

#include "config/node/cli.hpp"

namespace pikoci::node {

/// Runs until SIGTERM/SIGINT (exit 0) or SIGQUIT (drain, exit 0). Start-up failures: exit 1.
int run_server(const server_flags& flags);

/// key=value lines in UTC, at `level` (debug, info, warn, error); shared by every role.
void configure_logging(const std::string& level);

}  // namespace pikoci::node
