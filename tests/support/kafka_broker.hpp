#pragma once
// A real Apache Kafka broker for tests: one KRaft node (broker+controller) on 127.0.0.1 in a
// scratch directory, run by scripts/kafka-broker.sh from Kafka's jars (fetched once with mvn).
// Failing to start throws std::runtime_error with the script's output and the broker's log
// tail: Kafka tests fail, they never skip, when there is no broker.

#include <string>

namespace pikoci::test {

class kafka_broker {
 public:
  /// Creates a scratch directory under /tmp and starts a broker on a free port, ready (it answers
  /// a metadata request) when this returns. Throws std::runtime_error when it cannot start.
  kafka_broker();
  /// Stops the broker and removes its directory.
  ~kafka_broker();
  kafka_broker(const kafka_broker&) = delete;
  kafka_broker& operator=(const kafka_broker&) = delete;

  /// "127.0.0.1:PORT", the same before and after stop() / start().
  std::string bootstrap() const { return bootstrap_; }
  int port() const { return port_; }
  /// The scratch directory: server.properties, data/, broker.log.
  const std::string& dir() const { return dir_; }
  bool running() const { return running_; }

  /// Stops the broker (SIGTERM, SIGKILL after 15 s); its data stays. Nothing when stopped.
  void stop();
  /// Starts it again on the same directory and port: same cluster, same data. Nothing when
  /// running; throws std::runtime_error when it cannot start.
  void start();
  /// Configuration lines added to the broker's own at the next start() (its keys win), e.g.
  /// another listener.
  void set_extra_properties(const std::string& text);
  /// The last `lines` lines of the broker's log, for failure messages.
  std::string log_tail(std::size_t lines = 40) const;

  /// One broker per test process, started on first use and stopped at exit. Tests must not stop
  /// it (use a broker of their own for that). A failed start is remembered: later calls throw
  /// the same error at once.
  static kafka_broker& shared();

 private:
  std::string dir_;
  std::string bootstrap_;
  int port_ = 0;
  bool running_ = false;
};

}  // namespace pikoci::test
