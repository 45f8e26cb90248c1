#include "connectors/process/containment.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

extern char** environ;

namespace pikoci::process {
namespace {

using clock = std::chrono::steady_clock;

/// How long a kill waits for the killed processes to be gone.
constexpr auto kill_wait = std::chrono::seconds(5);

constexpr const char* guard_arg = "__pikoci_guard";
constexpr const char* scope_var = "PIKOCI_SCOPE=";

struct node_state {
  cleanup_mode mode = cleanup_mode::none;
  std::string helper = "/proc/self/exe";  // steps: pikoci-shim next to this binary when it is there
  std::string self = "/proc/self/exe";    // the guard: this binary (even if since replaced)
  std::string node_dir;                   // cgroup mode: <base>/pikoci-<pid>
  std::string tag_prefix;                 // subreaper mode: "<pid>/"
};

node_state& node() {
  static node_state s;
  return s;
}

std::mutex& child_mu() {
  static std::mutex mu;
  return mu;
}

/// Pids run() spawned and waits for itself (subreaper mode): never reaped here.
std::set<int>& my_children() {
  static std::set<int> s;
  return s;
}

void log_line(const std::string& text) {
  // the same shape as the node's log lines; also used by the guard, which has no logger set up
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[40];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::fprintf(stderr, "%s.%03dZ %s\n", stamp, static_cast<int>(ms.count()), text.c_str());
  std::fflush(stderr);
}

std::string read_small(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string s;
  char buf[4096];
  while (in && s.size() < (1u << 20)) {
    in.read(buf, sizeof buf);
    s.append(buf, static_cast<std::size_t>(in.gcount()));
  }
  return s;
}

/// 0, or the errno of the failed open or write.
int write_small(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = 0;
  if (write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) err = errno;
  close(fd);
  return err;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool pid_alive(int pid) {
  return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

std::vector<std::string> subdirs(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    if (e->d_type == DT_DIR) out.push_back(n);
  }
  closedir(d);
  return out;
}

std::vector<int> numeric_entries(const std::string& dir) {
  std::vector<int> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    long v = std::strtol(e->d_name, &end, 10);
    if (end != e->d_name && *end == '\0' && v > 0) out.push_back(static_cast<int>(v));
  }
  closedir(d);
  return out;
}

void pause_briefly(int round) {
  std::this_thread::sleep_for(std::chrono::milliseconds(std::min(2 + round, 20)));
}

// ---------------------------------------------------------------- cgroup v2

/// Pids in `dir` and every cgroup below it.
void cgroup_pids(const std::string& dir, std::vector<int>& out) {
  std::istringstream in(read_small(dir + "/cgroup.procs"));
  int pid;
  while (in >> pid) out.push_back(pid);
  for (const auto& sub : subdirs(dir)) cgroup_pids(dir + "/" + sub, out);
}

/// A process is left in `dir` or below (false once the cgroup is gone).
bool populated(const std::string& dir) {
  return read_small(dir + "/cgroup.events").find("populated 1") != std::string::npos;
}

/// SIGKILLs every process in `dir` and below and waits until none is left; the number found.
int kill_cgroup(const std::string& dir) {
  if (!exists(dir)) return 0;
  std::vector<int> pids;
  cgroup_pids(dir, pids);
  if (pids.empty() && !populated(dir)) return 0;
  if (write_small(dir + "/cgroup.kill", "1") != 0) {
    // before Linux 5.14: freeze so nothing forks while the members are killed, then thaw so the
    // kills are delivered
    bool froze = write_small(dir + "/cgroup.freeze", "1") == 0;
    for (int round = 0; froze && round < 100; ++round) {
      if (read_small(dir + "/cgroup.events").find("frozen 1") != std::string::npos) break;
      pause_briefly(round);
    }
    pids.clear();
    cgroup_pids(dir, pids);
    for (int pid : pids) kill(pid, SIGKILL);
    if (froze) write_small(dir + "/cgroup.freeze", "0");
  }
  auto until = clock::now() + kill_wait;
  for (int round = 0; populated(dir) && clock::now() < until; ++round) {
    if (round % 50 == 49) {  // a fork that raced the freeze: kill again
      std::vector<int> more;
      cgroup_pids(dir, more);
      for (int pid : more) kill(pid, SIGKILL);
    }
    pause_briefly(round);
  }
  return static_cast<int>(pids.size());
}

/// Removes `dir` and the cgroups below it (all empty by now).
void remove_cgroup(const std::string& dir) {
  for (const auto& sub : subdirs(dir)) remove_cgroup(dir + "/" + sub);
  for (int round = 0; round < 50; ++round) {
    if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
    if (errno != EBUSY) break;
    pause_briefly(round);
  }
  log_line("level=warning event=process.cgroup_not_removed cgroup=" + dir + " error=\"" +
           std::strerror(errno) + "\"");
}

/// The cgroup v2 directory this process is in: the mount point of the cgroup2 file system joined
/// with our path in it (hybrid systems mount it at /sys/fs/cgroup/unified). "" when none.
std::string own_cgroup_dir() {
  std::string path;
  {
    std::istringstream in(read_small("/proc/self/cgroup"));
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("0::", 0) == 0) path = line.substr(3);
  }
  if (path.empty()) return {};
  std::istringstream in(read_small("/proc/self/mountinfo"));
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    auto sep = line.find(" - ");
    if (sep == std::string::npos) continue;
    std::istringstream rest(line.substr(sep + 3));
    std::string fstype;
    rest >> fstype;
    if (fstype != "cgroup2") continue;
    std::istringstream head(line.substr(0, sep));
    std::string id, parent, dev, root, mount;
    head >> id >> parent >> dev >> root >> mount;
    std::string rel = path;
    if (root != "/" && rel.rfind(root, 0) == 0) rel = rel.substr(root.size());
    if (rel == "/") rel.clear();
    return mount + rel;
  }
  return {};
}

/// Kills and removes `pikoci-<pid>` cgroups below `base` whose node is not running any more.
int kill_dead_node_cgroups(const std::string& base) {
  int killed = 0;
  for (const auto& name : subdirs(base)) {
    if (name.rfind("pikoci-", 0) != 0) continue;
    char* end = nullptr;
    long pid = std::strtol(name.c_str() + 7, &end, 10);
    if (end == name.c_str() + 7 || *end != '\0' || pid == getpid() ||
        pid_alive(static_cast<int>(pid)))
      continue;
    int n = kill_cgroup(base + "/" + name);
    remove_cgroup(base + "/" + name);
    if (n > 0)
      log_line("level=warning event=process.leftovers_killed cgroup=" + base + "/" + name +
               " processes=" + std::to_string(n));
    killed += n;
  }
  return killed;
}

// ---------------------------------------------------------------- subreaper mode

struct proc_stat {
  int pid = 0, ppid = 0, pgid = 0;
  char state = '?';
};

bool read_stat(int pid, proc_stat& out) {
  auto s = read_small("/proc/" + std::to_string(pid) + "/stat");
  auto close_paren = s.rfind(')');
  if (close_paren == std::string::npos) return false;
  std::istringstream in(s.substr(close_paren + 1));
  out.pid = pid;
  return static_cast<bool>(in >> out.state >> out.ppid >> out.pgid);
}

/// The PIKOCI_SCOPE value in `pid`'s environment, "" when it has none.
std::string scope_of(int pid) {
  auto env = read_small("/proc/" + std::to_string(pid) + "/environ");
  std::size_t at = 0;
  while (at < env.size()) {
    auto end = env.find('\0', at);
    if (end == std::string::npos) end = env.size();
    if (env.compare(at, std::strlen(scope_var), scope_var) == 0)
      return env.substr(at + std::strlen(scope_var), end - at - std::strlen(scope_var));
    at = end + 1;
  }
  return {};
}

/// Reaps children of this process that run() does not wait for (orphans that re-parented here).
void reap_orphans(const std::vector<int>& zombies) {
  std::lock_guard<std::mutex> lock(child_mu());
  for (int pid : zombies)
    if (my_children().count(pid) == 0) waitpid(pid, nullptr, WNOHANG);
}

/// SIGKILLs, round after round until none is left (bounded), every live process that is in one
/// of `groups` or whose PIKOCI_SCOPE satisfies `match`; the number of processes killed.
int kill_tagged(const std::vector<int>& groups,
                const std::function<bool(const std::string&)>& match) {
  std::set<int> killed;
  int self = getpid();
  auto until = clock::now() + kill_wait;
  for (int round = 0; clock::now() < until; ++round) {
    int found = 0;
    std::vector<int> zombies;
    for (int pid : numeric_entries("/proc")) {
      if (pid == self) continue;
      proc_stat st;
      if (!read_stat(pid, st)) continue;
      if (st.state == 'Z' || st.state == 'X') {
        if (st.ppid == self) zombies.push_back(pid);
        continue;
      }
      bool ours = false;
      for (int g : groups) ours = ours || st.pgid == g;
      if (!ours) {
        auto tag = scope_of(pid);
        ours = !tag.empty() && match(tag);
      }
      if (!ours) continue;
      kill(pid, SIGKILL);
      killed.insert(pid);
      ++found;
    }
    reap_orphans(zombies);
    if (found == 0) break;
    pause_briefly(round);
  }
  return static_cast<int>(killed.size());
}

/// Processes tagged by nodes that are not running any more.
int kill_dead_node_processes() {
  int n = kill_tagged({}, [](const std::string& tag) {
    auto slash = tag.find('/');
    int pid = std::atoi(tag.substr(0, slash).c_str());
    return slash != std::string::npos && pid != getpid() && !pid_alive(pid);
  });
  if (n > 0)
    log_line("level=warning event=process.leftovers_killed processes=" + std::to_string(n));
  return n;
}

// ---------------------------------------------------------------- guard and shim

/// Starts the guard: this binary in its guard mode, reading a pipe only this process
/// holds the write end of. When the node dies, however it dies, the pipe closes and the guard kills
/// what the node's scopes still hold.
bool start_guard(const std::string& mode_arg, const std::string& target) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);  // a Ctrl-C meant for the node does not reach it
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  std::string pid = std::to_string(getpid());
  std::vector<char*> argv{const_cast<char*>("pikoci-guard"),   const_cast<char*>(guard_arg),
                          const_cast<char*>(mode_arg.c_str()), const_cast<char*>(target.c_str()),
                          const_cast<char*>(pid.c_str()),      nullptr};
  pid_t child = -1;
  int rc;
  {
    std::lock_guard<std::mutex> lock(child_mu());
    rc = posix_spawn(&child, node().self.c_str(), &fa, &attr, argv.data(), environ);
    if (rc == 0) my_children().insert(child);
  }
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(fds[0]);
  if (rc != 0) {
    close(fds[1]);
    return false;
  }
  // fds[1] stays open (close-on-exec) for the life of this process: that is the signal
  return true;
}

int guard_main(int argc, char** argv) {
  if (argc < 5) return 2;
  for (int s : {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGPIPE}) signal(s, SIG_IGN);
  std::string mode = argv[2], target = argv[3], node_pid = argv[4];
  char c;
  while (true) {  // the node never writes: this returns at its exit
    ssize_t n = read(0, &c, 1);
    if (n == 0 || (n < 0 && errno != EINTR)) break;
  }
  int killed = 0;
  if (mode == "cgroup") {
    killed = kill_cgroup(target);
    remove_cgroup(target);
  } else {
    killed = kill_tagged({}, [&](const std::string& tag) { return tag.rfind(target, 0) == 0; });
  }
  if (killed > 0)
    log_line("level=warning event=process.guard_killed node_pid=" + node_pid +
             " processes=" + std::to_string(killed));
  return 0;
}

/// The step shim when there is no pikoci-shim (step_shim.c, which does the same and writes the
/// same texts): dies with the node's thread that spawned it, enters the scope's cgroup, then
/// becomes the step's command. Failures are written to fd 3 (closed on a successful exec).
int shim_main(int argc, char** argv) {
  if (argc < 6) return 127;
  fcntl(3, F_SETFD, FD_CLOEXEC);
  auto fail = [](const std::string& text) {
    (void)!write(3, text.data(), text.size());
    _exit(127);
  };
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != std::atoi(argv[2])) fail("the node stopped");  // before the line above
  std::string procs = argv[3];
  if (procs != "-") {
    if (int err = write_small(procs, "0"); err != 0)
      fail("cannot enter the build's cgroup " + procs + ": " + std::strerror(err));
  }
  execve(argv[4], argv + 5, environ);
  fail(std::string("fork/exec ") + argv[4] + ": " + std::strerror(errno));
  return 127;
}

}  // namespace

const std::string& helper_executable() {
  return node().helper;
}

const char* to_string(cleanup_mode m) {
  switch (m) {
    case cleanup_mode::cgroup:
      return "cgroup";
    case cleanup_mode::subreaper:
      return "subreaper";
    case cleanup_mode::none:
      break;
  }
  return "none";
}

cleanup_status init_cleanup(const std::string& cgroup_root) {
  cleanup_status out;
  auto& n = node();
  {
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    std::string dir = len > 0 ? std::string(self, static_cast<std::size_t>(len)) : "";
    dir = dir.substr(0, dir.rfind('/') == std::string::npos ? 0 : dir.rfind('/'));
    if (!dir.empty() && access((dir + "/pikoci-shim").c_str(), X_OK) == 0)
      n.helper = dir + "/pikoci-shim";
  }
  std::string pid = std::to_string(getpid());
  if (cgroup_root != "off") {
    std::string base =
        cgroup_root == "auto" || cgroup_root.empty() ? own_cgroup_dir() : cgroup_root;
    while (base.size() > 1 && base.back() == '/') base.pop_back();
    if (base.empty()) {
      out.fallback = "no cgroup v2 hierarchy";
    } else if (!exists(base + "/cgroup.procs")) {
      out.fallback = base + " is not a cgroup v2 directory";
    } else if (access((base + "/cgroup.procs").c_str(), W_OK) != 0) {
      out.fallback = base + "/cgroup.procs is not writable";
    } else {
      out.leftovers = kill_dead_node_cgroups(base);
      std::string dir = base + "/pikoci-" + pid;
      if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        out.fallback = "cannot create " + dir + ": " + std::strerror(errno);
      } else if (!start_guard("cgroup", dir)) {
        out.fallback = "cannot start the guard process";
        rmdir(dir.c_str());
      } else {
        n.mode = out.mode = cleanup_mode::cgroup;
        n.node_dir = out.where = dir;
        return out;
      }
    }
  } else {
    out.fallback = "--build-cgroup off";
  }
  // subreaper: orphans of build processes re-parent to this process instead of init
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  out.leftovers += kill_dead_node_processes();
  n.tag_prefix = pid + "/";
  if (!start_guard("tag", n.tag_prefix)) return out;  // inert: nothing would clean up after us
  n.mode = out.mode = cleanup_mode::subreaper;
  return out;
}

scope::scope(std::string name) : name_(std::move(name)) {
  const auto& n = node();
  if (n.mode == cleanup_mode::cgroup) {
    dir_ = n.node_dir + "/" + name_;
    if (mkdir(dir_.c_str(), 0755) != 0 && errno != EEXIST) {
      // without its cgroup every step of the scope would fail to start: say why once
      log_line("level=warning event=process.cgroup_failed cgroup=" + dir_ + " error=\"" +
               std::strerror(errno) + "\"");
      dir_.clear();
      return;
    }
    procs_ = dir_ + "/cgroup.procs";
    mode_ = cleanup_mode::cgroup;
  } else if (n.mode == cleanup_mode::subreaper) {
    tag_ = n.tag_prefix + name_;
    mode_ = cleanup_mode::subreaper;
  }
}

scope::~scope() {
  kill_all();
  if (mode_ == cleanup_mode::cgroup) remove_cgroup(dir_);
}

int scope::kill_all() {
  switch (mode_) {
    case cleanup_mode::cgroup:
      return kill_cgroup(dir_);
    case cleanup_mode::subreaper: {
      std::vector<int> groups;
      {
        std::lock_guard<std::mutex> lock(mu_);
        groups.swap(groups_);
      }
      return kill_tagged(groups, [&](const std::string& tag) { return tag == tag_; });
    }
    case cleanup_mode::none:
      break;
  }
  return 0;
}

void scope::add_group(int pgid) {
  std::lock_guard<std::mutex> lock(mu_);
  if (mode_ == cleanup_mode::subreaper) groups_.push_back(pgid);
}

child_guard::child_guard() {
  child_mu().lock();
}

child_guard::~child_guard() {
  child_mu().unlock();
}

void track_child(int pid, bool mine) {
  // called with child_guard held when mine, without it when done
  if (mine) {
    my_children().insert(pid);
  } else {
    std::lock_guard<std::mutex> lock(child_mu());
    my_children().erase(pid);
  }
}

int internal_main(int argc, char** argv) {
  if (argc < 2) return -1;
  if (std::strcmp(argv[1], step_shim_arg) == 0) return shim_main(argc, argv);
  if (std::strcmp(argv[1], guard_arg) == 0) return guard_main(argc, argv);
  return -1;
}

}  // namespace pikoci::process
