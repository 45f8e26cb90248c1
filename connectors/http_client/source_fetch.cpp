#include "connectors/http_client/source_fetch.hpp"

#include "connectors/http_client/http_client.hpp"

namespace pikoci::http_client {

pipeline::fetched fetch_source(const std::string& url) {
  auto r = request("GET", url, {}, {}, source_timeout, max_source_bytes);
  if (!r.error.empty()) return {std::nullopt, r.error};
  if (r.status != 200) return {std::nullopt, "HTTP status " + std::to_string(r.status)};
  return {std::move(r.body), {}};
}

}  // namespace pikoci::http_client
