// The web UI served by the node from its own binary (docs/web-ui.md): index.html at `/` and at
// the UI's page paths, the hashed assets it references, cache headers, ETag and 304, gzip, HEAD,
// the security headers on every UI answer, and the API's JSON 404 kept for everything else.
#include <doctest/doctest.h>

#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

using namespace pikoci::test;

namespace {

const char* const csp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

const std::map<std::string, std::string> browser{
    {"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}};

void check_security_headers(const http_response& r) {
  CHECK(r.headers.at("content-security-policy") == csp);
  CHECK(r.headers.at("x-content-type-options") == "nosniff");
  CHECK(r.headers.at("referrer-policy") == "no-referrer");
  CHECK(r.headers.at("x-frame-options") == "DENY");
}

bool is_json_404(const http_response& r) {
  auto j = r.json();
  return r.status == 404 && j.is_object() && j["error"]["code"] == "not_found";
}

/// The /assets/ paths an index.html references.
std::set<std::string> referenced_assets(const std::string& html) {
  std::set<std::string> out;
  std::regex ref(R"re((?:src|href)="(/assets/[^"]+)")re");
  for (std::sregex_iterator it(html.begin(), html.end(), ref), end; it != end; ++it)
    out.insert((*it)[1]);
  return out;
}

}  // namespace

TEST_SUITE("http.ui") {
  TEST_CASE("index.html at / and at the UI's page paths, with the assets it references") {
    node_server node;
    auto index = http_request("GET", node.url() + "/");
    REQUIRE_MESSAGE(index.status == 200, index.body);
    CHECK(index.headers["content-type"] == "text/html; charset=utf-8");
    CHECK(index.headers["cache-control"] == "no-cache");
    CHECK(index.headers["etag"].size() > 2);
    check_security_headers(index);
    CHECK(index.body.find("<div id=\"app\">") != std::string::npos);

    auto assets = referenced_assets(index.body);
    CHECK(assets.size() >= 2);  // a script and a style sheet at least
    bool script = false;
    for (const auto& path : assets) {
      CAPTURE(path);
      auto a = http_request("GET", node.url() + path);
      CHECK(a.status == 200);
      CHECK(a.headers["cache-control"] == "public, max-age=31536000, immutable");
      CHECK(std::stoul(a.headers["content-length"]) == a.body.size());
      CHECK_FALSE(a.body.empty());
      check_security_headers(a);
      if (a.headers["content-type"] == "text/javascript; charset=utf-8") script = true;
    }
    CHECK(script);

    for (const char* page : {"/pipelines/caf%C3%A9", "/pipelines/p/jobs/j/builds/3.1", "/queue",
                             "/workers", "/set-pipeline", "/login", "/pipelines/p/resources/r"}) {
      CAPTURE(page);
      auto r = http_request("GET", node.url() + page, "", browser);
      CHECK(r.status == 200);
      CHECK(r.body == index.body);
      check_security_headers(r);
    }
  }

  TEST_CASE("the API, /metrics and paths that do not ask for HTML keep their answers") {
    node_server node;
    CHECK(is_json_404(http_request("GET", node.url() + "/api/v1/nothing", "", browser)));
    CHECK(is_json_404(http_request("GET", node.url() + "/api/nothing", "", browser)));
    CHECK(is_json_404(http_request("GET", node.url() + "/favicon.ico")));
    CHECK(is_json_404(
        http_request("GET", node.url() + "/pipelines/p", "", {{"Accept", "application/json"}})));
    CHECK(is_json_404(http_request("POST", node.url() + "/", "", browser)));
    auto metrics = http_request("GET", node.url() + "/metrics", "", browser);
    CHECK(metrics.status == 200);
    CHECK(metrics.headers.count("content-security-policy") == 0);
    CHECK(http_request("GET", node.url() + "/api/v1/health", "", browser).json()["status"] == "ok");
    auto unknown = http_request("GET", node.url() + "/assets/app-000000000000.js", "", browser);
    CHECK(unknown.status == 404);
    check_security_headers(unknown);
  }

  TEST_CASE("ETag and 304, HEAD, and gzip when the client takes it") {
    node_server node;
    auto index = http_request("GET", node.url() + "/");
    REQUIRE(index.status == 200);
    auto etag = index.headers["etag"];
    for (const auto& tag : {etag, "W/" + etag, "\"other\", " + etag}) {
      CAPTURE(tag);
      auto again = http_request("GET", node.url() + "/", "", {{"If-None-Match", tag}});
      CHECK(again.status == 304);
      CHECK(again.body.empty());
      CHECK(again.headers["etag"] == etag);
      check_security_headers(again);
    }
    CHECK(http_request("GET", node.url() + "/", "", {{"If-None-Match", "\"other\""}}).status ==
          200);

    auto head = http_request("HEAD", node.url() + "/");
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(head.headers["content-length"] == std::to_string(index.body.size()));
    CHECK(head.headers["etag"] == etag);
    check_security_headers(head);

    auto script = *referenced_assets(index.body).rbegin();
    for (const auto& path : referenced_assets(index.body))
      if (path.size() > 3 && path.substr(path.size() - 3) == ".js") script = path;
    auto plain = http_request("GET", node.url() + script);
    REQUIRE(plain.status == 200);
    CHECK(plain.headers["vary"] == "Accept-Encoding");
    CHECK(plain.headers.count("content-encoding") == 0);
    auto packed =
        http_request("GET", node.url() + script, "", {{"Accept-Encoding", "deflate, gzip;q=0.5"}});
    REQUIRE(packed.status == 200);
    CHECK(packed.headers["content-encoding"] == "gzip");
    CHECK(packed.headers["vary"] == "Accept-Encoding");
    CHECK(packed.headers["etag"] != plain.headers["etag"]);
    CHECK(packed.body.size() < plain.body.size());
    REQUIRE(packed.body.size() > 18);
    CHECK(static_cast<unsigned char>(packed.body[0]) == 0x1f);  // gzip's magic
    CHECK(static_cast<unsigned char>(packed.body[1]) == 0x8b);
    // gzip's trailer ends with the uncompressed length (mod 2^32, little-endian)
    std::uint32_t size = 0;
    for (int i = 0; i < 4; ++i)
      size |= static_cast<std::uint32_t>(
                  static_cast<unsigned char>(packed.body[packed.body.size() - 4 + i]))
              << (8 * i);
    CHECK(size == plain.body.size());
    auto refused = http_request("GET", node.url() + script, "", {{"Accept-Encoding", "gzip;q=0"}});
    CHECK(refused.headers.count("content-encoding") == 0);
    CHECK(refused.body == plain.body);
    auto head_packed = http_request("HEAD", node.url() + script, "", {{"Accept-Encoding", "gzip"}});
    CHECK(head_packed.headers["content-length"] == std::to_string(packed.body.size()));
    CHECK(http_request("GET", node.url() + script, "",
                       {{"Accept-Encoding", "gzip"}, {"If-None-Match", packed.headers["etag"]}})
              .status == 304);
  }
}
