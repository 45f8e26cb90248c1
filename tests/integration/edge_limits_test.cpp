// The HTTP edge under hostile input and bad luck (docs/operations.md, "Limits"): connection
// bursts past the file-descriptor limit, bodies refused before they are read, deep JSON, request
// heads the parser cannot take, trigger inputs, `nbf` tokens, long replays and login throttling.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <regex>
#include <thread>

#include <openssl/hmac.h>

#include "auth/auth.hpp"
#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

/// A TCP connection to the node on 127.0.0.1 (-1 when connect fails).
int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Sends `bytes` on a new connection and returns what comes back until the node closes it or
/// `timeout` passes.
std::string raw_exchange(int port, const std::string& bytes,
                         std::chrono::milliseconds timeout = 10s) {
  int fd = connect_to(port);
  REQUIRE(fd >= 0);
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string out;
  char buf[65536];
  while (true) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

/// The status code of the first response in `raw` (0 when there is none).
int status_of(const std::string& raw) {
  if (raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12) return 0;
  return std::atoi(raw.c_str() + 9);
}

/// A node started through `wrapper` (e.g. prlimit), on 127.0.0.1 and a free port.
struct wrapped_node {
  std::unique_ptr<child_process> proc;
  int port = 0;
  wrapped_node(std::vector<std::string> wrapper, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = std::move(wrapper);
    for (std::string a :
         {node_binary(), std::string("--role"), std::string("server"), std::string("--host"),
          std::string("127.0.0.1"), std::string("--port"), std::string("0"),
          std::string("--jwt-secret"), std::string("test-secret")})
      args.push_back(a);
    args.insert(args.end(), extra.begin(), extra.end());
    proc = std::make_unique<child_process>(args);
    auto line = proc->wait_for_line("event=node.ready", 30s);
    REQUIRE_MESSAGE(line.has_value(), proc->tail());
    std::smatch m;
    REQUIRE(std::regex_search(*line, m, std::regex(" port=([0-9]+)")));
    port = std::stoi(m[1]);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

/// Opens `n` idle connections (connect succeeds from the listen backlog even when the node does
/// not accept), returns their descriptors.
std::vector<int> open_idle(int port, int n) {
  std::vector<int> fds;
  for (int i = 0; i < n; ++i) {
    int fd = connect_to(port);
    if (fd >= 0) fds.push_back(fd);
  }
  return fds;
}

void close_all(std::vector<int>& fds) {
  for (int fd : fds) ::close(fd);
  fds.clear();
}

/// GET /api/v1/health answers 200 within `timeout`.
bool health_within(const std::string& url, std::chrono::milliseconds timeout) {
  return eventually(
      [&] { return http_request("GET", url + "/api/v1/health", {}, {}, 3000).status == 200; },
      timeout);
}

/// An HS256 token over `payload`, signed with the test secret.
std::string signed_token(const std::string& payload) {
  using pikoci::auth::base64url_encode;
  std::string input =
      base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url_encode(payload);
  unsigned char mac[32];
  unsigned int len = 0;
  const std::string secret = "test-secret";
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + base64url_encode(std::string(reinterpret_cast<char*>(mac), len));
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string nested(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

/// A temp file holding `content`.
std::string write_temp(temp_dir& dir, const std::string& name, const std::string& content) {
  dir.write(name, content);
  return dir.file(name);
}

}  // namespace

TEST_SUITE("edge") {
  TEST_CASE("the soft file limit is raised to the hard one and caps connections by default") {
    wrapped_node node({"prlimit", "--nofile=200:1024", "--"});
    CHECK(proc_status_kb(node.proc->pid(), "VmRSS") > 0);
    auto out = node.proc->output();
    CHECK_MESSAGE(out.find("event=node.fd_limit raised_from=200 to=1024") != std::string::npos,
                  out);
    CHECK_MESSAGE(out.find("event=http.limits max_connections=512") != std::string::npos, out);
  }

  TEST_CASE("a connection burst past the cap waits in the backlog, then is served") {
    // 256 descriptors: the default cap is 128 connections; 400 idle ones never exhaust them
    wrapped_node node({"prlimit", "--nofile=256:256", "--"});
    auto idle = open_idle(node.port, 400);
    CHECK(idle.size() == 400);
    CHECK_MESSAGE(node.proc->wait_for_line("event=http.connection_limit_reached", 20s).has_value(),
                  node.proc->tail());
    CHECK(node.proc->output().find("event=http.accept_stalled") == std::string::npos);
    close_all(idle);
    CHECK_MESSAGE(health_within(node.url(), 20s), node.proc->tail());
  }

  TEST_CASE("accepting resumes after the process ran out of file descriptors") {
    // a cap above the descriptors: accept() fails with EMFILE, which RESTinio alone never retries
    wrapped_node node({}, {"--max-connections", "5000"});
    auto r =
        run_command({"prlimit", "--pid", std::to_string(node.proc->pid()), "--nofile=128:128"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    auto idle = open_idle(node.port, 300);
    CHECK_MESSAGE(node.proc->wait_for_line("event=http.accept_stalled", 20s).has_value(),
                  node.proc->tail());
    close_all(idle);
    CHECK_MESSAGE(health_within(node.url(), 20s), node.proc->tail());
    // and again: the second burst is survived like the first
    idle = open_idle(node.port, 300);
    std::this_thread::sleep_for(2s);
    close_all(idle);
    CHECK_MESSAGE(health_within(node.url(), 20s), node.proc->tail());
    auto tok = user_token("read");
    auto p = http_request("GET", node.url() + "/api/v1/pipelines", {},
                          {{"Authorization", "Bearer " + tok}});
    CHECK(p.status == 200);
  }

  TEST_CASE("four 100 MiB bodies without a token are refused before they are read") {
    runtime_node node;
    REQUIRE(node.healthy());
    int pid = node.server().process().pid();
    long before = proc_status_kb(pid, "VmHWM");
    REQUIRE(before > 0);
    const std::size_t body = 100u * 1024 * 1024;
    std::atomic<int> refused{0};
    std::vector<std::thread> clients;
    for (int i = 0; i < 4; ++i)
      clients.emplace_back([&] {
        int fd = connect_to(node.server().port());
        if (fd < 0) return;
        timeval tv{10, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        std::string head = "PUT /api/v1/pipelines/big HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                           std::to_string(body) + "\r\nContent-Type: application/json\r\n\r\n";
        ::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
        std::string chunk(64 * 1024, '[');
        for (std::size_t sent = 0; sent < body;) {  // until the node stops reading
          auto n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
          if (n <= 0) break;
          sent += static_cast<std::size_t>(n);
        }
        char buf[4096];
        auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0 && status_of(std::string(buf, static_cast<std::size_t>(n))) == 401) ++refused;
        ::close(fd);
      });
    for (auto& t : clients) t.join();
    long after = proc_status_kb(pid, "VmHWM");
    MESSAGE("VmHWM before ", before, " kB, after ", after, " kB");
    CHECK(refused == 4);
    CHECK_MESSAGE(after - before < 8 * 1024, "peak memory grew by ", after - before, " kB");
    CHECK(node.healthy());
  }

  TEST_CASE("Content-Length over the limit is answered 413 before the body is sent") {
    runtime_node node;
    auto raw = raw_exchange(node.server().port(),
                            "PUT /api/v1/pipelines/big HTTP/1.1\r\nHost: x\r\nAuthorization: "
                            "Bearer " +
                                node.token() + "\r\nContent-Length: 5000000\r\n\r\n",
                            10s);
    CHECK_MESSAGE(status_of(raw) == 413, raw);
    CHECK(raw.find("payload_too_large") != std::string::npos);
    // /login takes small bodies only, and says so before reading
    raw = raw_exchange(node.server().port(),
                       "POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
    CHECK_MESSAGE(status_of(raw) == 413, raw);
    // a chunked body past the limit closes the connection, and the node goes on
    CHECK(node.healthy());
  }

  TEST_CASE("vars nested 100k deep: 400 over HTTP, a clear error at start-up and in validate") {
    runtime_node node;
    std::string body =
        R"({"config":"job \"j\" {\n task \"t\" {\n run \"exec\" {\n path = \"/bin/true\"\n }\n }\n}\n","vars":{"v":)" +
        nested(100000) + "}}";
    auto r = node.put("/pipelines/deep", body);
    CHECK_MESSAGE(r.status == 400, r.body);
    CHECK(r.body.find("nests deeper than 64 levels") != std::string::npos);
    // a body that is only deep JSON, and /login's
    r = node.post("/pipelines/deep/jobs/j/trigger", nested(100000));
    CHECK(r.status == 400);
    r = node.call("POST", "/login", "{\"username\":" + nested(5000) + "}", "");
    CHECK(r.status == 400);
    CHECK(node.healthy());

    temp_dir dir;
    auto config = write_temp(dir, "p.hcl",
                             "job \"j\" {\n  task \"t\" {\n    run \"exec\" {\n"
                             "      path = \"/bin/true\"\n    }\n  }\n}\n");
    auto vars = write_temp(dir, "vars.json", "{\"v\":" + nested(100000) + "}");
    auto v = run_command({node_binary(), "validate", config, "--vars", vars});
    CHECK_MESSAGE(v.exit_code == 2, v.output);
    CHECK(v.output.find("nests deeper than 64 levels") != std::string::npos);

    child_process start({node_binary(), "--role", "server", "--host", "127.0.0.1", "--port", "0",
                         "--jwt-secret", "test-secret", "--pipeline-name", "deep",
                         "--pipeline-config", config, "--vars", vars});
    auto code = start.wait_exit(30s);
    REQUIRE_MESSAGE(code.has_value(), start.tail());
    CHECK_MESSAGE(*code == 1, start.tail());  // not a signal
    CHECK(start.output().find("nests deeper than 64 levels") != std::string::npos);

    auto c = run_command({node_binary(), "client", "--url", node.server().url(), "--token",
                          node.token(), "pipelines", "set", "deep", config, "--vars", vars});
    CHECK_MESSAGE(c.exit_code == 2, c.output);
    CHECK(c.output.find("nests deeper than 64 levels") != std::string::npos);
  }

  TEST_CASE("trigger inputs and args have count and size limits") {
    runtime_node node;
    node.set_pipeline("t",
                      "job \"j\" {\n  task \"t\" {\n    run \"exec\" {\n"
                      "      path = \"/bin/true\"\n    }\n  }\n}\n");
    nlohmann::json many = nlohmann::json::object();
    for (int i = 0; i < 65; ++i) many["k" + std::to_string(i)] = "v";
    auto r = node.post("/pipelines/t/jobs/j/trigger", nlohmann::json{{"inputs", many}}.dump());
    CHECK_MESSAGE(r.status == 400, r.body);
    CHECK(r.body.find("at most 64 inputs") != std::string::npos);
    r = node.post("/pipelines/t/jobs/j/trigger",
                  nlohmann::json{{"args", std::vector<std::string>(65, "a")}}.dump());
    CHECK_MESSAGE(r.status == 400, r.body);
    CHECK(r.body.find("at most 64 inputs") != std::string::npos);
    r = node.post("/pipelines/t/jobs/j/trigger",
                  nlohmann::json{{"inputs", {{"k", std::string(70 * 1024, 'v')}}}}.dump());
    CHECK_MESSAGE(r.status == 413, r.body);
    CHECK(r.json()["error"]["code"] == "payload_too_large");
    r = node.post("/pipelines/t/jobs/j/trigger",
                  nlohmann::json{{"args", {std::string(60 * 1024, 'a'), "b"}}}.dump());
    CHECK_MESSAGE(r.status == 201, r.body);  // within the limits
  }

  TEST_CASE("bad paths and oversized heads get an HTTP answer, never silence") {
    runtime_node node;
    int port = node.server().port();
    auto get = [&](const std::string& target, const std::string& extra = {}) {
      return raw_exchange(port, "GET " + target + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                                    node.token() + "\r\n" + extra + "Connection: close\r\n\r\n");
    };
    auto raw = get("/api/v1/pipelines/%FF");
    CHECK_MESSAGE(status_of(raw) == 400, raw);
    CHECK(raw.find("bad_request") != std::string::npos);
    CHECK(status_of(get("/api/v1/pipelines/%ZZ")) == 400);
    CHECK(status_of(get("/api/v1/pipelines/abc%")) == 400);
    CHECK(status_of(get("/api/v1/nope%C3%A9")) == 404);  // UTF-8: the usual answer
    raw = get("/api/v1/pipelines/" + std::string(900 * 1024, 'a'));
    CHECK_MESSAGE(status_of(raw) == 414, raw.substr(0, 300));
    CHECK(raw.find("uri_too_long") != std::string::npos);
    CHECK(status_of(get("/api/v1/health", "X-Big: " + std::string(100 * 1024, 'x') + "\r\n")) ==
          431);
    std::string fields;
    for (int i = 0; i < 200; ++i) fields += "X-" + std::to_string(i) + ": v\r\n";
    CHECK(status_of(get("/api/v1/health", fields)) == 431);
    CHECK(status_of(raw_exchange(port, "GARBAGE\r\n\r\n")) == 400);
    // a keep-alive connection: requests before a refused one are answered in order
    raw = raw_exchange(port,
                       "GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /api/v1/pipelines/%FF HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK_MESSAGE(status_of(raw) == 200, raw);
    CHECK(raw.find("HTTP/1.1 400") != std::string::npos);
    CHECK(node.healthy());
  }

  TEST_CASE("a token is refused before its nbf and accepted after") {
    runtime_node node;
    auto now = unix_now();
    auto later =
        signed_token(R"({"sub":"admin","role":"admin","kind":"user","iat":)" + std::to_string(now) +
                     R"(,"nbf":)" + std::to_string(now + 3600) + "}");
    auto r = node.call("GET", "/pipelines", "", later);
    CHECK_MESSAGE(r.status == 401, r.body);
    CHECK(r.body.find("not valid yet") != std::string::npos);
    auto earlier =
        signed_token(R"({"sub":"admin","role":"admin","kind":"user","iat":)" + std::to_string(now) +
                     R"(,"nbf":)" + std::to_string(now - 10) + "}");
    CHECK(node.call("GET", "/pipelines", "", earlier).status == 200);
  }

  TEST_CASE("a replay of more than 8 MiB reaches the subscriber whole") {
    runtime_node node;
    // three steps of 3.5 MB each: every step's stored log is under the 4 MiB cap
    std::string task;
    for (int i = 0; i < 3; ++i)
      task += "  task \"t" + std::to_string(i) +
              "\" {\n    run \"exec\" {\n      path = \"/bin/sh\"\n      args = [\"-c\", "
              "\"yes a | head -c 3500000\"]\n    }\n  }\n";
    node.set_pipeline("big", "job \"j\" {\n" + task + "}\n");
    node.trigger("big", "j");
    auto b = node.wait_build("big", "j", "1", 60s);
    REQUIRE(b["status"] == "succeeded");
    auto r =
        http_request("GET", node.server().url() + "/api/v1/pipelines/big/jobs/j/builds/1/events",
                     {}, {{"Authorization", "Bearer " + node.token()}}, 60000);
    CHECK(r.status == 200);
    CHECK_MESSAGE(r.body.size() > 10u * 1024 * 1024, r.body.size());
    CHECK(r.body.find("cut off") == std::string::npos);
    CHECK(r.body.find("event: end") != std::string::npos);
  }

  TEST_CASE("failed logins back off per address and user, with Retry-After; a success resets") {
    runtime_node node;
    auto login = [&](const std::string& password) {
      return node.call("POST", "/login", R"({"username":"admin","password":")" + password + "\"}",
                       "");
    };
    for (int i = 0; i < 6; ++i) CHECK(login("wrong").status == 401);
    auto r = login("wrong");
    CHECK_MESSAGE(r.status == 429, r.body);
    CHECK(r.json()["error"]["code"] == "too_many_requests");
    REQUIRE(r.headers.count("retry-after") == 1);
    int wait = std::stoi(r.headers["retry-after"]);
    CHECK(wait >= 1);
    // even the right password waits: the address and the user are both throttled
    CHECK(login("test-password").status == 429);
    std::this_thread::sleep_for(std::chrono::seconds(wait) + 200ms);
    CHECK(login("test-password").status == 200);
    CHECK(login("wrong").status == 401);  // the count started over
  }
}
