#include "config/node/validate_command.hpp"

#include <iostream>

#include "config/node/pipeline_file.hpp"

namespace pikoci::node {

int run_validate(const validate_flags& flags, const pipeline::fetch_fn& fetch) {
  auto loaded = load_pipeline_file(flags.file, flags.vars, flags.vars_file,
                                   flags.offline ? pipeline::fetch_fn{} : fetch);
  if (auto* err = std::get_if<file_error>(&loaded)) {
    std::cerr << "pikoci-node validate: " << err->message << "\n";
    return 2;
  }
  const auto& result = std::get<pipeline::load_result>(loaded);
  // one line per source --offline left unchecked, the file still valid otherwise
  for (const auto& n : result.notes)
    std::cout << flags.file << ":" << n.rng.start.line << ":" << n.rng.start.column
              << ": note: " << n.detail << "\n";
  if (result.config && !result.diags.has_errors()) {
    std::cout << "Valid.\n";
    return 0;
  }
  std::cout << result.diags.format(flags.file);
  return 1;
}

}  // namespace pikoci::node
