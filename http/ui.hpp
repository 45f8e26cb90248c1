#pragma once
// The web UI's answers (docs/web-ui.md), apart from RESTinio so they can be tested on plain
// values: `/` and the UI's own page paths give index.html (client-side routes use the History
// API), `/assets/<file>` the built files, with their cache headers, ETag and 304, gzip when the
// client takes it, and the security headers (a strict Content-Security-Policy) on every answer.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pikoci::http {

/// What the UI reads of a request.
struct ui_request {
  std::string_view method;  // "GET"
  std::string_view path;    // as sent, without the query
  std::string_view accept;
  std::string_view accept_encoding;
  std::string_view if_none_match;
};

/// An answer of the UI. `body` points into the embedded files; a HEAD or 304 answer has none but
/// says in `content_length` how long the body would be.
struct ui_response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;
  std::size_t content_length = 0;
};

/// The UI's answer, or nullopt when the request is not the UI's (API paths, /metrics, methods
/// other than GET and HEAD, paths outside /assets/ that do not ask for HTML): those keep the
/// API's JSON 404.
std::optional<ui_response> ui_answer(const ui_request& r);

/// Whether an Accept-Encoding value takes gzip (`gzip` or `*` with a q above 0).
bool accepts_gzip(std::string_view accept_encoding);

}  // namespace pikoci::http
