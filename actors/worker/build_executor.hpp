#pragma once
// Runs one build plan on this machine (reference §5.4 "Execution of one build"): a fresh work
// directory, steps in file order, attempts and per-attempt timeouts, step hooks, in_parallel,
// task inputs/outputs and PIKOCI_OUTPUT, GET_*/TASK_* exports, the job timeout, cancellation, and
// job hooks in the reference's order. It blocks while the build runs: the build runner calls it
// from a thread where blocking is allowed. Everything it observes goes to a `build_sink`.

#include <atomic>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "actors/model/results.hpp"
#include "actors/model/work.hpp"
#include "actors/worker/secret_resolver.hpp"
#include "connectors/process/process.hpp"
#include "domain/vocabulary.hpp"

namespace pikoci::worker {

// The results the executor reports are the worker boundary's (model/results.hpp).
using work::build_result;
using work::check_result;
using work::status;
using work::step_ref;
using work::step_result;

/// Receives a build's events, possibly from several threads at once (in_parallel children).
class build_sink {
 public:
  virtual ~build_sink() = default;
  virtual void step_started(const step_ref& step) = 0;
  virtual void log(const step_ref& step, std::string_view chunk) = 0;
  virtual void step_finished(const step_ref& step, const step_result& result) = 0;
  /// The build's final status, known before the job hooks run (they never change it).
  virtual void build_decided(const build_result& result) { (void)result; }
};

/// Variables only the node's own handlers get (a command that runs `$PIKOCI_NODE_BIN builtin
/// ...`, the pikoci-node runner): the node's URL and a worker token for its artifact routes
/// (PIKOCI_NODE_URL, PIKOCI_NODE_TOKEN). Never given to other commands. Set once known: the
/// embedded worker learns the node's URL when the API listens. Thread-safe.
class handler_env {
 public:
  void set(work::env_map env) {
    std::lock_guard<std::mutex> lock(mu_);
    env_ = std::move(env);
  }
  work::env_map get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return env_;
  }

 private:
  mutable std::mutex mu_;
  work::env_map env_;
};

struct executor_options {
  std::filesystem::path work_root;  // builds get a fresh directory below it
  std::filesystem::path cache_root;  // commands with a `cache` get their $CACHE_DIR below it
  work::env_map worker_env;         // the worker's own environment (lowest precedence)
  std::shared_ptr<handler_env> node_handlers = std::make_shared<handler_env>();
  std::chrono::milliseconds grace{10000};
  /// What the commands' processes belong to (connectors/process/containment.hpp); set by the
  /// executor for each build and check, killed when it ends.
  process::scope* scope = nullptr;
  /// Reads the node's internal secret store (`secret "pikoci"`); unset: such secrets fail.
  secret_store_fn secret_store;
  /// False for `pikoci-node run`: no secret is fetched, placeholders of secret-backed variables
  /// reach commands as they are (give such variables with --var instead).
  bool resolve_secrets = true;
  /// The build's (or check's) secrets, set by the executor: every command's placeholders are
  /// resolved through it before it starts.
  secret_resolver* secrets = nullptr;
};

/// Cancels a running build from any thread.
class build_cancel {
 public:
  void cancel() {
    cancelled_ = true;
    source_.cancel();
  }
  bool cancelled() const { return cancelled_; }
  const process::cancel_source& source() const { return source_; }

 private:
  std::atomic<bool> cancelled_{false};
  process::cancel_source source_;
};

/// Runs one resolved command in `workdir`. Secret placeholders in its params, args and `layers`
/// are resolved first (`opts.secrets`); one that cannot be is the outcome's error, unstarted. The runner template looks names up in the command's
/// params, then `layers` (later ones first), then the worker's environment; the process gets the
/// worker's environment overlaid with `layers` in order, the params, and WORKDIR. Everything it
/// starts belongs to `opts.scope` when one is set.
process::outcome run_command_spec(const work::command_spec& cmd, const executor_options& opts,
                                  const std::filesystem::path& workdir,
                                  std::initializer_list<const work::env_map*> layers,
                                  std::optional<std::chrono::steady_clock::time_point> deadline,
                                  const process::cancel_source* cancel,
                                  const process::output_fn& on_output);

/// Runs a check command in a throwaway work directory and reads its output; the values of
/// `secrets` it resolved are masked in its log, error and versions.
check_result execute_check(const work::command_spec& cmd, const work::secret_plan& secrets,
                           const executor_options& opts, std::chrono::milliseconds timeout,
                           const process::cancel_source* cancel = nullptr);

/// Runs `plan` to the end and returns its final status. Every value of the plan's secrets it
/// resolved is `***` in what `sink` gets and in the result.
build_result execute_build(const work::build_plan& plan, const executor_options& opts,
                           build_sink& sink, const build_cancel& cancel);

}  // namespace pikoci::worker
