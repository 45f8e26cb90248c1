// `pikoci-node client` without a node: argument parsing, text renderings, the vars of
// `pipelines set`, failures that never reach the API, and its HTTP client against a one-shot
// local server (time limit, size cap, headers).
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include "cli/bodies.hpp"
#include "cli/client.hpp"
#include "cli/commands.hpp"
#include "cli/text.hpp"
#include "config/node/cli.hpp"
#include "connectors/http_client/http_client.hpp"

using namespace pikoci::node;
using namespace pikoci::cli;
using nlohmann::json;

namespace {

command parse(std::vector<std::string> args) {
  args.insert(args.begin(), "pikoci-node");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

client_flags parse_client(std::vector<std::string> args) {
  auto cmd = parse(std::move(args));
  auto* c = std::get_if<client_command>(&cmd);
  REQUIRE(c != nullptr);
  return c->flags;
}

/// The exit code of a parse that ends without a command; its one-line message is checked.
int usage_code(std::vector<std::string> args) {
  std::ostringstream captured;
  auto* old = std::cerr.rdbuf(captured.rdbuf());
  auto cmd = parse(std::move(args));
  std::cerr.rdbuf(old);
  const std::string message = captured.str();
  CHECK_MESSAGE(std::count(message.begin(), message.end(), '\n') == 1, message);
  auto* e = std::get_if<exit_now>(&cmd);
  return e != nullptr ? e->code : -1;
}

const std::string sample = std::string(PIKOCI_SOURCE_DIR) + "/samples/hello.hcl";

/// Accepts one connection on 127.0.0.1, reads the request head (and records it), waits `delay`,
/// writes `reply` and closes.
class one_shot_server {
 public:
  explicit one_shot_server(std::string reply, std::chrono::milliseconds delay = {}) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(listen(fd_, 1) == 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this, reply = std::move(reply), delay] {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      while (request_.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        request_.append(buf, static_cast<std::size_t>(n));
      }
      std::this_thread::sleep_for(delay);
      for (std::size_t off = 0; off < reply.size();) {
        ssize_t n = write(c, reply.data() + off, reply.size() - off);
        if (n <= 0) break;
        off += static_cast<std::size_t>(n);
      }
      close(c);
    });
  }
  ~one_shot_server() {
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/x"; }
  /// The request head; read it after the request returned.
  const std::string& request() const { return request_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::string request_;
};

std::string http_reply(const std::string& body, const std::string& extra_headers = {}) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nX-Thing: a b \r\n" + extra_headers + "Connection: close\r\n\r\n" + body;
}

}  // namespace

TEST_SUITE("cli.client") {
  TEST_CASE("flags, group, verb and positionals are parsed; global flags may follow the verb") {
    auto f = parse_client({"client", "--url", "http://ci:9000", "--token", "t", "pipelines", "set",
                           "hello", sample, "--var", "a=1", "--var", "b=x=y", "--json"});
    CHECK(f.url == "http://ci:9000");
    CHECK(f.token == "t");
    CHECK(f.json);
    CHECK(f.group == "pipelines");
    CHECK(f.verb == "set");
    CHECK(f.pipeline == "hello");
    CHECK(f.file == sample);
    CHECK(f.vars == std::vector<std::string>{"a=1", "b=x=y"});

    auto b = parse_client(
        {"client", "builds", "list", "p", "--status", "failed,errored", "--limit", "5"});
    CHECK(b.url == "http://localhost:8080");
    CHECK_FALSE(b.json);
    CHECK(b.pipeline == "p");
    CHECK(b.job.empty());
    CHECK(b.statuses == std::vector<std::string>{"failed", "errored"});
    CHECK(b.limit == 5);

    auto pin = parse_client({"client", "resources", "pin", "p", "cron.timer", "42"});
    CHECK(pin.resource == "cron.timer");
    CHECK(pin.version_id == 42);

    auto t = parse_client({"client", "jobs", "trigger", "p", "j", "--input", "env=prod", "--arg",
                           "-x", "--arg", "y"});
    CHECK(t.inputs == std::vector<std::string>{"env=prod"});
    CHECK(t.args == std::vector<std::string>{"-x", "y"});

    auto q = parse_client({"client", "queue"});
    CHECK(q.group == "queue");
    CHECK(q.verb.empty());
  }

  TEST_CASE("missing or unknown words and bad values are usage errors") {
    CHECK(usage_code({"client"}) == 2);
    CHECK(usage_code({"client", "pipelines"}) == 2);
    CHECK(usage_code({"client", "pipelines", "frob"}) == 2);
    CHECK(usage_code({"client", "pipelines", "get"}) == 2);
    CHECK(usage_code({"client", "pipelines", "list", "extra"}) == 2);
    CHECK(usage_code({"client", "builds", "get", "p", "j"}) == 2);
    CHECK(usage_code({"client", "builds", "list", "--status", "done"}) == 2);
    CHECK(usage_code({"client", "resources", "pin", "p", "r", "0"}) == 2);
    CHECK(usage_code({"client", "resources", "pin", "p", "r", "v1"}) == 2);
    CHECK(usage_code({"client", "jobs", "trigger", "p", "j", "--input", "x"}) == 2);
    CHECK(usage_code({"client", "pipelines", "set", "p", "/nonexistent.hcl"}) == 2);
    CHECK(usage_code({"client", "pipeline", "lst"}) == 2);
    CHECK(usage_code({"client", "notifications", "list", "--status", "lost"}) == 2);
    CHECK(usage_code({"client", "events", "--limit", "0"}) == 2);
    CHECK(usage_code({"client", "resources", "add-version", "p", "r"}) == 2);
  }

  TEST_CASE("a build line: job, number, status, duration and the reason's first line") {
    json b{{"pipeline", "p"},       {"job", "hello"},    {"number", "3"},
           {"status", "succeeded"}, {"reason", nullptr}, {"duration_ms", 1520}};
    CHECK(build_line(b, false) == "hello #3 succeeded 1520ms");
    CHECK(build_line(b, true) == "p/hello #3 succeeded 1520ms");
    b["status"] = "failed";
    b["reason"] = "step \"t\" failed: exit status 1\ndetails";
    CHECK(build_line(b, false) == "hello #3 failed 1520ms (step \"t\" failed: exit status 1)");
    json pending{
        {"job", "hello"}, {"number", "4.1"}, {"status", "pending"}, {"duration_ms", nullptr}};
    CHECK(build_line(pending, false) == "hello #4.1 pending");
    // once started, its start time (UTC, to the second) on the same line, before the reason
    b["started_at"] = "2026-12-03T06:40:12.345Z";
    CHECK(
        build_line(b, false) ==
        "hello #3 failed 1520ms  started 2026-12-03 06:40:12  (step \"t\" failed: exit status 1)");
    b["status"] = "succeeded";
    b["reason"] = nullptr;
    CHECK(build_line(b, true) == "p/hello #3 succeeded 1520ms  started 2026-12-03 06:40:12");
    b["status"] = "started";
    b["duration_ms"] = nullptr;
    CHECK(build_line(b, false) == "hello #3 started 2026-12-03 06:40:12");
    CHECK(short_time("not a time") == "not a time");
    CHECK_NOTHROW(build_line(json("not an object"), true));
  }

  TEST_CASE("build logs: a header per step, in_parallel children after their group, then hooks") {
    json build{
        {"steps",
         {{{"type", "get"}, {"name", "src"}, {"status", "succeeded"}, {"logs", "pulled v2\n"}},
          {{"type", "in_parallel"},
           {"name", ""},
           {"status", "failed"},
           {"logs", ""},
           {"steps",
            {{{"type", "task"}, {"name", "a"}, {"status", "succeeded"}, {"logs", "a out"}},
             {{"type", "task"}, {"name", "b"}, {"status", "failed"}, {"logs", "b out\n"}}}}}}},
        {"hooks", {{{"type", "hook"}, {"name", "ensure"}, {"status", "succeeded"}, {"logs", ""}}}}};
    CHECK(build_logs(build) ==
          "==> get src [succeeded]\n"
          "pulled v2\n"
          "==> in_parallel [failed]\n"
          "==> in_parallel > task a [succeeded]\n"
          "a out\n"
          "==> in_parallel > task b [failed]\n"
          "b out\n"
          "==> hook ensure [succeeded]\n");
    CHECK(build_logs(json::object()).empty());
  }

  TEST_CASE("tables align columns two spaces apart without trailing blanks") {
    CHECK(table({{"hello", "active", "jobs: a"}, {"longer-name", "paused", ""}}) ==
          "hello        active  jobs: a\n"
          "longer-name  paused\n");
    CHECK(table({}).empty());
  }

  TEST_CASE("--var values take the type the file declares; --var wins over --vars") {
    std::string hcl =
        "variable \"n\" {\n  type = number\n}\n"
        "variable \"b\" {\n  type = \"bool\"\n}\n"
        "variable \"s\" {\n  type = string\n}\n";
    json file{{"n", 1}, {"x", "from-file"}};
    auto vars = pipeline_vars(hcl, file, {"n=3", "b=true", "s=4", "u=5"});
    CHECK(vars == json{{"n", 3}, {"b", true}, {"s", "4"}, {"u", "5"}, {"x", "from-file"}});
    CHECK(pipeline_vars(hcl, file, {"n=1.5"})["n"] == 1.5);
    // Text that does not convert stays text: the server reports the type error with its position.
    CHECK(pipeline_vars(hcl, json::object(), {"n=many", "b=yes"}) ==
          json{{"n", "many"}, {"b", "yes"}});
    CHECK(pipeline_vars("variable {{{", json::object(), {"n=3"}) == json{{"n", "3"}});
    CHECK(pipeline_vars(hcl, file, {}) == file);
  }

  TEST_CASE("path segments are percent-encoded") {
    CHECK(url_segment("cron.timer") == "cron.timer");
    CHECK(url_segment("a b/c?d") == "a%20b%2Fc%3Fd");
    CHECK(url_segment("3.1") == "3.1");
  }

  TEST_CASE(
      "an unreachable node is exit 1; an unreadable file is exit 2; neither shows the token") {
    client_flags f;
    f.url = "http://127.0.0.1:1/";
    f.token = "secret-token-value";
    f.group = "pipelines";
    f.verb = "list";
    std::ostringstream out, err;
    CHECK(run_client(f, out, err) == 1);
    CHECK(out.str().empty());
    CHECK(err.str().rfind("pikoci-node: cannot reach http://127.0.0.1:1: ", 0) == 0);
    CHECK(err.str().find("secret-token-value") == std::string::npos);

    f.verb = "set";
    f.pipeline = "p";
    f.file = "/nonexistent/p.hcl";
    std::ostringstream out2, err2;
    CHECK(run_client(f, out2, err2) == 2);
    CHECK(err2.str().find("/nonexistent/p.hcl") != std::string::npos);
  }

  TEST_CASE("each command's row sends its request line and says what was done") {
    struct one {
      std::vector<std::string> args;
      std::string reply;
      std::string request_line;
      std::string printed;
    };
    const std::vector<one> cases{
        {{"builds", "list", "p", "j", "--limit", "5", "--status", "failed,errored"},
         R"({"builds":[]})",
         "GET /x/api/v1/pipelines/p/jobs/j/builds?limit=5&status=failed%2Cerrored HTTP/1.1",
         ""},
        {{"builds", "list"},
         R"({"builds":[{"pipeline":"p","job":"j","number":"2"}]})",
         "GET /x/api/v1/builds HTTP/1.1",
         "p/j #2 \n"},
        {{"resources", "versions", "p", "cron timer", "--limit", "0"},
         R"({"versions":[]})",
         "GET /x/api/v1/pipelines/p/resources/cron%20timer/versions?limit=0 HTTP/1.1",
         ""},
        {{"resources", "pin", "p", "timer", "42"},
         R"({"resource":{"canonical":"cron.timer"}})",
         "POST /x/api/v1/pipelines/p/resources/timer/pin HTTP/1.1",
         "cron.timer pinned to version 42\n"},
        {{"resources", "unpin", "p", "timer"},
         "{}",
         "POST /x/api/v1/pipelines/p/resources/timer/unpin HTTP/1.1",
         "timer unpinned\n"},
        {{"pipelines", "delete", "a b"},
         "",
         "DELETE /x/api/v1/pipelines/a%20b HTTP/1.1",
         "pipeline \"a b\" deleted\n"},
        {{"jobs", "unpause", "p", "j"},
         "{}",
         "POST /x/api/v1/pipelines/p/jobs/j/unpause HTTP/1.1",
         "job \"j\" unpaused\n"},
        {{"builds", "cancel", "p", "j", "3.1"},
         R"({"build":{"job":"j","number":"3.1","status":"cancelled"}})",
         "POST /x/api/v1/pipelines/p/jobs/j/builds/3.1/cancel HTTP/1.1",
         "j #3.1 cancelled\n"},
        {{"queue"},
         R"({"in_flight":0,"max_in_flight":4,"queued":0,"max_queue_size":9})",
         "GET /x/api/v1/queue HTTP/1.1",
         "in flight 0/4, queued 0/9\n"},
        {{"jobs", "list", "p"},
         R"({"jobs":[{"name":"a","paused":true,"latest_build":null}]})",
         "GET /x/api/v1/pipelines/p/jobs HTTP/1.1",
         "a  paused  no builds\n"},
        {{"resources", "list", "p"},
         R"({"resources":[{"canonical":"cron.t","check_interval":"1h","pinned_version_id":3}]})",
         "GET /x/api/v1/pipelines/p/resources HTTP/1.1",
         "cron.t  interval 1h  never checked  pinned to 3\n"},
        {{"resources", "trigger", "p", "t", "7"},
         R"({"builds":[{"job":"j","number":"4","status":"pending"}]})",
         "POST /x/api/v1/pipelines/p/resources/t/versions/7/trigger HTTP/1.1",
         "j #4 pending\n"},
        {{"resources", "add-version", "p", "t", "ref=abc"},
         R"({"version":{"id":8,"version":{"ref":"abc"}}})",
         "POST /x/api/v1/pipelines/p/resources/t/versions HTTP/1.1",
         "version 8 of t: {\"ref\":\"abc\"}\n"},
        {{"notifications", "list", "--status", "failed,pending", "--limit", "2"},
         R"({"notifications":[]})",
         "GET /x/api/v1/notifications?limit=2&status=failed%2Cpending HTTP/1.1",
         ""},
        {{"notifications", "retry", "n 1"},
         R"({"notification":{"id":"n 1","status":"pending"}})",
         "POST /x/api/v1/notifications/n%201/retry HTTP/1.1",
         "notification n 1 pending\n"},
        {{"pipelines", "delete-webhook-secret", "p"},
         "",
         "DELETE /x/api/v1/pipelines/p/webhooks/git HTTP/1.1",
         "pipeline \"p\": git webhook secret deleted\n"},
        {{"pipelines", "delete", "p", "--json"},
         "",
         "DELETE /x/api/v1/pipelines/p HTTP/1.1",
         "{}\n"},
        {{"health"},
         R"({"status":"degraded","db":"mem","pubsub":"mem","workers":0,"store":{"status":"ok"},"reasons":["no live worker"]})",
         "GET /x/api/v1/health HTTP/1.1",
         "degraded  db mem  pubsub mem  workers 0  store ok\n  no live worker\n"},
        {{"cluster"},
         R"({"mode":"single","cluster":null,"members":[],"partitions":[]})",
         "GET /x/api/v1/cluster HTTP/1.1",
         "single node (not part of a cluster)\n"},
        {{"cluster"},
         R"({"mode":"cluster","cluster":"ci","partitions_count":2,"self":"m-a",
             "members":[
               {"id":"m-a","url":"http://a:8080","state":"running","datacenter":"eu-1",
                "started_at":"2026-12-03T06:40:12.123Z","self":true,"owned":[0,2],
                "standby":[{"partition":1,"lag":4}]},
               {"id":"m-b","url":null,"state":"starting","datacenter":null,
                "started_at":"2026-12-03T06:41:00.000Z","self":false,"owned":[],"standby":[]}],
             "partitions":[
               {"partition":0,"owner":"m-a","owner_url":"http://a:8080","epoch":3,
                "standbys":[{"member":"m-b","lag":0}],"local_state":"active"},
               {"partition":1,"owner":null,"owner_url":null,"epoch":null,
                "standbys":[{"member":"m-a","lag":4}],"local_state":"restoring"},
               {"partition":2,"owner":"m-a","owner_url":"http://a:8080","epoch":1,
                "standbys":[],"local_state":"idle"}]})",
         "GET /x/api/v1/cluster HTTP/1.1",
         "cluster \"ci\": 2 partitions, 2 live members\n"
         "members:\n"
         "  m-a  http://a:8080  running   datacenter eu-1  started 2026-12-03 06:40:12  owns 0,G   "
         "standby 1 (lag 4)  (this node)\n"
         "  m-b  (no url yet)   starting                   started 2026-12-03 06:41:00  owns none\n"
         "partitions:\n"
         "  0  http://a:8080  epoch 3  standby m-b (lag 0)            here active\n"
         "  1  no owner                standby http://a:8080 (lag 4)  here restoring\n"
         "  G  http://a:8080  epoch 1  no standby\n"},
        // no member names a datacenter: no empty column for it
        {{"cluster"},
         R"({"mode":"cluster","cluster":"ci","partitions_count":1,"self":"m-a",
             "members":[{"id":"m-a","url":"http://a:8080","state":"running","datacenter":null,
                         "started_at":"2026-12-03T06:40:12.123Z","self":true,"owned":[0],
                         "standby":[]}],
             "partitions":[{"partition":0,"owner":"m-a","owner_url":"http://a:8080","epoch":1,
                            "standbys":[],"local_state":"active"},
                           {"partition":1,"owner":null,"owner_url":null,"epoch":null,
                            "standbys":[],"local_state":"moving"}]})",
         "GET /x/api/v1/cluster HTTP/1.1",
         "cluster \"ci\": 1 partition, 1 live member\n"
         "members:\n"
         "  m-a  http://a:8080  running  started 2026-12-03 06:40:12  owns 0  (this node)\n"
         "partitions:\n"
         "  0  http://a:8080  epoch 1  no standby  here active\n"
         "  G  no owner                no standby  here moving\n"},
        {{"version"},
         R"({"version":"1.2.3","commit":"abc"})",
         "GET /x/api/v1/version HTTP/1.1",
         "pikoci-node 1.2.3 (commit abc)\n"},
    };
    for (const auto& c : cases) {
      one_shot_server server(http_reply(c.reply));
      std::vector<std::string> args{"client", "--url", server.url(), "--token", "t"};
      args.insert(args.end(), c.args.begin(), c.args.end());
      std::ostringstream out, err;
      CHECK(run_client(parse_client(args), out, err) == 0);
      const std::string& head = server.request();
      CHECK(head.substr(0, head.find("\r\n")) == c.request_line);
      CHECK(out.str() == c.printed);
    }
  }
}

TEST_SUITE("cli.client") {
  TEST_CASE("with --json every command of the table prints JSON, even for an empty reply") {
    std::string file = "/tmp/pikoci-json-" + std::to_string(getpid()) + ".hcl";
    std::ofstream(file) << "job \"a\" {}\n";
    std::size_t runs = 0;
    for (const auto& [name, one_request] : command_table()) {
      if (!one_request) continue;  // their runners are tested against a node
      std::istringstream words(name);
      client_flags f;
      words >> f.group >> f.verb;
      if (f.verb == "--pipeline") f.verb.clear();
      f.json = true;
      f.token = "t";
      // the arguments every verb may take; `builds list` and the team's secrets take none
      bool scoped = name.find("PIPELINE") != std::string::npos ||
                    name.find("--pipeline") != std::string::npos;
      if (scoped || (name != "builds list" && f.group != "secrets")) f.pipeline = "p";
      if (name != "builds list") f.job = "j";
      f.number = "1", f.resource = "r", f.version_id = 3, f.notification = "n";
      f.secret = "S", f.secret_value = "v", f.username = "u", f.password = "long enough";
      f.role = "read", f.mode = "none", f.file = file, f.fields = {"ref=a"}, f.message = "m";
      for (const std::string body : {"", R"({"ok":true})"}) {
        one_shot_server server(http_reply(body));
        f.url = server.url();
        std::ostringstream out, err;
        CHECK_MESSAGE(run_client(f, out, err) == 0, name, ": ", err.str());
        CHECK_MESSAGE(json::parse(out.str(), nullptr, false).is_object(), name, ": ", out.str());
      }
      ++runs;
    }
    std::remove(file.c_str());
    CHECK(runs > 40);
  }
}

namespace {

/// What `pikoci-node ARGS --help` prints: the subcommands listed under "Subcommands:".
std::vector<std::string> subcommands_of(std::vector<std::string> args) {
  args.emplace_back("--help");
  std::ostringstream captured;
  auto* old = std::cout.rdbuf(captured.rdbuf());
  parse(args);
  std::cout.rdbuf(old);
  std::vector<std::string> out;
  std::istringstream in(captured.str());
  bool listing = false;
  for (std::string line; std::getline(in, line);) {
    if (listing && (line.empty() || line[0] != ' ')) break;
    std::istringstream words(line);
    std::string word;
    if (listing && words >> word) out.push_back(word);
    listing = listing || line.rfind("Subcommands:", 0) == 0;
  }
  return out;
}

}  // namespace

/// The one line a usage error prints on standard error.
std::string usage_line(std::vector<std::string> args) {
  std::ostringstream captured;
  auto* old = std::cerr.rdbuf(captured.rdbuf());
  auto cmd = parse(std::move(args));
  std::cerr.rdbuf(old);
  auto* e = std::get_if<exit_now>(&cmd);
  CHECK((e != nullptr && e->code == 2));
  return captured.str();
}

TEST_SUITE("cli.client") {
  TEST_CASE("an unknown flag is named with the nearest one, for every role and subcommand") {
    auto top = usage_line({"--prot", "1"});
    CHECK_MESSAGE(top.find("unknown flag --prot; did you mean --port?") != std::string::npos, top);
    auto with_value = usage_line({"--max-in-fligt=3"});
    CHECK_MESSAGE(with_value.find("did you mean --max-in-flight?") != std::string::npos,
                  with_value);
    auto worker = usage_line({"--role", "worker", "--concurrenc", "2"});
    CHECK_MESSAGE(worker.find("unknown flag --concurrenc; did you mean --concurrency?") !=
                      std::string::npos,
                  worker);
    auto client = usage_line({"client", "builds", "logs", "p", "j", "1", "--folow"});
    CHECK_MESSAGE(client.find("did you mean --follow?") != std::string::npos, client);
    auto far = usage_line({"--zzzzzzzzzzzz"});
    CHECK_MESSAGE(far.find("unknown flag --zzzzzzzzzzzz (see --help)") != std::string::npos, far);
  }

  TEST_CASE("every command the command line accepts has a row in the table, and back") {
    std::set<std::string> rows, words;
    for (const auto& [name, one_request] : command_table()) {
      std::istringstream in(name);
      std::string group, verb;
      in >> group >> verb;
      rows.insert(verb.empty() || verb[0] == '-' || std::isupper(verb[0]) ? group
                                                                          : group + " " + verb);
    }
    auto groups = subcommands_of({"client"});
    CHECK(groups.size() >= 15);
    for (const auto& g : groups) {
      auto verbs = subcommands_of({"client", g});
      // a group runs by itself when it has no verbs, or when its bare word parses as a command
      // (`workers` lists, `workers forget NAME` removes)
      auto bare = parse({"client", g});
      if (verbs.empty() || std::holds_alternative<client_command>(bare)) words.insert(g);
      for (const auto& v : verbs) words.insert(g + " " + v);
    }
    CHECK(rows == words);
  }
}

TEST_SUITE("connectors.http_client") {
  using namespace pikoci;

  TEST_CASE("a reply gives its status, body and lower-cased headers; request headers are sent") {
    one_shot_server server(http_reply("{\"ok\":true}"));
    auto r = http_client::request("POST", server.url(), "{}", {{"Authorization", "Bearer t"}});
    CHECK(r.ok());
    CHECK(r.error.empty());
    CHECK(r.status == 200);
    CHECK(r.body == "{\"ok\":true}");
    CHECK(r.headers["x-thing"] == "a b");
    CHECK(server.request().rfind("POST /x HTTP/1.1\r\n", 0) == 0);
    CHECK(server.request().find("Authorization: Bearer t\r\n") != std::string::npos);
  }

  TEST_CASE("a body above the cap fails the request") {
    one_shot_server server(http_reply(std::string(10000, 'x')));
    auto r = http_client::request("GET", server.url(), {}, {}, std::chrono::seconds(5), 1000);
    CHECK_FALSE(r.ok());
    CHECK(r.status == 0);
    CHECK(r.body.empty());
    CHECK(r.error == "response larger than 1000 bytes");
  }

  TEST_CASE("a slow server hits the time limit") {
    one_shot_server server(http_reply("late"), std::chrono::milliseconds(1000));
    auto start = std::chrono::steady_clock::now();
    auto r = http_client::request("GET", server.url(), {}, {}, std::chrono::milliseconds(200));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(800));
    CHECK_FALSE(r.ok());
    CHECK(r.error.find("timed out") != std::string::npos);
  }

  TEST_CASE("refused connections and other schemes are errors, not exceptions") {
    auto refused = http_client::request("GET", "http://127.0.0.1:1/");
    CHECK_FALSE(refused.ok());
    CHECK_FALSE(refused.error.empty());
    auto file = http_client::request("GET", "file:///etc/passwd");
    CHECK_FALSE(file.ok());
    CHECK(file.body.empty());
  }
}
