#pragma once
// The worker role's composition root (`pikoci-node --role worker`, SPEC §2.2): checks the token
// with the server, joins the Kafka topics and runs builds and checks until a signal.

#include "config/node/cli.hpp"

namespace pikoci::node {

/// Exit 0 after SIGQUIT (drained) or SIGTERM/SIGINT (running builds cancelled); exit 1 when the
/// token is refused, the server or the brokers cannot be reached (the message says which).
int run_worker(const worker_flags& flags);

}  // namespace pikoci::node
