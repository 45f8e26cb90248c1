#pragma once
// A local git forge for the git resource type's tests: bare repositories served over smart HTTP
// by `git http-backend` (CGI) and a GitHub-like REST API (`/api/v3`: commits, tags, open pull
// requests) computed from those repositories, on one 127.0.0.1 port like a GitHub Enterprise
// host. With a token set, the API wants `Authorization: token T` and git wants Basic auth with T
// as the password (401 otherwise).

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "tests/support/http_receiver.hpp"

namespace pikoci::test {

class git_forge {
 public:
  /// Serves the bare repositories below `root` (`<root>/<owner>/<repo>.git`).
  git_forge(std::string root, std::string token);

  /// `http://127.0.0.1:PORT/<owner>/<repo>.git`
  std::string repo_url(const std::string& owner_repo) const;
  const http_receiver& receiver() const { return receiver_; }

  /// Opens (or updates) pull request `number` at commit `sha`: refs/pull/N/head in the
  /// repository, and first in the API's list (most recently updated).
  void open_pull(const std::string& owner_repo, int number, const std::string& sha);
  /// API paths starting with `prefix` answer `status` and `body` instead (hostile answers).
  void override_api(const std::string& prefix, int status, const std::string& body);

 private:
  std::optional<http_reply> answer(const received_request& r);
  http_reply api(const std::string& path, const std::string& query);
  http_reply git_cgi(const received_request& r, const std::string& path, const std::string& query);

  std::string root_, token_;
  std::mutex mu_;
  std::map<std::string, std::vector<std::pair<int, std::string>>> pulls_;  // newest first
  std::map<std::string, std::pair<int, std::string>> overrides_;
  http_receiver receiver_;
};

/// Runs `git args...` (in `cwd` when set); returns its trimmed output, throws when it fails.
std::string git_ok(const std::vector<std::string>& args, const std::string& cwd = "");

/// A work repository `<dir>/work` on `main` with a first commit (hello.txt "one"), and its bare
/// clone at `bare` (its `origin`).
struct local_repo {
  std::string work, bare;
  local_repo(const std::string& dir, const std::string& bare_path);
  /// Writes `file` with `content` (and a newline), commits and returns the commit.
  std::string commit(const std::string& file, const std::string& content);
  /// `git push origin what` ("main", a branch, "--tags").
  void push(const std::string& what = "main");
  std::string head() const;
};

}  // namespace pikoci::test
