#pragma once
// `pikoci-node validate`: prints `Valid.` (exit 0) or every error as FILE:LINE:COL (exit 1);
// unreadable inputs are usage errors (exit 2). http(s) sources are fetched with `fetch` (the
// caller's: this layer makes no network calls), or only noted with --offline.

#include "config/node/cli.hpp"
#include "config/pipeline/load.hpp"

namespace pikoci::node {

int run_validate(const validate_flags& flags, const pipeline::fetch_fn& fetch);

}  // namespace pikoci::node
