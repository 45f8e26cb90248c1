#include "tests/support/git_forge.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

namespace pikoci::test {

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string base64_decode(const std::string& in) {
  std::string out(in.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return "";
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '\0') out.pop_back();  // padding
  return out;
}

std::string query_param(const std::string& query, const std::string& key) {
  std::size_t at = 0;
  while (at <= query.size()) {
    auto end = query.find('&', at);
    auto part = query.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (part.rfind(key + "=", 0) == 0) return part.substr(key.size() + 1);
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return "";
}

/// Runs `args` with `env` added, `input` on stdin; returns stdout (stderr goes to ours).
std::string run_with_input(const std::vector<std::string>& args,
                           const std::vector<std::string>& env, const std::string& input) {
  // everything the child needs is made before fork: the test process has threads
  std::vector<char*> argv, envp;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return "";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::execvpe(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  std::thread writer([fd = in[1], &input] {
    std::size_t sent = 0;
    while (sent < input.size()) {
      auto n = ::write(fd, input.data() + sent, input.size() - sent);
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
    ::close(fd);
  });
  std::string result;
  char buf[65536];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) result.append(buf, n);
  ::close(out[0]);
  writer.join();
  int status = 0;
  ::waitpid(pid, &status, 0);
  return result;
}

http_reply json_reply(int status, const nlohmann::json& body) {
  return {status, {{"Content-Type", "application/json"}}, body.dump()};
}

}  // namespace

std::string git_ok(const std::vector<std::string>& args, const std::string& cwd) {
  std::vector<std::string> full{"git"};
  if (!cwd.empty()) full.insert(full.end(), {"-C", cwd});
  full.insert(full.end(), {"-c", "user.name=Test", "-c", "user.email=test@example.org", "-c",
                           "init.defaultBranch=main"});
  full.insert(full.end(), args.begin(), args.end());
  auto r = run_command(full, std::chrono::seconds(60));
  if (r.exit_code != 0) {
    std::string line;
    for (const auto& a : full) line += a + " ";
    throw std::runtime_error(line + "failed: " + r.output);
  }
  return trimmed(r.output);
}

local_repo::local_repo(const std::string& dir, const std::string& bare_path)
    : work(dir + "/work"), bare(bare_path) {
  std::filesystem::create_directories(std::filesystem::path(bare).parent_path());
  git_ok({"init", "-q", "-b", "main", work});
  commit("hello.txt", "one");
  git_ok({"clone", "-q", "--bare", work, bare});
  git_ok({"remote", "add", "origin", bare}, work);
}

std::string local_repo::commit(const std::string& file, const std::string& content) {
  std::ofstream(work + "/" + file) << content << "\n";
  git_ok({"add", "."}, work);
  git_ok({"commit", "-q", "-m", content}, work);
  return git_ok({"rev-parse", "HEAD"}, work);
}

void local_repo::push(const std::string& what) {
  git_ok({"push", "-q", "origin", what}, work);
}

std::string local_repo::head() const {
  return git_ok({"rev-parse", "HEAD"}, work);
}

git_forge::git_forge(std::string root, std::string token)
    : root_(std::move(root)), token_(std::move(token)) {
  receiver_.respond_with([this](const received_request& r) { return answer(r); });
}

std::string git_forge::repo_url(const std::string& owner_repo) const {
  return receiver_.url("/" + owner_repo + ".git");
}

void git_forge::open_pull(const std::string& owner_repo, int number, const std::string& sha) {
  git_ok({"update-ref", "refs/pull/" + std::to_string(number) + "/head", sha},
         root_ + "/" + owner_repo + ".git");
  std::lock_guard<std::mutex> l(mu_);
  auto& list = pulls_[owner_repo];
  list.erase(
      std::remove_if(list.begin(), list.end(), [&](const auto& p) { return p.first == number; }),
      list.end());
  list.insert(list.begin(), {number, sha});
}

void git_forge::override_api(const std::string& prefix, int status, const std::string& body) {
  std::lock_guard<std::mutex> l(mu_);
  overrides_[prefix] = {status, body};
}

std::optional<http_reply> git_forge::answer(const received_request& r) {
  auto q = r.path.find('?');
  std::string path = r.path.substr(0, q),
              query = q == std::string::npos ? "" : r.path.substr(q + 1);
  auto header = [&](const std::string& k) {
    auto it = r.headers.find(k);
    return it == r.headers.end() ? std::string() : it->second;
  };
  if (path.rfind("/api/v3/", 0) == 0) {
    if (!token_.empty() && header("authorization") != "token " + token_)
      return json_reply(401, {{"message", "Bad credentials"}});
    return api(path.substr(7), query);
  }
  if (!token_.empty()) {
    auto auth = header("authorization");
    auto decoded = auth.rfind("Basic ", 0) == 0 ? base64_decode(auth.substr(6)) : "";
    auto colon = decoded.find(':');
    if (colon == std::string::npos || decoded.substr(colon + 1) != token_)
      return http_reply{401, {{"WWW-Authenticate", "Basic realm=\"forge\""}}, "unauthorized"};
  }
  return git_cgi(r, path, query);
}

http_reply git_forge::api(const std::string& path, const std::string& query) {
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [prefix, reply] : overrides_)
      if (path.rfind(prefix, 0) == 0)
        return {reply.first, {{"Content-Type", "application/json"}}, reply.second};
  }
  // /repos/<owner>/<repo>/<what>
  if (path.rfind("/repos/", 0) != 0) return json_reply(404, {{"message", "Not Found"}});
  auto rest = path.substr(7);
  auto s1 = rest.find('/'), s2 = rest.find('/', s1 + 1);
  if (s1 == std::string::npos || s2 == std::string::npos)
    return json_reply(404, {{"message", "Not Found"}});
  auto repo = rest.substr(0, s2), what = rest.substr(s2 + 1);
  auto dir = root_ + "/" + repo + ".git";
  auto count = std::max(1, std::atoi(query_param(query, "per_page").c_str()));
  try {
    if (what == "commits") {
      auto branch = query_param(query, "sha");
      auto sha =
          git_ok({"rev-parse", "--verify", (branch.empty() ? "HEAD" : branch) + "^{commit}"}, dir);
      return json_reply(200, nlohmann::json::array({{{"sha", sha}, {"commit", {}}}}));
    }
    if (what == "tags") {
      auto lines = git_ok({"for-each-ref", "--sort=-v:refname",
                           "--format=%(refname:short) %(objectname) %(*objectname)", "refs/tags"},
                          dir);
      auto out = nlohmann::json::array();
      std::size_t at = 0;
      while (at < lines.size() && static_cast<int>(out.size()) < count) {
        auto end = lines.find('\n', at);
        auto line = lines.substr(at, end == std::string::npos ? std::string::npos : end - at);
        at = end == std::string::npos ? lines.size() : end + 1;
        auto sp1 = line.find(' '), sp2 = line.find(' ', sp1 + 1);
        auto name = line.substr(0, sp1);
        auto peeled = sp2 == std::string::npos ? "" : trimmed(line.substr(sp2 + 1));
        auto sha = peeled.empty() ? line.substr(sp1 + 1, sp2 - sp1 - 1) : peeled;
        out.push_back({{"name", name}, {"commit", {{"sha", sha}}}});
      }
      return json_reply(200, out);
    }
    if (what == "pulls") {
      std::lock_guard<std::mutex> l(mu_);
      auto out = nlohmann::json::array();
      for (const auto& [number, sha] : pulls_[repo]) {
        if (static_cast<int>(out.size()) >= count) break;
        out.push_back({{"number", number},
                       {"state", "open"},
                       {"head", {{"sha", sha}, {"ref", "topic-" + std::to_string(number)}}}});
      }
      return json_reply(200, out);
    }
  } catch (const std::exception& e) {
    return json_reply(404, {{"message", e.what()}});
  }
  return json_reply(404, {{"message", "Not Found"}});
}

http_reply git_forge::git_cgi(const received_request& r, const std::string& path,
                              const std::string& query) {
  auto header = [&](const std::string& k) {
    auto it = r.headers.find(k);
    return it == r.headers.end() ? std::string() : it->second;
  };
  std::vector<std::string> env{"GIT_PROJECT_ROOT=" + root_,
                               "GIT_HTTP_EXPORT_ALL=1",
                               "PATH_INFO=" + path,
                               "QUERY_STRING=" + query,
                               "REQUEST_METHOD=" + r.method,
                               "CONTENT_TYPE=" + header("content-type"),
                               "CONTENT_LENGTH=" + std::to_string(r.body.size()),
                               "REMOTE_USER=test",
                               "REMOTE_ADDR=127.0.0.1",
                               "GIT_PROTOCOL=" + header("git-protocol"),
                               "HTTP_CONTENT_ENCODING=" + header("content-encoding")};
  auto out = run_with_input({"git", "http-backend"}, env, r.body);
  http_reply reply;
  auto end = out.find("\r\n\r\n");
  std::size_t skip = 4;
  if (end == std::string::npos) {
    end = out.find("\n\n");
    skip = 2;
  }
  if (end == std::string::npos) return {500, {}, "http-backend gave no headers"};
  std::string head = out.substr(0, end);
  reply.body = out.substr(end + skip);
  std::size_t at = 0;
  while (at < head.size()) {
    auto e = head.find('\n', at);
    auto line = trimmed(head.substr(at, e == std::string::npos ? std::string::npos : e - at));
    at = e == std::string::npos ? head.size() : e + 1;
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto name = line.substr(0, colon), value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    if (name == "Status")
      reply.status = std::atoi(value.c_str());
    else if (name != "Content-Length")
      reply.headers[name] = value;
  }
  return reply;
}

}  // namespace pikoci::test
