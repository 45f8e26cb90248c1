#pragma once
// The request gate: every byte a client sends passes through it before RESTinio parses it. It
// parses request heads itself (http_parser, the parser RESTinio uses) and holds a head back until
// it is complete, so a request is judged before any of its body is read: URL and head sizes,
// field count, the path's percent-encoding, Content-Length against the body limit and, through
// the server's policy, the token. A refused request never reaches RESTinio: the gate puts a
// small synthetic request in its place (`refusal_path`, with the answer in two headers) that the
// router answers in order with the other responses of the connection, then closes it; whatever
// the client sends after it is dropped unread. Memory per connection stays at the head limit.
// No RESTinio here, so the gate can be unit-tested on plain strings.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/errors.hpp"

namespace pikoci::http {

struct gate_limits {
  std::size_t max_url_bytes = 8 * 1024;            // request target, 414 beyond
  std::size_t max_head_bytes = 64 * 1024;          // request line and fields, 431 beyond
  std::size_t max_fields = 100;                    // header fields, 431 beyond
  std::uint64_t max_body_bytes = 4 * 1024 * 1024;  // 413 beyond (the policy may lower it)
};

/// A complete request head, as the client sent it.
struct request_head {
  std::string method;  // "GET"
  std::string target;  // path and query, still percent-encoded
  std::optional<std::string> authorization;
  std::optional<std::string> cookie;      // several Cookie fields joined with "; "
  std::optional<std::string> csrf_token;  // X-CSRF-Token; several joined with ", "
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
  bool has_body() const { return chunked || (content_length && *content_length > 0); }
  /// The path part of the target (before '?').
  std::string_view path() const;
};

/// The answer that replaces a refused request.
struct refusal {
  errc code = errc::bad_request;
  std::string message;
};

/// What the server makes of a complete head: refuse it, or let it through with this body limit.
struct verdict {
  std::optional<refusal> refuse;
  std::uint64_t max_body_bytes = 0;
};
using head_policy = std::function<verdict(const request_head&)>;

/// The path RESTinio sees for a refused request; a client asking for it is refused (404).
inline constexpr std::string_view refusal_path = "/.pikoci/refused";
/// Headers of the synthetic request: the error code name and the percent-encoded message.
inline constexpr std::string_view refusal_code_header = "x-pikoci-refusal-code";
inline constexpr std::string_view refusal_message_header = "x-pikoci-refusal-message";

/// The synthetic request standing for `r` (Connection: close).
std::string refusal_request(const refusal& r);
/// `text` with every byte outside printable ASCII, and '%', percent-encoded; and back.
std::string percent_encode_message(std::string_view text);
std::string percent_decode_message(std::string_view text);

/// Why `path` is refused ("" when it is well-formed percent-encoding of UTF-8 text).
std::string path_problem(std::string_view path);

/// One connection's gate. Not thread-safe (a connection reads on one strand).
class request_gate {
 public:
  request_gate(const gate_limits& limits, head_policy policy);
  ~request_gate();
  request_gate(const request_gate&) = delete;
  request_gate& operator=(const request_gate&) = delete;

  /// Feeds bytes read from the socket and appends what RESTinio may parse to `out`. After a
  /// refusal or a break, input is dropped.
  void feed(const char* data, std::size_t size, std::string& out);
  /// A request was refused: its synthetic stand-in was the last output.
  bool refused() const { return refused_; }
  /// A limit was broken after the head had been passed on (a chunked body growing past the
  /// limit, a malformed body): the connection must be closed without an answer.
  bool broken() const { return broken_; }
  /// The reason of the refusal or break, for the log.
  const std::string& reason() const { return reason_; }

 private:
  struct parser_state;
  void refuse(refusal r, std::string& out);

  gate_limits limits_;
  head_policy policy_;
  std::unique_ptr<parser_state> p_;
  std::string held_;  // the head being read, not yet passed on
  bool refused_ = false;
  bool broken_ = false;
  std::string reason_;
};

}  // namespace pikoci::http
