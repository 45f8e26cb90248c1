#pragma once
// `pikoci-node run FILE --job J`: one build of one job, locally, in the foreground. The node's
// own runtime runs in this process (memory store, embedded worker, no port), driven through the
// same operations as the API; the build's events are printed as they come.

#include "config/node/cli.hpp"
#include "config/pipeline/load.hpp"

namespace pikoci::node {

/// 0 when the build succeeded, 1 when it ended otherwise, 2 for an unusable file, job, input or
/// version (printed on standard error, FILE:LINE:COL for the file's errors).
int run_local(const run_flags& flags, const pipeline::fetch_fn& fetch);

}  // namespace pikoci::node
