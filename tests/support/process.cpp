#include "tests/support/process.hpp"

#include <fstream>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <mutex>
#include <regex>
#include <stdexcept>

extern char** environ;

namespace pikoci::test {
namespace {

std::vector<std::string> merged_env(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) env[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

/// posix_spawn with stdout+stderr into a pipe; returns the pid and the read end.
std::pair<int, int> spawn(const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  auto envs = merged_env(env);
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    throw std::runtime_error("cannot start " + args[0] + ": " + std::strerror(rc));
  }
  return {pid, fds[0]};
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::string node_binary() {
  return PIKOCI_NODE_BINARY;
}
std::string source_path(const std::string& relative) {
  return std::string(PIKOCI_SOURCE_DIR) + "/" + relative;
}

command_result run_command(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                           const std::map<std::string, std::string>& env) {
  child_process p(args, env);
  command_result r;
  auto code = p.wait_exit(timeout);
  r.exit_code = code ? *code : p.stop(SIGKILL);
  r.output = p.output();
  return r;
}

child_process::child_process(const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env) {
  auto [pid, fd] = spawn(args, env);
  pid_ = pid;
  reader_ = std::thread([this, fd = fd] { read_loop(fd); });
}

child_process::~child_process() {
  if (!exit_code_) stop(SIGKILL, std::chrono::seconds(5));
  if (reader_.joinable()) reader_.join();
}

void child_process::read_loop(int fd) {
  char buf[4096];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    std::lock_guard<std::mutex> lock(mu_);
    out_.append(buf, static_cast<std::size_t>(n));
    cv_.notify_all();
  }
  close(fd);
  std::lock_guard<std::mutex> lock(mu_);
  eof_ = true;
  cv_.notify_all();
}

std::optional<std::string> child_process::wait_for_line(const std::string& needle,
                                                        std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  std::optional<std::string> found;
  cv_.wait_for(lock, timeout, [&] {
    std::size_t at = out_.find(needle);
    if (at != std::string::npos) {
      std::size_t b = out_.rfind('\n', at);
      b = b == std::string::npos ? 0 : b + 1;
      std::size_t e = out_.find('\n', at);
      if (e == std::string::npos) return false;  // wait for the whole line
      found = out_.substr(b, e - b);
      return true;
    }
    return eof_;
  });
  return found;
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = decode_status(status);
      if (reader_.joinable()) reader_.join();
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int child_process::stop(int sig, std::chrono::milliseconds timeout) {
  if (exit_code_) return *exit_code_;
  kill(pid_, sig);
  if (auto code = wait_exit(timeout)) return *code;
  kill(pid_, SIGKILL);
  return wait_exit(std::chrono::seconds(10)).value_or(-1);
}

std::string child_process::output() const {
  std::lock_guard<std::mutex> lock(mu_);
  return out_;
}

std::string child_process::tail(std::size_t lines) const {
  std::string all = output();
  std::size_t pos = all.size();
  for (std::size_t n = 0; n <= lines && pos > 0; ++n) {
    pos = all.rfind('\n', pos - 1);
    if (pos == std::string::npos) return all;
  }
  return all.substr(pos + 1);
}

node_server::node_server(std::vector<std::string> extra_args,
                         const std::map<std::string, std::string>& env) {
  std::vector<std::string> args{node_binary(), "--role", "server",       "--host",     "127.0.0.1",
                                "--port",      "0",      "--jwt-secret", "test-secret"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  proc_ = std::make_unique<child_process>(args, env);
  auto line = proc_->wait_for_line("event=node.ready", std::chrono::seconds(20));
  if (!line) throw std::runtime_error("pikoci-node did not become ready:\n" + proc_->tail());
  std::smatch m;
  std::regex port_re(" port=([0-9]+)");
  if (!std::regex_search(*line, m, port_re))
    throw std::runtime_error("no port in ready line: " + *line);
  port_ = std::stoi(m[1]);
}

// --- tokens ----------------------------------------------------------------------------------

namespace {

std::string first_line_token(const command_result& r) {
  if (r.exit_code != 0) throw std::runtime_error("token command failed: " + r.output);
  std::string t = r.output.substr(0, r.output.find('\n'));
  if (t.empty()) throw std::runtime_error("token command printed nothing");
  return t;
}

}  // namespace

std::string user_token(const std::string& role) {
  static std::mutex mu;
  static std::map<std::string, std::string> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(role);
  if (it != cache.end()) return it->second;
  auto t = first_line_token(
      run_command({node_binary(), "user-token", "--jwt-secret", "test-secret", "--role", role}));
  cache[role] = t;
  return t;
}

std::string worker_token() {
  static std::string cached;
  if (cached.empty())
    cached = first_line_token(
        run_command({node_binary(), "worker-token", "--jwt-secret", "test-secret"}));
  return cached;
}

long proc_status_kb(int pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
  return -1;
}

}  // namespace pikoci::test
