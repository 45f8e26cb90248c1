// pikoci-node: one binary for every role and tool (SPEC §2).
#include <chrono>
#include <iostream>
#include <string_view>
#include <variant>

#include "auth/auth.hpp"
#include "builtin/builtin.hpp"
#include "cli/commands.hpp"
#include "config/node/cli.hpp"
#include "config/node/secrets.hpp"
#include "config/node/validate_command.hpp"
#include "connectors/http_client/source_fetch.hpp"
#include "connectors/process/containment.hpp"
#include "node/run_main.hpp"
#include "node/server_main.hpp"
#include "node/worker_main.hpp"

namespace {

std::int64_t unix_now() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

/// Prints `c` signed with `secret` on stdout, the token alone on its line so scripts can capture
/// it with $(...). Exit 1 if signing failed (never expected).
int print_token(const std::string& secret, const pikoci::auth::claims& c) {
  std::string token = pikoci::auth::sign(secret, c);
  if (token.empty()) {
    std::cerr << "pikoci-node: cannot sign the token\n";
    return 1;
  }
  std::cout << token << '\n' << std::flush;
  return std::cout ? 0 : 1;
}

int run_worker_token(const pikoci::node::worker_token_flags& f) {
  using namespace pikoci::auth;
  // Worker tokens never expire: standalone workers run unattended for months.
  return print_token(f.jwt_secret, claims{"worker", role::worker, true, unix_now(), 0});
}

int run_user_token(const pikoci::node::user_token_flags& f) {
  using namespace pikoci::auth;
  auto r = parse_role(f.role).value_or(role::read);  // the CLI already checked it
  std::int64_t now = unix_now();
  std::int64_t exp = f.ttl_seconds > 0 ? now + f.ttl_seconds : 0;
  return print_token(f.jwt_secret, claims{f.user, r, false, now, exp});
}

/// `pikoci-node builtin HANDLER`
int run_builtin(int argc, char** argv) {
  if (argc == 3 && std::string_view(argv[2]) != "--help" && std::string_view(argv[2]) != "-h")
    return pikoci::builtin::run(argv[2], std::cout, std::cerr);
  std::cerr << "Usage: pikoci-node builtin HANDLER\n"
               "Runs one of the built-in types' handlers, as the `pikoci-node` runner does; its "
               "inputs\nare environment variables (param_*, version_*, put_*, CACHE_DIR, "
               "WORKDIR). Handlers:\n";
  for (const auto& n : pikoci::builtin::names()) std::cerr << "  " << n << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pikoci::node;
  // the step shim and the process guard: this binary re-executed by a running node
  if (int rc = pikoci::process::internal_main(argc, argv); rc >= 0) return rc;
  // a built-in type's command, started by a worker: its inputs are its environment, which must
  // not be read as the node's flags
  if (argc >= 2 && std::string_view(argv[1]) == "builtin") return run_builtin(argc, argv);
  command cmd = parse_command_line(argc, argv);
  // The parser holds copies: nothing started from here on can read them from /proc.
  scrub_secrets(argc, argv);
  if (auto* e = std::get_if<exit_now>(&cmd)) return e->code;
  if (auto* v = std::get_if<validate_command>(&cmd))
    return run_validate(v->flags, pikoci::http_client::fetch_source);
  if (auto* r = std::get_if<run_command>(&cmd))
    return run_local(r->flags, pikoci::http_client::fetch_source);
  if (auto* w = std::get_if<worker_token_command>(&cmd)) return run_worker_token(w->flags);
  if (auto* u = std::get_if<user_token_command>(&cmd)) return run_user_token(u->flags);
  if (auto* c = std::get_if<client_command>(&cmd)) return pikoci::cli::run_client(c->flags);
  if (auto* w = std::get_if<worker_command>(&cmd)) return run_worker(w->flags);
  return run_server(std::get<server_command>(cmd).flags);
}
