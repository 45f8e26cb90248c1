#pragma once
// `pikoci-node client`: a thin CLI over the REST API (SPEC §2.4, docs/client.md). One request
// per verb (two for `builds list PIPELINE`), compact text by default, the reply's JSON with
// `--json`. Exit 0 on success, 1 on an API or transport error (its message on stderr), 2 on
// usage errors. The token is sent in the Authorization header and never printed.

#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/node/cli.hpp"

namespace pikoci::node {

int run_client(const client_flags& flags);
/// The same, writing to `out` and `err` (for tests).
int run_client(const client_flags& flags, std::ostream& out, std::ostream& err);

/// Text renderings of API objects, exposed for unit tests.
namespace client_text {

/// `hello #3 succeeded 1520ms`, `p/hello #4 failed 20ms (step "t" failed: exit status 1)`.
std::string build_line(const nlohmann::json& build, bool with_pipeline);
/// Every step's and job hook's logs, each after a `==> type name [status]` header line; children
/// of in_parallel steps follow their group, named `in_parallel > task a`.
std::string build_logs(const nlohmann::json& build);
/// Rows of cells aligned in columns two spaces apart, without trailing blanks.
std::string table(const std::vector<std::vector<std::string>>& rows);

}  // namespace client_text

/// The `vars` of PUT /pipelines/{p}: the `--vars` JSON object, then `--var k=v` on top. A --var
/// value is text; it is sent as a number or bool when `hcl_source` declares that type for the
/// variable and the text converts, so that it means what it means to `validate`.
nlohmann::json pipeline_vars(const std::string& hcl_source, const nlohmann::json& vars_file,
                             const std::vector<std::string>& vars);

/// `s` percent-encoded for one URL path segment (RFC 3986 unreserved characters kept).
std::string url_segment(const std::string& s);

}  // namespace pikoci::node
