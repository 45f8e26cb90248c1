// pikoci-node: one binary for every role and tool (SPEC §2).
#include <variant>

#include "actors/node/server_main.hpp"
#include "config/node/cli.hpp"
#include "config/node/validate_command.hpp"

int main(int argc, char** argv) {
  using namespace pikoci::node;
  command cmd = parse_command_line(argc, argv);
  if (auto* e = std::get_if<exit_now>(&cmd)) return e->code;
  if (auto* v = std::get_if<validate_command>(&cmd)) return run_validate(v->flags);
  return run_server(std::get<server_command>(cmd).flags);
}
