#pragma once
// A small blocking HTTP client (libcurl) for the node's own outgoing calls: `pikoci-node client`
// today, service sources and notifications later. Every request has an overall time limit and a
// cap on the response size; failures come back in `response::error`, never as exceptions.
// `request` blocks: never call it from a CAF scheduler or RESTinio I/O thread.

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace pikoci::http_client {

struct response {
  long status = 0;  // 0 when no HTTP response arrived (see `error`)
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names, of the final response
  std::string error;  // transport failure ("Could not connect ..."), empty when a reply came
  bool ok() const { return error.empty() && status != 0; }
};

inline constexpr std::chrono::milliseconds default_timeout{30000};
inline constexpr std::size_t default_max_response_bytes = 64 * 1024 * 1024;

/// Sends one request to an http(s) URL (no redirects followed) and waits for the whole reply.
/// `headers` are sent as given; a body is sent when non-empty or for POST/PUT/PATCH. `timeout`
/// bounds the whole request, connection included; a body above `max_response_bytes` fails it.
response request(const std::string& method, const std::string& url, const std::string& body = {},
                 const std::map<std::string, std::string>& headers = {},
                 std::chrono::milliseconds timeout = default_timeout,
                 std::size_t max_response_bytes = default_max_response_bytes);

/// A GET whose 2xx body is handed to `on_data` piece by piece as it arrives (a Server-Sent
/// Events stream) instead of being kept; `on_data` returns false to stop reading, which is not an
/// error. A reply that is not 2xx is kept in `body` as `request` keeps it. `timeout` 0: no
/// overall limit (a stream that stays silent for a minute is given up).
response stream(const std::string& url, const std::map<std::string, std::string>& headers,
                const std::function<bool(std::string_view)>& on_data,
                std::chrono::milliseconds timeout);

/// `s` percent-encoded: every byte but RFC 3986's unreserved characters (and '/' when
/// `keep_slash`, for a path of several segments).
std::string percent_encode(std::string_view s, bool keep_slash);

/// `s` percent-encoded for one URL path segment, as the node's API expects names in its paths.
std::string url_segment(std::string_view s);

/// Splits a Server-Sent Events stream into events: `feed` takes bytes as they arrive and calls
/// `on_event(type, data)` for each complete event (type "message" when it has no `event:` field;
/// several `data:` lines joined with newlines; comments and other fields skipped).
/// `last_id()` is the event id a reconnect sends as `Last-Event-ID`, as a browser keeps it: the
/// latest `id:` field of the events dispatched so far (an event without one keeps the one before).
class sse_parser {
 public:
  using event_fn = std::function<void(const std::string& type, const std::string& data)>;
  explicit sse_parser(event_fn on_event) : on_event_(std::move(on_event)) {}
  void feed(std::string_view bytes);
  /// The last event id so far ("" before any); already the new one inside `on_event`.
  const std::string& last_id() const { return last_id_; }
  /// Forgets a half-received event (the stream broke; a reconnect starts a new one).
  void restart() {
    pending_.clear();
    type_.clear();
    data_.clear();
    id_buffer_ = last_id_;
    has_data_ = false;
  }

 private:
  event_fn on_event_;
  std::string pending_, type_, data_;
  std::string id_buffer_, last_id_;
  bool has_data_ = false;
};

}  // namespace pikoci::http_client
