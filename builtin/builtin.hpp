#pragma once
// The node's built-in handlers: the work of built-in types that needs more than a shell script
// (git, artifacts, file trees, provider APIs, secret back ends). The worker runs them as ordinary
// commands — `pikoci-node builtin HANDLER` through the `pikoci-node` runner — so they follow the
// resource-type protocol like any user script: inputs in the environment (`param_*`,
// `version_*`, `put_*`, `CACHE_DIR`, `WORKDIR`, `BUILD_*`), log lines on the output, and for a
// check or a put the versions as the last output line.

#include <ostream>
#include <string>
#include <vector>

namespace pikoci::builtin {

/// Runs handler `name` (e.g. "fs.check") with this process's environment; returns the exit code
/// (2 for an unknown handler).
int run(const std::string& name, std::ostream& out, std::ostream& err);

/// Every handler's name, sorted.
std::vector<std::string> names();

}  // namespace pikoci::builtin
