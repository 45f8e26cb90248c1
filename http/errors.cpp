#include "http/errors.hpp"

namespace pikoci::http {

namespace {

/// How an error code is answered: its status, and the seconds a client is asked to wait before
/// trying again (0: no Retry-After).
struct entry {
  int status;
  int retry_after;
};

entry lookup(domain::errc e) {
  using domain::errc;
  switch (e) {
    case errc::bad_request:
      return {400, 0};
    case errc::unauthenticated:
      return {401, 0};
    case errc::forbidden:
      return {403, 0};
    case errc::not_found:
      return {404, 0};
    case errc::method_not_allowed:
      return {405, 0};
    case errc::conflict:
      return {409, 0};
    case errc::payload_too_large:
      return {413, 0};
    case errc::uri_too_long:
      return {414, 0};
    case errc::header_too_large:
      return {431, 0};
    case errc::too_many_requests:
      return {429, 0};
    case errc::invalid_pipeline:
      return {422, 0};
    case errc::queue_full:
      return {503, 5};
    case errc::draining:
      return {503, 30};
    case errc::store_unavailable:  // recovers by itself once writes succeed again
      return {503, 5};
    case errc::pipeline_restarting:
      return {503, 1};
    case errc::partition_moving:  // a new owner takes it within seconds
      return {503, 1};
    case errc::not_owner:  // forwarded by the edge; only reaches a client when it cannot be
      return {503, 1};
    case errc::internal:
      return {500, 0};
  }
  return {500, 0};
}

int status_of(domain::reply::outcome o) {
  switch (o) {
    case domain::reply::outcome::done:
      return 200;
    case domain::reply::outcome::created:
      return 201;
    case domain::reply::outcome::accepted:
      return 202;
    case domain::reply::outcome::nothing:
      return 204;
  }
  return 200;
}

}  // namespace

int status_of(domain::errc e) {
  return lookup(e).status;
}

nlohmann::json error_body(domain::errc e, const std::string& message) {
  return {{"error", {{"code", domain::to_string(e)}, {"message", message}}}};
}

response response_of(const domain::error& e) {
  auto how = lookup(e.code);
  response r{how.status, error_body(e.code, e.message), {}, {}};
  if (e.details.is_object())
    for (const auto& [k, v] : e.details.items()) r.body[k] = v;
  if (how.retry_after > 0) r.headers.emplace_back("Retry-After", std::to_string(how.retry_after));
  return r;
}

response response_of(const domain::reply& r) {
  if (r.failure) return response_of(*r.failure);
  if (!r.media_type.empty()) {
    response out{200, nullptr, {{"Content-Type", r.media_type}}, r.bytes};
    if (!r.file_name.empty())
      out.headers.emplace_back("Content-Disposition",
                               "attachment; filename=\"" + r.file_name + "\"");
    return out;
  }
  return {status_of(r.what), r.value, {}, {}};
}

}  // namespace pikoci::http
