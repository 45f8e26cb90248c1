#pragma once
// Child processes for integration tests: the built pikoci-node started like a user would, with
// its output captured, bounded waits, and its log tail for failure messages.

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pikoci::test {

/// Output and exit code of a finished command.
struct command_result {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string output;  // stdout and stderr merged
};

/// Runs `args` to completion (killed after `timeout`), capturing merged output.
command_result run_command(const std::vector<std::string>& args,
                           std::chrono::milliseconds timeout = std::chrono::seconds(30),
                           const std::map<std::string, std::string>& env = {});

/// A running child process whose merged output is collected by a reader thread.
class child_process {
 public:
  explicit child_process(const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env = {});
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// Waits until a line containing `needle` appears; returns it, or nullopt on timeout or exit.
  std::optional<std::string> wait_for_line(const std::string& needle,
                                           std::chrono::milliseconds timeout);
  /// Sends `sig`, waits for exit (SIGKILL after `timeout`) and returns the exit code.
  int stop(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Waits for the process to exit on its own; nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  std::string output() const;
  /// The last `lines` lines of output, for failure messages.
  std::string tail(std::size_t lines = 40) const;
  int pid() const { return pid_; }

 private:
  void read_loop(int fd);
  int pid_ = -1;
  std::optional<int> exit_code_;
  std::thread reader_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string out_;
  bool eof_ = false;
};

/// `pikoci-node --role server` on 127.0.0.1 and a free port, ready when this returns.
class node_server {
 public:
  explicit node_server(std::vector<std::string> extra_args = {},
                       const std::map<std::string, std::string>& env = {});
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  child_process& process() { return *proc_; }

 private:
  std::unique_ptr<child_process> proc_;
  int port_ = 0;
};

/// A `kB` field of /proc/PID/status (`VmRSS`, `VmHWM`, ...) in kB; -1 when the process or the
/// field is not there.
long proc_status_kb(int pid, const std::string& field);

/// Path of the built binary under test.
std::string node_binary();

/// A user token signed with the test secret of node_server (`pikoci-node user-token`), cached per
/// role; throws when the command fails.
std::string user_token(const std::string& role);
/// A worker token (`pikoci-node worker-token`), cached.
std::string worker_token();
/// Path inside the source tree.
std::string source_path(const std::string& relative);

}  // namespace pikoci::test
