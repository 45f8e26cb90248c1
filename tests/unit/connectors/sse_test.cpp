// Server-Sent Events: the client's parser (connectors/http_client) and the node's event hub.
#include <doctest/doctest.h>

#include "actors/protocols/events.hpp"
#include "connectors/http_client/http_client.hpp"

using namespace pikoci;

TEST_CASE("sse parser: events split anywhere, multi-line data, comments, CRLF") {
  std::vector<std::pair<std::string, std::string>> got;
  http_client::sse_parser p(
      [&](const std::string& t, const std::string& d) { got.emplace_back(t, d); });
  std::string stream =
      ": stream open\n\nevent: log\ndata: {\"a\":1}\n\nevent: build\r\ndata: x\r\ndata: y\r\n\r\n"
      "data: plain\n\n: ping\n\nevent: end\ndata: {}\n\n";
  for (std::size_t i = 0; i < stream.size(); i += 3) p.feed(std::string_view(stream).substr(i, 3));
  REQUIRE(got.size() == 4);
  CHECK(got[0] == std::make_pair(std::string("log"), std::string("{\"a\":1}")));
  CHECK(got[1] == std::make_pair(std::string("build"), std::string("x\ny")));
  CHECK(got[2] == std::make_pair(std::string("message"), std::string("plain")));
  CHECK(got[3] == std::make_pair(std::string("end"), std::string("{}")));
  p.feed("event: half\ndata: not ended yet\n");
  CHECK(got.size() == 4);  // an event counts once its blank line came
}

namespace {
struct fake_sink : proto::event_sink {
  bool accept = true;
  bool is_gone = false;
  std::vector<std::string> got;
  bool push(const std::string& type, const std::string& data) override {
    if (!accept) return false;
    got.push_back(type + " " + data);
    return true;
  }
  void close() override {}
  bool gone() const override { return is_gone; }
};
}  // namespace

TEST_CASE("event hub: publishes to every subscriber and drops the ones that refuse") {
  proto::event_hub hub;
  CHECK_FALSE(hub.wanted());
  hub.publish("p", "build", "{}");  // nobody: nothing happens
  auto a = std::make_shared<fake_sink>(), b = std::make_shared<fake_sink>();
  hub.subscribe(a);
  hub.subscribe(b);
  CHECK(hub.wanted());
  hub.publish("p", "build", "{\"id\":1}");
  CHECK(a->got == std::vector<std::string>{"build {\"id\":1}"});
  b->accept = false;
  hub.publish("q", "build", "{\"id\":2}");
  CHECK(hub.subscribers() == 1);
  CHECK(a->got.size() == 2);
  a->accept = false;
  hub.publish("p", "build", "{\"id\":3}");
  CHECK_FALSE(hub.wanted());
}

TEST_CASE("event hub: a subscriber of one pipeline gets only its events; gone ones are dropped") {
  proto::event_hub hub;
  auto all = std::make_shared<fake_sink>(), only_p = std::make_shared<fake_sink>();
  hub.subscribe(all);
  hub.subscribe(only_p, "p");
  hub.publish("p", "pipeline", "1");
  hub.publish("q", "pipeline", "2");
  hub.publish("p", "job", "3");
  CHECK(all->got == std::vector<std::string>{"pipeline 1", "pipeline 2", "job 3"});
  CHECK(only_p->got == std::vector<std::string>{"pipeline 1", "job 3"});
  // gone: dropped at the next event even when that event is another pipeline's
  only_p->accept = false;
  only_p->is_gone = true;
  hub.publish("q", "pipeline", "4");
  CHECK(hub.subscribers() == 1);
}
