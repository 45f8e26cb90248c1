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
  bool push(const std::string& type, const std::string& data, const std::string&) override {
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

TEST_CASE("sse parser: the last event id is kept as a browser keeps it") {
  std::vector<std::string> ids;
  http_client::sse_parser p([&](const std::string&, const std::string&) { ids.push_back(""); });
  CHECK(p.last_id().empty());
  p.feed("id: 1.2\nevent: log\ndata: {}\n\n");
  CHECK(p.last_id() == "1.2");
  p.feed("event: log\ndata: {}\n\n");  // no id: the one before stays
  CHECK(p.last_id() == "1.2");
  p.feed("id: 1.3\ndata: x\n");  // not dispatched yet: not the last id
  CHECK(p.last_id() == "1.2");
  p.restart();  // the stream broke: the half event is forgotten
  p.feed("\n");
  CHECK(p.last_id() == "1.2");
  p.feed("id\ndata: y\n\n");  // an empty id clears it
  CHECK(p.last_id().empty());
}

namespace {
struct id_sink : proto::event_sink {
  std::vector<std::string> got;  // "type data id"
  bool push(const std::string& type, const std::string& data, const std::string& id) override {
    got.push_back(type + " " + data + " " + id);
    return true;
  }
  void close() override {}
};
std::string id_of(const std::string& got) {
  return got.substr(got.rfind(' ') + 1);
}
}  // namespace

TEST_CASE("event hub ring: ids, and a reconnect gets what it missed or a reset") {
  proto::event_hub hub({4, 1 << 20});
  // nobody ever subscribed: no stream to resume, so no event is wanted
  CHECK_FALSE(hub.wanted());
  auto first = std::make_shared<id_sink>();
  hub.subscribe(first);
  CHECK(hub.wanted());
  hub.publish("p", "build", "1");
  hub.publish("q", "build", "2");
  REQUIRE(first->got.size() == 2);
  auto id1 = id_of(first->got[0]), id2 = id_of(first->got[1]);
  CHECK(id1 != id2);
  CHECK(hub.last_id() == id2);
  // the subscriber went away after the first event; two more came meanwhile
  hub.publish("p", "job", "3");
  hub.publish("q", "job", "4");
  auto again = std::make_shared<id_sink>();
  hub.subscribe(again, "", id1);
  CHECK(again->got == std::vector<std::string>{"build 2 " + id2, "job 3 " + id_of(first->got[2]),
                                               "job 4 " + hub.last_id()});
  // one pipeline's subscriber gets that pipeline's missed events only
  auto only_p = std::make_shared<id_sink>();
  hub.subscribe(only_p, "p", id1);
  CHECK(only_p->got == std::vector<std::string>{"job 3 " + id_of(first->got[2])});
  // nothing missed: nothing sent before the live events
  auto current = std::make_shared<id_sink>();
  hub.subscribe(current, "", hub.last_id());
  CHECK(current->got.empty());
  hub.publish("p", "build", "5");
  hub.publish("p", "build", "6");
  CHECK(current->got.size() == 2);
  // the ring keeps 4 events (3 to 6): a subscriber that saw only event 1 missed event 2, which
  // the ring no longer has
  for (const auto& bad : {id1, std::string("nonsense"), std::string("0123456789abcdef-2"),
                          hub.last_id() + "0"}) {
    auto late = std::make_shared<id_sink>();
    hub.subscribe(late, "", bad);
    REQUIRE_MESSAGE(late->got.size() == 1, bad);
    CHECK(late->got[0] == "reset {} " + hub.last_id());
  }
  // the id a reset carries resumes from there
  auto after_reset = std::make_shared<id_sink>();
  hub.subscribe(after_reset, "", hub.last_id());
  CHECK(after_reset->got.empty());
}

TEST_CASE("event hub ring: bounded by bytes too") {
  proto::event_hub hub({1000, 400});
  hub.publish("p", "build", std::string(100, 'x'));
  auto seen = hub.last_id();
  for (int i = 0; i < 4; ++i) hub.publish("p", "build", std::string(100, 'y'));
  auto late = std::make_shared<id_sink>();
  hub.subscribe(late, "", seen);
  REQUIRE(late->got.size() == 1);
  CHECK(late->got[0].rfind("reset {}", 0) == 0);
}
