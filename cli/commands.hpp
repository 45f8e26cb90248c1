#pragma once
// `pikoci-node client`: a thin CLI over the REST API (docs/client.md). One request per command
// (two for `builds list PIPELINE`), compact text by default, the reply's JSON with `--json`.
// Exit 0 on success, 1 on an API or transport error (its message on stderr), 2 on usage errors.
// Every command is one row of the table in commands.cpp.

#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "config/node/cli.hpp"

namespace pikoci::cli {

int run_client(const node::client_flags& flags);
/// The same, writing to `out` and `err` (for tests).
int run_client(const node::client_flags& flags, std::ostream& out, std::ostream& err);

/// The command table's rows: each name ("pipelines set", "builds list PIPELINE", "secrets list
/// --pipeline", "queue") and whether the command is one request whose reply is shown (the
/// others have runners of their own: more requests, a stream, a download, the token file).
std::vector<std::pair<std::string, bool>> command_table();

}  // namespace pikoci::cli
