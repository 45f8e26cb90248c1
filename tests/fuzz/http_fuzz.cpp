// End-to-end fuzzing of the HTTP edge: starts pikoci-node built with AddressSanitizer and UBSan
// (the `pikoci-node-asan` target) on a free port and sends it seeded random and mutated requests
// over raw sockets for a bounded time: methods, paths with %-escapes and bytes that are not
// UTF-8, header floods, good, wrong and forged tokens, huge, garbage and deeply nested JSON
// bodies, chunked bodies (valid and broken), pipelined and truncated requests. Afterwards the
// node must still be alive and healthy (GET /api/v1/health 200, a pipeline set and a build run to
// success), stop cleanly on SIGTERM, and its output must hold no sanitizer report.
//
//   http-fuzz [--seconds N] [--seed S] [--threads T]
//
// Ends with "http-fuzz: N requests ..., node healthy, no sanitizer report" and exit 0.
//
// Requests carrying the admin token are never mutated byte by byte: an admin may set pipelines,
// and the only pipeline configurations this program sends run `echo`.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <openssl/hmac.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

namespace fs = std::filesystem;
using namespace pikoci::test;
using nlohmann::json;

namespace {

const char* const safe_pipeline = R"(job "j" {
  task "t" {
    run "exec" {
      path = "/bin/echo"
      args = ["fuzzed"]
    }
  }
}
)";

std::string b64url(const std::string& in) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned n = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += {a[n >> 18 & 63], a[n >> 12 & 63], a[n >> 6 & 63], a[n & 63]};
  }
  if (in.size() - i == 1) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    out += {a[n >> 18 & 63], a[n >> 12 & 63]};
  } else if (in.size() - i == 2) {
    unsigned n =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += {a[n >> 18 & 63], a[n >> 12 & 63], a[n >> 6 & 63]};
  }
  return out;
}

/// A JWT over `header` and `payload` signed with `secret` (any alg the header claims).
std::string forge(const std::string& header, const std::string& payload,
                  const std::string& secret) {
  std::string input = b64url(header) + "." + b64url(payload);
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + b64url(std::string(reinterpret_cast<char*>(mac), len));
}

struct tokens {
  std::string admin, write, read, worker;
  std::vector<std::string> bad;  // never accepted
};

tokens make_tokens() {
  tokens t;
  t.admin = user_token("admin");
  t.write = user_token("write");
  t.read = user_token("read");
  t.worker = worker_token();
  const std::string hs = R"({"alg":"HS256","typ":"JWT"})";
  const std::string admin_claims = R"({"sub":"admin","role":"admin","kind":"user","iat":1})";
  t.bad = {
      forge(R"({"alg":"none"})", admin_claims, ""),
      forge(hs, admin_claims, "not-the-secret"),
      forge(hs, R"({"sub":"admin","role":"admin","kind":"user","iat":1,"exp":2})", "test-secret"),
      forge(hs, R"({"sub":"admin","role":"admin","kind":"user","nbf":99999999999})", "test-secret"),
      forge(hs, R"({"sub":"admin","role":"root","kind":"user"})", "test-secret"),
      forge(hs + "x", admin_claims, "test-secret"),
      forge(R"({"alg":"HS256","alg":"none"})", admin_claims, "test-secret"),
      forge(hs, std::string(2000, '['), "test-secret"),
      "a.b.c",
      "",
      std::string(9000, 'A'),
      "e30.e30.\xff\xfe",
  };
  return t;
}

class generator {
 public:
  generator(std::uint64_t seed, const tokens& t) : rng_(seed), t_(t) {}

  /// One or more requests as bytes, possibly mutated and truncated.
  std::string next() {
    std::string out;
    int n = pick(10) == 0 ? 1 + pick(3) : 1;
    bool admin = false;
    for (int i = 0; i < n; ++i) out += request(admin);
    if (!admin && pick(3) == 0) mutate(out);
    if (pick(12) == 0) out.resize(pick(out.size() + 1));  // truncated
    return out;
  }

 private:
  std::size_t pick(std::size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }
  template <class T>
  const T& one(const std::vector<T>& v) {
    return v[pick(v.size())];
  }

  std::string segment() {
    switch (pick(14)) {
      case 0:
        return "%FF";
      case 1:
        return "%";
      case 2:
        return "%2";
      case 3:
        return "%G1";
      case 4:
        return "..";
      case 5:
        return "%00";
      case 6:
        return "\xff\xfe";
      case 7:
        return std::string(1 + pick(20000), 'a');
      case 8:
        return "%C3%A9";
      case 9:
        return "%ED%A0%80";  // an encoded surrogate
      case 10:
        return "%2F";
      case 11:
        return std::to_string(pick(1000));
      case 12:
        return "fz";
      default:
        return "j";
    }
  }

  std::string path() {
    static const std::vector<std::string> routes = {"/api/v1/health",
                                                    "/api/v1/version",
                                                    "/api/v1/login",
                                                    "/metrics",
                                                    "/api/v1/pipelines",
                                                    "/api/v1/pipelines/{}",
                                                    "/api/v1/pipelines/{}/jobs/{}/trigger",
                                                    "/api/v1/pipelines/{}/jobs/{}/builds",
                                                    "/api/v1/pipelines/{}/jobs/{}/builds/{}",
                                                    "/api/v1/pipelines/{}/jobs/{}/builds/{}/events",
                                                    "/api/v1/pipelines/{}/resources",
                                                    "/api/v1/pipelines/{}/resources/{}/versions",
                                                    "/api/v1/pipelines/{}/webhooks/git",
                                                    "/api/v1/webhooks/{}",
                                                    "/api/v1/builds",
                                                    "/api/v1/queue",
                                                    "/api/v1/workers",
                                                    "/api/v1/workers/register",
                                                    "/api/v1/events",
                                                    "/api/v1/stats",
                                                    "/api/v1/notifications",
                                                    "/.pikoci/refused",
                                                    "/",
                                                    "*",
                                                    "/nope/{}"};
    std::string p = one(routes);
    for (std::size_t at; (at = p.find("{}")) != std::string::npos;) p.replace(at, 2, segment());
    if (pick(4) == 0) {
      static const std::vector<std::string> queries = {"?limit=5",
                                                       "?limit=-1",
                                                       "?limit=99999999999",
                                                       "?status=failed,nope",
                                                       "?%FF=%FF",
                                                       "?a=%",
                                                       "?&&&=",
                                                       "?limit=" + std::string(5000, '9')};
      p += one(queries);
    }
    return p;
  }

  std::string token(bool& admin) {
    switch (pick(8)) {
      case 0:
        admin = true;
        return t_.admin;
      case 1:
        return t_.write;
      case 2:
        return t_.read;
      case 3:
        return t_.worker;
      case 4:
        return "";
      default:
        return one(t_.bad);
    }
  }

  std::string deep(std::size_t depth, bool objects) {
    std::string s;
    for (std::size_t i = 0; i < depth; ++i) s += objects ? "{\"a\":" : "[";
    s += "1";
    for (std::size_t i = 0; i < depth; ++i) s += objects ? "}" : "]";
    return s;
  }

  std::string body(bool admin) {
    switch (pick(12)) {
      case 0:
        return "";
      case 1:
        return deep(1 + pick(200000), pick(2) == 0);
      case 2:
        return R"({"config":)" + json(safe_pipeline).dump() + R"(,"vars":)" +
               deep(pick(100000), true) + "}";
      case 3:
        return R"({"username":"admin","password":")" +
               std::string(pick(2) ? "test-password" : "x") + "\"}";
      case 4:
        return R"({"inputs":{"k":")" + std::string(pick(100000), 'v') + R"("},"args":["a"]})";
      case 5:
        return "{\"inputs\":{\"\xff\":\"\xfe\"}}";
      case 6: {
        std::string g(pick(3000), '\0');
        for (auto& c : g) c = static_cast<char>(pick(256));
        return g;
      }
      case 7:
        return R"({"config":)" + json(safe_pipeline).dump() + "}";
      case 8:
        return R"({"secret":")" + std::string(pick(400), 's') + "\"}";
      case 9:
        return R"({"mode":"group","group_template":"{{index .Inputs \"k\"}}"})";
      case 10:
        return R"({"version_id":)" + std::to_string(pick(5)) + "}";
      default:
        // byte-mutated JSON only without the admin token (it could reach a pipeline config)
        return admin ? "{}" : R"({"config":"job \"j\" { task \"t\" { run \"exec\" {}}}"})";
    }
  }

  std::string request(bool& admin) {
    static const std::vector<std::string> methods = {
        "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "G\x01T", "TRACE"};
    std::string method = pick(6) == 0 ? one(methods) : (pick(2) ? "GET" : "POST");
    if (pick(20) == 0) method = "PUT";
    std::string p = path();
    bool this_admin = false;
    std::string tok = token(this_admin);
    // only idempotent or harmless admin calls: PUT pipelines gets the echo pipeline alone
    std::string b = body(this_admin);
    if (this_admin && method == "PUT") b = R"({"config":)" + json(safe_pipeline).dump() + "}";
    if (this_admin && method == "DELETE") method = "GET";
    admin = admin || this_admin;
    std::string version =
        pick(25) == 0 ? one(std::vector<std::string>{"HTTP/1.0", "HTTP/9.9", "HTTP/1", "FOO"})
                      : "HTTP/1.1";
    std::string r = method + " " + p + " " + version + "\r\nHost: 127.0.0.1\r\n";
    if (!tok.empty() || pick(4) == 0) {
      switch (pick(6)) {
        case 0:
          r += "Authorization: " + tok + "\r\n";
          break;
        case 1:
          r += "Authorization: Bearer " + tok + "\r\nAuthorization: Bearer " + tok + "\r\n";
          break;
        default:
          r += "Authorization: Bearer " + tok + "\r\n";
      }
    }
    if (pick(15) == 0) r += "X-Big: " + std::string(pick(100000), 'x') + "\r\n";
    if (pick(20) == 0)
      for (std::size_t i = 0, n = pick(300); i < n; ++i) r += "X-" + std::to_string(i) + ": v\r\n";
    if (pick(30) == 0) r += "Upgrade: websocket\r\nConnection: Upgrade\r\n";
    if (pick(30) == 0) r += "Expect: 100-continue\r\n";
    if (pick(10) == 0) r += "Connection: close\r\n";
    if (pick(10) == 0) {  // chunked, sometimes broken
      r += "Transfer-Encoding: chunked\r\n\r\n";
      std::size_t at = 0;
      while (at < b.size()) {
        std::size_t n = std::min(b.size() - at, 1 + pick(4096));
        char size[32];
        std::snprintf(size, sizeof size, "%zx", n);
        r += (pick(40) == 0 ? std::string("zz") : std::string(size)) + "\r\n" + b.substr(at, n) +
             "\r\n";
        at += n;
      }
      r += pick(20) == 0 ? "FFFFFFFFFFFFFFFFFF\r\n" : "0\r\n\r\n";
      return r;
    }
    if (!b.empty() || pick(5) == 0) {
      switch (pick(20)) {
        case 0:
          r += "Content-Length: 104857600\r\n";
          break;  // claims far more than sent
        case 1:
          r += "Content-Length: -5\r\n";
          break;
        case 2:
          r += "Content-Length: 99999999999999999999\r\n";
          break;
        case 3:
          r += "Content-Length: 3\r\nContent-Length: 4\r\n";
          break;
        default:
          r += "Content-Length: " + std::to_string(b.size()) + "\r\n";
      }
      r += "Content-Type: application/json\r\n";
    }
    r += "\r\n" + b;
    return r;
  }

  void mutate(std::string& s) {
    if (s.empty()) return;
    for (std::size_t i = 0, n = 1 + pick(8); i < n; ++i) {
      std::size_t at = pick(s.size());
      switch (pick(4)) {
        case 0:
          s[at] = static_cast<char>(pick(256));
          break;
        case 1:
          s.insert(at, 1, static_cast<char>(pick(256)));
          break;
        case 2:
          s.erase(at, 1 + pick(16));
          break;
        default:
          s.insert(at, one(std::vector<std::string>{"%FF", "\r\n", "\r\n\r\n", ":", "%", "\xc3",
                                                    "{", "\"", "0"}));
      }
      if (s.empty()) return;
    }
  }

  std::mt19937_64 rng_;
  const tokens& t_;
};

/// Sends `bytes` on a new connection and reads what comes back for a moment; the status code,
/// or 0 when nothing (or no status line) came.
int exchange(int port, const std::string& bytes) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  timeval tv{0, 500 * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int status = 0;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      auto n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
    char buf[4096];
    auto n = recv(fd, buf, sizeof buf, 0);
    if (n >= 12 && std::memcmp(buf, "HTTP/1.", 7) == 0) status = std::atoi(buf + 9);
  }
  close(fd);
  return status;
}

std::string sanitizer_report(const std::string& output) {
  for (const char* marker :
       {"AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer"}) {
    auto at = output.find(marker);
    if (at != std::string::npos) return output.substr(at > 2000 ? at - 2000 : 0, 6000);
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = 60, threads = 3;
  std::uint64_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--seconds")
      seconds = std::atoi(argv[i + 1]);
    else if (k == "--seed")
      seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (k == "--threads")
      threads = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: http-fuzz [--seconds N] [--seed S] [--threads T]\n");
      return 2;
    }
  }
  // CAF's headers bind a null reference in init_fun_factory for actors spawned without
  // arguments (harmless, reported by UBSan in every program that spawns one).
  auto supp = fs::temp_directory_path() / ("http-fuzz-ubsan-" + std::to_string(getpid()));
  std::ofstream(supp) << "null:caf/detail/init_fun_factory.hpp\nnull:bits/shared_ptr_base.h\n";
  // for every child (the node, and the token commands run with the same binary)
  setenv("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0:handle_abort=1", 1);
  setenv("UBSAN_OPTIONS", ("print_stacktrace=1:suppressions=" + supp.string()).c_str(), 1);

  int failures = 0;
  auto fail = [&](const std::string& why) {
    std::printf("http-fuzz: FAILED: %s\n", why.c_str());
    ++failures;
  };
  try {
    node_server node({"--concurrency", "2", "--admin-password", "test-password"});
    auto tok = make_tokens();
    auto auth = [&](const std::string& t) {
      return std::map<std::string, std::string>{{"Authorization", "Bearer " + t},
                                                {"Content-Type", "application/json"}};
    };
    auto url = node.url() + "/api/v1";
    auto put = http_request("PUT", url + "/pipelines/fz", json{{"config", safe_pipeline}}.dump(),
                            auth(tok.admin), 30000);
    if (put.status != 201 && put.status != 200) fail("cannot set the fuzz pipeline: " + put.body);

    std::atomic<std::uint64_t> sent{0};
    std::mutex counts_mu;
    std::map<int, std::uint64_t> counts;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        generator g(seed * 1000 + static_cast<std::uint64_t>(t), tok);
        std::map<int, std::uint64_t> mine;
        while (std::chrono::steady_clock::now() < deadline) {
          ++mine[exchange(node.port(), g.next())];
          ++sent;
        }
        std::lock_guard<std::mutex> lock(counts_mu);
        for (auto [k, v] : mine) counts[k] += v;
      });
    for (auto& th : pool) th.join();

    if (node.process().wait_exit(std::chrono::milliseconds(0)))
      fail("the node died during the run:\n" + node.process().tail(80));
    else {
      auto health = http_request("GET", url + "/health", {}, {}, 30000);
      if (health.status != 200) fail("GET /health -> " + std::to_string(health.status));
      auto set = http_request("PUT", url + "/pipelines/after",
                              json{{"config", safe_pipeline}}.dump(), auth(tok.admin), 30000);
      if (set.status != 201 && set.status != 200) fail("PUT /pipelines/after -> " + set.body);
      // the queue may still be full of fuzzed triggers: retry for a while
      http_response trig;
      for (int i = 0; i < 120; ++i) {
        trig = http_request("POST", url + "/pipelines/after/jobs/j/trigger", "", auth(tok.write),
                            30000);
        if (trig.status == 201) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
      }
      if (trig.status != 201)
        fail("trigger after the run -> " + std::to_string(trig.status) + " " + trig.body);
      std::string status;
      for (int i = 0; i < 240 && trig.status == 201; ++i) {
        auto b = http_request("GET", url + "/pipelines/after/jobs/j/builds/1", {}, auth(tok.read),
                              30000);
        auto j = b.json();
        if (j.is_object() && j.contains("build")) status = j["build"].value("status", "");
        if (status == "succeeded" || status == "failed" || status == "errored") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
      }
      if (trig.status == 201 && status != "succeeded")
        fail("the build after the run ended " + status);
      int code = node.process().stop(SIGTERM, std::chrono::seconds(60));
      if (code != 0) fail("the node exited " + std::to_string(code) + " on SIGTERM");
    }
    auto report = sanitizer_report(node.process().output());
    if (!report.empty()) fail("sanitizer report:\n" + report);
    std::string by_status;
    for (auto [k, v] : counts) by_status += " " + std::to_string(k) + ":" + std::to_string(v);
    std::printf("http-fuzz: %llu requests in %d s (status:count%s), seed %llu\n",
                static_cast<unsigned long long>(sent.load()), seconds, by_status.c_str(),
                static_cast<unsigned long long>(seed));
    if (failures != 0) std::printf("%s\n", node.process().tail(60).c_str());
  } catch (const std::exception& e) {
    fail(e.what());
  }
  fs::remove(supp);
  if (failures == 0) std::printf("http-fuzz: node healthy, no sanitizer report\n");
  return failures == 0 ? 0 : 1;
}
