#include "config/pipeline/git_remote.hpp"

namespace pikoci::pipeline::git {

namespace {

bool is_scheme(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string clean_path(std::string_view p) {
  while (!p.empty() && p.front() == '/') p.remove_prefix(1);
  while (!p.empty() && p.back() == '/') p.remove_suffix(1);
  constexpr std::string_view suffix = ".git";
  if (p.size() > suffix.size() && p.substr(p.size() - suffix.size()) == suffix)
    p.remove_suffix(suffix.size());
  return std::string(p);
}

}  // namespace

const char* to_string(provider p) {
  switch (p) {
    case provider::github:
      return "github";
    case provider::gitlab:
      return "gitlab";
    case provider::gitea:
      return "gitea";
    case provider::none:
      break;
  }
  return "";
}

std::optional<provider> provider_named(std::string_view name) {
  if (name.empty()) return provider::none;
  if (name == "github") return provider::github;
  if (name == "gitlab") return provider::gitlab;
  if (name == "gitea" || name == "forgejo") return provider::gitea;
  return std::nullopt;
}

std::optional<remote> parse_remote(std::string_view url) {
  remote r;
  std::string_view rest;
  if (auto sep = url.find("://"); sep != std::string_view::npos) {
    r.scheme = std::string(url.substr(0, sep));
    if (!is_scheme(r.scheme) || r.scheme == "file") return std::nullopt;
    for (auto& c : r.scheme) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    rest = url.substr(sep + 3);
    auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    if (auto at = authority.rfind('@'); at != std::string_view::npos)
      authority.remove_prefix(at + 1);
    std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
    if (r.scheme != "http" && r.scheme != "https") {
      // ssh://host:2222/...: the port is ssh's, not the API's
      if (auto colon = authority.rfind(':'); colon != std::string_view::npos)
        authority = authority.substr(0, colon);
    }
    r.host = std::string(authority);
    r.path = clean_path(path);
  } else {
    // scp-like user@host:path; a ':' after a '/' is part of a local path
    auto colon = url.find(':');
    if (colon == std::string_view::npos || url.substr(0, colon).find('/') != std::string_view::npos)
      return std::nullopt;
    std::string_view authority = url.substr(0, colon);
    if (auto at = authority.rfind('@'); at != std::string_view::npos)
      authority.remove_prefix(at + 1);
    r.scheme = "ssh";
    r.host = std::string(authority);
    r.path = clean_path(url.substr(colon + 1));
  }
  for (auto& c : r.host) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (r.host.empty()) return std::nullopt;
  return r;
}

provider infer_provider(provider from_param, const std::optional<remote>& r) {
  if (from_param != provider::none || !r) return from_param;
  if (r->host == "github.com" || r->host == "www.github.com") return provider::github;
  if (r->host == "gitlab.com" || r->host == "www.gitlab.com") return provider::gitlab;
  return provider::none;
}

std::string api_base(provider p, const remote& r) {
  std::string scheme = r.scheme == "http" ? "http" : "https";
  std::string root = scheme + "://" + r.host;
  switch (p) {
    case provider::github:
      if (r.host == "github.com" || r.host == "www.github.com") return "https://api.github.com";
      return root + "/api/v3";
    case provider::gitlab:
      return root + "/api/v4";
    case provider::gitea:
      return root + "/api/v1";
    case provider::none:
      break;
  }
  return "";
}

std::string default_directory(std::string_view url) {
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  auto cut = url.find_last_of("/:");
  std::string name(cut == std::string_view::npos ? url : url.substr(cut + 1));
  constexpr std::string_view suffix = ".git";
  if (name.size() > suffix.size() &&
      name.compare(name.size() - suffix.size(), suffix.size(), suffix.data()) == 0)
    name.resize(name.size() - suffix.size());
  return name;
}

}  // namespace pikoci::pipeline::git
