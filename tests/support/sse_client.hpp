#pragma once
// A Server-Sent Events subscriber for tests and benchmarks (libcurl on its own thread): it reads
// a stream such as GET .../builds/{n}/events and records every event with the time it arrived.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "connectors/http_client/http_client.hpp"

namespace pikoci::test {

struct sse_event {
  std::string type;  // the `event:` field ("message" when absent)
  nlohmann::json data;
  std::chrono::steady_clock::time_point at;    // when the bytes that completed it arrived
  std::chrono::system_clock::time_point wall;  // the same moment by the wall clock
  std::string id;  // the last event id once it came (`id:` fields, as a browser keeps it)
};

class sse_client {
 public:
  /// Starts reading `url` with `Authorization: Bearer <token>` ("" sends none). The stream is
  /// read until the server ends it, `stop()` or `limit` passes.
  sse_client(std::string url, std::string token,
             std::chrono::milliseconds limit = std::chrono::seconds(60));
  /// The same with these request header lines ("Cookie: a=b") instead of a token.
  sse_client(std::string url, std::vector<std::string> headers,
             std::chrono::milliseconds limit = std::chrono::seconds(60));
  ~sse_client();
  sse_client(const sse_client&) = delete;
  sse_client& operator=(const sse_client&) = delete;

  /// Waits until `pred` holds for the events so far, or the stream ended, or `timeout`;
  /// returns whether it held.
  bool wait(const std::function<bool(const std::vector<sse_event>&)>& pred,
            std::chrono::milliseconds timeout = std::chrono::seconds(20));
  /// Waits until the first bytes of the body came (the node sends a comment line as soon as the
  /// subscription is in place); returns whether they did.
  bool wait_open(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  /// Waits until the server ended the stream; returns whether it did within `timeout`.
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  std::vector<sse_event> events();
  long status();             // HTTP status of the reply (0 until it came)
  std::string error_body();  // the body when the reply was not a stream (an error)
  void stop();

 private:
  void run(std::string url, std::vector<std::string> headers, std::chrono::milliseconds limit);
  void feed(const char* data, std::size_t n);

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<sse_event> events_;
  std::string raw_;
  std::chrono::steady_clock::time_point arrived_;  // of the bytes being parsed
  std::chrono::system_clock::time_point wall_;
  http_client::sse_parser parser_{[this](const std::string& type, const std::string& data) {
    auto j = nlohmann::json::parse(data, nullptr, false);
    events_.push_back(
        {type, j.is_discarded() ? nlohmann::json(data) : j, arrived_, wall_, parser_.last_id()});
    cv_.notify_all();
  }};
  long status_ = 0;
  bool closed_ = false;
  bool opened_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;

  friend std::size_t sse_on_data(char*, std::size_t, std::size_t, void*);
  friend int sse_on_progress(void*, long, long, long, long);
};

}  // namespace pikoci::test
