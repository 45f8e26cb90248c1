#pragma once
// The JSON bodies `pikoci-node client` sends, made from its flags (and for `pipelines set`, from
// the files they name). The command table (commands.cpp) names one per command that sends one.

#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/node/cli.hpp"

namespace pikoci::cli {

/// A local failure before any request: an unreadable file, bad JSON. Exit 2.
struct usage_error {
  std::string message;
};

using body = std::variant<nlohmann::json, usage_error>;
/// How a command makes its body.
using body_fn = body (*)(const node::client_flags&);

body pipeline_body(const node::client_flags& f);     // {config, vars}: the file and the variables
body concurrency_body(const node::client_flags& f);  // {mode, group_template, cancel_running}
body trigger_body(const node::client_flags& f);      // {inputs, args}
body pin_body(const node::client_flags& f);          // {version_id}
body secret_body(const node::client_flags& f);       // {value}: --value, else standard input
body version_body(const node::client_flags& f);      // {version}: the KEY=VALUE fields
/// {secret}: --value, else standard input
body webhook_secret_body(const node::client_flags& f);
body user_body(const node::client_flags& f);         // {username, password, role}
body role_body(const node::client_flags& f);         // {role}
body password_body(const node::client_flags& f);     // {password}: --password, else asked for
body login_body(const node::client_flags& f);        // {username, password}: flags, else asked
body message_body(const node::client_flags& f);      // {message}: --message (may be empty)

/// The `vars` of PUT /pipelines/{p}: the `--vars` JSON object, then `--var k=v` on top. A --var
/// value is text; it is sent as a number or bool when `hcl_source` declares that type for the
/// variable and the text converts, so that it means what it means to `validate`.
nlohmann::json pipeline_vars(const std::string& hcl_source, const nlohmann::json& vars_file,
                             const std::vector<std::string>& vars);

}  // namespace pikoci::cli
