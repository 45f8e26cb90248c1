#pragma once
// A tiny HTTP receiver for integration tests (notifications): a blocking socket server on
// 127.0.0.1 in a thread of its own that records every request and answers an error status to the
// first `fail_first` of them, then 200. It can be stopped (the port refuses connections) and
// started again on the same port.

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace pikoci::test {

struct received_request {
  std::string method, path, body;
  std::map<std::string, std::string> headers;  // lower-case names
  int answered = 0;                            // the status it got
};

/// An answer of a `responder`.
struct http_reply {
  http_reply(int status_ = 200, std::map<std::string, std::string> headers_ = {},
             std::string body_ = {})
      : status(status_), headers(std::move(headers_)), body(std::move(body_)) {}
  int status = 200;
  std::map<std::string, std::string> headers;
  std::string body;
  /// When set, the body is these pieces instead, sent one by one without a Content-Length (the
  /// end of the connection ends the body): an event stream. `before_chunk(i)` runs before piece
  /// i is sent (it may wait); false stops there.
  std::vector<std::string> chunks;
  std::function<bool(std::size_t)> before_chunk;
};

class http_receiver {
 public:
  /// Decides the answer to a request (nullopt: the default 200 "ok"); runs on the receiver's
  /// thread, one request at a time.
  using responder = std::function<std::optional<http_reply>(const received_request&)>;

  /// Listens on `port` (0: a free one) at once.
  explicit http_receiver(int port = 0);
  ~http_receiver();
  http_receiver(const http_receiver&) = delete;
  http_receiver& operator=(const http_receiver&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  /// Answers `status` (500 unless said) to the next `n` requests, then 200.
  void fail_next(int n, int status = 500);
  /// Answers with `r` from now on (failures from fail_next still come first).
  void respond_with(responder r);
  /// respond_with in short, for a fake API: `fn` gives each request's status and body.
  void answer_with(std::function<std::pair<int, std::string>(const received_request&)> fn);
  /// respond_with in short: every answer is 200 with `body`, sent as application/json.
  void answer_with(std::string body);
  /// Closes the listening socket: connections are refused until start().
  void stop();
  /// Listens again on the same port.
  void start();
  std::vector<received_request> requests() const;

 private:
  void listen_on(int port);
  void serve();
  void handle(int fd);

  int port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> running_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<received_request> requests_;
  int failures_left_ = 0;
  int failure_status_ = 500;
  responder responder_;
};

}  // namespace pikoci::test
