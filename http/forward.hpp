#pragma once
// Cluster mode: the client half of the HTTP edge. A request for a partition another node owns
// is sent to that owner (its advertise URL) and the owner's answer is written back as it came:
// status, headers, body, or an event stream relayed chunk by chunk. One thread runs every
// transfer (libcurl's multi interface), so an open event stream costs a socket, not a thread;
// connections to the owners are kept and reused. No RESTinio here: the edge (routes.cpp) gives
// a callback and, for streams, a sink.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pikoci::http {

using header_list = std::vector<std::pair<std::string, std::string>>;

/// The forwarder's limits.
struct forward_options {
  std::chrono::milliseconds connect_timeout{2000};
  /// Whole request and answer, for everything but event streams. Below the edge's 30 s
  /// handle-request time, so the client always gets an answer from this node.
  std::chrono::milliseconds request_timeout{15000};
  /// An event stream that sends nothing for this long is over (owners ping every 10 s).
  std::chrono::seconds stream_idle{35};
  std::size_t max_requests = 256;  // transfers at once, event streams apart; more: refused
  std::size_t max_streams = 1024;  // event streams at once; more: refused
  std::size_t max_answer_bytes = 64 * 1024 * 1024;  // a longer answer fails
  std::size_t max_answer_headers = 100;
  /// A relayed stream stops reading from the owner while more than this is handed to the client
  /// and not written yet, and reads again below half of it.
  std::size_t stream_high_water = 1024 * 1024;
};

/// A request to send to an owner.
struct forward_request {
  std::string method;  // GET, POST, PUT, DELETE...
  std::string url;     // the owner's URL, path and query
  header_list headers;  // as the client sent them; hop-by-hop fields are dropped here
  std::string body;
  bool stream = false;  // an event stream route: no total time limit
  /// Whole request and answer when set (not for streams); else forward_options::request_timeout.
  std::chrono::milliseconds timeout{0};
  /// A part of a node-wide read: the request carries the local header (cluster_route.hpp), so
  /// the member answers from its own state only.
  bool local_only = false;
};

/// How a forwarded request ended, when it was not relayed as a stream.
struct forward_answer {
  enum class kind {
    answered,     // the owner answered: status, headers, body
    unreachable,  // no connection to the owner: the request did not reach it (safe to retry)
    failed,       // the connection broke or timed out after the request was sent, or the answer
                  // was too large or malformed
    overloaded,   // too many transfers already: not sent
    stopped,      // the forwarder stops: not sent, or cut
  };
  kind what = kind::answered;
  int status = 0;
  header_list headers;  // end-to-end fields only
  std::string body;
  std::string error;  // what went wrong (for the log)
};

/// Where a relayed event stream goes. Called on the forwarder's thread, one call at a time.
class stream_sink {
 public:
  virtual ~stream_sink() = default;
  /// The owner's status and headers, once, before any bytes; false: the client is gone.
  virtual bool open(int status, const header_list& headers) = 0;
  /// Bytes of the stream as they came; false: the client is gone (the transfer stops).
  virtual bool push(std::string_view bytes) = 0;
  /// Bytes handed to the client and not written yet (the forwarder pauses above its high water).
  virtual std::size_t pending() const = 0;
  /// The stream is over (the owner ended it, it broke, or the forwarder stops).
  virtual void close() = 0;
};

/// What happens with the owner's answer.
struct forward_handlers {
  /// Runs once, on the forwarder's thread, unless the answer became a stream (see `stream`).
  std::function<void(forward_answer)> done;
  /// For a `stream` request: the sink an event stream (`text/event-stream`, status 200) is
  /// relayed to; once it is asked for, `done` is not called. Null: every answer goes to `done`.
  std::function<std::shared_ptr<stream_sink>()> stream;
};

/// The forwarder: one thread, libcurl's multi interface. Thread-safe; stopping is idempotent
/// and the destructor stops.
class forwarder {
 public:
  /// `self_id` is the value of the forwarding header this node adds.
  forwarder(std::string self_id, forward_options opts = {});
  ~forwarder();
  forwarder(const forwarder&) = delete;
  forwarder& operator=(const forwarder&) = delete;

  /// Starts sending `r` (never blocks); `h.done` gets `overloaded` at once when the limits are
  /// reached, `stopped` once stopping.
  void send(forward_request r, forward_handlers h);
  /// Ends every transfer (streams are closed, others answered `stopped`) and the thread.
  void stop();
  /// Transfers going on now (tests).
  std::size_t in_flight() const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

/// The request fields that go to the owner: all but hop-by-hop ones (Connection, Host,
/// Content-Length, Transfer-Encoding...) and a forwarding header the client sent itself.
bool forwarded_request_field(std::string_view name);
/// The answer fields that come back to the client: all but hop-by-hop ones and those the edge
/// writes itself (Content-Length, Date, Server).
bool forwarded_answer_field(std::string_view name);

}  // namespace pikoci::http
