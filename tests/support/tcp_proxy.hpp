#pragma once
// A TCP proxy on 127.0.0.1 for fault tests: forwards every connection to a target port until
// cut() (one client cut off from a server that others still reach), then closes them all and
// closes new ones at once until restore(). One thread serves every connection.

#include <atomic>
#include <memory>
#include <thread>

namespace pikoci::test {

class tcp_proxy {
 public:
  /// Listens on a free port of 127.0.0.1 and forwards to 127.0.0.1:`target_port`. Throws
  /// std::runtime_error when it cannot listen.
  explicit tcp_proxy(int target_port);
  ~tcp_proxy();
  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  int port() const { return port_; }
  int target() const { return target_; }
  /// Closes every connection; new ones are closed as soon as they are accepted.
  void cut() { cut_ = true; }
  /// Forwards new connections again.
  void restore() { cut_ = false; }

 private:
  void serve();

  int target_ = 0;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> cut_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/// A TCP port of 127.0.0.1 that was free a moment ago.
int free_port();

}  // namespace pikoci::test
