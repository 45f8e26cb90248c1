#pragma once
// The REST side of `pikoci-node client`: requests to the node's API below `--url`/api/v1 with
// `--token` (or the token `client login` kept for that URL), and how a failed one is reported.
// Blocking (libcurl): the client is a short-lived process of its own. The token is sent in the
// Authorization header and never printed.

#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/node/cli.hpp"
#include "connectors/http_client/http_client.hpp"

namespace pikoci::cli {

using http_client::url_segment;

/// The node at `--url` as one command talks to it, and where that command writes. Paths are
/// below /api/v1, their segments already encoded.
class api {
 public:
  api(const node::client_flags& flags, std::ostream& out, std::ostream& err);

  /// `method path`, with a JSON body when one is given.
  http_client::response send(const std::string& method, const std::string& path,
                             const std::optional<nlohmann::json>& body = std::nullopt) const;
  /// GET `path` as a Server-Sent Events stream: each chunk goes to `feed` until it returns false.
  /// `last_event_id`: sent as `Last-Event-ID` (a reconnect) unless "".
  http_client::response stream(const std::string& path,
                               const std::function<bool(std::string_view)>& feed,
                               const std::string& last_event_id = "") const;
  /// GET `path` for a large download: 10 minutes and 4 GiB at most.
  http_client::response download(const std::string& path) const;

  /// A 2xx reply whose body is JSON (parsed into `reply`) or empty (null, as 204's is).
  static bool succeeded(const http_client::response& r, nlohmann::json& reply);
  /// Prints why `r` failed: the envelope's code and message, 422 diagnostics as FILE:LINE:COL.
  /// Returns the exit code, 1.
  int report(const http_client::response& r) const;

  /// --url without trailing slashes: the key of the token kept by `client login`.
  const std::string& url() const { return base_; }

  const node::client_flags& flags;
  std::ostream& out;
  std::ostream& err;

 private:
  /// `headers` and the token's Authorization header.
  std::map<std::string, std::string> with_token(std::map<std::string, std::string> headers) const;

  std::string base_;   // --url without trailing slashes
  std::string token_;  // --token or PIKOCI_TOKEN, else the one `client login` kept for base_
  bool kept_token_ = false;
};

}  // namespace pikoci::cli
