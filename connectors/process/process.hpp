#pragma once
// Runs one step's command: posix_spawn (never fork from the big server process), its own process
// group, stdout+stderr merged into one stream, a deadline, cancellation with SIGTERM then SIGKILL
// after a grace period (SPEC §5). `run` blocks: call it only from a thread where blocking is
// allowed (the worker's process threads), never from a CAF scheduler or RESTinio I/O thread.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pikoci::process {

class scope;

/// What to start. `path` without a '/' is looked up in PATH (of `env` when it sets one).
struct command {
  std::string path;
  std::vector<std::string> args;  // argv[1..]
  std::vector<std::string> env;   // complete environment, "K=V"
  std::string cwd;                // empty: inherit
};

struct options {
  std::optional<std::chrono::steady_clock::time_point> deadline;
  std::chrono::milliseconds grace{10000};  // SIGTERM → SIGKILL
  /// After the command's own process exits, output of descendants that keep the pipe open is
  /// read until it stays quiet this long (daemons started by a step must not hang it).
  std::chrono::milliseconds drain_after_exit{200};
  /// The build or check the command belongs to (containment.hpp): everything it starts is
  /// killed with the scope. None: only its process group is known.
  scope* in_scope = nullptr;
};

/// How a run ended.
struct outcome {
  bool started = false;    // false: spawn failed, see `error`
  int pid = 0;             // also the process group id
  int exit_code = -1;      // when it exited
  int signal = 0;          // when a signal ended it
  bool timed_out = false;  // the deadline passed and it was stopped
  bool cancelled = false;  // cancel() stopped it
  std::string error;       // spawn failure text

  bool succeeded() const { return started && exit_code == 0 && !timed_out && !cancelled; }
  /// Go's cmd.Wait text, appended to failed step logs: "exit status 1", "signal: killed".
  std::string failure_text() const;
};

/// Cancels a run from another thread; cheap to share, safe to call at any time, repeatedly.
class cancel_source {
 public:
  cancel_source();
  ~cancel_source();
  cancel_source(const cancel_source&) = delete;
  cancel_source& operator=(const cancel_source&) = delete;
  void cancel();
  bool cancelled() const;
  int wait_fd() const;  // readable once cancelled

 private:
  int fds_[2] = {-1, -1};
};

using output_fn = std::function<void(std::string_view chunk)>;

/// Runs `cmd` to the end, streaming output chunks to `on_output` (on the calling thread).
outcome run(const command& cmd, const options& opts, const output_fn& on_output,
            const cancel_source* cancel = nullptr);

}  // namespace pikoci::process
