// Live events over Server-Sent Events (issue #8, SPEC §3.1): a build's events replayed then
// streamed live until it ends, every build's status changes on /api/v1/events, and bounded
// buffers: a subscriber that stops reading is cut off and never holds up a build.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/pipeline_fixture.hpp"
#include "tests/support/sse_client.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

/// A job whose task prints `lines` lines, `gap` seconds apart.
std::string spaced_job(const std::string& name, int lines, const std::string& gap) {
  return "job \"" + name +
         "\" {\n  task \"talk\" {\n    run \"exec\" {\n      path = \"/bin/sh\"\n"
         "      args = [\"-c\", \"for i in $(seq " +
         std::to_string(lines) + "); do echo line $i; sleep " + gap + "; done\"]\n    }\n  }\n}\n";
}

std::string events_url(runtime_node& node, const std::string& p, const std::string& j,
                       const std::string& n) {
  return node.server().url() + "/api/v1/pipelines/" + p + "/jobs/" + j + "/builds/" + n + "/events";
}

/// The text of every `log` event, concatenated.
std::string logged(const std::vector<sse_event>& events) {
  std::string out;
  for (const auto& e : events)
    if (e.type == "log") out += e.data.value("chunk", "");
  return out;
}

/// The first event of `type` whose data satisfies `pred`; null when none.
const sse_event* first(const std::vector<sse_event>& events, const std::string& type,
                       const std::function<bool(const nlohmann::json&)>& pred = {}) {
  for (const auto& e : events)
    if (e.type == type && (!pred || pred(e.data))) return &e;
  return nullptr;
}

/// A client that sends a request for `path` and then never reads (a tiny receive buffer), like
/// a subscriber whose process hangs.
class stalled_client {
 public:
  stalled_client(int port, const std::string& path, const std::string& token) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                      token + "\r\n\r\n";
    REQUIRE(::send(fd_, req.data(), req.size(), 0) == static_cast<ssize_t>(req.size()));
  }
  ~stalled_client() { ::close(fd_); }

 private:
  int fd_ = -1;
};

}  // namespace

TEST_SUITE("integration.events") {
  TEST_CASE("a build's events: lines arrive while it runs, then the final status; replay after") {
    runtime_node node;
    node.set_pipeline("p", spaced_job("j", 5, "0.3"));
    auto b = node.trigger("p", "j");
    sse_client live(events_url(node, "p", "j", b["number"]), node.token());
    REQUIRE(live.wait_closed(30s));
    auto events = live.events();
    CAPTURE(node.tail());
    REQUIRE(!events.empty());
    CHECK(events.front().type == "build");  // the build as it is when the stream opens
    for (int i = 1; i <= 5; ++i)
      CHECK(logged(events).find("line " + std::to_string(i)) != std::string::npos);
    const auto* line1 = first(events, "log", [](const auto& d) {
      return d.value("chunk", "").find("line 1") != std::string::npos;
    });
    const auto* end = first(events, "end");
    REQUIRE(line1 != nullptr);
    REQUIRE(end != nullptr);
    // spaced in time: the first line came while the build ran, not with the end
    CHECK(end->at - line1->at >= 900ms);
    CHECK(end->data["status"] == "succeeded");
    CHECK(&events.back() == end);
    const auto* step = first(events, "step", [](const auto& d) {
      return d["name"] == "talk" && d["status"] == "succeeded";
    });
    REQUIRE(step != nullptr);
    CHECK(step->data["type"] == "task");
    CHECK(first(events, "build", [](const auto& d) { return d["status"] == "started"; }));

    // the same build once it is over: replayed from the start, then the stream ends
    sse_client replay(events_url(node, "p", "j", b["number"]), node.token());
    REQUIRE(replay.wait_closed(10s));
    auto again = replay.events();
    CHECK(logged(again) == node.build("p", "j", b["number"])["steps"][0]["logs"]);
    REQUIRE(!again.empty());
    CHECK(again.back().type == "end");
    CHECK(again.back().data["status"] == "succeeded");
  }

  TEST_CASE("build events: unknown build 404, no token 401") {
    runtime_node node;
    node.set_pipeline("p", spaced_job("j", 1, "0"));
    sse_client unknown(events_url(node, "p", "j", "9"), node.token());
    REQUIRE(unknown.wait_closed(10s));
    CHECK(unknown.status() == 404);
    CHECK(unknown.events().empty());
    CHECK(unknown.error_body().find("not_found") != std::string::npos);
    sse_client anonymous(events_url(node, "p", "j", "1"), "");
    REQUIRE(anonymous.wait_closed(10s));
    CHECK(anonymous.status() == 401);
  }

  TEST_CASE("GET /api/v1/events: status changes of every build") {
    runtime_node node;
    node.set_pipeline("p", spaced_job("a", 1, "0") + spaced_job("b", 1, "0"));
    sse_client all(node.server().url() + "/api/v1/events", node.token());
    // the stream is open (headers and a comment) before any build exists
    REQUIRE(all.wait_open());
    auto a = node.trigger("p", "a");
    auto b = node.trigger("p", "b");
    auto done = [](const std::string& job) {
      return [job](const std::vector<sse_event>& events) {
        return first(events, "build", [&](const auto& d) {
                 return d["job"] == job && d["status"] == "succeeded" &&
                        !d["finished_at"].is_null();
               }) != nullptr;
      };
    };
    CHECK(all.wait(done("a")));
    CHECK(all.wait(done("b")));
    auto events = all.events();
    CHECK(first(events, "build",
                [&](const auto& d) { return d["id"] == a["id"] && d["status"] == "started"; }));
    CHECK(first(events, "build",
                [&](const auto& d) { return d["id"] == b["id"] && d["status"] == "pending"; }));
    CHECK(first(events, "log") == nullptr);  // statuses only
  }

  TEST_CASE("a subscriber that stops reading is cut off; the build and other subscribers go on") {
    runtime_node node;
    // 24 MB of output in 6 s: far more than a subscriber may fall behind (8 MiB), at a pace a
    // reading subscriber keeps up with
    node.set_pipeline(
        "p",
        "job \"j\" {\n  task \"flood\" {\n    run \"exec\" {\n"
        "      path = \"/bin/sh\"\n      args = [\"-c\", \"sleep 0.5; for i in $(seq 60); do "
        "yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 400000; sleep 0.1; "
        "done; echo finished\"]\n"
        "    }\n  }\n}\n");
    auto b = node.trigger("p", "j");
    auto path = "/api/v1/pipelines/p/jobs/j/builds/" + b["number"].get<std::string>() + "/events";
    stalled_client stalled(node.server().port(), path, node.token());
    sse_client reader(node.server().url() + path, node.token());
    auto done = node.wait_build("p", "j", b["number"], 60s);
    CHECK(done["status"] == "succeeded");
    CAPTURE(node.tail());
    CHECK(eventually(
        [&] {
          return node.server().process().output().find("event=sse.cut_off") != std::string::npos;
        },
        10s));
    REQUIRE(reader.wait_closed(30s));
    auto events = reader.events();
    REQUIRE(!events.empty());
    CHECK(events.back().type == "end");
    CHECK(logged(events).find("finished") != std::string::npos);
    CHECK(node.healthy());
  }

  TEST_CASE("a build stream resumed with Last-Event-ID sends exactly the output it missed") {
    runtime_node node;
    node.set_pipeline("p", spaced_job("j", 10, "0.3"));
    auto b = node.trigger("p", "j");
    auto url = events_url(node, "p", "j", b["number"]);
    std::string seen_text, last_id;
    {
      sse_client first(url, node.token());
      REQUIRE(first.wait([](const std::vector<sse_event>& ev) {
        return logged(ev).find("line 3") != std::string::npos;
      }));
      first.stop();  // the client goes away mid-step
      auto seen = first.events();
      for (const auto& e : seen) CHECK_MESSAGE(!e.id.empty(), e.type);
      seen_text = logged(seen);
      last_id = seen.back().id;
    }
    CHECK(seen_text.find("line 10") == std::string::npos);
    std::this_thread::sleep_for(700ms);  // more output comes while it is away
    sse_client again(url, std::vector<std::string>{"Authorization: Bearer " + node.token(),
                                                   "Last-Event-ID: " + last_id});
    REQUIRE(again.wait_closed(30s));
    auto rest = again.events();
    CAPTURE(last_id);
    CAPTURE(node.tail());
    REQUIRE(!rest.empty());
    CHECK(rest.front().type == "build");  // the build as it is now, then what came after the id
    CHECK(first(rest, "reset") == nullptr);
    CHECK(rest.back().type == "end");
    auto stored = node.build("p", "j", b["number"])["steps"][0]["logs"].get<std::string>();
    CHECK(stored.find("line 10") != std::string::npos);
    // nothing twice, nothing missing
    CHECK(seen_text + logged(rest) == stored);
    CHECK(logged(rest).find("line 1\n") == std::string::npos);

    // the same through the query, for clients that cannot set headers; and after the end
    sse_client query(url + "?last_event_id=" + last_id, node.token());
    REQUIRE(query.wait_closed(10s));
    CHECK(seen_text + logged(query.events()) == stored);
    // the id of the last event (`end`) resumes to nothing more than the summary and the end
    sse_client done(url, std::vector<std::string>{"Authorization: Bearer " + node.token(),
                                                  "Last-Event-ID: " + rest.back().id});
    REQUIRE(done.wait_closed(10s));
    CHECK(logged(done.events()).empty());
    CHECK(done.events().back().type == "end");
  }

  TEST_CASE("a build stream with an id it cannot resume from: reset, then all of it") {
    runtime_node node;
    node.set_pipeline("p", spaced_job("j", 2, "0"));
    auto b = node.trigger("p", "j");
    REQUIRE(node.wait_build("p", "j", b["number"], 30s)["status"] == "succeeded");
    auto stored = node.build("p", "j", b["number"])["steps"][0]["logs"].get<std::string>();
    for (std::string bad : {"nonsense", "1.7", "3.0", "1.1:0.999999"}) {
      CAPTURE(bad);
      sse_client c(events_url(node, "p", "j", b["number"]),
                   std::vector<std::string>{"Authorization: Bearer " + node.token(),
                                            "Last-Event-ID: " + bad});
      REQUIRE(c.wait_closed(10s));
      auto ev = c.events();
      REQUIRE(ev.size() >= 3);
      CHECK(ev.front().type == "reset");
      CHECK(ev.front().data == nlohmann::json::object());
      CHECK(ev[1].type == "build");
      CHECK(logged(ev) == stored);
    }
  }

  TEST_CASE("GET /api/v1/events: a reconnect gets the events it missed, an unknown id a reset") {
    runtime_node node;
    node.set_pipeline("p", spaced_job("a", 1, "0") + spaced_job("b", 1, "0"));
    auto finished = [](const std::string& job) {
      return [job](const std::vector<sse_event>& events) {
        return first(events, "build", [&](const auto& d) {
                 return d["job"] == job && !d["finished_at"].is_null();
               }) != nullptr;
      };
    };
    std::string last_id;
    {
      sse_client all(node.server().url() + "/api/v1/events", node.token());
      REQUIRE(all.wait_open());
      node.trigger("p", "a");
      REQUIRE(all.wait(finished("a")));
      all.stop();
      last_id = all.events().back().id;
    }
    REQUIRE(!last_id.empty());
    // while nobody listens, b runs
    auto b = node.trigger("p", "b");
    REQUIRE(node.wait_build("p", "b", b["number"], 30s)["status"] == "succeeded");
    sse_client again(node.server().url() + "/api/v1/events",
                     std::vector<std::string>{"Authorization: Bearer " + node.token(),
                                              "Last-Event-ID: " + last_id});
    CAPTURE(node.tail());
    REQUIRE(again.wait(finished("b"), 10s));
    auto missed = again.events();
    CHECK(first(missed, "reset") == nullptr);
    CHECK(first(missed, "build", [](const auto& d) { return d["job"] == "a"; }) == nullptr);
    CHECK(first(missed, "build", [](const auto& d) {
            return d["job"] == "b" && d["status"] == "pending";
          }) != nullptr);
    // ids grow along the stream; the last one resumes with nothing missed
    auto newest = missed.back().id;
    sse_client current(node.server().url() + "/api/v1/events?pipeline=p&last_event_id=" + newest,
                       node.token());
    REQUIRE(current.wait_open());
    node.trigger("p", "a");
    REQUIRE(current.wait(finished("a"), 20s));
    CHECK(current.events().front().type == "build");
    CHECK(current.events().front().data["status"] == "pending");

    // an id this node does not have: one reset, then live events
    sse_client unknown(node.server().url() + "/api/v1/events",
                       std::vector<std::string>{"Authorization: Bearer " + node.token(),
                                                "Last-Event-ID: 0123456789abcdef-1"});
    REQUIRE(unknown.wait([](const auto& ev) { return !ev.empty(); }, 10s));
    CHECK(unknown.events().front().type == "reset");
    CHECK(unknown.events().front().data == nlohmann::json::object());
    CHECK(!unknown.events().front().id.empty());
  }
}
