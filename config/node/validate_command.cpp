#include "config/node/validate_command.hpp"

#include <iostream>

#include "config/node/pipeline_file.hpp"

namespace pikoci::node {

int run_validate(const validate_flags& flags) {
  auto loaded = load_pipeline_file(flags.file, flags.vars, flags.vars_file);
  if (auto* err = std::get_if<file_error>(&loaded)) {
    std::cerr << "pikoci-node validate: " << err->message << "\n";
    return 2;
  }
  const auto& result = std::get<pipeline::load_result>(loaded);
  if (result.config && !result.diags.has_errors()) {
    std::cout << "Valid.\n";
    return 0;
  }
  std::cout << result.diags.format(flags.file);
  return 1;
}

}  // namespace pikoci::node
