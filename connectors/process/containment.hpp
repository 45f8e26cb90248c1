#pragma once
// Process cleanup (docs/operations.md "Process cleanup"): everything a build or a check starts is
// stopped when it ends, including processes that left the step's process group (`setsid`) or
// were left running in the background, and nothing of it outlives the node, even after kill -9.
//
// Two mechanisms, chosen once at start by `init_cleanup`:
// - cgroup: with a writable cgroup v2 hierarchy, the node makes `<base>/pikoci-<pid>` and each
//   scope (a build attempt, a check) gets `<node>/<scope name>`. A step enters its cgroup before
//   its command is executed (a tiny freestanding shim, `pikoci-shim` from step_shim.c, runs
//   first, so no process of the step is ever outside it); ending the scope kills the cgroup (`cgroup.kill`, or freeze and
//   SIGKILL on kernels before 5.14) and removes it.
// - subreaper (no usable cgroup v2): the node is a child subreaper; every step process group is
//   recorded and every step's environment carries PIKOCI_SCOPE=<node pid>/<scope name>, which
//   its descendants inherit; ending the scope SIGKILLs every process found by either, until
//   none is left, and reaps those that re-parented to the node. A process that both leaves its
//   process group and clears its environment escapes this mechanism (not the cgroup one).
// In both modes a guard process started by `init_cleanup` notices the node's death (its pipe
// closes) and kills what the node's scopes still hold; every step process also gets SIGKILL
// from the kernel when the node dies (PR_SET_PDEATHSIG). At start, leftovers of nodes that are
// no longer running (cgroups or tagged processes) are killed before anything is recorded.
//
// Without `init_cleanup` (unit tests, tools) scopes are inert: steps run as before, in their own
// process group only.

#include <mutex>
#include <string>
#include <vector>

namespace pikoci::process {

enum class cleanup_mode { none, cgroup, subreaper };

/// What `init_cleanup` set up, for the start-up log.
struct cleanup_status {
  cleanup_mode mode = cleanup_mode::none;
  std::string where;     // the node's cgroup directory (cgroup mode)
  std::string fallback;  // why cgroup mode is not used ("" when it is)
  int leftovers = 0;     // processes of dead nodes killed at start
};

/// Chooses and prepares the mechanism for this process (the node binary only: the step shim is
/// `pikoci-shim` next to it, or the node binary itself; the guard is the node binary). `cgroup_root`: "auto" (the node's own
/// cgroup v2, delegated subtree below it), "off" (subreaper mode), or a cgroup v2 directory to
/// create the node's cgroup in. Call once at start, before any build runs or is recorded.
cleanup_status init_cleanup(const std::string& cgroup_root);

const char* to_string(cleanup_mode m);

/// Everything one build attempt or check starts. Steps are run in it with `options::scope`.
class scope {
 public:
  /// `name` is unique among this node's live scopes: "build-12-1", "check-<random>".
  explicit scope(std::string name);
  /// Kills what is left and removes the cgroup.
  ~scope();
  scope(const scope&) = delete;
  scope& operator=(const scope&) = delete;

  /// SIGKILLs every process started in this scope that is still running and waits until they
  /// are gone (bounded). The scope stays usable. Returns how many processes were found.
  int kill_all();

  bool active() const { return mode_ != cleanup_mode::none; }
  cleanup_mode mode() const { return mode_; }
  /// cgroup mode: the cgroup.procs file a step writes itself into ("" otherwise).
  const std::string& cgroup_procs() const { return procs_; }
  /// subreaper mode: the PIKOCI_SCOPE value every step gets ("" otherwise).
  const std::string& tag() const { return tag_; }
  /// subreaper mode: the process group of a step that ended while members of it still run,
  /// killed with the scope. Thread-safe (in_parallel steps).
  void add_group(int pgid);

 private:
  std::string name_;
  cleanup_mode mode_ = cleanup_mode::none;
  std::string dir_, procs_, tag_;
  std::mutex mu_;
  std::vector<int> groups_;
};

/// Subreaper mode: run() holds this while it spawns a step and marks its pid as its own, so the
/// orphan reaper never takes the exit status run() waits for.
class child_guard {
 public:
  child_guard();
  ~child_guard();
  child_guard(const child_guard&) = delete;
  child_guard& operator=(const child_guard&) = delete;
};
void track_child(int pid, bool mine);

/// What steps are started through: `pikoci-shim` next to the node's binary, or the node's own
/// binary when it is missing.
const std::string& helper_executable();

/// The node binary's hidden internal modes (the step shim and the guard), dispatched before the
/// command line is parsed: the exit code, or -1 when `argv` is not one of them.
int internal_main(int argc, char** argv);

/// argv[1] of the step shim: [self, step_shim_arg, parent pid, cgroup.procs or "-", executable,
/// argv0, args...].
inline constexpr const char* step_shim_arg = "__pikoci_step";

}  // namespace pikoci::process
