#include "http/ui.hpp"

#include <algorithm>
#include <cctype>

#include "http/ui_assets.hpp"

namespace pikoci::http {
namespace {

/// Every UI answer carries these: the page loads only its own scripts, styles and images (no
/// inline script, nothing from elsewhere), talks only to this node, and cannot be framed.
const std::pair<const char*, const char*> security_headers[] = {
    {"Content-Security-Policy",
     "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
     "form-action 'self'; frame-ancestors 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"X-Frame-Options", "DENY"},
};

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// The items of a comma-separated header value, trimmed.
std::vector<std::string_view> items(std::string_view value) {
  std::vector<std::string_view> out;
  while (!value.empty()) {
    auto comma = value.find(',');
    if (auto item = trim(value.substr(0, comma)); !item.empty()) out.push_back(item);
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
  }
  return out;
}

/// Whether If-None-Match names `etag` (or is `*`); weak tags compare by their value.
bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  for (auto tag : items(if_none_match)) {
    if (tag == "*") return true;
    if (starts_with(tag, "W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

const ui_asset* find(std::string_view path) {
  const auto& all = ui_assets();
  auto it = std::find_if(all.begin(), all.end(), [&](const ui_asset& a) { return a.path == path; });
  return it == all.end() ? nullptr : &*it;
}

ui_response with_security(ui_response r) {
  for (const auto& [k, v] : security_headers) r.headers.emplace_back(k, v);
  return r;
}

/// A file of the build, in the encoding the client takes; 304 when it has it already.
ui_response file(const ui_asset& a, const ui_request& r) {
  bool gzip = !a.gzip.empty() && accepts_gzip(r.accept_encoding);
  // the compressed bytes are another representation: a tag of their own
  std::string etag =
      gzip ? std::string(a.etag.substr(0, a.etag.size() - 1)) + "-gzip\"" : std::string(a.etag);
  ui_response out;
  out.headers = {
      {"Content-Type", std::string(a.content_type)},
      {"Cache-Control", a.immutable ? "public, max-age=31536000, immutable" : "no-cache"},
      {"ETag", etag}};
  if (!a.gzip.empty()) out.headers.emplace_back("Vary", "Accept-Encoding");
  if (gzip) out.headers.emplace_back("Content-Encoding", "gzip");
  auto bytes = gzip ? a.gzip : a.bytes;
  out.content_length = bytes.size();
  bool matched = !r.if_none_match.empty() &&
                 (etag_matches(r.if_none_match, a.etag) || etag_matches(r.if_none_match, etag));
  if (matched) {
    out.status = 304;
  } else if (r.method == "GET") {
    out.body = bytes;
  }
  return with_security(std::move(out));
}

}  // namespace

bool accepts_gzip(std::string_view accept_encoding) {
  for (auto item : items(accept_encoding)) {
    auto semi = item.find(';');
    auto coding = lower(trim(item.substr(0, semi)));
    if (coding != "gzip" && coding != "*") continue;
    if (semi == std::string_view::npos) return true;
    auto param = lower(trim(item.substr(semi + 1)));
    if (!starts_with(param, "q=")) return true;
    // q=0, q=0.0, q=0.000 refuse it; any other weight takes it
    auto q = std::string_view(param).substr(2);
    return q.find_first_not_of("0.") != std::string_view::npos;
  }
  return false;
}

std::optional<ui_response> ui_answer(const ui_request& r) {
  if (r.method != "GET" && r.method != "HEAD") return std::nullopt;
  auto p = r.path;
  if (p == "/api" || starts_with(p, "/api/") || p == "/metrics") return std::nullopt;
  if (const auto* a = find(p)) return file(*a, r);
  if (starts_with(p, "/assets/")) {
    static constexpr std::string_view missing = "no such file in the web UI\n";
    ui_response out;
    out.status = 404;
    out.headers = {{"Content-Type", "text/plain; charset=utf-8"}, {"Cache-Control", "no-cache"}};
    out.content_length = missing.size();
    if (r.method == "GET") out.body = missing;
    return with_security(std::move(out));
  }
  // the UI's pages are client-side routes: a browser asking for one gets the page that routes
  if (p != "/" && lower(r.accept).find("text/html") == std::string::npos) return std::nullopt;
  const auto* index = find("/index.html");
  if (index == nullptr) return std::nullopt;
  return file(*index, r);
}

}  // namespace pikoci::http
