#pragma once
// `pikoci-node validate`: prints `Valid.` (exit 0) or every error as FILE:LINE:COL (exit 1);
// unreadable inputs are usage errors (exit 2).

#include "config/node/cli.hpp"

namespace pikoci::node {

int run_validate(const validate_flags& flags);

}  // namespace pikoci::node
