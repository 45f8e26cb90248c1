#pragma once
// `pikoci-node client`: a thin CLI over the REST API (docs/client.md). One request per command
// (two for `builds list PIPELINE`), compact text by default, the reply's JSON with `--json`.
// Exit 0 on success, 1 on an API or transport error (its message on stderr), 2 on usage errors.
// Every command is one row of the table in commands.cpp.

#include <iosfwd>

#include "config/node/cli.hpp"

namespace pikoci::cli {

int run_client(const node::client_flags& flags);
/// The same, writing to `out` and `err` (for tests).
int run_client(const node::client_flags& flags, std::ostream& out, std::ostream& err);

}  // namespace pikoci::cli
