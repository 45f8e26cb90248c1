#include "connectors/process/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "connectors/process/containment.hpp"
#include "persistence/crash_point.hpp"

namespace pikoci::process {
namespace {

using clock = std::chrono::steady_clock;

std::string signal_name(int sig) {
  // Go's syscall.Signal strings, as PikoCI prints them
  switch (sig) {
    case SIGKILL:
      return "killed";
    case SIGTERM:
      return "terminated";
    case SIGINT:
      return "interrupt";
    case SIGHUP:
      return "hangup";
    case SIGQUIT:
      return "quit";
    case SIGABRT:
      return "aborted";
    case SIGSEGV:
      return "segmentation fault";
    case SIGPIPE:
      return "broken pipe";
    case SIGBUS:
      return "bus error";
    case SIGFPE:
      return "floating point exception";
    case SIGILL:
      return "illegal instruction";
    case SIGUSR1:
      return "user defined signal 1";
    case SIGUSR2:
      return "user defined signal 2";
    default:
      return "signal " + std::to_string(sig);
  }
}

/// PATH of the child's environment, else of this process.
std::string search_path(const std::vector<std::string>& env) {
  for (const auto& kv : env)
    if (kv.rfind("PATH=", 0) == 0) return kv.substr(5);
  const char* p = std::getenv("PATH");
  return p != nullptr ? p : "/usr/local/bin:/usr/bin:/bin";
}

/// Resolves a bare command name against PATH like exec.LookPath; empty when not found.
std::string resolve(const std::string& path, const std::vector<std::string>& env) {
  if (path.find('/') != std::string::npos) return path;
  std::string dirs = search_path(env);
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + path;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return {};
}

int decode(int status, outcome& out) {
  if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) out.signal = WTERMSIG(status);
  return status;
}

}  // namespace

std::string outcome::failure_text() const {
  if (!started) return error;
  if (signal != 0) return "signal: " + signal_name(signal);
  return "exit status " + std::to_string(exit_code);
}

cancel_source::cancel_source() {
  if (pipe2(fds_, O_CLOEXEC | O_NONBLOCK) != 0) fds_[0] = fds_[1] = -1;
}

cancel_source::~cancel_source() {
  for (int fd : fds_)
    if (fd >= 0) close(fd);
}

void cancel_source::cancel() {
  char c = 1;
  if (fds_[1] >= 0) (void)!write(fds_[1], &c, 1);
}

bool cancel_source::cancelled() const {
  pollfd p{fds_[0], POLLIN, 0};
  return fds_[0] >= 0 && poll(&p, 1, 0) > 0;
}

int cancel_source::wait_fd() const {
  return fds_[0];
}

namespace {

/// Starts `cmd` (resolved to `exe`) with its output on `out_fd`, through the step shim when in
/// the scope `sc` (which reports on `status_fd`): posix_spawn's result, `pid` set on success.
int spawn(const command& cmd, const std::string& exe, scope* sc, int out_fd, int status_fd,
          pid_t& pid) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
  if (sc != nullptr) posix_spawn_file_actions_adddup2(&fa, status_fd, 3);
  // nothing else of the server leaks into the child: not the listening socket, not the store's
  // LOCK (a build outliving a killed server would keep the store locked)
  posix_spawn_file_actions_addclosefrom_np(&fa, sc != nullptr ? 4 : 3);
  if (!cmd.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cmd.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);    // the server blocks signals; the child must not
  posix_spawnattr_setsigdefault(&attr, &all);  // nor inherit ignored dispositions
  posix_spawnattr_setpgroup(&attr, 0);         // its own process group, killed as a whole
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  std::string parent = std::to_string(getpid());
  std::string procs = sc != nullptr && !sc->cgroup_procs().empty() ? sc->cgroup_procs() : "-";
  std::vector<char*> argv;
  if (sc != nullptr)
    argv = {const_cast<char*>("pikoci-step"), const_cast<char*>(step_shim_arg),
            const_cast<char*>(parent.c_str()), const_cast<char*>(procs.c_str()),
            const_cast<char*>(exe.c_str())};
  argv.push_back(const_cast<char*>(cmd.path.c_str()));
  for (const auto& a : cmd.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::string tag = sc != nullptr && !sc->tag().empty() ? "PIKOCI_SCOPE=" + sc->tag() : "";
  std::vector<char*> envp;
  // a node started by another node's build inherited that build's PIKOCI_SCOPE: ours replaces it
  for (const auto& e : cmd.env)
    if (tag.empty() || e.rfind("PIKOCI_SCOPE=", 0) != 0)
      envp.push_back(const_cast<char*>(e.c_str()));
  if (!tag.empty()) envp.push_back(const_cast<char*>(tag.c_str()));
  envp.push_back(nullptr);
  int rc;
  {
    // subreaper mode: the orphan reaper must never take this child's exit status
    std::optional<child_guard> spawning;
    if (sc != nullptr && sc->mode() == cleanup_mode::subreaper) spawning.emplace();
    rc = posix_spawn(&pid, sc != nullptr ? helper_executable().c_str() : exe.c_str(), &fa, &attr,
                     argv.data(), envp.data());
    if (rc == 0 && spawning) track_child(pid, true);
  }
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc;
}

/// Everything read from `fd` until its end (or an error other than EINTR).
std::string read_all(int fd) {
  std::string out;
  char b[512];
  for (ssize_t got; (got = read(fd, b, sizeof b)) != 0;) {
    if (got > 0)
      out.append(b, static_cast<std::size_t>(got));
    else if (errno != EINTR)
      break;
  }
  return out;
}

/// Follows the child `pid` until it exited and its output on `rd` (which this closes) is read,
/// stopping its process group at the deadline or on cancel; the exit goes into `out`.
void follow(pid_t pid, int rd, const options& opts, const output_fn& on_output,
            const cancel_source* cancel, outcome& out) {
  fcntl(rd, F_SETFL, fcntl(rd, F_GETFL) | O_NONBLOCK);
  // readable when the child exits (Linux 5.3+), so its end is seen at once rather than at the
  // next 20 ms poll; without it, exit is noticed by polling
  int exit_fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));

  bool exited = false, pipe_open = true, term_sent = false, kill_sent = false;
  clock::time_point kill_at{}, exited_at{}, last_output = clock::now();
  auto stop = [&](bool timeout) {
    if (term_sent) return;
    (timeout ? out.timed_out : out.cancelled) = true;
    term_sent = true;
    kill(-pid, SIGTERM);
    kill_at = clock::now() + opts.grace;
  };
  char buf[65536];
  while (pipe_open || !exited) {
    auto now = clock::now();
    if (!exited) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        decode(status, out);
        exited = true;
        exited_at = now;
        // Descendants stay alive (a service's start step leaves its daemon running); only a
        // cancel or timeout stops the whole group.
      }
    }
    if (exited && !pipe_open) break;  // both seen in this round: nothing left to wait for
    if (exited && pipe_open && now - std::max(exited_at, last_output) >= opts.drain_after_exit)
      break;
    if (!term_sent && opts.deadline && now >= *opts.deadline) stop(true);
    if (!term_sent && cancel != nullptr && cancel->cancelled()) stop(false);
    if (term_sent && !kill_sent && now >= kill_at) {
      kill(-pid, SIGKILL);
      kill_sent = true;
    }
    // wait for output, the child's exit, cancellation, or the next timer
    auto wait = std::chrono::milliseconds(20);
    pollfd pfds[3];
    nfds_t n = 0;
    if (pipe_open) pfds[n++] = {rd, POLLIN, 0};
    if (!exited && exit_fd >= 0) pfds[n++] = {exit_fd, POLLIN, 0};
    if (cancel != nullptr && !term_sent) pfds[n++] = {cancel->wait_fd(), POLLIN, 0};
    int ready = poll(pfds, n, static_cast<int>(wait.count()));
    if (ready > 0 && pipe_open && (pfds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      while (true) {
        ssize_t got = read(rd, buf, sizeof buf);
        if (got > 0) {
          last_output = clock::now();
          if (on_output) on_output(std::string_view(buf, static_cast<std::size_t>(got)));
          continue;
        }
        if (got == 0) pipe_open = false;
        break;  // EAGAIN: nothing more for now
      }
    }
  }
  close(rd);
  if (exit_fd >= 0) close(exit_fd);
  if (!exited) {
    int status = 0;
    waitpid(pid, &status, 0);
    decode(status, out);
  }
}

}  // namespace

outcome run(const command& cmd, const options& opts, const output_fn& on_output,
            const cancel_source* cancel) {
  outcome out;
  std::string exe = resolve(cmd.path, cmd.env);
  if (exe.empty()) {
    out.error = "exec: \"" + cmd.path + "\": executable file not found in $PATH";
    return out;
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    out.error = std::string("pipe: ") + std::strerror(errno);
    return out;
  }
  // In a scope a shim runs first (containment.hpp): it enters the scope's
  // cgroup and arms PR_SET_PDEATHSIG, then becomes the command; until then it holds `shim_status`,
  // where it writes why it could not. So no process of the step ever runs outside its cgroup.
  scope* sc = opts.in_scope != nullptr && opts.in_scope->active() ? opts.in_scope : nullptr;
  int shim_status[2] = {-1, -1};
  if (sc != nullptr && pipe2(shim_status, O_CLOEXEC) != 0) {
    close(fds[0]);
    close(fds[1]);
    out.error = std::string("pipe: ") + std::strerror(errno);
    return out;
  }
  pid_t pid = -1;
  int rc = spawn(cmd, exe, sc, fds[1], shim_status[1], pid);
  close(fds[1]);
  if (sc != nullptr) close(shim_status[1]);
  if (rc != 0) {
    close(fds[0]);
    if (sc != nullptr) close(shim_status[0]);
    out.error = "fork/exec " + exe + ": " + std::strerror(rc);
    return out;
  }
  if (sc != nullptr) {
    // the shim closes `shim_status` by executing the command, or writes why it could not
    std::string failed = read_all(shim_status[0]);
    close(shim_status[0]);
    if (!failed.empty()) {
      close(fds[0]);
      int ignored = 0;
      waitpid(pid, &ignored, 0);
      track_child(pid, false);
      out.error = failed;
      return out;
    }
  }
  out.started = true;
  out.pid = pid;
  persistence::crash_point("after_spawn");
  follow(pid, fds[0], opts, on_output, cancel, out);
  if (sc != nullptr && sc->mode() == cleanup_mode::subreaper) {
    track_child(pid, false);
    // processes of its group outlived it (`cmd &`): the group is killed with the scope
    if (kill(-pid, 0) == 0) sc->add_group(pid);
  }
  return out;
}

}  // namespace pikoci::process
