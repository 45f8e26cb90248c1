// The `git` resource type. check: the tip of a branch (`git ls-remote`, or the provider's API
// when a token is given), the open pull requests (API) or the tags; pull: a bare mirror kept in
// $CACHE_DIR (one writer at a time, flock), cloned into the work directory and checked out at
// the version; push: `git push` from that clone. A token reaches git only through a credential
// helper reading it from the environment: never in a URL, an argument, a file or a log.

#include "builtin/git.hpp"

#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <map>

#include "builtin/handlers.hpp"
#include "connectors/http_client/http_client.hpp"
#include "connectors/process/process.hpp"

extern char** environ;

namespace pikoci::builtin::git {

using json = nlohmann::json;

bool is_sha(std::string_view s) {
  if (s.size() != 40 && s.size() != 64) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::vector<remote_ref> parse_ls_remote(std::string_view output) {
  std::vector<remote_ref> refs;
  while (!output.empty()) {
    auto end = output.find('\n');
    auto line = output.substr(0, end);
    output = end == std::string_view::npos ? std::string_view() : output.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto tab = line.find('\t');
    if (tab == std::string_view::npos) continue;
    auto sha = line.substr(0, tab), name = line.substr(tab + 1);
    if (is_sha(sha) && !name.empty()) refs.push_back({std::string(sha), std::string(name)});
  }
  return refs;
}

std::optional<std::string> branch_tip(const std::vector<remote_ref>& refs,
                                      const std::string& branch) {
  std::string want = branch.empty() ? "HEAD" : branch;
  for (const auto& r : refs)
    if (r.name == "refs/heads/" + want) return r.sha;
  for (const auto& r : refs)
    if (r.name == want) return r.sha;
  return std::nullopt;
}

json tags_newest_first(const std::vector<remote_ref>& refs) {
  constexpr std::string_view prefix = "refs/tags/", peeled_suffix = "^{}";
  std::map<std::string, std::string> direct, peeled;
  for (const auto& r : refs) {
    if (r.name.compare(0, prefix.size(), prefix.data()) != 0) continue;
    std::string name = r.name.substr(prefix.size());
    bool is_peeled = name.size() > peeled_suffix.size() &&
                     name.compare(name.size() - peeled_suffix.size(), peeled_suffix.size(),
                                  peeled_suffix.data()) == 0;
    if (is_peeled)
      peeled[name.substr(0, name.size() - peeled_suffix.size())] = r.sha;
    else if (!name.empty())
      direct[name] = r.sha;
  }
  std::vector<std::string> names;
  for (const auto& [name, sha] : direct) names.push_back(name);
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    return ::strverscmp(a.c_str(), b.c_str()) > 0;
  });
  json out = json::array();
  for (const auto& name : names) {
    auto p = peeled.find(name);
    out.push_back({{"ref", p != peeled.end() ? p->second : direct[name]}, {"tag", name}});
  }
  return out;
}

json select_new(const json& newest_first, bool first_check,
                const std::function<bool(const json&)>& is_known) {
  json out = json::array();
  if (!newest_first.is_array() || newest_first.empty()) return out;
  if (first_check) {
    out.push_back(newest_first.front());
    return out;
  }
  std::vector<const json*> fresh;
  for (const auto& item : newest_first) {
    if (is_known(item)) break;
    fresh.push_back(&item);
  }
  for (auto it = fresh.rbegin(); it != fresh.rend(); ++it) out.push_back(**it);
  return out;
}

std::optional<json> parse_api_list(std::string_view body, std::string& error) {
  if (body.size() > max_api_bytes) {
    error = "the answer is larger than " + std::to_string(max_api_bytes) + " bytes";
    return std::nullopt;
  }
  bool too_deep = false;
  json doc = json::parse(
      body.begin(), body.end(),
      [&](int depth, json::parse_event_t event, json&) {
        bool opens =
            event == json::parse_event_t::object_start || event == json::parse_event_t::array_start;
        if (opens && depth > max_api_depth) too_deep = true;
        return !too_deep;
      },
      false);
  if (too_deep) {
    error = "the answer is nested deeper than " + std::to_string(max_api_depth) + " levels";
    return std::nullopt;
  }
  if (doc.is_discarded()) {
    error = "the answer is not JSON";
    return std::nullopt;
  }
  if (!doc.is_array()) {
    error = std::string("the answer is a JSON ") + doc.type_name() + ", not a list";
    return std::nullopt;
  }
  return doc;
}

namespace {

/// The string at `a` (then `b`) of an object; nullptr when absent or not a string.
const std::string* string_at(const json& item, const char* a, const char* b = nullptr) {
  if (!item.is_object()) return nullptr;
  auto it = item.find(a);
  if (it == item.end()) return nullptr;
  if (b != nullptr) {
    if (!it->is_object()) return nullptr;
    auto inner = it->find(b);
    if (inner == it->end()) return nullptr;
    it = inner;
  }
  return it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
}

/// A tag name the handlers may put into a refspec.
bool plain_name(const std::string& s) {
  if (s.empty() || s.size() > 255 || s[0] == '-') return false;
  return std::none_of(s.begin(), s.end(), [](unsigned char c) {
    return c < 0x20 || c == 0x7f || c == ' ' || c == ':' || c == '~' || c == '^' || c == '\\';
  });
}

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() <= 18 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string item_error(const char* what, std::size_t i, const char* field) {
  return std::string(what) + " " + std::to_string(i + 1) + " of the answer has no valid \"" +
         field + "\"";
}

}  // namespace

std::optional<std::string> latest_commit(provider p, const json& list, std::string& error) {
  const char* key = p == provider::gitlab ? "id" : "sha";
  if (list.empty()) {
    error = "the answer lists no commit";
    return std::nullopt;
  }
  const auto* sha = string_at(list.front(), key);
  if (sha == nullptr || !is_sha(*sha)) {
    error = item_error("commit", 0, key);
    return std::nullopt;
  }
  return *sha;
}

std::optional<json> tags_from_api(provider p, const json& list, std::string& error) {
  const char* key = p == provider::gitlab ? "id" : "sha";
  json out = json::array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto* name = string_at(list[i], "name");
    const auto* sha = string_at(list[i], "commit", key);
    if (name == nullptr || !plain_name(*name)) {
      error = item_error("tag", i, "name");
      return std::nullopt;
    }
    if (sha == nullptr || !is_sha(*sha)) {
      error = item_error("tag", i, p == provider::gitlab ? "commit.id" : "commit.sha");
      return std::nullopt;
    }
    out.push_back({{"ref", *sha}, {"tag", *name}});
  }
  return out;
}

std::optional<json> pulls_from_api(provider p, const json& list, std::string& error) {
  bool gitlab = p == provider::gitlab;
  const char* number_key = gitlab ? "iid" : "number";
  json out = json::array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& item = list[i];
    const auto* sha = gitlab ? string_at(item, "sha") : string_at(item, "head", "sha");
    if (sha == nullptr || !is_sha(*sha)) {
      error = item_error("pull request", i, gitlab ? "sha" : "head.sha");
      return std::nullopt;
    }
    auto n = item.is_object() ? item.find(number_key) : item.end();
    if (n == item.end() || !n->is_number_unsigned()) {
      error = item_error("pull request", i, number_key);
      return std::nullopt;
    }
    json version = {{"ref", *sha}, {"pr", std::to_string(n->get<std::uint64_t>())}};
    // the source branch, when the answer names one fit for a message or a ref
    const auto* branch = gitlab ? string_at(item, "source_branch") : string_at(item, "head", "ref");
    if (branch != nullptr && plain_name(*branch)) version["branch"] = *branch;
    out.push_back(std::move(version));
  }
  return out;
}

std::string api_url(provider p, const std::string& base, const std::string& repo_path, query q,
                    int count, const std::string& branch) {
  auto n = std::to_string(count);
  if (p == provider::gitlab) {
    std::string root = base + "/projects/" + http_client::percent_encode(repo_path, false);
    switch (q) {
      case query::commits:
        return root + "/repository/commits?per_page=1" +
               (branch.empty() ? "" : "&ref_name=" + http_client::percent_encode(branch, false));
      case query::tags:
        return root + "/repository/tags?order_by=updated&sort=desc&per_page=" + n;
      case query::pulls:
        return root + "/merge_requests?state=opened&order_by=updated_at&sort=desc&per_page=" + n;
    }
  }
  std::string root = base + "/repos/" + http_client::percent_encode(repo_path, true);
  bool gitea = p == provider::gitea;
  std::string limit = gitea ? "limit=" + n : "per_page=" + n;
  switch (q) {
    case query::commits:
      return root + "/commits?" + (gitea ? "limit=1" : "per_page=1") +
             (branch.empty() ? "" : "&sha=" + http_client::percent_encode(branch, false));
    case query::tags:
      return root + "/tags?" + limit;
    case query::pulls:
      return root + "/pulls?state=open&" +
             (gitea ? "sort=recentupdate&" : "sort=updated&direction=desc&") + limit;
  }
  return root;
}

std::pair<std::string, std::string> auth_header(provider p, const std::string& token) {
  if (p == provider::gitlab) return {"PRIVATE-TOKEN", token};
  return {"Authorization", "token " + token};
}

std::string pull_ref(provider p, const std::string& number) {
  return p == provider::gitlab ? "refs/merge-requests/" + number + "/head"
                               : "refs/pull/" + number + "/head";
}

std::string redact(std::string text, const std::string& secret) {
  if (secret.size() < 3) return text;
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3))
    text.replace(at, secret.size(), "***");
  return text;
}

}  // namespace pikoci::builtin::git

namespace pikoci::builtin {

namespace {

namespace fs = std::filesystem;
using git::provider;
using json = nlohmann::json;

/// A git handler's params, checked.
struct settings {
  std::string url, branch, token, name;
  std::string shown;  // the url for messages: a password in it is shown as ***
  bool pr = false, tag = false;
  std::optional<pipeline::git::remote> remote;
  provider api = provider::none;  // whose API answers for `url`; none: git only
};

/// `url` with the password of its user info (`https://user:PASSWORD@host/...`) masked.
std::string display_url(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  auto start = scheme + 3;
  auto end = url.find('/', start);
  auto at = url.rfind('@', end == std::string::npos ? std::string::npos : end);
  if (at == std::string::npos || at < start) return url;
  auto colon = url.find(':', start);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

std::optional<settings> read_settings(const context& ctx, std::string& error) {
  settings s;
  s.url = ctx.param("url");
  s.branch = ctx.param("branch");
  s.token = ctx.param("token");
  s.pr = ctx.param("pr") == "true";
  s.tag = ctx.param("tag") == "true";
  if (s.url.empty() || s.url[0] == '-') {
    error = s.url.empty() ? "the git resource needs a `url` param" : "refused url";
    return std::nullopt;
  }
  if (!s.branch.empty() && s.branch[0] == '-') {
    error = "refused branch \"" + s.branch + "\"";
    return std::nullopt;
  }
  auto named = pipeline::git::provider_named(ctx.param("provider"));
  if (!named) {
    error = "unknown provider \"" + ctx.param("provider") + "\" (github, gitlab, gitea, forgejo)";
    return std::nullopt;
  }
  s.shown = display_url(s.url);
  s.remote = pipeline::git::parse_remote(s.url);
  s.api = s.remote ? pipeline::git::infer_provider(*named, s.remote) : provider::none;
  s.name = ctx.param("name");
  if (s.name.empty()) s.name = pipeline::git::default_directory(s.url);
  fs::path rel(s.name);
  bool plain = !s.name.empty() && rel.is_relative() && s.name[0] != '-';
  for (const auto& part : rel) plain = plain && part != ".." && part != ".";
  if (!plain) {
    error = "name \"" + s.name + "\" is not a directory inside the work directory";
    return std::nullopt;
  }
  return s;
}

/// Runs git with the handler's environment: no prompts, and the token (if any) offered only by
/// a credential helper that reads it from the environment (an empty first helper drops the
/// user's own helpers, so none of them stores it).
class git_runner {
 public:
  struct result {
    bool ok = false;
    std::string output;   // capped
    std::string failure;  // "exit status 128", spawn errors
  };

  git_runner(const context& ctx, std::string token) : ctx_(ctx), token_(std::move(token)) {
    static const std::vector<std::string> dropped = {
        "GIT_TERMINAL_PROMPT=", "GIT_CONFIG_COUNT=", "GIT_CONFIG_KEY_",
        "GIT_CONFIG_VALUE_",    "PIKOCI_GIT_TOKEN=", "GIT_ASKPASS="};
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      std::string kv(*e);
      bool drop = std::any_of(dropped.begin(), dropped.end(),
                              [&](const std::string& p) { return kv.rfind(p, 0) == 0; });
      if (!drop) env_.push_back(std::move(kv));
    }
    env_.push_back("GIT_TERMINAL_PROMPT=0");
    if (token_.empty()) return;
    env_.insert(
        env_.end(),
        {"PIKOCI_GIT_TOKEN=" + token_, "GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_0=credential.helper",
         "GIT_CONFIG_VALUE_0=", "GIT_CONFIG_KEY_1=credential.helper",
         "GIT_CONFIG_VALUE_1=!f() { test \"$1\" = get || exit 0; echo username=oauth2; "
         "echo \"password=$PIKOCI_GIT_TOKEN\"; }; f"});
  }

  /// Each later git command is stopped after `limit` (a check must not hang on a silent server;
  /// a get is bounded by its step's timeout instead).
  void time_limit(std::chrono::seconds limit) { limit_ = limit; }

  /// `git args...` in `cwd`; its output is kept (up to a cap) and, when `echo`, logged.
  result run(const std::vector<std::string>& args, const fs::path& cwd = {}, bool echo = true) {
    constexpr std::size_t cap = 64u << 20;
    result r;
    process::options opts;
    if (limit_) opts.deadline = std::chrono::steady_clock::now() + *limit_;
    auto out = process::run({"git", args, env_, cwd.string()}, opts, [&](std::string_view chunk) {
      if (r.output.size() < cap) r.output.append(chunk.substr(0, cap - r.output.size()));
      if (echo) ctx_.out() << git::redact(std::string(chunk), token_) << std::flush;
    });
    r.ok = out.succeeded();
    if (!r.ok) r.failure = out.started ? out.failure_text() : out.error;
    if (out.timed_out) r.failure = "no answer within " + std::to_string(limit_->count()) + " s";
    return r;
  }

  /// Why `r` failed, for a message: git's own words (last lines), without the token.
  std::string why(const result& r) const {
    auto text = r.output;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (text.size() > 2000) text = "..." + text.substr(text.size() - 2000);
    return git::redact(text.empty() ? r.failure : text + " (" + r.failure + ")", token_);
  }

  const std::string& token() const { return token_; }

 private:
  const context& ctx_;
  std::string token_;
  std::vector<std::string> env_;
  std::optional<std::chrono::seconds> limit_;
};

std::string trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

/// "the github API", for messages about what it answered.
std::string api_name(const settings& s) {
  return std::string("the ") + pipeline::git::to_string(s.api) + " API";
}

/// A GET of the provider's API; the list it answers, or nullopt with `error`.
std::optional<json> api_list(const settings& s, git::query q, int count, std::string& error) {
  auto url = git::api_url(s.api, pipeline::git::api_base(s.api, *s.remote), s.remote->path, q,
                          count, s.branch);
  auto [auth_name, auth_value] = git::auth_header(s.api, s.token);
  auto resp = http_client::request(
      "GET", url, "",
      {{auth_name, auth_value}, {"Accept", "application/json"}, {"User-Agent", "pikoci-node"}},
      std::chrono::seconds(30), git::max_api_bytes);
  std::string who = api_name(s) + " (" + url + ")";
  if (!resp.ok()) {
    error = who + " did not answer: " + git::redact(resp.error, s.token);
    return std::nullopt;
  }
  if (resp.status < 200 || resp.status > 299) {
    auto body = resp.body.substr(0, 200);
    error = who + " answered " + std::to_string(resp.status) + ": " + git::redact(body, s.token);
    return std::nullopt;
  }
  auto list = git::parse_api_list(resp.body, error);
  if (!list) error = who + ": " + error;
  return list;
}

/// `git ls-remote` of the url with `extra` args; its refs, or nullopt with `error`.
std::optional<std::vector<git::remote_ref>> ls_remote(git_runner& git, const settings& s,
                                                      std::vector<std::string> extra,
                                                      std::string& error) {
  std::vector<std::string> args{"ls-remote"};
  bool patterns = false;
  for (auto& a : extra) {
    if (!patterns && a.rfind("--", 0) != 0) {
      args.push_back(s.url);
      patterns = true;
    }
    args.push_back(std::move(a));
  }
  if (!patterns) args.push_back(s.url);
  auto r = git.run(args, {}, false);
  if (!r.ok) {
    error = "git ls-remote " + s.shown + " failed: " + git.why(r);
    return std::nullopt;
  }
  return git::parse_ls_remote(r.output);
}

int check_branch(const context& ctx, const settings& s, git_runner& git) {
  std::string error;
  if (!s.token.empty() && s.api != provider::none) {
    if (auto list = api_list(s, git::query::commits, 1, error)) {
      if (auto sha = git::latest_commit(s.api, *list, error)) {
        ctx.emit_versions(json::array({{{"ref", *sha}}}));
        return 0;
      }
      error = api_name(s) + ": " + error;
    }
    ctx.out() << error << "; asking git ls-remote instead\n";
  }
  auto refs = ls_remote(git, s, {s.branch.empty() ? "HEAD" : s.branch}, error);
  if (!refs) return ctx.fail(error);
  auto tip = git::branch_tip(*refs, s.branch);
  if (!tip) {
    return ctx.fail(s.branch.empty() ? s.shown + " has no HEAD (an empty repository?)"
                                     : "no branch \"" + s.branch + "\" in " + s.shown);
  }
  ctx.emit_versions(json::array({{{"ref", *tip}}}));
  return 0;
}

int check_tags(const context& ctx, const settings& s, git_runner& git) {
  auto known = ctx.version("tag");
  std::string error;
  json tags;
  if (!s.token.empty() && s.api != provider::none) {
    auto list = api_list(s, git::query::tags, known.empty() ? 1 : 100, error);
    auto parsed = list ? git::tags_from_api(s.api, *list, error) : std::nullopt;
    if (!parsed) return ctx.fail(list ? api_name(s) + ": " + error : error);
    tags = std::move(*parsed);
  } else {
    auto refs = ls_remote(git, s, {"--tags"}, error);
    if (!refs) return ctx.fail(error);
    tags = git::tags_newest_first(*refs);
  }
  ctx.emit_versions(
      git::select_new(tags, known.empty(), [&](const json& t) { return t["tag"] == known; }));
  return 0;
}

int check_pulls(const context& ctx, const settings& s) {
  if (s.token.empty() || s.api == provider::none)
    return ctx.fail("pr = true needs a token and a provider (github, gitlab, gitea)");
  auto known_pr = ctx.version("pr"), known_ref = ctx.version("ref");
  std::string error;
  auto list = api_list(s, git::query::pulls, known_pr.empty() ? 1 : 100, error);
  auto pulls = list ? git::pulls_from_api(s.api, *list, error) : std::nullopt;
  if (!pulls) return ctx.fail(list ? api_name(s) + ": " + error : error);
  ctx.emit_versions(git::select_new(*pulls, known_pr.empty(), [&](const json& p) {
    return p["pr"] == known_pr && p["ref"] == known_ref;
  }));
  return 0;
}

/// An exclusive flock held for the object's life: one pull at a time updates a mirror.
class file_lock {
 public:
  file_lock(const context& ctx, const fs::path& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return;
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
    ctx.out() << "waiting for another pull of this resource to finish with the cache\n"
              << std::flush;
    if (::flock(fd_, LOCK_EX) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~file_lock() {
    if (fd_ >= 0) ::close(fd_);
  }
  file_lock(const file_lock&) = delete;
  file_lock& operator=(const file_lock&) = delete;
  bool locked() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

bool has_commit(git_runner& git, const fs::path& repo, const std::string& sha) {
  return git.run({"-C", repo.string(), "cat-file", "-e", sha + "^{commit}"}, {}, false).ok;
}

/// The refs a pull needs besides branches and tags: the pull request's head in PR mode.
std::vector<std::string> extra_refspecs(const settings& s, const std::string& pr) {
  if (!s.pr || pr.empty()) return {};
  auto ref = git::pull_ref(s.api, pr);
  return {"+" + ref + ":" + ref};
}

/// Brings the bare mirror at `mirror` up to date enough to hold `sha`: cloned the first time
/// (into a temporary name, so a failed clone leaves no half mirror), fetched only when the
/// commit is missing.
bool update_mirror(const context& ctx, git_runner& git, const settings& s, const fs::path& mirror,
                   const std::string& sha, const std::vector<std::string>& extra,
                   std::string& error) {
  std::error_code ec;
  if (!fs::exists(mirror / "HEAD", ec)) {
    auto tmp = mirror;
    tmp += ".tmp";
    fs::remove_all(tmp, ec);
    fs::remove_all(mirror, ec);
    ctx.out() << "cloning " << s.shown << " into the cache\n" << std::flush;
    auto r = git.run({"clone", "--quiet", "--bare", s.url, tmp.string()});
    if (!r.ok) {
      error = "git clone " + s.shown + " failed: " + git.why(r);
      return false;
    }
    // the mirror is fetched by url each time: its config keeps no url (nor what may be in it)
    git.run({"-C", tmp.string(), "remote", "remove", "origin"}, {}, false);
    fs::rename(tmp, mirror, ec);
    if (ec) {
      error = "cannot move the mirror into place: " + ec.message();
      return false;
    }
  }
  if (has_commit(git, mirror, sha)) return true;
  std::vector<std::string> args{"-C",
                                mirror.string(),
                                "fetch",
                                "--quiet",
                                "--prune",
                                "--force",
                                s.url,
                                "+refs/heads/*:refs/heads/*",
                                "+refs/tags/*:refs/tags/*"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = git.run(args);
  if (!r.ok) {
    error = "git fetch " + s.shown + " failed: " + git.why(r);
    return false;
  }
  if (!has_commit(git, mirror, sha))
    git.run({"-C", mirror.string(), "fetch", "--quiet", s.url, sha});
  return true;
}

/// Checks the clone out at the version: a local branch at the commit in branch mode (tracking
/// the remote one, so a later `git push` works), `pr-N` in PR mode, a detached HEAD for a tag.
bool checkout(git_runner& git, const settings& s, const fs::path& target, const std::string& sha,
              const std::string& pr, std::string& error) {
  std::vector<std::string> base{"-C", target.string()};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.begin(), base.begin(), base.end());
    return args;
  };
  std::string branch;
  if (s.pr) {
    branch = "pr-" + pr;
  } else if (!s.tag) {
    branch = s.branch;
    if (branch.empty())
      branch =
          trimmed(git.run(with({"symbolic-ref", "--quiet", "--short", "HEAD"}), {}, false).output);
  }
  auto r = branch.empty() ? git.run(with({"checkout", "--quiet", "--detach", sha}))
                          : git.run(with({"checkout", "--quiet", "-B", branch, sha}));
  if (!r.ok) {
    error = "git checkout " + sha + " failed: " + git.why(r);
    return false;
  }
  if (!s.pr && !branch.empty())
    git.run(with({"branch", "--quiet", "--set-upstream-to=origin/" + branch}), {}, false);
  return true;
}

}  // namespace

int git_check(const context& ctx) {
  std::string error;
  auto s = read_settings(ctx, error);
  if (!s) return ctx.fail(error);
  git_runner git(ctx, s->token);
  git.time_limit(std::chrono::minutes(5));
  if (s->pr) return check_pulls(ctx, *s);
  if (s->tag) return check_tags(ctx, *s, git);
  return check_branch(ctx, *s, git);
}

int git_pull(const context& ctx) {
  std::string error;
  auto s = read_settings(ctx, error);
  if (!s) return ctx.fail(error);
  auto sha = ctx.version("ref");
  if (!git::is_sha(sha)) return ctx.fail("no commit to check out (version_ref \"" + sha + "\")");
  auto pr = ctx.version("pr");
  if (s->pr && !git::all_digits(pr)) return ctx.fail("no pull request number (version_pr)");
  fs::path target = ctx.workdir() / s->name;
  std::error_code ec;
  if (fs::exists(target, ec)) {
    // an earlier attempt of this step left its clone: start again
    if (!fs::exists(target / ".git", ec))
      return ctx.fail(target.string() + " already exists and is not a git clone");
    fs::remove_all(target, ec);
  }
  git_runner git(ctx, s->token);
  auto extra = extra_refspecs(*s, pr);
  std::string source = s->url;
  std::optional<file_lock> lock;
  if (auto cache = ctx.cache_dir()) {
    lock.emplace(ctx, *cache / "mirror.lock");
    if (!lock->locked()) return ctx.fail("cannot lock " + (*cache / "mirror.lock").string());
    auto mirror = *cache / "mirror.git";
    if (!update_mirror(ctx, git, *s, mirror, sha, extra, error)) return ctx.fail(error);
    source = mirror.string();
  }
  auto r = git.run({"clone", "--quiet", "--no-checkout", source, target.string()});
  if (!r.ok) return ctx.fail("git clone " + (lock ? source : s->shown) + " failed: " + git.why(r));
  if (lock) {
    lock.reset();
    git.run({"-C", target.string(), "remote", "set-url", "origin", s->url}, {}, false);
  }
  if (!has_commit(git, target, sha)) {
    std::vector<std::string> args{"-C", target.string(), "fetch", "--quiet", "origin"};
    args.insert(args.end(), extra.begin(), extra.end());
    if (extra.empty()) args.push_back(sha);
    git.run(args);
    if (!has_commit(git, target, sha)) return ctx.fail("commit " + sha + " is not in " + s->shown);
  }
  if (!checkout(git, *s, target, sha, pr, error)) return ctx.fail(error);
  ctx.out() << "checked out " << sha.substr(0, 12) << " into " << s->name << "\n";
  return 0;
}

int git_push(const context& ctx) {
  std::string error;
  auto s = read_settings(ctx, error);
  if (!s) return ctx.fail(error);
  fs::path target = ctx.workdir() / s->name;
  std::error_code ec;
  if (!fs::exists(target / ".git", ec))
    return ctx.fail("nothing to push: " + s->name + " is not a git clone (get the resource first)");
  git_runner git(ctx, s->token);
  auto r = git.run({"-C", target.string(), "push"});
  if (!r.ok) return ctx.fail("git push failed: " + git.why(r));
  // the tracked branch's new tip is the resource's next version: recorded now, as a check would
  if (s->pr || s->tag || s->branch.empty()) return 0;
  auto head = trimmed(
      git.run({"-C", target.string(), "symbolic-ref", "--quiet", "--short", "HEAD"}, {}, false)
          .output);
  if (head != s->branch) return 0;
  auto sha = trimmed(git.run({"-C", target.string(), "rev-parse", "HEAD"}, {}, false).output);
  if (git::is_sha(sha)) ctx.emit_versions(json::array({{{"ref", sha}}}));
  return 0;
}

}  // namespace pikoci::builtin
