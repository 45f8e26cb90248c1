// Cluster mode's forwarder (http/forward.cpp) against a fake owner (tests/support/http_receiver):
// what goes to the owner (method, path and query, body, the fields that matter, the forwarding
// header), what comes back (status, fields, body), event streams relayed piece by piece, an
// owner that cannot be reached, the limits, and stopping.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include "http/forward.hpp"
#include "tests/support/http_receiver.hpp"

using namespace pikoci;
using namespace std::chrono_literals;

namespace {

std::string field(const http::header_list& h, const std::string& name) {
  for (const auto& [k, v] : h)
    if (k == name) return v;
  return "";
}

/// Sends `r` and waits (bounded) for its answer.
http::forward_answer send_and_wait(http::forwarder& f, http::forward_request r) {
  auto p = std::make_shared<std::promise<http::forward_answer>>();
  auto answer = p->get_future();
  f.send(std::move(r), {[p](http::forward_answer a) { p->set_value(std::move(a)); }, nullptr});
  REQUIRE(answer.wait_for(10s) == std::future_status::ready);
  return answer.get();
}

/// A relayed stream as a client would see it.
class recording_sink final : public http::stream_sink {
 public:
  bool open(int status, const http::header_list& headers) override {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = status;
    headers_ = headers;
    cv_.notify_all();
    return true;
  }
  bool push(std::string_view bytes) override {
    std::lock_guard<std::mutex> lock(mu_);
    text_ += bytes;
    cv_.notify_all();
    return !refuse_;
  }
  std::size_t pending() const override { return pending_; }
  void close() override {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  /// Waits (bounded) until `pred` holds over the sink's state.
  template <class Pred>
  bool wait(Pred pred, std::chrono::milliseconds limit = 5s) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return pred(*this); });
  }
  void refuse() {
    std::lock_guard<std::mutex> lock(mu_);
    refuse_ = true;
  }

  std::atomic<std::size_t> pending_{0};  // what the client has not read yet, as the test says
  int status_ = 0;
  http::header_list headers_;
  std::string text_;
  bool closed_ = false;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool refuse_ = false;
};

}  // namespace

TEST_SUITE("http.forward") {
  TEST_CASE("the owner gets the method, path and query, body, the fields that matter and the "
            "forwarding header; its status, fields and body come back") {
    test::http_receiver owner;
    owner.respond_with([](const test::received_request&) -> std::optional<test::http_reply> {
      return test::http_reply{201,
                              {{"Content-Type", "application/json"},
                               {"Location", "/api/v1/pipelines/p/jobs/j/builds/7"},
                               {"ETag", "\"abc\""},
                               {"Retry-After", "3"}},
                              "{\"number\":7}"};
    });
    http::forwarder f("member-a");
    http::forward_request r;
    r.method = "POST";
    r.url = owner.url("/api/v1/pipelines/p%20q/jobs/j/trigger?x=1&y=%2F");
    r.headers = {{"Authorization", "Bearer t0k"},
                 {"Cookie", "pikoci_session=s"},
                 {"X-CSRF-Token", "c"},
                 {"Content-Type", "application/json"},
                 {"Accept", "application/json"},
                 {"If-None-Match", "\"old\""},
                 {"Last-Event-ID", "42"},
                 {"X-Hub-Signature-256", "sha256=ff"},
                 {"Connection", "keep-alive"},
                 {"Host", "elsewhere"},
                 {"X-Pikoci-Forwarded-By", "someone-else"}};
    r.body = "{\"inputs\":{}}";
    auto a = send_and_wait(f, r);
    REQUIRE(a.what == http::forward_answer::kind::answered);
    CHECK(a.status == 201);
    CHECK(a.body == "{\"number\":7}");
    CHECK(field(a.headers, "Content-Type") == "application/json");
    CHECK(field(a.headers, "Location") == "/api/v1/pipelines/p/jobs/j/builds/7");
    CHECK(field(a.headers, "ETag") == "\"abc\"");
    CHECK(field(a.headers, "Retry-After") == "3");
    CHECK(field(a.headers, "Content-Length").empty());  // the edge writes its own
    CHECK(field(a.headers, "Connection").empty());

    auto got = owner.requests();
    REQUIRE(got.size() == 1);
    const auto& q = got[0];
    CHECK(q.method == "POST");
    CHECK(q.path == "/api/v1/pipelines/p%20q/jobs/j/trigger?x=1&y=%2F");
    CHECK(q.body == "{\"inputs\":{}}");
    CHECK(q.headers.at("authorization") == "Bearer t0k");
    CHECK(q.headers.at("cookie") == "pikoci_session=s");
    CHECK(q.headers.at("x-csrf-token") == "c");
    CHECK(q.headers.at("content-type") == "application/json");
    CHECK(q.headers.at("accept") == "application/json");
    CHECK(q.headers.at("if-none-match") == "\"old\"");
    CHECK(q.headers.at("last-event-id") == "42");
    CHECK(q.headers.at("x-hub-signature-256") == "sha256=ff");
    CHECK(q.headers.at("x-pikoci-forwarded-by") == "member-a");  // ours, not the client's
    CHECK(q.headers.count("expect") == 0);
    CHECK(q.headers.at("host") != "elsewhere");
  }

  TEST_CASE("PUT, DELETE and GET go as they came; no Content-Type or Accept is made up") {
    test::http_receiver owner;
    owner.answer_with([](const test::received_request&) {
      return std::pair<int, std::string>{204, ""};
    });
    http::forwarder f("m");
    for (const char* method : {"PUT", "DELETE", "GET"}) {
      http::forward_request r;
      r.method = method;
      r.url = owner.url("/api/v1/pipelines/p");
      if (std::string(method) == "PUT") r.body = "pipeline text";
      auto a = send_and_wait(f, r);
      CHECK(a.what == http::forward_answer::kind::answered);
      CHECK(a.status == 204);
      CHECK(a.body.empty());
    }
    auto got = owner.requests();
    REQUIRE(got.size() == 3);
    CHECK(got[0].method == "PUT");
    CHECK(got[0].body == "pipeline text");
    CHECK(got[0].headers.count("content-type") == 0);
    CHECK(got[1].method == "DELETE");
    CHECK(got[1].body.empty());
    CHECK(got[2].method == "GET");
    CHECK(got[2].headers.count("accept") == 0);
  }

  TEST_CASE("an owner's error answer is passed through as it is") {
    test::http_receiver owner;
    owner.respond_with([](const test::received_request&) -> std::optional<test::http_reply> {
      return test::http_reply{
          503,
          {{"Content-Type", "application/json"}, {"Retry-After", "1"}},
          R"({"error":{"code":"partition_moving","message":"m"}})"};
    });
    http::forwarder f("m");
    auto a = send_and_wait(f, {"GET", owner.url("/api/v1/pipelines/p"), {}, {}, false});
    CHECK(a.what == http::forward_answer::kind::answered);
    CHECK(a.status == 503);
    CHECK(field(a.headers, "Retry-After") == "1");
    CHECK(a.body.find("partition_moving") != std::string::npos);
  }

  TEST_CASE("an event stream is relayed piece by piece as the owner sends it") {
    test::http_receiver owner;
    auto sink = std::make_shared<recording_sink>();
    owner.respond_with([sink](const test::received_request&) -> std::optional<test::http_reply> {
      test::http_reply r;
      r.headers = {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"}};
      r.chunks = {": stream open\n\n", "event: log\ndata: {\"a\":1}\n\n",
                  "event: end\ndata: {}\n\n"};
      // each piece waits until the one before reached the client: nothing is held back
      r.before_chunk = [sink, chunks = r.chunks](std::size_t i) {
        if (i == 0) return true;
        return sink->wait([&](const recording_sink& s) {
          return s.text_.size() >= [&] {
            std::size_t n = 0;
            for (std::size_t k = 0; k < i; ++k) n += chunks[k].size();
            return n;
          }();
        });
      };
      return r;
    });
    http::forwarder f("m");
    http::forward_request r{"GET", owner.url("/api/v1/pipelines/p/jobs/j/builds/1/events"),
                            {{"Accept", "text/event-stream"}, {"Last-Event-ID", "3"}}, {}, true};
    bool done_called = false;
    f.send(std::move(r), {[&done_called](http::forward_answer) { done_called = true; },
                          [sink] { return sink; }});
    REQUIRE(sink->wait([](const recording_sink& s) { return s.closed_; }, 10s));
    CHECK(sink->status_ == 200);
    CHECK(field(sink->headers_, "Content-Type") == "text/event-stream");
    CHECK(field(sink->headers_, "Cache-Control") == "no-cache");
    CHECK(sink->text_ ==
          ": stream open\n\nevent: log\ndata: {\"a\":1}\n\nevent: end\ndata: {}\n\n");
    CHECK_FALSE(done_called);
    CHECK(owner.requests().at(0).headers.at("last-event-id") == "3");
  }

  TEST_CASE("a stream stops reading from the owner while its client has much unread, and goes "
            "on once the client caught up") {
    test::http_receiver owner;
    auto sink = std::make_shared<recording_sink>();
    owner.respond_with([](const test::received_request&) -> std::optional<test::http_reply> {
      test::http_reply r;
      r.headers = {{"Content-Type", "text/event-stream"}};
      r.chunks = {": one\n\n", ": two\n\n"};
      r.before_chunk = [](std::size_t i) {
        if (i == 1) std::this_thread::sleep_for(100ms);
        return true;
      };
      return r;
    });
    http::forward_options o;
    o.stream_high_water = 1000;
    http::forwarder f("m", o);
    f.send({"GET", owner.url("/e"), {}, {}, true}, {nullptr, [sink] { return sink; }});
    REQUIRE(sink->wait([](const recording_sink& s) { return s.text_ == ": one\n\n"; }));
    sink->pending_ = 5000;  // the client is far behind
    // the owner's second piece is sent after 100 ms; it is not passed on while the client lags
    CHECK_FALSE(sink->wait([](const recording_sink& s) { return s.text_.size() > 7; }, 500ms));
    sink->pending_ = 400;  // below half the high water: reading goes on
    REQUIRE(sink->wait([](const recording_sink& s) { return s.closed_; }));
    CHECK(sink->text_ == ": one\n\n: two\n\n");
  }

  TEST_CASE("a stream whose client is gone ends the transfer to the owner") {
    test::http_receiver owner;
    auto sink = std::make_shared<recording_sink>();
    sink->refuse();
    std::atomic<bool> more_asked{false};
    owner.respond_with([&](const test::received_request&) -> std::optional<test::http_reply> {
      test::http_reply r;
      r.headers = {{"Content-Type", "text/event-stream"}};
      r.chunks = {": one\n\n", ": two\n\n"};
      r.before_chunk = [&](std::size_t i) {
        if (i == 1) {
          more_asked = true;
          std::this_thread::sleep_for(300ms);  // the forwarder drops the connection meanwhile
        }
        return true;
      };
      return r;
    });
    http::forwarder f("m");
    f.send({"GET", owner.url("/e"), {}, {}, true}, {nullptr, [sink] { return sink; }});
    REQUIRE(sink->wait([](const recording_sink& s) { return s.closed_; }, 10s));
    CHECK(sink->text_ == ": one\n\n");
    for (int i = 0; i < 100 && f.in_flight() > 0; ++i) std::this_thread::sleep_for(20ms);
    CHECK(f.in_flight() == 0);
  }

  TEST_CASE("a stream route answered with something else than an event stream is an answer") {
    test::http_receiver owner;
    owner.respond_with([](const test::received_request&) -> std::optional<test::http_reply> {
      return test::http_reply{404, {{"Content-Type", "application/json"}}, "{\"error\":{}}"};
    });
    http::forwarder f("m");
    auto sink = std::make_shared<recording_sink>();
    auto p = std::make_shared<std::promise<http::forward_answer>>();
    auto answer = p->get_future();
    f.send({"GET", owner.url("/e"), {}, {}, true},
           {[p](http::forward_answer a) { p->set_value(std::move(a)); }, [sink] { return sink; }});
    REQUIRE(answer.wait_for(10s) == std::future_status::ready);
    auto a = answer.get();
    CHECK(a.status == 404);
    CHECK(a.body == "{\"error\":{}}");
    CHECK(sink->status_ == 0);
  }

  TEST_CASE("an owner that cannot be reached is `unreachable`: the request did not get there") {
    int port;
    {
      test::http_receiver gone;
      port = gone.port();
    }
    http::forwarder f("m");
    auto start = std::chrono::steady_clock::now();
    auto a = send_and_wait(
        f, {"POST", "http://127.0.0.1:" + std::to_string(port) + "/api/v1/pipelines/p/pause", {},
            {}, false});
    CHECK(a.what == http::forward_answer::kind::unreachable);
    CHECK_FALSE(a.error.empty());
    CHECK(std::chrono::steady_clock::now() - start < 3s);
  }

  TEST_CASE("URLs that are not http or https are never fetched") {
    http::forwarder f("m");
    auto a = send_and_wait(f, {"GET", "file:///etc/passwd", {}, {}, false});
    CHECK(a.what == http::forward_answer::kind::unreachable);
    CHECK(a.body.empty());
  }

  TEST_CASE("an answer larger than the limit fails instead of filling memory") {
    test::http_receiver owner;
    owner.answer_with(std::string(100 * 1024, 'x'));
    http::forward_options o;
    o.max_answer_bytes = 10 * 1024;
    http::forwarder f("m", o);
    auto a = send_and_wait(f, {"GET", owner.url("/big"), {}, {}, false});
    CHECK(a.what == http::forward_answer::kind::failed);
    CHECK(a.body.empty());
  }

  TEST_CASE("an owner slower than the time limit fails the request") {
    test::http_receiver owner;
    owner.respond_with([](const test::received_request&) -> std::optional<test::http_reply> {
      std::this_thread::sleep_for(800ms);
      return std::nullopt;
    });
    http::forward_options o;
    o.request_timeout = 200ms;
    http::forwarder f("m", o);
    auto a = send_and_wait(f, {"POST", owner.url("/slow"), {}, {}, false});
    CHECK(a.what == http::forward_answer::kind::failed);  // it was sent: never retried blindly
  }

  TEST_CASE("beyond the number of transfers at once, a request is refused at once") {
    test::http_receiver owner;
    std::promise<void> release;
    auto released = release.get_future().share();
    owner.respond_with([released](const test::received_request&) -> std::optional<test::http_reply> {
      released.wait_for(5s);
      return std::nullopt;
    });
    http::forward_options o;
    o.max_requests = 1;
    http::forwarder f("m", o);
    auto p = std::make_shared<std::promise<http::forward_answer>>();
    auto first = p->get_future();
    f.send({"GET", owner.url("/1"), {}, {}, false},
           {[p](http::forward_answer a) { p->set_value(std::move(a)); }, nullptr});
    auto second = send_and_wait(f, {"GET", owner.url("/2"), {}, {}, false});
    CHECK(second.what == http::forward_answer::kind::overloaded);
    release.set_value();
    REQUIRE(first.wait_for(10s) == std::future_status::ready);
    CHECK(first.get().status == 200);
  }

  TEST_CASE("stopping closes open streams and ends the requests still going") {
    test::http_receiver owner;
    auto sink = std::make_shared<recording_sink>();
    std::promise<void> release;
    auto released = release.get_future().share();
    owner.respond_with([released](const test::received_request&) -> std::optional<test::http_reply> {
      test::http_reply r;
      r.headers = {{"Content-Type", "text/event-stream"}};
      r.chunks = {": open\n\n", ": later\n\n"};
      r.before_chunk = [released](std::size_t i) {
        if (i == 1) released.wait_for(5s);
        return true;
      };
      return r;
    });
    http::forwarder f("m");
    f.send({"GET", owner.url("/e"), {}, {}, true}, {nullptr, [sink] { return sink; }});
    REQUIRE(sink->wait([](const recording_sink& s) { return s.text_ == ": open\n\n"; }));
    f.stop();
    CHECK(sink->closed_);
    auto a = send_and_wait(f, {"GET", owner.url("/after"), {}, {}, false});
    CHECK(a.what == http::forward_answer::kind::stopped);
    release.set_value();
  }

  TEST_CASE("hop-by-hop fields stay on their connection") {
    CHECK(http::forwarded_request_field("Authorization"));
    CHECK(http::forwarded_request_field("x-csrf-token"));
    CHECK_FALSE(http::forwarded_request_field("Connection"));
    CHECK_FALSE(http::forwarded_request_field("transfer-encoding"));
    CHECK_FALSE(http::forwarded_request_field("Content-Length"));
    CHECK_FALSE(http::forwarded_request_field("host"));
    CHECK_FALSE(http::forwarded_request_field("X-Pikoci-Forwarded-By"));
    CHECK_FALSE(http::forwarded_request_field("x-pikoci-local"));
    CHECK(http::forwarded_answer_field("ETag"));
    CHECK(http::forwarded_answer_field("Set-Cookie"));
    CHECK_FALSE(http::forwarded_answer_field("Content-Length"));
    CHECK_FALSE(http::forwarded_answer_field("Date"));
    CHECK_FALSE(http::forwarded_answer_field("Keep-Alive"));
  }
}
